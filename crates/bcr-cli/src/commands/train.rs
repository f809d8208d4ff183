//! `bcr train`: GRPO with batched contexts and a shared hard budget (BCR).
//! Wiring only: the config, the trainer, the model and the task live in `bcr-rl`.

use std::path::PathBuf;

use anyhow::Context;
use bcr_rl::{TrainConfig, Trainer};

/// Flags of `bcr train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bcr train --config configs/smollm2-gsm8k.toml\n  \
    bcr train --config configs/paper-1p5b.toml --set data.path=/data/deepmath --set rollout.group_size=16\n  \
    bcr train --resume runs/smollm2-gsm8k --set run.steps=20\n\n\
    Ctrl-C saves a checkpoint after the current step and exits; --resume continues from it.\n\
    The run directory gets config.toml, metrics.jsonl, samples.jsonl, summary.json and checkpoints/.")]
pub struct Args {
    /// Training config (TOML; every key documented in configs/*.toml), e.g. configs/paper-1p5b.toml.
    #[arg(long, value_name = "FILE.toml", required_unless_present = "resume", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Override one config key, repeatable, e.g. --set rollout.group_size=8 --set data.n=[3,4].
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in RUN_DIR from its latest checkpoint (its config.toml is used; --set still applies).
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// No progress bar or per-step lines (metrics are still written).
    #[arg(long)]
    quiet: bool,
}

/// Runs `bcr train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let base = match (&args.config, &args.resume) {
        (Some(file), _) => TrainConfig::from_file(file)?,
        (None, Some(dir)) => TrainConfig::from_file(&dir.join("config.toml"))?,
        (None, None) => anyhow::bail!("give --config FILE.toml or --resume RUN_DIR"),
    };
    let mut cfg = bcr_rl::apply_overrides(&base, &args.sets)?;
    if let Some(dir) = &args.resume {
        // The run directory is where the run is, whatever its config said.
        cfg.run.out_dir = dir.display().to_string();
    }
    cfg.validate()?;
    let problems = bcr_rl::load_training_problems(&cfg.data)?;
    let policy = bcr_rl::ModelPolicy::load(&cfg.model).with_context(|| format!("loading model {}", cfg.model.path))?;
    let task = bcr_rl::BcrTask::new(&cfg.reward)?;
    bcr_rl::install_ctrlc_handler();
    let mut trainer = match &args.resume {
        Some(dir) => Trainer::resume(cfg, policy, task, problems, dir)?,
        None => Trainer::new(cfg, policy, task, problems)?,
    };
    let summary = trainer.run(&bcr_rl::stop_requested, args.quiet)?;
    let state = if summary.interrupted { "interrupted" } else { "finished" };
    println!(
        "{state} after {}/{} steps: reward {:.3} -> {:.3}, accuracy {:.3}, {:.0} tokens/problem; run dir {}",
        summary.steps,
        summary.steps_planned,
        summary.reward_first,
        summary.reward_last,
        summary.accuracy_last,
        summary.tokens_per_problem_last,
        trainer.run_dir().display()
    );
    Ok(())
}
