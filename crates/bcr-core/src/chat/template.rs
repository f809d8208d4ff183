//! [`ChatTemplate`]: a compiled Hugging Face chat template.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::{Environment, ErrorKind, Value};

use super::{strftime, tojson, ChatMessage, SpecialTokens};
use crate::{Error, Result};

/// The name the template is registered under (no `.html`: no auto-escaping).
const NAME: &str = "chat_template";

/// A model's chat template, compiled once and rendered many times.
///
/// ```
/// use bcr_core::{ChatMessage, ChatTemplate, SpecialTokens};
/// let source = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}\
///               {% if add_generation_prompt %}<|assistant|>{% endif %}";
/// let t = ChatTemplate::new(source, SpecialTokens::default()).unwrap();
/// let text = t.render(&[ChatMessage::user("2+2?")], true).unwrap();
/// assert_eq!(text, "<|user|>2+2?\n<|assistant|>");
/// ```
#[derive(Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
    source: Arc<str>,
    tokens: SpecialTokens,
    fixed_time: Option<i64>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source_chars", &self.source.chars().count())
            .field("tokens", &self.tokens)
            .field("fixed_time", &self.fixed_time)
            .finish()
    }
}

impl ChatTemplate {
    /// Compiles `source` (the Jinja text of a chat template).
    ///
    /// Fails with [`Error::Template`] on a syntax error, naming the line.
    pub fn new(source: &str, tokens: SpecialTokens) -> Result<Self> {
        let source: Arc<str> = Arc::from(source);
        let env = build_env(&source, None)?;
        Ok(ChatTemplate { env, source, tokens, fixed_time: None })
    }

    /// The same template with `strftime_now` pinned to `unix_seconds` (UTC),
    /// for reproducible prompts (e.g. Llama 3's "Today Date").
    pub fn with_fixed_time(mut self, unix_seconds: i64) -> Result<Self> {
        self.env = build_env(&self.source, Some(unix_seconds))?;
        self.fixed_time = Some(unix_seconds);
        Ok(self)
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The special tokens passed to the template.
    pub fn tokens(&self) -> &SpecialTokens {
        &self.tokens
    }

    /// Renders a conversation. With `add_generation_prompt` the text ends
    /// with the opening of the assistant's turn, ready for generation.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        self.render_with(messages, add_generation_prompt, &serde_json::Map::new())
    }

    /// [`render`](Self::render) with extra keyword arguments passed to the
    /// template, as `apply_chat_template(..., **kwargs)` does: e.g.
    /// `{"enable_thinking": false}` for Qwen3's hybrid templates.
    pub fn render_with(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        kwargs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
        ctx.insert("messages".into(), Value::from_serialize(messages));
        ctx.insert("add_generation_prompt".into(), Value::from(add_generation_prompt));
        ctx.insert("tools".into(), Value::from(()));
        ctx.insert("documents".into(), Value::from(()));
        for (name, text) in self.tokens.pairs() {
            ctx.insert(name.into(), Value::from(text));
        }
        for (key, value) in kwargs {
            ctx.insert(key.clone(), Value::from_serialize(value));
        }
        let template = self.env.get_template(NAME).map_err(template_error)?;
        template.render(ctx).map_err(template_error)
    }
}

/// One-line description of a minijinja error, with the template line.
fn template_error(err: minijinja::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    Error::Template { name: NAME.into(), message }
}

/// The Jinja environment `transformers` uses for chat templates.
fn build_env(source: &Arc<str>, fixed_time: Option<i64>) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(false);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_filter("tojson", tojson::filter);
    env.add_function("raise_exception", |message: String| -> std::result::Result<Value, _> {
        Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
    });
    env.add_function("strftime_now", move |format: String| -> std::result::Result<Value, _> {
        let secs = fixed_time.unwrap_or_else(now_unix);
        strftime::format_utc(&format, secs)
            .map(Value::from)
            .map_err(|msg| minijinja::Error::new(ErrorKind::InvalidOperation, msg))
    });
    env.add_template_owned(NAME, source.to_string()).map_err(template_error)?;
    Ok(env)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
