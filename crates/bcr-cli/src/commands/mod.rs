//! Subcommands. One module per command; each owns its `Args` and `run`.

use clap::{Parser, Subcommand};

mod grade;
mod pack;
mod prompt;
mod score;

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
    /// Judge whether predicted answers equal gold answers (math equivalence).
    Grade(grade::Args),
    /// Group problems into packs of N that share one context.
    Pack(pack::Args),
    /// Render the prompt of each pack, optionally through a model's chat template.
    Prompt(prompt::Args),
    /// Parse and grade responses to packs: per-problem correctness and reward.
    Score(score::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Grade(args) => grade::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Prompt(args) => prompt::run(args),
        Command::Score(args) => score::run(args),
    }
}
