//! Parser: tokens -> [`Node`], by recursive descent with a depth limit.
//!
//! ```text
//! answer  := item ((',' | ';' | or | and) item)*          -> List when > 1
//! item    := chain ('\cup' chain)*                         -> Union when > 1
//! chain   := sum (rel sum)*                                -> Chain when > 1
//! sum     := term (('+' | '-' | '\pm' | '\mp') term)*
//! term    := ('-' | '+' | '\pm') term | factor (('*' | '/' | implicit) factor)*
//! factor  := postfix ('^' exponent)?                       (right-associative)
//! postfix := primary ('!' | '%' | degree | unit)*
//! primary := number | letter | constant | command args | brackets | matrix | text
//! ```
//! Brackets decide structure: `(a)` groups, `(a, b)` is a tuple, `[a, b)` an
//! interval, `\{a, b\}` a set. A bare integer followed by `\frac{p}{q}` of
//! integers is a mixed number (`1\frac{4}{5}` = 9/5). Units (`\text{ cm}`,
//! `inches`) after a quantity are dropped; `degrees` and `percent` become
//! markers.

use super::expr::{Const, Func, Node};
use super::lexer::{NumLit, Rel, Tok};
use super::limits::{LimitError, MAX_DEPTH};
use num_bigint::BigInt;
use num_rational::BigRational;

/// Why an answer did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// A limit was hit.
    Limit(LimitError),
    /// The tokens do not form an answer.
    Syntax(&'static str),
}

impl From<LimitError> for ParseError {
    fn from(e: LimitError) -> Self {
        ParseError::Limit(e)
    }
}

type PResult<T> = Result<T, ParseError>;

/// Bare words that are units after a quantity (dropped).
const UNITS: &[&str] = &[
    "cm", "mm", "km", "in", "inch", "inches", "ft", "feet", "foot", "yd", "yards", "miles", "mile",
    "units", "unit", "sq", "square", "cubic", "dollars", "dollar", "cents", "cent", "seconds",
    "hours", "hour", "hrs", "minutes", "days", "day", "years", "year", "kg", "grams", "gram", "lb",
    "lbs", "pounds", "meters", "meter", "metres", "liters", "litres", "mph", "kmh", "mL", "ml",
    "kcal", "cal", "ergs", "erg", "AA", "parsecs", "pc", "arcsec", "arcseconds", "eV", "keV",
    "MeV", "nm", "Hz", "kHz", "MHz", "GHz", "sqft", "people", "students", "ways", "times",
];

/// Parses a whole token list.
pub(crate) fn parse(tokens: Vec<Tok>) -> PResult<Node> {
    let mut p = Parser { t: tokens, i: 0, depth: 0 };
    let node = p.answer()?;
    if p.i < p.t.len() {
        return Err(ParseError::Syntax("unexpected token"));
    }
    Ok(node)
}

struct Parser {
    t: Vec<Tok>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    fn eat_sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.i += 1;
            return true;
        }
        false
    }

    fn is_cmd(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(c)) if c == name)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(LimitError::Depth.into());
        }
        Ok(())
    }

    fn answer(&mut self) -> PResult<Node> {
        let mut items = vec![self.item()?];
        while self.list_separator() {
            if self.peek().is_none() {
                break;
            }
            items.push(self.item()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Node::List(items) })
    }

    fn list_separator(&mut self) -> bool {
        let sep = match self.peek() {
            Some(Tok::Sym(',' | ';')) => true,
            Some(Tok::Text(t)) => matches!(t.trim(), "or" | "and" | "," | "or,"),
            Some(Tok::Word(w)) => w == "or" || w == "and",
            _ => false,
        };
        if sep {
            self.i += 1;
        }
        sep
    }

    fn item(&mut self) -> PResult<Node> {
        let mut parts = vec![self.chain()?];
        while self.is_cmd("cup") || self.is_cmd("lor") {
            self.i += 1;
            parts.push(self.chain()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Node::Union(parts) })
    }

    fn chain(&mut self) -> PResult<Node> {
        let mut operands = vec![self.sum()?];
        let mut rels = Vec::new();
        while let Some(Tok::Rel(r)) = self.peek() {
            rels.push(*r);
            self.i += 1;
            operands.push(self.sum()?);
        }
        Ok(if rels.is_empty() { operands.remove(0) } else { Node::Chain(operands, rels) })
    }

    fn sum(&mut self) -> PResult<Node> {
        let mut terms = vec![self.term()?];
        let mut pm: Option<Node> = None;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym('+')) => '+',
                Some(Tok::Sym('-')) => '-',
                Some(Tok::Cmd(c)) if c == "pm" || c == "mp" => '±',
                _ => break,
            };
            self.i += 1;
            let t = self.term()?;
            match op {
                '+' => terms.push(t),
                '-' => terms.push(Node::Neg(Box::new(t))),
                _ if pm.is_some() => return Err(ParseError::Syntax("two \\pm in one sum")),
                _ => pm = Some(t),
            }
        }
        let base = if terms.len() == 1 { terms.remove(0) } else { Node::Add(terms) };
        Ok(match pm {
            Some(t) => Node::PlusMinus(Box::new(base), Box::new(t)),
            None => base,
        })
    }

    fn term(&mut self) -> PResult<Node> {
        self.enter()?;
        let out = self.term_inner();
        self.depth -= 1;
        out
    }

    fn term_inner(&mut self) -> PResult<Node> {
        match self.peek() {
            Some(Tok::Sym('-')) => {
                self.i += 1;
                return Ok(Node::Neg(Box::new(self.term()?)));
            }
            Some(Tok::Sym('+')) => {
                self.i += 1;
                return self.term();
            }
            Some(Tok::Cmd(c)) if c == "pm" || c == "mp" => {
                self.i += 1;
                let t = self.term()?;
                return Ok(Node::PlusMinus(Box::new(Node::int(0)), Box::new(t)));
            }
            _ => {}
        }
        let mut factors = vec![self.factor()?];
        loop {
            match self.peek() {
                Some(Tok::Sym('*')) => self.i += 1,
                Some(Tok::Cmd(c)) if c == "cdot" || c == "times" || c == "ast" => self.i += 1,
                Some(Tok::Sym('/')) => {
                    self.i += 1;
                    let d = self.signed_factor()?;
                    let n = take_product(&mut factors);
                    factors.push(Node::div(n, d));
                    continue;
                }
                Some(Tok::Cmd(c)) if c == "div" => {
                    self.i += 1;
                    let d = self.signed_factor()?;
                    let n = take_product(&mut factors);
                    factors.push(Node::div(n, d));
                    continue;
                }
                Some(t) if starts_primary(t) => {}
                _ => break,
            }
            let mixed = factors.len() == 1 && matches!(factors[0], Node::Num(_)) && self.is_cmd_frac();
            let f = self.signed_factor()?;
            match (mixed, f) {
                (true, Node::Div(a, b)) if is_int(&a) && is_int(&b) => {
                    let whole = factors.remove(0);
                    factors.push(Node::Add(vec![whole, Node::Div(a, b)]));
                }
                (_, f) => factors.push(f),
            }
        }
        Ok(take_product(&mut factors))
    }

    fn is_cmd_frac(&self) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(c)) if is_frac(c))
    }

    fn signed_factor(&mut self) -> PResult<Node> {
        if self.eat_sym('-') {
            self.enter()?;
            let f = self.signed_factor();
            self.depth -= 1;
            return Ok(Node::Neg(Box::new(f?)));
        }
        self.factor()
    }

    fn factor(&mut self) -> PResult<Node> {
        let base = self.postfix()?;
        if !self.eat_sym('^') {
            return Ok(base);
        }
        self.enter()?;
        let exp = self.exponent();
        self.depth -= 1;
        let node = Node::pow(base, exp?);
        self.postfix_ops(node)
    }

    /// The exponent after `^`: a braced group, or one signed factor. A bare
    /// multi-digit number is taken whole (`2^10` = 1024, the plain-text reading).
    fn exponent(&mut self) -> PResult<Node> {
        if self.eat_sym('-') {
            return Ok(Node::Neg(Box::new(self.exponent()?)));
        }
        self.postfix()
    }

    /// One argument of `\frac`, `\sqrt`, `\binom`: a braced group, or a single
    /// token, taking one digit off a multi-digit integer (`\frac12`).
    fn arg(&mut self) -> PResult<Node> {
        if let Some(Tok::Num(n)) = self.t.get(self.i) {
            if n.exp == 0 && n.digits.len() > 1 && n.digits.bytes().all(|b| b.is_ascii_digit()) {
                let first = i64::from(n.digits.as_bytes()[0] - b'0');
                let rest = NumLit { digits: n.digits[1..].to_string(), exp: 0 };
                self.t[self.i] = Tok::Num(rest);
                return Ok(Node::int(first));
            }
        }
        if self.eat_sym('{') {
            self.enter()?;
            let inner = self.answer();
            self.depth -= 1;
            let inner = inner?;
            if !self.eat_sym('}') {
                return Err(ParseError::Syntax("unclosed brace"));
            }
            return Ok(inner);
        }
        self.enter()?;
        let p = self.primary();
        self.depth -= 1;
        p
    }

    fn postfix(&mut self) -> PResult<Node> {
        self.enter()?;
        let p = self.primary();
        self.depth -= 1;
        let p = p?;
        self.postfix_ops(p)
    }

    /// `!`, `%`, degree signs, primes and trailing units.
    fn postfix_ops(&mut self, mut node: Node) -> PResult<Node> {
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
                Some(Tok::Word(w)) if node.is_scalar() && UNITS.contains(&w.as_str()) => {
                    wraps = wraps.saturating_sub(1)
                }
                Some(Tok::Word(w)) if w == "degrees" || w == "degree" => node = Node::Degree(Box::new(node)),
                Some(Tok::Word(w)) if w == "percent" => node = Node::Percent(Box::new(node)),
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
    fn primary(&mut self) -> PResult<Node> {
        let Some(tok) = self.t.get(self.i).cloned() else {
            return Err(ParseError::Syntax("unexpected end"));
        };
        self.i += 1;
        match tok {
            Tok::Num(n) => self.number(&n),
            Tok::Word(w) => self.word(&w),
            Tok::Text(t) => Ok(Node::Text(normalise_text(&t))),
            Tok::Sym(c @ ('(' | '[')) => self.brackets(c),
            Tok::Sym('{') => self.braces(),
            Tok::Sym('|') => self.closed_by(|t| t == &Tok::Sym('|'), Func::Abs),
            Tok::SetOpen => {
                let items = self.items_until(|t| t == &Tok::SetClose)?;
                Ok(Node::Set(items))
            }
            Tok::MatBegin => self.matrix(),
            Tok::Cmd(c) => self.command(&c),
            _ => Err(ParseError::Syntax("unexpected token")),
        }
    }

    fn number(&mut self, n: &NumLit) -> PResult<Node> {
        let (int, frac) = n.digits.split_once('.').unwrap_or((&n.digits, ""));
        let joined = format!("{int}{frac}");
        let mantissa: BigInt = joined.parse().map_err(|_| ParseError::Syntax("bad number"))?;
        let shift = i64::from(n.exp) - frac.len() as i64;
        if shift.abs() > 400 {
            return Err(LimitError::Exponent.into());
        }
        let ten = BigInt::from(10);
        let scale = num_traits::pow(ten, shift.unsigned_abs() as usize);
        let value = if shift >= 0 {
            BigRational::from_integer(mantissa * scale)
        } else {
            BigRational::new(mantissa, scale)
        };
        self.skip_base_subscript();
        let decimal = n.digits.contains('.') || n.exp != 0;
        Ok(if decimal { Node::Dec(value, u32::try_from((-shift).max(0)).unwrap_or(0)) } else { Node::Num(value) })
    }

    /// `204_5`, `4210_{5}`: the base subscript is dropped (see the docs' policy).
    fn skip_base_subscript(&mut self) {
        if self.peek() != Some(&Tok::Sym('_')) {
            return;
        }
        match (self.t.get(self.i + 1), self.t.get(self.i + 2), self.t.get(self.i + 3)) {
            (Some(Tok::Num(_)), ..) => self.i += 2,
            (Some(Tok::Sym('{')), Some(Tok::Num(_)), Some(Tok::Sym('}'))) => self.i += 4,
            _ => {}
        }
    }

    /// A run of letters: a function name, a constant, or a product of variables.
    fn word(&mut self, w: &str) -> PResult<Node> {
        if let Some(f) = func_named(w) {
            return self.apply(f);
        }
        match w {
            "pi" => return Ok(Node::Const(Const::Pi)),
            "infty" | "infinity" | "inf" => return Ok(Node::Const(Const::Inf)),
            "sqrt" => return self.apply(Func::Sqrt),
            _ => {}
        }
        let mut factors: Vec<Node> = w.chars().map(letter).collect();
        if let Some(sub) = self.subscript()? {
            if let Some(Node::Var(v)) = factors.last_mut() {
                v.push('_');
                v.push_str(&sub);
            }
        }
        Ok(take_product(&mut factors))
    }

    /// `_1`, `_{10}`, `_n` after a letter, as text appended to its name.
    fn subscript(&mut self) -> PResult<Option<String>> {
        if !self.eat_sym('_') {
            return Ok(None);
        }
        let start = self.i;
        let end = if self.eat_sym('{') {
            let mut depth = 1usize;
            while depth > 0 {
                match self.peek() {
                    Some(Tok::Sym('{')) => depth += 1,
                    Some(Tok::Sym('}')) => depth -= 1,
                    None => return Err(ParseError::Syntax("unclosed subscript")),
                    _ => {}
                }
                self.i += 1;
            }
            self.i
        } else {
            self.i += 1;
            self.i
        };
        let text: String = self.t.get(start..end).unwrap_or(&[]).iter().map(tok_text).collect();
        Ok(Some(text))
    }

    fn brackets(&mut self, open: char) -> PResult<Node> {
        let items = self.items_until(|t| matches!(t, Tok::Sym(')' | ']')))?;
        let close = match self.t.get(self.i - 1) {
            Some(Tok::Sym(c)) => *c,
            _ => ')',
        };
        let mut items = items;
        match (items.len(), open, close) {
            (1, '(', ')') | (1, '[', ']') => Ok(items.remove(0)),
            (2, '(', ')') => Ok(Node::Tuple(items)),
            (2, ..) => {
                let hi = items.remove(1);
                let lo = items.remove(0);
                Ok(Node::Interval(Box::new(lo), Box::new(hi), open == '[', close == ']'))
            }
            (0, '(', ')') | (3.., '(', ')') | (3.., '[', ']') => Ok(Node::Tuple(items)),
            _ => Err(ParseError::Syntax("mismatched brackets")),
        }
    }

    fn braces(&mut self) -> PResult<Node> {
        let mut items = self.items_until(|t| t == &Tok::Sym('}'))?;
        Ok(if items.len() == 1 { items.remove(0) } else { Node::Set(items) })
    }

    /// Comma-separated items up to (and including) a closing token.
    fn items_until(&mut self, is_close: impl Fn(&Tok) -> bool) -> PResult<Vec<Node>> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ParseError::Syntax("unclosed bracket")),
                Some(t) if is_close(t) => break,
                _ => {}
            }
            items.push(self.item()?);
            if !self.eat_sym(',') && !self.eat_sym(';') {
                match self.peek() {
                    Some(t) if is_close(t) => break,
                    _ => return Err(ParseError::Syntax("expected a comma or a closing bracket")),
                }
            }
        }
        self.i += 1;
        self.depth -= 1;
        Ok(items)
    }

    /// `| x |`, `\lfloor x \rfloor` ...: one sum, then the closing token.
    fn closed_by(&mut self, is_close: impl Fn(&Tok) -> bool, f: Func) -> PResult<Node> {
        self.enter()?;
        let inner = self.sum();
        self.depth -= 1;
        let inner = inner?;
        match self.peek() {
            Some(t) if is_close(t) => {
                self.i += 1;
                Ok(Node::Call(f, vec![inner]))
            }
            _ => Err(ParseError::Syntax("unclosed delimiter")),
        }
    }

    fn matrix(&mut self) -> PResult<Node> {
        self.enter()?;
        let mut rows: Vec<Vec<Node>> = vec![Vec::new()];
        loop {
            match self.peek() {
                None => return Err(ParseError::Syntax("unclosed matrix")),
                Some(Tok::MatEnd) => break,
                Some(Tok::RowSep) => {
                    self.i += 1;
                    rows.push(Vec::new());
                    continue;
                }
                Some(Tok::Sym('&')) => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let cell = self.item()?;
            if let Some(row) = rows.last_mut() {
                row.push(cell);
            }
        }
        self.i += 1;
        self.depth -= 1;
        rows.retain(|r| !r.is_empty());
        let width = rows.first().map_or(0, Vec::len);
        if width == 0 || rows.iter().any(|r| r.len() != width) {
            return Err(ParseError::Syntax("ragged matrix"));
        }
        Ok(Node::Matrix(rows))
    }

    fn command(&mut self, c: &str) -> PResult<Node> {
        if let Some(f) = func_named(c) {
            return self.apply(f);
        }
        match c {
            _ if is_frac(c) => {
                let n = self.arg()?;
                let d = self.arg()?;
                Ok(Node::div(n, d))
            }
            "sqrt" => {
                if self.eat_sym('[') {
                    let idx = self.items_until(|t| t == &Tok::Sym(']'))?;
                    let [idx] = <[Node; 1]>::try_from(idx).map_err(|_| ParseError::Syntax("bad root index"))?;
                    return Ok(Node::Call(Func::Root, vec![idx, self.arg()?]));
                }
                Ok(Node::Call(Func::Sqrt, vec![self.arg()?]))
            }
            "binom" | "dbinom" | "tbinom" => {
                let n = self.arg()?;
                Ok(Node::Call(Func::Binom, vec![n, self.arg()?]))
            }
            "boxed" | "fbox" | "mathbf" | "overline" | "widehat" => self.arg(),
            "pi" => Ok(Node::Const(Const::Pi)),
            "infty" | "infinity" => Ok(Node::Const(Const::Inf)),
            "imath" => Ok(Node::Const(Const::I)),
            "emptyset" | "varnothing" => Ok(Node::Set(Vec::new())),
            "lfloor" => self.closed_by(|t| matches!(t, Tok::Cmd(c) if c == "rfloor"), Func::Floor),
            "lceil" => self.closed_by(|t| matches!(t, Tok::Cmd(c) if c == "rceil"), Func::Ceil),
            "lvert" | "vert" => self.closed_by(|t| matches!(t, Tok::Cmd(c) if c == "rvert" || c == "vert"), Func::Abs),
            "langle" => Ok(Node::Tuple(self.items_until(|t| matches!(t, Tok::Cmd(c) if c == "rangle"))?)),
            "dots" | "ldots" | "cdots" | "cup" | "cap" | "pm" | "mp" | "to" => Err(ParseError::Syntax("operator without operand")),
            _ => {
                let mut name = c.to_string();
                if let Some(sub) = self.subscript()? {
                    name.push('_');
                    name.push_str(&sub);
                }
                Ok(Node::Var(name))
            }
        }
    }

    /// A function applied to what follows: `\sin x`, `\sin(2x)`, `\sin^2 x`, `\log_2 8`.
    fn apply(&mut self, f: Func) -> PResult<Node> {
        let base = if matches!(f, Func::Ln) && self.peek() == Some(&Tok::Sym('_')) {
            self.i += 1;
            Some(self.arg()?)
        } else {
            None
        };
        let power = if self.eat_sym('^') { Some(self.arg()?) } else { None };
        let arg = if f == Func::Sqrt { self.arg()? } else { self.function_argument()? };
        let call = match base {
            Some(b) => Node::Call(Func::LogBase, vec![b, arg]),
            None => Node::Call(f, vec![arg]),
        };
        Ok(match power {
            Some(p) => Node::pow(call, p),
            None => call,
        })
    }

    /// A parenthesised group, or juxtaposed factors up to the next operator or function.
    fn function_argument(&mut self) -> PResult<Node> {
        self.enter()?;
        let first = self.factor();
        let mut factors = vec![first?];
        while let Some(t) = self.peek() {
            let is_func = matches!(t, Tok::Cmd(c) if func_named(c).is_some());
            if !starts_primary(t) || is_func || matches!(t, Tok::Sym('(')) {
                break;
            }
            factors.push(self.factor()?);
        }
        self.depth -= 1;
        Ok(take_product(&mut factors))
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
        "percent" | "%" => Some(Marker::Percent),
        _ => Some(Marker::Unit),
    }
}

fn letter(c: char) -> Node {
    match c {
        'e' => Node::Const(Const::E),
        'i' => Node::Const(Const::I),
        _ => Node::Var(c.to_string()),
    }
}

fn func_named(name: &str) -> Option<Func> {
    Some(match name {
        "sin" => Func::Sin,
        "cos" => Func::Cos,
        "tan" | "tg" => Func::Tan,
        "cot" | "ctg" => Func::Cot,
        "sec" => Func::Sec,
        "csc" => Func::Csc,
        "arcsin" | "asin" => Func::Asin,
        "arccos" | "acos" => Func::Acos,
        "arctan" | "atan" => Func::Atan,
        "sinh" => Func::Sinh,
        "cosh" => Func::Cosh,
        "tanh" => Func::Tanh,
        "ln" | "log" | "lg" => Func::Ln,
        "exp" => Func::Exp,
        _ => return None,
    })
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Num(n) => n.digits.clone(),
        Tok::Word(w) | Tok::Cmd(w) | Tok::Text(w) => w.clone(),
        Tok::Sym(c) => c.to_string(),
        _ => String::new(),
    }
}

/// Lower case, single spaces, no surrounding punctuation.
pub(crate) fn normalise_text(t: &str) -> String {
    let lowered = t.to_lowercase();
    let words: Vec<&str> = lowered.split_whitespace().collect();
    words.join(" ").trim_matches(|c: char| c == '.' || c == ',').to_string()
}

fn take_product(factors: &mut Vec<Node>) -> Node {
    if factors.len() == 1 {
        factors.remove(0)
    } else {
        Node::Mul(std::mem::take(factors))
    }
}

fn is_int(n: &Node) -> bool {
    matches!(n, Node::Num(v) if v.is_integer())
}

fn is_frac(c: &str) -> bool {
    matches!(c, "frac" | "dfrac" | "tfrac" | "cfrac")
}

/// Tokens that begin a factor, so that juxtaposition means multiplication.
fn starts_primary(t: &Tok) -> bool {
    match t {
        Tok::Num(_) | Tok::Word(_) | Tok::MatBegin => true,
        Tok::Sym(c) => matches!(c, '(' | '{' | '['),
        Tok::Cmd(c) => !matches!(
            c.as_str(),
            "pm" | "mp" | "cup" | "cap" | "lor" | "cdot" | "times" | "div" | "ast" | "rfloor"
                | "rceil" | "rangle" | "vert" | "cdots" | "ldots" | "dots" | "to" | "implies"
                | "quad" | "qquad" | "land" | "wedge" | "vee"
        ),
        _ => false,
    }
}
