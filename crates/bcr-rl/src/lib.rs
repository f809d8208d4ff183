//! `bcr-rl`: GRPO with batched contexts and a shared hard budget — the
//! training method of Batched Contextual Reinforcement (Yang et al., arXiv
//! 2604.02322).
//!
//! Each prompt packs N problems; G responses are sampled per pack with
//! `max_new_tokens` = the budget of the whole pack; the reward is the
//! per-problem accuracy plus a format term; advantages are group-relative
//! (GRPO or Dr.GRPO); the policy follows the PPO clipped surrogate with
//! clip-higher and optional dual-clip, k3 KL and an entropy bonus, all
//! reduced through one aggregation function.
//!
//! ```text
//! TrainConfig (TOML + bcr_core::apply_overrides) -> train(cfg, Resume, quiet)
//!   = load problems, ModelPolicy, BcrTask -> Trainer::new / Trainer::resume -> run
//!   step: PackStream::draw -> rollout::collect -> group_advantages
//!         -> keep_informative_groups -> update (mu epochs, micro-batches, AdamW)
//!         -> metrics.jsonl / samples.jsonl -> checkpoint::save every K
//! ```
//!
//! The algorithm pieces are small pure functions over `(b, t)` tensors and a
//! mask, in one module each: [`advantages`], [`loss`], [`agg`], [`schedule`],
//! [`optim`], [`filter`]. The model is behind the [`Policy`] trait and the
//! task (prompt + reward) behind [`Task`].
#![deny(missing_docs)]
// Only the SIGINT handler (libc) is unsafe; it says so where it is.
#![deny(unsafe_code)]

pub mod advantages;
pub mod agg;
pub mod checkpoint;
mod config;
mod data;
mod error;
pub mod filter;
pub mod loss;
mod metrics;
mod model_policy;
pub mod optim;
mod policy;
mod rollout;
pub mod schedule;
#[allow(unsafe_code)]
mod signal;
mod stats;
mod task;
mod train;
mod trainer;
pub mod update;
mod validate;

#[cfg(test)]
mod testing;

pub use config::{
    AdvantageKind, AlgoSection, DataSection, LossAgg, ModelSection, OptimSection, RewardSection, RolloutSection,
    RunSection, ScheduleKind, TrainConfig,
};
pub use data::{load_training_problems, Cursor, PackStream};
pub use error::{Error, Result};
pub use metrics::{SampleRecord, StepMetrics, Summary};
pub use model_policy::{parse_device, parse_dtype, ModelPolicy};
pub use policy::{copy_vars, Completion, Policy, Sampling, TokenScores};
pub use rollout::{collect as collect_rollouts, RolloutBatch, RolloutSpec, Sample};
pub use signal::{clear_stop, install_ctrlc_handler, request_stop, stop_requested, uninstall_ctrlc_handler};
pub use task::{BcrTask, Task};
pub use train::{train, Resume, TrainOutcome};
pub use trainer::Trainer;
