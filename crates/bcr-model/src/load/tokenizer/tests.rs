//! The tokenizer against transformers (fixtures from
//! `tests/fixtures/smollm2/make_ref.py`) on SmolLM2's GGUF, and the
//! directory path through a `tokenizer.json` exported from it.

use std::path::PathBuf;

use bcr_core::ChatMessage;

use super::*;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn smollm2() -> Option<Tokenizer> {
    let Some(path) = std::env::var_os("BCR_SMOLLM2_GGUF").map(PathBuf::from).filter(|p| p.exists()) else {
        eprintln!("skipping: set BCR_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to run this test");
        return None;
    };
    Some(Tokenizer::from_gguf(&GgufFile::open(&path).unwrap()).unwrap())
}

fn check_cases(tok: &Tokenizer) {
    for case in fixture("tokenizer.json")["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let ids = tok.encode(text, false).unwrap();
        assert_eq!(ids, want, "{text:?}");
        assert_eq!(tok.decode(&ids, false).unwrap(), case["decoded"].as_str().unwrap(), "{text:?}");
    }
}

#[test]
fn smollm2_gguf_encodes_like_transformers() {
    let Some(tok) = smollm2() else { return };
    check_cases(&tok);
    assert_eq!(tok.eos_token_ids(), &[2]);
    assert_eq!(tok.vocab_size(), 49152);
    // add_bos_token is false for SmolLM2: special tokens add nothing.
    assert_eq!(tok.encode("hi", true).unwrap(), tok.encode("hi", false).unwrap());
}

#[test]
fn smollm2_chat_template_renders_like_transformers() {
    let Some(tok) = smollm2() else { return };
    for chat in fixture("chat.json")["chats"].as_array().unwrap() {
        let msgs: Vec<ChatMessage> = serde_json::from_value(chat["messages"].clone()).unwrap();
        let gen = chat["add_generation_prompt"].as_bool().unwrap();
        assert_eq!(tok.apply_chat_template(&msgs, gen).unwrap(), chat["text"].as_str().unwrap());
    }
}

#[test]
fn directory_tokenizer_reads_its_configs() {
    let Some(gguf_tok) = smollm2() else { return };
    let dir = tempfile::tempdir().unwrap();
    gguf_tok.inner.save(dir.path().join("tokenizer.json"), false).unwrap();
    let template = gguf_tok.chat_template().unwrap().source().to_string();
    let tc = serde_json::json!({"chat_template": template, "eos_token": {"content": "<|im_end|>"}, "bos_token": "<|im_start|>"});
    std::fs::write(dir.path().join("tokenizer_config.json"), tc.to_string()).unwrap();
    let gc = serde_json::json!({"eos_token_id": [2, 0], "temperature": 0.6, "top_p": 0.95});
    std::fs::write(dir.path().join("generation_config.json"), gc.to_string()).unwrap();
    let tok = Tokenizer::from_dir(dir.path()).unwrap();
    check_cases(&tok);
    assert_eq!(tok.eos_token_ids(), &[2, 0]);
    assert_eq!(tok.generation_defaults().temperature, Some(0.6));
    assert_eq!(tok.generation_defaults().top_k, None);
    let msgs = [ChatMessage::user("Hi")];
    assert_eq!(tok.apply_chat_template(&msgs, true).unwrap(), gguf_tok.apply_chat_template(&msgs, true).unwrap());
}

#[test]
fn bad_directories_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Tokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}

#[test]
fn eos_lists_accept_ids_and_reject_junk() {
    let p = std::path::Path::new("generation_config.json");
    assert_eq!(token_id_list(&serde_json::json!(7), p).unwrap(), vec![7]);
    assert_eq!(token_id_list(&serde_json::json!([1, 2]), p).unwrap(), vec![1, 2]);
    assert!(token_id_list(&Value::Null, p).unwrap().is_empty());
    let err = token_id_list(&serde_json::json!("x"), p).unwrap_err().to_string();
    assert!(err.contains("generation_config.json") && err.contains("\"x\""), "{err}");
    let mut ids = vec![3, 1, 3, 2, 1];
    dedup(&mut ids);
    assert_eq!(ids, vec![3, 1, 2]);
}
