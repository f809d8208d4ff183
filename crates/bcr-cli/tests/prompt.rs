//! `bcr prompt` end to end: the real binary on small pack files, with and
//! without a model's chat template (the real Qwen3-4B-Thinking-2507 template
//! from bcr-core's fixtures, and SmolLM2's GGUF when `BCR_SMOLLM2_GGUF` is set).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bcr")).args(args).output().unwrap_or_else(|e| panic!("cannot run bcr: {e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bcr-core/tests/fixtures/chat_templates").join(name)
}

fn problem(id: &str, q: &str, a: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "question": q, "answer": a})
}

/// Two packs: N = 1 and N = 3.
fn write_packs(dir: &Path) -> PathBuf {
    let packs = [
        serde_json::json!({"pack_id": "p0", "n": 1, "problems": [problem("a", "What is 1+1?", "2")]}),
        serde_json::json!({"pack_id": "p1", "n": 3, "problems": [
            problem("b", "What is 2+3?", "5"), problem("c", "Solve $x^2=4$, $x>0$.", "2"), problem("d", "What is 10/4?", "\\frac{5}{2}")]}),
    ];
    let path = dir.join("packs.jsonl");
    let text: String = packs.iter().map(|p| format!("{p}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn prompts(out: &Output) -> Vec<(String, String)> {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["pack_id"].as_str().unwrap().to_string(), v["prompt"].as_str().unwrap().to_string())
        })
        .collect()
}

const P1: &str = "Solve the following 3 problems. Reason step by step.\n\n### Problem 1\n\nWhat is 2+3?\n\n\
                  ### Problem 2\n\nSolve $x^2=4$, $x>0$.\n\n### Problem 3\n\nWhat is 10/4?\n\n\
                  End the solution of each problem k with its final answer in the form `Answer k: \\boxed{...}`, \
                  from `Answer 1: \\boxed{...}` to `Answer 3: \\boxed{...}`.";

#[test]
fn plain_prompts_in_pack_order() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let got = prompts(&bcr(&["prompt", "--packs", s(&packs)]));
    assert_eq!(
        got,
        vec![
            (
                "p0".to_string(),
                "What is 1+1?\nPlease reason step by step, and put your final answer within \\boxed{}.".to_string()
            ),
            ("p1".to_string(), P1.to_string()),
        ]
    );
    // --output and --label
    let out = dir.path().join("prompts.jsonl");
    let run = bcr(&["prompt", "--packs", s(&packs), "--label", "Final answer", "--output", s(&out)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("`Final answer 3: \\\\boxed{...}`"), "{text}");
}

#[test]
fn qwen3_thinking_chat_template_from_a_model_dir() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let model = dir.path().join("Qwen3-4B-Thinking-2507");
    std::fs::create_dir(&model).unwrap();
    std::fs::copy(fixture("qwen3-4b-thinking-2507.tokenizer_config.json"), model.join("tokenizer_config.json"))
        .unwrap();
    let got = prompts(&bcr(&["prompt", "--packs", s(&packs), "--model", s(&model), "--system", "Be brief."]));
    assert_eq!(
        got[1].1,
        format!("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n{P1}<|im_end|>\n<|im_start|>assistant\n<think>\n")
    );
}

#[test]
fn smollm2_gguf_chat_template() {
    let Some(gguf) = std::env::var_os("BCR_SMOLLM2_GGUF").map(PathBuf::from).filter(|p| p.is_file()) else {
        eprintln!("skipping: set BCR_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch-smollm2.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let got = prompts(&bcr(&["prompt", "--packs", s(&packs), "--model", s(&gguf)]));
    assert_eq!(
        got[0].1,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWhat is 1+1?\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n\
         <|im_start|>assistant\n"
    );
}

#[test]
fn chat_args_reach_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let tok = dir.path().join("tokenizer_config.json");
    std::fs::write(
        &tok,
        r#"{"chat_template": "{% if enable_thinking is false %}NO{% else %}YES{% endif %}:{{ messages[0].content[:4] }}"}"#,
    )
    .unwrap();
    let got =
        prompts(&bcr(&["prompt", "--packs", s(&packs), "--model", s(&tok), "--chat-arg", "enable_thinking=false"]));
    assert_eq!(got[0].1, "NO:What");
    let got = prompts(&bcr(&["prompt", "--packs", s(&packs), "--model", s(&tok)]));
    assert_eq!(got[0].1, "YES:What");
}

#[test]
fn bad_inputs_exit_1_with_one_line_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let packs = write_packs(dir.path());
    let broken = dir.path().join("broken.jsonl");
    let mut text = std::fs::read_to_string(&packs).unwrap();
    text.push_str("{\"pack_id\": \"p2\", \"n\": 1, \"problems\": [{\"id\": \"x\", \"answer\": \"1\"}]}\n");
    std::fs::write(&broken, text).unwrap();
    let no_template = dir.path().join("tokenizer_config.json");
    std::fs::write(&no_template, r#"{"eos_token": "</s>"}"#).unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"chat_template": "{{ messages[0].content }}"}"#).unwrap();
    let bad_template = dir.path().join("t.jinja");
    std::fs::write(&bad_template, "{% for %}").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--packs", s(&broken)], "broken.jsonl:3"),
        (vec!["--packs", s(&packs), "--model", s(&no_template)], "no default chat template"),
        (vec!["--packs", s(&packs), "--template", s(&bad_template)], "t.jinja"),
        (vec!["--packs", s(&packs), "--label", "Answer:"], "--label"),
        (vec!["--packs", s(&packs), "--model", s(&good), "--chat-arg", "novalue"], "KEY=JSON"),
        (vec!["--packs", "/nonexistent/packs.jsonl"], "/nonexistent/packs.jsonl"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["prompt"];
        full.extend(args.iter().copied());
        let out = bcr(&full);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
    // --system without --model is a usage error.
    assert!(!bcr(&["prompt", "--packs", s(&packs), "--system", "x"]).status.success());
}
