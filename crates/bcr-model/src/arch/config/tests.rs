use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<ModelConfig> {
    ModelConfig::from_json_str(text, Path::new("config.json"))
}

const BASE: &str = r#""hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 128"#;

fn with(model_type: &str, extra: &str) -> String {
    format!(r#"{{"model_type": "{model_type}", {BASE}{extra}}}"#)
}

#[test]
fn families_and_derived_numbers() {
    let cases = [
        ("llama", "", Arch::Llama, 16, false, false),
        ("llama", r#", "attention_bias": true"#, Arch::Llama, 16, true, true),
        ("qwen2", "", Arch::Qwen2, 16, true, false),
        ("qwen3", r#", "head_dim": 32"#, Arch::Qwen3, 32, false, false),
    ];
    for (ty, extra, arch, hd, qkv, o) in cases {
        let cfg = parse(&with(ty, extra)).unwrap_or_else(|e| panic!("{ty}{extra}: {e}"));
        assert_eq!((cfg.arch, cfg.head_dim, cfg.qkv_bias, cfg.o_bias), (arch, hd, qkv, o), "{ty}{extra}");
        assert_eq!(cfg.num_kv_groups(), 2);
        assert_eq!(cfg.rope_theta, 10_000.0);
    }
}

#[test]
fn token_ids_accept_int_list_and_null() {
    let cfg = parse(&with("qwen2", r#", "bos_token_id": 1, "eos_token_id": [2, 3]"#)).unwrap();
    assert_eq!((cfg.bos_token_id, cfg.eos_token_ids.clone()), (Some(1), vec![2, 3]));
    let cfg = parse(&with("qwen2", r#", "bos_token_id": null, "eos_token_id": 7"#)).unwrap();
    assert_eq!((cfg.bos_token_id, cfg.eos_token_ids), (None, vec![7]));
}

#[test]
fn rejections_name_the_option_and_reason() {
    let cases = [
        (with("mistral", ""), "model_type"),
        (with("llama", r#", "hidden_act": "gelu""#), "hidden_act"),
        (with("qwen2", r#", "use_sliding_window": true"#), "use_sliding_window"),
        (with("llama", r#", "rope_scaling": {"rope_type": "longrope", "factor": 2.0}"#), "longrope"),
        (with("llama", r#", "rope_scaling": {"rope_type": "llama3", "factor": 8.0}"#), "low_freq_factor"),
        (with("llama", r#", "num_key_value_heads": 3"#), "num_key_value_heads"),
        (with("llama", r#", "eos_token_id": "two""#), "eos_token_id"),
        (with("llama", r#", "partial_rotary_factor": 0.5"#), "partial_rotary_factor"),
        (r#"{"model_type": "llama"}"#.to_string(), "hidden_size"),
        ("{not json".to_string(), "config.json"),
    ];
    for (text, needle) in cases {
        match parse(&text) {
            Ok(_) => panic!("accepted {text}"),
            Err(e) => assert!(e.to_string().contains(needle), "{needle} not in {e}"),
        }
    }
}

#[test]
fn rope_scaling_variants() {
    let linear = parse(&with("llama", r#", "rope_scaling": {"type": "linear", "factor": 4.0}"#)).unwrap();
    let plain = parse(&with("llama", "")).unwrap();
    let (f_lin, s) = linear.rope_inv_freq();
    let (f_plain, _) = plain.rope_inv_freq();
    assert_eq!(s, 1.0);
    for (a, b) in f_lin.iter().zip(&f_plain) {
        assert!((a * 4.0 - b).abs() < 1e-15);
    }
    let l3 = r#", "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}"#;
    let (f_l3, _) = parse(&with("llama", l3)).unwrap().rope_inv_freq();
    // Highest frequency untouched, lowest divided by the factor.
    assert_eq!(f_l3[0], f_plain[0]);
    let last = f_plain.len() - 1;
    assert!((f_l3[last] * 8.0 - f_plain[last]).abs() < 1e-15);
    let yarn = r#", "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}"#;
    let (f_y, s_y) = parse(&with("qwen3", yarn)).unwrap().rope_inv_freq();
    assert!((s_y - (0.1 * 4f64.ln() + 1.0)).abs() < 1e-12);
    assert_eq!(f_y.len(), 8);
    let v5 = r#", "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}"#;
    assert_eq!(parse(&with("qwen3", v5)).unwrap().rope_theta, 500000.0);
}
