//! Reading the N labelled answers out of one response (Yang et al., "Batched
//! Contextual Reinforcement", arXiv 2604.02322, §3: "a stack-based parser
//! separates the N answers; a missing or unparsable answer scores 0").
//!
//! The prompt asks the model to end the solution of problem k with
//! `Answer k: \boxed{...}` (`crate::PromptTemplate`). [`parse_answers`]:
//!
//! 1. If `extract.after_think` is set (the default) and the response contains
//!    `</think>`, everything before the last `</think>` is ignored: drafts in
//!    the reasoning do not count, the final write-up does.
//! 2. Every `\boxed{...}` / `\fbox{...}` is extracted with a brace stack
//!    (the verifier's box scanner, shared with `crate::extract_answer`):
//!    braces nest (`\boxed{\frac{1}{2}}`), escaped braces `\{ \}` do not
//!    count, whitespace may separate the command from its `{`, and a box
//!    still open at the end of the text is *truncated* (the token budget cut
//!    it) and never used as an answer. Boxes inside a box are part of it.
//! 3. A box is *labelled* k when the text right before it is the label, the
//!    number k and only "glue" (whitespace, `:`, `*`, `_`, `$`, `\(`, `\[`):
//!    `Answer 1: \boxed{3}`, `**Answer 1:** $\boxed{3}$`, `Answer 1 : \boxed {3}`.
//!    The label matches without regard to ASCII case and must start a word.
//! 4. Duplicates: the **last** box labelled k wins (the model's final word,
//!    e.g. after a correction), with a [`Diagnostic::Duplicate`].
//! 5. N = 1: with no `Answer 1:` label, the last unlabelled box is the
//!    answer (the standard single-problem format) and is well formed; boxes
//!    right before it with only list glue between (`\boxed{3}, \boxed{5}`)
//!    join it (`3, 5`). With no box at all, the free-form rules of
//!    [`ExtractOptions`] (answer phrase, last math span, last number; then a
//!    bare answer that is not prose) give the answer, which is *not* well
//!    formed ([`Diagnostic::FreeForm`]).
//! 6. N > 1: unlabelled boxes are reported, and used by position only with
//!    `positional_fallback`, when their count equals the number of missing
//!    answers (then in text order); such answers are not well formed.
//!    Free-form rules never apply to N > 1: without labels there is no
//!    telling which problem a number answers.
//! 7. `require_label` (the BCR training format): only labelled boxes count;
//!    5 and 6 are off, so an unlabelled or free-form answer scores 0.
//!
//! Output shapes: `answers: Vec<Option<String>>` (length N, trimmed box
//! contents), `well_formed: Vec<bool>` (length N), `diagnostics`.

use serde::Serialize;

use crate::grade::{after_think, find_boxes, trailing_group, unboxed_answer, BoxHit};
use crate::prompt::DEFAULT_LABEL;
use crate::ExtractOptions;

/// How to read a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// The answer label of the prompt (`Answer`).
    pub label: String,
    /// Assign unlabelled boxes to missing answers by position (N > 1).
    pub positional_fallback: bool,
    /// Only `label k: \boxed{...}` counts (the BCR training format): no
    /// unlabelled box for N = 1, no free-form answer, no positional fallback.
    pub require_label: bool,
    /// Where else an answer may be found (`after_think`, and the free-form
    /// rules used for N = 1 when no box is found).
    pub extract: ExtractOptions,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            label: DEFAULT_LABEL.into(),
            positional_fallback: false,
            require_label: false,
            extract: ExtractOptions::default(),
        }
    }
}

impl ParseOptions {
    /// The strict BCR training format: labelled boxes only.
    pub fn labelled() -> Self {
        ParseOptions { require_label: true, ..ParseOptions::default() }
    }
}

/// Something about a response's answers worth knowing (problem numbers are 1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    /// No answer for problem `k`.
    Missing {
        /// Problem number.
        k: usize,
    },
    /// `count` boxes were labelled `k`; the last one was used.
    Duplicate {
        /// Problem number.
        k: usize,
        /// How many.
        count: usize,
    },
    /// Answer `k` first appears after answer `after` (> k).
    OutOfOrder {
        /// Problem number.
        k: usize,
        /// The larger number seen before it.
        after: usize,
    },
    /// The `index`-th box (1-based, among all boxes) carries no label.
    Unlabelled {
        /// Ordinal of the box in the (post-`</think>`) text.
        index: usize,
    },
    /// Answer `k` was taken by position from an unlabelled box.
    Positional {
        /// Problem number.
        k: usize,
    },
    /// A box was opened but never closed (labelled `k` if known).
    Truncated {
        /// Problem number, when the box had a label in range.
        k: Option<usize>,
    },
    /// A box was labelled with a number outside `1..=N`.
    LabelOutOfRange {
        /// The number found.
        k: usize,
    },
    /// Answer `k` was read from free-form text (no box).
    FreeForm {
        /// Problem number.
        k: usize,
    },
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Diagnostic::Missing { k } => write!(f, "answer {k} missing"),
            Diagnostic::Duplicate { k, count } => {
                write!(f, "answer {k} given {count} times (last one used)")
            }
            Diagnostic::OutOfOrder { k, after } => write!(f, "answer {k} after answer {after}"),
            Diagnostic::Unlabelled { index } => write!(f, "box #{index} has no label"),
            Diagnostic::Positional { k } => write!(f, "answer {k} taken by position"),
            Diagnostic::Truncated { k: Some(k) } => {
                write!(f, "answer {k} cut off (box never closed)")
            }
            Diagnostic::Truncated { k: None } => write!(f, "an unlabelled box cut off"),
            Diagnostic::LabelOutOfRange { k } => write!(f, "label {k} out of range"),
            Diagnostic::FreeForm { k } => write!(f, "answer {k} read from free-form text (no box)"),
        }
    }
}

/// The answers of one response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// Answer k at index k-1: the trimmed content of its box.
    pub answers: Vec<Option<String>>,
    /// Whether answer k came from a closed, labelled box (N = 1: any closed box).
    pub well_formed: Vec<bool>,
    /// What was odd, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Share of the N answers present and well formed, in `[0, 1]`
    /// (0 when N = 0).
    pub fn format_score(&self) -> f64 {
        if self.well_formed.is_empty() {
            return 0.0;
        }
        self.well_formed.iter().filter(|&&w| w).count() as f64 / self.well_formed.len() as f64
    }
}

/// Reads the answers to problems 1..=n from `response` (see the module doc).
pub fn parse_answers(response: &str, n: usize, opts: &ParseOptions) -> Parsed {
    let text = after_think(response, opts.extract.after_think);
    let mut out = Parsed { answers: vec![None; n], well_formed: vec![false; n], diagnostics: Vec::new() };
    let mut counts = vec![0usize; n];
    let mut truncated = vec![false; n];
    let mut unlabelled: Vec<(usize, BoxHit<'_>)> = Vec::new();
    let mut max_seen = 0;
    let hits = find_boxes(text);
    // A response with any box (even a cut one) is read by its boxes only.
    let free_form = hits.is_empty();
    for (i, hit) in hits.into_iter().enumerate() {
        let label = label_before(text, hit.start, &opts.label);
        let k = match label {
            Some(k) if (1..=n).contains(&k) => Some(k),
            Some(k) => {
                out.diagnostics.push(Diagnostic::LabelOutOfRange { k });
                if !hit.closed {
                    out.diagnostics.push(Diagnostic::Truncated { k: None });
                }
                continue;
            }
            None => None,
        };
        if !hit.closed {
            if let Some(k) = k {
                truncated[k - 1] = true;
            }
            out.diagnostics.push(Diagnostic::Truncated { k });
            continue;
        }
        let Some(k) = k else {
            unlabelled.push((i + 1, hit));
            continue;
        };
        if counts[k - 1] == 0 && k < max_seen {
            out.diagnostics.push(Diagnostic::OutOfOrder { k, after: max_seen });
        }
        max_seen = max_seen.max(k);
        counts[k - 1] += 1;
        out.answers[k - 1] = Some(hit.content.trim().to_string());
        out.well_formed[k - 1] = true;
    }
    for (i, &count) in counts.iter().enumerate() {
        if count > 1 {
            out.diagnostics.push(Diagnostic::Duplicate { k: i + 1, count });
        }
    }
    if !opts.require_label {
        place_unlabelled(&mut out, text, &unlabelled, opts, free_form);
    } else {
        out.diagnostics.extend(unlabelled.iter().map(|&(index, _)| Diagnostic::Unlabelled { index }));
    }
    for k in 1..=n {
        if out.answers[k - 1].is_none() && !truncated[k - 1] {
            out.diagnostics.push(Diagnostic::Missing { k });
        }
    }
    out
}

/// N = 1 takes the trailing group of unlabelled boxes, else a free-form
/// answer; N > 1 may fill missing answers by position; otherwise each
/// unlabelled box is reported.
fn place_unlabelled(
    out: &mut Parsed,
    text: &str,
    unlabelled: &[(usize, BoxHit<'_>)],
    opts: &ParseOptions,
    free_form: bool,
) {
    let n = out.answers.len();
    if n == 1 && out.answers[0].is_none() {
        let hits: Vec<BoxHit<'_>> = unlabelled.iter().map(|(_, h)| *h).collect();
        let group = trailing_group(text, &hits);
        if !group.is_empty() {
            let joined: Vec<&str> = group.iter().map(|s| s.trim()).collect();
            out.answers[0] = Some(joined.join(", "));
            out.well_formed[0] = true;
            for &(index, _) in &unlabelled[..unlabelled.len() - group.len()] {
                out.diagnostics.push(Diagnostic::Unlabelled { index });
            }
            return;
        }
        if free_form {
            if let Some(answer) = unboxed_answer(text, &opts.extract) {
                out.answers[0] = Some(answer.to_string());
                out.diagnostics.push(Diagnostic::FreeForm { k: 1 });
                return;
            }
        }
    }
    let missing: Vec<usize> = (1..=n).filter(|k| out.answers[k - 1].is_none()).collect();
    if opts.positional_fallback && !unlabelled.is_empty() && unlabelled.len() == missing.len() {
        for (&k, (_, hit)) in missing.iter().zip(unlabelled) {
            out.answers[k - 1] = Some(hit.content.trim().to_string());
            out.diagnostics.push(Diagnostic::Positional { k });
        }
        return;
    }
    for &(index, _) in unlabelled {
        out.diagnostics.push(Diagnostic::Unlabelled { index });
    }
}

/// The byte ranges of the N sections of `response` (problems 1..=n), for
/// handing each problem's worked solution to its own reader (`bcr serve`).
///
/// Every closed box with a label (in range or not) is a boundary, in text
/// order (after the last `</think>` when `opts.extract.after_think` is on:
/// the reasoning before it discusses every problem and belongs to none).
/// Section k runs from the end of the labelled box before it (or the start
/// of the text) to the end of the last box labelled k, and is `None` unless
/// (a) answer k has a closed labelled box, (b) the boxes labelled k are
/// consecutive among the labelled boxes, and (c) the labelled box right
/// before them is labelled k - 1 (none for k = 1). So a section never holds
/// another problem's labelled answer, nor the work of a problem whose own
/// answer is missing. The answer at the end of a section is the one
/// [`parse_answers`] reads (the last box labelled k).
///
/// ```
/// use bcr_core::{split_sections, ParseOptions};
/// let r = "Work 1. Answer 1: \\boxed{3}\nWork 2. Answer 2: \\boxed{5} bye";
/// let s = split_sections(r, 2, &ParseOptions::default());
/// assert_eq!(&r[s[0].clone().unwrap()], "Work 1. Answer 1: \\boxed{3}");
/// assert_eq!(&r[s[1].clone().unwrap()], "\nWork 2. Answer 2: \\boxed{5}");
/// ```
pub fn split_sections(response: &str, n: usize, opts: &ParseOptions) -> Vec<Option<std::ops::Range<usize>>> {
    let text = after_think(response, opts.extract.after_think);
    let offset = response.len() - text.len();
    // (label, end) of every closed labelled box, in text order.
    let labelled: Vec<(usize, usize)> = find_boxes(text)
        .into_iter()
        .filter(|h| h.closed)
        .filter_map(|h| label_before(text, h.start, &opts.label).map(|k| (k, h.end)))
        .collect();
    (1..=n)
        .map(|k| {
            let first = labelled.iter().position(|&(l, _)| l == k)?;
            let run = labelled[first..].iter().take_while(|&&(l, _)| l == k).count();
            if labelled[first + run..].iter().any(|&(l, _)| l == k) {
                return None; // (b): another label between two boxes labelled k
            }
            let start = match first {
                0 if k == 1 => 0,
                0 => return None,
                i if labelled[i - 1].0 == k - 1 => labelled[i - 1].1,
                _ => return None, // (c)
            };
            Some(offset + start..offset + labelled[first + run - 1].1)
        })
        .collect()
}

/// The k of `label k` + glue ending right at byte `start`, if any.
fn label_before(text: &str, start: usize, label: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = start;
    loop {
        if i >= 2 && (&b[i - 2..i] == b"\\(" || &b[i - 2..i] == b"\\[") {
            i -= 2;
        } else if i >= 1 && matches!(b[i - 1], b' ' | b'\t' | b'\n' | b'\r' | b'*' | b'_' | b'$' | b':') {
            i -= 1;
        } else {
            break;
        }
    }
    let digits_end = i;
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == digits_end || digits_end - i > 9 {
        return None;
    }
    let k: usize = text[i..digits_end].parse().ok()?;
    while i > 0 && matches!(b[i - 1], b' ' | b'\t' | b'#') {
        i -= 1;
    }
    let label_start = i.checked_sub(label.len())?;
    if !text.get(label_start..i)?.eq_ignore_ascii_case(label) {
        return None;
    }
    let word_start = text[..label_start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
    word_start.then_some(k)
}

#[cfg(test)]
mod tests;
