//! `bcr prompt` (being written).

/// Flags of `bcr prompt`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `bcr prompt`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("bcr prompt is being written")
}
