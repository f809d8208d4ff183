//! `bcr-serve`: an OpenAI-compatible gateway that packs concurrent
//! single-question chat requests into one Batched Contextual Reinforcement
//! context (Yang et al., arXiv 2604.02322): N callers' questions share one
//! prompt and one token budget, and each caller gets back its own section of
//! the answer.
//!
//! ```text
//! POST /v1/chat/completions -> packable? -> queue (per API key, system, sampling)
//!     -> N policy (fixed / adaptive / curve) -> bcr-core BCR prompt -> Backend (bcr-eval)
//!     -> split_sections -> caller k: section k (+ re-ask alone when missing)
//!  otherwise -> passthrough (HTTP upstream) or plain generation (native)
//! ```
//!
//! Routes: `POST /v1/chat/completions` (JSON or `stream: true` events),
//! `GET /v1/models`, `GET /health`, `GET /metrics` (Prometheus text).
//! See `docs/serve.md` for the policies, the metrics and the isolation model.
//!
//! ```no_run
//! # fn main() -> bcr_serve::Result<()> {
//! use bcr_serve::{NPolicy, ServeConfig, Upstream};
//! let spec = bcr_eval::BackendSpec::Native {
//!     model: "assets/demo/warm-start".into(),
//!     load: Default::default(),
//!     batch: 8,
//! };
//! let mut config = ServeConfig::new("bcr-demo");
//! config.set_policy(&NPolicy::Adaptive, 8, 30_000.0, (2.0, 0.05))?;
//! let running = bcr_serve::spawn(config, Upstream::open(&spec)?, "127.0.0.1:0")?;
//! println!("serving on http://{}/v1", running.addr());
//! running.stop()?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod batcher;
mod call;
mod error;
mod metrics;
mod openai;
mod pack;
mod passthrough;
mod policy;
mod run;
mod server;
mod upstream;

pub use batcher::PackTag;
pub use error::{Error, Result};
pub use metrics::Metrics;
pub use openai::{ApiError, ChatRequest, Completion};
pub use pack::{largest_remainder, Packer, Sampling};
pub use policy::{curve_limit, Controller, ControllerConfig, NPolicy};
pub use run::{load_api_keys, serve, shutdown_signal, spawn, Running, ServeConfig};
pub use upstream::Upstream;
