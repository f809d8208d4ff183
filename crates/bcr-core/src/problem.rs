//! The two records every other module passes around: a [`Problem`] and a
//! [`Pack`] of N problems that share one context (BCR, arXiv 2604.02322 §3).

use serde::{Deserialize, Serialize};

/// One problem with a verifiable answer.
///
/// JSONL form (DESIGN.md): `{"id", "question", "answer", "difficulty"?, "source"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable identifier, unique within its source file.
    pub id: String,
    /// The problem statement (Markdown/LaTeX).
    pub question: String,
    /// The gold answer, cleaned (no `####`, no surrounding `\boxed{}`).
    pub answer: String,
    /// Difficulty on the source's own scale (MATH level 1-5, DeepMath 1-10), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// Dataset the problem came from (e.g. `math500`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// N problems answered in one response under one shared token budget.
///
/// JSONL form (DESIGN.md): `{"pack_id", "n", "problems": [Problem, ...]}`.
/// `n == problems.len()` always; a final short pack of a sequential packing
/// simply has a smaller `n` (see `pack`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pack {
    /// Identifier of the pack, unique within one packing.
    pub pack_id: String,
    /// Number of problems in this pack.
    pub n: usize,
    /// The problems, in the order they appear in the prompt (Problem 1 first).
    pub problems: Vec<Problem>,
}

impl Pack {
    /// Builds a pack, setting `n` from the problems.
    pub fn new(pack_id: impl Into<String>, problems: Vec<Problem>) -> Self {
        Pack { pack_id: pack_id.into(), n: problems.len(), problems }
    }

    /// Gold answers in prompt order.
    pub fn golds(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.answer.as_str()).collect()
    }

    /// Mean difficulty of the problems that carry one, if any do.
    pub fn mean_difficulty(&self) -> Option<f64> {
        let ds: Vec<f64> = self.problems.iter().filter_map(|p| p.difficulty).collect();
        (!ds.is_empty()).then(|| ds.iter().sum::<f64>() / ds.len() as f64)
    }
}
