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

use super::expr::Node;
use super::lexer::{NumLit, Rel, Tok};
use super::limits::{LimitError, MAX_DEPTH};

mod postfix;

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

pub(super) type PResult<T> = Result<T, ParseError>;

/// Parses a whole token list.
pub(crate) fn parse(mut tokens: Vec<Tok>) -> PResult<Node> {
    // A sentence's final period or comma is not part of the answer.
    while matches!(tokens.last(), Some(Tok::Sym('.' | ','))) {
        tokens.pop();
    }
    // `&` aligns `align` rows; only inside a matrix does it separate cells.
    let mut depth = 0usize;
    tokens.retain(|t| match t {
        Tok::MatBegin => {
            depth += 1;
            true
        }
        Tok::MatEnd => {
            depth = depth.saturating_sub(1);
            true
        }
        Tok::Sym('&') => depth > 0,
        _ => true,
    });
    // `= 10`, `\approx 0.33`: an answer written as the end of a computation.
    let lead = tokens.iter().take_while(|t| matches!(t, Tok::Rel(Rel::Eq | Rel::Approx))).count();
    tokens.drain(..lead);
    let mut p = Parser { t: tokens, i: 0, depth: 0 };
    let node = p.answer()?;
    if p.i < p.t.len() {
        return Err(ParseError::Syntax("unexpected token"));
    }
    Ok(node)
}

pub(super) struct Parser {
    pub(super) t: Vec<Tok>,
    pub(super) i: usize,
    pub(super) depth: usize,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }

    pub(super) fn eat_sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.i += 1;
            return true;
        }
        false
    }

    pub(super) fn is_cmd(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(c)) if c == name)
    }

    pub(super) fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(LimitError::Depth.into());
        }
        Ok(())
    }

    /// Items separated by `,` / `and` (weak) and `;` / `or` (strong). When
    /// both kinds occur, the strong ones separate groups of weak lists:
    /// `a=2, b=9; a=9, b=2` is two solutions of two components each.
    pub(super) fn answer(&mut self) -> PResult<Node> {
        let mut groups: Vec<Vec<Node>> = vec![vec![self.item()?]];
        let (mut weak, mut strong) = (false, false);
        while let Some(sep) = self.list_separator() {
            if self.peek().is_none() {
                break;
            }
            let item = self.item()?;
            match sep {
                Sep::Strong => {
                    strong = true;
                    groups.push(vec![item]);
                }
                Sep::Weak => {
                    weak = true;
                    if let Some(g) = groups.last_mut() {
                        g.push(item);
                    }
                }
            }
        }
        let list = |mut v: Vec<Node>| if v.len() == 1 { v.remove(0) } else { Node::List(v) };
        if weak && strong {
            return Ok(Node::List(groups.into_iter().map(list).collect()));
        }
        Ok(list(groups.into_iter().flatten().collect()))
    }

    fn list_separator(&mut self) -> Option<Sep> {
        let sep = match self.peek() {
            Some(Tok::Sym(',')) => Sep::Weak,
            Some(Tok::Sym(';')) => Sep::Strong,
            Some(Tok::Text(t)) => match t.trim() {
                "and" | "," => Sep::Weak,
                "or" | "or," => Sep::Strong,
                _ => return None,
            },
            Some(Tok::Word(w)) if w == "and" => Sep::Weak,
            Some(Tok::Word(w)) if w == "or" => Sep::Strong,
            _ => return None,
        };
        self.i += 1;
        Some(sep)
    }

    pub(super) fn item(&mut self) -> PResult<Node> {
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

    pub(super) fn sum(&mut self) -> PResult<Node> {
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

    pub(super) fn term(&mut self) -> PResult<Node> {
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
                Some(Tok::Word(w)) if w == "or" || w == "and" => break,
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

    pub(super) fn factor(&mut self) -> PResult<Node> {
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
    pub(super) fn arg(&mut self) -> PResult<Node> {
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

    pub(super) fn postfix(&mut self) -> PResult<Node> {
        self.enter()?;
        let p = self.primary();
        self.depth -= 1;
        let p = p?;
        self.postfix_ops(p)
    }
}

/// A list separator: `,` and `and` join components, `;` and `or` alternatives.
#[derive(Clone, Copy)]
enum Sep {
    Weak,
    Strong,
}

pub(super) fn take_product(factors: &mut Vec<Node>) -> Node {
    if factors.len() == 1 {
        factors.remove(0)
    } else {
        Node::Mul(std::mem::take(factors))
    }
}

pub(super) fn is_int(n: &Node) -> bool {
    matches!(n, Node::Num(v) if v.is_integer())
}

pub(super) fn is_frac(c: &str) -> bool {
    matches!(c, "frac" | "dfrac" | "tfrac" | "cfrac")
}

/// Tokens that begin a factor, so that juxtaposition means multiplication.
pub(super) fn starts_primary(t: &Tok) -> bool {
    match t {
        Tok::Num(_) | Tok::Word(_) | Tok::MatBegin => true,
        Tok::Sym(c) => matches!(c, '(' | '{' | '['),
        Tok::Cmd(c) => !matches!(
            c.as_str(),
            "pm" | "mp"
                | "cup"
                | "cap"
                | "lor"
                | "cdot"
                | "times"
                | "div"
                | "ast"
                | "rfloor"
                | "rceil"
                | "rangle"
                | "vert"
                | "cdots"
                | "ldots"
                | "dots"
                | "to"
                | "implies"
                | "quad"
                | "qquad"
                | "land"
                | "wedge"
                | "vee"
        ),
        _ => false,
    }
}

/// Whether every word of `s` is neither a function name nor `pi`/`sqrt`
/// (so `sin x` or `pi` is still mathematics).
pub(crate) fn is_plain_words(s: &str) -> bool {
    s.split([' ', '.'])
        .filter(|w| !w.is_empty())
        .all(|w| super::primary::func_named(w).is_none() && !matches!(w, "pi" | "sqrt" | "infty" | "infinity" | "inf"))
}
