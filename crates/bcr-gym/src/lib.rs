//! `bcr-gym`: the embedded default of bcr. Procedural reasoning tasks with
//! exact answers and difficulty levels ([`tasks`]), reference solutions with
//! controllable redundancy ([`solution`]), and seeded train/test streams that
//! never overlap ([`split`]). These feed the SFT warm start and the `bcr demo`
//! reproduction of the findings of Yang et al., arXiv 2604.02322.
//!
//! The warm start: a byte-level BPE trained on the gym corpus
//! ([`tokenizer`]), a tiny Qwen3-style model ([`tiny`]), the SFT corpus of
//! verbose reference solutions ([`corpus`]) and response-only
//! cross-entropy training into an HF directory ([`sft`], `bcr sft`), then a
//! greedy held-out check ([`check`]). [`demo`] is `bcr demo`: three RL runs
//! from the warm start, the task-scaling sweep and the report.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod corpus;
pub mod demo;
mod error;
pub mod sft;
pub mod solution;
pub mod split;
pub mod tasks;
pub mod tiny;
pub mod tokenizer;

pub use error::{Error, Result};
pub use solution::{necessary_steps, reflection_markers, write_response, write_steps, Verbosity, REFLECTION_MARKERS};
pub use split::{split_of, tasks as task_stream, tasks_upto, to_problem, Split, TEST_SHARE};
pub use tasks::{generate, Family, Task, MAX_DIFFICULTY, MIN_DIFFICULTY};
