//! `bcr demo`: the findings of Batched Contextual Reinforcement (Yang et al.,
//! arXiv 2604.02322) reproduced on a laptop CPU, from the shipped warm start.
//!
//! ```text
//! tasks:  gym train split -> tasks/gym-train.jsonl, test split -> tasks/gym-test.jsonl
//! train:  for each [[arm]] (BCR N=3; GRPO N=1; length penalty) and each of
//!         `seeds` training seeds: bcr_rl::train from the warm start
//!         -> <arm>-s<i>/checkpoints -> <arm>-s<i>/model (HF dir)
//! eval:   warm start and every trained model, N in eval.ns, through
//!         bcr_eval::evaluate (native backend, gym reflection markers)
//!         -> eval/<model>/summary.json
//! report: findings decided on the mean over seeds (each seed's own verdicts
//!         listed), report.md, scaling.{svg,png}, summary.json
//! ```
//!
//! Every phase resumes: finished arms are skipped, an interrupted arm
//! continues from its last checkpoint (Ctrl-C saves one), and the sweep keeps
//! every sample it wrote. The resolved config is stored as `out/config.toml`;
//! a rerun with a different config into the same directory is refused.

pub mod config;
mod findings;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use bcr_eval::{BackendSpec, EvalSpec, ReportOptions, SweepSettings};

use crate::error::{Error, Result};
use crate::split::{tasks_upto, to_problem, Split};
use crate::tasks::Family;
pub use config::{ArmSection, DemoConfig, EvalSection, Role, TasksSection};
pub use findings::{Finding, Stat, View, Views};
pub use report::{DemoReport, ModelResult, SeedFindings, TrainingCurve};

/// How `run_demo` reports.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// No progress bars or phase lines.
    pub quiet: bool,
    /// The command line, recorded in the report.
    pub command: String,
}

/// Runs (or resumes) the whole demo; returns the report it wrote.
pub fn run_demo(cfg: &DemoConfig, opts: &DemoOptions) -> Result<DemoReport> {
    let start = Instant::now();
    prepare_out(cfg)?;
    let runs = cfg.arms.len() * cfg.seeds;
    let phases = 1 + runs + 1 + runs + 1;
    let mut phase = 0usize;
    let mut say = |what: String| {
        phase += 1;
        if !opts.quiet {
            eprintln!("[{phase}/{phases}] {what}");
        }
    };

    say(format!("gym tasks: {} train, {} held-out", cfg.tasks.train_problems, cfg.tasks.test_problems));
    let (train_file, test_file) = write_tasks(cfg)?;

    let mut trained = Vec::with_capacity(runs);
    for arm in &cfg.arms {
        for i in 0..cfg.seeds {
            let tc = cfg.arm_train_config(arm, i, &train_file)?;
            let what = format!("{} seed {}", arm.label, tc.run.seed);
            say(format!("train {what} ({} steps, N={:?}, budget {})", tc.run.steps, tc.data.n, tc.data.budget));
            let t = Instant::now();
            let model_dir = train_arm(cfg, &tc, opts.quiet)?;
            trained.push((arm, i, tc, model_dir, t.elapsed().as_secs_f64()));
        }
    }

    let mut models = Vec::with_capacity(1 + trained.len());
    say(format!("evaluate warm start at N in {:?}", cfg.eval.ns));
    let t = Instant::now();
    let (summary, steps) = evaluate(cfg, "warm-start", &cfg.warm_start, &test_file, opts.quiet)?;
    models.push(ModelResult {
        name: "warm-start".into(),
        label: "warm start (SFT)".into(),
        role: None,
        seed: None,
        summary,
        steps_per_correct: steps,
        training: None,
        eval_s: t.elapsed().as_secs_f64(),
    });
    for (arm, i, tc, model_dir, train_s) in trained {
        say(format!("evaluate {} seed {} at N in {:?}", arm.label, tc.run.seed, cfg.eval.ns));
        let t = Instant::now();
        let name = DemoConfig::run_name(arm, i);
        let (summary, steps) = evaluate(cfg, &name, &model_dir, &test_file, opts.quiet)?;
        let curve = TrainingCurve::read(&tc.out_dir(), &tc, train_s)?;
        models.push(ModelResult {
            name,
            label: arm.label.clone(),
            role: Some(arm.role),
            seed: Some(tc.run.seed),
            summary,
            steps_per_correct: steps,
            training: Some(curve),
            eval_s: t.elapsed().as_secs_f64(),
        });
    }

    say("report".into());
    let report = DemoReport::new(cfg, models, start.elapsed().as_secs_f64(), &opts.command);
    report.write(&cfg.out)?;
    Ok(report)
}

/// Creates `out` and stores the resolved config; refuses a directory that
/// holds a demo with another config. More seeds than the stored run is not
/// another config: the finished seeds are kept and the new ones added.
fn prepare_out(cfg: &DemoConfig) -> Result<()> {
    std::fs::create_dir_all(&cfg.out).map_err(|e| Error::io(&cfg.out, e))?;
    let path = cfg.out.join("config.toml");
    let text = toml::to_string_pretty(cfg).map_err(|e| Error::Config {
        file: path.display().to_string(),
        field: "-".into(),
        message: e.to_string(),
    })?;
    match std::fs::read_to_string(&path) {
        Ok(old) if old == text => Ok(()),
        Ok(old) if adds_seeds(&old, cfg) => bcr_core::run::write_atomic(&path, text.as_bytes()).map_err(Error::from),
        Ok(_) => Err(Error::Config {
            file: path.display().to_string(),
            field: "out".into(),
            message: format!(
                "{} holds a demo run with a different config; choose another --out or delete it",
                cfg.out.display()
            ),
        }),
        Err(_) => bcr_core::run::write_atomic(&path, text.as_bytes()).map_err(Error::from),
    }
}

/// Whether `stored` (a run's `config.toml`) is `cfg` with fewer seeds.
fn adds_seeds(stored: &str, cfg: &DemoConfig) -> bool {
    match toml::from_str::<DemoConfig>(stored) {
        Ok(old) => old.seeds < cfg.seeds && DemoConfig { seeds: cfg.seeds, ..old } == *cfg,
        Err(_) => false,
    }
}

/// Writes the train and held-out problem files (deterministic for the seed).
fn write_tasks(cfg: &DemoConfig) -> Result<(PathBuf, PathBuf)> {
    let dir = cfg.out.join("tasks");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let t = &cfg.tasks;
    let mut files = Vec::with_capacity(2);
    for (split, count, name) in
        [(Split::Train, t.train_problems, "gym-train"), (Split::Test, t.test_problems, "gym-test")]
    {
        let tasks = tasks_upto(split, &Family::ALL, t.max_difficulty, count, cfg.seed);
        if tasks.len() < count {
            return Err(Error::Config {
                file: "demo config".into(),
                field: format!("tasks.{}_problems", if split == Split::Train { "train" } else { "test" }),
                message: format!(
                    "only {} distinct problems exist up to difficulty {}, {count} asked",
                    tasks.len(),
                    t.max_difficulty
                ),
            });
        }
        let mut text = String::new();
        for (i, task) in tasks.iter().enumerate() {
            text.push_str(&serde_json::to_string(&to_problem(task, format!("{name}-{i:05}")))?);
            text.push('\n');
        }
        let path = dir.join(format!("{name}.jsonl"));
        bcr_core::run::write_atomic(&path, text.as_bytes())?;
        files.push(path);
    }
    let test = files.pop().unwrap_or_default();
    let train = files.pop().unwrap_or_default();
    Ok((train, test))
}

/// Trains one arm to its planned steps (resuming a checkpoint if there is
/// one, through `bcr train`'s own entry point) and exports its weights as an
/// HF directory `<run>/model`.
fn train_arm(cfg: &DemoConfig, tc: &bcr_rl::TrainConfig, quiet: bool) -> Result<PathBuf> {
    let run_dir = tc.out_dir();
    let model_dir = run_dir.join("model");
    if finished(&run_dir, tc.run.steps) && model_dir.join("model.safetensors").exists() {
        if !quiet {
            eprintln!("      already trained: {}", run_dir.display());
        }
        return Ok(model_dir);
    }
    let outcome = bcr_rl::train(tc.clone(), bcr_rl::Resume::IfCheckpoint, quiet)?;
    if outcome.summary.interrupted {
        return Err(Error::Interrupted(run_dir));
    }
    let ckpt = outcome.summary.checkpoint.ok_or_else(|| Error::Interrupted(run_dir.clone()))?;
    export_model(&cfg.warm_start, &ckpt, &model_dir)?;
    Ok(model_dir)
}

/// Whether `run_dir/summary.json` says all `steps` ran.
fn finished(run_dir: &Path, steps: usize) -> bool {
    let Ok(text) = std::fs::read_to_string(run_dir.join("summary.json")) else {
        return false;
    };
    serde_json::from_str::<bcr_rl::Summary>(&text).is_ok_and(|s| !s.interrupted && s.steps >= steps)
}

/// An HF directory: the warm start's config and tokenizer files with the
/// checkpoint's weights, put in place atomically.
fn export_model(warm_start: &Path, checkpoint: &Path, dir: &Path) -> Result<()> {
    bcr_core::run::replace_dir(dir, |tmp| -> Result<()> {
        for name in crate::tiny::HF_FILES {
            let from = warm_start.join(name);
            std::fs::copy(&from, tmp.join(name)).map_err(|e| Error::io(&from, e))?;
        }
        let weights = checkpoint.join(bcr_rl::checkpoint::MODEL_FILE);
        std::fs::copy(&weights, tmp.join("model.safetensors")).map_err(|e| Error::io(&weights, e))?;
        Ok(())
    })
}

/// The sweep of one model over `eval.ns` on the held-out file, resumable,
/// in `out/eval/<name>`, through `bcr eval`'s own entry point, counting the
/// gym's reflection markers. Returns the summary and the necessary steps
/// per correct answer at N = 1.
fn evaluate(
    cfg: &DemoConfig,
    name: &str,
    model: &Path,
    test_file: &Path,
    quiet: bool,
) -> Result<(bcr_eval::Summary, Option<f64>)> {
    let e = &cfg.eval;
    let sweep = SweepSettings {
        ns: e.ns.clone(),
        shuffles: 1,
        samples: e.samples,
        temperature: e.temperature,
        top_p: 1.0,
        budget: e.budget_per_problem,
        budget_mode: bcr_core::BudgetMode::PerProblem,
        system: None,
        label: bcr_core::DEFAULT_LABEL.to_string(),
        require_label: false,
        free_form: false,
        seed: cfg.seed,
    };
    let spec = EvalSpec { benchmarks: vec![test_file.display().to_string()], limit: None, template: None, sweep };
    // Evaluation runs where training does (`--set train.model.device=cuda:0`);
    // `validate` has checked both keys.
    let load = bcr_model::LoadOptions {
        device: bcr_model::parse_device(&cfg.train.model.device)?,
        dtype: bcr_model::parse_dtype(&cfg.train.model.dtype)?.into(),
    };
    let backend = BackendSpec::Native { model: model.display().to_string(), load, batch: e.batch };
    let report = ReportOptions {
        progress: !quiet,
        command: format!("bcr demo (model {})", model.display()),
        reflections: crate::reflection_markers(),
    };
    let dir = cfg.out.join("eval").join(name);
    let summary = bcr_eval::evaluate(&dir, &spec, &backend, &report)?.summary;
    Ok((summary, steps_per_correct(&dir)?))
}

/// Mean necessary steps ([`crate::necessary_steps`]) of the correct N = 1
/// responses of an eval run (`None` when none is correct).
fn steps_per_correct(dir: &Path) -> Result<Option<f64>> {
    let markers = crate::reflection_markers();
    let steps: Vec<usize> = bcr_eval::load_samples(&dir.join("samples.jsonl"))?
        .iter()
        .filter(|s| s.key.n == 1 && s.correct.first() == Some(&true))
        .map(|s| crate::necessary_steps(&s.response, &markers))
        .collect();
    Ok((!steps.is_empty()).then(|| steps.iter().sum::<usize>() as f64 / steps.len() as f64))
}
