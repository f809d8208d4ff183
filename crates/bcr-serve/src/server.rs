//! The HTTP side: axum routes, bearer-token auth, the body limit, and the
//! two routes of a chat request (packed, or passed through unpacked).

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::batcher::{GroupKey, Job, PackTag, Shared};
use crate::openai::{completion_body, parse_request, stream_body, ApiError, ChatRequest, Completion};
use crate::pack::Sampling;
use crate::passthrough::passthrough;

/// The gateway's state, shared by every handler.
pub struct Gateway {
    /// What the dispatcher and calls share.
    pub shared: Arc<Shared>,
    /// The dispatcher's queue.
    pub tx: mpsc::UnboundedSender<Job>,
    /// The model name in `/v1/models` and in responses.
    pub model_name: String,
    /// Accepted API keys (`None`: no auth).
    pub api_keys: Option<HashSet<String>>,
    /// Pack questions of different API keys together.
    pub pack_across_keys: bool,
    /// Most questions waiting before 429.
    pub max_queue: usize,
    /// Sampling when the request sets none.
    pub default_sampling: Sampling,
    /// Ids of unpacked responses.
    pub next_id: std::sync::atomic::AtomicU64,
}

/// The routes, with the body limit.
pub fn router(gw: Arc<Gateway>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(&ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")) })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(gw)
}

/// An OpenAI error body as a response.
pub fn error(e: &ApiError) -> Response {
    let mut resp = (e.status, axum::Json(e.body())).into_response();
    if let Some(secs) = e.retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// The bearer token, checked against the key list when there is one.
fn authorize(gw: &Gateway, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    match (&gw.api_keys, token) {
        (None, t) => Ok(t),
        (Some(keys), Some(t)) if keys.contains(&t) => Ok(Some(t)),
        (Some(_), t) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            if t.is_some() { "unknown API key" } else { "missing API key (Authorization: Bearer KEY)" },
        )),
    }
}

async fn models(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&gw, &headers) {
        gw.shared.metrics.error(e.metric());
        return error(&e);
    }
    let data = json!([{"id": gw.model_name, "object": "model", "created": 0, "owned_by": "bcr"}]);
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let ct = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, ct)], gw.shared.metrics.render()).into_response()
}

async fn chat(State(gw): State<Arc<Gateway>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match chat_inner(&gw, &headers, body).await {
        Ok(resp) => resp,
        Err(e) => {
            gw.shared.metrics.error(e.metric());
            error(&e)
        }
    }
}

async fn chat_inner(
    gw: &Arc<Gateway>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let tenant = authorize(gw, headers)?;
    let body = body.map_err(|r| {
        let code = if r.status() == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "unreadable_body" };
        ApiError::new(r.status(), code, r.body_text())
    })?;
    let opt_out =
        headers.get("x-bcr-pack").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("off"));
    let req = parse_request(&body, opt_out)?;
    if req.unpackable.is_some() {
        return passthrough(gw, req).await;
    }
    let (tx, rx) = oneshot::channel();
    // parse_request marks every request that is not one question unpackable.
    let (system, question) = req.question().ok_or_else(|| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "a packable request without one question")
    })?;
    let sampling = Sampling {
        temperature: req.temperature.unwrap_or(gw.default_sampling.temperature),
        top_p: req.top_p.unwrap_or(gw.default_sampling.top_p),
    };
    let tenant = if gw.pack_across_keys { None } else { tenant };
    let group = GroupKey::new(tenant, system.map(str::to_string), sampling);
    let job = Job { group, question: question.to_string(), arrived: Instant::now(), reply: tx };
    enqueue(gw, job)?;
    let (completion, tag) = rx.await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the pack was lost (a backend call panicked)",
        )
    })??;
    Ok(respond(gw, &req, &completion, Some(&tag)))
}

/// Puts a question in the queue, or answers 429 when the queue is full.
fn enqueue(gw: &Gateway, job: Job) -> Result<(), ApiError> {
    let waiting = &gw.shared.waiting;
    if waiting.fetch_add(1, Ordering::SeqCst) >= gw.max_queue {
        waiting.fetch_sub(1, Ordering::SeqCst);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "queue_full",
            format!("{} questions are waiting (--max-queue); retry shortly", gw.max_queue),
        );
        e.retry_after = Some(1);
        return Err(e);
    }
    gw.tx.send(job).map_err(|_| {
        waiting.fetch_sub(1, Ordering::SeqCst);
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down")
    })
}

/// The OpenAI response (JSON or event stream) for one completion.
pub fn respond(gw: &Gateway, req: &ChatRequest, c: &Completion, tag: Option<&PackTag>) -> Response {
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Packed: named after the seat (so pack ids stay consecutive, one per pack).
    let id = match tag {
        Some(t) => format!("chatcmpl-{}-{}", t.id, t.position),
        None => format!("chatcmpl-u{:x}", gw.next_id.fetch_add(1, Ordering::Relaxed)),
    };
    let mut resp = if req.stream {
        let body = stream_body(&id, &gw.model_name, created, c, req.include_usage);
        ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], body).into_response()
    } else {
        axum::Json(completion_body(&id, &gw.model_name, created, c)).into_response()
    };
    if let Some(tag) = tag.and_then(|t| HeaderValue::from_str(&t.to_string()).ok()) {
        resp.headers_mut().insert("x-bcr-pack", tag);
    }
    resp
}

/// A JSON body from the upstream, as a response with its status.
pub fn upstream_json(status: u16, text: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => (status, axum::Json(v)).into_response(),
        Err(_) => error(&ApiError::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "the upstream sent a body that is not JSON",
        )),
    }
}
