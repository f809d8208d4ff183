//! OlympiadBench's `final_answer`: a list of answers, given either as a JSON
//! array of strings (or a Parquet list column), or as that list written as a
//! string in Python's notation (`"['$x=5$', '$y$']"`). Each item loses its `$`
//! math delimiters (an escaped `\$` stays) and is trimmed; several items are
//! joined with `", "` into one gold answer (`x=5, y`).

use super::fields::{describe, number_text, Site};
use crate::Result;
use serde_json::Value;

/// OlympiadBench's gold (rules in the module doc).
pub(crate) fn olympiad_gold(v: &Value, site: &Site) -> Result<String> {
    let items: Vec<String> = match v {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => number_text(n).ok_or_else(|| site.err("final_answer", "number is not finite")),
                other => Err(site.err(
                    "final_answer",
                    format!("expected a list of strings, found an item that is {}", describe(other)),
                )),
            })
            .collect::<Result<_>>()?,
        Value::String(s) => {
            python_list(s).ok_or_else(|| site.err("final_answer", format!("malformed list string {}", describe(v))))?
        }
        other => Err(site.err("final_answer", format!("expected a list or a list string, found {}", describe(other))))?,
    };
    let cleaned: Vec<String> = items.iter().map(|s| strip_dollars(s)).filter(|s| !s.is_empty()).collect();
    if cleaned.is_empty() {
        return Err(site.err("final_answer", "the list of answers is empty"));
    }
    Ok(cleaned.join(", "))
}

/// Removes unescaped `$` and trims: `$x=5$` -> `x=5`; `\$5` keeps its `\$`.
pub(crate) fn strip_dollars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_backslash = false;
    for c in s.chars() {
        if c == '$' && !prev_backslash {
            prev_backslash = false;
            continue;
        }
        prev_backslash = c == '\\' && !prev_backslash;
        out.push(c);
    }
    out.trim().to_string()
}

/// Parses a Python list literal of strings (`['a', "b"]`). A string that is
/// not bracketed is one answer. Inside quotes `\\`, `\'` and `\"` are escapes;
/// any other backslash is kept as written (LaTeX survives either way).
pub(crate) fn python_list(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return Some(vec![t.to_string()]);
    };
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(quote) = chars.next() else {
            return Some(items);
        };
        if quote != '\'' && quote != '"' {
            return None;
        }
        let mut item = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    c @ ('\\' | '\'' | '"') => item.push(c),
                    c => {
                        item.push('\\');
                        item.push(c);
                    }
                },
                c if c == quote => break,
                c => item.push(c),
            }
        }
        items.push(item);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_list_strings_parse() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("['$x=5$', '$y$']", Some(&["$x=5$", "$y$"])),
            (r"['$\\frac{1}{2}$']", Some(&[r"$\frac{1}{2}$"])),
            (r"['$\frac{1}{2}$']", Some(&[r"$\frac{1}{2}$"])),
            ("[\"it's\", 'a\\'b']", Some(&["it's", "a'b"])),
            ("[]", Some(&[])),
            ("  [ '1' , '2' ]  ", Some(&["1", "2"])),
            ("plain answer", Some(&["plain answer"])),
            ("['unterminated]", None),
            ("['a' 'b']", None),
            ("[1, 2]", None),
        ];
        for (text, want) in cases {
            let got = python_list(text);
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "input {text:?}");
        }
    }

    #[test]
    fn dollars_are_stripped_unless_escaped() {
        let cases = [
            ("$x=5$", "x=5"),
            ("$69$,$84$", "69,84"),
            (r"\$5", r"\$5"),
            (r"$\\$", r"\\"),
            ("  $ 3 $ ", "3"),
            ("$$", ""),
        ];
        for (text, want) in cases {
            assert_eq!(strip_dollars(text), want, "input {text:?}");
        }
    }
}
