//! `train`: one call that runs (or resumes) a whole BCR training run from a
//! [`TrainConfig`], the library entry point behind `bcr train` and each arm
//! of `bcr demo`: load the problems, the model and the task, install the
//! Ctrl-C handler (a checkpoint is saved after the current step), run to
//! `run.steps`, write `summary.json`.

use std::path::PathBuf;

use crate::config::TrainConfig;
use crate::data::load_training_problems;
use crate::error::Result;
use crate::metrics::Summary;
use crate::model_policy::ModelPolicy;
use crate::task::BcrTask;
use crate::trainer::Trainer;
use crate::{checkpoint, signal};

/// What [`train`] does with `run.out_dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Start a new run; a directory that already holds one is an error.
    No,
    /// Continue from the latest checkpoint; none is an error.
    Yes,
    /// Continue from the latest checkpoint if there is one; otherwise start
    /// anew, clearing logs that no checkpoint backs (a rerun after a crash
    /// before the first checkpoint).
    IfCheckpoint,
}

/// How a run ended and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// `summary.json`.
    pub summary: Summary,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// Runs (or resumes) the training `cfg` describes until `run.steps` or Ctrl-C.
pub fn train(cfg: TrainConfig, resume: Resume, quiet: bool) -> Result<TrainOutcome> {
    cfg.validate()?;
    let run_dir = cfg.out_dir();
    let resume = match resume {
        Resume::IfCheckpoint if checkpoint::latest(&run_dir)?.is_some() => true,
        Resume::IfCheckpoint => {
            if run_dir.exists() {
                std::fs::remove_dir_all(&run_dir).map_err(|e| crate::Error::io(&run_dir, e))?;
            }
            false
        }
        Resume::Yes => true,
        Resume::No => false,
    };
    let problems = load_training_problems(&cfg.data)?;
    let policy = ModelPolicy::load(&cfg.model)?;
    let task = BcrTask::new(&cfg.reward)?;
    let mut trainer = match resume {
        true => Trainer::resume(cfg, policy, task, problems, &run_dir)?,
        false => Trainer::new(cfg, policy, task, problems)?,
    };
    signal::install_ctrlc_handler();
    let summary = trainer.run(&signal::stop_requested, quiet);
    signal::uninstall_ctrlc_handler();
    Ok(TrainOutcome { summary: summary?, run_dir })
}
