//! The N policy: how many waiting questions go into the next pack.
//!
//! - `fixed:K`: every pack takes K questions (fewer when `--max-wait-ms`
//!   expires first).
//! - `adaptive` (the default): N follows the queue. With `w` packable
//!   questions waiting and `s` free backend slots, the queue asks for
//!   `ceil(w / s)`: while the backend keeps up every question goes alone
//!   (N = 1, passthrough accuracy), and when questions pile up they are
//!   packed so that all of them start now. On top of that a *floor* reacts
//!   to the measured p95 latency of the last `window` answers: above
//!   `--slo-ms` the floor rises by one (questions then wait up to
//!   `--max-wait-ms` to be grouped, which raises throughput per call);
//!   below half the SLO it falls by one. The queue asks for
//!   `max(queue term, floor)`, capped at `--max-n`.
//! - What is sent is the cheapest N up to what the queue asks for: packing
//!   pays only where it lowers what an answer costs the backend. The
//!   controller keeps, for each N it has sent, the mean backend seconds per
//!   answer (a pack's call time divided by N: with every slot busy, answers
//!   per second = slots / that), counting only packs that took the last
//!   free slot, so that every N is judged with the backend full (a call in
//!   a half-empty continuous batch runs faster steps). Walking up from N = 1, a larger N replaces
//!   the best so far only if it cuts its cost by at least `--min-gain`
//!   (5%); the walk goes on past one N that gains nothing and stops after
//!   two in a row. An N with fewer than `window / 4` (8) measured answers
//!   is untried, and one whose comparison is within two standard errors of
//!   the 5% line is undecided until it has `4 * window` (128) answers (a
//!   pack's time per answer varies with its answers' lengths: 8 answers
//!   cannot tell 5% apart); the first untried or undecided N of the walk
//!   is sent (so the curve is explored one step at a time, and only as far
//!   as the queue asks), and nothing is packed until N = 1 has its
//!   baseline.
//!   Tokens per answer are not enough: on the demo model on a CPU, before
//!   its attention took the fused kernel, packs of 2-4 cut completion
//!   tokens per answer by 10-25% but cost more per answer, so the queue
//!   term alone packed to N of about 4 and sustained less than passthrough
//!   (bench/results/2026-12-07-serve-bcr). With the fused kernel a pack of
//!   2 still costs more per answer than N = 1 while packs of 3 and 4 cost
//!   less (bench/results/2026-12-08-serve-bcr): hence the walk past one
//!   dip. Counting every pack would judge N = 1 mostly at light load
//!   (faster steps) against packs sent under overload.
//! - `curve:SUMMARY`: adaptive, with the cap lowered to the largest N of a
//!   `bcr eval` summary of the same model whose accuracy drop from N = 1 is
//!   within `--max-acc-drop` points (and every smaller measured N's too);
//!   the summary's tokens per problem by N stand in for the cost of two Ns
//!   neither of which the gateway has measured yet.
//!
//! Why the floor cannot oscillate: it moves one step at a time, only after a
//! full window of answers measured *since its last move* (the window is
//! emptied on every move, so a change is never judged by latencies from
//! before it), and it holds in the dead band between half the SLO and the
//! SLO. The queue term has no memory: it is a function of the queue and the
//! free slots at the moment of dispatch. The cost table is a running mean
//! over every pack sent, so the cheapest N for a given queue changes only as
//! measurements accumulate, not back and forth with the load. How fast it
//! reacts: the queue term at once; the floor by one step per `window`
//! answers; a new N after `window / 4` answers at it.
//!
//! The controller is pure: it is given the time (milliseconds on any clock)
//! and the observations, so it is tested on a simulated load.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::str::FromStr;

use crate::{Error, Result};

/// `--n`: how N is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum NPolicy {
    /// Always K questions per pack.
    Fixed(usize),
    /// N follows the queue and the p95 latency.
    Adaptive,
    /// Adaptive, capped by a `bcr eval` summary's accuracy curve.
    Curve(PathBuf),
}

impl FromStr for NPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Invalid(format!("--n {s:?}: expected fixed:K (K >= 1), adaptive or curve:SUMMARY.json"));
        match s.split_once(':') {
            None if s == "adaptive" => Ok(NPolicy::Adaptive),
            Some(("fixed", k)) => k.parse().ok().filter(|&k| k >= 1).map(NPolicy::Fixed).ok_or_else(bad),
            Some(("curve", path)) if !path.is_empty() => Ok(NPolicy::Curve(PathBuf::from(path))),
            _ => Err(bad()),
        }
    }
}

/// The largest N of `rows` (`(n, accuracy in [0, 1])`, several benchmarks
/// averaged per N) such that it and every smaller measured N lose at most
/// `max_drop_points` accuracy points against N = 1.
pub fn curve_limit(rows: &[(usize, f64)], max_drop_points: f64) -> Result<usize> {
    let mut by_n: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for &(n, acc) in rows {
        let e = by_n.entry(n).or_default();
        e.0 += acc;
        e.1 += 1;
    }
    let Some(&(sum1, count1)) = by_n.get(&1) else {
        return Err(Error::Invalid("curve: the summary has no N = 1 row to measure the drop from".into()));
    };
    let base = sum1 / count1 as f64;
    let mut limit = 1;
    for (&n, &(sum, count)) in &by_n {
        if (base - sum / count as f64) * 100.0 > max_drop_points + 1e-9 {
            break;
        }
        limit = n;
    }
    Ok(limit)
}

/// How many Ns in a row that gain nothing end the walk up the curve
/// ([`Controller::choose`]).
const MISSES: usize = 2;

/// Settings of a [`Controller`].
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerConfig {
    /// `Some(K)` for `fixed:K`; `None` for adaptive.
    pub fixed: Option<usize>,
    /// The largest N (`--max-n`, lowered by a curve).
    pub max_n: usize,
    /// The p95 latency target in milliseconds (`--slo-ms`).
    pub slo_ms: f64,
    /// Answers per latency window (the floor moves at most once per window);
    /// a quarter of it (at least 4) is what an N needs before its measured
    /// cost counts.
    pub window: usize,
    /// The least relative cut in cost per answer that justifies one more
    /// question per pack (`--min-gain`, 0.05).
    pub min_gain: f64,
    /// Relative cost per answer by N known in advance (a `bcr eval`
    /// summary's tokens per problem).
    pub prior: Vec<(usize, f64)>,
}

impl ControllerConfig {
    /// `fixed:K` (`Some(K)`) or adaptive (`None`) up to `max_n`, with the
    /// defaults for the rest (window 32, min gain 5%, no prior).
    pub fn new(fixed: Option<usize>, max_n: usize, slo_ms: f64) -> Self {
        ControllerConfig { fixed, max_n, slo_ms, window: 32, min_gain: 0.05, prior: Vec::new() }
    }
}

/// The N controller (see the module doc).
#[derive(Debug, Clone)]
pub struct Controller {
    cfg: ControllerConfig,
    floor: usize,
    recent: VecDeque<f64>,
    moves: usize,
    /// Backend seconds per answer observed, by N.
    costs: std::collections::BTreeMap<usize, Samples>,
}

/// Backend seconds per answer observed at one N, one sample per pack.
#[derive(Debug, Clone, Copy, Default)]
struct Samples {
    answers: usize,
    packs: usize,
    /// Sum of seconds per answer weighted by the pack's answers.
    weighted: f64,
    /// Sum and sum of squares of the per-pack samples.
    sum: f64,
    sumsq: f64,
}

impl Samples {
    fn mean(&self) -> f64 {
        self.weighted / self.answers.max(1) as f64
    }

    /// Standard error of the mean over packs (infinite below two packs).
    fn se(&self) -> f64 {
        if self.packs < 2 {
            return f64::INFINITY;
        }
        let p = self.packs as f64;
        let var = ((self.sumsq - self.sum * self.sum / p) / (p - 1.0)).max(0.0);
        (var / p).sqrt()
    }
}

impl Controller {
    /// A controller starting at floor 1.
    pub fn new(cfg: ControllerConfig) -> Self {
        let cap = cfg.max_n.max(1);
        let window = cfg.window.max(1);
        let cfg = ControllerConfig { max_n: cap, window, ..cfg };
        Controller { cfg, floor: 1, recent: VecDeque::new(), moves: 0, costs: Default::default() }
    }

    /// Records the latency of one answer (arrival to answer, milliseconds),
    /// and moves the floor when a full window says so.
    pub fn observe(&mut self, latency_ms: f64) {
        self.recent.push_back(latency_ms);
        if self.recent.len() < self.cfg.window || self.cfg.fixed.is_some() {
            return;
        }
        let p95 = self.p95().unwrap_or(0.0);
        let floor = if p95 > self.cfg.slo_ms {
            (self.floor + 1).min(self.cfg.max_n)
        } else if p95 < self.cfg.slo_ms / 2.0 {
            self.floor.saturating_sub(1).max(1)
        } else {
            self.floor
        };
        if floor != self.floor {
            self.floor = floor;
            self.moves += 1;
        }
        // Judge the next move only by answers measured after this one.
        self.recent.clear();
    }

    /// Records a pack of `n` questions whose backend call took
    /// `seconds_per_answer` per question.
    pub fn observe_pack(&mut self, n: usize, seconds_per_answer: f64) {
        if n == 0 || !seconds_per_answer.is_finite() {
            return;
        }
        let e = self.costs.entry(n).or_default();
        e.answers += n;
        e.packs += 1;
        e.weighted += seconds_per_answer * n as f64;
        e.sum += seconds_per_answer;
        e.sumsq += seconds_per_answer * seconds_per_answer;
    }

    /// The mean backend seconds per answer of every pack of `n` observed,
    /// however few (for `/metrics`).
    pub fn mean_cost(&self, n: usize) -> Option<f64> {
        self.costs.get(&n).filter(|c| c.answers > 0).map(Samples::mean)
    }

    /// The samples at `n`, once `window / 4` answers (at least 4) are.
    fn samples(&self, n: usize) -> Option<&Samples> {
        self.costs.get(&n).filter(|c| c.answers >= (self.cfg.window / 4).max(4))
    }

    /// Measured cost per answer at `n` (see [`Controller::samples`]).
    fn measured(&self, n: usize) -> Option<f64> {
        self.samples(n).map(Samples::mean)
    }

    /// The prior's cost per answer at `n` (a `bcr eval` summary's tokens
    /// per problem), if it has one.
    fn prior(&self, n: usize) -> Option<f64> {
        self.cfg.prior.iter().find(|(k, _)| *k == n).map(|&(_, t)| t)
    }

    /// Cost per answer at `n`, and whether it was measured: the
    /// measurement, else the prior's, else unknown.
    pub fn cost(&self, n: usize) -> Option<(f64, bool)> {
        self.measured(n).map(|c| (c, true)).or_else(|| self.prior(n).map(|c| (c, false)))
    }

    /// Whether `k` cuts `j`'s cost per answer by at least `min_gain`.
    /// On measurements where both have one: decided once the difference
    /// from the target `(1 - min_gain) * cost(j)` is beyond two combined
    /// standard errors either way, or, failing that, on the means once `k`
    /// has `4 * window` answers (a pack's time per answer varies with its
    /// answers' lengths, so a handful of packs cannot tell 5% apart). On
    /// the prior where neither has a measurement but both a prior value.
    /// `None` otherwise: `k` is untried or undecided (a measurement is
    /// never weighed against a prior).
    fn gains(&self, k: usize, j: usize) -> Option<bool> {
        let target = |b: f64| b * (1.0 - self.cfg.min_gain);
        match (self.samples(k), self.samples(j)) {
            (Some(a), Some(b)) => {
                let (gap, se) = (target(b.mean()) - a.mean(), a.se().hypot(b.se()));
                if gap.abs() > 2.0 * se || a.answers >= 4 * self.cfg.window {
                    Some(gap > 0.0)
                } else {
                    None
                }
            }
            (None, None) => Some(self.prior(k)? < target(self.prior(j)?)),
            _ => None,
        }
    }

    /// Walks N up from 1 to `want`: `best` is the cheapest known N (a larger
    /// N replaces it only by cutting its cost by `min_gain`); the walk goes
    /// past an N that gains nothing (one dip: on the demo model N = 2 costs
    /// more per answer than N = 1 while 3 and 4 cost less) but stops after
    /// [`MISSES`] in a row. The first untried or undecided N it meets is
    /// returned as `explore`, unless `best` has no cost at all (no N = 1
    /// baseline yet).
    fn walk(&self, want: usize) -> (usize, Option<usize>) {
        let (mut best, mut misses) = (1, 0);
        for k in 2..=want.min(self.cfg.max_n) {
            match self.gains(k, best) {
                Some(true) => (best, misses) = (k, 0),
                Some(false) => {
                    misses += 1;
                    if misses == MISSES {
                        break;
                    }
                }
                None => return (best, self.cost(best).map(|_| k)),
            }
        }
        (best, None)
    }

    /// The N the controller sends when the queue asks for `want` (see the
    /// module doc): the next untried or undecided N of the walk if there is
    /// one (the curve is explored one step at a time, only as far as the
    /// queue asks), else the cheapest known N up to `want`.
    pub fn choose(&self, want: usize) -> usize {
        let (best, explore) = self.walk(want.max(1));
        explore.unwrap_or(best)
    }

    /// The cheapest known N up to `--max-n`: what the controller sends when
    /// the queue asks for at least that many (metric `bcr_serve_n_best`).
    pub fn best_n(&self) -> usize {
        self.walk(self.cfg.max_n).0
    }

    /// N for the next pack, with `waiting` packable questions and
    /// `free_slots` backend slots free (at least one).
    pub fn decide(&self, waiting: usize, free_slots: usize) -> usize {
        if let Some(k) = self.cfg.fixed {
            return k;
        }
        let queue = waiting.div_ceil(free_slots.max(1));
        self.choose(queue.max(self.floor).clamp(1, self.cfg.max_n))
    }

    /// The p95 of the latencies of the current window, if any.
    pub fn p95(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.recent.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((v.len() as f64) * 0.95).ceil() as usize;
        Some(v[rank.clamp(1, v.len()) - 1])
    }

    /// The current floor of N.
    pub fn floor(&self) -> usize {
        self.floor
    }

    /// How many times the floor has moved.
    pub fn moves(&self) -> usize {
        self.moves
    }
}

#[cfg(test)]
#[path = "policy/sim.rs"]
mod sim;
