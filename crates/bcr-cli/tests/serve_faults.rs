//! `bcr serve` in front of the fault-injecting fake server of the eval
//! tests: dropped connections, 500, 503, 429, malformed bodies and stalls
//! are retried, a pack whose last section is missing has that caller
//! re-asked alone, and a pack that keeps failing errors each of its callers
//! once. Every caller gets exactly one reply: its own answer or an error.

mod eval_support;
mod serve_support;

use eval_support::Fault;
use serve_support::{agent, config, get, http_upstream, post_raw, question, Reply};
use std::sync::Arc;
use std::time::Duration;

const FAULTS: [Fault; 6] =
    [Fault::Drop, Fault::Status500, Fault::Status429, Fault::Malformed, Fault::Stall, Fault::Status503];

/// `callers` concurrent questions ("Reply with the number 2000 + i") through a gateway.
fn ask_all(plan: Arc<eval_support::Plan>, policy: &str, callers: usize) -> (Vec<Reply>, String) {
    let upstream = eval_support::start(plan, Duration::from_millis(5));
    let gw = bcr_serve::spawn(config(policy, 4), http_upstream(&upstream.url, 4, 1), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let replies = std::thread::scope(|s| {
        let handles: Vec<_> = (0..callers)
            .map(|i| {
                let (client, addr) = (client.clone(), addr.clone());
                s.spawn(move || {
                    let body = question(&format!("Reply with the number {}.", 2000 + i));
                    post_raw(&client, &addr, "/v1/chat/completions", &body, None, &[])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let metrics = get(&client, &addr, "/metrics", None).text;
    gw.stop().unwrap();
    (replies, metrics)
}

#[test]
fn upstream_faults_are_retried_and_nothing_is_lost_or_misdelivered() {
    // Attempt 0 of every call fails; attempt 1 fails for every other call.
    let plan = Arc::new(|seed: u64, attempt: usize| match attempt {
        0 => Some(FAULTS[(seed % 6) as usize]),
        1 if seed.is_multiple_of(2) => Some(FAULTS[((seed / 6) % 6) as usize]),
        _ => None,
    });
    // 24 callers in packs of 3: at least 8 calls, with consecutive seeds, so
    // every fault kind is met.
    let (replies, _) = ask_all(plan, "fixed:3", 24);
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "caller {i}: {}", r.text);
        assert!(r.content().contains(&format!("\\boxed{{{}}}", 2000 + i)), "caller {i}: {}", r.content());
        assert_eq!(r.content().matches("\\boxed").count(), 1, "caller {i}: {}", r.content());
    }
}

#[test]
fn a_missing_section_is_reasked_alone() {
    // Every pack of more than one question loses its last answer once.
    let plan = Arc::new(|_: u64, attempt: usize| (attempt == 0).then_some(Fault::MissingLast));
    let (replies, metrics) = ask_all(plan, "fixed:3", 9);
    let mut reasked = 0;
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "caller {i}: {}", r.text);
        assert!(r.content().contains(&format!("\\boxed{{{}}}", 2000 + i)), "caller {i}: {}", r.content());
        let (_, _, n) = r.tag();
        reasked += usize::from(n == 1);
    }
    // Callers answered at N = 1 are the re-asked ones and any that waited
    // alone past --max-wait-ms; the counter sees only the former.
    let line = metrics.lines().find(|l| l.starts_with("bcr_serve_reasks_total ")).expect("reasks metric");
    let reasks: usize = line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(reasks >= 1 && reasks <= reasked, "{reasks} re-asks, {reasked} answered alone");
}

#[test]
fn a_pack_that_keeps_failing_errors_each_caller_once() {
    // A 400 is not retried: every caller of those packs gets one 502 error.
    let plan = Arc::new(|_: u64, _: usize| Some(Fault::Status400));
    let (replies, metrics) = ask_all(plan, "fixed:2", 6);
    for r in &replies {
        serve_support::assert_error(r, 502);
        assert!(r.text.contains("not found"), "{}", r.text);
    }
    assert!(metrics.contains("bcr_serve_errors_total{kind=\"upstream\"} 6"), "{metrics}");
}
