//! The one scanner of `\boxed{...}` / `\fbox{...}` groups, shared by the
//! single-answer extraction ([`super::extract_answer_with`]) and the
//! multi-answer parser (`crate::parse_answers`).
//!
//! One left-to-right pass with a brace counter: braces nest
//! (`\boxed{\frac{1}{2}}`), escapes (`\{`, `\}`, `\\`) are skipped whole, so
//! `\\boxed{2}` (an escaped backslash, then text) is not a box; whitespace
//! may separate the command from its `{`; a box still open at the end of the
//! text is reported as not `closed` (the token budget cut it). `\boxed 5`
//! (no brace, one space) takes the next token, as TeX does. Boxes inside a
//! box are part of its content.

/// Most boxes joined into one answer by [`trailing_group`] (`\boxed{3}\boxed{5}`).
pub(crate) const MAX_JOINED: usize = 64;

/// One box found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoxHit<'a> {
    /// Byte offset of the command's backslash.
    pub start: usize,
    /// Byte offset just after the box (its closing brace or token).
    pub end: usize,
    /// The text inside the braces (or the single token).
    pub content: &'a str,
    /// Whether the group closed before the end of the text.
    pub closed: bool,
}

/// All top-level boxes of `text`, in order.
pub(crate) fn find_boxes(text: &str) -> Vec<BoxHit<'_>> {
    let b = text.as_bytes();
    let mut hits = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let rest = &b[i + 1..];
        let name_len = if rest.starts_with(b"boxed") {
            5
        } else if rest.starts_with(b"fbox") {
            4
        } else {
            // `\\` is an escaped backslash: skip both so `\\boxed` is not a box.
            i += if rest.first() == Some(&b'\\') { 2 } else { 1 };
            continue;
        };
        let mut j = i + 1 + name_len;
        if b.get(j).is_some_and(u8::is_ascii_alphabetic) {
            i = j; // `\boxedsomething` is another command
            continue;
        }
        let name_end = j;
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        match b.get(j) {
            Some(b'{') => {
                let (content, closed, next) = brace_group(text, j);
                hits.push(BoxHit { start: i, end: next, content, closed });
                i = next;
            }
            // `\boxed 5`: one token, up to a space, `$` or the end of a math span.
            Some(c) if j > name_end && *c != b'\\' && *c != b'$' => {
                let len = b[j..].iter().position(|c| c.is_ascii_whitespace() || matches!(c, b'$' | b'\\'));
                let end = j + len.unwrap_or(b.len() - j);
                hits.push(BoxHit { start: i, end, content: &text[j..end], closed: true });
                i = end;
            }
            _ => i = j.max(i + 1),
        }
    }
    hits
}

/// The content of the brace group opening at byte `open` (a `{`), whether
/// it closed, and the offset after it. Escapes (`\x`) are skipped whole.
fn brace_group(text: &str, open: usize) -> (&str, bool, usize) {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut j = open;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                // Skip the escaped character whole (it may be multi-byte).
                j += 1 + text[j + 1..].chars().next().map_or(0, char::len_utf8);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return (&text[open + 1..j], true, j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    (&text[open + 1..], false, b.len())
}

/// The last closed box and the boxes directly before it, in text order, when
/// only list glue separates them (`\boxed{3}\boxed{5}`, `\boxed{3}, \boxed{5}`,
/// `$\boxed{3}$ and $\boxed{5}$`): a model that boxes each of several answers.
/// At most [`MAX_JOINED`] boxes.
pub(crate) fn trailing_group<'a>(text: &str, hits: &[BoxHit<'a>]) -> Vec<&'a str> {
    let closed: Vec<&BoxHit<'a>> = hits.iter().filter(|h| h.closed).collect();
    let Some(last) = closed.last() else {
        return Vec::new();
    };
    let mut group = vec![last.content];
    for pair in closed.windows(2).rev() {
        if group.len() >= MAX_JOINED || !is_list_glue(text.get(pair[0].end..pair[1].start).unwrap_or("x")) {
            break;
        }
        group.push(pair[0].content);
    }
    group.reverse();
    group
}

/// Whether `gap` holds only separators between two answers: spaces, `,`,
/// `;`, `$`, `\(`, `\)`, `\quad`, `\text{and}`, "and", "or".
pub(crate) fn is_list_glue(gap: &str) -> bool {
    let mut rest = gap.trim();
    while !rest.is_empty() {
        let skip = [
            ",", ";", "$", "\\(", "\\)", "\\[", "\\]", "\\quad", "\\qquad", "\\,", "\\text{", "\\mbox{", "}", "and",
            "or",
        ]
        .iter()
        .find(|p| rest.starts_with(**p))
        .map(|p| p.len());
        let Some(n) = skip else { return false };
        rest = rest[n..].trim_start();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_and_groups() {
        // (text, contents of all boxes, trailing group)
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("so \\boxed{\\frac{1}{2}}.", &["\\frac{1}{2}"], &["\\frac{1}{2}"]),
            ("\\boxed{1} then \\fbox{ \\{1, 2\\} }", &["1", " \\{1, 2\\} "], &[" \\{1, 2\\} "]),
            ("\\boxed{3}\\boxed{5}", &["3", "5"], &["3", "5"]),
            ("$\\boxed{3}$ and $\\boxed{5}$.", &["3", "5"], &["3", "5"]),
            ("\\boxed{3}, \\text{ or } \\boxed{5}", &["3", "5"], &["3", "5"]),
            ("First \\boxed{12}, then corrected: \\boxed{24}", &["12", "24"], &["24"]),
            ("\\boxed 5 is it", &["5"], &["5"]),
            ("\\boxed{unbalanced", &["unbalanced"], &[]),
            ("\\boxedx{1} \\\\boxed{2}", &[], &[]),
            ("\\boxed{a}\\boxed{b", &["a", "b"], &["a"]),
            ("ÿ\\boxed{é\\é}", &["é\\é"], &["é\\é"]),
        ];
        for (text, all, group) in cases {
            let hits = find_boxes(text);
            let contents: Vec<&str> = hits.iter().map(|h| h.content).collect();
            assert_eq!(&contents, all, "{text}");
            assert_eq!(&trailing_group(text, &hits), group, "{text}");
        }
    }

    #[test]
    fn long_inputs_are_linear_and_groups_bounded() {
        let many = "\\boxed{1}".repeat(100_000);
        let hits = find_boxes(&many);
        assert_eq!(hits.len(), 100_000);
        assert_eq!(trailing_group(&many, &hits).len(), MAX_JOINED);
        let open = "{".repeat(1 << 20);
        assert!(!find_boxes(&format!("\\boxed{open}"))[0].closed);
    }
}
