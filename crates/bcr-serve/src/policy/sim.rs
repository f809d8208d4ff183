//! The controller on a simulated load: synthetic time in milliseconds, a
//! backend with `slots` calls at once whose call on a pack of N takes
//! `base + per * N` ms (packing saves the per-call cost), arrivals every
//! `gap` ms, and the dispatcher rule of `crate::batcher` (a group goes when
//! it has N questions or its oldest has waited `max_wait`).

use super::*;

struct Load {
    gap_ms: u64,
    slots: usize,
    base_ms: u64,
    per_ms: u64,
    max_wait_ms: u64,
    duration_ms: u64,
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
            busy.push((t + load.base_ms + load.per_ms * take as u64, arrivals));
            trace.packs.push((t, take));
        }
    }
    trace
}

fn adaptive(max_n: usize, slo_ms: f64) -> Controller {
    Controller::new(ControllerConfig { fixed: None, max_n, slo_ms, window: 20 })
}

fn p95(latencies: &[(u64, u64)], after: u64) -> u64 {
    let mut v: Vec<u64> = latencies.iter().filter(|(t, _)| *t >= after).map(|&(_, l)| l).collect();
    v.sort_unstable();
    v[((v.len() as f64 * 0.95).ceil() as usize).max(1) - 1]
}

/// Two slots, 1,000 + 250 N ms a call: N = 1 sustains 1.6 questions/s.
fn load(gap_ms: u64) -> Load {
    Load { gap_ms, slots: 2, base_ms: 1000, per_ms: 250, max_wait_ms: 200, duration_ms: 120_000 }
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
    let mut passthrough = Controller::new(ControllerConfig { fixed: Some(1), max_n: 1, slo_ms: slo, window: 20 });
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
    let mut ctrl = Controller::new(ControllerConfig { fixed: Some(4), max_n: 4, slo_ms: 1.0, window: 5 });
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
