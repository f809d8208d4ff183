//! Test support for `bcr serve`: a gateway on a loopback port in front of
//! the fake OpenAI server of the eval tests (or the native warm start), and
//! a small blocking client.

#![allow(dead_code)] // each test binary uses a different part

use bcr_serve::{NPolicy, ServeConfig, Upstream};
use serde_json::{json, Value};
use std::time::Duration;

/// A gateway config for tests: `policy`, a short wait, a small budget.
pub fn config(policy: &str, max_n: usize) -> ServeConfig {
    let mut c = ServeConfig::new("test-model");
    c.set_policy(&policy.parse::<NPolicy>().unwrap(), max_n, 60_000.0, (100.0, 0.05)).unwrap();
    c.max_wait = Duration::from_millis(30);
    c.packer.budget = 64;
    c
}

/// An HTTP upstream at `url` with `concurrency` calls at once and a short timeout.
pub fn http_upstream(url: &str, concurrency: usize, timeout_s: u64) -> Upstream {
    let spec = bcr_eval::BackendSpec::Http(bcr_eval::HttpConfig {
        base_url: url.into(),
        model: "fake".into(),
        api: bcr_eval::Api::Chat,
        concurrency,
        timeout: Duration::from_secs(timeout_s),
        retry: bcr_eval::RetryPolicy {
            max_retries: 4,
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
            max_retry_after: Duration::from_millis(50),
        },
        api_key: None,
        tokenizer: None,
    });
    Upstream::open(&spec).unwrap()
}

/// A reply: status, `x-bcr-pack` header, JSON body (or the raw text as a string).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub pack: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The assistant message's content.
    pub fn content(&self) -> &str {
        self.body["choices"][0]["message"]["content"].as_str().unwrap_or("")
    }

    /// `(pack id, position, N)` from the header.
    pub fn tag(&self) -> (String, usize, usize) {
        let h = self.pack.as_deref().expect("x-bcr-pack header");
        let parts: Vec<&str> = h.split('/').collect();
        (parts[0].to_string(), parts[1].parse().unwrap(), parts[2].parse().unwrap())
    }
}

/// A client agent that returns every status as a reply.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// POSTs `body` (raw text) to `path` with optional bearer `key` and headers.
pub fn post_raw(
    agent: &ureq::Agent,
    addr: &str,
    path: &str,
    body: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut call = agent.post(&format!("http://{addr}{path}")).header("Content-Type", "application/json");
    if let Some(k) = key {
        call = call.header("Authorization", &format!("Bearer {k}"));
    }
    for (k, v) in headers {
        call = call.header(*k, *v);
    }
    let mut resp = call.send(body.to_string()).expect("transport");
    reply(&mut resp)
}

/// GETs `path`.
pub fn get(agent: &ureq::Agent, addr: &str, path: &str, key: Option<&str>) -> Reply {
    let mut call = agent.get(&format!("http://{addr}{path}"));
    if let Some(k) = key {
        call = call.header("Authorization", &format!("Bearer {k}"));
    }
    let mut resp = call.call().expect("transport");
    reply(&mut resp)
}

fn reply(resp: &mut ureq::http::Response<ureq::Body>) -> Reply {
    let status = resp.status().as_u16();
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (pack, retry_after) = (header("x-bcr-pack"), header("retry-after"));
    let text = resp.body_mut().with_config().limit(64 << 20).read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
    Reply { status, pack, retry_after, body, text }
}

/// A one-question chat body.
pub fn question(q: &str) -> String {
    json!({"model": "test-model", "messages": [{"role": "user", "content": q}]}).to_string()
}

/// Asserts `r` is an OpenAI error with `status`.
pub fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.text);
    let e = &r.body["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    assert!(e["type"].is_string() && e.get("param").is_some() && e.get("code").is_some(), "{}", r.text);
}
