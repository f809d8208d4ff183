//! The controller on a simulated load: synthetic time in milliseconds, a
//! backend with `slots` calls at once whose call on a pack of N takes
//! `base + per * N * shrink(N)` ms (packing saves the per-call cost, and a
//! BCR model writes `shrink(N)` times the tokens per answer it writes
//! alone), arrivals every `gap` ms, and the dispatcher rule of
//! `crate::batcher` (a group goes when it has N questions or its oldest has
//! waited `max_wait`). The controller is told the call time per answer of
//! each pack that took the last free slot, as the gateway tells it.

use super::*;

struct Load {
    gap_ms: u64,
    slots: usize,
    base_ms: u64,
    per_ms: u64,
    max_wait_ms: u64,
    duration_ms: u64,
    shrink: fn(usize) -> f64,
}

impl Load {
    fn call_ms(&self, n: usize) -> u64 {
        self.base_ms + (self.per_ms as f64 * n as f64 * (self.shrink)(n)).round() as u64
    }
}

/// What a simulated run produced: (dispatch time, N) of each pack and the
/// latency of each answer with its answer time.
struct Trace {
    packs: Vec<(u64, usize)>,
    latencies: Vec<(u64, u64)>,
}

fn simulate(load: &Load, ctrl: &mut Controller) -> Trace {
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut busy: Vec<(u64, Vec<u64>)> = Vec::new(); // (done at, arrivals)
    let mut trace = Trace { packs: Vec::new(), latencies: Vec::new() };
    for t in 0..load.duration_ms {
        if t % load.gap_ms == 0 {
            queue.push_back(t);
        }
        busy.retain(|(done, arrivals)| {
            if *done > t {
                return true;
            }
            for a in arrivals {
                ctrl.observe((t - a) as f64);
                trace.latencies.push((t, t - a));
            }
            false
        });
        while busy.len() < load.slots && !queue.is_empty() {
            let n = ctrl.decide(queue.len(), load.slots - busy.len());
            let oldest = queue[0];
            if queue.len() < n && t - oldest < load.max_wait_ms {
                break;
            }
            let take = n.min(queue.len());
            let arrivals: Vec<u64> = queue.drain(..take).collect();
            let ms = load.call_ms(take);
            if busy.len() + 1 == load.slots {
                ctrl.observe_pack(take, ms as f64 / take as f64); // the last free slot, as the gateway
            }
            busy.push((t + ms, arrivals));
            trace.packs.push((t, take));
        }
    }
    trace
}

fn adaptive(max_n: usize, slo_ms: f64) -> Controller {
    Controller::new(ControllerConfig { window: 20, ..ControllerConfig::new(None, max_n, slo_ms) })
}

fn p95(latencies: &[(u64, u64)], after: u64) -> u64 {
    let mut v: Vec<u64> = latencies.iter().filter(|(t, _)| *t >= after).map(|&(_, l)| l).collect();
    v.sort_unstable();
    v[((v.len() as f64 * 0.95).ceil() as usize).max(1) - 1]
}

/// Two slots, 1,000 + 250 N ms a call: N = 1 sustains 1.6 questions/s.
fn load(gap_ms: u64) -> Load {
    Load { gap_ms, slots: 2, base_ms: 1000, per_ms: 250, max_wait_ms: 200, duration_ms: 120_000, shrink: |_| 1.0 }
}

/// No per-call cost; the cost per answer falls by 17% and 11% at N = 2 and
/// 3, then not at all (beyond N = 3 only accuracy would fall). N = 1
/// sustains 8 questions/s on two slots, N = 3 10.8.
fn bcr_load(gap_ms: u64) -> Load {
    let shrink = |n: usize| [1.0, 0.83, 0.74][n.min(3) - 1];
    Load { base_ms: 0, shrink, ..load(gap_ms) }
}

#[test]
fn n_stops_where_tokens_per_answer_stop_falling() {
    // 10 questions/s: more than N = 1 or 2 sustain, less than N = 3.
    let slo = 4000.0;
    let mut ctrl = adaptive(8, slo);
    let trace = simulate(&bcr_load(100), &mut ctrl);
    let late: Vec<usize> = trace.packs.iter().filter(|(t, _)| *t >= 30_000).map(|&(_, n)| n).collect();
    let mean = late.iter().sum::<usize>() as f64 / late.len() as f64;
    assert!(mean > 1.5, "mean N {mean}: the load needs packing");
    assert!(trace.packs.iter().all(|&(_, n)| n <= 5), "two steps past the gain at most");
    assert!(p95(&trace.latencies, 30_000) as f64 <= slo, "p95 {}", p95(&trace.latencies, 30_000));

    // 14 questions/s: past what any N sustains. N = 4 and 5 are tried,
    // gain nothing, and N stays at 3 instead of trading accuracy for nothing.
    let mut ctrl = adaptive(8, slo);
    let trace = simulate(&bcr_load(70), &mut ctrl);
    assert_eq!(ctrl.best_n(), 3, "N = 4 and 5 were tried and gained nothing");
    assert!(trace.packs.iter().any(|&(_, n)| n == 5) && trace.packs.iter().all(|&(_, n)| n <= 5));
    let late: Vec<usize> = trace.packs.iter().filter(|(t, _)| *t >= 60_000).map(|&(_, n)| n).collect();
    assert!(late.iter().all(|&n| n <= 3), "packs past the gain: {:?}", late.iter().max());
    // Without measured costs (a prior that says every N gains, and no N ever
    // measured: window too large) the queue term
    // runs on to the largest N under the same load.
    let prior: Vec<(usize, f64)> = (1..=8).map(|n| (n, 100.0 / n as f64)).collect();
    let mut blind =
        Controller::new(ControllerConfig { window: 1_000_000, prior, ..ControllerConfig::new(None, 8, slo) });
    let trace = simulate(&bcr_load(70), &mut blind);
    assert!(trace.packs.iter().any(|&(_, n)| n == 8), "the load must tempt the queue term to N = 8");
}

#[test]
fn packing_that_costs_more_per_answer_is_abandoned() {
    // The demo model on a CPU: a pack of 2 costs 15% more per answer than
    // two questions alone (longer contexts). Under overload N = 2 is tried
    // once, then every pack goes alone: packing would lose accuracy and
    // throughput both.
    let load = Load { shrink: |n: usize| [1.0, 1.15, 1.3][n.min(3) - 1], ..bcr_load(100) };
    let mut ctrl = adaptive(8, 4000.0);
    let trace = simulate(&load, &mut ctrl);
    assert_eq!(ctrl.best_n(), 1);
    assert!(trace.packs.iter().any(|&(_, n)| n == 2), "N = 2 must have been tried");
    assert!(trace.packs.iter().all(|&(_, n)| n <= 3), "two misses in a row end the walk");
    assert!(trace.packs.iter().filter(|(t, _)| *t >= 30_000).all(|&(_, n)| n == 1));
}

#[test]
fn one_dip_in_the_cost_curve_is_walked_past() {
    // What the demo model measured with the fused attention kernel
    // (bench/results/2026-12-08-serve-bcr): a pack of 2 costs 7% more per
    // answer than N = 1, packs of 3 and 4 cost 6% and 12% less. A walk that
    // stopped at the first N without a gain would never pack.
    let load = Load { shrink: |n: usize| [1.0, 1.07, 0.94, 0.88, 0.95][n.min(5) - 1], ..bcr_load(100) };
    let mut ctrl = adaptive(8, 4000.0);
    let trace = simulate(&load, &mut ctrl);
    assert_eq!(ctrl.best_n(), 4);
    let late: Vec<usize> = trace.packs.iter().filter(|(t, _)| *t >= 60_000).map(|&(_, n)| n).collect();
    assert!(late.iter().all(|&n| n != 2), "N = 2 is dearer than N = 1: never chosen once measured");
    assert!(late.iter().filter(|&&n| n == 4).count() * 2 > late.len(), "mostly packs of 4: {late:?}");
    // The queue decides how far to go: asking for 2 or 3 gets N = 1 or 3.
    assert_eq!(ctrl.choose(2), 1);
    assert_eq!(ctrl.choose(3), 3);
    assert_eq!(ctrl.choose(8), 4);
}

#[test]
fn a_prior_curve_chooses_n_before_any_measurement() {
    let prior = vec![(1, 84.0), (2, 70.0), (3, 62.4), (4, 61.0), (8, 50.0)];
    let ctrl = Controller::new(ControllerConfig { prior, ..ControllerConfig::new(None, 8, 1000.0) });
    // 2 and 3 gain >= 5%; 4 gains 2% (one miss); 5 has neither a curve
    // value nor a measurement: it is the next untried N.
    assert_eq!(ctrl.best_n(), 3);
    assert_eq!(ctrl.decide(3, 1), 3);
    assert_eq!(ctrl.decide(4, 1), 3);
    assert_eq!(ctrl.decide(100, 1), 5);
    // Without prior or measurements: nothing is packed until N = 1 has a
    // baseline, then one untried step past it.
    let mut fresh = Controller::new(ControllerConfig { window: 4, ..ControllerConfig::new(None, 8, 1000.0) });
    assert_eq!(fresh.decide(100, 1), 1);
    fresh.observe_pack(1, 2.0);
    fresh.observe_pack(1, 2.0);
    assert_eq!(fresh.decide(100, 1), 1, "2 of the 4 answers a baseline needs");
    fresh.observe_pack(1, 2.0);
    fresh.observe_pack(1, 2.0);
    assert_eq!(fresh.decide(100, 1), 2);
    assert_eq!(fresh.decide(1, 1), 1, "an untried N only when the queue asks for it");
    fresh.observe_pack(2, 1.5);
    fresh.observe_pack(2, 1.5);
    assert_eq!(fresh.decide(100, 1), 3, "N = 2 cut the cost by 25%: try 3");
    // A measurement is never weighed against a prior value.
    let mut mixed = Controller::new(ControllerConfig {
        window: 4,
        prior: vec![(1, 80.0), (2, 60.0)],
        ..ControllerConfig::new(None, 8, 1000.0)
    });
    assert_eq!(mixed.decide(100, 1), 3, "by the prior 2 gains; 3 is untried");
    (0..4).for_each(|_| mixed.observe_pack(1, 2.0));
    assert_eq!(mixed.decide(100, 1), 2, "N = 1 measured, N = 2 not: try 2");
}

#[test]
fn light_load_is_never_packed() {
    // One question every 2 s: each call ends before the next arrives.
    let mut ctrl = adaptive(8, 4000.0);
    let trace = simulate(&load(2000), &mut ctrl);
    assert!(trace.packs.iter().all(|&(_, n)| n == 1), "packed under light load");
    assert_eq!(ctrl.floor(), 1);
}

#[test]
fn heavy_load_packs_and_holds_the_slo() {
    // 4 questions/s: 2.5x what N = 1 sustains. Passthrough's queue (and
    // latency) grows without bound; adaptive packs and stays under the SLO.
    let slo = 6000.0;
    let mut passthrough = Controller::new(ControllerConfig { window: 20, ..ControllerConfig::new(Some(1), 1, slo) });
    let pt = simulate(&load(250), &mut passthrough);
    assert!(p95(&pt.latencies, 60_000) as f64 > 5.0 * slo, "the load must overwhelm passthrough");

    let mut ctrl = adaptive(8, slo);
    let trace = simulate(&load(250), &mut ctrl);
    assert!(p95(&trace.latencies, 30_000) as f64 <= slo, "p95 {}", p95(&trace.latencies, 30_000));
    let late: Vec<usize> = trace.packs.iter().filter(|(t, _)| *t >= 30_000).map(|&(_, n)| n).collect();
    assert!(late.iter().all(|&n| (1..=8).contains(&n)));
    let mean = late.iter().sum::<usize>() as f64 / late.len() as f64;
    assert!(mean > 2.0, "mean N {mean}");
    // Every question answered exactly once (those still in flight aside).
    assert!(trace.latencies.len() + 16 >= 120_000 / 250 - 8);
}

#[test]
fn floor_settles_under_constant_load() {
    // Constant heavy load: after the first minute the floor stops moving
    // (at most one step either way: no limit cycle).
    let mut ctrl = adaptive(8, 6000.0);
    let mut half = load(250);
    half.duration_ms = 60_000;
    simulate(&half, &mut ctrl);
    let (floor, moves) = (ctrl.floor(), ctrl.moves());
    let mut rest = load(250);
    rest.duration_ms = 60_000;
    simulate(&rest, &mut ctrl);
    assert!(ctrl.moves() - moves <= 2, "floor moved {} times", ctrl.moves() - moves);
    assert!(ctrl.floor().abs_diff(floor) <= 1);
}

#[test]
fn fixed_packs_k_or_flushes_at_max_wait() {
    let mut ctrl = Controller::new(ControllerConfig { window: 5, ..ControllerConfig::new(Some(4), 4, 1.0) });
    let trace = simulate(&load(1000), &mut ctrl);
    // One question a second, max wait 200 ms: every pack is flushed alone.
    assert!(trace.packs.iter().all(|&(_, n)| n == 1));
    let trace = simulate(&load(20), &mut ctrl);
    assert!(trace.packs.iter().filter(|(t, _)| *t > 1000).all(|&(_, n)| n == 4));
    assert_eq!(ctrl.floor(), 1, "fixed never moves the floor");
}

#[test]
fn cap_bounds_n_under_overload() {
    // Far past capacity: N never exceeds the cap (a curve's or --max-n).
    let mut ctrl = adaptive(3, 2000.0);
    let trace = simulate(&load(50), &mut ctrl);
    assert!(trace.packs.iter().all(|&(_, n)| n <= 3));
    assert!(trace.packs.iter().any(|&(_, n)| n == 3));
}

#[test]
fn policy_strings_and_curve_limits() {
    assert_eq!("fixed:3".parse::<NPolicy>().unwrap(), NPolicy::Fixed(3));
    assert_eq!("adaptive".parse::<NPolicy>().unwrap(), NPolicy::Adaptive);
    assert_eq!("curve:s.json".parse::<NPolicy>().unwrap(), NPolicy::Curve("s.json".into()));
    for bad in ["fixed:0", "fixed:x", "fixed", "curve:", "auto", ""] {
        assert!(bad.parse::<NPolicy>().is_err(), "{bad}");
    }
    // (n, accuracy): drops of 2, 5 and 12 points at N = 2, 3, 4.
    let rows = [(1, 0.80), (2, 0.78), (3, 0.75), (4, 0.68)];
    let cases = [(0.0, 1), (2.0, 2), (4.9, 2), (5.0, 3), (20.0, 4)];
    for (drop, want) in cases {
        assert_eq!(curve_limit(&rows, drop).unwrap(), want, "drop {drop}");
    }
    // A non-monotone curve stops at the first N past the limit.
    assert_eq!(curve_limit(&[(1, 0.8), (2, 0.6), (3, 0.8)], 5.0).unwrap(), 1);
    // Two benchmarks are averaged per N.
    assert_eq!(curve_limit(&[(1, 0.9), (1, 0.5), (2, 0.8), (2, 0.56)], 2.0).unwrap(), 2);
    assert!(curve_limit(&[(2, 0.5)], 5.0).is_err());
}

#[test]
fn noisy_costs_are_measured_until_they_decide() {
    // Per-pack seconds per answer that vary by +-50% (answers of different
    // lengths): N = 2 is 10% cheaper on average, which 8 answers cannot
    // show. N = 2 stays undecided (and is sent) until 4 * window answers,
    // then wins on its mean; a clear 40% gain is decided at once.
    let cfg = ControllerConfig { window: 32, ..ControllerConfig::new(None, 8, 1000.0) };
    let mut ctrl = Controller::new(cfg.clone());
    (0..32).for_each(|i| ctrl.observe_pack(1, if i % 2 == 0 { 0.5 } else { 1.5 }));
    (0..4).for_each(|i| ctrl.observe_pack(2, if i % 2 == 0 { 0.45 } else { 1.35 }));
    assert_eq!(ctrl.decide(100, 1), 2, "8 answers at N = 2: undecided, keep measuring");
    assert_eq!(ctrl.best_n(), 1);
    (4..64).for_each(|i| ctrl.observe_pack(2, if i % 2 == 0 { 0.45 } else { 1.35 }));
    assert_eq!(ctrl.best_n(), 2, "128 answers: judged on the means (0.90 against 0.95)");
    assert_eq!(ctrl.decide(100, 1), 3);
    let mut clear = Controller::new(cfg);
    (0..32).for_each(|i| clear.observe_pack(1, if i % 2 == 0 { 0.9 } else { 1.1 }));
    (0..4).for_each(|i| clear.observe_pack(2, if i % 2 == 0 { 0.55 } else { 0.65 }));
    assert_eq!(clear.best_n(), 2, "a 40% cut is beyond two standard errors after 8 answers");
}
