//! Lexer: LaTeX answer text -> flat token list.
//!
//! Iterative (no recursion), linear in the input, capped at
//! [`MAX_TOKENS`](super::limits::MAX_TOKENS). Layout commands (`\left`,
//! `\right`, `\!`, `\,`, `\quad`, `\displaystyle`, ...) vanish here, so the
//! parser sees `\left( 2,4 \right)` as `( 2 , 4 )`. Numbers absorb thousands
//! separators only when every group after the first has exactly three digits
//! (`7,425,000`, `10,\!080`, `1 000`); `1,2` stays two numbers.

use super::limits::{LimitError, MAX_TOKENS};

mod number;

/// A decimal literal: digits (with at most one '.') and a power-of-ten exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumLit {
    /// Digits and at most one '.', separators removed (`"7425000"`, `"0.5"`).
    pub digits: String,
    /// Scientific exponent from `1.5e3` (0 when absent).
    pub exp: i32,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number literal.
    Num(NumLit),
    /// A run of ASCII letters (`x`, `cm`, `sin`); the parser splits it.
    Word(String),
    /// A backslash command, without the backslash (`frac`, `pi`).
    Cmd(String),
    /// The words of `\text{...}`-like commands whose content is prose.
    Text(String),
    /// A single punctuation or operator character: `+ - * / ^ _ ! ' , ; | = < > ( ) [ ] { } &`.
    Sym(char),
    /// A relation written as a command or a Unicode sign (`\le`, `≥`, `\neq`).
    Rel(Rel),
    /// `\{` (opening a set).
    SetOpen,
    /// `\}` (closing a set).
    SetClose,
    /// `\\` (matrix row separator).
    RowSep,
    /// `\begin{pmatrix}` and friends.
    MatBegin,
    /// `\end{pmatrix}` and friends.
    MatEnd,
    /// `\%` or `%`.
    Percent,
    /// `^\circ`, `^{\circ}`, `°`.
    Degree,
}

/// Relations between expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rel {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `\le`
    Le,
    /// `>`
    Gt,
    /// `\ge`
    Ge,
    /// `\ne`
    Ne,
    /// `\in`
    In,
    /// `\approx`, `≈` (read as `=` when a chain's last side is taken).
    Approx,
}

/// Commands that are pure layout and produce no token.
const SKIPPED: &[&str] = &[
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "quad",
    "qquad",
    "!",
    ",",
    ";",
    ":",
    " ",
    "limits",
    "nolimits",
    "mathstrut",
    "hfill",
    "noindent",
    "middle",
];

/// Commands whose braced argument may be prose (units, names, choices).
const TEXTLIKE: &[&str] = &[
    "text",
    "textbf",
    "textit",
    "mbox",
    "mathrm",
    "textrm",
    "mathbf",
    "mathit",
    "operatorname",
    "textnormal",
    "mathsf",
    "texttt",
    "hbox",
    "textup",
    "boldsymbol",
    "bm",
    "mathbb",
    "mathcal",
];

/// Splits `src` into tokens.
#[cfg(test)]
pub(crate) fn lex(src: &str) -> Result<Vec<Tok>, LimitError> {
    lex_with(src, false)
}

/// [`lex`], where with `decimal_comma` a comma between digits that is not a
/// thousands separator is a decimal point (`3,75` is 3.75, `0,250` is 0.25;
/// `3,750` stays 3750): the reading `verify` retries for a single number.
pub(crate) fn lex_with(src: &str, decimal_comma: bool) -> Result<Vec<Tok>, LimitError> {
    let mut lx = Lexer { s: src.as_bytes(), src, i: 0, out: Vec::new(), decimal_comma };
    lx.run()?;
    Ok(lx.out)
}

struct Lexer<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    out: Vec<Tok>,
    decimal_comma: bool,
}

impl Lexer<'_> {
    fn push(&mut self, t: Tok) -> Result<(), LimitError> {
        if self.out.len() >= MAX_TOKENS {
            return Err(LimitError::Tokens);
        }
        self.out.push(t);
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn run(&mut self) -> Result<(), LimitError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b'~' | b'$' => self.i += 1,
                b'0'..=b'9' | b'.' if self.starts_number() => self.number()?,
                b'a'..=b'z' | b'A'..=b'Z' => self.word()?,
                b'\\' => self.command()?,
                b'%' => {
                    self.i += 1;
                    self.push(Tok::Percent)?;
                }
                b'<' | b'>' | b'=' => self.ascii_rel(b)?,
                // `t != 4` (a space before), but `5!=120` is a factorial.
                b'!' if self.s.get(self.i + 1) == Some(&b'=')
                    && self.i > 0
                    && self.s[self.i - 1].is_ascii_whitespace() =>
                {
                    self.i += 2;
                    self.push(Tok::Rel(Rel::Ne))?;
                }
                b'^' if self.degree_after_caret() => self.push(Tok::Degree)?,
                b if b.is_ascii() => {
                    self.i += 1;
                    self.push(Tok::Sym(b as char))?;
                }
                _ => self.unicode()?,
            }
        }
        Ok(())
    }

    fn word(&mut self) -> Result<(), LimitError> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        let w = self.src[start..self.i].to_string();
        self.push(Tok::Word(w))
    }

    fn ascii_rel(&mut self, b: u8) -> Result<(), LimitError> {
        self.i += 1;
        let eq_follows = self.peek() == Some(b'=');
        let rel = match (b, eq_follows) {
            (b'<', true) => Rel::Le,
            (b'>', true) => Rel::Ge,
            (b'<', false) => Rel::Lt,
            (b'>', false) => Rel::Gt,
            _ => Rel::Eq,
        };
        if eq_follows && b != b'=' {
            self.i += 1;
        }
        self.push(Tok::Rel(rel))
    }

    /// `^\circ`, `^{\circ}`, `^\circ{}`: a degree sign.
    fn degree_after_caret(&mut self) -> bool {
        let rest = &self.s[self.i + 1..];
        for pat in [&b"{\\circ}"[..], b"\\circ", b"{ \\circ }", b"{\\circ }", b"{ \\circ}"] {
            if rest.starts_with(pat) {
                self.i += 1 + pat.len();
                return true;
            }
        }
        false
    }

    fn command(&mut self) -> Result<(), LimitError> {
        let start = self.i + 1;
        let mut j = start;
        while self.s.get(j).is_some_and(u8::is_ascii_alphabetic) {
            j += 1;
        }
        if j == start {
            return self.symbol_command();
        }
        let name = &self.src[start..j];
        self.i = j;
        match name {
            _ if SKIPPED.contains(&name) => Ok(()),
            "begin" | "end" => self.environment(name == "begin"),
            "lbrace" => self.push(Tok::SetOpen),
            "rbrace" => self.push(Tok::SetClose),
            "circ" | "degree" => self.push(Tok::Degree),
            "le" | "leq" | "leqslant" | "leqq" => self.push(Tok::Rel(Rel::Le)),
            "ge" | "geq" | "geqslant" | "geqq" => self.push(Tok::Rel(Rel::Ge)),
            "lt" => self.push(Tok::Rel(Rel::Lt)),
            "gt" => self.push(Tok::Rel(Rel::Gt)),
            "ne" | "neq" => self.push(Tok::Rel(Rel::Ne)),
            "in" => self.push(Tok::Rel(Rel::In)),
            "approx" | "simeq" | "approxeq" | "thickapprox" | "doteq" | "equiv" => self.push(Tok::Rel(Rel::Approx)),
            // `24 \equiv 3 \pmod{7}`: the modulus is context, not part of the value.
            "pmod" => {
                self.skip_group();
                Ok(())
            }
            _ if TEXTLIKE.contains(&name) => self.textlike(),
            _ => self.push(Tok::Cmd(name.to_string())),
        }
    }

    /// `\{`, `\}`, `\%`, `\\`, `\$`, `\!`, `\,` ...
    fn symbol_command(&mut self) -> Result<(), LimitError> {
        let Some(&c) = self.s.get(self.i + 1) else {
            self.i += 1;
            return Ok(());
        };
        if !c.is_ascii() {
            self.i += 1;
            return Ok(());
        }
        self.i += 2;
        match c {
            b'{' => self.push(Tok::SetOpen),
            b'}' => self.push(Tok::SetClose),
            b'%' => self.push(Tok::Percent),
            b'\\' => self.push(Tok::RowSep),
            b'$' | b'!' | b',' | b';' | b':' | b' ' | b'>' | b'(' | b')' | b'[' | b']' => Ok(()),
            _ => self.push(Tok::Sym(c as char)),
        }
    }

    /// `\begin{pmatrix}`: the matrix environments; `{array}{cc}` drops its column spec.
    fn environment(&mut self, begin: bool) -> Result<(), LimitError> {
        let rest = &self.src[self.i..];
        let trimmed = rest.trim_start();
        let skipped = rest.len() - trimmed.len();
        let Some(body) = trimmed.strip_prefix('{') else {
            return self.push(Tok::Cmd("begin".into()));
        };
        let Some(close) = body.find('}') else {
            return self.push(Tok::Cmd("begin".into()));
        };
        let env = &body[..close];
        self.i += skipped + 1 + close + 1;
        if begin && env == "array" && self.s.get(self.i) == Some(&b'{') {
            if let Some(k) = self.src[self.i..].find('}') {
                self.i += k + 1;
            }
        }
        let matrix = matches!(
            env.trim_end_matches('*'),
            "pmatrix" | "bmatrix" | "matrix" | "vmatrix" | "Bmatrix" | "smallmatrix" | "array"
        );
        match (matrix, begin) {
            (true, true) => self.push(Tok::MatBegin),
            (true, false) => self.push(Tok::MatEnd),
            _ => Ok(()),
        }
    }

    /// Skips one braced group (nested braces counted) or nothing.
    fn skip_group(&mut self) {
        let lead = self.s[self.i..].iter().take_while(|c| **c == b' ').count();
        if self.s.get(self.i + lead) != Some(&b'{') {
            return;
        }
        let mut depth = 0usize;
        let mut j = self.i + lead;
        while let Some(&c) = self.s.get(j) {
            j += 1;
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        self.i = j;
    }

    /// `\text{...}`: prose becomes one `Text` token; anything else
    /// (`\text{(C)}`, `\mathrm{e}`, `\mathbf{5}`) is lexed as a plain group.
    fn textlike(&mut self) -> Result<(), LimitError> {
        let rest = &self.s[self.i..];
        let lead = rest.iter().take_while(|c| **c == b' ').count();
        if rest.get(lead) != Some(&b'{') {
            return Ok(());
        }
        let body_start = self.i + lead + 1;
        let window = &self.s[body_start..self.s.len().min(body_start + 256)];
        let Some(close) = window.iter().position(|c| *c == b'}') else {
            self.i = body_start - 1;
            return Ok(());
        };
        let body = &window[..close];
        // `\text{ m}`, `\text{ g}`: a one-letter unit after a space.
        let unit_letter = body.len() >= 2
            && body[body.len() - 1].is_ascii_alphabetic()
            && body[..body.len() - 1].iter().all(|c| *c == b' ');
        let prose = unit_letter
            || !body.contains(&b'{')
                && !body.contains(&b'\\')
                && body.windows(2).any(|w| w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic());
        if prose {
            self.i = body_start + close + 1;
            let text = String::from_utf8_lossy(body).into_owned();
            return self.push(Tok::Text(text));
        }
        // Lex the body in place: the braces become plain group tokens.
        self.i = body_start - 1;
        Ok(())
    }

    fn unicode(&mut self) -> Result<(), LimitError> {
        let Some(c) = self.src[self.i..].chars().next() else {
            self.i = self.s.len();
            return Ok(());
        };
        self.i += c.len_utf8();
        let tok = match c {
            '°' => Tok::Degree,
            'π' => Tok::Cmd("pi".into()),
            '∞' => Tok::Cmd("infty".into()),
            '√' => Tok::Cmd("sqrt".into()),
            '×' | '·' | '⋅' => Tok::Sym('*'),
            '−' | '–' => Tok::Sym('-'),
            '÷' => Tok::Sym('/'),
            '±' => Tok::Cmd("pm".into()),
            '∪' => Tok::Cmd("cup".into()),
            '≤' | '⩽' => Tok::Rel(Rel::Le),
            '≥' | '⩾' => Tok::Rel(Rel::Ge),
            '≠' => Tok::Rel(Rel::Ne),
            '∈' => Tok::Rel(Rel::In),
            '≈' => Tok::Rel(Rel::Approx),
            // Currency signs vanish like `\$`; superscript digits are powers.
            '€' | '£' | '¥' | '₹' => return Ok(()),
            '²' | '³' => {
                self.push(Tok::Sym('^'))?;
                Tok::Num(NumLit { digits: if c == '²' { "2" } else { "3" }.into(), exp: 0 })
            }
            c if c.is_whitespace() => return Ok(()),
            _ => Tok::Sym('?'),
        };
        self.push(tok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(d: &str, exp: i32) -> Tok {
        Tok::Num(NumLit { digits: d.into(), exp })
    }

    #[test]
    fn layout_vanishes_and_text_is_kept() {
        let toks = lex("\\left( 2,4 \\right)").unwrap();
        assert_eq!(toks, vec![Tok::Sym('('), num("2", 0), Tok::Sym(','), num("4", 0), Tok::Sym(')')]);
        let toks = lex("5.4 \\text{ cents}").unwrap();
        assert_eq!(toks, vec![num("5.4", 0), Tok::Text(" cents".into())]);
        let toks = lex("\\text{(C)}").unwrap();
        assert_eq!(toks[2], Tok::Word("C".into()));
        assert_eq!(lex("30^\\circ").unwrap(), vec![num("30", 0), Tok::Degree]);
        assert_eq!(lex("x \\le 3").unwrap()[1], Tok::Rel(Rel::Le));
        assert_eq!(lex("t != 4").unwrap()[1], Tok::Rel(Rel::Ne));
        assert_eq!(lex("5!=120").unwrap()[1], Tok::Sym('!'));
        assert_eq!(lex("x ≈ 3").unwrap()[1], Tok::Rel(Rel::Approx));
        assert_eq!(lex("5 km²").unwrap(), vec![num("5", 0), Tok::Word("km".into()), Tok::Sym('^'), num("2", 0)]);
        assert_eq!(lex("€12").unwrap(), vec![num("12", 0)]);
    }

    #[test]
    fn limits_hold() {
        assert_eq!(lex(&"1".repeat(crate::grade::limits::MAX_DIGITS + 1)), Err(LimitError::Digits));
        assert_eq!(lex(&"x+".repeat(MAX_TOKENS)), Err(LimitError::Tokens));
        assert_eq!(lex("1e99999999"), Err(LimitError::Exponent));
        assert!(lex("\\").unwrap().is_empty());
        assert!(lex("é✓").is_ok());
    }
}
