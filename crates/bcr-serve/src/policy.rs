//! The N policy: how many waiting questions go into the next pack.
//!
//! - `fixed:K`: every pack takes K questions (fewer when `--max-wait-ms`
//!   expires first).
//! - `adaptive` (the default): N follows the queue. With `w` packable
//!   questions waiting and `s` free backend slots, `N = ceil(w / s)`: while
//!   the backend keeps up every question goes alone (N = 1, passthrough
//!   accuracy), and when questions pile up they are packed so that all of
//!   them start now. On top of that a *floor* reacts to the measured p95
//!   latency of the last `window` answers: above `--slo-ms` the floor rises
//!   by one (questions then wait up to `--max-wait-ms` to be grouped, which
//!   raises throughput per call); below half the SLO it falls by one. N is
//!   `max(queue term, floor)`, capped at `--max-n` and at the *gain cap*.
//! - The gain cap: packing pays only while tokens per answer fall (a pack of
//!   N costs about N times its tokens per answer in decode steps, so
//!   answers per second scale with 1 / tokens per answer), and every extra
//!   question in a context costs accuracy. The controller keeps the mean
//!   completion tokens per answer of the packs of each N it has sent, and
//!   lets N reach `k + 1` only if going from `k - 1` to `k` cut tokens per
//!   answer by at least `--min-gain` (5%); an N with fewer than `window`
//!   measured answers counts as untried (not judged), and N may go one step
//!   past the largest tried N, so the curve is explored one step at a time
//!   and only when the queue asks for it. Without it, a queue term of
//!   `waiting / free slots` packs as many questions as are waiting: on the
//!   demo model at 64 requests/s that meant N of about 5, where tokens per
//!   answer no longer fall, at 6.8 s p95 and 13 points of accuracy lost
//!   (bench/results/2026-12-07-serve-short).
//! - `curve:SUMMARY`: adaptive, with the cap lowered to the largest N of a
//!   `bcr eval` summary of the same model whose accuracy drop from N = 1 is
//!   within `--max-acc-drop` points (and every smaller measured N's too),
//!   and the summary's tokens per problem used for the gain cap in place of
//!   (until they are measured) the gateway's own.
//!
//! Why the floor cannot oscillate: it moves one step at a time, only after a
//! full window of answers measured *since its last move* (the window is
//! emptied on every move, so a change is never judged by latencies from
//! before it), and it holds in the dead band between half the SLO and the
//! SLO. The queue term has no memory: it is a function of the queue and the
//! free slots at the moment of dispatch. How fast it reacts: the queue term
//! at once; the floor by one step per `window` answers.
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
    /// also the answers an N needs before its tokens per answer count.
    pub window: usize,
    /// The least relative cut in tokens per answer that justifies one more
    /// question per pack (`--min-gain`, 0.05).
    pub min_gain: f64,
    /// Tokens per answer by N known in advance (a `bcr eval` summary).
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
    /// Measured (sum of tokens per answer weighted by answers, answers) by N.
    tokens: std::collections::BTreeMap<usize, (f64, usize)>,
}

impl Controller {
    /// A controller starting at floor 1.
    pub fn new(cfg: ControllerConfig) -> Self {
        let cap = cfg.max_n.max(1);
        let window = cfg.window.max(1);
        let cfg = ControllerConfig { max_n: cap, window, ..cfg };
        Controller { cfg, floor: 1, recent: VecDeque::new(), moves: 0, tokens: Default::default() }
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

    /// Records a pack of `n` questions that used `tokens_per_answer`
    /// completion tokens per question.
    pub fn observe_pack(&mut self, n: usize, tokens_per_answer: f64) {
        if n == 0 || !tokens_per_answer.is_finite() {
            return;
        }
        let e = self.tokens.entry(n).or_default();
        e.0 += tokens_per_answer * n as f64;
        e.1 += n;
    }

    /// Mean tokens per answer at `n`: measured once `window` answers are,
    /// else the prior's, else unknown.
    pub fn tokens_per_answer(&self, n: usize) -> Option<f64> {
        match self.tokens.get(&n) {
            Some(&(sum, count)) if count >= self.cfg.window => Some(sum / count as f64),
            _ => self.cfg.prior.iter().find(|(k, _)| *k == n).map(|&(_, t)| t),
        }
    }

    /// The largest N the measured gains allow (see the module doc): the
    /// first `k` whose successor is known to cut tokens per answer by less
    /// than `min_gain`, and at most one step past the largest known N.
    pub fn gain_cap(&self) -> usize {
        let known = (1..=self.cfg.max_n).filter(|&n| self.tokens_per_answer(n).is_some()).max().unwrap_or(1);
        let mut cap = (known + 1).min(self.cfg.max_n);
        for k in 1..cap {
            if let (Some(a), Some(b)) = (self.tokens_per_answer(k), self.tokens_per_answer(k + 1)) {
                if b > a * (1.0 - self.cfg.min_gain) {
                    cap = k;
                    break;
                }
            }
        }
        cap
    }

    /// N for the next pack, with `waiting` packable questions and
    /// `free_slots` backend slots free (at least one).
    pub fn decide(&self, waiting: usize, free_slots: usize) -> usize {
        if let Some(k) = self.cfg.fixed {
            return k;
        }
        let queue = waiting.div_ceil(free_slots.max(1));
        queue.max(self.floor).clamp(1, self.cfg.max_n.min(self.gain_cap()))
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
