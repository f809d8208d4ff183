//! `bcr serve` on the native runtime with the shipped warm start (greedy):
//! concurrent gym questions are packed, and every caller gets exactly one
//! reply whose text is its own section (only its own labelled answer) or,
//! re-asked alone, a whole N = 1 answer.

mod serve_support;

use bcr_serve::Upstream;
use serve_support::{agent, assert_error, config, post_raw, question};
use std::path::Path;
use std::time::Duration;

#[test]
fn warm_start_callers_get_only_their_own_sections() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/warm-start");
    let spec = bcr_eval::BackendSpec::Native {
        model: root.display().to_string(),
        load: bcr_model::LoadOptions::default(),
        batch: 4,
    };
    let mut cfg = config("fixed:3", 3);
    cfg.max_wait = Duration::from_millis(300);
    cfg.packer.budget = 160;
    let gw = bcr_serve::spawn(cfg, Upstream::open(&spec).unwrap(), "127.0.0.1:0").unwrap();
    let addr = gw.addr().to_string();
    let tasks = bcr_gym::tasks_upto(bcr_gym::Split::Test, &[], 1, 6, 7);
    let client = agent();
    let replies: Vec<serve_support::Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = tasks
            .iter()
            .map(|t| {
                let (client, addr) = (client.clone(), addr.clone());
                s.spawn(move || post_raw(&client, &addr, "/v1/chat/completions", &question(&t.question), None, &[]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut packed = 0;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
        let (_, pos, n) = r.tag();
        let content = r.content();
        if n > 1 {
            packed += 1;
            // A section holds its own labelled answer and no other.
            assert!(content.contains(&format!("Answer {pos}:")), "{pos}/{n}: {content:?}");
            for k in (1..=n).filter(|&k| k != pos) {
                assert!(!content.contains(&format!("Answer {k}:")), "{pos}/{n} holds answer {k}: {content:?}");
            }
        }
    }
    assert_eq!(replies.len(), tasks.len());
    eprintln!("{packed} of {} answers came from packs of more than one question", replies.len());
    // What needs an upstream server gets a clear 400 on the native runtime.
    let tools = serde_json::json!({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]});
    let r = post_raw(&client, &addr, "/v1/chat/completions", &tools.to_string(), None, &[]);
    assert_error(&r, 400);
    assert!(r.text.contains("--endpoint"), "{}", r.text);
    gw.stop().unwrap();
}

/// The continuous-batching native backend (what `bcr serve` runs): requests
/// from several threads, sent at different moments, join one running batch;
/// each is answered exactly once, with what the whole-batch schedule gives
/// the same request alone (greedy).
#[test]
fn continuous_batching_answers_each_request_once_as_alone() {
    use bcr_eval::{Backend, Flow, NativeBackend, Request};
    use std::sync::Mutex;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/demo/warm-start");
    let model = root.display().to_string();
    let tasks = bcr_gym::tasks_upto(bcr_gym::Split::Test, &[], 1, 6, 11);
    let request = |i: usize| Request {
        messages: vec![bcr_core::ChatMessage::user(&tasks[i].question)],
        max_tokens: 48 + 16 * i,
        temperature: 0.0,
        top_p: 1.0,
        seed: i as u64,
    };
    let alone = NativeBackend::load(&model, 1).unwrap();
    let want: Vec<String> = (0..tasks.len())
        .map(|i| {
            let out = Mutex::new(None);
            alone
                .run(&[request(i)], &|_, r| {
                    *out.lock().unwrap() = Some(r.unwrap());
                    Flow::Continue
                })
                .unwrap();
            out.into_inner().unwrap().unwrap().text
        })
        .collect();
    let live = NativeBackend::load(&model, 4).unwrap().continuous().unwrap();
    assert!(live.describe().contains("continuous"));
    let got: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (t, chunk) in [vec![0, 1], vec![2], vec![3, 4, 5]].into_iter().enumerate() {
            let (live, got, request) = (&live, &got, &request);
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(10 * t as u64));
                let reqs: Vec<Request> = chunk.iter().map(|&i| request(i)).collect();
                live.run(&reqs, &|k, r| {
                    got.lock().unwrap().push((chunk[k], r.unwrap().text));
                    Flow::Continue
                })
                .unwrap();
            });
        }
    });
    let mut got = got.into_inner().unwrap();
    got.sort();
    assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), (0..tasks.len()).collect::<Vec<_>>());
    for (i, text) in got {
        assert_eq!(text, want[i], "request {i}");
    }
}
