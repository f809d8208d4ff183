//! `bcr score` (being written).

/// Flags of `bcr score`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `bcr score`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("bcr score is being written")
}
