//! The final answer inside a whole model response.
//!
//! In order, the first rule that finds something wins:
//! 1. the content of the last `\boxed{...}` or `\fbox{...}` (nested and
//!    escaped braces handled; `\boxed 5` takes one token);
//! 2. the text after the last "final answer is", "answer is" or "answer:"
//!    (case-insensitive), to the end of that line, its math taken from
//!    `$...$` when present;
//! 3. when the response is prose with inline math, the last `$...$`,
//!    `\(...\)` or `\[...\]` segment;
//! 4. otherwise the whole text (a bare answer).
//!
//! Every rule is a linear scan; nothing here allocates more than the answer.

/// The answer part of `response`.
pub fn extract_answer(response: &str) -> &str {
    if let Some(b) = last_boxed(response) {
        return b.trim();
    }
    if let Some(a) = after_answer_phrase(response) {
        return a;
    }
    if looks_like_prose(response) {
        if let Some(m) = last_math(response) {
            return m.trim();
        }
    }
    response.trim()
}

/// Content of the last `\boxed{...}` / `\fbox{...}`; `None` when absent or unbalanced.
pub(crate) fn last_boxed(s: &str) -> Option<&str> {
    let at = match (s.rfind("\\boxed"), s.rfind("\\fbox")) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b)?,
    };
    let name_len = if s[at..].starts_with("\\boxed") { 6 } else { 5 };
    let rest = &s[at + name_len..];
    let trimmed = rest.trim_start();
    if let Some(body) = trimmed.strip_prefix('{') {
        return balanced(body);
    }
    if rest.len() == trimmed.len() {
        return None; // `\boxedx` is another command
    }
    let end = trimmed.find(|c: char| c.is_whitespace() || c == '$').unwrap_or(trimmed.len());
    Some(&trimmed[..end])
}

/// The text up to the brace closing an already-open one; `\{` and `\}` do not count.
fn balanced(body: &str) -> Option<&str> {
    let bytes = body.as_bytes();
    let mut depth = 1usize;
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'\\' => k += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return body.get(..k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

const PHRASES: &[&str] = &["final answer is", "answer is", "answer:"];

fn after_answer_phrase(s: &str) -> Option<&str> {
    // ASCII lower-casing keeps byte offsets valid.
    let lower = s.to_ascii_lowercase();
    let (at, len) = PHRASES.iter().filter_map(|p| lower.rfind(p).map(|i| (i, p.len()))).max_by_key(|(i, _)| *i)?;
    let rest = &s[at + len..];
    let line = rest.trim_start_matches([':', ' ']).lines().next().unwrap_or("").trim();
    let line = line.strip_suffix('.').unwrap_or(line).trim();
    if line.is_empty() {
        return None;
    }
    Some(first_math(line).unwrap_or(line).trim())
}

/// Prose: some word of three or more letters outside `$...$`.
fn looks_like_prose(s: &str) -> bool {
    if !(s.contains('$') || s.contains("\\(") || s.contains("\\[")) {
        return false;
    }
    let mut in_math = false;
    let mut run = 0;
    let mut command = false;
    for c in s.chars() {
        // Letters of a command name (`\\dfrac`) are not prose.
        if command && c.is_ascii_alphabetic() {
            continue;
        }
        command = c == '\\';
        if c == '$' {
            in_math = !in_math;
            run = 0;
        } else if !in_math && c.is_ascii_alphabetic() {
            run += 1;
            if run >= 3 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn first_math(s: &str) -> Option<&str> {
    let start = s.find('$')? + 1;
    let start = if s[start..].starts_with('$') { start + 1 } else { start };
    let len = s[start..].find('$')?;
    Some(&s[start..start + len])
}

/// The last `$...$` / `$$...$$` / `\(...\)` / `\[...\]` segment.
fn last_math(s: &str) -> Option<&str> {
    let dollar = {
        let end = s.trim_end_matches(['.', ' ', '\n']).rfind('$');
        end.and_then(|e| {
            let body_end = if e > 0 && s.as_bytes()[e - 1] == b'$' { e - 1 } else { e };
            let start = s[..body_end].rfind('$')? + 1;
            Some((body_end, &s[start..body_end]))
        })
    };
    let paren = s.rfind("\\)").and_then(|e| s[..e].rfind("\\(").map(|b| (e, &s[b + 2..e])));
    let bracket = s.rfind("\\]").and_then(|e| s[..e].rfind("\\[").map(|b| (e, &s[b + 2..e])));
    [dollar, paren, bracket].into_iter().flatten().max_by_key(|(end, _)| *end).map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_rules() {
        let cases = [
            ("so $x = 2$ and \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
            ("\\boxed{1} then \\fbox{ \\{1, 2\\} }", "\\{1, 2\\}"),
            ("\\boxed{\\left( 2,4 \\right)}", "\\left( 2,4 \\right)"),
            ("\\boxed 5 is it", "5"),
            ("\\boxed{unbalanced", "\\boxed{unbalanced"),
            ("The final answer is $42$. I hope", "42"),
            ("Answer: 7.", "7"),
            ("We get $x=1$, hence the result is $y = 3$.", "y = 3"),
            ("Thus \\(z^2\\) works", "z^2"),
            ("3.5", "3.5"),
            ("\\dfrac{32}{9}$,$\\dfrac{1}{2}", "\\dfrac{32}{9}$,$\\dfrac{1}{2}"),
            ("$\\frac{4}{9}$", "$\\frac{4}{9}$"),
            ("", ""),
            ("ÿ\\boxed{é}", "é"),
        ];
        for (src, want) in cases {
            assert_eq!(extract_answer(src), want, "{src}");
        }
    }

    #[test]
    fn huge_and_unbalanced_inputs_are_linear() {
        let open = "{".repeat(1 << 20);
        assert_eq!(extract_answer(&format!("\\boxed{open}")).len(), (1 << 20) + 6);
        let many = "\\boxed{1}".repeat(100_000);
        assert_eq!(extract_answer(&many), "1");
    }
}
