//! The BCR reward of one response to a pack of N problems.
//!
//! Source: Yang et al., "Batched Contextual Reinforcement: A Task-Scaling
//! Law for Efficient Reasoning", arXiv 2604.02322 (§3, reward): per-instance
//! accuracy plus a format-compliance term, and no length term; the shared
//! token budget alone makes tokens costly. The explicit length penalty
//! `r_len = -|y| / max_len` of their ablation (which collapsed training) is
//! here as a switch, off by default.
//!
//! For golds `g_1..g_N`, parsed answers `a_k` (`crate::parse_answers`) and
//! `|y|` response tokens under a budget `B`:
//!
//! ```text
//! correct_k = a_k present && grade(g_k, a_k)          (crate::grade)
//! accuracy  = (1/N) * sum_k correct_k
//! format    = (1/N) * #{k : answer k present and well formed}
//! reward    = accuracy + w_format * format  [ - lambda * |y| / B ]
//! ```
//!
//! Default `w_format = 0.1` ([`DEFAULT_FORMAT_WEIGHT`]): a perfectly
//! formatted response with no correct answer earns 0.1, less than one
//! correct answer is worth at any N <= 9 (1/N >= 0.111), so formatting can
//! never outrank correctness for the N the paper trains and evaluates
//! (N = 1..5), while a model that stops labelling its answers still loses
//! reward it can recover. The paper does not publish its weight.

use serde::Serialize;

use crate::parse::{parse_answers, Diagnostic, ParseOptions};
use crate::{grade, Error, Result};

/// Default weight of the format term (see the module doc for why).
pub const DEFAULT_FORMAT_WEIGHT: f64 = 0.1;

/// How a response is rewarded.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardConfig {
    /// Weight of the format term, `>= 0`.
    pub format_weight: f64,
    /// `Some(lambda)` turns on the explicit length penalty
    /// `-lambda * response_tokens / budget` (ablation; `None` by default).
    pub length_penalty: Option<f64>,
    /// How answers are parsed.
    pub parse: ParseOptions,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig { format_weight: DEFAULT_FORMAT_WEIGHT, length_penalty: None, parse: ParseOptions::default() }
    }
}

impl RewardConfig {
    /// Checks that the weights are finite and non-negative and the label valid.
    pub fn validate(&self) -> Result<()> {
        if !(self.format_weight.is_finite() && self.format_weight >= 0.0) {
            return Err(Error::Invalid(format!("format weight must be finite and >= 0, got {}", self.format_weight)));
        }
        if let Some(l) = self.length_penalty {
            if !(l.is_finite() && l >= 0.0) {
                return Err(Error::Invalid(format!("length penalty must be finite and >= 0, got {l}")));
            }
        }
        crate::prompt::validate_label(&self.parse.label)
    }
}

/// The reward of one response and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Parsed answer k at index k-1.
    pub answers: Vec<Option<String>>,
    /// Whether answer k equals gold k.
    pub correct: Vec<bool>,
    /// Mean of `correct`.
    pub accuracy: f64,
    /// Share of answers present and well formed.
    pub format: f64,
    /// The length term added to the reward (`<= 0`; 0 when off).
    pub length_penalty: f64,
    /// `accuracy + format_weight * format + length_penalty`.
    pub reward: f64,
    /// What the parser noticed.
    pub diagnostics: Vec<Diagnostic>,
}

impl Score {
    /// Whether all N answers were present and well formed (the format term at its maximum).
    pub fn format_ok(&self) -> bool {
        self.format >= 1.0
    }
}

/// Scores `response` against the golds of its pack (in prompt order).
///
/// `response_tokens` and `budget` are used only by the length penalty; with
/// it on, `budget` must be positive.
///
/// ```
/// use bcr_core::{score_response, RewardConfig};
/// let s = score_response("Answer 1: \\boxed{4}\nAnswer 2: \\boxed{7}", &["4", "6"], 20, 100,
///                        &RewardConfig::default()).unwrap();
/// assert_eq!(s.correct, vec![true, false]);
/// assert!((s.reward - (0.5 + 0.1 * 1.0)).abs() < 1e-12);
/// ```
pub fn score_response(
    response: &str,
    golds: &[&str],
    response_tokens: usize,
    budget: usize,
    config: &RewardConfig,
) -> Result<Score> {
    config.validate()?;
    let n = golds.len();
    if n == 0 {
        return Err(Error::Invalid("cannot score a response to a pack with no problems".into()));
    }
    let length_penalty = match config.length_penalty {
        None => 0.0,
        Some(_) if budget == 0 => {
            return Err(Error::Invalid("the length penalty needs a token budget > 0".into()));
        }
        Some(lambda) => -lambda * response_tokens as f64 / budget as f64,
    };
    let parsed = parse_answers(response, n, &config.parse);
    let correct: Vec<bool> = golds
        .iter()
        .zip(&parsed.answers)
        .map(|(gold, answer)| answer.as_deref().is_some_and(|a| grade(gold, a)))
        .collect();
    let accuracy = correct.iter().filter(|&&c| c).count() as f64 / n as f64;
    let format = parsed.format_score();
    Ok(Score {
        reward: accuracy + config.format_weight * format + length_penalty,
        answers: parsed.answers,
        correct,
        accuracy,
        format,
        length_penalty,
        diagnostics: parsed.diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    #[test]
    fn hand_computed_rewards() {
        let off = RewardConfig::default();
        let len = RewardConfig { length_penalty: Some(0.5), ..RewardConfig::default() };
        let heavy = RewardConfig { format_weight: 1.0, ..RewardConfig::default() };
        // (response, golds, tokens, budget, config, correct, accuracy, format, penalty, reward)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<&str>, usize, usize, &RewardConfig, Vec<bool>, f64, f64, f64, f64)> = vec![
            // 1 right, 1 wrong, 1 missing: 1/3 + 0.1 * 2/3 = 0.4
            (
                "Answer 1: \\boxed{3}\nAnswer 2: \\boxed{5}",
                vec!["3", "4", "9"],
                0,
                0,
                &off,
                vec![true, false, false],
                1.0 / 3.0,
                2.0 / 3.0,
                0.0,
                0.4,
            ),
            // all right: 1 + 0.1
            (
                "Answer 1: \\boxed{1/2}\nAnswer 2: \\boxed{-7}",
                vec!["\\frac{1}{2}", "-7"],
                0,
                0,
                &off,
                vec![true, true],
                1.0,
                1.0,
                0.0,
                1.1,
            ),
            // length penalty: 1000 of 4000 tokens at lambda 0.5 -> -0.125; 0.5 + 0.1 - 0.125 = 0.475
            (
                "Answer 1: \\boxed{2}\nAnswer 2: \\boxed{0}",
                vec!["2", "1"],
                1000,
                4000,
                &len,
                vec![true, false],
                0.5,
                1.0,
                -0.125,
                0.475,
            ),
            // over budget (cut response): the ratio may exceed 1; truncated box is not an answer
            (
                "Answer 1: \\boxed{2}\nAnswer 2: \\boxed{1",
                vec!["2", "1"],
                5000,
                4000,
                &len,
                vec![true, false],
                0.5,
                0.5,
                -0.625,
                -0.075,
            ),
            // N = 1 standard format, weight 1: 1 + 1 * 1 = 2
            ("so \\boxed{42}", vec!["42"], 0, 0, &heavy, vec![true], 1.0, 1.0, 0.0, 2.0),
            // nothing parsable scores 0
            ("I give up.", vec!["1", "2"], 10, 0, &off, vec![false, false], 0.0, 0.0, 0.0, 0.0),
        ];
        for (resp, golds, tokens, budget, cfg, correct, acc, fmt, pen, reward) in cases {
            let s = score_response(resp, &golds, tokens, budget, cfg).unwrap();
            assert_eq!(s.correct, correct, "{resp}");
            assert!((s.accuracy - acc).abs() < EPS, "{resp}: accuracy {}", s.accuracy);
            assert!((s.format - fmt).abs() < EPS, "{resp}: format {}", s.format);
            assert!((s.length_penalty - pen).abs() < EPS, "{resp}: penalty {}", s.length_penalty);
            assert!((s.reward - reward).abs() < EPS, "{resp}: reward {}", s.reward);
        }
    }

    #[test]
    fn invalid_configurations_are_errors() {
        let bad = [
            RewardConfig { format_weight: -0.1, ..RewardConfig::default() },
            RewardConfig { format_weight: f64::NAN, ..RewardConfig::default() },
            RewardConfig { length_penalty: Some(f64::INFINITY), ..RewardConfig::default() },
            RewardConfig {
                parse: ParseOptions { label: "A:".into(), ..ParseOptions::default() },
                ..RewardConfig::default()
            },
        ];
        for cfg in bad {
            assert!(score_response("x", &["1"], 1, 10, &cfg).is_err(), "{cfg:?}");
        }
        let len = RewardConfig { length_penalty: Some(1.0), ..RewardConfig::default() };
        let err = score_response("x", &["1"], 1, 0, &len).unwrap_err().to_string();
        assert!(err.contains("budget > 0"), "{err}");
        assert!(score_response("x", &[], 1, 10, &RewardConfig::default()).is_err());
    }
}
