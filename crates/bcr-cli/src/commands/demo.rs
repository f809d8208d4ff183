//! `bcr demo`: the embedded default. Three GRPO runs from the shipped warm
//! start (BCR N=3, GRPO N=1, length penalty), the task-scaling sweep of all
//! four models on held-out gym problems, and a report that says which of the
//! paper's findings reproduced. Wiring only: the demo lives in `bcr-gym`.

use std::path::PathBuf;

use anyhow::Context;
use bcr_gym::demo::{run_demo, DemoConfig, DemoOptions};

/// Flags of `bcr demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bcr demo                       # the default demo (one training seed per arm), into runs/demo\n  \
    bcr demo --seeds 3             # the full version: adds seeds 1-2 to runs/demo, verdicts on the mean\n  \
    bcr demo --quick               # the smoke test (a few minutes), into runs/demo-quick\n  \
    bcr demo --set train.run.steps=30 --out runs/demo-30\n\n\
    Rerunning the same command resumes: finished runs are kept, an interrupted run continues\n\
    from its checkpoint (Ctrl-C saves one), evaluated samples are not redone.\n\
    Output: report.md, summary.json, scaling.svg, scaling.png; per arm a bcr train run dir\n\
    with model/ (an HF directory); eval/<model>/ is a bcr eval run dir.")]
pub struct Args {
    /// Demo config (TOML; keys documented in the file).
    #[arg(long, value_name = "FILE.toml", default_value = "configs/demo.toml")]
    config: PathBuf,
    /// The smoke test: apply the config's `quick` overrides (few steps, few problems).
    #[arg(long)]
    quick: bool,
    /// Run directory (default: the config's `out`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Training seeds per arm (the config's `seeds`; 3 is the full version
    /// behind the README's verdicts, about three times the training time).
    #[arg(long, value_name = "K")]
    seeds: Option<usize>,
    /// Override one config key, repeatable, e.g. --set train.run.steps=30 --set eval.ns=[1,2,4].
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// No progress bars or phase lines (the table is still printed).
    #[arg(long)]
    quiet: bool,
}

/// Runs `bcr demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.config.exists() {
        anyhow::bail!(
            "{}: no such file (run bcr demo from the repository root, or pass --config)",
            args.config.display()
        );
    }
    let mut sets = args.sets.clone();
    if let Some(out) = &args.out {
        sets.push(format!("out={}", out.display()));
    }
    if let Some(k) = args.seeds {
        sets.push(format!("seeds={k}"));
    }
    let cfg = DemoConfig::load(&args.config, args.quick, &sets)?;
    if !cfg.warm_start.join("config.json").exists() {
        anyhow::bail!(
            "{}: the warm start is missing (rebuild it with bcr sft --config configs/demo-sft.toml)",
            cfg.warm_start.display()
        );
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let opts = DemoOptions { quiet: args.quiet, command };
    let report = run_demo(&cfg, &opts).with_context(|| format!("demo in {}", cfg.out.display()))?;
    println!("{}", report.paper_table());
    println!("{}", report.scaling_table());
    println!("{}", report.reflection_table());
    if report.test_problems < 48 {
        println!("Smoke-test size ({} held-out problems per N): these verdicts are noise.", report.test_problems);
    }
    println!("{}", report.findings_list());
    println!("wall time {:.0} s; report {}", report.wall_s, cfg.out.join("report.md").display());
    Ok(())
}
