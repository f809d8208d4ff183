//! `bcr train`: GRPO with batched contexts and a shared hard budget (BCR).
//! Wiring only: the config, the trainer, the model and the task live in `bcr-rl`.

use std::path::PathBuf;

use bcr_rl::{Resume, TrainConfig};

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
    let (file, resume) = match (&args.config, &args.resume) {
        (Some(file), _) => (file.clone(), Resume::No),
        (None, Some(dir)) => (dir.join("config.toml"), Resume::Yes),
        (None, None) => anyhow::bail!("give --config FILE.toml or --resume RUN_DIR"),
    };
    let mut cfg = TrainConfig::load(&file, &args.sets)?;
    if let Some(dir) = &args.resume {
        // The run directory is where the run is, whatever its config said.
        cfg.run.out_dir = dir.display().to_string();
    }
    let out = bcr_rl::train(cfg, resume, args.quiet)?;
    let s = &out.summary;
    let state = if s.interrupted { "interrupted" } else { "finished" };
    println!(
        "{state} after {}/{} steps: reward {:.3} -> {:.3}, accuracy {:.3}, {:.0} tokens/problem; run dir {}",
        s.steps,
        s.steps_planned,
        s.reward_first,
        s.reward_last,
        s.accuracy_last,
        s.tokens_per_problem_last,
        out.run_dir.display()
    );
    Ok(())
}
