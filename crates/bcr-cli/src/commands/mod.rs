//! Subcommands. One module per command; each owns its `Args` and `run`.

use clap::{Parser, Subcommand};

mod backend;
mod compare;
mod data;
mod demo;
mod eval;
mod generate;
mod grade;
mod lines;
mod pack;
mod prompt;
mod score;
mod serve;
mod sft;
mod train;

/// Batched Contextual Reinforcement: train reasoning LLMs to solve N problems
/// in one shared context under a hard token budget, and measure the
/// task-scaling law (accuracy and tokens per problem as N grows).
#[derive(Debug, Parser)]
#[command(name = "bcr", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The embedded default: BCR vs GRPO vs length penalty on the gym, then the scaling sweep and report.
    Demo(demo::Args),
    /// The task-scaling-law sweep: accuracy and tokens per problem as N grows.
    Eval(eval::Args),
    /// Paper-style table of two eval runs: accuracy change (points), token change (%).
    Compare(compare::Args),
    /// Build training/validation datasets for external RL engines (verl).
    Data(data::Args),
    /// Sample completions from a local model (batched KV-cache decoding), as JSONL.
    Generate(generate::Args),
    /// Judge whether predicted answers equal gold answers (math equivalence).
    Grade(grade::Args),
    /// Group problems into packs of N that share one context.
    Pack(pack::Args),
    /// Render the prompt of each pack, optionally through a model's chat template.
    Prompt(prompt::Args),
    /// Parse and grade responses to packs: per-problem correctness and reward.
    Score(score::Args),
    /// OpenAI-compatible gateway that packs concurrent questions into one BCR context.
    Serve(serve::Args),
    /// Warm-start the tiny gym model: train its tokenizer and SFT it on verbose reference solutions.
    Sft(sft::Args),
    /// Train a model with BCR: GRPO on packs of N problems under one shared token budget.
    Train(train::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Data(args) => data::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Grade(args) => grade::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Prompt(args) => prompt::run(args),
        Command::Score(args) => score::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Sft(args) => sft::run(args),
        Command::Train(args) => train::run(args),
    }
}

/// Creates (or truncates) an output file, creating its parent directories
/// first, so `--output runs/new/x.jsonl` works on a fresh checkout.
pub(crate) fn create_output(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create directory", dir.display()))?;
    }
    std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))
}

/// A flag value through the library type's own `FromStr` (one spelling
/// for every command: `--strategy`, `--budget-mode`, `--format`).
pub(crate) fn parse_flag<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}

/// Resolves `--input` (a file, or a bundled benchmark's name) and loads its
/// problems; skipped records (with `skip_invalid`) are reported on stderr.
pub(crate) fn load_input(
    input: &std::path::Path,
    opts: &bcr_core::LoadOptions,
) -> anyhow::Result<(std::path::PathBuf, bcr_core::Loaded)> {
    use bcr_core::ProblemSource;
    let path = match ProblemSource::parse(&input.display().to_string())? {
        ProblemSource::File(p) => p,
        ProblemSource::Benchmark(b) => bcr_core::benchmark_path(b)?,
        _ => anyhow::bail!("{}: expected a problem file or a bundled benchmark name", input.display()),
    };
    let loaded = bcr_core::load_problems(&path, opts)?;
    if let Some(first) = loaded.skipped.first() {
        eprintln!(
            "warning: skipped {} invalid record(s) of {}; the first: {first}",
            loaded.skipped.len(),
            path.display()
        );
    }
    Ok((path, loaded))
}
