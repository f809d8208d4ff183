//! `bcr sft`: the supervised warm start of the embedded default (a tiny
//! Qwen3-style model and its tokenizer, trained on gym reference solutions).
//! Wiring only: corpus, tokenizer, model and training live in `bcr-gym`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use bcr_core::run::{Appender, PlainLines, Progress, ProgressSpec};

use bcr_gym::sft::{run_sft, SftConfig, StepLog};

/// Flags of `bcr sft`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bcr sft --config configs/demo-sft.toml\n  \
    bcr sft --config configs/demo-sft.toml --set train.steps=50 --set output=runs/sft-small\n  \
    bcr sft --config configs/demo-sft.toml --check-only --check 60\n\n\
    Writes an HF model directory (config.json, model.safetensors, tokenizer.json,\n\
    tokenizer_config.json, generation_config.json) and sft_log.jsonl (loss per step).")]
pub struct Args {
    /// SFT config (TOML; keys documented in configs/demo-sft.toml), e.g. configs/demo-sft.toml.
    #[arg(long, value_name = "FILE.toml")]
    config: PathBuf,
    /// Override one config key, repeatable, e.g. --set train.steps=50 --set data.pack_sizes=[1,3].
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// No progress bar or per-step lines.
    #[arg(long)]
    quiet: bool,
    /// After training, decode this many held-out problems at N=1, 3 and 8 (as packs) and print accuracy,
    /// format rate and tokens per problem, e.g. --check 50 (0 = no check).
    #[arg(long, value_name = "PACKS", default_value_t = 0)]
    check: usize,
    /// Skip training: only run --check on the config's output directory.
    #[arg(long, requires = "check")]
    check_only: bool,
    /// Token budget per problem for --check (the pack gets N times this), e.g. --budget 256.
    #[arg(long, value_name = "TOKENS", default_value_t = 320)]
    budget: usize,
    /// Sampling temperature for --check (0 = greedy), e.g. --temperature 0.
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    temperature: f64,
    /// Seed of the --check tasks and sampler, e.g. --seed 1.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
}

/// Runs `bcr sft`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = SftConfig::load(&args.config, &args.sets)?;
    if !args.check_only {
        train(&args, &cfg)?;
    }
    if args.check > 0 {
        check(&cfg, &args)?;
    }
    Ok(())
}

/// Held-out check at N=1, 3 and 8 on the config's task difficulties.
fn check(cfg: &SftConfig, args: &Args) -> anyhow::Result<()> {
    let spec = cfg.output.display().to_string();
    let model =
        bcr_model::Model::load(&spec, &bcr_model::LoadOptions::default()).with_context(|| format!("loading {spec}"))?;
    for n in [1, 3, 8] {
        let opts = bcr_gym::check::CheckOptions {
            n,
            packs: args.check.div_ceil(n),
            budget_per_problem: args.budget,
            temperature: args.temperature,
            seed: args.seed,
            batch: 16,
            max_difficulty: cfg.data.max_difficulty,
        };
        let r = bcr_gym::check::check_model(&model, &opts)?;
        println!(
            "check N={n}: {} packs, accuracy {:.3}, format {:.3}, {:.1} tokens/problem, {:.1}% of packs hit the budget",
            r.packs,
            r.accuracy,
            r.format,
            r.tokens_per_problem,
            100.0 * r.truncated
        );
    }
    Ok(())
}

fn train(args: &Args, cfg: &SftConfig) -> anyhow::Result<()> {
    let start = Instant::now();
    let total = cfg.train.steps as u64;
    let spec = ProgressSpec { plain: PlainLines::Parts(20), ..ProgressSpec::steps("sft", 0, total) };
    let progress = Progress::new(&spec, !args.quiet);
    // One line per step, flushed as it comes: a run cut short (Ctrl-C, a time
    // limit) keeps its loss curve next to its last weight snapshot.
    std::fs::create_dir_all(&cfg.output).with_context(|| format!("{}: cannot create", cfg.output.display()))?;
    let log = Appender::open(&cfg.output.join("sft_log.jsonl"))?;
    let mut log_error = None;
    let on_step = |s: &StepLog| {
        if let Err(e) = log.append(s) {
            log_error.get_or_insert(e);
        }
        let line = format!("loss {:.4} lr {:.2e} grad-norm {:.3}", s.loss, s.lr, s.grad_norm);
        progress.set(s.step as u64, &line);
    };
    let out = run_sft(cfg, on_step)?;
    progress.finish();
    if let Some(e) = log_error {
        return Err(e.into());
    }
    let first = out.log.first().map_or(f64::NAN, |s| s.loss);
    let last = out.log.last().map_or(f64::NAN, |s| s.loss);
    println!(
        "sft finished: {} steps, loss {first:.3} -> {last:.3}, {} params, vocab {}, {} examples, {:.0}s; model dir {}",
        out.log.len(),
        out.params,
        out.vocab_size,
        out.examples,
        start.elapsed().as_secs_f64(),
        out.dir.display()
    );
    Ok(())
}
