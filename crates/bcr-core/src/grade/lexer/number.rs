//! Number literals: digits, thousands groups (all-or-nothing, groups of
//! exactly three), a decimal point (or, when asked, a decimal comma) and a
//! scientific exponent.

use super::{Lexer, NumLit, Tok};
use crate::grade::limits::{LimitError, MAX_DIGITS};

impl Lexer<'_> {
    pub(super) fn starts_number(&self) -> bool {
        match self.peek() {
            Some(b'.') => self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit),
            Some(d) => d.is_ascii_digit(),
            None => false,
        }
    }

    /// Digits with optional thousands groups, a fraction and an exponent.
    pub(super) fn number(&mut self) -> Result<(), LimitError> {
        let mut digits = String::new();
        let int_start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        digits.push_str(&self.src[int_start..self.i]);
        // A leading `0` never starts a thousands group (`0,250` is no number 250).
        let groups_allowed = digits.len() <= 3 && !digits.is_empty() && digits != "0";
        if groups_allowed && !after_list_comma(self.s, int_start) {
            self.thousands(&mut digits);
        }
        let comma_point = self.decimal_comma && self.peek() == Some(b',') && !digits.contains('.');
        let point = self.peek() == Some(b'.') || comma_point;
        if point && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            digits.push('.');
            digits.push_str(&self.src[start..self.i]);
        }
        if digits.len() > MAX_DIGITS {
            return Err(LimitError::Digits);
        }
        let exp = self.sci_exponent()?;
        self.push(Tok::Num(NumLit { digits, exp }))
    }

    /// Absorbs `,ddd` / `,\!ddd` / ` ddd` / `\,ddd` groups when all of them
    /// have exactly three digits; otherwise absorbs nothing.
    fn thousands(&mut self, digits: &mut String) {
        let mut j = self.i;
        let mut groups = Vec::new();
        let mut style = None;
        while let Some((sep, after)) = separator_at(self.s, j) {
            if style.is_some_and(|s| s != sep) {
                break;
            }
            let end = after + 3;
            let three = self.s.get(after..end).is_some_and(|g| g.iter().all(u8::is_ascii_digit));
            let next_is_digit = self.s.get(end).is_some_and(u8::is_ascii_digit);
            if !three || next_is_digit {
                if sep == b',' && after <= self.s.len() && digit_run_follows(self.s, after) {
                    // `1,2345` or `1,23`: a list, not a number with separators.
                    return;
                }
                break;
            }
            style = Some(sep);
            groups.push((after, end));
            j = end;
        }
        for (a, b) in &groups {
            digits.push_str(&self.src[*a..*b]);
        }
        if let Some(&(_, end)) = groups.last() {
            self.i = end;
        }
    }

    /// `e3`, `e-5`, `E+2` directly after a number (no space, digits follow).
    fn sci_exponent(&mut self) -> Result<i32, LimitError> {
        if !matches!(self.peek(), Some(b'e' | b'E')) {
            return Ok(0);
        }
        let mut j = self.i + 1;
        let neg = match self.s.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        while self.s.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j == start || self.s.get(j).is_some_and(u8::is_ascii_alphabetic) {
            return Ok(0);
        }
        let text = &self.src[start..j];
        if text.len() > 6 {
            return Err(LimitError::Exponent);
        }
        let v: i32 = text.parse().map_err(|_| LimitError::Exponent)?;
        self.i = j;
        Ok(if neg { -v } else { v })
    }
}

/// A thousands separator at `j`: `,` `,\!` `\,` `\!` `{,}` or one space,
/// returning its kind and where the next group starts.
fn separator_at(s: &[u8], j: usize) -> Option<(u8, usize)> {
    let rest = s.get(j..)?;
    if rest.starts_with(b",\\!") || rest.starts_with(b",\\,") {
        let k = j + 3;
        let k = if s.get(k) == Some(&b' ') { k + 1 } else { k };
        return Some((b',', k));
    }
    if rest.starts_with(b"{,}") {
        return Some((b',', j + 3));
    }
    if rest.starts_with(b",") {
        return Some((b',', j + 1));
    }
    if rest.starts_with(b"\\,") || rest.starts_with(b"\\!") {
        return Some((b'\\', j + 2));
    }
    if rest.starts_with(b" ") {
        return Some((b' ', j + 1));
    }
    None
}

/// Whether the number at `start` follows `<digit>,` (optionally `, ` or
/// `,\!`): it is then an item of a comma list whose earlier groups already
/// failed the thousands rule (`27,54,108,135` is four numbers).
fn after_list_comma(s: &[u8], start: usize) -> bool {
    let before = &s[..start];
    let before = before.strip_suffix(b" ").unwrap_or(before);
    let before = before.strip_suffix(b"\\!").unwrap_or(before);
    before.strip_suffix(b",").is_some_and(|b| b.last().is_some_and(u8::is_ascii_digit))
}

fn digit_run_follows(s: &[u8], at: usize) -> bool {
    s.get(at).is_some_and(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::super::{lex, lex_with};
    use super::*;

    fn num(d: &str, exp: i32) -> Tok {
        Tok::Num(NumLit { digits: d.into(), exp })
    }

    #[test]
    fn numbers_and_separators() {
        let cases: &[(&str, Vec<Tok>)] = &[
            ("7,425,000", vec![num("7425000", 0)]),
            ("10,\\!080", vec![num("10080", 0)]),
            ("11,\\! 111,\\! 111,\\! 100", vec![num("11111111100", 0)]),
            ("1 000", vec![num("1000", 0)]),
            ("1,2", vec![num("1", 0), Tok::Sym(','), num("2", 0)]),
            ("2500,7500", vec![num("2500", 0), Tok::Sym(','), num("7500", 0)]),
            ("1,2345", vec![num("1", 0), Tok::Sym(','), num("2345", 0)]),
            (
                "27,54,108,135",
                vec![
                    num("27", 0),
                    Tok::Sym(','),
                    num("54", 0),
                    Tok::Sym(','),
                    num("108", 0),
                    Tok::Sym(','),
                    num("135", 0),
                ],
            ),
            (".0000672", vec![num(".0000672", 0)]),
            ("1.5e3", vec![num("1.5", 3)]),
            ("1e-5", vec![num("1", -5)]),
            ("2e", vec![num("2", 0), Tok::Word("e".into())]),
            ("3 5", vec![num("3", 0), num("5", 0)]),
            ("0,250", vec![num("0", 0), Tok::Sym(','), num("250", 0)]),
            ("2,500.50", vec![num("2500.50", 0)]),
        ];
        for (src, want) in cases {
            assert_eq!(&lex(src).unwrap(), want, "{src}");
        }
        let commas: &[(&str, Vec<Tok>)] = &[
            ("3,75", vec![num("3.75", 0)]),
            ("0,250", vec![num("0.250", 0)]),
            ("3,750", vec![num("3750", 0)]),
            ("-0,5 kg", vec![Tok::Sym('-'), num("0.5", 0), Tok::Word("kg".into())]),
            ("1,5,2", vec![num("1.5", 0), Tok::Sym(','), num("2", 0)]),
        ];
        for (src, want) in commas {
            assert_eq!(&lex_with(src, true).unwrap(), want, "{src}");
        }
    }
}
