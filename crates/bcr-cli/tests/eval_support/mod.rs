//! Test support for the `bcr eval` tests: a fake OpenAI-compatible server on
//! loopback (std `TcpListener`) that answers every pack correctly but can
//! inject faults first (dropped connections, 500, 429 with Retry-After,
//! malformed JSON, stalls past the client timeout, slow answers), and a
//! problem file whose answers the server can read off the prompt.

#![allow(dead_code)] // each test binary uses a different part

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault the server can inject instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without a response.
    Drop,
    /// `500 Internal Server Error`.
    Status500,
    /// `429 Too Many Requests` with `Retry-After: 0`.
    Status429,
    /// `200` with a truncated JSON body.
    Malformed,
    /// Sleep past the client's timeout, then close.
    Stall,
    /// `503` with an HTML body.
    Status503,
    /// `400` (a client error: not retried).
    Status400,
    /// `200` with a well-formed answer whose last labelled answer is left
    /// out (a pack the budget cut short).
    MissingLast,
}

/// What the server does with attempt `a` of a request with seed `s`.
pub type Plan = dyn Fn(u64, usize) -> Option<Fault> + Send + Sync;

/// Counters of a running fake server.
#[derive(Default)]
pub struct Stats {
    /// Requests received (all attempts).
    pub received: AtomicUsize,
    /// Successful answers sent.
    pub answered: AtomicUsize,
    /// Attempts seen per request seed.
    pub attempts: Mutex<std::collections::HashMap<u64, usize>>,
}

/// A fake server; stops accepting when dropped.
pub struct FakeServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub url: String,
    /// Counters.
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// Starts a server on a free loopback port. `delay` is added before every
/// successful answer.
pub fn start(plan: Arc<Plan>, delay: Duration) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (st, sp) = (stats.clone(), stop.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if sp.load(Ordering::SeqCst) {
                break;
            }
            let Ok(conn) = conn else { continue };
            let (st, plan) = (st.clone(), plan.clone());
            std::thread::spawn(move || serve(conn, &st, plan.as_ref(), delay));
        }
    });
    FakeServer { url: format!("http://127.0.0.1:{port}/v1"), stats, stop, port }
}

fn serve(mut conn: TcpStream, stats: &Stats, plan: &Plan, delay: Duration) {
    let Some(body) = read_request(&conn) else { return };
    stats.received.fetch_add(1, Ordering::SeqCst);
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let seed = req["seed"].as_u64().unwrap_or(0);
    let attempt = {
        let mut a = stats.attempts.lock().unwrap();
        let e = a.entry(seed).or_insert(0);
        *e += 1;
        *e - 1
    };
    let reply = |conn: &mut TcpStream, status: &str, extra: &str, body: &str| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(body.as_bytes());
        let _ = conn.flush();
    };
    match plan(seed, attempt) {
        Some(Fault::Drop) => {}
        Some(Fault::Status500) => reply(&mut conn, "500 Internal Server Error", "", "{\"error\":\"boom\"}"),
        Some(Fault::Status503) => reply(&mut conn, "503 Service Unavailable", "", "<html>busy</html>"),
        Some(Fault::Status400) => reply(&mut conn, "400 Bad Request", "", "{\"error\":\"model `fake` not found\"}"),
        Some(Fault::Status429) => reply(&mut conn, "429 Too Many Requests", "Retry-After: 0\r\n", "{}"),
        Some(Fault::Malformed) => reply(&mut conn, "200 OK", "", "{\"choices\":[{\"message\":{\"content\":\"Ans"),
        Some(Fault::Stall) => std::thread::sleep(Duration::from_millis(2500)),
        Some(Fault::MissingLast) => {
            let mut answer = answer_for(&req);
            let text = answer["choices"][0]["message"]["content"].as_str().unwrap_or("").to_string();
            let kept: Vec<&str> = text.lines().collect();
            let kept = if kept.len() > 1 { kept[..kept.len() - 1].join("\n") } else { text.clone() };
            answer["choices"][0]["message"]["content"] = Value::String(kept);
            answer["choices"][0]["finish_reason"] = Value::String("length".into());
            stats.answered.fetch_add(1, Ordering::SeqCst);
            reply(&mut conn, "200 OK", "", &answer.to_string());
        }
        None => {
            std::thread::sleep(delay);
            let answer = answer_for(&req);
            stats.answered.fetch_add(1, Ordering::SeqCst);
            reply(&mut conn, "200 OK", "", &answer.to_string());
        }
    }
}

/// Reads one HTTP request and returns its body.
fn read_request(conn: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

/// A correct chat completion for the problems in the prompt: each question
/// is "Reply with the number D.", so the answers can be read off it.
fn answer_for(req: &Value) -> Value {
    let prompt = req["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
    let numbers: Vec<&str> =
        prompt.split("Reply with the number ").skip(1).map(|rest| rest.split('.').next().unwrap_or("")).collect();
    let text = if numbers.len() == 1 {
        format!("The answer is \\boxed{{{}}}.", numbers[0])
    } else {
        let lines: Vec<String> =
            numbers.iter().enumerate().map(|(k, d)| format!("Answer {}: \\boxed{{{d}}}", k + 1)).collect();
        lines.join("\n")
    };
    json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5 * numbers.len().max(1), "total_tokens": 20}
    })
}

/// Writes `m` problems (`id` p0.., answer 100+i) to `dir/problems.jsonl`.
pub fn problem_file(dir: &Path, m: usize) -> PathBuf {
    let path = dir.join("problems.jsonl");
    let lines: Vec<String> = (0..m)
        .map(|i| json!({"id": format!("p{i}"), "question": format!("Reply with the number {}.", 100 + i), "answer": format!("{}", 100 + i)}).to_string())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("write problems");
    path
}

/// `bcr eval` against `url` on `problems`, into `out`, with extra flags.
pub fn eval_cmd(url: &str, problems: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bcr"));
    cmd.args(["eval", "--endpoint", url, "--served-model", "fake", "--benchmarks"])
        .arg(problems)
        .arg("--out")
        .arg(out)
        .args(["--budget", "64", "--quiet"])
        .args(extra);
    cmd
}

/// Lines of `samples.jsonl` as JSON values (whole lines only).
pub fn sample_lines(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("samples.jsonl")).unwrap_or_default();
    text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The key of a sample line.
pub fn key(v: &Value) -> String {
    format!("{}|{}|{}|{}|{}", v["benchmark"], v["n"], v["shuffle"], v["pack_id"], v["sample"])
}
