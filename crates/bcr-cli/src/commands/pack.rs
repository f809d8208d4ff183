//! `bcr pack` (being written).

/// Flags of `bcr pack`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `bcr pack`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("bcr pack is being written")
}
