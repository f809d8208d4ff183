//! `bcr grade` (being written).

/// Flags of `bcr grade`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `bcr grade`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("bcr grade is being written")
}
