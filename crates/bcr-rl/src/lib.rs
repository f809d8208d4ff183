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
//! TrainConfig (TOML + --set) -> Trainer::new(cfg, policy, task, problems)
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
mod overrides;
mod policy;
mod progress;
mod rollout;
pub mod schedule;
mod signal;
mod stats;
mod task;
mod trainer;
pub mod update;
mod validate;

#[cfg(test)]
mod proof;
#[cfg(test)]
mod proof_model;
#[cfg(test)]
mod tiny;

pub use config::{
    AdvantageKind, AlgoSection, BudgetMode, DataSection, LossAgg, ModelSection, OptimSection, RewardSection,
    RolloutSection, RunSection, ScheduleKind, Strategy, TrainConfig,
};
pub use data::{load_training_problems, Cursor, PackStream};
pub use error::{Error, Result};
pub use metrics::{read_jsonl, SampleRecord, StepMetrics, Summary};
pub use model_policy::{parse_device, parse_dtype, ModelPolicy};
pub use overrides::apply as apply_overrides;
pub use policy::{Completion, Policy, Sampling, TokenScores};
pub use rollout::{collect as collect_rollouts, RolloutBatch, RolloutSpec, Sample};
pub use signal::{clear_stop, install_ctrlc_handler, request_stop, stop_requested, uninstall_ctrlc_handler};
pub use task::{BcrTask, Score, Task};
pub use trainer::Trainer;
