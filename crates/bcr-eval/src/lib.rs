//! `bcr-eval`: the task-scaling-law harness of Batched Contextual
//! Reinforcement (Yang et al., arXiv 2604.02322, "task-scaling law": as the
//! number N of problems sharing one context grows, tokens per problem fall
//! while accuracy degrades gracefully).
//!
//! For each benchmark and each N the problems are packed sequentially (every
//! problem exactly once per packing; `shuffles` seeded packings), each pack
//! is rendered with `bcr-core`'s prompt template, sent `samples` times to a
//! [`Backend`] under a token budget, and each response is parsed and graded
//! per problem. Every completed request appends one line to the run's
//! `samples.jsonl`, so an interrupted run resumes where it stopped. The
//! report gives accuracy (± s.e.), tokens per problem, truncation and
//! format-failure rates and throughput per benchmark and N, with plots and
//! a paper-style comparison of two runs.
//!
//! ```text
//! benchmarks x N x shuffles -> packs -> prompts x samples -> Backend
//!     -> samples.jsonl (append, resumable) -> summary.{json,csv}, report.md, scaling.{svg,png}
//! ```
//!
//! Backends: [`HttpBackend`] for any OpenAI-compatible server (bounded worker
//! pool, timeouts, retries with backoff and jitter) and [`NativeBackend`] for
//! a local `bcr-model` model.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod backend;
mod compare;
mod config;
mod error;
mod evaluate;
mod http;
mod native;
mod plot;
mod report;
mod retry;
mod stats;
mod store;
mod sweep;

pub use backend::{Backend, Flow, Request, Response, TokenSource};
pub use compare::{compare, load_summary, table, Delta};
pub use config::{
    diff_run, fingerprint, load_config, prepare_run_dir, BenchmarkSpec, RunConfig, RuntimeConfig, StoredConfig,
    SweepSettings,
};
pub use error::{Error, Result};
pub use evaluate::{evaluate, BackendSpec, EvalOutcome, EvalSpec, ReportOptions};
pub use http::{Api, HttpBackend, HttpConfig, TokenCounter};
pub use native::NativeBackend;
pub use plot::{write_model_plots, write_plots};
pub use report::{csv, markdown, summarise, write_reports, Row, Summary};
pub use retry::{parse_retry_after, RetryPolicy};
pub use stats::{mean, pass_at_k, std_err};
pub use store::{load_samples, GroupTiming, Sample, SampleKey};
pub use sweep::{benchmark_spec, run_sweep, SweepOptions, SweepOutcome};
