//! Just enough of the GGUF format (llama.cpp's model file, versions 2 and 3)
//! to read a model's chat template and special tokens from its metadata:
//! the keys `tokenizer.chat_template` (and `tokenizer.chat_template.<name>`),
//! `tokenizer.ggml.tokens` and `tokenizer.ggml.{bos,eos,padding,unknown}_token_id`.
//! Reading stops at the end of the metadata; tensors are never touched.
//!
//! Layout: `"GGUF"`, `u32` version, `u64` tensor count, `u64` metadata
//! count, then per entry a string key, a `u32` value type and the value
//! (strings are a `u64` length and UTF-8 bytes; arrays a `u32` element type,
//! a `u64` length and the elements). All little-endian.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::{SpecialTokens, TokenizerConfig};
use crate::{Error, Result};

/// Longest string accepted (a chat template is a few KiB; this guards
/// against allocating gigabytes on a corrupt length).
const MAX_STRING: u64 = 64 << 20;
/// Most metadata entries or array elements accepted.
const MAX_COUNT: u64 = 1 << 24;

const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;

/// Metadata values this reader keeps.
enum Meta {
    Int(i128),
    Text(String),
    Texts(Vec<String>),
    Other,
}

impl TokenizerConfig {
    /// Reads the chat template and special tokens from a GGUF file's metadata.
    pub fn from_gguf(path: &Path) -> Result<Self> {
        let io_err = |source| Error::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io_err)?;
        let entries = read_metadata(&mut BufReader::new(file)).map_err(|e| match e {
            GgufError::Io(source) => io_err(source),
            GgufError::Format(message) => Error::Input { path: path.to_path_buf(), message },
        })?;
        let tokens = match entries.get("tokenizer.ggml.tokens") {
            Some(Meta::Texts(t)) => t.as_slice(),
            _ => &[],
        };
        let token = |key: &str| match entries.get(key) {
            Some(Meta::Int(id)) => usize::try_from(*id).ok().and_then(|i| tokens.get(i)).cloned(),
            _ => None,
        };
        let mut named_templates = BTreeMap::new();
        let mut chat_template = None;
        for (key, value) in &entries {
            let Meta::Text(text) = value else { continue };
            if key == "tokenizer.chat_template" {
                chat_template = Some(text.clone());
            } else if let Some(name) = key.strip_prefix("tokenizer.chat_template.") {
                named_templates.insert(name.to_string(), text.clone());
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

enum GgufError {
    Io(io::Error),
    Format(String),
}

impl From<io::Error> for GgufError {
    fn from(e: io::Error) -> Self {
        GgufError::Io(e)
    }
}

fn format_err<T>(message: impl Into<String>) -> std::result::Result<T, GgufError> {
    Err(GgufError::Format(message.into()))
}

/// Reads the header and every metadata entry (keeping the ones we use).
fn read_metadata<R: Read>(r: &mut R) -> std::result::Result<BTreeMap<String, Meta>, GgufError> {
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic)?;
    if &magic != b"GGUF" {
        return format_err(format!("not a GGUF file (magic {magic:?})"));
    }
    let version = read_u32(r)?;
    if !(2..=3).contains(&version) {
        return format_err(format!("GGUF version {version} is not supported (2 and 3 are)"));
    }
    let _tensor_count = read_u64(r)?;
    let count = read_u64(r)?;
    if count > MAX_COUNT {
        return format_err(format!("implausible metadata count {count}"));
    }
    let mut entries = BTreeMap::new();
    for _ in 0..count {
        let key = read_string(r)?;
        let vtype = read_u32(r)?;
        let keep = key.starts_with("tokenizer.chat_template")
            || key == "tokenizer.ggml.tokens"
            || (key.starts_with("tokenizer.ggml.") && key.ends_with("_token_id"));
        let value = if keep { read_value(r, vtype)? } else { skip_value(r, vtype).map(|_| Meta::Other)? };
        entries.insert(key, value);
    }
    Ok(entries)
}

/// Byte size of a fixed-size scalar type, `None` for string and array.
fn scalar_size(vtype: u32) -> std::result::Result<Option<u64>, GgufError> {
    Ok(match vtype {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        T_STRING | T_ARRAY => None,
        other => return format_err(format!("unknown metadata value type {other}")),
    })
}

fn read_value<R: Read>(r: &mut R, vtype: u32) -> std::result::Result<Meta, GgufError> {
    match vtype {
        T_STRING => Ok(Meta::Text(read_string(r)?)),
        T_ARRAY => {
            let elem = read_u32(r)?;
            let len = read_u64(r)?;
            if len > MAX_COUNT {
                return format_err(format!("implausible array length {len}"));
            }
            if elem != T_STRING {
                skip_array(r, elem, len)?;
                return Ok(Meta::Other);
            }
            (0..len).map(|_| read_string(r)).collect::<std::result::Result<_, _>>().map(Meta::Texts)
        }
        // Unsigned and signed integers of 1, 2, 4 and 8 bytes.
        0 => Ok(Meta::Int(read_n::<1, _>(r)?[0].into())),
        1 => Ok(Meta::Int(i8::from_le_bytes(read_n(r)?).into())),
        2 => Ok(Meta::Int(u16::from_le_bytes(read_n(r)?).into())),
        3 => Ok(Meta::Int(i16::from_le_bytes(read_n(r)?).into())),
        4 => Ok(Meta::Int(read_u32(r)?.into())),
        5 => Ok(Meta::Int(i32::from_le_bytes(read_n(r)?).into())),
        10 => Ok(Meta::Int(read_u64(r)?.into())),
        11 => Ok(Meta::Int(i64::from_le_bytes(read_n(r)?).into())),
        other => skip_value(r, other).map(|_| Meta::Other),
    }
}

fn skip_value<R: Read>(r: &mut R, vtype: u32) -> std::result::Result<(), GgufError> {
    match vtype {
        T_STRING => {
            let len = read_u64(r)?;
            skip(r, len)
        }
        T_ARRAY => {
            let elem = read_u32(r)?;
            let len = read_u64(r)?;
            skip_array(r, elem, len)
        }
        other => match scalar_size(other)? {
            Some(size) => skip(r, size),
            None => format_err(format!("unknown metadata value type {other}")),
        },
    }
}

fn skip_array<R: Read>(r: &mut R, elem: u32, len: u64) -> std::result::Result<(), GgufError> {
    if let Some(size) = scalar_size(elem)? {
        return skip(r, size.saturating_mul(len));
    }
    if len > MAX_COUNT {
        return format_err(format!("implausible array length {len}"));
    }
    (0..len).try_for_each(|_| skip_value(r, elem))
}

fn skip<R: Read>(r: &mut R, n: u64) -> std::result::Result<(), GgufError> {
    let copied = io::copy(&mut r.by_ref().take(n), &mut io::sink())?;
    if copied < n {
        return format_err("file ends inside the metadata");
    }
    Ok(())
}

fn read_n<const N: usize, R: Read>(r: &mut R) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

fn read_u32<R: Read>(r: &mut R) -> io::Result<u32> {
    read_n(r).map(u32::from_le_bytes)
}

fn read_u64<R: Read>(r: &mut R) -> io::Result<u64> {
    read_n(r).map(u64::from_le_bytes)
}

fn read_string<R: Read>(r: &mut R) -> std::result::Result<String, GgufError> {
    let len = read_u64(r)?;
    if len > MAX_STRING {
        return format_err(format!("implausible string length {len}"));
    }
    let mut buf = Vec::new();
    r.by_ref().take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return format_err("file ends inside a metadata string");
    }
    String::from_utf8(buf).or_else(|e| format_err(format!("metadata string is not UTF-8: {e}")))
}
