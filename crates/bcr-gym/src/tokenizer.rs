//! The gym tokenizer: a small byte-level BPE trained with the `tokenizers`
//! crate on the gym corpus (questions, reference solutions at every
//! verbosity level, the prompt scaffolding and the chat markers).
//!
//! Pre-tokenization splits every digit on its own (so numbers are spelled
//! digit by digit, which a tiny model learns to add far more easily) and
//! then applies the GPT-2 byte-level split; the full byte alphabet is kept,
//! so any text encodes. Special tokens form the chat template
//! [`CHAT_TEMPLATE`]: `<|user|>\n{prompt}<|end|>\n<|assistant|>\n{response}<|end|>`,
//! with `<|end|>` as EOS (and padding). The directory written by
//! [`save_tokenizer_dir`] (`tokenizer.json` + `tokenizer_config.json`) loads
//! like any Hugging Face tokenizer.

use std::path::Path;

use serde_json::json;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper, TokenizerBuilder,
};

use crate::error::{Error, Result};

/// End of a turn; the EOS and padding token.
pub const END: &str = "<|end|>";
/// Start of a user turn.
pub const USER: &str = "<|user|>";
/// Start of an assistant turn.
pub const ASSISTANT: &str = "<|assistant|>";
/// Start of a system turn.
pub const SYSTEM: &str = "<|system|>";
/// The special tokens, ids 0.. in this order.
pub const SPECIAL_TOKENS: [&str; 4] = [END, USER, ASSISTANT, SYSTEM];

/// The Jinja chat template written into `tokenizer_config.json`.
pub const CHAT_TEMPLATE: &str = "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

/// Trains a byte-level BPE of `vocab_size` tokens (specials included) on
/// `corpus`. Deterministic for a given corpus.
pub fn train_tokenizer(corpus: &[String], vocab_size: usize) -> Result<tokenizers::Tokenizer> {
    let min = 256 + SPECIAL_TOKENS.len();
    if vocab_size <= min {
        return Err(Error::Tokenizer(format!("vocab_size must exceed {min} (bytes + specials), found {vocab_size}")));
    }
    if corpus.is_empty() {
        return Err(Error::Tokenizer("empty training corpus".to_string()));
    }
    let pre = Sequence::new(vec![
        PreTokenizerWrapper::Digits(Digits::new(true)),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
    ]);
    let mut tk =
        TokenizerBuilder::<BPE, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper>::new()
            .with_model(BPE::default())
            .with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(pre)))
            .with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::new(false, true, true))))
            .build()
            .map_err(tok_err)?;
    let specials: Vec<AddedToken> = SPECIAL_TOKENS.iter().map(|s| AddedToken::from(s.to_string(), true)).collect();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    tk.train(&mut trainer, corpus.iter()).map_err(tok_err)?;
    Ok(tokenizers::Tokenizer::from(tk))
}

/// Writes `tokenizer.json` and `tokenizer_config.json` (chat template,
/// EOS/pad `<|end|>`, no BOS) into `dir`.
pub fn save_tokenizer_dir(tk: &tokenizers::Tokenizer, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join("tokenizer.json");
    tk.save(&path, false).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
    let config = json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": null,
        "eos_token": END,
        "pad_token": END,
        "unk_token": null,
        "add_bos_token": false,
        "model_max_length": 2048,
        "chat_template": CHAT_TEMPLATE,
    });
    let path = dir.join("tokenizer_config.json");
    let text = serde_json::to_string_pretty(&config)?;
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        let mut c = Vec::new();
        for i in 0..200 {
            c.push(format!("<|user|>\nSolve {i}x + 3 = 12.<|end|>\n<|assistant|>\nWait, let me check: x = {i}. Yes.\n\\boxed{{{i}}}<|end|>"));
        }
        c
    }

    #[test]
    fn trains_round_trips_and_keeps_specials() {
        let tk = train_tokenizer(&corpus(), 300).unwrap();
        assert!(tk.get_vocab_size(true) <= 300);
        for (i, s) in SPECIAL_TOKENS.iter().enumerate() {
            assert_eq!(tk.token_to_id(s), Some(i as u32), "{s}");
        }
        for text in ["Solve 12x - 7 = 5.", "ünïcödé ∑ 0", "", "<|end|>"] {
            let enc = tk.encode(text, false).unwrap();
            assert_eq!(tk.decode(enc.get_ids(), false).unwrap(), text);
        }
        // Digits are single tokens.
        let enc = tk.encode("12345", false).unwrap();
        assert_eq!(enc.get_ids().len(), 5);
        // Specials encode to one id each.
        let enc = tk.encode("<|user|>\nhi<|end|>", false).unwrap();
        assert_eq!(enc.get_ids()[0], 1);
        assert_eq!(*enc.get_ids().last().unwrap(), 0);
    }

    #[test]
    fn rejects_bad_sizes_and_empty_corpus() {
        assert!(train_tokenizer(&corpus(), 100).is_err());
        assert!(train_tokenizer(&[], 400).is_err());
    }
}
