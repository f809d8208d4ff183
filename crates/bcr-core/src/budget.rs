//! The token budget of one response to a pack of N problems.
//!
//! BCR (arXiv 2604.02322, §3) gives the *whole* response one hard budget
//! (`max_new_tokens` = 5,120 for N = 3 in the 1.5B run): wasting tokens on
//! problem 1 leaves fewer for problem 3. That is [`BudgetMode::Total`]. The
//! alternative, [`BudgetMode::PerProblem`], scales the budget with N
//! (`budget x N`), so the budget never forces tokens per problem down: the
//! demo's evaluation uses it to measure what a model *chooses* to spend.
//!
//! One type for every command line and config: `total` or `per-problem`.
//! The spellings of earlier releases (`fixed-total`, `per-problem-x-n` in
//! training configs) are still read, with a deprecation warning.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// How a budget becomes the `max_new_tokens` of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BudgetMode {
    /// The whole response gets `budget` tokens whatever N is (the paper).
    #[default]
    Total,
    /// The response gets `budget x N` tokens (`budget` is per problem).
    PerProblem,
}

impl BudgetMode {
    /// Every mode.
    pub const ALL: [BudgetMode; 2] = [BudgetMode::Total, BudgetMode::PerProblem];

    /// The name on command lines and in configs.
    pub fn name(self) -> &'static str {
        match self {
            BudgetMode::Total => "total",
            BudgetMode::PerProblem => "per-problem",
        }
    }

    /// `max_new_tokens` of a response to a pack of `n` problems (saturating).
    pub fn max_tokens(self, budget: usize, n: usize) -> usize {
        match self {
            BudgetMode::Total => budget,
            BudgetMode::PerProblem => budget.saturating_mul(n.max(1)),
        }
    }
}

impl fmt::Display for BudgetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BudgetMode {
    type Err = Error;

    /// `total` or `per-problem`; the old `fixed-total` and `per-problem-x-n`
    /// are accepted with a deprecation warning on stderr.
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        if let Some(mode) = BudgetMode::ALL.into_iter().find(|m| m.name() == wanted) {
            return Ok(mode);
        }
        let old = match wanted.as_str() {
            "fixed-total" => BudgetMode::Total,
            "per-problem-x-n" => BudgetMode::PerProblem,
            _ => return Err(Error::Invalid(format!("unknown budget mode `{s}`; expected total or per-problem"))),
        };
        crate::warn_deprecated(&format!("budget mode `{wanted}` is now spelled `{old}`"));
        Ok(old)
    }
}

impl Serialize for BudgetMode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for BudgetMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: Error| serde::de::Error::custom(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_spellings() {
        assert_eq!(BudgetMode::Total.max_tokens(4096, 3), 4096);
        assert_eq!(BudgetMode::PerProblem.max_tokens(512, 3), 1536);
        assert_eq!(BudgetMode::PerProblem.max_tokens(usize::MAX, 2), usize::MAX);
        assert_eq!(BudgetMode::PerProblem.max_tokens(100, 0), 100);
        for (text, mode) in [
            ("total", BudgetMode::Total),
            ("per-problem", BudgetMode::PerProblem),
            (" Per-Problem ", BudgetMode::PerProblem),
            ("fixed-total", BudgetMode::Total),
            ("per-problem-x-n", BudgetMode::PerProblem),
        ] {
            assert_eq!(text.parse::<BudgetMode>().unwrap(), mode, "{text}");
        }
        let err = "per-token".parse::<BudgetMode>().unwrap_err().to_string();
        assert!(err.contains("per-token") && err.contains("total or per-problem"), "{err}");
        let json = serde_json::to_string(&BudgetMode::PerProblem).unwrap();
        assert_eq!(json, "\"per-problem\"");
        assert_eq!(serde_json::from_str::<BudgetMode>("\"fixed-total\"").unwrap(), BudgetMode::Total);
    }
}
