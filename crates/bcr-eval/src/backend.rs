//! What the sweep asks of a model: a batch of chat requests in, one response
//! per request out (text, completion tokens, finish reason), delivered as each
//! completes so the sweep can write it to disk at once.
//!
//! Two implementations: [`crate::HttpBackend`] (any OpenAI-compatible server)
//! and [`crate::NativeBackend`] (`bcr-model` on candle).

use crate::Result;
use bcr_core::{ChatMessage, FinishReason};
use serde::{Deserialize, Serialize};

/// One generation request: a chat plus sampling settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// The conversation; the last message is the user's.
    pub messages: Vec<ChatMessage>,
    /// Hard cap on generated tokens (the BCR budget of the whole response).
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    pub temperature: f64,
    /// Nucleus sampling mass in (0, 1].
    pub top_p: f64,
    /// Per-request seed, so that a rerun draws the same sample where the
    /// backend honours seeds.
    pub seed: u64,
}

/// Where a response's token count came from (named in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// The generating model's own token ids (native backend).
    Native,
    /// A local tokenizer applied to the text (the server sent no usage).
    Tokenizer,
    /// No usage and no tokenizer: bytes / 4, a rough estimate.
    Estimate,
}

/// One completed generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The generated text (the assistant message).
    pub text: String,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Prompt tokens, where known (the server's `usage.prompt_tokens`, or
    /// the native prompt's ids).
    #[serde(default)]
    pub prompt_tokens: Option<usize>,
    /// Where `completion_tokens` came from.
    pub token_source: TokenSource,
    /// Why generation stopped.
    pub finish: FinishReason,
    /// Seconds from the first attempt to the answer, retries included.
    pub latency_s: f64,
    /// Attempts made (1 when no retry was needed).
    pub attempts: u32,
}

/// What the backend does after delivering one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// Start no new request; finish (or drop) those in flight and return.
    Stop,
}

/// A model that answers batches of chat requests.
///
/// `run` must call `on_result(i, result)` exactly once for every request it
/// starts, from any thread, as soon as request `i` completes (or finally
/// fails), and must stop starting requests once a call returns
/// [`Flow::Stop`]. Requests never started get no call.
pub trait Backend: Sync {
    /// A one-line description for the report (kind, model, endpoint).
    fn describe(&self) -> String;

    /// Runs `requests`, delivering each result through `on_result`.
    fn run(&self, requests: &[Request], on_result: &(dyn Fn(usize, Result<Response>) -> Flow + Sync)) -> Result<()>;

    /// Counts the model's tokens in a text, where the backend knows its
    /// tokenizer (the native model's own; an HTTP backend's `--tokenizer`).
    fn token_counter(&self) -> Option<crate::TokenCounter> {
        None
    }
}
