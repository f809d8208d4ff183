//! The brace matcher the loaders need to pull a gold answer out of a worked
//! solution: the content of the last `\boxed{...}` (Minerva's `solution`).
//! Braces nest; `\{` and `\}` are escaped braces and do not count; spaces
//! between `\boxed` and `{` are allowed (`\boxed {x}`).
//!
//! This is deliberately small and independent of the grader's parser (which
//! reads model responses and owns its own diagnostics).

/// Content of the last `\boxed{...}` in `text`, or `None` when there is no
/// `\boxed` followed by a balanced `{...}` group.
///
/// Scans backwards over every `\boxed` occurrence so that a final, truncated
/// `\boxed{` does not hide an earlier complete one.
pub(crate) fn last_boxed(text: &str) -> Option<&str> {
    let mut end = text.len();
    while let Some(start) = text[..end].rfind("\\boxed") {
        let after = start + "\\boxed".len();
        // `\boxeda` is another macro, not `\boxed`.
        let next = text[after..].chars().next();
        if next.is_some_and(|c| c.is_ascii_alphabetic()) {
            end = start;
            continue;
        }
        if let Some(content) = braced_group(&text[after..]) {
            return Some(content);
        }
        end = start;
    }
    None
}

/// If `s` starts (after spaces) with `{`, the text up to its matching `}`.
fn braced_group(s: &str) -> Option<&str> {
    let open = s.len() - s.trim_start_matches([' ', '\t', '\n']).len();
    let body = s[open..].strip_prefix('{')?;
    let mut depth = 1usize;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::last_boxed;

    #[test]
    fn finds_the_last_balanced_box() {
        let cases: &[(&str, Option<&str>)] = &[
            (r"so $x=\boxed{3}$", Some("3")),
            (r"\boxed{1} then \boxed{2}", Some("2")),
            (r"\boxed{\frac{a}{b^{2}}} m", Some(r"\frac{a}{b^{2}}")),
            (r"\boxed {4.5e33} ergs", Some("4.5e33")),
            (r"\boxed{\{1,2\}}", Some(r"\{1,2\}")),
            (r"\boxed{}", Some("")),
            (r"\boxed{7} and then \boxed{unterminated", Some("7")),
            (r"\boxed{unterminated", None),
            (r"\boxedx{3}", None),
            ("no box here", None),
            (r"\boxed 3", None),
            (r"\boxed{\sqrt{4 \pi}}", Some(r"\sqrt{4 \pi}")),
            (r"\boxed{é\,ü}", Some(r"é\,ü")),
        ];
        for (text, want) in cases {
            assert_eq!(last_boxed(text), *want, "input {text:?}");
        }
    }
}
