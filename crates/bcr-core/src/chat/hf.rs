//! [`TokenizerConfig`]: the chat template and special tokens of a model, read
//! from a Hugging Face `tokenizer_config.json`, a model directory or a GGUF file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{ChatTemplate, SpecialTokens};
use crate::{Error, Location, Result};

/// What a model says about its chat format.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerConfig {
    /// Where it was read from.
    pub path: PathBuf,
    /// The default chat template (the string form, or the entry named
    /// `default` of the list form), if the model has one.
    pub chat_template: Option<String>,
    /// Every template of the list form (`[{name, template}, ...]`), by name.
    pub named_templates: BTreeMap<String, String>,
    /// `bos_token`, `eos_token`, `pad_token`, `unk_token`.
    pub tokens: SpecialTokens,
}

impl TokenizerConfig {
    /// Reads a model's chat format from whatever `spec` names: a directory
    /// (its `tokenizer_config.json`, with `chat_template.jinja` taking
    /// precedence when present, as in `transformers`), a `.gguf` file
    /// (metadata `tokenizer.chat_template`) or a `tokenizer_config.json`.
    pub fn from_model(spec: &Path) -> Result<Self> {
        if spec.is_dir() {
            Self::from_model_dir(spec)
        } else if spec.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
            Self::from_gguf(spec)
        } else {
            Self::from_file(spec)
        }
    }

    /// Reads `dir/tokenizer_config.json`, then `dir/chat_template.jinja`
    /// (if present) as the default template.
    pub fn from_model_dir(dir: &Path) -> Result<Self> {
        let mut config = Self::from_file(&dir.join("tokenizer_config.json"))?;
        let jinja = dir.join("chat_template.jinja");
        if jinja.is_file() {
            let text = std::fs::read_to_string(&jinja).map_err(|source| Error::Io { path: jinja, source })?;
            config.chat_template = Some(text);
        }
        Ok(config)
    }

    /// Reads a `tokenizer_config.json` file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::from_json_str(&text, path)
    }

    /// Parses the text of a `tokenizer_config.json`; `path` is used in errors.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self> {
        let json: Json = serde_json::from_str(text).map_err(|e| Error::Record {
            at: Location { file: path.to_path_buf(), line: e.line() },
            field: "-".into(),
            message: format!("invalid JSON: {e}"),
        })?;
        let Json::Object(map) = json else {
            return Err(Error::Input { path: path.to_path_buf(), message: "expected a JSON object".into() });
        };
        let field_err = |field: &str, message: String| Error::Record {
            at: Location { file: path.to_path_buf(), line: 0 },
            field: field.into(),
            message,
        };
        let token = |field: &str| -> Result<Option<String>> {
            match map.get(field) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(Json::Object(o)) => match o.get("content") {
                    Some(Json::String(s)) => Ok(Some(s.clone())),
                    other => Err(field_err(field, format!("AddedToken without a string `content` (found {other:?})"))),
                },
                Some(other) => {
                    Err(field_err(field, format!("expected a string or {{\"content\": ...}}, found {other}")))
                }
            }
        };
        let tokens = SpecialTokens {
            bos_token: token("bos_token")?,
            eos_token: token("eos_token")?,
            pad_token: token("pad_token")?,
            unk_token: token("unk_token")?,
        };
        let (chat_template, named_templates) = match map.get("chat_template") {
            None | Some(Json::Null) => (None, BTreeMap::new()),
            Some(Json::String(s)) => (Some(s.clone()), BTreeMap::new()),
            Some(Json::Array(items)) => {
                let named = named_list(items).map_err(|m| field_err("chat_template", m))?;
                (named.get("default").cloned(), named)
            }
            Some(other) => {
                return Err(field_err("chat_template", format!("expected a string or a list, found {other}")));
            }
        };
        Ok(TokenizerConfig { path: path.to_path_buf(), chat_template, named_templates, tokens })
    }

    /// The template text: the named one, or the default.
    pub fn template_text(&self, name: Option<&str>) -> Result<&str> {
        let found = match name {
            Some(n) => self.named_templates.get(n).map(String::as_str),
            None => self.chat_template.as_deref(),
        };
        found.ok_or_else(|| {
            let what = name.map_or("default chat template".to_string(), |n| format!("chat template named `{n}`"));
            let names: Vec<&str> = self.named_templates.keys().map(String::as_str).collect();
            let known = if names.is_empty() { String::new() } else { format!(" (it has: {})", names.join(", ")) };
            Error::Input { path: self.path.clone(), message: format!("the model has no {what}{known}") }
        })
    }

    /// Compiles the default chat template with this model's special tokens.
    pub fn chat_template(&self) -> Result<ChatTemplate> {
        ChatTemplate::new(self.template_text(None)?, self.tokens.clone())
    }
}

/// `[{"name": "default", "template": "..."}, ...]` -> name -> template.
fn named_list(items: &[Json]) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut named = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let name = item.get("name").and_then(Json::as_str);
        let template = item.get("template").and_then(Json::as_str);
        match (name, template) {
            (Some(n), Some(t)) => {
                named.insert(n.to_string(), t.to_string());
            }
            _ => return Err(format!("entry {i} is not {{\"name\": string, \"template\": string}}")),
        }
    }
    Ok(named)
}
