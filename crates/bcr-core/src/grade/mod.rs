//! The math answer verifier: is a predicted answer equivalent to the gold one?
//!
//! ```text
//! response --extract--> answer text --lexer--> tokens --parser--> Node --equiv--> bool
//! ```
//! * [`extract`]: the last `\boxed{}` of a whole response, else documented fallbacks.
//! * `lexer`: layout commands vanish, thousands separators are absorbed only
//!   in groups of exactly three digits (`7,425,000`, `10,\!080`, `1 000`;
//!   `1,2` stays a list).
//! * `parser`: recursive descent with a depth limit into one tree for scalars
//!   and structures (tuples, intervals, sets, unions, matrices, relations).
//! * `expr` (exact big-rational arithmetic) and `numeric` (complex f64 at
//!   seeded sample points, relative tolerance 1e-9) decide scalars;
//!   `equiv` compares structures.
//!
//! Policies (details and the reasoning in `docs/verifier.md`): a decimal is
//! exact (`0.5 = 1/2`, `0.33 != 0.333`) except against a non-terminating value,
//! which it may approximate to its last written digit with at least three
//! significant digits (`1.414` for `\sqrt2`); `50\%` equals `50` and `0.5`;
//! `30^\circ` equals `30` and `\frac{\pi}{6}`; `(1,2)` is a tuple or an open
//! interval but never the set `\{1,2\}`; comma lists and sets are order-free,
//! tuples ordered; `x = 5` equals `5`; `a \pm b` is the set of both values;
//! `e` and `i` are the constants; a base subscript (`204_5`) is dropped.
//!
//! Every stage is bounded by the explicit limits in `limits` (answer length,
//! tokens, digits, nesting depth, exact bit size, an operation budget), so no
//! input panics, hangs or exhausts memory; there are no timers or threads.

mod boxes;
mod equiv;
mod expr;
mod extract;
mod freeform;
mod lexer;
mod limits;
mod matrix;
mod numeric;
mod parser;
mod primary;
mod relation;

pub(crate) use boxes::{find_boxes, trailing_group, BoxHit};
pub(crate) use extract::{after_think, unboxed_answer};
pub use extract::{extract_answer, extract_answer_with, ExtractOptions};

use expr::Node;
use limits::{Budget, MAX_ANSWER_BYTES};

/// How a verdict was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The normalised texts are identical.
    SameText,
    /// The parsed answers are mathematically equivalent.
    Equivalent,
    /// Both parsed and they differ.
    Different,
    /// The gold answer is prose; the texts were compared (case and space normalised).
    TextCompared,
    /// The gold answer did not parse (or exceeded a limit) and the texts differ.
    GoldUnparsed,
    /// The prediction did not parse (or exceeded a limit) and the texts differ.
    PredUnparsed,
    /// Nothing could be extracted from the prediction.
    Empty,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the prediction equals the gold answer.
    pub equivalent: bool,
    /// Why.
    pub reason: Reason,
    /// Arithmetic operations the comparison spent (at most [`OP_BUDGET`]:
    /// the cost limit, counted, not timed).
    pub ops: u32,
}

/// Arithmetic operations one comparison may spend (exact and numeric
/// together); past it, the remaining checks answer "not equivalent".
pub const OP_BUDGET: u32 = limits::OP_BUDGET;

/// Whether `pred` (a bare answer or a whole response: see [`extract_answer`])
/// is mathematically equivalent to `gold`.
///
/// ```
/// assert!(bcr_core::grade("\\frac{1}{2}", "The answer is $\\boxed{0.5}$."));
/// assert!(bcr_core::grade("(-1, 3]", "-1 < x \\le 3"));
/// assert!(!bcr_core::grade("(1,2)", "\\{1,2\\}"));
/// ```
pub fn grade(gold: &str, pred: &str) -> bool {
    verify(gold, pred).equivalent
}

/// [`grade`] with the reason for the verdict.
pub fn verify(gold: &str, pred: &str) -> Verdict {
    verify_with(gold, pred, &ExtractOptions::default())
}

/// [`verify`], with the prediction's answer found under `opts`
/// ([`extract_answer_with`]). The gold answer is bare, or boxed.
pub fn verify_with(gold: &str, pred: &str, opts: &ExtractOptions) -> Verdict {
    let gold = extract::gold_answer(gold);
    let pred = extract_answer_with(pred, opts);
    verify_answer(&gold, &pred)
}

/// The verdict on two answers already extracted.
pub(crate) fn verify_answer(gold: &str, pred: &str) -> Verdict {
    let verdict = |equivalent, reason| Verdict { equivalent, reason, ops: 0 };
    if pred.is_empty() || gold.is_empty() {
        return verdict(false, Reason::Empty);
    }
    if canonical(gold) == canonical(pred) {
        return verdict(true, Reason::SameText);
    }
    if is_prose(gold) {
        return verdict(text_key(gold) == text_key(pred), Reason::TextCompared);
    }
    let Some(g) = parse(gold) else {
        return verdict(false, Reason::GoldUnparsed);
    };
    if let Node::Text(_) = g {
        return verdict(text_key(gold) == text_key(pred), Reason::TextCompared);
    }
    let mut budget = Budget::new();
    let (equivalent, reason) = compare(&g, pred, &mut budget);
    Verdict { equivalent, reason, ops: budget.spent() }
}

/// The parsed gold against the prediction text, from `budget`.
fn compare(g: &Node, pred: &str, budget: &mut Budget) -> (bool, Reason) {
    let decimal_comma = || g.is_scalar() && has_decimal_comma(pred);
    let Some(p) = parse(pred) else {
        // `3,75 €` may fail as a list; read as a decimal it is a number.
        if decimal_comma() && parse_with(pred, true).is_some_and(|p| equiv::equivalent(g, &p, budget)) {
            return (true, Reason::Equivalent);
        }
        // `(1-2) + \dots + (99-100) = -50`: a derivation the grammar does not
        // cover, ending in a value that it does.
        if let Some(p) = last_side(pred).and_then(parse) {
            if equiv::equivalent(g, &p, budget) {
                return (true, Reason::Equivalent);
            }
        }
        return (false, Reason::PredUnparsed);
    };
    if equiv::equivalent(g, &p, budget) {
        return (true, Reason::Equivalent);
    }
    // A single-number gold and a prediction with a comma between digits that
    // is no thousands separator: the decimal-comma reading (`3,75` = 3.75).
    if decimal_comma() && parse_with(pred, true).is_some_and(|p| equiv::equivalent(g, &p, budget)) {
        return (true, Reason::Equivalent);
    }
    (false, Reason::Different)
}

fn parse(answer: &str) -> Option<Node> {
    parse_with(answer, false)
}

fn parse_with(answer: &str, decimal_comma: bool) -> Option<Node> {
    if answer.len() > MAX_ANSWER_BYTES {
        return None;
    }
    parser::parse(lexer::lex_with(answer, decimal_comma).ok()?).ok()
}

/// The text after the last `=` outside braces, brackets and environments.
fn last_side(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut depth = 0i64;
    let mut cut = None;
    for (k, &c) in b.iter().enumerate() {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            b'=' if depth == 0 && !matches!(b.get(k.wrapping_sub(1)), Some(b'<' | b'>' | b'!')) => cut = Some(k + 1),
            _ => {}
        }
    }
    let side = s.get(cut?..)?.trim();
    (!side.is_empty()).then_some(side)
}

/// A comma between two digits (a candidate decimal comma).
fn has_decimal_comma(s: &str) -> bool {
    s.as_bytes().windows(3).any(|w| w[0].is_ascii_digit() && w[1] == b',' && w[2].is_ascii_digit())
}

/// A gold made only of words, one of them at least three letters long
/// (`east`, `no solution`): compared as text, not as a product of letters.
fn is_prose(gold: &str) -> bool {
    let mut longest = 0;
    let mut run = 0;
    for c in gold.chars() {
        if c.is_ascii_alphabetic() {
            run += 1;
            longest = longest.max(run);
        } else if c == ' ' || c == '.' {
            run = 0;
        } else {
            return false;
        }
    }
    longest >= 3 && parser::is_plain_words(gold)
}

/// Light normalisation for the identical-text shortcut: spacing, `$`,
/// `\left`/`\right`, `\dfrac`/`\tfrac`, a final period.
fn canonical(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let skip = ["\\left", "\\right", "\\!", "\\,", "\\;", "\\displaystyle", "$"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .map(|p| p.len());
        if let Some(n) = skip {
            rest = &rest[n..];
            continue;
        }
        if rest.starts_with("\\dfrac") || rest.starts_with("\\tfrac") {
            out.push_str("\\frac");
            rest = &rest[6..];
            continue;
        }
        if !c.is_whitespace() {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    let trimmed = out.trim_end_matches('.').len();
    out.truncate(trimmed);
    out
}

/// Prose key: lower-case alphanumeric words, text commands dropped.
fn text_key(s: &str) -> String {
    let mut cleaned = s.to_lowercase();
    for cmd in ["\\textbf", "\\text", "\\mathrm", "\\mbox"] {
        cleaned = cleaned.replace(cmd, " ");
    }
    let words: Vec<&str> = cleaned.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.join(" ")
}

#[cfg(test)]
mod tests;
