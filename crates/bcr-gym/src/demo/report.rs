//! The demo's report: the paper-style table (accuracy change in points and
//! token change in percent at N = 1 against the warm start; BCR paper,
//! Table 1), the task-scaling table (accuracy and tokens per problem for
//! every N), the training curves, and a verdict on each finding of
//! `BCR.md`, each decided by a rule stated in the report:
//!
//! 1. task-scaling law: tokens per problem fall as N grows;
//! 2. free lunch at N = 1: the BCR model spends fewer tokens than the warm
//!    start at N = 1 with accuracy no worse (within two standard errors);
//! 3. BCR against the GRPO baseline at N = 1;
//! 4. the explicit length penalty is less stable than BCR.

use std::fmt::Write as _;
use std::path::Path;

use bcr_eval::{Row, Summary};
use bcr_rl::{StepMetrics, TrainConfig};
use serde::{Deserialize, Serialize};

use super::config::{DemoConfig, Role};
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
    /// Its sweep.
    pub summary: Summary,
    /// Its training run (`None` for the warm start).
    pub training: Option<TrainingCurve>,
    /// Wall seconds of this session's evaluation.
    pub eval_s: f64,
}

impl ModelResult {
    fn row(&self, n: usize) -> Option<&Row> {
        self.summary.rows.iter().find(|r| r.n == n && r.responses > 0)
    }
}

/// A finding of the paper and whether this run reproduced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The claim.
    pub claim: String,
    /// `Some(true)` reproduced, `Some(false)` not, `None` not testable here.
    pub reproduced: Option<bool>,
    /// The numbers and the rule behind the verdict.
    pub evidence: String,
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
    /// The verdicts.
    pub findings: Vec<Finding>,
}

impl DemoReport {
    /// Builds the report and decides the findings.
    pub fn new(cfg: &DemoConfig, models: Vec<ModelResult>, wall_s: f64, command: &str) -> Self {
        let findings = findings(&models, &cfg.eval.ns);
        DemoReport {
            command: command.to_string(),
            wall_s,
            ns: cfg.eval.ns.clone(),
            test_problems: cfg.tasks.test_problems,
            models,
            findings,
        }
    }

    /// Writes `report.md`, `summary.json`, `scaling.svg` and `scaling.png`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let md = dir.join("report.md");
        bcr_core::run::write_atomic(&md, self.markdown().as_bytes())?;
        let json = serde_json::to_string_pretty(self)?;
        bcr_core::run::write_atomic(&dir.join("summary.json"), json.as_bytes())?;
        let runs: Vec<(String, Summary)> = self.models.iter().map(|m| (m.label.clone(), m.summary.clone())).collect();
        let bench = self.models.first().and_then(|m| m.summary.rows.first()).map(|r| r.benchmark.clone());
        bcr_eval::write_model_plots(dir, &runs, bench.as_deref().unwrap_or("gym-test")).map_err(Error::from)
    }

    /// The paper-style table at N = 1 against the warm start.
    pub fn paper_table(&self) -> String {
        let mut out = String::from(
            "| model | accuracy (%) | Δ acc (pts) | tokens/problem | Δ tokens (%) |\n|---|---:|---:|---:|---:|\n",
        );
        let base = self.models.first().and_then(|m| m.row(1));
        for m in &self.models {
            let Some(r) = m.row(1) else { continue };
            let (acc, tok) = (100.0 * r.accuracy, r.tokens_per_problem);
            let (dacc, dtok) = match (base, m.role) {
                (Some(b), Some(_)) => (
                    format!("{:+.1}", acc - 100.0 * b.accuracy),
                    pct(tok, b.tokens_per_problem).map_or("-".into(), |p| format!("{p:+.1}%")),
                ),
                _ => ("-".into(), "-".into()),
            };
            let _ =
                writeln!(out, "| {} | {acc:.1} ± {:.1} | {dacc} | {tok:.1} | {dtok} |", m.label, 100.0 * r.accuracy_se);
        }
        out
    }

    /// Accuracy (%) and tokens per problem for every model and N.
    pub fn scaling_table(&self) -> String {
        let mut out = String::from("| model |");
        for n in &self.ns {
            let _ = write!(out, " N={n} |");
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.ns.len()));
        out.push('\n');
        for m in &self.models {
            let _ = write!(out, "| {} |", m.label);
            for &n in &self.ns {
                match m.row(n) {
                    Some(r) => {
                        let _ = write!(out, " {:.1}% / {:.0} |", 100.0 * r.accuracy, r.tokens_per_problem);
                    }
                    None => out.push_str(" - |"),
                }
            }
            out.push('\n');
        }
        out
    }

    /// The training runs side by side.
    pub fn training_table(&self) -> String {
        let mut out = String::from(
            "| arm | N | budget | steps | reward | train acc | tokens/problem | truncated | acc jitter | wall (s) |\n\
             |---|---:|---:|---:|---|---|---|---|---:|---:|\n",
        );
        for m in &self.models {
            let Some(c) = &m.training else { continue };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.3} → {:.3} | {:.3} → {:.3} | {:.0} → {:.0} | {:.2} → {:.2} | {:.3} | {:.0} |",
                m.label,
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
                c.wall_s
            );
        }
        out
    }

    /// The findings as a Markdown list.
    pub fn findings_list(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let verdict = match f.reproduced {
                Some(true) => "**reproduced**",
                Some(false) => "**not reproduced**",
                None => "**not testable in this run**",
            };
            let _ = writeln!(out, "- {}: {verdict}. {}", f.claim, f.evidence);
        }
        out
    }

    /// The whole `report.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# bcr demo: Batched Contextual Reinforcement on the gym\n\n");
        let _ = writeln!(
            out,
            "Command: `{}`. Wall time of this session: {:.0} s ({:.1} min). Held-out problems per N: {}.\n",
            self.command,
            self.wall_s,
            self.wall_s / 60.0,
            self.test_problems
        );
        if self.test_problems < 48 {
            out.push_str(
                "**Smoke-test size: with fewer than 48 held-out problems per N the verdicts below are noise.**\n\n",
            );
        }
        out.push_str("## Findings of the paper (BCR.md), at this scale\n\n");
        out.push_str(&self.findings_list());
        out.push_str("\n## Against the warm start at N = 1 (paper-style table)\n\n");
        out.push_str(&self.paper_table());
        out.push_str("\n## Task scaling: accuracy / tokens per problem\n\n");
        out.push_str(&self.scaling_table());
        out.push_str("\n![scaling](scaling.png)\n\n## Training (first quarter → last quarter of the steps)\n\n");
        out.push_str(&self.training_table());
        out.push_str("\n## Time\n\n| phase | wall (s) |\n|---|---:|\n");
        for m in &self.models {
            if let Some(c) = &m.training {
                let _ = writeln!(out, "| train {} | {:.0} |", m.label, c.wall_s);
            }
        }
        for m in &self.models {
            let _ = writeln!(out, "| evaluate {} | {:.0} |", m.label, m.eval_s);
        }
        out
    }
}

/// Relative change of `new` against `old`, in percent.
fn pct(new: f64, old: f64) -> Option<f64> {
    (old > 0.0).then(|| 100.0 * (new - old) / old)
}

/// Two standard errors of a difference of independent accuracies, in points.
fn two_se(a: &Row, b: &Row) -> f64 {
    200.0 * (a.accuracy_se.powi(2) + b.accuracy_se.powi(2)).sqrt()
}

fn findings(models: &[ModelResult], ns: &[usize]) -> Vec<Finding> {
    let by_role = |role: Role| models.iter().find(|m| m.role == Some(role));
    let warm = models.first();
    let (n_lo, n_hi) = (ns.iter().copied().min().unwrap_or(1), ns.iter().copied().max().unwrap_or(1));
    let mut out = Vec::new();

    // 1. Task-scaling law.
    let mut evidence = Vec::new();
    let mut falls = Vec::new();
    for m in models {
        if let (Some(lo), Some(hi)) = (m.row(n_lo), m.row(n_hi)) {
            let ok = hi.tokens_per_problem < lo.tokens_per_problem;
            falls.push(ok);
            evidence.push(format!(
                "{}: {:.0} → {:.0} tokens/problem, accuracy {:.1}% → {:.1}%",
                m.label,
                lo.tokens_per_problem,
                hi.tokens_per_problem,
                100.0 * lo.accuracy,
                100.0 * hi.accuracy
            ));
        }
    }
    out.push(Finding {
        claim: format!("Task-scaling law: tokens per problem fall as N grows (N={n_lo} → N={n_hi})"),
        reproduced: (n_hi > n_lo && !falls.is_empty()).then(|| falls.iter().all(|&x| x)),
        evidence: format!("Rule: lower at N={n_hi} than at N={n_lo} for every model. {}.", evidence.join("; ")),
    });

    // 2. Free lunch at N = 1.
    let bcr = by_role(Role::Bcr);
    out.push(match (warm.and_then(|w| w.row(1)), bcr.and_then(|b| b.row(1))) {
        (Some(w), Some(b)) => {
            let dtok = pct(b.tokens_per_problem, w.tokens_per_problem).unwrap_or(0.0);
            let dacc = 100.0 * (b.accuracy - w.accuracy);
            let margin = two_se(w, b);
            Finding {
                claim: "Free lunch at N=1: BCR training cuts tokens at N=1 without losing accuracy".into(),
                reproduced: Some(dtok <= -10.0 && dacc >= -margin),
                evidence: format!(
                    "Rule: tokens −10% or more and accuracy change ≥ −2 s.e. ({margin:.1} pts). \
                     Measured: tokens {dtok:+.1}%, accuracy {dacc:+.1} pts."
                ),
            }
        }
        _ => Finding {
            claim: "Free lunch at N=1".into(),
            reproduced: None,
            evidence: "needs the warm start and a `bcr` arm evaluated at N=1".into(),
        },
    });

    // 3. BCR against the baseline at N = 1.
    let base = by_role(Role::Baseline);
    out.push(match (base.and_then(|m| m.row(1)), bcr.and_then(|m| m.row(1))) {
        (Some(g), Some(b)) => {
            let dtok = pct(b.tokens_per_problem, g.tokens_per_problem).unwrap_or(0.0);
            let dacc = 100.0 * (b.accuracy - g.accuracy);
            let margin = two_se(g, b);
            Finding {
                claim: "BCR is at least as efficient as the N=1 GRPO baseline at the same per-problem budget".into(),
                reproduced: Some(dtok <= 0.0 && dacc >= -margin),
                evidence: format!(
                    "Rule: BCR's tokens/problem at N=1 no higher and accuracy within 2 s.e. ({margin:.1} pts). \
                     Measured: BCR vs baseline tokens {dtok:+.1}%, accuracy {dacc:+.1} pts."
                ),
            }
        }
        _ => Finding {
            claim: "BCR vs the GRPO baseline".into(),
            reproduced: None,
            evidence: "needs a `bcr` and a `baseline` arm".into(),
        },
    });

    // 4. The explicit length penalty is less stable.
    let lp = by_role(Role::LengthPenalty);
    out.push(match (bcr, lp, warm.and_then(|w| w.row(1))) {
        (Some(b), Some(l), Some(w)) => match (b.row(1), l.row(1), &b.training, &l.training) {
            (Some(br), Some(lr), Some(bc), Some(lc)) => {
                let drop_b = 100.0 * (br.accuracy - w.accuracy);
                let drop_l = 100.0 * (lr.accuracy - w.accuracy);
                let worse_acc = drop_l < drop_b - two_se(br, lr);
                let jumpier = lc.accuracy_jitter > bc.accuracy_jitter;
                Finding {
                    claim: "The explicit length penalty is less stable than BCR's implicit budget".into(),
                    reproduced: Some(worse_acc || (jumpier && drop_l <= drop_b)),
                    evidence: format!(
                        "Rule: its N=1 accuracy change from the warm start is lower than BCR's by more than 2 s.e., \
                         or its training accuracy is jumpier with no better accuracy. Measured: accuracy change \
                         {drop_l:+.1} pts vs BCR {drop_b:+.1} pts; step-to-step accuracy jitter {:.3} vs {:.3}; \
                         tokens/problem in training {:.0} → {:.0}.",
                        lc.accuracy_jitter, bc.accuracy_jitter, lc.tokens_per_problem.0, lc.tokens_per_problem.1
                    ),
                }
            }
            _ => Finding {
                claim: "Length penalty less stable".into(),
                reproduced: None,
                evidence: "an arm has no N=1 row or no training curve".into(),
            },
        },
        _ => Finding {
            claim: "Length penalty less stable".into(),
            reproduced: None,
            evidence: "needs a `bcr` and a `length-penalty` arm".into(),
        },
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(n: usize, acc: f64, tok: f64) -> Row {
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
            truncation_rate: 0.0,
            format_failure_rate: 0.0,
            wall_s: 1.0,
            problems_per_s: 1.0,
            tokens_per_s: 1.0,
            token_sources: BTreeMap::new(),
        }
    }

    fn model(name: &str, role: Option<Role>, rows: Vec<Row>, jitter: f64) -> ModelResult {
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
            free_form: true,
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
            accuracy_jitter: jitter,
            wall_s: 0.0,
        });
        ModelResult {
            name: name.into(),
            label: name.into(),
            role,
            summary: Summary { run, backend: "x".into(), rows },
            training,
            eval_s: 0.0,
        }
    }

    #[test]
    fn verdicts_follow_the_stated_rules() {
        let models = vec![
            model("warm", None, vec![row(1, 0.50, 100.0), row(8, 0.40, 80.0)], 0.0),
            model("bcr", Some(Role::Bcr), vec![row(1, 0.52, 70.0), row(8, 0.45, 50.0)], 0.05),
            model("grpo", Some(Role::Baseline), vec![row(1, 0.50, 85.0), row(8, 0.30, 90.0)], 0.05),
            model("lp", Some(Role::LengthPenalty), vec![row(1, 0.30, 40.0), row(8, 0.20, 30.0)], 0.2),
        ];
        let f = findings(&models, &[1, 8]);
        // grpo's tokens rise with N, so the law does not hold for every model.
        assert_eq!(f[0].reproduced, Some(false), "{f:?}");
        assert_eq!(f[1].reproduced, Some(true), "{f:?}");
        assert_eq!(f[2].reproduced, Some(true), "{f:?}");
        assert_eq!(f[3].reproduced, Some(true), "{f:?}");
        // A BCR model that loses 10 points is no free lunch.
        let mut worse = models.clone();
        worse[1].summary.rows[0] = row(1, 0.40, 70.0);
        let f = findings(&worse, &[1, 8]);
        assert_eq!(f[1].reproduced, Some(false), "{f:?}");
        // Without arms, nothing but the law is testable.
        let f = findings(&models[..1], &[1, 8]);
        assert_eq!(f[0].reproduced, Some(true));
        assert!(f[1..].iter().all(|x| x.reproduced.is_none()));
    }

    #[test]
    fn tables_show_every_model_and_n() {
        let models = vec![
            model("warm", None, vec![row(1, 0.5, 100.0), row(8, 0.4, 80.0)], 0.0),
            model("bcr", Some(Role::Bcr), vec![row(1, 0.52, 70.0), row(8, 0.45, 50.0)], 0.0),
        ];
        let r = DemoReport {
            command: "bcr demo".into(),
            wall_s: 60.0,
            ns: vec![1, 8],
            test_problems: 48,
            findings: findings(&models, &[1, 8]),
            models,
        };
        let paper = r.paper_table();
        assert!(paper.contains("| bcr | 52.0 ± 2.0 | +2.0 | 70.0 | -30.0% |"), "{paper}");
        let scaling = r.scaling_table();
        assert!(scaling.contains("| warm | 50.0% / 100 | 40.0% / 80 |"), "{scaling}");
        assert!(r.markdown().contains("Free lunch"));
    }
}
