//! What may follow a quantity: `!`, `%`, degree signs, `percent`/`pct`, and
//! units (`\text{ cm}`, `inches`, `km²`), which are dropped together with a
//! following `^2` / `^3`.

use super::{PResult, Parser};
use crate::grade::expr::{Func, Node};
use crate::grade::lexer::Tok;
use crate::grade::limits::{LimitError, MAX_DEPTH};

/// Bare words that are units after a quantity (dropped).
const UNITS: &[&str] = &[
    "cm",
    "mm",
    "km",
    "in",
    "inch",
    "inches",
    "ft",
    "feet",
    "foot",
    "yd",
    "yards",
    "miles",
    "mile",
    "units",
    "unit",
    "sq",
    "square",
    "cubic",
    "dollars",
    "dollar",
    "cents",
    "cent",
    "seconds",
    "hours",
    "hour",
    "hrs",
    "minutes",
    "days",
    "day",
    "years",
    "year",
    "kg",
    "grams",
    "gram",
    "lb",
    "lbs",
    "pounds",
    "meters",
    "meter",
    "metres",
    "liters",
    "litres",
    "mph",
    "kmh",
    "mL",
    "ml",
    "kcal",
    "cal",
    "ergs",
    "erg",
    "AA",
    "parsecs",
    "pc",
    "arcsec",
    "arcseconds",
    "eV",
    "keV",
    "MeV",
    "nm",
    "Hz",
    "kHz",
    "MHz",
    "GHz",
    "sqft",
    "people",
    "students",
    "ways",
    "times",
];

/// A unit after a quantity: a listed unit, or any word of four or more
/// letters that is not a function name (`5 apples`, `12 students`).
fn is_unit_word(w: &str) -> bool {
    UNITS.contains(&w)
        || (w.len() >= 4 && crate::grade::primary::func_named(w).is_none() && w != "sqrt" && w != "infinity")
}

impl Parser {
    /// `!`, `%`, degree signs, primes and trailing units.
    pub(super) fn postfix_ops(&mut self, mut node: Node) -> PResult<Node> {
        let mut wraps = 0usize;
        loop {
            match self.peek() {
                Some(Tok::Sym('!')) => node = Node::Call(Func::Fact, vec![node]),
                Some(Tok::Percent) => node = Node::Percent(Box::new(node)),
                Some(Tok::Degree) => node = Node::Degree(Box::new(node)),
                Some(Tok::Text(t)) => match unit_kind(t) {
                    Some(Marker::Degree) => node = Node::Degree(Box::new(node)),
                    Some(Marker::Percent) => node = Node::Percent(Box::new(node)),
                    Some(Marker::Unit) => wraps = wraps.saturating_sub(1),
                    None => break,
                },
                Some(Tok::Word(w)) if w == "degrees" || w == "degree" => node = Node::Degree(Box::new(node)),
                Some(Tok::Word(w)) if w == "percent" || w == "pct" => node = Node::Percent(Box::new(node)),
                Some(Tok::Word(w)) if node.is_scalar() && is_unit_word(w) => wraps = wraps.saturating_sub(1),
                _ => break,
            }
            self.i += 1;
            wraps += 1;
            if self.depth + wraps > MAX_DEPTH {
                return Err(LimitError::Depth.into());
            }
            self.skip_unit_power();
        }
        Ok(node)
    }

    /// After a dropped unit, `^2` / `^{3}` belongs to the unit.
    fn skip_unit_power(&mut self) {
        let unit_before = matches!(self.t.get(self.i.wrapping_sub(1)), Some(Tok::Text(_) | Tok::Word(_)));
        if unit_before && self.peek() == Some(&Tok::Sym('^')) {
            match self.t.get(self.i + 1) {
                Some(Tok::Num(_)) => self.i += 2,
                Some(Tok::Sym('{')) if matches!(self.t.get(self.i + 3), Some(Tok::Sym('}'))) => self.i += 4,
                _ => {}
            }
        }
    }
}

/// What a trailing `\text{...}` after a quantity means.
enum Marker {
    Degree,
    Percent,
    Unit,
}

fn unit_kind(t: &str) -> Option<Marker> {
    let t = t.trim().trim_end_matches('.');
    match t {
        "or" | "and" | "," => None,
        "degrees" | "degree" | "deg" => Some(Marker::Degree),
        "percent" | "%" | "pct" | "per cent" => Some(Marker::Percent),
        _ => Some(Marker::Unit),
    }
}
