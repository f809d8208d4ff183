//! `bcr-core`: the pure-logic data path of Batched Contextual Reinforcement
//! (Yang et al., "Batched Contextual Reinforcement: A Task-Scaling Law for
//! Efficient Reasoning", arXiv 2604.02322).
//!
//! problems -> packs of N -> prompts -> one response -> N labelled answers ->
//! per-problem grades -> reward. No ML framework here: it compiles fast and is
//! shared by the trainer, the evaluator and the Python package.
#![deny(missing_docs)]

mod error;
mod problem;

pub use error::{Error, Location, Result};
pub use problem::{Pack, Problem};
