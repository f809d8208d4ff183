//! `bcr compare RUN_A RUN_B`: the paper-style table of two eval runs (accuracy
//! change in points, token change in percent) per benchmark and N.

use anyhow::Context;
use std::path::PathBuf;

/// Flags of `bcr compare`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  bcr compare runs/base runs/bcr      # B = runs/bcr measured against A = runs/base")]
pub struct Args {
    /// Run directory A (the reference, e.g. the base model). Example: `runs/base`.
    run_a: PathBuf,
    /// Run directory B (compared against A, e.g. the BCR-trained model). Example: `runs/bcr`.
    run_b: PathBuf,
}

/// Runs `bcr compare`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let a = bcr_eval::load_summary(&args.run_a).context("RUN_A")?;
    let b = bcr_eval::load_summary(&args.run_b).context("RUN_B")?;
    let (deltas, unmatched) = bcr_eval::compare(&a, &b);
    if deltas.is_empty() {
        anyhow::bail!(
            "{} and {} share no benchmark and N with results; nothing to compare",
            args.run_a.display(),
            args.run_b.display()
        );
    }
    let name = |p: &PathBuf, s: &bcr_eval::Summary| format!("{} ({})", p.display(), s.backend);
    print!("{}", bcr_eval::table(&name(&args.run_a, &a), &name(&args.run_b, &b), &deltas, &unmatched));
    Ok(())
}
