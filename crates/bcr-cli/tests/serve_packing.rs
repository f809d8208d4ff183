//! `bcr serve` in front of the fake OpenAI server of the eval tests (which
//! answers every labelled problem of a pack with the number its question
//! names): concurrent callers each get exactly their own answer, packs never
//! mix API keys, bad input gets OpenAI-style errors while the server keeps
//! serving, and a full queue answers 429 with Retry-After.

mod eval_support;
mod serve_support;

use serve_support::{agent, assert_error, config, get, http_upstream, post_raw, question};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

fn no_faults() -> Arc<eval_support::Plan> {
    Arc::new(|_: u64, _: usize| -> Option<eval_support::Fault> { None })
}

#[test]
fn two_hundred_concurrent_callers_get_exactly_their_own_answers() {
    let upstream = eval_support::start(no_faults(), Duration::from_millis(20));
    let gw = bcr_serve::spawn(config("adaptive", 8), http_upstream(&upstream.url, 4, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let replies: Vec<(usize, serve_support::Reply)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let (client, addr) = (client.clone(), addr.clone());
                s.spawn(move || {
                    let body = question(&format!("Reply with the number {}.", 1000 + i));
                    (i, post_raw(&client, &addr, "/v1/chat/completions", &body, None, &[]))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seats = HashSet::new();
    let mut sizes: HashMap<String, usize> = HashMap::new();
    for (i, r) in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
        let content = r.content();
        assert!(content.contains(&format!("\\boxed{{{}}}", 1000 + i)), "caller {i} got {content:?}");
        assert_eq!(content.matches("\\boxed").count(), 1, "caller {i} got another section: {content:?}");
        let (id, pos, n) = r.tag();
        assert!(seats.insert((id.clone(), pos)), "seat {id}/{pos} given twice");
        assert!((1..=n).contains(&pos) && n <= 8, "{id}/{pos}/{n}");
        assert_eq!(*sizes.entry(id).or_insert(n), n);
        let usage = &r.body["usage"];
        assert_eq!(
            usage["total_tokens"],
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        );
        assert_eq!(r.body["object"], "chat.completion");
        assert_eq!(r.body["choices"][0]["finish_reason"], "stop");
    }
    // 200 callers with 4 upstream slots: the adaptive policy packed them.
    assert!(sizes.values().any(|&n| n > 1), "nothing was packed: {sizes:?}");
    let metrics = get(&client, &addr, "/metrics", None).text;
    assert!(metrics.contains("bcr_serve_pack_size_count"), "{metrics}");
    assert!(metrics.contains("bcr_serve_requests_total{route=\"packed\"} 200"), "{metrics}");
    // The cost the controller compares, for N = 1 (its baseline) at least.
    let cost = metrics.lines().find_map(|l| l.strip_prefix("bcr_serve_seconds_per_answer{n=\"1\"} "));
    assert!(cost.and_then(|c| c.parse::<f64>().ok()).is_some_and(|c| c > 0.0), "{metrics}");
    gw.stop().unwrap();
}

#[test]
fn packs_never_mix_api_keys() {
    let upstream = eval_support::start(no_faults(), Duration::from_millis(50));
    let mut cfg = config("fixed:4", 4);
    cfg.max_wait = Duration::from_millis(200);
    cfg.api_keys = Some(["alice", "bob"].map(String::from).into_iter().collect());
    let gw = bcr_serve::spawn(cfg, http_upstream(&upstream.url, 2, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let replies: Vec<(&str, serve_support::Reply)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let (client, addr) = (client.clone(), addr.clone());
                let key = if i % 2 == 0 { "alice" } else { "bob" };
                s.spawn(move || {
                    let body = question(&format!("Reply with the number {}.", 500 + i));
                    (key, post_raw(&client, &addr, "/v1/chat/completions", &body, Some(key), &[]))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut owner: HashMap<String, &str> = HashMap::new();
    for (key, r) in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
        let (id, _, _) = r.tag();
        assert_eq!(*owner.entry(id.clone()).or_insert(*key), *key, "pack {id} mixed keys");
    }
    // Unknown or missing keys: 401, on chat and models alike.
    let body = question("Reply with the number 1.");
    assert_error(&post_raw(&client, &addr, "/v1/chat/completions", &body, Some("mallory"), &[]), 401);
    assert_error(&post_raw(&client, &addr, "/v1/chat/completions", &body, None, &[]), 401);
    assert_error(&get(&client, &addr, "/v1/models", Some("eve")), 401);
    assert_eq!(get(&client, &addr, "/v1/models", Some("bob")).body["data"][0]["id"], "test-model");
    gw.stop().unwrap();
}

#[test]
fn bad_input_gets_openai_errors_and_the_server_keeps_serving() {
    let upstream = eval_support::start(no_faults(), Duration::ZERO);
    let mut cfg = config("fixed:1", 1);
    cfg.max_body_bytes = 4096;
    let gw = bcr_serve::spawn(cfg, http_upstream(&upstream.url, 2, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let huge = question(&"x".repeat(10_000));
    let cases: &[(&str, u16)] = &[
        ("{\"messages\": [", 400),
        ("{}", 400),
        ("{\"messages\": []}", 400),
        ("{\"messages\": [{\"role\": \"user\", \"content\": 3}]}", 400),
        ("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"temperature\": \"hot\"}", 400),
        ("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"stream\": 1}", 400),
        (huge.as_str(), 413),
    ];
    for &(body, status) in cases {
        let r = post_raw(&client, &addr, "/v1/chat/completions", body, None, &[]);
        assert_error(&r, status);
        // Still serving after each bad request.
        let ok = post_raw(&client, &addr, "/v1/chat/completions", &question("Reply with the number 7."), None, &[]);
        assert_eq!(ok.status, 200, "after {body:.40}: {}", ok.text);
        assert!(ok.content().contains("\\boxed{7}"));
    }
    assert_eq!(get(&client, &addr, "/health", None).body["status"], "ok");
    assert_error(&get(&client, &addr, "/v1/nothing", None), 404);
    let metrics = get(&client, &addr, "/metrics", None).text;
    assert!(metrics.contains("bcr_serve_errors_total{kind=\"invalid_request\"} 6"), "{metrics}");
    assert!(metrics.contains("bcr_serve_errors_total{kind=\"too_large\"} 1"), "{metrics}");
    gw.stop().unwrap();
}

#[test]
fn unpackable_requests_pass_through_to_the_upstream() {
    let upstream = eval_support::start(no_faults(), Duration::ZERO);
    let gw = bcr_serve::spawn(config("fixed:4", 4), http_upstream(&upstream.url, 2, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let tools = serde_json::json!({
        "messages": [{"role": "user", "content": "Reply with the number 42."}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    });
    let r = post_raw(&client, &addr, "/v1/chat/completions", &tools.to_string(), None, &[]);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.pack.is_none(), "a passthrough is not packed");
    assert!(r.content().contains("\\boxed{42}"));
    // Opted out: unpacked, no BCR prompt (the fake reads the question as is).
    let r = post_raw(
        &client,
        &addr,
        "/v1/chat/completions",
        &question("Reply with the number 9."),
        None,
        &[("x-bcr-pack", "off")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.pack.is_none());
    gw.stop().unwrap();
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    // One slow upstream slot and room for 2 waiting questions.
    let upstream = eval_support::start(no_faults(), Duration::from_millis(800));
    let mut cfg = config("fixed:1", 1);
    cfg.max_queue = 2;
    let gw = bcr_serve::spawn(cfg, http_upstream(&upstream.url, 1, 10), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let client = agent();
    let replies: Vec<serve_support::Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (client, addr) = (client.clone(), addr.clone());
                s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(20 * i as u64));
                    post_raw(
                        &client,
                        &addr,
                        "/v1/chat/completions",
                        &question(&format!("Reply with the number {i}.")),
                        None,
                        &[],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let full: Vec<&serve_support::Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!full.is_empty(), "no 429 with 8 callers, 1 slot and a queue of 2");
    for r in &full {
        assert_error(r, 429);
        assert_eq!(r.retry_after.as_deref(), Some("1"));
    }
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 429));
    assert!(replies.iter().filter(|r| r.status == 200).count() >= 3);
    gw.stop().unwrap();
}
