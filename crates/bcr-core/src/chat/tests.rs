//! Chat templates against the real templates of Qwen3-4B-Thinking-2507,
//! DeepSeek-R1-Distill-Qwen, Qwen2.5-Math-Instruct and SmolLM2 (see
//! `tests/fixtures/chat_templates/SOURCE.md`). Every expected string below
//! was produced by Python's Jinja2 3.1.6 configured as `transformers`
//! configures it (`render_expected.py` in the same folder).

use std::path::{Path, PathBuf};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_templates").join(name)
}

fn sys_user() -> Vec<ChatMessage> {
    vec![ChatMessage::system("You are a careful mathematician."), ChatMessage::user("What is 1+1?")]
}

const THOUGHT: &str = "<think>\nOne plus one.\n</think>\n\nAnswer 1: \\boxed{2}";

fn qwen3() -> ChatTemplate {
    TokenizerConfig::from_file(&fixture("qwen3-4b-thinking-2507.tokenizer_config.json"))
        .unwrap()
        .chat_template()
        .unwrap()
}

#[test]
fn qwen3_thinking_system_user() {
    let t = qwen3();
    let body =
        "<|im_start|>system\nYou are a careful mathematician.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n";
    assert_eq!(t.render(&sys_user(), false).unwrap(), body);
    // The thinking template opens the think block in the generation prompt.
    assert_eq!(t.render(&sys_user(), true).unwrap(), format!("{body}<|im_start|>assistant\n<think>\n"));
}

#[test]
fn qwen3_thinking_drops_old_reasoning_but_keeps_the_last() {
    let t = qwen3();
    let mut multi = sys_user();
    multi.push(ChatMessage::assistant(THOUGHT));
    multi.push(ChatMessage::user("And 2+2?"));
    // An assistant turn before the last user query loses its <think> block.
    assert_eq!(
        t.render(&multi, true).unwrap(),
        "<|im_start|>system\nYou are a careful mathematician.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n\
         <|im_start|>assistant\nAnswer 1: \\boxed{2}<|im_end|>\n<|im_start|>user\nAnd 2+2?<|im_end|>\n\
         <|im_start|>assistant\n<think>\n"
    );
    // The final assistant turn keeps it, re-wrapped.
    let mut last = sys_user();
    last.push(ChatMessage::assistant(THOUGHT));
    assert_eq!(
        t.render(&last, false).unwrap(),
        "<|im_start|>system\nYou are a careful mathematician.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n\
         <|im_start|>assistant\n<think>\nOne plus one.\n</think>\n\nAnswer 1: \\boxed{2}<|im_end|>\n"
    );
}

#[test]
fn deepseek_r1_distill_tokens_and_think_split() {
    let config = TokenizerConfig::from_file(&fixture("deepseek-r1-distill-qwen.tokenizer_config.json")).unwrap();
    // bos/eos are AddedToken objects in this file.
    assert_eq!(config.tokens.bos_token.as_deref(), Some("<｜begin▁of▁sentence｜>"));
    assert_eq!(config.tokens.eos_token.as_deref(), Some("<｜end▁of▁sentence｜>"));
    let t = config.chat_template().unwrap();
    let head = "<｜begin▁of▁sentence｜>You are a careful mathematician.<｜User｜>What is 1+1?";
    assert_eq!(t.render(&sys_user(), false).unwrap(), head);
    assert_eq!(t.render(&sys_user(), true).unwrap(), format!("{head}<｜Assistant｜>"));
    let mut last = sys_user();
    last.push(ChatMessage::assistant(THOUGHT));
    // Everything up to `</think>` is dropped from assistant history.
    assert_eq!(
        t.render(&last, false).unwrap(),
        format!("{head}<｜Assistant｜>\n\nAnswer 1: \\boxed{{2}}<｜end▁of▁sentence｜>")
    );
}

#[test]
fn qwen25_math_default_system_prompt() {
    let source = std::fs::read_to_string(fixture("qwen2.5-math-instruct.jinja")).unwrap();
    let t = ChatTemplate::new(&source, SpecialTokens::default()).unwrap();
    assert_eq!(
        t.render(&[ChatMessage::user("What is 1+1?")], true).unwrap(),
        "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n\
         <|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        t.render(&sys_user(), false).unwrap(),
        "<|im_start|>system\nYou are a careful mathematician.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n"
    );
}

#[test]
fn smollm2_from_its_gguf_or_fixture() {
    let source = std::fs::read_to_string(fixture("smollm2-135m-instruct.jinja")).unwrap();
    let t = ChatTemplate::new(&source, SpecialTokens::default()).unwrap();
    assert_eq!(
        t.render(&[ChatMessage::user("What is 1+1?")], true).unwrap(),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n"
    );
    match std::env::var_os("BCR_SMOLLM2_GGUF").map(PathBuf::from).filter(|p| p.is_file()) {
        None => {
            eprintln!("skipping the GGUF half of this test: set BCR_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf")
        }
        Some(path) => {
            let config = TokenizerConfig::from_model(&path).unwrap();
            assert_eq!(config.chat_template.as_deref(), Some(source.as_str()));
            assert_eq!(config.tokens.bos_token.as_deref(), Some("<|im_start|>"));
            assert_eq!(config.tokens.eos_token.as_deref(), Some("<|im_end|>"));
            assert_eq!(config.tokens.unk_token.as_deref(), Some("<|endoftext|>"));
        }
    }
}

/// All 32 renders (4 templates x 4 conversations x generation prompt on/off)
/// against the Jinja2 output stored in `expected_renders.json`.
#[test]
fn every_fixture_render_matches_jinja2() {
    let expected: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected_renders.json")).unwrap()).unwrap();
    assert_eq!(expected.len(), 32);
    let smol_tokens = SpecialTokens {
        bos_token: Some("<|im_start|>".into()),
        eos_token: Some("<|im_end|>".into()),
        pad_token: Some("<|im_end|>".into()),
        unk_token: Some("<|endoftext|>".into()),
    };
    let read = |name: &str| std::fs::read_to_string(fixture(name)).unwrap();
    let templates = [
        ("qwen3", qwen3()),
        (
            "deepseek",
            TokenizerConfig::from_file(&fixture("deepseek-r1-distill-qwen.tokenizer_config.json"))
                .unwrap()
                .chat_template()
                .unwrap(),
        ),
        ("qwen25math", ChatTemplate::new(&read("qwen2.5-math-instruct.jinja"), SpecialTokens::default()).unwrap()),
        ("smollm2", ChatTemplate::new(&read("smollm2-135m-instruct.jinja"), smol_tokens).unwrap()),
    ];
    let mut multi = sys_user();
    multi.push(ChatMessage::assistant(THOUGHT));
    let last_assistant = multi.clone();
    multi.push(ChatMessage::user("And 2+2?"));
    let convs = [
        ("sys_user", sys_user()),
        ("multi", multi),
        ("last_assistant", last_assistant),
        ("user_only", vec![ChatMessage::user("What is 1+1?")]),
    ];
    for (tname, t) in &templates {
        for (cname, conv) in &convs {
            for gen in [false, true] {
                let key = format!("{tname}/{cname}/{}", if gen { "True" } else { "False" });
                let want = expected[&key].as_str().unwrap();
                assert_eq!(t.render(conv, gen).unwrap(), want, "{key}");
            }
        }
    }
}

#[test]
fn helpers_real_templates_use() {
    let t = |src: &str| ChatTemplate::new(src, SpecialTokens::default()).unwrap();
    let user = [ChatMessage::user("  Hi there  ")];
    // raise_exception surfaces as an error carrying the template's message.
    let err = t("{{ raise_exception('Only user and assistant roles are supported!') }}").render(&user, false);
    assert!(err.unwrap_err().to_string().contains("Only user and assistant roles are supported!"));
    // strftime_now, pinned for reproducibility.
    let dated = t("{{ strftime_now('%d %b %Y') }}").with_fixed_time(1_721_952_000).unwrap();
    assert_eq!(dated.render(&user, false).unwrap(), "26 Jul 2024");
    // namespace, loop controls, python string methods, tools = none.
    // Booleans print as Python's `True`, as Jinja2 prints them.
    let src = "{%- set ns = namespace(n=0) -%}{%- for m in messages -%}{%- if loop.index > 1 %}{% break %}{% endif -%}\
               {%- set ns.n = ns.n + 1 -%}[{{ m.content.strip() }}|{{ m.content.split()|length }}|\
               {{ m.content.lstrip().startswith('Hi') }}|{{ m.content.rstrip().endswith('re') }}]{%- endfor -%}\
               {{ ns.n }}{{ tools is none }}";
    assert_eq!(t(src).render(&user, false).unwrap(), "[Hi there|2|True|True]1True");
}

#[test]
fn enable_thinking_kwarg_and_trim_blocks() {
    // The shape of Qwen3's hybrid templates: a kwarg with a default.
    let src = "{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n    \
               {%- if enable_thinking is defined and enable_thinking is false %}\n        \
               {{- '<think>\\n\\n</think>\\n\\n' }}\n    {%- endif %}\n{%- endif %}\n";
    let t = ChatTemplate::new(src, SpecialTokens::default()).unwrap();
    let mut kwargs = serde_json::Map::new();
    assert_eq!(t.render_with(&[], true, &kwargs).unwrap(), "<|im_start|>assistant\n");
    kwargs.insert("enable_thinking".into(), serde_json::Value::Bool(false));
    assert_eq!(t.render_with(&[], true, &kwargs).unwrap(), "<|im_start|>assistant\n<think>\n\n</think>\n\n");
    // trim_blocks + lstrip_blocks: block lines leave no blank lines behind.
    let t = ChatTemplate::new("{% if true %}\n  A\n{% endif %}\nB\n", SpecialTokens::default()).unwrap();
    assert_eq!(t.render(&[], false).unwrap(), "  A\nB");
}

#[test]
fn tokenizer_config_forms_and_errors() {
    let p = Path::new("tok.json");
    // List form: the entry named "default" is the default.
    let list = r#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}],
                   "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null}"#;
    let c = TokenizerConfig::from_json_str(list, p).unwrap();
    assert_eq!(c.template_text(Some("tool_use")).unwrap(), "T");
    assert_eq!(c.chat_template().unwrap().render(&[], false).unwrap(), "D<s>");
    assert_eq!(c.tokens.pad_token, None);
    // Awkward inputs: each error names the file and the field.
    let cases = [
        (r#"{"chat_template": 3}"#, "chat_template"),
        (r#"{"chat_template": [{"name": "x"}]}"#, "chat_template"),
        (r#"{"chat_template": "x", "bos_token": 7}"#, "bos_token"),
        (r#"{"chat_template": "x", "eos_token": {"id": 1}}"#, "eos_token"),
        ("{not json", "invalid JSON"),
        ("[1]", "expected a JSON object"),
    ];
    for (text, needle) in cases {
        let err = TokenizerConfig::from_json_str(text, p).unwrap_err().to_string();
        assert!(err.contains("tok.json") && err.contains(needle), "{text}: {err}");
    }
    let none = TokenizerConfig::from_json_str(r#"{"eos_token": "</s>"}"#, p).unwrap();
    let err = none.chat_template().unwrap_err().to_string();
    assert_eq!(err, "tok.json: the model has no default chat template");
    let err = c.template_text(Some("rag")).unwrap_err().to_string();
    assert_eq!(err, "tok.json: the model has no chat template named `rag` (it has: default, tool_use)");
}

#[test]
fn syntax_errors_name_the_line() {
    let err = ChatTemplate::new("line one\n{% if %}", SpecialTokens::default()).unwrap_err().to_string();
    assert!(err.contains("syntax error") && err.contains("chat_template:2"), "{err}");
}

#[test]
fn model_dir_prefers_chat_template_jinja() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokenizer_config.json"), r#"{"chat_template": "old", "eos_token": "E"}"#).unwrap();
    assert_eq!(TokenizerConfig::from_model(dir.path()).unwrap().chat_template.as_deref(), Some("old"));
    std::fs::write(dir.path().join("chat_template.jinja"), "new{{ eos_token }}").unwrap();
    let c = TokenizerConfig::from_model(dir.path()).unwrap();
    assert_eq!(c.chat_template().unwrap().render(&[], false).unwrap(), "newE");
}

#[test]
fn gguf_metadata_reader() {
    use crate::gguf::testing::{build, string, string_array};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    let u32v = |v: u32| v.to_le_bytes().to_vec();
    let mut scores = 6u32.to_le_bytes().to_vec();
    scores.extend(3u64.to_le_bytes());
    scores.extend([0u8; 12]);
    let kvs = vec![
        ("general.architecture", 8, string("llama")),
        ("tokenizer.ggml.scores", 9, scores),
        ("tokenizer.ggml.tokens", 9, string_array(&["<unk>", "<s>", "</s>"])),
        ("tokenizer.ggml.bos_token_id", 4, u32v(1)),
        ("tokenizer.ggml.eos_token_id", 4, u32v(2)),
        ("tokenizer.ggml.padding_token_id", 4, u32v(99)),
        ("tokenizer.chat_template", 8, string("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}")),
        ("tokenizer.chat_template.tool_use", 8, string("T")),
    ];
    std::fs::write(&path, build(&kvs, &[])).unwrap();
    let c = TokenizerConfig::from_model(&path).unwrap();
    assert_eq!(c.tokens.bos_token.as_deref(), Some("<s>"));
    assert_eq!(c.tokens.pad_token, None, "an out-of-range id maps to no token");
    assert_eq!(c.template_text(Some("tool_use")).unwrap(), "T");
    assert_eq!(c.chat_template().unwrap().render(&[ChatMessage::user("x")], false).unwrap(), "<s>x</s>");

    // Not GGUF, truncated, unsupported version: one-line errors naming the file.
    std::fs::write(dir.path().join("bad.gguf"), b"GGML....").unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(dir.path().join("cut.gguf"), &full[..60]).unwrap();
    let mut v1 = full.clone();
    v1[4] = 1;
    std::fs::write(dir.path().join("v1.gguf"), v1).unwrap();
    for (name, needle) in [("bad.gguf", "bad magic"), ("cut.gguf", "cut.gguf"), ("v1.gguf", "version 1")] {
        let err = TokenizerConfig::from_model(&dir.path().join(name)).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
    }
}
