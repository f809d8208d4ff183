//! A model's chat template and special tokens from a GGUF file's metadata:
//! the keys `tokenizer.chat_template` (and `tokenizer.chat_template.<name>`),
//! `tokenizer.ggml.tokens` and `tokenizer.ggml.{bos,eos,padding,unknown}_token_id`,
//! read by the workspace's one GGUF reader ([`crate::gguf`]) with every
//! other key skipped unstored.

use std::collections::BTreeMap;
use std::path::Path;

use super::{SpecialTokens, TokenizerConfig};
use crate::gguf::{GgufHeader, GgufValue};
use crate::Result;

/// The metadata keys this module reads.
fn wanted(key: &str) -> bool {
    key.starts_with("tokenizer.chat_template")
        || key == "tokenizer.ggml.tokens"
        || (key.starts_with("tokenizer.ggml.") && key.ends_with("_token_id"))
}

impl TokenizerConfig {
    /// Reads the chat template and special tokens from a GGUF file's metadata.
    pub fn from_gguf(path: &Path) -> Result<Self> {
        let header = GgufHeader::open_filtered(path, &wanted)?;
        let tokens = header.get("tokenizer.ggml.tokens").and_then(GgufValue::as_array).unwrap_or(&[]);
        let token = |key: &str| {
            let id = header.get(key).and_then(GgufValue::as_u64)?;
            tokens.get(usize::try_from(id).ok()?).and_then(GgufValue::as_str).map(str::to_string)
        };
        let mut named_templates = BTreeMap::new();
        let mut chat_template = None;
        for (key, value) in &header.metadata {
            let Some(text) = value.as_str() else { continue };
            if key == "tokenizer.chat_template" {
                chat_template = Some(text.to_string());
            } else if let Some(name) = key.strip_prefix("tokenizer.chat_template.") {
                named_templates.insert(name.to_string(), text.to_string());
            }
        }
        Ok(TokenizerConfig {
            path: path.to_path_buf(),
            chat_template,
            named_templates,
            tokens: SpecialTokens {
                bos_token: token("tokenizer.ggml.bos_token_id"),
                eos_token: token("tokenizer.ggml.eos_token_id"),
                pad_token: token("tokenizer.ggml.padding_token_id"),
                unk_token: token("tokenizer.ggml.unknown_token_id"),
            },
        })
    }
}
