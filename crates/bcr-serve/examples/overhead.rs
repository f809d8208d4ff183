//! The gateway's own cost (issue: at least 5,000 requests/s through the
//! packing path, at most 1 ms of added p99 latency, 1,000 open connections).
//!
//! One process, three parts on loopback:
//! - a trivial upstream (axum): answers every chat request at once, one
//!   labelled `Answer k: \boxed{D}` line per "Reply with the number D." in
//!   the prompt, so packs split exactly as a real model's would;
//! - `bcr serve` in front of it (`adaptive`, packing path, HTTP backend);
//! - an open-loop client: Poisson arrivals at `--rate`, each sent on an idle
//!   one of `--connections` kept-alive HTTP/1.1 connections (opened first
//!   and held for the whole run). Latency runs from the scheduled arrival,
//!   so a client that falls behind shows as latency, not as a lower rate.
//!
//! The same load runs twice: straight at the upstream, then through the
//! gateway; the difference of the percentiles is what the gateway adds.
//! Every answer is checked (its own number, in its own section).
//!
//! ```text
//! cargo run --release -p bcr-serve --example overhead -- \
//!     --rate 5000 --seconds 10 --connections 1000 --out overhead.json
//! ```

use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Command-line settings.
#[derive(Debug, Clone)]
struct Opts {
    rate: f64,
    seconds: f64,
    connections: usize,
    upstream_slots: usize,
    out: Option<String>,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts { rate: 5000.0, seconds: 10.0, connections: 1000, upstream_slots: 64, out: None };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag}: missing value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--rate" => o.rate = num(value)?,
            "--seconds" => o.seconds = num(value)?,
            "--connections" => o.connections = num(value)? as usize,
            "--upstream-slots" => o.upstream_slots = num(value)? as usize,
            "--out" => o.out = Some(value.clone()),
            _ => {
                return Err(format!("unknown flag {flag} (--rate, --seconds, --connections, --upstream-slots, --out)"))
            }
        }
    }
    if o.rate <= 0.0 || o.seconds <= 0.0 || o.connections == 0 {
        return Err("--rate, --seconds and --connections must be positive".into());
    }
    Ok(o)
}

/// The trivial upstream's answer to one chat request.
async fn answer(Json(req): Json<Value>) -> Json<Value> {
    let prompt = req["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
    let numbers: Vec<&str> =
        prompt.split("Reply with the number ").skip(1).map(|rest| rest.split('.').next().unwrap_or("")).collect();
    let lines: Vec<String> =
        numbers.iter().enumerate().map(|(k, d)| format!("Answer {}: \\boxed{{{d}}}", k + 1)).collect();
    Json(json!({
        "id": "x", "object": "chat.completion", "created": 0, "model": "trivial",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": lines.join("\n")}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 8 * numbers.len(), "completion_tokens": 6 * numbers.len(), "total_tokens": 14 * numbers.len()}
    }))
}

/// Starts the trivial upstream on a thread with its own runtime; its address.
fn start_upstream() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = Router::new().route("/v1/chat/completions", post(answer));
            axum::serve(listener, app).await.expect("upstream");
        });
    });
    addr
}

/// What one phase measured.
#[derive(Debug, Default)]
struct Phase {
    latencies_ms: Vec<f64>,
    errors: usize,
    wrong: usize,
    wall_s: f64,
}

impl Phase {
    fn pct(&self, q: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        v[(((v.len() as f64) * q).ceil() as usize).clamp(1, v.len()) - 1]
    }

    fn summary(&self, offered: f64) -> Value {
        json!({
            "offered_rps": offered, "answered": self.latencies_ms.len(), "errors": self.errors, "wrong": self.wrong,
            "achieved_rps": self.latencies_ms.len() as f64 / self.wall_s,
            "p50_ms": self.pct(0.50), "p95_ms": self.pct(0.95), "p99_ms": self.pct(0.99), "max_ms": self.pct(1.0),
        })
    }
}

type Conn = SendRequest<Full<Bytes>>;

/// Opens `n` kept-alive HTTP/1.1 connections to `addr`.
async fn connect(addr: std::net::SocketAddr, n: usize) -> Vec<Conn> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(conn);
        conns.push(send);
    }
    conns
}

/// One request "Reply with the number `i`." on `conn`; checks the answer.
async fn ask(conn: &mut Conn, i: usize) -> Result<bool, String> {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": format!("Reply with the number {i}.")}]});
    let req = hyper::Request::post("/v1/chat/completions")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    conn.ready().await.map_err(|e| e.to_string())?;
    let resp = conn.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if status != 200 {
        return Err(format!("status {status}: {}", String::from_utf8_lossy(&bytes)));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let text = v["choices"][0]["message"]["content"].as_str().unwrap_or("");
    Ok(text.contains(&format!("\\boxed{{{i}}}")) && text.matches("\\boxed").count() == 1)
}

/// Open-loop Poisson load at `rate` for `seconds` over `conns`; the first
/// second is warm-up (not recorded). Returns the phase and the connections.
async fn load(conns: Vec<Conn>, rate: f64, seconds: f64, base: usize) -> (Phase, Vec<Conn>) {
    let n = conns.len();
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<Conn>();
    for c in conns {
        idle_tx.send(c).expect("pool");
    }
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(bool, Result<bool, String>, f64)>();
    let warm = 1.0_f64.min(seconds / 4.0);
    let start = Instant::now();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ base as u64;
    let mut at = 0.0f64;
    let mut sent = 0usize;
    while at < seconds {
        // xorshift64* uniform in (0, 1] -> exponential gap.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let u = ((rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        at += -u.ln() / rate;
        let due = start + Duration::from_secs_f64(at);
        tokio::time::sleep_until(due.into()).await;
        let mut conn = idle_rx.recv().await.expect("pool");
        let (idle, done) = (idle_tx.clone(), done_tx.clone());
        let i = base + sent;
        let record = at >= warm;
        tokio::spawn(async move {
            let r = ask(&mut conn, i).await;
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            let _ = idle.send(conn);
            let _ = done.send((record, r, ms));
        });
        sent += 1;
    }
    drop(done_tx);
    let mut phase = Phase::default();
    while let Some((record, r, ms)) = done_rx.recv().await {
        if !record {
            continue;
        }
        match r {
            Ok(true) => phase.latencies_ms.push(ms),
            Ok(false) => phase.wrong += 1,
            Err(_) => phase.errors += 1,
        }
    }
    phase.wall_s = seconds - warm;
    let mut back = Vec::with_capacity(n);
    while back.len() < n {
        back.push(idle_rx.recv().await.expect("pool"));
    }
    (phase, back)
}

/// Sends one request on every connection: all `n` are still open and served.
async fn all_held(conns: &mut [Conn], base: usize) -> usize {
    let mut ok = 0;
    for (k, c) in conns.iter_mut().enumerate() {
        ok += usize::from(matches!(ask(c, base + k).await, Ok(true)));
    }
    ok
}

fn main() {
    let opts = parse_opts().unwrap_or_else(|e| {
        eprintln!("overhead: {e}");
        std::process::exit(2);
    });
    let upstream = start_upstream();
    let mut cfg = bcr_serve::ServeConfig::new("trivial");
    cfg.max_queue = 1 << 20;
    let spec = bcr_eval::BackendSpec::Http(bcr_eval::HttpConfig {
        base_url: format!("http://{upstream}/v1"),
        model: "trivial".into(),
        api: bcr_eval::Api::Chat,
        concurrency: opts.upstream_slots,
        timeout: Duration::from_secs(30),
        retry: bcr_eval::RetryPolicy::default(),
        api_key: None,
        tokenizer: None,
    });
    let gw =
        bcr_serve::spawn(cfg, bcr_serve::Upstream::open(&spec).expect("upstream"), "127.0.0.1:0").expect("gateway");
    let gateway = gw.addr();
    // The client gets its own runtime; the gateway and the upstream theirs.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let report = rt.block_on(async move {
        let conns = connect(upstream, opts.connections).await;
        let (direct, _) = load(conns, opts.rate, opts.seconds, 0).await;
        let conns = connect(gateway, opts.connections).await;
        let (via, mut conns) = load(conns, opts.rate, opts.seconds, 10_000_000).await;
        let held = all_held(&mut conns, 20_000_000).await;
        json!({
            "rate": opts.rate, "seconds": opts.seconds, "connections": opts.connections,
            "upstream_slots": opts.upstream_slots,
            "direct": direct.summary(opts.rate), "gateway": via.summary(opts.rate),
            "added_p50_ms": via.pct(0.50) - direct.pct(0.50),
            "added_p99_ms": via.pct(0.99) - direct.pct(0.99),
            "connections_held": held,
        })
    });
    let metrics = pack_metrics(gateway);
    gw.stop().expect("stop");
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    eprintln!("gateway packs: {metrics}");
    if let Some(path) = &opts.out {
        std::fs::write(path, serde_json::to_string_pretty(&report).expect("json") + "\n").expect("write --out");
    }
}

/// The gateway's pack-size count and sum from `/metrics` (one plain GET).
fn pack_metrics(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else { return "unreachable".into() };
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let keep: Vec<&str> = text.lines().filter(|l| l.starts_with("bcr_serve_pack_size_")).collect();
    keep.join(", ")
}
