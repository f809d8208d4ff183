//! The GRPO training loop of Batched Contextual Reinforcement.
//!
//! One step, top to bottom ([`Trainer::step`]):
//! draw B packs of N problems -> render prompts -> sample G responses per
//! pack with `max_new_tokens = budget` (one budget for the whole pack) ->
//! parse, grade, reward -> group advantages -> drop all-equal groups ->
//! old log-probs once -> mu epochs of micro-batched loss / backward / clip /
//! AdamW -> metrics -> checkpoint every K steps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bcr_core::Problem;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::advantages::group_advantages;
use crate::checkpoint::{self, RngState, Snapshot, TrainState};
use crate::config::TrainConfig;
use crate::data::PackStream;
use crate::error::{Error, Result};
use crate::filter::keep_informative_groups;
use crate::metrics::{self, StepMetrics, Summary};
use crate::optim::{AdamParams, AdamW};
use crate::policy::Policy;
use crate::rollout::{self, RolloutBatch, RolloutSpec};
use crate::schedule::lr_at;
use crate::stats::{sample_records, step_metrics, StepTimes};
use crate::task::Task;
use crate::update::{update, TrainRow, UpdateSettings};
use bcr_core::run::{Appender, Progress, ProgressSpec};

/// A GRPO run: policy, optimizer, data stream, RNG and run directory.
pub struct Trainer<P: Policy, T: Task> {
    cfg: TrainConfig,
    /// `[rollout]`/`[data]` and `[algo]`/`[optim]` as the step uses them.
    rollout: RolloutSpec,
    update: UpdateSettings,
    config_toml: String,
    metrics_log: Appender,
    samples_log: Appender,
    policy: P,
    reference: Option<P>,
    task: T,
    opt: AdamW,
    data: PackStream,
    rng: ChaCha8Rng,
    step: usize,
    bad_streak: usize,
    run_dir: PathBuf,
}

impl<P: Policy, T: Task> Trainer<P, T> {
    /// Starts a new run in `cfg.run.out_dir` (which must not hold one yet)
    /// and writes the resolved config there.
    pub fn new(cfg: TrainConfig, policy: P, task: T, problems: Vec<Problem>) -> Result<Self> {
        cfg.validate()?;
        let run_dir = cfg.out_dir();
        if run_dir.join("metrics.jsonl").exists() || run_dir.join("checkpoints").exists() {
            return Err(Error::config(
                "run.out_dir",
                format!(
                    "{} already holds a run: resume it with --resume or choose another run.out_dir",
                    run_dir.display()
                ),
            ));
        }
        std::fs::create_dir_all(&run_dir).map_err(|e| Error::io(&run_dir, e))?;
        let config_toml = cfg.to_toml()?;
        bcr_core::run::write_atomic(&run_dir.join("config.toml"), config_toml.as_bytes())?;
        let data = PackStream::new(problems, &cfg.data.n, cfg.data.strategy, cfg.run.seed)?;
        let rng = ChaCha8Rng::seed_from_u64(cfg.run.seed);
        Self::assemble(cfg, config_toml, policy, task, data, rng, run_dir)
    }

    /// Continues the run in `run_dir` from its latest checkpoint. `cfg` is
    /// the run's config (possibly with overrides, e.g. more steps).
    pub fn resume(cfg: TrainConfig, policy: P, task: T, problems: Vec<Problem>, run_dir: &Path) -> Result<Self> {
        cfg.validate()?;
        let dir = checkpoint::latest(run_dir)?.ok_or_else(|| Error::Checkpoint {
            path: run_dir.join("checkpoints"),
            message: "no checkpoint to resume from".into(),
        })?;
        let state = checkpoint::load_state(&dir)?;
        checkpoint::load_weights(&dir, checkpoint::MODEL_FILE, &policy.named_vars())?;
        let data = PackStream::at(problems, state.data.clone(), cfg.data.strategy, cfg.run.seed)?;
        let rng = state.rng.restore()?;
        let config_toml = cfg.to_toml()?;
        bcr_core::run::write_atomic(&run_dir.join("config.toml"), config_toml.as_bytes())?;
        for log in ["metrics.jsonl", "samples.jsonl"] {
            metrics::truncate_after(&run_dir.join(log), state.step)?;
        }
        let mut t = Self::assemble(cfg, config_toml, policy, task, data, rng, run_dir.to_path_buf())?;
        if let Some(reference) = &t.reference {
            checkpoint::load_weights(&dir, checkpoint::REFERENCE_FILE, &reference.named_vars())?;
        }
        checkpoint::load_optimizer(&dir, &mut t.opt, state.optimizer_steps)?;
        t.step = state.step;
        t.bad_streak = state.bad_streak;
        Ok(t)
    }

    fn assemble(
        cfg: TrainConfig,
        config_toml: String,
        policy: P,
        task: T,
        data: PackStream,
        rng: ChaCha8Rng,
        run_dir: PathBuf,
    ) -> Result<Self> {
        // The reference is the policy as it starts; on resume its saved
        // weights replace this copy.
        let reference = match cfg.algo.kl_coef > 0.0 {
            true => Some(policy.frozen_copy()?),
            false => None,
        };
        let o = &cfg.optim;
        let hp = AdamParams { beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weight_decay: o.weight_decay };
        let opt = AdamW::new(policy.named_vars(), hp)?;
        Ok(Trainer {
            rollout: RolloutSpec::from_config(&cfg),
            update: UpdateSettings::from_config(&cfg),
            metrics_log: Appender::open(&run_dir.join("metrics.jsonl"))?,
            samples_log: Appender::open(&run_dir.join("samples.jsonl"))?,
            cfg,
            config_toml,
            policy,
            reference,
            task,
            opt,
            data,
            rng,
            step: 0,
            bad_streak: 0,
            run_dir,
        })
    }

    /// The policy being trained.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// Steps completed.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// One GRPO step; returns its metrics (also appended to `metrics.jsonl`).
    pub fn step(&mut self) -> Result<StepMetrics> {
        let t_step = Instant::now();
        let (c, step) = (&self.cfg, self.step);
        // 1. Draw B packs of N problems; the whole response shares one budget.
        let n = self.data.n_at(step);
        let budget = c.data.budget_for(n);
        let packs = self.data.draw(step, c.rollout.packs_per_step)?;
        // 2-4. Prompts, G samples per pack, parse/grade/reward.
        let t_roll = Instant::now();
        let spec = self.rollout.at(budget, self.rng.next_u64());
        let batch = rollout::collect(&self.policy, &self.task, packs, &spec)?;
        let rollout_s = t_roll.elapsed().as_secs_f64();
        // 5. Group-relative advantages, then drop groups with no signal.
        let rewards = batch.rewards();
        let g = c.rollout.group_size;
        let adv = group_advantages(&rewards, g, c.algo.advantage, c.algo.adv_eps)?;
        let (keep, filtered) = match c.algo.filter_equal_groups {
            true => keep_informative_groups(&rewards, g, 1e-9),
            false => ((0..batch.packs.len()).collect(), 0.0),
        };
        let rows = train_rows(&batch, &adv, &keep, g);
        // 6-7. Old log-probs once, then mu epochs of micro-batched updates.
        let o = &c.optim;
        let lr = lr_at(step, c.run.steps, o.lr, o.warmup_steps, o.schedule, o.min_lr_ratio);
        let settings = self.update.at(budget, lr);
        let outcome = update(&self.policy, self.reference.as_ref(), &mut self.opt, &rows, &settings)?;
        // 8. Guard against divergence: skip a non-finite step, abort after several.
        match &outcome.skipped {
            Some(what) => {
                self.bad_streak += 1;
                if self.bad_streak >= c.run.max_bad_steps {
                    return Err(Error::Diverged {
                        step: step + 1,
                        count: self.bad_streak,
                        limit: c.run.max_bad_steps,
                        what: what.clone(),
                    });
                }
            }
            None => self.bad_streak = 0,
        }
        // 9. Metrics and samples.
        self.step += 1;
        let times = StepTimes { rollout_s, step_s: t_step.elapsed().as_secs_f64() };
        let m = step_metrics(self.step, n, &batch, filtered, lr, &outcome, times);
        self.metrics_log.append(&m)?;
        for rec in sample_records(self.step, &batch, c.run.samples_per_step) {
            self.samples_log.append(&rec)?;
        }
        // 10. Checkpoint every K steps.
        if c.run.save_every > 0 && self.step.is_multiple_of(c.run.save_every) {
            self.save()?;
        }
        Ok(m)
    }

    /// Writes a checkpoint of the current state; returns its directory.
    pub fn save(&self) -> Result<PathBuf> {
        let state = TrainState {
            step: self.step,
            optimizer_steps: self.opt.steps(),
            bad_streak: self.bad_streak,
            rng: RngState::capture(&self.rng),
            data: self.data.cursors().to_vec(),
        };
        let vars = self.policy.named_vars();
        let reference = self.reference.as_ref().map(|r| r.named_vars());
        let snap = Snapshot {
            state: &state,
            weights: &vars,
            optimizer: &self.opt,
            reference: reference.as_deref(),
            config_toml: &self.config_toml,
        };
        checkpoint::save(&self.run_dir, &snap, self.cfg.run.keep_checkpoints)
    }

    /// Runs until `run.steps` or until `stop()` says so (Ctrl-C), then saves
    /// a checkpoint and writes `summary.json`.
    pub fn run(&mut self, stop: &dyn Fn() -> bool, quiet: bool) -> Result<Summary> {
        let spec = ProgressSpec::steps("train", self.step as u64, self.cfg.run.steps as u64);
        let progress = Progress::new(&spec, !quiet);
        let mut interrupted = false;
        while self.step < self.cfg.run.steps {
            if stop() {
                interrupted = true;
                break;
            }
            let m = self.step()?;
            if m.skipped {
                progress.warn(&format!("step {}: non-finite loss or gradient, update skipped", m.step));
            }
            progress.set(m.step as u64, &step_line(&m));
        }
        progress.finish();
        let ckpt = self.save()?;
        self.metrics_log.sync()?;
        self.samples_log.sync()?;
        let all: Vec<StepMetrics> = bcr_core::run::read_jsonl(&self.run_dir.join("metrics.jsonl"))?;
        let summary = Summary::from_metrics(&all, self.cfg.run.steps, interrupted, Some(ckpt));
        let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::Invalid(e.to_string()))?;
        bcr_core::run::write_atomic(&self.run_dir.join("summary.json"), text.as_bytes())?;
        Ok(summary)
    }
}

/// The progress line of a finished step.
fn step_line(m: &StepMetrics) -> String {
    format!(
        "reward {:.3} acc {:.3} tok/problem {:.0} trunc {:.2} {:.1}s",
        m.reward_mean, m.accuracy, m.tokens_per_problem, m.truncation_rate, m.step_s
    )
}

/// Training rows of the kept groups, each with its sequence advantage.
fn train_rows<'a>(batch: &'a RolloutBatch, adv: &[f64], keep: &[usize], g: usize) -> Vec<TrainRow<'a>> {
    keep.iter()
        .flat_map(|&group| (group * g..(group + 1) * g).map(move |i| (group, i)))
        .map(|(group, i)| TrainRow {
            prompt: &batch.prompts[group],
            completion: &batch.samples[i].completion.tokens,
            advantage: adv[i],
        })
        .collect()
}
