//! A byte-level BPE `tokenizers::Tokenizer` from GGUF metadata
//! (`tokenizer.ggml.model = "gpt2"`): `tokens`, `merges`, `token_type`.
//!
//! Tokens are stored in GPT-2's byte-to-unicode spelling (a space is `Ġ`).
//! Control tokens (type 3, e.g. `<|im_start|>`) become special added tokens
//! and user-defined ones (type 4) plain added tokens, so both are matched
//! whole in the text, as llama.cpp does. The split before BPE follows
//! llama.cpp's table for `tokenizer.ggml.pre`:
//!
//! | pre | split |
//! |---|---|
//! | `gpt2`, `default`, absent | GPT-2's regex |
//! | `smollm` | every digit alone, then GPT-2's regex (SmolLM2's `tokenizer.json`) |
//! | `qwen2`, `deepseek-r1-qwen` | Qwen2's regex (single digits) |
//! | `llama3`, `llama-bpe`, `llama-v3` | Llama 3's regex (digits in runs of up to 3) |

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

use bcr_core::gguf::{GgufHeader, GgufValue};

const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

/// GPT-2's byte-to-unicode table: printable bytes map to themselves, the
/// others (controls, space, DEL, NBSP, soft hyphen) to U+0100 onwards.
fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for (b, slot) in table.iter_mut().enumerate() {
        let printable = matches!(b, 33..=126 | 161..=172 | 174..=255);
        let code = if printable {
            b as u32
        } else {
            next += 1;
            next - 1
        };
        *slot = char::from_u32(code).unwrap_or('\u{fffd}');
    }
    table
}

fn strings<'a>(h: &'a GgufHeader, key: &str) -> Result<Vec<&'a str>, String> {
    let arr = h.get(key).and_then(GgufValue::as_array).ok_or(format!("metadata {key} is missing or not an array"))?;
    arr.iter().enumerate().map(|(i, v)| v.as_str().ok_or(format!("metadata {key}[{i}] is not a string"))).collect()
}

/// The pre-tokenizer for `tokenizer.ggml.pre`.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, String> {
    let byte_level = |use_regex| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, use_regex));
    let split = |re: &str| -> Result<PreTokenizerWrapper, String> {
        let s = Split::new(SplitPattern::Regex(re.to_string()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| format!("pre-tokenizer regex: {e}"))?;
        Ok(PreTokenizerWrapper::Split(s))
    };
    Ok(match pre {
        "gpt2" | "default" => byte_level(true),
        "smollm" => PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])),
        "qwen2" | "deepseek-r1-qwen" => PreTokenizerWrapper::Sequence(Sequence::new(vec![split(QWEN2_SPLIT)?, byte_level(false)])),
        "llama3" | "llama-bpe" | "llama-v3" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(LLAMA3_SPLIT)?, byte_level(false)]))
        }
        other => {
            return Err(format!(
                "tokenizer.ggml.pre {other:?} is not supported (gpt2, default, smollm, qwen2, deepseek-r1-qwen, llama3 are)"
            ))
        }
    })
}

/// Builds the tokenizer; errors are messages naming the metadata key.
pub(super) fn build(h: &GgufHeader) -> Result<tokenizers::Tokenizer, String> {
    let model = h.get("tokenizer.ggml.model").and_then(GgufValue::as_str).unwrap_or("(absent)");
    if model != "gpt2" {
        return Err(format!("tokenizer.ggml.model {model:?} is not supported (only gpt2 byte-level BPE is)"));
    }
    let tokens = strings(h, "tokenizer.ggml.tokens")?;
    let types: Vec<u64> = match h.get("tokenizer.ggml.token_type").and_then(GgufValue::as_array) {
        Some(a) => a.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        None => vec![1; tokens.len()],
    };
    if types.len() != tokens.len() {
        return Err(format!("tokenizer.ggml.token_type has {} entries for {} tokens", types.len(), tokens.len()));
    }
    let table = byte_chars();
    let alphabet: std::collections::HashSet<char> = table.iter().copied().collect();
    let spelled = |t: &str| -> String {
        if t.chars().all(|c| alphabet.contains(&c)) {
            t.to_string()
        } else {
            t.bytes().map(|b| table[b as usize]).collect()
        }
    };
    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (spelled(t), i as u32)).collect();
    let merges = strings(h, "tokenizer.ggml.merges")?
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or(format!("tokenizer.ggml.merges[{i}] {m:?} is not two tokens separated by a space"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| format!("BPE: {e}"))?;
    let mut tok = tokenizers::Tokenizer::new(bpe);
    let pre = h.get("tokenizer.ggml.pre").and_then(GgufValue::as_str).unwrap_or("default");
    tok.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tok.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));
    let added = |kind: u64, special: bool| -> Vec<AddedToken> {
        tokens
            .iter()
            .zip(&types)
            .filter(|(t, &ty)| ty == kind && t.chars().all(|c| alphabet.contains(&c)))
            .map(|(t, _)| AddedToken::from(t.to_string(), special).normalized(false))
            .collect()
    };
    tok.add_special_tokens(&added(CONTROL, true));
    tok.add_tokens(&added(USER_DEFINED, false));
    if tok.get_vocab_size(true) != tokens.len() {
        return Err(format!(
            "the rebuilt vocabulary has {} ids for {} tokens (duplicate token strings?)",
            tok.get_vocab_size(true),
            tokens.len()
        ));
    }
    Ok(tok)
}

/// One token per byte and no merges (for tests).
#[cfg(test)]
pub(super) fn bytes_only() -> tokenizers::Tokenizer {
    let vocab: Vocab = byte_chars().iter().enumerate().map(|(i, c)| (c.to_string(), i as u32)).collect();
    let bpe = BPE::builder().vocab_and_merges(vocab, Vec::new()).build().expect("a valid byte vocabulary");
    let mut tok = tokenizers::Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(pre_tokenizer("gpt2").expect("gpt2 pre-tokenizer")));
    tok.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));
    tok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_is_gpt2s() {
        let t = byte_chars();
        assert_eq!((t[b' ' as usize], t[b'\n' as usize], t[b'a' as usize]), ('Ġ', 'Ċ', 'a'));
        assert_eq!((t[0], t[127], t[173]), ('\u{100}', '\u{121}', '\u{143}'));
        let distinct: std::collections::HashSet<char> = t.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }

    #[test]
    fn unknown_pre_tokenizer_is_named() {
        let err = pre_tokenizer("falcon").unwrap_err();
        assert!(err.contains("\"falcon\""), "{err}");
        for ok in ["gpt2", "smollm", "qwen2", "llama3"] {
            assert!(pre_tokenizer(ok).is_ok(), "{ok}");
        }
    }
}
