//! Primaries of the answer grammar: numbers, letters, brackets, sets,
//! matrices, commands (`\\frac`, `\\sqrt`, functions) and their arguments.

use super::expr::{Const, Func, Node};
use super::lexer::{NumLit, Tok};
use super::limits::LimitError;
use super::parser::{is_frac, starts_primary, take_product, PResult, ParseError, Parser};
use num_bigint::BigInt;
use num_rational::BigRational;

impl Parser {
    pub(super) fn primary(&mut self) -> PResult<Node> {
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
        let value =
            if shift >= 0 { BigRational::from_integer(mantissa * scale) } else { BigRational::new(mantissa, scale) };
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
            "dots" | "ldots" | "cdots" | "cup" | "cap" | "pm" | "mp" | "to" => {
                Err(ParseError::Syntax("operator without operand"))
            }
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
    pub(super) fn function_argument(&mut self) -> PResult<Node> {
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

fn letter(c: char) -> Node {
    match c {
        'e' => Node::Const(Const::E),
        'i' => Node::Const(Const::I),
        _ => Node::Var(c.to_string()),
    }
}

pub(super) fn func_named(name: &str) -> Option<Func> {
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
