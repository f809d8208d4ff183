//! [`Tokenizer`]: the HF `tokenizers` crate plus what a chat model needs
//! around it: end-of-sequence ids, the chat template, BOS handling and the
//! sampling defaults of `generation_config.json`.
//!
//! Two sources:
//! - an HF checkpoint directory: `tokenizer.json` (the full pipeline),
//!   `tokenizer_config.json` or `chat_template.jinja` (template, special
//!   tokens), `generation_config.json` and `config.json` (eos ids, defaults);
//! - a GGUF file with `tokenizer.ggml.model = gpt2` (byte-level BPE): the
//!   vocabulary, merges and token types are rebuilt into a `tokenizers` BPE
//!   with the pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre`
//!   (see [`gguf_bpe`]).

mod gguf_bpe;

use std::path::Path;

use bcr_core::{ChatMessage, ChatTemplate, TokenizerConfig};
use serde_json::Value;

use crate::load::gguf::GgufFile;
use crate::{Error, Result};
use bcr_core::gguf::GgufValue;

/// Sampling defaults a checkpoint suggests (`generation_config.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationDefaults {
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `top_p`.
    pub top_p: Option<f64>,
    /// `top_k`.
    pub top_k: Option<usize>,
}

/// A tokenizer with its model's special tokens and chat template.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    eos_ids: Vec<u32>,
    /// Prepended by `encode(.., true)` when the pipeline itself does not.
    bos_prefix: Option<u32>,
    chat: Option<ChatTemplate>,
    defaults: GenerationDefaults,
}

impl Tokenizer {
    /// Loads the tokenizer of an HF checkpoint directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let inner = tokenizers::Tokenizer::from_file(&path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        let tc_path = dir.join("tokenizer_config.json");
        let config = if tc_path.is_file() { Some(TokenizerConfig::from_model_dir(dir)?) } else { None };
        let chat = match config.as_ref() {
            Some(c) if c.chat_template.is_some() => Some(c.chat_template()?),
            _ => None,
        };
        let mut eos_ids = Vec::new();
        let eos_text = config.as_ref().and_then(|c| c.tokens.eos_token.as_deref());
        if let Some(id) = eos_text.and_then(|t| inner.token_to_id(t)) {
            eos_ids.push(id);
        }
        let mut defaults = GenerationDefaults::default();
        for file in ["generation_config.json", "config.json"] {
            let path = dir.join(file);
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let json: Value = serde_json::from_str(&text).map_err(|e| Error::json(&path, &e))?;
            eos_ids.extend(token_id_list(&json["eos_token_id"], &path)?);
            if file == "generation_config.json" {
                defaults = generation_defaults(&json);
            }
        }
        dedup(&mut eos_ids);
        Ok(Tokenizer { inner, eos_ids, bos_prefix: None, chat, defaults })
    }

    /// Builds the tokenizer from a GGUF file's metadata.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        let h = file.header();
        let err = |m: String| Error::Gguf { path: file.path().to_path_buf(), message: m };
        let inner = gguf_bpe::build(h).map_err(err)?;
        let id = |k: &str| h.get(k).and_then(GgufValue::as_u64).map(|v| v as u32);
        let eos_ids: Vec<u32> = id("tokenizer.ggml.eos_token_id").into_iter().collect();
        let add_bos = h.get("tokenizer.ggml.add_bos_token").and_then(GgufValue::as_bool).unwrap_or(false);
        let bos_prefix = if add_bos { id("tokenizer.ggml.bos_token_id") } else { None };
        let config = TokenizerConfig::from_gguf(file.path())?;
        let chat = match config.chat_template {
            Some(_) => Some(config.chat_template()?),
            None => None,
        };
        Ok(Tokenizer { inner, eos_ids, bos_prefix, chat, defaults: GenerationDefaults::default() })
    }

    /// Token ids of `text`. With `add_special_tokens` the model's BOS (and
    /// whatever its post-processor adds) is included; chat-templated text
    /// already carries its special tokens, so encode it with `false`.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, add_special_tokens).map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if let (true, Some(bos)) = (add_special_tokens, self.bos_prefix) {
            ids.push(bos);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// The text of `ids`, special tokens included unless `skip_special_tokens`.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner.decode(ids, skip_special_tokens).map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// Ids that end a generation (from every source the model gives).
    pub fn eos_token_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// The id of a token string.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Number of ids the tokenizer knows (added tokens included).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The model's chat template, if it has one.
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat.as_ref()
    }

    /// Sampling defaults of `generation_config.json` (empty for GGUF).
    pub fn generation_defaults(&self) -> &GenerationDefaults {
        &self.defaults
    }

    /// Renders `messages` with the model's chat template.
    pub fn apply_chat_template(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let t = self
            .chat
            .as_ref()
            .ok_or_else(|| Error::Tokenizer("the model has no chat template; use raw prompts instead".to_string()))?;
        Ok(t.render(messages, add_generation_prompt)?)
    }

    /// The prompt ids of a conversation, the one way every bcr command
    /// turns chat messages into tokens: rendered with the model's chat
    /// template (generation prompt opened; the template writes any BOS
    /// itself), or, for a model without one, the contents joined by blank
    /// lines ([`bcr_core::join_messages`]) with BOS added.
    pub fn encode_chat(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        match &self.chat {
            Some(t) => self.encode(&t.render(messages, true)?, false),
            None => self.encode(&bcr_core::join_messages(messages), true),
        }
    }

    /// Replaces the end-of-sequence ids (empty: generate to the budget).
    pub fn set_eos_ids(&mut self, ids: Vec<u32>) {
        self.eos_ids = ids;
        dedup(&mut self.eos_ids);
    }

    /// Adds extra end-of-sequence ids (e.g. `config.json`'s for a GGUF file).
    pub fn add_eos_ids(&mut self, ids: &[u32]) {
        self.eos_ids.extend_from_slice(ids);
        dedup(&mut self.eos_ids);
    }
}

#[cfg(test)]
impl Tokenizer {
    /// A byte-level tokenizer with one token per byte (ids 0..256, no
    /// merges, no chat template), for tests on tiny random models.
    pub(crate) fn bytes_for_tests(eos_ids: Vec<u32>) -> Self {
        Tokenizer {
            inner: gguf_bpe::bytes_only(),
            eos_ids,
            bos_prefix: None,
            chat: None,
            defaults: GenerationDefaults::default(),
        }
    }
}

fn dedup(ids: &mut Vec<u32>) {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
}

/// `eos_token_id`: absent, an id, or a list of ids.
fn token_id_list(v: &Value, path: &Path) -> Result<Vec<u32>> {
    let one = |x: &Value| {
        x.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| Error::Json {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("field `eos_token_id`: expected a token id, found {x}"),
        })
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(one).collect(),
        x => Ok(vec![one(x)?]),
    }
}

fn generation_defaults(json: &Value) -> GenerationDefaults {
    GenerationDefaults {
        temperature: json["temperature"].as_f64(),
        top_p: json["top_p"].as_f64(),
        top_k: json["top_k"].as_u64().map(|k| k as usize),
    }
}

#[cfg(test)]
mod tests;
