//! `evaluate`: one call that runs (or resumes) a whole task-scaling sweep
//! and writes its reports: the library entry point behind `bcr eval` and
//! the demo's evaluation of each model. [`BackendSpec`] names the model the
//! one way every bcr command does: an OpenAI-compatible server or a local
//! checkpoint on the native runtime.

use std::path::{Path, PathBuf};

use bcr_core::{LoadOptions, PromptTemplate};

use crate::backend::Backend;
use crate::config::{fingerprint, RunConfig, RuntimeConfig, SweepSettings};
use crate::http::{Api, HttpBackend, HttpConfig};
use crate::native::NativeBackend;
use crate::report::{summarise, write_reports, Summary};
use crate::sweep::{benchmark_spec, run_sweep, SweepOptions, SweepOutcome};
use crate::{write_plots, Result};

/// The model a sweep (or `bcr serve`) calls.
#[derive(Debug, Clone)]
pub enum BackendSpec {
    /// An OpenAI-compatible server.
    Http(HttpConfig),
    /// A local checkpoint (HF directory, GGUF file or Hub id) on the native runtime.
    Native {
        /// The checkpoint, as the user named it.
        model: String,
        /// Device and dtype.
        load: bcr_model::LoadOptions,
        /// Requests decoded together.
        batch: usize,
    },
}

impl BackendSpec {
    /// The backend's identity in a run's `[run]` table: `http:chat:MODEL`,
    /// `http:completions:MODEL` or `native:SPEC`.
    pub fn id(&self) -> String {
        match self {
            BackendSpec::Http(c) => {
                let api = if c.api == Api::Chat { "chat" } else { "completions" };
                format!("http:{api}:{}", c.model)
            }
            BackendSpec::Native { model, .. } => format!("native:{model}"),
        }
    }

    /// Requests in flight at once.
    pub fn concurrency(&self) -> usize {
        match self {
            BackendSpec::Http(c) => c.concurrency,
            BackendSpec::Native { batch, .. } => *batch,
        }
    }

    /// Connects (HTTP: builds the client) or loads the model (native).
    pub fn open(&self) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BackendSpec::Http(c) => Box::new(HttpBackend::new(c.clone())?),
            BackendSpec::Native { model, load, batch } => Box::new(NativeBackend::load_with(model, *batch, load)?),
        })
    }
}

/// What to sweep: every setting of `bcr eval` but the backend.
#[derive(Debug, Clone)]
pub struct EvalSpec {
    /// Problem sets: benchmark names, files, directories or Hub dataset ids.
    pub benchmarks: Vec<String>,
    /// Only the first `limit` problems of each set.
    pub limit: Option<usize>,
    /// A custom prompt template file (default: bcr's).
    pub template: Option<PathBuf>,
    /// N, draws, sampling, budget, label, seed.
    pub sweep: SweepSettings,
}

/// How [`evaluate`] reports.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Progress on stderr.
    pub progress: bool,
    /// The command line shown in `report.md`.
    pub command: String,
    /// The reflection phrases counted in every response.
    pub reflections: bcr_core::ReflectionMarkers,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    /// The run's summary (also in `summary.json`).
    pub summary: Summary,
    /// What this session did.
    pub sweep: SweepOutcome,
}

/// Runs (or resumes) the sweep into `out`, then writes `summary.{json,csv}`,
/// `report.md` and the plots. Reports are written even when some requests
/// failed (they cover what is done); the failure is then the error.
pub fn evaluate(out: &Path, spec: &EvalSpec, backend: &BackendSpec, report: &ReportOptions) -> Result<EvalOutcome> {
    let mut data = Vec::with_capacity(spec.benchmarks.len());
    for name in &spec.benchmarks {
        data.push(bcr_core::load_problem_set(name, &LoadOptions::default(), spec.limit)?);
    }
    let prompt = match &spec.template {
        Some(path) => PromptTemplate::from_file(path)?,
        None => PromptTemplate::default(),
    }
    .with_label(&spec.sweep.label)?;
    let model = backend.open()?;
    let run = RunConfig {
        benchmarks: data.iter().map(benchmark_spec).collect(),
        sweep: spec.sweep.clone(),
        limit: spec.limit,
        template: fingerprint([prompt.source()]),
        backend: backend.id(),
    };
    let runtime = RuntimeConfig {
        sources: data.iter().map(|b| b.source.clone()).collect(),
        backend: model.describe(),
        concurrency: backend.concurrency(),
    };
    let opts = SweepOptions { reward: spec.sweep.reward(), run, runtime, prompt, progress: report.progress };
    let sweep = run_sweep(out, &data, &opts, model.as_ref());
    let summary = summarise(out, &report.reflections)?;
    write_reports(out, &summary, &report.command)?;
    write_plots(out, &summary)?;
    Ok(EvalOutcome { summary, sweep: sweep? })
}
