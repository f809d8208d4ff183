//! `bcr pack`: load problems from a dataset file and group them into packs of
//! N that share one context (bcr_core::pack), written as pack JSONL.

use anyhow::Context;
use bcr_core::data::{write_jsonl, write_jsonl_to, Format, LoadOptions};
use bcr_core::pack::{pack_problems, PackOptions, PackStrategy};
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Strategies:
  sequential  Input order, consecutive chunks of N; covers the file exactly once
              (evaluation). 500 problems with --n 3 give 167 packs, the last of
              size 2 (a short final pack is kept short, never padded).
  random      A seeded shuffle, then chunks of N.
  stratified  Training, as in the BCR paper: problems sorted by difficulty are cut
              into N strata (quantiles); each pack takes one problem of each
              stratum, so every pack has about the dataset's mean difficulty.
              Problems without a difficulty count as the median.

Formats (--format): auto (detected from the fields of the first record),
  problems, math500, aime, amc, gsm8k, minerva, olympiadbench, deepmath.
  JSONL and Parquet are both read (Parquet by its .parquet name or PAR1 magic).

Examples:
  bcr pack --input data/benchmarks/math500.jsonl --n 3 --strategy sequential --output p.jsonl
  bcr pack --input data/benchmarks/math500.jsonl --n 3 --seed 7 --output train.jsonl
  bcr pack --input deepmath.parquet --n 3 --skip-invalid --output train.jsonl
  bcr pack --input minerva --n 5 --strategy random --output - | head -1";

/// Flags of `bcr pack`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Dataset file (JSONL or Parquet), or the name of a bundled benchmark
    /// (aime24, aime25, amc23, math500, minerva, olympiadbench, gsm8k).
    /// Example: --input data/benchmarks/math500.jsonl
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Problems per pack (N). Example: --n 3
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    n: u64,
    /// How problems are grouped (see below). Example: --strategy sequential
    #[arg(long, value_name = "STRATEGY", default_value = "stratified", value_parser = super::parse_flag::<PackStrategy>)]
    strategy: PackStrategy,
    /// Seed of the shuffles; the same seed gives the same packs. Example: --seed 7
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Schema of the input (see below). Example: --format gsm8k
    #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = super::parse_flag::<Format>)]
    format: Format,
    /// Skip malformed records instead of stopping at the first; their number
    /// is reported on stderr. Example: --skip-invalid
    #[arg(long)]
    skip_invalid: bool,
    /// Output pack JSONL file (`-` for stdout). Example: --output packs.jsonl
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Runs `bcr pack`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (input, loaded) =
        super::load_input(&args.input, &LoadOptions { format: args.format, skip_invalid: args.skip_invalid })?;
    let n = usize::try_from(args.n).context("--n is too large")?;
    let opts = PackOptions { n, strategy: args.strategy, seed: args.seed };
    let packs = pack_problems(&loaded.problems, &opts)?;
    if args.output == Path::new("-") {
        write_jsonl_to(std::io::stdout().lock(), &packs, Path::new("<stdout>"))?;
    } else {
        write_jsonl(&args.output, &packs)?;
    }
    let short = packs.last().filter(|p| p.n < n).map(|p| format!("; the last holds {}", p.n));
    eprintln!(
        "packed {} problems ({}, format {}) into {} packs of {n} ({}, seed {}){} -> {}",
        loaded.problems.len(),
        input.display(),
        loaded.format,
        packs.len(),
        opts.strategy,
        opts.seed,
        short.unwrap_or_default(),
        args.output.display()
    );
    Ok(())
}
