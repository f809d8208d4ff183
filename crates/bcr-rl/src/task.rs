//! What is being learned: how a pack becomes a user message and how a
//! response to it is rewarded. [`BcrTask`] is the method of the paper (the
//! `bcr-core` prompt template and reward); other tasks (the gym's, the
//! tests') implement [`Task`] themselves.

use bcr_core::Pack;

use crate::error::Result;

/// The reward of one response and what it is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// The scalar the advantages are computed from.
    pub reward: f64,
    /// Share of the pack's problems answered correctly.
    pub accuracy: f64,
    /// Whether the response had the required format (all N answers labelled).
    pub format_ok: bool,
}

/// A verifiable task over packs.
pub trait Task {
    /// The user message for a pack.
    fn user_message(&self, pack: &Pack) -> Result<String>;

    /// Scores a response of `response_tokens` tokens under `budget`.
    fn score(&self, pack: &Pack, response: &str, response_tokens: usize, budget: usize) -> Result<Score>;
}
