//! Dequantization against the `gguf` Python package (llama.cpp's numpy
//! reference): random blocks of every type (`tests/fixtures/gguf/blocks.json`,
//! `make_blocks.py`) and, when present, every tensor of SmolLM2-135M
//! (`tests/fixtures/smollm2/tensors.json`, `make_ref.py`).

use std::path::PathBuf;

use super::*;

fn fixture(rel: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn random_blocks_match_the_python_reference() {
    let fx = fixture("gguf/blocks.json");
    let types = [
        ("Q4_0", GgmlType::Q4_0),
        ("Q4_1", GgmlType::Q4_1),
        ("Q5_0", GgmlType::Q5_0),
        ("Q5_1", GgmlType::Q5_1),
        ("Q8_0", GgmlType::Q8_0),
        ("Q2_K", GgmlType::Q2K),
        ("Q3_K", GgmlType::Q3K),
        ("Q4_K", GgmlType::Q4K),
        ("Q5_K", GgmlType::Q5K),
        ("Q6_K", GgmlType::Q6K),
    ];
    for (name, ty) in types {
        let case = &fx[name];
        let want: Vec<f32> = serde_json::from_value(case["values"].clone()).unwrap();
        let got = ty.dequantize(&hex(case["hex"].as_str().unwrap())).unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Both sides compute in f32 from the same f16 scales; allow the
            // last-bit differences of a different operation order.
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{name}[{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn q8_k_hand_built_block() {
    let mut b = 0.5f32.to_le_bytes().to_vec();
    b.extend((0..256).map(|i| (i as u8).wrapping_sub(128)));
    b.extend([0u8; 32]);
    let y = GgmlType::Q8K.dequantize(&b).unwrap();
    assert_eq!((y[0], y[128], y[255]), (-64.0, 0.0, 63.5));
}

fn smollm2() -> Option<GgufFile> {
    let Some(path) = std::env::var_os("BCR_SMOLLM2_GGUF").map(PathBuf::from).filter(|p| p.exists()) else {
        eprintln!("skipping: set BCR_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to run this test");
        return None;
    };
    Some(GgufFile::open(&path).unwrap())
}

#[test]
fn smollm2_tensors_match_the_python_reference() {
    let Some(file) = smollm2() else { return };
    let fx = fixture("smollm2/tensors.json");
    let want = fx.as_object().unwrap();
    assert_eq!(file.header().tensors.len(), want.len());
    let mut reader = File::open(file.path()).unwrap();
    for info in &file.header().tensors {
        let w = &want[&info.name];
        let bytes = read_tensor_bytes(file.header(), &mut reader, info).unwrap();
        let got = tensor_type(info).unwrap().dequantize(&bytes).unwrap();
        let shape: Vec<usize> = serde_json::from_value(w["shape"].clone()).unwrap();
        assert_eq!(info.shape(), shape, "{}", info.name);
        let sum: f64 = got.iter().map(|&v| v as f64).sum();
        let abs: f64 = got.iter().map(|&v| v.abs() as f64).sum();
        let (ws, wa) = (w["sum"].as_f64().unwrap(), w["abs_sum"].as_f64().unwrap());
        assert!((sum - ws).abs() <= 1e-6 * wa.max(1.0), "{} sum {sum} vs {ws}", info.name);
        assert!((abs - wa).abs() <= 1e-6 * wa.max(1.0), "{} abs sum {abs} vs {wa}", info.name);
        let head: Vec<f32> = serde_json::from_value(w["head"].clone()).unwrap();
        assert_eq!(got[..head.len()], head[..], "{}", info.name);
    }
}

#[test]
fn smollm2_config_from_metadata() {
    let Some(file) = smollm2() else { return };
    let cfg = file.config().unwrap();
    assert_eq!((cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers), (576, 1536, 30));
    assert_eq!((cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim), (9, 3, 64));
    assert_eq!((cfg.vocab_size, cfg.rope_theta, cfg.max_position_embeddings), (49152, 100000.0, 8192));
    assert!(cfg.tie_word_embeddings);
    assert_eq!((cfg.bos_token_id, cfg.eos_token_ids.clone()), (Some(1), vec![2]));
}

#[test]
fn unsupported_architecture_is_named() {
    use bcr_core::gguf::testing::{build, string};
    let bytes = build(&[("general.architecture", 8, string("gpt2"))], &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, bytes).unwrap();
    let err = GgufFile::open(&path).unwrap().config().unwrap_err().to_string();
    assert!(err.contains("m.gguf") && err.contains("\"gpt2\" is not supported"), "{err}");
}

#[test]
fn unknown_tensor_types_and_short_data_are_named() {
    use bcr_core::gguf::testing::build;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    std::fs::write(&path, build(&[], &[("w", &[4], 77, vec![0; 16])])).unwrap();
    let err = GgufFile::open(&path).unwrap_err().to_string();
    assert!(err.contains("t.gguf") && err.contains("tensor w has unknown ggml type 77"), "{err}");
    let bytes = build(&[], &[("w", &[64], 0, vec![0; 16])]);
    let h = GgufHeader::read(&bytes[..]).unwrap();
    let err = read_tensor_bytes(&h, &mut std::io::Cursor::new(&bytes), &h.tensors[0]).unwrap_err();
    assert!(err.contains("cannot read 256 bytes"), "{err}");
}
