//! Requests that cannot join a pack (tools, `n > 1`, logprobs, stop
//! strings, multi-turn chats, `x-bcr-pack: off`) go to the model unpacked.
//!
//! - HTTP upstream: the body is forwarded as the caller wrote it (`model`
//!   set to the served model) through `HttpBackend::forward`, with its
//!   retries; the upstream's status and body come back as they are. A
//!   streaming caller gets the answer as one event stream once it is
//!   complete (the upstream is asked without `stream`).
//! - Native runtime: plain chats (multi-turn, opt-out) are generated
//!   unpacked with the model's chat template; what needs a server (tools,
//!   `n > 1`, logprobs, ...) gets a 400.

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bcr_core::{ChatMessage, FinishReason};
use bcr_eval::{Flow, Request};
use serde_json::{json, Value};

use crate::batcher::Slot;
use crate::openai::{ApiError, ChatRequest, Completion};
use crate::server::{respond, upstream_json, Gateway};
use crate::upstream::Upstream;

/// Answers an unpackable request.
pub async fn passthrough(gw: &Arc<Gateway>, req: ChatRequest) -> Result<Response, ApiError> {
    let shared = gw.shared.clone();
    if let (Upstream::Native(_), true) = (&shared.upstream, req.needs_upstream) {
        let why = req.unpackable.clone().unwrap_or_default();
        return Err(ApiError::invalid(
            "",
            format!("{why}, and the native backend has no upstream to pass it to; serve behind an OpenAI-compatible server (--endpoint) for it"),
        ));
    }
    let permit =
        shared.slots.clone().acquire_owned().await.map_err(|_| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down")
        })?;
    let slot = Slot::new(shared.clone(), permit);
    let arrived = Instant::now();
    let raw = req.raw.clone();
    let budget = shared.packer.budget;
    let sampling = (req.temperature, req.top_p, req.max_tokens);
    let messages: Vec<ChatMessage> = req.messages.iter().map(|(r, c)| ChatMessage::new(r.clone(), c.clone())).collect();
    let joined = tokio::task::spawn_blocking(move || {
        let out = match &slot.shared.upstream {
            Upstream::Http(b) => Outcome::Raw(b.forward(&raw)),
            Upstream::Native(b) => {
                let r = Request {
                    messages,
                    max_tokens: sampling.2.unwrap_or(budget),
                    temperature: sampling.0.unwrap_or(0.0),
                    top_p: sampling.1.unwrap_or(1.0),
                    seed: 0,
                };
                Outcome::Native(generate(b, r))
            }
        };
        drop(slot);
        out
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", e.to_string()))?;
    let upstream_err = |e: bcr_eval::Error| ApiError::new(StatusCode::BAD_GATEWAY, "upstream_error", e.to_string());
    let resp = match joined {
        Outcome::Raw(r) => {
            let (status, text) = r.map_err(upstream_err)?;
            if req.stream && status == 200 {
                stream_raw(gw, &text)?
            } else {
                upstream_json(status, text)
            }
        }
        Outcome::Native(r) => respond(gw, &req, &r.map_err(upstream_err)?, None),
    };
    shared.metrics.latency.observe(arrived.elapsed().as_secs_f64());
    shared.metrics.answered("passthrough");
    Ok(resp)
}

enum Outcome {
    Raw(bcr_eval::Result<(u16, String)>),
    Native(bcr_eval::Result<Completion>),
}

/// One unpacked generation on the native runtime.
fn generate(b: &bcr_eval::NativeBackend, r: Request) -> bcr_eval::Result<Completion> {
    use bcr_eval::Backend;
    let out = std::sync::Mutex::new(None);
    b.run(std::slice::from_ref(&r), &|_, res| {
        *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(res);
        Flow::Continue
    })?;
    let resp = out
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_else(|| Err(bcr_eval::Error::Invalid("the native backend returned no result".into())))?;
    Ok(Completion {
        text: resp.text,
        finish: resp.finish,
        prompt_tokens: resp.prompt_tokens.unwrap_or(0),
        completion_tokens: resp.completion_tokens,
    })
}

/// An upstream's complete chat response as an event stream: per choice a
/// chunk with the whole message, then one with its finish reason.
fn stream_raw(gw: &Gateway, text: &str) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_str(text).map_err(|_| {
        ApiError::new(StatusCode::BAD_GATEWAY, "upstream_error", "the upstream sent a body that is not JSON")
    })?;
    let (id, created) = (v["id"].clone(), v["created"].clone());
    let model = v.get("model").cloned().unwrap_or_else(|| json!(gw.model_name));
    let mut out = String::new();
    for choice in v["choices"].as_array().into_iter().flatten() {
        let finish = choice.get("finish_reason").cloned().unwrap_or(json!(FinishReason::Stop.as_openai()));
        for (delta, fin) in [(choice["message"].clone(), Value::Null), (json!({}), finish)] {
            let chunk = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": choice["index"], "delta": delta, "finish_reason": fin}]});
            out.push_str(&format!("data: {chunk}\n\n"));
        }
    }
    out.push_str("data: [DONE]\n\n");
    Ok(([(axum::http::header::CONTENT_TYPE, "text/event-stream")], out).into_response())
}
