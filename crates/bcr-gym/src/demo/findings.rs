//! The verdicts of `bcr demo`: each finding of the paper (BCR.md) decided by
//! a rule written here and in `docs/demo.md` before the runs it judges, on
//! the mean over training seeds (and, for the per-seed list, on each seed).
//!
//! 1. *Task-scaling law*, for the BCR-trained model: tokens per problem do
//!    not rise from one N to the next by more than one standard error, and
//!    fall from the smallest to the largest N by more than two; its accuracy
//!    retention (accuracy at the largest N / accuracy at N = 1) is higher
//!    than the warm start's and the N = 1 GRPO baseline's.
//! 2. *Free lunch at N = 1*: at least 15% fewer tokens than the warm start
//!    (the paper's smallest saving is 15.8%), accuracy not lower by more
//!    than one standard error.
//! 3. *Self-regulated efficiency*: the gym's redundant reflections per
//!    problem at N = 1 fall to at most half the warm start's, while the
//!    necessary steps of a correct solution stay (at least 90% of the warm
//!    start's per correct answer).
//! 4. *Length penalty*: its N = 1 accuracy change from the warm start is
//!    lower than BCR's by more than two standard errors, or its training
//!    accuracy is jumpier with no better accuracy.
//! 5. *BCR against GRPO at N = 1 with the same per-problem budget* (a test
//!    the paper did not run): BCR's tokens per problem at N = 1 no higher,
//!    accuracy within two standard errors.
//!
//! Standard errors: a model's accuracy s.e. is over problems
//! (`bcr_eval::Row::accuracy_se`), its tokens-per-problem s.e. over
//! responses. A mean over K seeds has s.e. `sqrt(within^2 + between^2)`:
//! `within = sqrt(sum se_i^2) / K` (sampling), `between = sd_seeds /
//! sqrt(K)` (training); the sum counts sampling noise twice, so the rules
//! err on the side of "not reproduced". A difference of two models has the
//! root sum of squares of their s.e.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::Role;
use super::report::ModelResult;

/// A mean and its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    /// The value.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

impl Stat {
    /// The mean over `xs` (value, s.e.) of several seeds (see the module doc).
    fn over_seeds(xs: &[Stat]) -> Stat {
        let k = xs.len().max(1) as f64;
        let mean = xs.iter().map(|x| x.mean).sum::<f64>() / k;
        let within = xs.iter().map(|x| x.se * x.se).sum::<f64>().sqrt() / k;
        let between = match xs.len() {
            0 | 1 => 0.0,
            n => (xs.iter().map(|x| (x.mean - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() / k.sqrt(),
        };
        Stat { mean, se: (within * within + between * between).sqrt() }
    }
}

/// The s.e. of `a - b` for independent `a` and `b`.
fn se_diff(a: Stat, b: Stat) -> f64 {
    (a.se * a.se + b.se * b.se).sqrt()
}

/// One model (or the mean of one arm's seeds) at one N.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Accuracy in [0, 1].
    pub acc: Stat,
    /// Tokens per problem.
    pub tok: Stat,
    /// Gym reflections per problem.
    pub refl: f64,
}

/// A model, or an arm averaged over its seeds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    /// Display name.
    pub label: String,
    /// By N.
    pub points: BTreeMap<usize, Point>,
    /// Necessary steps per correct answer at N = 1.
    pub steps: Option<f64>,
    /// Step-to-step jitter of training accuracy (arms only).
    pub jitter: Option<f64>,
}

impl View {
    /// The mean view of `models` (one seed each; one model for the warm start).
    pub fn mean(models: &[&ModelResult]) -> Option<View> {
        let first = models.first()?;
        let mut points = BTreeMap::new();
        for r in first.summary.rows.iter().filter(|r| r.responses > 0) {
            let rows: Vec<_> = models.iter().filter_map(|m| m.row(r.n)).collect();
            if rows.len() != models.len() {
                continue;
            }
            let stat = |f: fn(&bcr_eval::Row) -> Stat| Stat::over_seeds(&rows.iter().map(|r| f(r)).collect::<Vec<_>>());
            let refl = rows.iter().map(|r| r.reflections_per_problem).sum::<f64>() / rows.len() as f64;
            let point = Point {
                acc: stat(|r| Stat { mean: r.accuracy, se: r.accuracy_se }),
                tok: stat(|r| Stat { mean: r.tokens_per_problem, se: r.tokens_per_problem_se }),
                refl,
            };
            points.insert(r.n, point);
        }
        let mean_of = |xs: Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
        let steps = models.iter().map(|m| m.steps_per_correct).collect::<Option<Vec<f64>>>().and_then(mean_of);
        let jitter = models.iter().map(|m| m.training.as_ref().map(|c| c.accuracy_jitter)).collect::<Option<Vec<_>>>();
        Some(View { label: first.label.clone(), points, steps, jitter: jitter.and_then(mean_of) })
    }

    fn at(&self, n: usize) -> Option<&Point> {
        self.points.get(&n)
    }

    /// Accuracy at the largest N over accuracy at the smallest.
    fn retention(&self) -> Option<f64> {
        let (lo, hi) = (self.points.values().next()?, self.points.values().next_back()?);
        (lo.acc.mean > 0.0).then(|| hi.acc.mean / lo.acc.mean)
    }
}

/// The warm start and the arms' views by role.
#[derive(Debug, Clone, Default)]
pub struct Views {
    /// The SFT warm start.
    pub warm: Option<View>,
    /// Each arm's view by its role.
    pub arms: BTreeMap<RoleKey, View>,
}

/// [`Role`] as a map key.
pub type RoleKey = u8;

fn key(role: Role) -> RoleKey {
    role as u8
}

impl Views {
    /// Views of the warm start and of each role, over the seeds `keep` accepts.
    pub fn new(models: &[ModelResult], keep: impl Fn(Option<u64>) -> bool) -> Views {
        let warm = models.iter().find(|m| m.role.is_none());
        let mut arms = BTreeMap::new();
        for role in [Role::Bcr, Role::Baseline, Role::LengthPenalty] {
            let seeds: Vec<&ModelResult> = models.iter().filter(|m| m.role == Some(role) && keep(m.seed)).collect();
            if let Some(v) = View::mean(&seeds) {
                arms.insert(key(role), v);
            }
        }
        Views { warm: warm.and_then(|w| View::mean(&[w])), arms }
    }

    fn arm(&self, role: Role) -> Option<&View> {
        self.arms.get(&key(role))
    }
}

/// A finding of the paper and whether this run reproduced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The claim.
    pub claim: String,
    /// `Some(true)` reproduced, `Some(false)` not, `None` not testable here.
    pub reproduced: Option<bool>,
    /// The rule and the measured values behind the verdict.
    pub evidence: String,
}

fn untestable(claim: &str, why: &str) -> Finding {
    Finding { claim: claim.into(), reproduced: None, evidence: why.into() }
}

/// Every finding, in the order of the module doc.
pub fn decide(v: &Views) -> Vec<Finding> {
    vec![scaling_law(v), free_lunch(v), self_regulation(v), length_penalty(v), versus_grpo(v)]
}

const LAW: &str = "Task-scaling law: the BCR model's tokens per problem fall as N grows, and its accuracy degrades more gracefully than the baselines'";

fn scaling_law(v: &Views) -> Finding {
    let (Some(b), Some(w), Some(g)) = (v.arm(Role::Bcr), &v.warm, v.arm(Role::Baseline)) else {
        return untestable(LAW, "needs the warm start, a `bcr` and a `baseline` arm");
    };
    let pts: Vec<(usize, Point)> = b.points.iter().map(|(n, p)| (*n, *p)).collect();
    let (Some((n_lo, lo)), Some((n_hi, hi))) = (pts.first().copied(), pts.last().copied()) else {
        return untestable(LAW, "the BCR model has no evaluated N");
    };
    let rises: Vec<String> = pts
        .windows(2)
        .filter(|w| w[1].1.tok.mean - w[0].1.tok.mean > se_diff(w[0].1.tok, w[1].1.tok))
        .map(|w| format!("N={} → {}: {:+.1}", w[0].0, w[1].0, w[1].1.tok.mean - w[0].1.tok.mean))
        .collect();
    let fall = lo.tok.mean - hi.tok.mean;
    let fall_ok = n_hi > n_lo && fall > 2.0 * se_diff(lo.tok, hi.tok);
    let (rb, rw, rg) = (b.retention(), w.retention(), g.retention());
    let keeps = matches!((rb, rw, rg), (Some(b), Some(w), Some(g)) if b > w && b > g);
    let r = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.2}"));
    Finding {
        claim: LAW.into(),
        reproduced: Some(rises.is_empty() && fall_ok && keeps),
        evidence: format!(
            "Rule: BCR's tokens/problem rise between consecutive N by at most 1 s.e., fall from N={n_lo} to N={n_hi} by more than 2 s.e., \
             and its accuracy retention at N={n_hi} beats the warm start's and GRPO N=1's. Measured: tokens {:.1} → {:.1} (fall {fall:.1}, 2 s.e. {:.1}); \
             rises beyond 1 s.e.: {}; retention BCR {} vs warm start {} vs GRPO N=1 {}.",
            lo.tok.mean,
            hi.tok.mean,
            2.0 * se_diff(lo.tok, hi.tok),
            if rises.is_empty() { "none".to_string() } else { rises.join(", ") },
            r(rb),
            r(rw),
            r(rg)
        ),
    }
}

const LUNCH: &str = "Free lunch at N=1: BCR uses at least 15% fewer tokens than the warm start at N=1, accuracy kept";

fn free_lunch(v: &Views) -> Finding {
    let (Some(w), Some(b)) = (v.warm.as_ref().and_then(|w| w.at(1)), v.arm(Role::Bcr).and_then(|b| b.at(1))) else {
        return untestable(LUNCH, "needs the warm start and a `bcr` arm evaluated at N=1");
    };
    let dtok = 100.0 * (b.tok.mean - w.tok.mean) / w.tok.mean.max(f64::MIN_POSITIVE);
    let dacc = 100.0 * (b.acc.mean - w.acc.mean);
    let se = 100.0 * se_diff(w.acc, b.acc);
    Finding {
        claim: LUNCH.into(),
        reproduced: Some(dtok <= -15.0 && dacc >= -se),
        evidence: format!(
            "Rule: tokens −15% or more and accuracy change ≥ −1 s.e. ({se:.1} pts). Measured: tokens {:.1} → {:.1} ({dtok:+.1}%), \
             accuracy {:.1}% → {:.1}% ({dacc:+.1} pts).",
            w.tok.mean,
            b.tok.mean,
            100.0 * w.acc.mean,
            100.0 * b.acc.mean
        ),
    }
}

const SELF: &str =
    "Self-regulated efficiency: BCR drops the redundant re-checks and detours while the necessary steps stay";

fn self_regulation(v: &Views) -> Finding {
    let (Some(w), Some(b)) = (v.warm.as_ref(), v.arm(Role::Bcr)) else {
        return untestable(SELF, "needs the warm start and a `bcr` arm");
    };
    let (Some(wp), Some(bp), Some(ws), Some(bs)) = (w.at(1), b.at(1), w.steps, b.steps) else {
        return untestable(SELF, "needs N=1 rows with correct answers for both models");
    };
    let halved = bp.refl <= 0.5 * wp.refl && wp.refl > 0.0;
    let steps_kept = bs >= 0.9 * ws;
    Finding {
        claim: SELF.into(),
        reproduced: Some(halved && steps_kept),
        evidence: format!(
            "Rule: reflections per problem at N=1 at most half the warm start's, and necessary steps per correct answer at least 90% of \
             its. Measured: reflections {:.2} → {:.2} per problem ({:+.0}%); necessary steps {ws:.2} → {bs:.2} per correct answer.",
            wp.refl,
            bp.refl,
            100.0 * (bp.refl - wp.refl) / wp.refl.max(f64::MIN_POSITIVE)
        ),
    }
}

const PENALTY: &str = "The explicit length penalty is less stable than BCR's implicit budget";

fn length_penalty(v: &Views) -> Finding {
    let (Some(w), Some(b), Some(l)) =
        (v.warm.as_ref().and_then(|w| w.at(1)), v.arm(Role::Bcr), v.arm(Role::LengthPenalty))
    else {
        return untestable(PENALTY, "needs the warm start, a `bcr` and a `length-penalty` arm");
    };
    let (Some(bp), Some(lp), Some(bj), Some(lj)) = (b.at(1), l.at(1), b.jitter, l.jitter) else {
        return untestable(PENALTY, "an arm has no N=1 row or no training curve");
    };
    let (drop_b, drop_l) = (100.0 * (bp.acc.mean - w.acc.mean), 100.0 * (lp.acc.mean - w.acc.mean));
    let two_se = 200.0 * se_diff(bp.acc, lp.acc);
    let worse = drop_l < drop_b - two_se;
    let jumpier = lj > bj && drop_l <= drop_b;
    Finding {
        claim: PENALTY.into(),
        reproduced: Some(worse || jumpier),
        evidence: format!(
            "Rule: its N=1 accuracy change from the warm start is lower than BCR's by more than 2 s.e. ({two_se:.1} pts), or its \
             training accuracy is jumpier with no better accuracy. Measured: accuracy change {drop_l:+.1} pts vs BCR {drop_b:+.1} pts; \
             step-to-step training-accuracy jitter {lj:.3} vs {bj:.3}."
        ),
    }
}

const GRPO: &str = "BCR is at least as efficient as GRPO at N=1 with the same per-problem budget (beyond the paper)";

fn versus_grpo(v: &Views) -> Finding {
    let (Some(g), Some(b)) = (v.arm(Role::Baseline).and_then(|g| g.at(1)), v.arm(Role::Bcr).and_then(|b| b.at(1)))
    else {
        return untestable(GRPO, "needs a `bcr` and a `baseline` arm");
    };
    let dtok = 100.0 * (b.tok.mean - g.tok.mean) / g.tok.mean.max(f64::MIN_POSITIVE);
    let dacc = 100.0 * (b.acc.mean - g.acc.mean);
    let two_se = 200.0 * se_diff(g.acc, b.acc);
    Finding {
        claim: GRPO.into(),
        reproduced: Some(dtok <= 0.0 && dacc >= -two_se),
        evidence: format!(
            "Rule: BCR's tokens/problem at N=1 no higher and accuracy within 2 s.e. ({two_se:.1} pts). Measured: tokens {:.1} (BCR) vs \
             {:.1} (GRPO), {dtok:+.1}%; accuracy {dacc:+.1} pts.",
            b.tok.mean, g.tok.mean
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(mean: f64, se: f64) -> Stat {
        Stat { mean, se }
    }

    fn view(label: &str, pts: &[(usize, f64, f64, f64)], steps: f64, jitter: Option<f64>) -> View {
        let points =
            pts.iter().map(|&(n, a, t, r)| (n, Point { acc: stat(a, 0.02), tok: stat(t, 1.0), refl: r })).collect();
        View { label: label.into(), points, steps: Some(steps), jitter }
    }

    fn views() -> Views {
        let warm = view("warm", &[(1, 0.50, 100.0, 3.0), (8, 0.20, 100.0, 3.0)], 3.0, None);
        let bcr = view("bcr", &[(1, 0.52, 70.0, 1.0), (4, 0.45, 60.0, 0.8), (8, 0.40, 50.0, 0.5)], 3.0, Some(0.05));
        let grpo = view("grpo", &[(1, 0.50, 60.0, 0.5), (8, 0.10, 90.0, 0.5)], 3.0, Some(0.05));
        let lp = view("lp", &[(1, 0.30, 30.0, 0.0), (8, 0.05, 30.0, 0.0)], 2.0, Some(0.2));
        let mut arms = BTreeMap::new();
        arms.insert(key(Role::Bcr), bcr);
        arms.insert(key(Role::Baseline), grpo);
        arms.insert(key(Role::LengthPenalty), lp);
        Views { warm: Some(warm), arms }
    }

    #[test]
    fn verdicts_follow_the_stated_rules() {
        let f = decide(&views());
        let got: Vec<Option<bool>> = f.iter().map(|x| x.reproduced).collect();
        // GRPO spends fewer tokens at N=1 than BCR: the last comparison fails.
        assert_eq!(got, [Some(true), Some(true), Some(true), Some(true), Some(false)], "{f:#?}");

        // A rise of 10 tokens between N=1 and N=4 (s.e. of the difference 1.4) breaks the law.
        let mut v = views();
        v.arms.get_mut(&key(Role::Bcr)).unwrap().points.get_mut(&4).unwrap().tok.mean = 80.0;
        assert_eq!(decide(&v)[0].reproduced, Some(false));
        // Retention no better than the warm start's breaks it too.
        let mut v = views();
        v.arms.get_mut(&key(Role::Bcr)).unwrap().points.get_mut(&8).unwrap().acc.mean = 0.15;
        assert_eq!(decide(&v)[0].reproduced, Some(false));
        // 10% fewer tokens is no free lunch (the rule asks 15%).
        let mut v = views();
        v.arms.get_mut(&key(Role::Bcr)).unwrap().points.get_mut(&1).unwrap().tok.mean = 90.0;
        assert_eq!(decide(&v)[1].reproduced, Some(false));
        // Reflections down by a third only, or steps lost: not self-regulated.
        let mut v = views();
        v.arms.get_mut(&key(Role::Bcr)).unwrap().points.get_mut(&1).unwrap().refl = 2.0;
        assert_eq!(decide(&v)[2].reproduced, Some(false));
        let mut v = views();
        v.arms.get_mut(&key(Role::Bcr)).unwrap().steps = Some(2.5);
        assert_eq!(decide(&v)[2].reproduced, Some(false));
        // Without arms nothing is testable.
        let f = decide(&Views { warm: views().warm, arms: BTreeMap::new() });
        assert!(f.iter().all(|x| x.reproduced.is_none()), "{f:#?}");
    }

    #[test]
    fn seed_means_carry_both_kinds_of_error() {
        let one = Stat::over_seeds(&[stat(0.4, 0.02)]);
        assert_eq!(one, stat(0.4, 0.02));
        let two = Stat::over_seeds(&[stat(0.4, 0.02), stat(0.5, 0.02)]);
        assert!((two.mean - 0.45).abs() < 1e-12);
        // within = sqrt(2 * 0.0004) / 2 = 0.01414; between = 0.0707 / sqrt(2) = 0.05.
        assert!((two.se - (0.0002f64 + 0.0025).sqrt()).abs() < 1e-9, "{two:?}");
    }
}
