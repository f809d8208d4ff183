//! `bcr-core`: the pure-logic data path of Batched Contextual Reinforcement
//! (Yang et al., "Batched Contextual Reinforcement: A Task-Scaling Law for
//! Efficient Reasoning", arXiv 2604.02322).
//!
//! problems -> packs of N -> prompts -> one response -> N labelled answers ->
//! per-problem grades -> reward. No ML framework here: it compiles fast and is
//! shared by the trainer, the evaluator and the Python package.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod budget;
mod chat;
pub mod data;
mod deprecated;
mod error;
pub mod gguf;
mod grade;
pub mod hub;
pub mod pack;
mod parse;
mod problem;
mod prompt;
mod reflection;
mod reward;
pub mod run;
mod toml_config;

pub use budget::BudgetMode;
pub use chat::{join_messages, ChatMessage, ChatTemplate, FinishReason, SpecialTokens, TokenizerConfig};
pub use data::{
    benchmark_dir, benchmark_path, load_problem_set, load_problems, read_packs, write_jsonl, write_jsonl_to, Benchmark,
    Format, LoadOptions, Loaded, PackReader, ProblemSet, ProblemSource,
};
pub use deprecated::warn_deprecated;
pub use error::{Error, Location, Result};
pub use grade::{
    extract_answer, extract_answer_with, grade, verify, verify_with, ExtractOptions, Reason, Verdict, OP_BUDGET,
};
pub use pack::{pack_problems, PackOptions, PackStrategy};
pub use parse::{parse_answers, split_sections, Diagnostic, ParseOptions, Parsed};
pub use problem::{Pack, Problem};
pub use prompt::{PromptTemplate, DEFAULT_LABEL, DEFAULT_PROMPT_TEMPLATE};
pub use reflection::{ReflectionMarkers, DEFAULT_REFLECTION_PHRASES};
pub use reward::{score_response, RewardConfig, Score, DEFAULT_FORMAT_WEIGHT};
pub use toml_config::{apply_overrides, load_toml, parse_toml};
