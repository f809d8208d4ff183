//! The final answer inside a whole model response, and the options that say
//! where to look ([`ExtractOptions`], shared by [`extract_answer_with`],
//! `crate::parse_answers` and the Python bindings).
//!
//! In order, the first rule that finds something wins:
//! 0. with `after_think`, only the text after the last `</think>` is read;
//! 1. the last `\boxed{...}` / `\fbox{...}`, joined with the boxes right
//!    before it when only list glue separates them (`\boxed{3}\boxed{5}` is
//!    the answer `3, 5`);
//! 2. `answer_phrase`: the text after the last "final answer", "answer
//!    is", "answer:", "answer k:" or `####` (see `freeform`);
//! 3. `last_math`, when the response is prose: the last `$...$`, `$$...$$`,
//!    `\(...\)` or `\[...\]` span that holds no prose;
//! 4. `last_number`, when the response is prose without LaTeX commands: the
//!    last number written;
//! 5. otherwise the whole text, as a bare answer.
//!
//! Every rule is a linear scan (rule 3 at most `MAX_SPAN_TRIES` of them).

use std::borrow::Cow;

use super::boxes::{find_boxes, trailing_group};
use super::freeform::{
    answer_phrase, has_bare_command, last_math, last_number, prose_words, short_words, strip_trailing_asy,
};

/// Where a response's answer may be found. The default enables every rule
/// (the order is in the module doc); [`ExtractOptions::boxed_only`] keeps
/// only boxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Ignore everything before the last `</think>` when there is one.
    pub after_think: bool,
    /// Rule 2: the text after "final answer", "answer is", "answer:", `####`.
    pub answer_phrase: bool,
    /// Rule 3: the last math span of a prose response.
    pub last_math: bool,
    /// Rule 4: the last number of a prose response.
    pub last_number: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions { after_think: true, answer_phrase: true, last_math: true, last_number: true }
    }
}

impl ExtractOptions {
    /// Boxes only: no free-form fallback (rules 2-4 off).
    pub fn boxed_only() -> Self {
        ExtractOptions { answer_phrase: false, last_math: false, last_number: false, ..ExtractOptions::default() }
    }

    /// Whether any free-form fallback (rules 2-4) is on.
    pub fn free_form(&self) -> bool {
        self.answer_phrase || self.last_math || self.last_number
    }
}

/// The answer part of `response`, with the default [`ExtractOptions`].
///
/// ```
/// assert_eq!(bcr_core::extract_answer("so \\boxed{3}, \\boxed{5}."), "3, 5");
/// assert_eq!(bcr_core::extract_answer("Final answer: the smallest $k$ is 17."), "17");
/// assert_eq!(bcr_core::extract_answer("so there are 4096 ways"), "4096");
/// ```
pub fn extract_answer(response: &str) -> Cow<'_, str> {
    extract_answer_with(response, &ExtractOptions::default())
}

/// The answer part of `response` under `opts` (rules in the module doc).
pub fn extract_answer_with<'a>(response: &'a str, opts: &ExtractOptions) -> Cow<'a, str> {
    let text = after_think(response, opts.after_think);
    if let Some(b) = boxed(text) {
        return b;
    }
    if let Some(a) = free_form(text, opts) {
        return Cow::Borrowed(a);
    }
    Cow::Borrowed(text.trim())
}

/// The text after the last `</think>` (all of it without one, or when off).
pub(crate) fn after_think(response: &str, on: bool) -> &str {
    match response.rfind("</think>") {
        Some(pos) if on => &response[pos + "</think>".len()..],
        _ => response,
    }
}

/// A gold answer: the trailing boxes when it has any, else all of it.
pub(crate) fn gold_answer(gold: &str) -> Cow<'_, str> {
    boxed(gold).unwrap_or(Cow::Borrowed(gold.trim()))
}

/// Rule 1: the trailing group of boxes, joined by ", ".
fn boxed(text: &str) -> Option<Cow<'_, str>> {
    let hits = find_boxes(text);
    let group = trailing_group(text, &hits);
    match group.as_slice() {
        [] => None,
        [one] => Some(Cow::Borrowed(one.trim())),
        many => Some(Cow::Owned(many.iter().map(|s| s.trim()).collect::<Vec<_>>().join(", "))),
    }
}

/// Rules 2-4 on a response without boxes; `None` when none applies.
pub(crate) fn free_form<'a>(text: &'a str, opts: &ExtractOptions) -> Option<&'a str> {
    let text = strip_trailing_asy(text);
    if opts.answer_phrase {
        if let Some(line) = answer_phrase(text) {
            return Some(refine_phrase(line));
        }
    }
    // A sentence around a formula ("So $P = 1/2$.") has a word; a sentence
    // around a number needs two ("25 pct" and "12 students" are answers).
    if opts.last_math && short_words(text, 1) > 0 {
        if let Some(m) = last_math(text) {
            return Some(m);
        }
    }
    if opts.last_number && short_words(text, 2) >= 2 && !has_bare_command(text) {
        if let Some(n) = last_number(text) {
            return Some(n);
        }
    }
    None
}

/// The answer in a phrase's line: all of it when it holds no prose
/// (`$x=1$ or $x=2$`), else its first math span, else its last number.
fn refine_phrase(line: &str) -> &str {
    if prose_words(line, 1) == 0 {
        return strip_delimiters(line);
    }
    first_math(line).or_else(|| last_number(line).filter(|_| !has_bare_command(line))).unwrap_or(line)
}

/// `$42$` -> `42`, `\\(x\\)` -> `x`: one span's delimiters around all of `s`.
fn strip_delimiters(s: &str) -> &str {
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
            if !inner.contains('$') && !inner.contains("\\(") && !inner.contains("\\[") {
                return inner.trim();
            }
        }
    }
    s
}

fn first_math(s: &str) -> Option<&str> {
    let start = s.find('$')? + 1;
    let start = if s[start..].starts_with('$') { start + 1 } else { start };
    let len = s[start..].find('$')?;
    Some(s[start..start + len].trim())
}

/// The free-form answer of a response with no usable box, for the
/// multi-answer parser (N = 1): rules 2-4, then the whole text only when it
/// is not prose (a bare `42` or `x = 3`, not "I ran out of time").
pub(crate) fn unboxed_answer<'a>(text: &'a str, opts: &ExtractOptions) -> Option<&'a str> {
    if !opts.free_form() {
        return None;
    }
    let found = free_form(text, opts).or_else(|| (prose_words(text, 1) == 0).then(|| text.trim()));
    found.filter(|a| !a.is_empty())
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
            ("$\\boxed{3}$ and $\\boxed{5}$", "3, 5"),
            ("\\boxed{unbalanced", "\\boxed{unbalanced"),
            ("The final answer is $42$. I hope", "42"),
            ("Answer: 7.", "7"),
            ("Final answer: the smallest $k$ is 17.", "17"),
            ("We get $x=1$, hence the result is $y = 3$.", "y = 3"),
            ("Thus \\(z^2\\) works", "z^2"),
            ("The area is \\[ 12\\pi \\]", "12\\pi"),
            ("so there are 4096 ways.", "4096"),
            ("<think>maybe \\boxed{3}</think>It is 4 in total.", "4"),
            ("3.5", "3.5"),
            ("5 \\text{ cents}", "5 \\text{ cents}"),
            ("\\frac{1}{2} dollars", "\\frac{1}{2} dollars"),
            ("\\dfrac{32}{9}$,$\\dfrac{1}{2}", "\\dfrac{32}{9}$,$\\dfrac{1}{2}"),
            ("$\\frac{4}{9}$", "$\\frac{4}{9}$"),
            ("no solution", "no solution"),
            ("", ""),
            ("ÿ\\boxed{é}", "é"),
        ];
        for (src, want) in cases {
            assert_eq!(extract_answer(src), want, "{src}");
        }
    }

    #[test]
    fn each_rule_can_be_switched_off() {
        let text = "Final answer: 12. Also $7$ and then 9 more words here";
        let all = ExtractOptions::default();
        assert_eq!(extract_answer_with(text, &all), "12");
        let no_phrase = ExtractOptions { answer_phrase: false, ..all };
        assert_eq!(extract_answer_with(text, &no_phrase), "7");
        let no_math = ExtractOptions { last_math: false, ..no_phrase };
        assert_eq!(extract_answer_with(text, &no_math), "9");
        assert_eq!(extract_answer_with(text, &ExtractOptions::boxed_only()), text);
        let think = "<think>\\boxed{1}</think>\\boxed{2}";
        assert_eq!(extract_answer_with(think, &ExtractOptions { after_think: false, ..all }), "2");
        assert_eq!(extract_answer_with("<think>\\boxed{1}</think>", &all), "");
    }

    #[test]
    fn huge_and_unbalanced_inputs_are_linear() {
        let open = "{".repeat(1 << 20);
        assert_eq!(extract_answer(&format!("\\boxed{open}")).len(), (1 << 20) + 6);
        let many = "\\boxed{1}".repeat(100_000);
        assert_eq!(extract_answer(&many).len(), 3 * super::super::boxes::MAX_JOINED - 2);
        let words = "the answer is not here ".repeat(50_000);
        assert_eq!(extract_answer(&words), "not here");
        let prose = "$ the words $".repeat(50_000);
        assert_eq!(extract_answer(&prose), prose.trim());
    }
}
