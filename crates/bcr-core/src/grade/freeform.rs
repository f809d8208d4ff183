//! Free-form answers: where a response that boxes nothing states its answer.
//!
//! Three fallbacks, tried in this order by [`super::extract`] (each can be
//! switched off in [`super::ExtractOptions`]):
//!
//! 1. [`answer_phrase`]: the text after the last "final answer", "answer
//!    is/are", "answer:", "answer k:" or `####`, to the end of its line (or
//!    the next line when the phrase ends its line), cut after a last " is "
//!    ("the smallest $k$ is 17" -> `17`);
//! 2. [`last_math`]: the last `$...$`, `$$...$$`, `\(...\)` or `\[...\]`
//!    span, skipping spans that hold prose (`$5 and $10` is currency);
//! 3. [`last_number`]: the last number written (`4096`, `-3.5`, `2,500.50`,
//!    `3/4`, `12%`).
//!
//! All are single passes over the text (the span search at most
//! [`MAX_SPAN_TRIES`] of them); none allocates more than the answer.

use super::limits::MAX_SPAN_TRIES;

/// Words of three or more letters that are mathematics or units, not prose.
const NOT_PROSE: &[&str] =
    &["sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "sqrt", "frac", "pi", "infty", "and", "or"];

/// Counts prose words (three or more ASCII letters, outside math spans,
/// outside braces, and not part of a `\command`), stopping at `enough`.
pub(crate) fn prose_words(s: &str, enough: usize) -> usize {
    words(s, enough, 3)
}

/// Words of two or more letters outside math spans and braces, stopping at
/// `enough` ("So $P = 1/2$." is a sentence around a formula; "25 pct" is a
/// number and its unit, not a sentence).
pub(crate) fn short_words(s: &str, enough: usize) -> usize {
    words(s, enough, 2)
}

fn words(s: &str, enough: usize, min_len: usize) -> usize {
    let mut count = 0;
    let mut in_math = false;
    let mut command = false;
    let mut depth = 0usize;
    let mut word_start = None;
    let b = s.as_bytes();
    for (k, &c) in b.iter().chain(std::iter::once(&b' ')).enumerate() {
        if c.is_ascii_alphabetic() {
            if word_start.is_none() && !command {
                word_start = Some(k);
            }
            continue;
        }
        if let Some(start) = word_start.take() {
            let w = &s[start..k];
            // `2ab`, `x^2`, `f(x)`, `a_1`: letters glued to algebra are no prose.
            let glued = (start > 0 && b[start - 1].is_ascii_digit()) || matches!(c, b'^' | b'_' | b'(' | b'0'..=b'9');
            if !glued
                && !in_math
                && depth == 0
                && w.len() >= min_len
                && !NOT_PROSE.contains(&w.to_ascii_lowercase().as_str())
            {
                count += 1;
                if count >= enough {
                    return count;
                }
            }
        }
        command = c == b'\\';
        match c {
            b'$' => in_math = !in_math,
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    count
}

/// Whether `s` has a LaTeX command outside `$...$` (then it is written as
/// mathematics, and the last-number rule would cut an expression apart).
pub(crate) fn has_bare_command(s: &str) -> bool {
    let mut in_math = false;
    let b = s.as_bytes();
    for (k, &c) in b.iter().enumerate() {
        match c {
            b'$' => in_math = !in_math,
            b'\\' if !in_math && b.get(k + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == b'{') => return true,
            _ => {}
        }
    }
    false
}

/// The answer after the last answer phrase, or `None`.
pub(crate) fn answer_phrase(s: &str) -> Option<&str> {
    let at = last_phrase_end(s)?;
    let rest = s[at..].trim_start_matches([' ', '\t', ':', '*', '#', '=']);
    let mut lines = rest.lines().map(|l| l.trim().trim_matches('*').trim());
    let mut line = lines.next().unwrap_or("");
    if line.is_empty() {
        line = lines.find(|l| !l.is_empty()).unwrap_or("");
    }
    let line = after_last_copula(first_sentence(line));
    let line = line.trim().trim_end_matches(['.', ' ']).trim_start_matches([':', ' ']);
    (!line.is_empty()).then_some(line)
}

/// The line up to its first ". " outside `$...$` (a decimal point has no space after it).
fn first_sentence(line: &str) -> &str {
    let mut in_math = false;
    let b = line.as_bytes();
    for k in 0..b.len() {
        match b[k] {
            b'$' => in_math = !in_math,
            b'.' if !in_math && b.get(k + 1) == Some(&b' ') => return &line[..k],
            _ => {}
        }
    }
    line
}

/// End of the last "answer" phrase: `final answer` (then `:`/`is`/a line
/// end), `answer is|are|was|:|=`, `answer k:`, or `####`.
fn last_phrase_end(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase(); // ASCII lower-casing keeps offsets
    let best = lower.rfind("####").map(|i| i + 4);
    let mut search = lower.len();
    while let Some(i) = lower[..search].rfind("answer") {
        search = i;
        if best.is_some_and(|b| b > i) {
            break;
        }
        let word_start = lower[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        if !word_start {
            continue;
        }
        let final_ = lower[..i].trim_end().ends_with("final");
        let mut j = i + "answer".len();
        let tail = &lower[j..];
        let tail = tail.strip_prefix('s').unwrap_or(tail);
        j = lower.len() - tail.len();
        let t = tail.trim_start_matches([' ', '*']);
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let t2 = t[digits..].trim_start_matches([' ', '*']);
        let after = |p: &str| Some(lower.len() - t2.len() + p.len());
        let end = if t2.starts_with(':') || t2.starts_with('=') {
            after(":")
        } else if ["is ", "are ", "was ", "is:", "is\n"].iter().any(|p| t2.starts_with(p)) {
            after(if t2.starts_with("are") {
                "are"
            } else if t2.starts_with("was") {
                "was"
            } else {
                "is"
            })
        } else if final_ && digits == 0 && t2.is_empty() || final_ && t2.starts_with(['\n', '\r']) {
            Some(j)
        } else {
            None
        };
        if let Some(e) = end {
            return Some(best.map_or(e, |b| b.max(e)));
        }
    }
    best
}

/// "the smallest $k$ is 17" -> "17": the text after the last " is ", " are "
/// or " equals " outside `$...$`, when what follows holds a digit or math
/// (so "$x = 3$, which is the smallest" keeps its answer).
fn after_last_copula(line: &str) -> &str {
    let mut in_math = false;
    let mut cut = None;
    let b = line.as_bytes();
    for k in 0..b.len() {
        if b[k] == b'$' {
            in_math = !in_math;
        } else if !in_math && b[k] == b' ' {
            for w in [" is ", " are ", " equals ", " be "] {
                if line[k..].starts_with(w) {
                    cut = Some(k + w.len());
                }
            }
        }
    }
    match cut {
        Some(c) if line[c..].bytes().any(|b| b.is_ascii_digit() || b == b'$' || b == b'\\') => &line[c..],
        _ => line,
    }
}

/// The last `$...$` / `$$...$$` / `\(...\)` / `\[...\]` span that is not
/// prose; `None` when there is none.
pub(crate) fn last_math(s: &str) -> Option<&str> {
    let mut end = s.len();
    // Each round drops one prose span and moves `end` left; at most
    // MAX_SPAN_TRIES rounds, each a linear scan.
    for _ in 0..MAX_SPAN_TRIES {
        if end == 0 {
            break;
        }
        let (span_end, body) = last_span(&s[..end])?;
        if prose_words(body, 1) == 0 && !body.trim().is_empty() && !is_mention(body) {
            return Some(body.trim());
        }
        end = span_end.min(end - 1);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
    }
    None
}

/// A span that names rather than answers: one letter (`$x$`, `$x.$`) or
/// emphasised text (`$\\emph{do}$`).
fn is_mention(body: &str) -> bool {
    let t = body.trim().trim_end_matches(['.', ',', ';', ':']).trim();
    let one_letter = t.len() == 1 && t.bytes().all(|c| c.is_ascii_alphabetic());
    one_letter || t.starts_with("\\emph{") || t.starts_with("\\textit{")
}

/// The span ending last in `s`: (where its opening delimiter starts, body).
/// A `$` pair whose closing sign is directly followed by a digit is currency
/// (`$16 + $4 = $20`), and is returned with an empty body so that the caller
/// skips it.
fn last_span(s: &str) -> Option<(usize, &str)> {
    let dollar = s.rfind('$').and_then(|e| {
        let body_end = if e > 0 && s.as_bytes()[e - 1] == b'$' { e - 1 } else { e };
        let open = s[..body_end].rfind('$')?;
        let start = if open > 0 && s.as_bytes()[open - 1] == b'$' { open - 1 } else { open };
        let currency = s.as_bytes().get(e + 1).is_some_and(u8::is_ascii_digit);
        Some((e, start, if currency { "" } else { &s[open + 1..body_end] }))
    });
    let pair = |o: &str, c: &str| s.rfind(c).and_then(|e| s[..e].rfind(o).map(|b| (e, b, &s[b + o.len()..e])));
    let display = ["align", "equation", "gather", "eqnarray"].iter().find_map(|env| {
        let e = s.rfind(&format!("\\end{{{env}"))?;
        let b = s[..e].rfind(&format!("\\begin{{{env}"))?;
        let body = &s[b..e];
        let body = body.find('}').map_or(body, |k| &body[k + 1..]);
        Some((e, b, last_row(body)))
    });
    [dollar, pair("\\(", "\\)"), pair("\\[", "\\]"), display]
        .into_iter()
        .flatten()
        .max_by_key(|(e, ..)| *e)
        .map(|(_, start, body)| (start, body))
}

/// The last non-empty row of an `align`-like body: the text after its last
/// `\\\\` outside nested environments (a matrix's rows stay whole).
fn last_row(body: &str) -> &str {
    let b = body.as_bytes();
    let mut depth = 0usize;
    let mut cut = 0;
    let mut row_start = 0;
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'\\' {
            let rest = &body[k..];
            if rest.starts_with("\\begin{") {
                depth += 1;
            } else if rest.starts_with("\\end{") {
                depth = depth.saturating_sub(1);
            } else if rest.starts_with("\\\\") && depth == 0 {
                if !body[row_start..k].trim().is_empty() {
                    cut = row_start;
                }
                row_start = k + 2;
            }
            k += 2;
            continue;
        }
        k += 1;
    }
    if body[row_start..].trim().is_empty() {
        &body[cut..row_start.saturating_sub(2).max(cut)]
    } else {
        &body[row_start..]
    }
}

/// `s` without trailing `[asy]...[/asy]` drawings (their labels are math
/// spans, not answers); at most four are removed.
pub(crate) fn strip_trailing_asy(s: &str) -> &str {
    let mut t = s.trim_end();
    for _ in 0..4 {
        match (t.strip_suffix("[/asy]"), t.rfind("[asy]")) {
            (Some(_), Some(at)) => t = t[..at].trim_end(),
            _ => break,
        }
    }
    t
}

/// The last number of `s`: digits with `,` / `.` groups, a leading `-`, a
/// `/denominator`, a trailing `%`.
pub(crate) fn last_number(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let last = b.iter().rposition(u8::is_ascii_digit)?;
    let mut start = last;
    loop {
        while start > 0 && b[start - 1].is_ascii_digit() {
            start -= 1;
        }
        // `2,500.50`, `3,75`, `3/4`: a separator between digits joins.
        let joins = start >= 2 && matches!(b[start - 1], b',' | b'.' | b'/') && b[start - 2].is_ascii_digit();
        if !joins {
            break;
        }
        start -= 2;
    }
    if start > 0 && b[start - 1] == b'.' {
        start -= 1; // `.5`
    }
    if start > 0 && b[start - 1] == b'-' && (start == 1 || matches!(b[start - 2], b' ' | b'(' | b'\n' | b'$')) {
        start -= 1;
    }
    let end = if b.get(last + 1) == Some(&b'%') { last + 2 } else { last + 1 };
    s.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases() {
        let cases: &[(&str, Option<&str>)] = &[
            ("The final answer is $42$. I hope", Some("$42$")),
            ("Answer: $x = 3$, which is the smallest", Some("$x = 3$, which is the smallest")),
            ("Final answer: 3.5. Done", Some("3.5")),
            ("Answer: 7.", Some("7")),
            ("Final answer: the smallest $k$ is 17.", Some("17")),
            ("**Final Answer**\n\n17\n", Some("17")),
            ("so the answers are $x=1$ and $x=2$.", Some("$x=1$ and $x=2$")),
            ("Answer 1: 3/4\nok", Some("3/4")),
            ("She has 5 left.\n#### 5", Some("5")),
            ("The answer is: (2, 3)", Some("(2, 3)")),
            ("The answers: 3, 5", Some("3, 5")),
            ("I have no answer", None),
            ("answered quickly", None),
            ("final answer", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(answer_phrase(s), *want, "{s}");
        }
    }

    #[test]
    fn spans_and_numbers() {
        assert_eq!(last_math("We get $x=1$, hence $y = 3$."), Some("y = 3"));
        assert_eq!(last_math("Thus \\(z^2\\) works"), Some("z^2"));
        assert_eq!(last_math("so \\[ \\frac{1}{2} \\] done"), Some("\\frac{1}{2}"));
        assert_eq!(last_math("it is $$7$$."), Some("7"));
        assert_eq!(last_math("so $5 \\text{ dollars}$"), Some("5 \\text{ dollars}"));
        assert_eq!(last_math("He paid $5 and then $10 more for the book"), None);
        assert_eq!(last_math("It cost $16 + $4 = $20 in all"), None);
        assert_eq!(last_math("a total of $6$ possible values of $x.$"), Some("6"));
        assert_eq!(last_math("it is $12$; $\\emph{do}$ check"), Some("12"));
        let align = "\\begin{align*} x &= 1 + 1 \\\\ &= \\begin{pmatrix} 2 \\\\ 0 \\end{pmatrix}. \\end{align*}";
        assert_eq!(last_math(align), Some("&= \\begin{pmatrix} 2 \\\\ 0 \\end{pmatrix}."));
        assert_eq!(strip_trailing_asy("so $3$.\n[asy]label(\"$A$\");[/asy]"), "so $3$.");
        assert_eq!(last_math("no math"), None);
        let numbers: &[(&str, Option<&str>)] = &[
            ("so there are 4096 ways.", Some("4096")),
            ("it costs 2,500.50 euros", Some("2,500.50")),
            ("about 3,75 m", Some("3,75")),
            ("a loss of -3.5 points", Some("-3.5")),
            ("x-3", Some("3")),
            ("she ate 3/4 of it", Some("3/4")),
            ("up 12% today", Some("12%")),
            ("only .5 left", Some(".5")),
            ("none", None),
        ];
        for (s, want) in numbers {
            assert_eq!(last_number(s), *want, "{s}");
        }
    }

    #[test]
    fn prose_detection() {
        assert_eq!(prose_words("so there are 4096 ways", 9), 3);
        assert_eq!(prose_words("\\frac{1}{2} and $\\sqrt{x}$", 9), 0);
        assert_eq!(prose_words("$the quick brown$ x", 9), 0);
        assert_eq!(prose_words("5 \\text{ dollars}", 9), 0);
        assert_eq!(short_words("2ab + 3cd^2 + f(x)", 9), 0);
        assert_eq!(short_words("I think it is 15", 9), 3);
        assert!(has_bare_command("5 \\text{ cm}"));
        assert!(!has_bare_command("so $\\frac12$ it is"));
    }

    #[test]
    fn hostile_inputs_are_linear() {
        let dollars = "$ab$".repeat(100_000);
        assert_eq!(last_math(&dollars), Some("ab"));
        let mentions = "$a$".repeat(100_000);
        assert_eq!(last_math(&mentions), None);
        let prose = "$ the words are here $".repeat(20_000);
        assert_eq!(last_math(&prose), None);
        let digits = "1,".repeat(200_000);
        assert!(last_number(&digits).is_some());
        assert!(answer_phrase(&"answer ".repeat(100_000)).is_none());
    }
}
