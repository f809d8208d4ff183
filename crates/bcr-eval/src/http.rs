//! [`HttpBackend`]: any OpenAI-compatible server (vLLM, SGLang, llama.cpp's
//! server, mistral.rs, hosted APIs) through `/v1/chat/completions` or
//! `/v1/completions`.
//!
//! A bounded pool of `concurrency` worker threads pulls requests in order;
//! each request has a global timeout and is retried ([`RetryPolicy`]) on
//! connection errors, timeouts, 429, 5xx and unreadable or malformed bodies.
//! Token counts come from `usage.completion_tokens`; without it, from the
//! optional tokenizer, else a bytes/4 estimate ([`TokenSource`]).

use crate::backend::{Backend, Flow, Request, Response, TokenSource};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::{Error, Result};
use bcr_core::{join_messages, FinishReason};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which OpenAI endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `/chat/completions`: the server applies the model's chat template.
    Chat,
    /// `/completions`: the messages' contents joined by blank lines, raw.
    Completions,
}

/// Counts the tokens of a text (the fallback when a server sends no usage).
pub type TokenCounter = Arc<dyn Fn(&str) -> Option<usize> + Send + Sync>;

/// Settings of an [`HttpBackend`].
#[derive(Clone)]
pub struct HttpConfig {
    /// Base URL ending in `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The served model name sent as `model`.
    pub model: String,
    /// Chat or completions.
    pub api: Api,
    /// Requests in flight at once (worker threads), at least 1.
    pub concurrency: usize,
    /// Time limit of one attempt (connect, send, generate, read).
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Bearer token (`Authorization` header), if the server needs one.
    pub api_key: Option<String>,
    /// Fallback token counter when a response has no `usage`.
    pub tokenizer: Option<TokenCounter>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api", &self.api)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("tokenizer", &self.tokenizer.is_some())
            .finish()
    }
}

/// An OpenAI-compatible server as a [`Backend`].
#[derive(Debug)]
pub struct HttpBackend {
    config: HttpConfig,
    agent: ureq::Agent,
    url: String,
}

impl HttpBackend {
    /// Checks the config and builds the HTTP client (no request is sent).
    pub fn new(config: HttpConfig) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "endpoint `{}`: expected http://host:port/v1 or https://...",
                config.base_url
            )));
        }
        if config.concurrency == 0 {
            return Err(Error::Invalid("concurrency: must be at least 1, got 0".into()));
        }
        let path = match config.api {
            Api::Chat => "chat/completions",
            Api::Completions => "completions",
        };
        let url = format!("{base}/{path}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .max_idle_connections(config.concurrency.max(1) * 2)
            .max_idle_connections_per_host(config.concurrency.max(1) * 2)
            .build()
            .into();
        Ok(HttpBackend { config, agent, url })
    }

    /// The request body for `req`.
    fn body(&self, req: &Request) -> Value {
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "seed": req.seed,
            "stream": false,
        });
        match self.config.api {
            Api::Chat => body["messages"] = json!(req.messages),
            Api::Completions => body["prompt"] = Value::String(join_messages(&req.messages)),
        }
        body
    }

    /// Sends `body` to `url` once and reads the reply: `(status, Retry-After, body)`.
    fn send(&self, url: &str, body: &Value) -> std::result::Result<(u16, Option<Duration>, String), Failure> {
        let mut call = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            call = call.header("Authorization", &format!("Bearer {key}"));
        }
        let mut resp = call.send(body.to_string()).map_err(|e| Failure {
            message: format!("transport: {e}"),
            retryable: is_transient(&e),
            retry_after: None,
        })?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let text = resp.body_mut().with_config().limit(64 << 20).read_to_string().map_err(|e| Failure {
            message: format!("status {status}, reading body: {e}"),
            retryable: true,
            retry_after,
        })?;
        Ok((status, retry_after, text))
    }

    /// One attempt: send, read, parse. Errors say whether to retry.
    fn attempt(&self, body: &Value) -> std::result::Result<Parsed, Failure> {
        let (status, retry_after, text) = self.send(&self.url, body)?;
        if status != 200 {
            let retryable = is_retryable_status(status);
            return Err(Failure { message: format!("status {status}: {}", excerpt(&text)), retryable, retry_after });
        }
        parse_body(&text, self.config.api).map_err(|message| Failure { message, retryable: true, retry_after: None })
    }

    /// Passes a chat request through unchanged (`bcr serve`'s unpacked
    /// requests: tools, `n > 1`, logprobs, multi-turn) to the server's
    /// `/chat/completions`, whatever [`Api`] is configured, with `model` set
    /// to the served model and `stream` off (and `stream_options` dropped). Transport errors, 408, 429 and
    /// 5xx are retried as for [`Backend::run`]; the final reply's status and
    /// body are returned as they are (a 400 is the caller's to read).
    pub fn forward(&self, body: &Value) -> Result<(u16, String)> {
        let mut body = body.clone();
        body["model"] = Value::String(self.config.model.clone());
        body["stream"] = Value::Bool(false);
        if let Some(obj) = body.as_object_mut() {
            obj.remove("stream_options"); // servers reject it without `stream`
        }
        let url = format!("{}/chat/completions", self.config.base_url.trim_end_matches('/'));
        let mut rng = jitter_rng(0);
        let mut retry = 0u32;
        loop {
            let (retryable, retry_after, failure) = match self.send(&url, &body) {
                Ok((status, _, text)) if !is_retryable_status(status) => return Ok((status, text)),
                Ok((status, ra, text)) => (true, ra, format!("status {status}: {}", excerpt(&text))),
                Err(f) => (f.retryable, f.retry_after, f.message),
            };
            if !retryable || retry >= self.config.retry.max_retries {
                let message = format!("{failure} (after {} attempts)", retry + 1);
                return Err(Error::Http { url, message, retryable });
            }
            std::thread::sleep(self.config.retry.delay(retry, rng.random::<f64>(), retry_after));
            retry += 1;
        }
    }

    /// The settings this backend was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// All attempts of one request.
    fn complete(&self, req: &Request, rng: &mut rand_chacha::ChaCha8Rng) -> Result<Response> {
        let body = self.body(req);
        let start = Instant::now();
        let mut retry = 0u32;
        loop {
            match self.attempt(&body) {
                Ok(p) => return Ok(self.finish(p, start, retry + 1)),
                Err(f) if f.retryable && retry < self.config.retry.max_retries => {
                    let delay = self.config.retry.delay(retry, rng.random::<f64>(), f.retry_after);
                    std::thread::sleep(delay);
                    retry += 1;
                }
                Err(f) => {
                    return Err(Error::Http {
                        url: self.url.clone(),
                        message: format!("{} (after {} attempts)", f.message, retry + 1),
                        retryable: f.retryable,
                    })
                }
            }
        }
    }

    fn finish(&self, p: Parsed, start: Instant, attempts: u32) -> Response {
        let (tokens, source) = match p.completion_tokens {
            Some(n) => (n, TokenSource::Usage),
            None => match self.config.tokenizer.as_ref().and_then(|t| t(&p.text)) {
                Some(n) => (n, TokenSource::Tokenizer),
                None => (p.text.len().div_ceil(4), TokenSource::Estimate),
            },
        };
        Response {
            text: p.text,
            completion_tokens: tokens,
            prompt_tokens: p.prompt_tokens,
            token_source: source,
            finish: p.finish,
            latency_s: start.elapsed().as_secs_f64(),
            attempts,
        }
    }
}

impl Backend for HttpBackend {
    fn describe(&self) -> String {
        format!("openai-compatible {} `{}` at {}", api_name(self.config.api), self.config.model, self.url)
    }

    fn run(&self, requests: &[Request], on_result: &(dyn Fn(usize, Result<Response>) -> Flow + Sync)) -> Result<()> {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let workers = self.config.concurrency.min(requests.len());
        if workers <= 1 {
            // One request (the gateway's case, thousands a second): on this
            // thread, without spawning one.
            let mut rng = jitter_rng(0);
            for (i, req) in requests.iter().enumerate() {
                if on_result(i, self.complete(req, &mut rng)) == Flow::Stop {
                    break;
                }
            }
            return Ok(());
        }
        std::thread::scope(|s| {
            for w in 0..workers {
                let (next, stop) = (&next, &stop);
                s.spawn(move || {
                    let mut rng = jitter_rng(w);
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(req) = requests.get(i) else { break };
                        if on_result(i, self.complete(req, &mut rng)) == Flow::Stop {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        Ok(())
    }

    fn token_counter(&self) -> Option<crate::TokenCounter> {
        self.config.tokenizer.clone()
    }
}

/// A per-worker RNG for jitter only (samples are seeded per request).
fn jitter_rng(worker: usize) -> rand_chacha::ChaCha8Rng {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    rand_chacha::ChaCha8Rng::seed_from_u64(nanos ^ (worker as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn api_name(api: Api) -> &'static str {
    match api {
        Api::Chat => "chat",
        Api::Completions => "completions",
    }
}

/// Why one attempt failed.
struct Failure {
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
}

/// The fields of a successful response.
#[derive(Debug, PartialEq)]
struct Parsed {
    text: String,
    completion_tokens: Option<usize>,
    prompt_tokens: Option<usize>,
    finish: FinishReason,
}

/// Statuses worth another attempt: timeouts, rate limits, server errors.
fn is_retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || status >= 500
}

fn is_transient(e: &ureq::Error) -> bool {
    !matches!(e, ureq::Error::BadUri(_) | ureq::Error::HostNotFound | ureq::Error::RequireHttpsOnly(_))
}

fn excerpt(s: &str) -> String {
    let one_line: String = s.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.chars().count() > 200 {
        format!("{one_line}...")
    } else {
        one_line
    }
}

/// Parses an OpenAI chat or completions response body.
fn parse_body(text: &str, api: Api) -> std::result::Result<Parsed, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("malformed JSON ({e}): {}", excerpt(text)))?;
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| format!("no `choices[0]` in response: {}", excerpt(text)))?;
    let content = match api {
        Api::Chat => choice.get("message").and_then(|m| m.get("content")),
        Api::Completions => choice.get("text"),
    };
    let text_out = match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None if api == Api::Chat => String::new(),
        _ => return Err(format!("no text in `choices[0]`: {}", excerpt(text))),
    };
    let completion_tokens =
        v.get("usage").and_then(|u| u.get("completion_tokens")).and_then(Value::as_u64).map(|n| n as usize);
    let prompt_tokens = v.get("usage").and_then(|u| u.get("prompt_tokens")).and_then(Value::as_u64).map(|n| n as usize);
    let finish = FinishReason::from_openai(choice.get("finish_reason").and_then(Value::as_str));
    Ok(Parsed { text: text_out, completion_tokens, prompt_tokens, finish })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bodies() {
        let chat = r#"{"choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}],"usage":{"completion_tokens":7}}"#;
        let p = parse_body(chat, Api::Chat).unwrap();
        assert_eq!(
            p,
            Parsed { text: "hi".into(), completion_tokens: Some(7), prompt_tokens: None, finish: FinishReason::Length }
        );

        let comp = r#"{"choices":[{"text":"x","finish_reason":"stop"}]}"#;
        let p = parse_body(comp, Api::Completions).unwrap();
        assert_eq!(
            p,
            Parsed { text: "x".into(), completion_tokens: None, prompt_tokens: None, finish: FinishReason::Stop }
        );

        let null_content = r#"{"choices":[{"message":{"content":null}}]}"#;
        assert_eq!(parse_body(null_content, Api::Chat).unwrap().text, "");

        let bad: &[(&str, Api, &str)] = &[
            ("{\"choices\": [", Api::Chat, "malformed JSON"),
            ("", Api::Chat, "malformed JSON"),
            ("{\"choices\": []}", Api::Chat, "no `choices[0]`"),
            ("{\"error\": \"x\"}", Api::Completions, "no `choices[0]`"),
            ("{\"choices\": [{\"text\": 3}]}", Api::Completions, "no text"),
        ];
        for &(body, api, want) in bad {
            let err = parse_body(body, api).unwrap_err();
            assert!(err.contains(want), "{body:?}: {err}");
        }
    }

    #[test]
    fn rejects_bad_config() {
        let cfg = |url: &str, conc: usize| HttpConfig {
            base_url: url.into(),
            model: "m".into(),
            api: Api::Chat,
            concurrency: conc,
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            api_key: None,
            tokenizer: None,
        };
        assert!(HttpBackend::new(cfg("localhost:8080/v1", 1)).is_err());
        assert!(HttpBackend::new(cfg("http://127.0.0.1:1/v1", 0)).is_err());
        let b = HttpBackend::new(cfg("http://127.0.0.1:1/v1/", 1)).unwrap();
        assert_eq!(b.url, "http://127.0.0.1:1/v1/chat/completions");
    }
}
