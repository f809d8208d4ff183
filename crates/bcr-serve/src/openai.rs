//! The OpenAI chat-completions schema: reading a request (with an error
//! body for every way it can be wrong), deciding whether it can join a
//! pack, and writing responses, stream chunks and error bodies.

use axum::http::StatusCode;
use serde_json::{json, Value};

/// An OpenAI-style error: an HTTP status and `{"error": {message, type, param, code}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The field at fault, if any.
    pub param: Option<String>,
    /// A machine-readable code (`invalid_api_key`, `queue_full`, ...).
    pub code: Option<&'static str>,
    /// Seconds to wait before retrying (429 only).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A 400 about `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            param: (!param.is_empty()).then(|| param.to_string()),
            code: None,
            retry_after: None,
        }
    }

    /// An error of any status with a code and no param.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), param: None, code: Some(code), retry_after: None }
    }

    /// The OpenAI `type` of this error.
    pub fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            400 | 404 | 413 => "invalid_request_error",
            401 => "authentication_error",
            429 => "rate_limit_error",
            502..=504 => "upstream_error",
            _ => "server_error",
        }
    }

    /// The metrics label of this error (`bcr_serve_errors_total{kind}`).
    pub fn metric(&self) -> &'static str {
        match self.status.as_u16() {
            401 => "auth",
            413 => "too_large",
            429 => "queue_full",
            400..=499 => "invalid_request",
            502..=504 => "upstream",
            _ => "internal",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind(), "param": self.param, "code": self.code}})
    }
}

/// Parameters that no pack can serve: the request goes through unpacked.
const UNPACKABLE: [&str; 8] =
    ["tools", "tool_choice", "functions", "function_call", "logprobs", "top_logprobs", "stop", "response_format"];

/// A validated chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The body as sent (forwarded as is when passed through).
    pub raw: Value,
    /// `(role, content)` of each message, content parts joined.
    pub messages: Vec<(String, String)>,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    /// `temperature`, if given.
    pub temperature: Option<f64>,
    /// `top_p`, if given.
    pub top_p: Option<f64>,
    /// `max_tokens` (or `max_completion_tokens`), if given.
    pub max_tokens: Option<usize>,
    /// `model`, if given.
    pub model: Option<String>,
    /// Why the request cannot join a pack (`None`: packable).
    pub unpackable: Option<String>,
    /// Whether the unpackable reason needs an upstream server (tools,
    /// `n > 1`, logprobs...); multi-turn chats and opt-outs do not.
    pub needs_upstream: bool,
}

impl ChatRequest {
    /// The system prompt and the question of a packable request.
    pub fn question(&self) -> Option<(Option<&str>, &str)> {
        question_of(&self.messages)
    }
}

/// One user question, with at most one system (or developer) prompt before it.
fn question_of(messages: &[(String, String)]) -> Option<(Option<&str>, &str)> {
    match messages {
        [(r, q)] if r == "user" => Some((None, q)),
        [(s, sys), (r, q)] if (s == "system" || s == "developer") && r == "user" => Some((Some(sys), q)),
        _ => None,
    }
}

/// Reads and validates a request body; `opt_out` is the `x-bcr-pack: off` header.
pub fn parse_request(body: &[u8], opt_out: bool) -> Result<ChatRequest, ApiError> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("", format!("the request body is not valid JSON: {e}")))?;
    let obj = raw.as_object().ok_or_else(|| ApiError::invalid("", "the request body must be a JSON object"))?;
    let messages = parse_messages(obj.get("messages"))?;
    let stream = opt_bool(obj, "stream")?.unwrap_or(false);
    let include_usage = match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(v) => v.get("include_usage").and_then(Value::as_bool).unwrap_or(false),
    };
    let temperature = opt_number(obj, "temperature", 0.0, 2.0)?;
    let top_p = opt_number(obj, "top_p", 0.0, 1.0)?;
    let max_tokens = match opt_count(obj, "max_completion_tokens")? {
        Some(n) => Some(n),
        None => opt_count(obj, "max_tokens")?,
    };
    let n = opt_count(obj, "n")?.unwrap_or(1);
    let model = match obj.get("model") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::invalid("model", "`model` must be a string")),
    };
    let mut needs_upstream = true;
    let unpackable = if let Some(p) = UNPACKABLE.iter().find(|p| obj.get(**p).is_some_and(|v| !is_off(v))) {
        Some(format!("`{p}` cannot be served through a pack"))
    } else if n > 1 {
        Some(format!("`n` = {n} cannot be served through a pack"))
    } else {
        needs_upstream = false;
        match (opt_out, question_of(&messages).is_some()) {
            (true, _) => Some("the client opted out (x-bcr-pack: off)".to_string()),
            (false, false) => Some("only one user question (with an optional system prompt) can join a pack".into()),
            (false, true) => None,
        }
    };
    Ok(ChatRequest {
        raw,
        messages,
        stream,
        include_usage,
        temperature,
        top_p,
        max_tokens,
        model,
        unpackable,
        needs_upstream,
    })
}

/// `false`, `null`, `[]`, `0`: a parameter that is present but switched off.
fn is_off(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false)) || v.as_array().is_some_and(Vec::is_empty) || v.as_u64() == Some(0)
}

fn parse_messages(v: Option<&Value>) -> Result<Vec<(String, String)>, ApiError> {
    let list = match v {
        None | Some(Value::Null) => return Err(ApiError::invalid("messages", "`messages` is required")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ApiError::invalid("messages", "`messages` must be an array of messages")),
    };
    if list.is_empty() {
        return Err(ApiError::invalid("messages", "`messages` must hold at least one message"));
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("messages[{i}]");
            let role = m
                .get("role")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid(&format!("{at}.role"), format!("`{at}.role` must be a string")))?;
            if !matches!(role, "system" | "developer" | "user" | "assistant" | "tool" | "function") {
                return Err(ApiError::invalid(&format!("{at}.role"), format!("`{at}.role`: unknown role {role:?}")));
            }
            Ok((role.to_string(), content_text(m.get("content"), &at)?))
        })
        .collect()
}

/// A message's content: a string, null (tool calls), or text parts joined.
fn content_text(v: Option<&Value>, at: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid(&format!("{at}.content"), format!("`{at}.content` must be a string or text parts"));
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
                (Some("text"), Some(t)) => Ok(t),
                _ => Err(bad()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|t| t.concat()),
        Some(_) => Err(bad()),
    }
}

type Obj = serde_json::Map<String, Value>;

fn opt_bool(obj: &Obj, key: &str) -> Result<Option<bool>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(ApiError::invalid(key, format!("`{key}` must be a boolean, got {v}"))),
    }
}

fn opt_number(obj: &Obj, key: &str, lo: f64, hi: f64) -> Result<Option<f64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if (lo..=hi).contains(&x) => Ok(Some(x)),
            _ => Err(ApiError::invalid(key, format!("`{key}` must be a number in [{lo}, {hi}], got {v}"))),
        },
    }
}

fn opt_count(obj: &Obj, key: &str) -> Result<Option<usize>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n as usize)),
            _ => Err(ApiError::invalid(key, format!("`{key}` must be a positive integer, got {v}"))),
        },
    }
}

/// One caller's answer, ready to be written in the OpenAI schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The assistant message.
    pub text: String,
    /// The OpenAI `finish_reason`.
    pub finish: bcr_core::FinishReason,
    /// This caller's share of the prompt tokens.
    pub prompt_tokens: usize,
    /// This caller's share of the completion tokens.
    pub completion_tokens: usize,
}

/// The `usage` object of a completion.
fn usage(c: &Completion) -> Value {
    json!({
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
    })
}

/// A non-streaming `chat.completion` body.
pub fn completion_body(id: &str, model: &str, created: u64, c: &Completion) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": c.text},
            "finish_reason": c.finish.as_openai(),
            "logprobs": null,
        }],
        "usage": usage(c),
    })
}

/// A whole `text/event-stream` body: a role chunk, the content, the finish
/// chunk, the usage chunk when asked for, then `data: [DONE]`.
pub fn stream_body(id: &str, model: &str, created: u64, c: &Completion, include_usage: bool) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut events = vec![
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": c.text}), Value::Null),
        chunk(json!({}), json!(c.finish.as_openai())),
    ];
    if include_usage {
        events.push(json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": usage(c),
        }));
    }
    let mut out: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}

#[cfg(test)]
#[path = "openai/tests.rs"]
mod tests;
