//! Chat templates: turning a conversation into the exact text a chat model
//! was trained on, by rendering the model's own Jinja chat template.
//!
//! Hugging Face checkpoints ship the template in `tokenizer_config.json`
//! (`chat_template`, either a string or a list of `{name, template}`), in a
//! `chat_template.jinja` file beside it, or, for GGUF files, in the metadata
//! key `tokenizer.chat_template`. [`ChatTemplate`] renders any of them with
//! the same variables and helpers as `transformers`' `apply_chat_template`:
//!
//! - variables: `messages` (a list of `{role, content}`), `add_generation_prompt`,
//!   `bos_token`, `eos_token`, `pad_token`, `unk_token` (those the model has),
//!   `tools = none`, `documents = none`, plus any extra keyword argument such as
//!   `enable_thinking` ([`ChatTemplate::render_with`]);
//! - helpers: `raise_exception(msg)`, `strftime_now(fmt)`, a `tojson` filter
//!   that writes what Python's `json.dumps` writes, `namespace`, loop controls
//!   (`break`, `continue`) and Python string/dict methods (`.strip()`,
//!   `.split()`, `.startswith()`, `.items()`, ...);
//! - whitespace: `trim_blocks` and `lstrip_blocks` on, the final newline
//!   dropped, exactly as `transformers` configures Jinja2.
//!
//! In the BCR data path (arXiv 2604.02322) the user message is the rendered
//! pack prompt (`crate::PromptTemplate`), and the chat template wraps it into
//! the model's turn format, opening the assistant turn (and, for thinking
//! models such as Qwen3-4B-Thinking-2507, the `<think>` block).
//!
//! Shapes: `render(&[ChatMessage], add_generation_prompt) -> String`.

mod gguf;
mod hf;
mod strftime;
mod template;
mod tojson;

pub use hf::TokenizerConfig;
pub use template::ChatTemplate;

use serde::{Deserialize, Serialize};

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (or `tool`).
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

impl ChatMessage {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into() }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// Why a generation stopped (the OpenAI `finish_reason`), whoever generated
/// it: the native runtime, an OpenAI-compatible server, `bcr serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// The token budget (or the model's context) ran out: the text is truncated.
    Length,
    /// Anything else a server reported (content filter, unknown).
    Other,
}

impl FinishReason {
    /// Maps an OpenAI-style `finish_reason` string (and the spellings of
    /// other servers: `eos`, `stop_sequence`, `max_tokens`).
    pub fn from_openai(s: Option<&str>) -> Self {
        match s {
            Some("stop" | "eos" | "stop_sequence") => FinishReason::Stop,
            Some("length" | "max_tokens") => FinishReason::Length,
            _ => FinishReason::Other,
        }
    }

    /// The OpenAI spelling: `stop`, `length`, or `content_filter` for [`FinishReason::Other`].
    pub fn as_openai(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Other => "content_filter",
        }
    }
}

/// A conversation as plain text, for a model without a chat template or a
/// raw completions API: the message contents joined by blank lines.
///
/// ```
/// use bcr_core::{join_messages, ChatMessage};
/// assert_eq!(join_messages(&[ChatMessage::system("S"), ChatMessage::user("U")]), "S\n\nU");
/// ```
pub fn join_messages(messages: &[ChatMessage]) -> String {
    messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>().join("\n\n")
}

/// The special-token strings a chat template may refer to (`{{ bos_token }}`).
///
/// A token that is `None` is not passed to the template, so `{{ bos_token }}`
/// renders as the empty string, as in `transformers` when the tokenizer has no
/// such token (Qwen models have no BOS token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    /// Beginning-of-sequence token, e.g. `<｜begin▁of▁sentence｜>`.
    pub bos_token: Option<String>,
    /// End-of-sequence token, e.g. `<|im_end|>`.
    pub eos_token: Option<String>,
    /// Padding token.
    pub pad_token: Option<String>,
    /// Unknown-word token.
    pub unk_token: Option<String>,
}

impl SpecialTokens {
    /// The tokens that are set, as `(variable name, text)` pairs.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("bos_token", &self.bos_token),
            ("eos_token", &self.eos_token),
            ("pad_token", &self.pad_token),
            ("unk_token", &self.unk_token),
        ]
        .into_iter()
        .filter_map(|(name, tok)| tok.as_deref().map(|t| (name, t)))
        .collect()
    }
}

#[cfg(test)]
mod tests;
