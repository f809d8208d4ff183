//! The demo's report: the paper-style table (accuracy change in points and
//! token change in percent at N = 1 against the warm start; BCR paper,
//! Table 1), the task-scaling table (accuracy and tokens per problem for
//! every N), the reflection table, the training curves, and the verdicts
//! of [`super::findings`] on the mean over training seeds, with each seed's
//! own verdicts listed.

use std::fmt::Write as _;
use std::path::Path;

use bcr_eval::{Row, Summary};
use bcr_rl::{StepMetrics, TrainConfig};
use serde::{Deserialize, Serialize};

use super::config::{DemoConfig, Role};
use super::findings::{decide, Finding, Point, View, Views};
use crate::error::{Error, Result};

/// A training run, reduced to what the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCurve {
    /// Steps run.
    pub steps: usize,
    /// N of the packs (first of the list).
    pub n: usize,
    /// Token budget of a response.
    pub budget: usize,
    /// Mean over the first and last quarter of the steps: reward.
    pub reward: (f64, f64),
    /// Training accuracy, first and last quarter.
    pub accuracy: (f64, f64),
    /// Tokens per problem, first and last quarter.
    pub tokens_per_problem: (f64, f64),
    /// Share of responses cut by the budget, first and last quarter.
    pub truncation: (f64, f64),
    /// Standard deviation of the step-to-step change in training accuracy:
    /// how jumpy the run was.
    pub accuracy_jitter: f64,
    /// Wall seconds of this session's training (0 when it was resumed done).
    pub wall_s: f64,
    /// Seconds of its training steps as the run recorded them (`step_s` in
    /// `metrics.jsonl`): the training's own time, whichever session ran it.
    #[serde(default)]
    pub steps_s: f64,
}

impl TrainingCurve {
    /// Reads `run_dir/metrics.jsonl`.
    pub fn read(run_dir: &Path, cfg: &TrainConfig, wall_s: f64) -> Result<Self> {
        let all: Vec<StepMetrics> = bcr_core::run::read_jsonl(&run_dir.join("metrics.jsonl"))?;
        let q = (all.len() / 4).max(1);
        let mean = |xs: &[StepMetrics], f: fn(&StepMetrics) -> f64| {
            if xs.is_empty() {
                f64::NAN
            } else {
                xs.iter().map(f).sum::<f64>() / xs.len() as f64
            }
        };
        let (head, tail) = (&all[..q.min(all.len())], &all[all.len().saturating_sub(q)..]);
        let pair = |f: fn(&StepMetrics) -> f64| (mean(head, f), mean(tail, f));
        let diffs: Vec<f64> = all.windows(2).map(|w| w[1].accuracy - w[0].accuracy).collect();
        let jitter = if diffs.is_empty() {
            0.0
        } else {
            let m = diffs.iter().sum::<f64>() / diffs.len() as f64;
            (diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / diffs.len() as f64).sqrt()
        };
        Ok(TrainingCurve {
            steps: all.len(),
            n: cfg.data.n.first().copied().unwrap_or(1),
            budget: cfg.data.budget,
            reward: pair(|m| m.reward_mean),
            accuracy: pair(|m| m.accuracy),
            tokens_per_problem: pair(|m| m.tokens_per_problem),
            truncation: pair(|m| m.truncation_rate),
            accuracy_jitter: jitter,
            wall_s,
            steps_s: all.iter().map(|m| m.step_s).sum(),
        })
    }
}

/// One evaluated model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Directory name (`warm-start` or the arm name).
    pub name: String,
    /// Display name.
    pub label: String,
    /// The arm's role (`None` for the warm start).
    pub role: Option<Role>,
    /// The training seed (`None` for the warm start).
    pub seed: Option<u64>,
    /// Its sweep.
    pub summary: Summary,
    /// Necessary steps per correct answer at N = 1 (`None`: none correct).
    pub steps_per_correct: Option<f64>,
    /// Its training run (`None` for the warm start).
    pub training: Option<TrainingCurve>,
    /// Wall seconds of this session's evaluation.
    pub eval_s: f64,
}

impl ModelResult {
    /// Its label with its training seed (`BCR N=3 (seed 1)`).
    pub fn display(&self) -> String {
        match self.seed {
            Some(seed) => format!("{} (seed {seed})", self.label),
            None => self.label.clone(),
        }
    }

    /// Its row at `n`, if evaluated.
    pub fn row(&self, n: usize) -> Option<&Row> {
        self.summary.rows.iter().find(|r| r.n == n && r.responses > 0)
    }
}

/// The verdicts of one training seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedFindings {
    /// The seed.
    pub seed: u64,
    /// Its verdicts, in the order of the mean's.
    pub findings: Vec<Finding>,
}

/// Everything `bcr demo` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoReport {
    /// The command line.
    pub command: String,
    /// Wall seconds of this session.
    pub wall_s: f64,
    /// Evaluated N.
    pub ns: Vec<usize>,
    /// Held-out problems per N.
    pub test_problems: usize,
    /// Warm start first, then the arms.
    pub models: Vec<ModelResult>,
    /// The verdicts on the mean over training seeds.
    pub findings: Vec<Finding>,
    /// Each seed's own verdicts.
    pub seed_findings: Vec<SeedFindings>,
}

impl DemoReport {
    /// Builds the report and decides the findings.
    pub fn new(cfg: &DemoConfig, models: Vec<ModelResult>, wall_s: f64, command: &str) -> Self {
        let findings = decide(&Views::new(&models, |_| true));
        let mut seeds: Vec<u64> = models.iter().filter_map(|m| m.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let seed_findings = match seeds.len() {
            0 | 1 => Vec::new(),
            _ => seeds
                .iter()
                .map(|&seed| SeedFindings { seed, findings: decide(&Views::new(&models, |s| s == Some(seed))) })
                .collect(),
        };
        DemoReport {
            command: command.to_string(),
            wall_s,
            ns: cfg.eval.ns.clone(),
            test_problems: cfg.tasks.test_problems,
            models,
            findings,
            seed_findings,
        }
    }

    /// The warm start, then each arm averaged over its seeds.
    fn views(&self) -> Vec<View> {
        let v = Views::new(&self.models, |_| true);
        v.warm.into_iter().chain(v.arms.into_values()).collect()
    }

    /// Writes `report.md`, `summary.json`, `scaling.svg` and `scaling.png`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let md = dir.join("report.md");
        bcr_core::run::write_atomic(&md, self.markdown().as_bytes())?;
        let json = serde_json::to_string_pretty(self)?;
        bcr_core::run::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
        let runs = self.plotted();
        let bench = self.models.first().and_then(|m| m.summary.rows.first()).map(|r| r.benchmark.clone());
        bcr_eval::write_model_plots(dir, &runs, bench.as_deref().unwrap_or("gym-test")).map_err(Error::from)
    }

    /// One line per model for the plot: the warm start, and each arm as the
    /// mean over its seeds (the rows of its first seed with the means put in).
    fn plotted(&self) -> Vec<(String, Summary)> {
        let mut runs = Vec::new();
        for v in self.views() {
            let seeds: Vec<&ModelResult> = self.models.iter().filter(|m| m.label == v.label).collect();
            let Some(first) = seeds.first() else { continue };
            let mut summary = first.summary.clone();
            for row in &mut summary.rows {
                if let Some(p) = v.points.get(&row.n) {
                    (row.accuracy, row.accuracy_se) = (p.acc.mean, p.acc.se);
                    (row.tokens_per_problem, row.tokens_per_problem_se) = (p.tok.mean, p.tok.se);
                    row.reflections_per_problem = p.refl;
                }
            }
            let label = match seeds.len() {
                1 => v.label.clone(),
                k => format!("{} (mean of {k} seeds)", v.label),
            };
            runs.push((label, summary));
        }
        runs
    }

    /// The paper-style table at N = 1 against the warm start (arms: mean over seeds).
    pub fn paper_table(&self) -> String {
        let mut out = String::from(
            "| model | accuracy (%) | Δ acc (pts) | tokens/problem | Δ tokens (%) |\n|---|---:|---:|---:|---:|\n",
        );
        let views = self.views();
        let base = views.first().and_then(|w| w.points.get(&1).copied());
        for (i, v) in views.iter().enumerate() {
            let Some(p) = v.points.get(&1) else { continue };
            let (acc, tok) = (100.0 * p.acc.mean, p.tok.mean);
            let (dacc, dtok) = match base {
                Some(b) if i > 0 => (format!("{:+.1}", acc - 100.0 * b.acc.mean), pct(tok, b.tok.mean)),
                _ => ("-".into(), "-".into()),
            };
            let _ = writeln!(out, "| {} | {acc:.1} ± {:.1} | {dacc} | {tok:.1} | {dtok} |", v.label, 100.0 * p.acc.se);
        }
        out
    }

    /// One cell per model and N (arms: mean over seeds).
    fn per_n_table(&self, cell: impl Fn(&Point) -> String) -> String {
        let mut out = String::from("| model |");
        for n in &self.ns {
            let _ = write!(out, " N={n} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.ns.len()));
        out.push('\n');
        for v in self.views() {
            let _ = write!(out, "| {} |", v.label);
            for n in &self.ns {
                match v.points.get(n) {
                    Some(p) => {
                        let _ = write!(out, " {} |", cell(p));
                    }
                    None => out.push_str(" - |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// Accuracy (%) and tokens per problem for every model and N.
    pub fn scaling_table(&self) -> String {
        self.per_n_table(|p| format!("{:.1}% / {:.0}", 100.0 * p.acc.mean, p.tok.mean))
    }

    /// The gym's redundant reflections per problem for every model and N.
    pub fn reflection_table(&self) -> String {
        self.per_n_table(|p| format!("{:.2}", p.refl))
    }

    /// The training runs side by side.
    pub fn training_table(&self) -> String {
        let mut out = String::from(
            "| arm | N | budget | steps | reward | train acc | tokens/problem | truncated | acc jitter | step time (s) |\n\
             |---|---:|---:|---:|---|---|---|---|---:|---:|\n",
        );
        for m in &self.models {
            let Some(c) = &m.training else { continue };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.3} → {:.3} | {:.3} → {:.3} | {:.0} → {:.0} | {:.2} → {:.2} | {:.3} | {:.0} |",
                m.display(),
                c.n,
                c.budget,
                c.steps,
                c.reward.0,
                c.reward.1,
                c.accuracy.0,
                c.accuracy.1,
                c.tokens_per_problem.0,
                c.tokens_per_problem.1,
                c.truncation.0,
                c.truncation.1,
                c.accuracy_jitter,
                c.steps_s
            );
        }
        out
    }

    /// The findings as a numbered Markdown list.
    pub fn findings_list(&self) -> String {
        let mut out = String::new();
        for (i, f) in self.findings.iter().enumerate() {
            let verdict = match f.reproduced {
                Some(true) => "**reproduced**",
                Some(false) => "**not reproduced**",
                None => "**not testable in this run**",
            };
            let _ = writeln!(out, "{}. {}: {verdict}. {}", i + 1, f.claim, f.evidence);
        }
        out
    }

    /// Each seed's verdicts, one row per seed (empty with one seed).
    fn seed_table(&self) -> String {
        if self.seed_findings.is_empty() {
            return String::new();
        }
        let mut out = String::from("\nEach training seed on its own:\n\n| seed |");
        for i in 1..=self.findings.len() {
            let _ = write!(out, " finding {i} |");
        }
        out.push_str("\n|---:|");
        out.push_str(&"---|".repeat(self.findings.len()));
        out.push('\n');
        for s in &self.seed_findings {
            let _ = write!(out, "| {} |", s.seed);
            for f in &s.findings {
                let v = match f.reproduced {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "-",
                };
                let _ = write!(out, " {v} |");
            }
            out.push('\n');
        }
        out
    }

    /// The whole `report.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# bcr demo: Batched Contextual Reinforcement on the gym\n\n");
        let _ = writeln!(
            out,
            "Command: `{}`. Wall time of this session: {:.0} s ({:.1} min; runs that an earlier session finished \
             in this directory are reused, see Time). Training steps of all runs, as recorded: {:.0} s. \
             Held-out problems per N: {}.\n",
            self.command,
            self.wall_s,
            self.wall_s / 60.0,
            self.models.iter().filter_map(|m| m.training.as_ref()).map(|c| c.steps_s).sum::<f64>(),
            self.test_problems
        );
        if self.test_problems < 48 {
            out.push_str(
                "**Smoke-test size: with fewer than 48 held-out problems per N the verdicts below are noise.**\n\n",
            );
        }
        out.push_str("## Findings of the paper (BCR.md), at this scale\n\n");
        let seeds = self.models.iter().filter(|m| m.role == Some(Role::Bcr)).count();
        let _ = writeln!(
            out,
            "Decided on the mean over {seeds} training seed(s) per arm; the rules are in `docs/demo.md`.\n"
        );
        out.push_str(&self.findings_list());
        out.push_str(&self.seed_table());
        out.push_str("\n## Against the warm start at N = 1 (paper-style table)\n\n");
        out.push_str(&self.paper_table());
        out.push_str("\n## Task scaling: accuracy / tokens per problem\n\n");
        out.push_str(&self.scaling_table());
        out.push_str("\n## Redundant reflections per problem (gym markers: re-checks and detours)\n\n");
        out.push_str(&self.reflection_table());
        out.push_str("\n![scaling](scaling.png)\n\n## Training (first quarter → last quarter of the steps)\n\n");
        out.push_str(&self.training_table());
        out.push_str(
            "\n## Time\n\nWall seconds in this session; 0: done by an earlier session into the same directory \
             (the training table gives each run's recorded step time).\n\n| phase | wall (s) |\n|---|---:|\n",
        );
        for m in &self.models {
            if let Some(c) = &m.training {
                let _ = writeln!(out, "| train {} | {:.0} |", m.display(), c.wall_s);
            }
        }
        for m in &self.models {
            let _ = writeln!(out, "| evaluate {} | {:.0} |", m.display(), m.eval_s);
        }
        out
    }
}

/// `new` against `old` as a signed percentage (`-` when `old` is 0).
fn pct(new: f64, old: f64) -> String {
    if old > 0.0 {
        format!("{:+.1}%", 100.0 * (new - old) / old)
    } else {
        "-".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(n: usize, acc: f64, tok: f64, refl: f64) -> Row {
        Row {
            benchmark: "gym-test".into(),
            n,
            problems: 48,
            responses: 48 / n,
            expected: 48 / n,
            accuracy: acc,
            accuracy_se: 0.02,
            pass_at_k: None,
            tokens_per_problem: tok,
            tokens_per_problem_se: 1.0,
            reflections_per_problem: refl,
            reflections_per_1k_tokens: 1000.0 * refl / tok,
            truncation_rate: 0.0,
            format_failure_rate: 0.0,
            wall_s: 1.0,
            problems_per_s: 1.0,
            tokens_per_s: 1.0,
            token_sources: BTreeMap::new(),
        }
    }

    fn model(name: &str, role: Option<Role>, seed: Option<u64>, rows: Vec<Row>) -> ModelResult {
        let sweep = bcr_eval::SweepSettings {
            ns: vec![1, 8],
            shuffles: 1,
            samples: 1,
            temperature: 1.0,
            top_p: 1.0,
            budget: 100,
            budget_mode: bcr_core::BudgetMode::PerProblem,
            system: None,
            label: "Answer".into(),
            require_label: false,
            free_form: false,
            seed: 0,
        };
        let run = bcr_eval::RunConfig {
            benchmarks: vec![],
            sweep,
            limit: None,
            template: String::new(),
            backend: "native:x".into(),
        };
        let training = role.map(|_| TrainingCurve {
            steps: 10,
            n: 1,
            budget: 100,
            reward: (0.0, 0.0),
            accuracy: (0.0, 0.0),
            tokens_per_problem: (0.0, 0.0),
            truncation: (0.0, 0.0),
            accuracy_jitter: 0.05,
            wall_s: 0.0,
            steps_s: 0.0,
        });
        let summary = Summary { run, backend: "x".into(), reflection_phrases: vec![], rows };
        ModelResult {
            name: name.into(),
            label: name.into(),
            role,
            seed,
            summary,
            steps_per_correct: Some(3.0),
            training,
            eval_s: 0.0,
        }
    }

    fn report(models: Vec<ModelResult>) -> DemoReport {
        let cfg = DemoConfig::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/demo.toml"),
            false,
            &["eval.ns=[1,8]".into(), "tasks.test_problems=48".into()],
        )
        .unwrap();
        DemoReport::new(&cfg, models, 60.0, "bcr demo")
    }

    #[test]
    fn tables_average_the_seeds_and_list_each_seeds_verdicts() {
        let models = vec![
            model("warm", None, None, vec![row(1, 0.50, 100.0, 3.0), row(8, 0.40, 80.0, 3.0)]),
            model("bcr", Some(Role::Bcr), Some(0), vec![row(1, 0.52, 70.0, 1.0), row(8, 0.45, 50.0, 0.5)]),
            model("bcr", Some(Role::Bcr), Some(1), vec![row(1, 0.48, 80.0, 2.0), row(8, 0.35, 60.0, 1.5)]),
        ];
        let r = report(models);
        let paper = r.paper_table();
        // Mean of the seeds: 50.0% and 75 tokens; s.e. sqrt((0.02^2+0.02^2)/4 + 0.0283^2/2) = 2.45 pts.
        assert!(paper.contains("| bcr | 50.0 ± 2.4 | +0.0 | 75.0 | -25.0% |"), "{paper}");
        let scaling = r.scaling_table();
        assert!(scaling.contains("| warm | 50.0% / 100 | 40.0% / 80 |"), "{scaling}");
        assert!(scaling.contains("| bcr | 50.0% / 75 | 40.0% / 55 |"), "{scaling}");
        assert!(r.reflection_table().contains("| bcr | 1.50 | 1.00 |"), "{}", r.reflection_table());
        assert_eq!(r.seed_findings.len(), 2);
        let md = r.markdown();
        assert!(md.contains("| seed |") && md.contains("bcr (seed 1)") && md.contains("Free lunch"), "{md}");
    }
}
