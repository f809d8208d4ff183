//! `bcr serve` policies and slots in front of the fake OpenAI server of the
//! eval tests: `curve:` with a real `bcr eval` summary never packs past the
//! N its accuracy drop allows, and a caller that disconnects while queued
//! frees only its own place (its question is never sent).

mod eval_support;
mod serve_support;

use bcr_serve::{NPolicy, ServeConfig};
use serve_support::{agent, config, get, http_upstream, post_raw, question, Reply};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn no_faults() -> Arc<eval_support::Plan> {
    Arc::new(|_: u64, _: usize| -> Option<eval_support::Fault> { None })
}

/// `callers` concurrent questions "Reply with the number base + i".
fn ask(addr: &str, callers: usize, base: usize) -> Vec<Reply> {
    let client = agent();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..callers)
            .map(|i| {
                let client = client.clone();
                s.spawn(move || {
                    let body = question(&format!("Reply with the number {}.", base + i));
                    post_raw(&client, addr, "/v1/chat/completions", &body, None, &[])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A metric's value from the Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {text}"));
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

/// The BCR model's own `bcr eval` summary, as `bcr demo` stored it in
/// docs/demo/summary.json (seed 0, 480 held-out problems), written where
/// `curve:` reads it.
fn demo_bcr_summary(dir: &Path) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/demo/summary.json");
    let demo: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    let model = demo["models"].as_array().unwrap().iter().find(|m| m["name"] == "bcr-n3-s0").unwrap();
    std::fs::write(dir.join("summary.json"), model["summary"].to_string()).unwrap();
    model["summary"].clone()
}

#[test]
fn curve_never_packs_past_what_the_accuracy_drop_allows() {
    let dir = tempfile::tempdir().unwrap();
    let summary = demo_bcr_summary(dir.path());
    let rows = summary["rows"].as_array().unwrap();
    let acc = |n: u64| rows.iter().find(|r| r["n"] == n).unwrap()["accuracy"].as_f64().unwrap();
    // Pick the drop so that exactly N <= 2 qualifies, from the data itself.
    let (d2, d3) = ((acc(1) - acc(2)) * 100.0, (acc(1) - acc(3)) * 100.0);
    assert!(d2 < d3, "the demo curve must fall from N = 2 to 3: {d2} {d3}");
    let max_drop = (d2 + d3) / 2.0;
    let upstream = eval_support::start(no_faults(), Duration::from_millis(30));
    let mut cfg: ServeConfig = config("adaptive", 8);
    let policy: NPolicy = format!("curve:{}", dir.path().display()).parse().unwrap();
    cfg.set_policy(&policy, 8, 60_000.0, (max_drop, 0.05)).unwrap();
    assert_eq!(cfg.controller.max_n, 2, "drop {max_drop:.1} points allows N = 2");
    assert!(!cfg.controller.prior.is_empty(), "the curve's tokens per problem seed the controller");
    let gw = bcr_serve::spawn(cfg, http_upstream(&upstream.url, 2, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let replies = ask(&addr, 40, 3000);
    let mut packed = 0;
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.content().contains(&format!("\\boxed{{{}}}", 3000 + i)), "caller {i}: {}", r.content());
        let (_, _, n) = r.tag();
        assert!(n <= 2, "caller {i} was in a pack of {n}");
        packed += usize::from(n == 2);
    }
    assert!(packed > 0, "40 callers on 2 slots: some packs of 2 expected");
    gw.stop().unwrap();
}

#[test]
fn a_caller_that_disconnects_while_queued_frees_only_its_place() {
    let upstream = eval_support::start(no_faults(), Duration::from_millis(10));
    let mut cfg = config("fixed:3", 3);
    cfg.max_wait = Duration::from_millis(1500);
    let gw = bcr_serve::spawn(cfg, http_upstream(&upstream.url, 2, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    // The first caller gives up after 200 ms, while it waits for company.
    let impatient: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_millis(200))).build().into();
    let body = question("Reply with the number 4999.");
    let gone = impatient.post(&format!("http://{addr}/v1/chat/completions")).send(body);
    assert!(gone.is_err(), "the impatient caller must time out: {gone:?}");
    std::thread::sleep(Duration::from_millis(100));
    // Three more: they form one pack of three without the one that left.
    let replies = ask(&addr, 3, 5000);
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.content().contains(&format!("\\boxed{{{}}}", 5000 + i)), "caller {i}: {}", r.content());
        assert_eq!(r.tag().2, 3, "caller {i}: {:?}", r.pack);
    }
    let m = get(&agent(), &addr, "/metrics", None).text;
    assert_eq!(metric(&m, "bcr_serve_pack_size_count"), 1.0, "one pack, and never the one that left: {m}");
    assert_eq!(metric(&m, "bcr_serve_pack_size_sum"), 3.0);
    assert_eq!(metric(&m, "bcr_serve_queue_depth"), 0.0);
    assert_eq!(upstream.stats.received.load(std::sync::atomic::Ordering::SeqCst), 1);
    gw.stop().unwrap();
}
