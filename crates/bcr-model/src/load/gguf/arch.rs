//! From GGUF metadata and tensor names to the HF world: a `config.json`
//! equivalent for [`ModelConfig`] and the HF tensor names `CausalLm` loads.
//!
//! llama.cpp's converter permutes the rows of `q_proj` and `k_proj` of
//! Llama-architecture models so that each head's rotary pairs are adjacent
//! (GPT-J style, `(x[2i], x[2i+1])`), while HF's `rotate_half` pairs
//! `(x[i], x[i + head_dim/2])`. [`unpermute_rows`] undoes it: within each
//! head, GGUF row `2i + j` is HF row `j * head_dim/2 + i`. Qwen2/Qwen3 files
//! are stored in HF order (llama.cpp uses NEOX-style RoPE for them).

use serde_json::{json, Map, Value};

use bcr_core::gguf::{GgufHeader, GgufValue};

/// The GGUF architectures this crate maps to [`crate::Arch`].
const ARCHES: [&str; 3] = ["llama", "qwen2", "qwen3"];

/// The HF name of a GGUF tensor, or `None` for names with no HF counterpart.
pub fn hf_name(gguf: &str) -> Option<String> {
    let top = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(t) = top {
        return Some(t.to_string());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, param) = rest.rsplit_once('.')?;
    let hf = match module {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{param}"))
}

/// The number of heads whose rows must be un-permuted for tensor `gguf`
/// (query heads for `attn_q`, key/value heads for `attn_k`), if any.
pub fn permuted_heads(arch: &str, gguf: &str, heads: usize, kv_heads: usize) -> Option<usize> {
    if arch != "llama" {
        return None;
    }
    let module = gguf.strip_prefix("blk.")?.split('.').nth(1)?;
    match module {
        "attn_q" => Some(heads),
        "attn_k" => Some(kv_heads),
        _ => None,
    }
}

/// Undoes llama.cpp's Q/K row permutation in place; `data` is row-major
/// with `rows` rows of `cols` values (a 1-D bias has `cols == 1`).
pub fn unpermute_rows<T: Copy>(data: &mut [T], rows: usize, cols: usize, heads: usize) -> Result<(), String> {
    if heads == 0 || !rows.is_multiple_of(heads) || !(rows / heads).is_multiple_of(2) || data.len() != rows * cols {
        return Err(format!("cannot un-permute {rows} x {cols} rows into {heads} heads of even size"));
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let src = data.to_vec();
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let from = (h * head_dim + 2 * i + j) * cols;
                let to = (h * head_dim + j * half + i) * cols;
                data[to..to + cols].copy_from_slice(&src[from..from + cols]);
            }
        }
    }
    Ok(())
}

/// The architecture name (`general.architecture`), checked to be supported.
pub fn architecture(h: &GgufHeader) -> Result<String, String> {
    let arch = h
        .get("general.architecture")
        .and_then(GgufValue::as_str)
        .ok_or("metadata general.architecture is missing or not a string")?;
    if !ARCHES.contains(&arch) {
        return Err(format!("general.architecture {arch:?} is not supported (supported: {ARCHES:?})"));
    }
    Ok(arch.to_string())
}

/// An HF `config.json` object equivalent to the file's metadata.
pub fn hf_config(h: &GgufHeader) -> Result<Value, String> {
    let arch = architecture(h)?;
    let key = |k: &str| format!("{arch}.{k}");
    let get = |k: &str| h.get(&key(k));
    let uint = |k: &str| -> Result<Option<u64>, String> {
        get(k).map(|v| v.as_u64().ok_or(format!("metadata {} = {v:?} is not an unsigned integer", key(k)))).transpose()
    };
    let need = |k: &str| uint(k)?.ok_or(format!("metadata {} is missing", key(k)));
    let float = |k: &str| get(k).and_then(GgufValue::as_f64);
    let heads = need("attention.head_count")?;
    let hidden = need("embedding_length")?;
    let head_dim = uint("attention.key_length")?.unwrap_or(hidden.checked_div(heads).unwrap_or(0));
    if let Some(rot) = uint("rope.dimension_count")? {
        if rot != head_dim {
            return Err(format!(
                "{} = {rot} differs from head_dim {head_dim}: partial RoPE is not supported",
                key("rope.dimension_count")
            ));
        }
    }
    if h.tensor("rope_freqs.weight").is_some() {
        return Err(
            "tensor rope_freqs.weight (Llama 3.1 frequency scaling) is not supported from GGUF; use the HF checkpoint"
                .into(),
        );
    }
    let vocab = match uint("vocab_size")? {
        Some(v) => v,
        None => tokens_len(h).ok_or("neither vocab_size nor tokenizer.ggml.tokens in the metadata")?,
    };
    let mut c = Map::new();
    c.insert("model_type".into(), json!(arch));
    c.insert("hidden_size".into(), json!(hidden));
    c.insert("intermediate_size".into(), json!(need("feed_forward_length")?));
    c.insert("num_hidden_layers".into(), json!(need("block_count")?));
    c.insert("num_attention_heads".into(), json!(heads));
    c.insert("num_key_value_heads".into(), json!(uint("attention.head_count_kv")?.unwrap_or(heads)));
    c.insert("head_dim".into(), json!(head_dim));
    c.insert("rms_norm_eps".into(), json!(float("attention.layer_norm_rms_epsilon").unwrap_or(1e-6)));
    c.insert("rope_theta".into(), json!(float("rope.freq_base").unwrap_or(10_000.0)));
    c.insert("max_position_embeddings".into(), json!(uint("context_length")?.unwrap_or(4096)));
    c.insert("vocab_size".into(), json!(vocab));
    c.insert("tie_word_embeddings".into(), json!(h.tensor("output.weight").is_none()));
    let bias = arch == "llama" && h.tensor("blk.0.attn_q.bias").is_some();
    c.insert("attention_bias".into(), json!(bias));
    for (hf, gg) in [("bos_token_id", "tokenizer.ggml.bos_token_id"), ("eos_token_id", "tokenizer.ggml.eos_token_id")] {
        if let Some(id) = h.get(gg).and_then(GgufValue::as_u64) {
            c.insert(hf.into(), json!(id));
        }
    }
    if let Some(scaling) = rope_scaling(h, &arch)? {
        c.insert("rope_scaling".into(), scaling);
    }
    Ok(Value::Object(c))
}

fn tokens_len(h: &GgufHeader) -> Option<u64> {
    h.get("tokenizer.ggml.tokens").and_then(GgufValue::as_array).map(|a| a.len() as u64)
}

/// `rope.scaling.type` (none, linear, yarn) as an HF `rope_scaling` object.
fn rope_scaling(h: &GgufHeader, arch: &str) -> Result<Option<Value>, String> {
    let get = |k: &str| h.get(&format!("{arch}.rope.scaling.{k}"));
    let factor = get("factor").and_then(GgufValue::as_f64);
    let kind = get("type").and_then(GgufValue::as_str).unwrap_or(match factor {
        Some(_) => "linear",
        None => "none",
    });
    let orig = get("original_context_length").and_then(GgufValue::as_u64);
    match kind {
        "none" => Ok(None),
        "linear" | "yarn" => {
            let factor = factor.ok_or(format!("{arch}.rope.scaling.factor is required for {kind} scaling"))?;
            let mut v = json!({"rope_type": kind, "factor": factor});
            if let Some(o) = orig {
                v["original_max_position_embeddings"] = json!(o);
            }
            Ok(Some(v))
        }
        other => Err(format!("{arch}.rope.scaling.type {other:?} is not supported (none, linear, yarn are)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_hf() {
        let cases = [
            ("token_embd.weight", Some("model.embed_tokens.weight")),
            ("output.weight", Some("lm_head.weight")),
            ("output_norm.weight", Some("model.norm.weight")),
            ("blk.0.attn_q.weight", Some("model.layers.0.self_attn.q_proj.weight")),
            ("blk.12.attn_k.bias", Some("model.layers.12.self_attn.k_proj.bias")),
            ("blk.3.attn_output.weight", Some("model.layers.3.self_attn.o_proj.weight")),
            ("blk.3.attn_q_norm.weight", Some("model.layers.3.self_attn.q_norm.weight")),
            ("blk.7.ffn_down.weight", Some("model.layers.7.mlp.down_proj.weight")),
            ("blk.7.ffn_norm.weight", Some("model.layers.7.post_attention_layernorm.weight")),
            ("blk.x.ffn_up.weight", None),
            ("blk.1.ffn_gate_exps.weight", None),
            ("rope_freqs.weight", None),
            ("blk.", None),
        ];
        for (g, want) in cases {
            assert_eq!(hf_name(g).as_deref(), want, "{g}");
        }
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // llama.cpp's permute: reshape(heads, 2, hd/2, cols).swapaxes(1, 2).
        let (heads, hd, cols) = (3, 4, 2);
        let rows = heads * hd;
        let hf: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let mut gguf = vec![0f32; rows * cols];
        for h in 0..heads {
            for j in 0..2 {
                for i in 0..hd / 2 {
                    let src = (h * hd + j * hd / 2 + i) * cols;
                    let dst = (h * hd + i * 2 + j) * cols;
                    gguf[dst..dst + cols].copy_from_slice(&hf[src..src + cols]);
                }
            }
        }
        assert_ne!(gguf, hf);
        unpermute_rows(&mut gguf, rows, cols, heads).unwrap();
        assert_eq!(gguf, hf);
        assert!(unpermute_rows(&mut gguf, rows, cols, 5).is_err());
        assert!(unpermute_rows(&mut [0.0; 6], 6, 1, 2).is_err());
    }

    #[test]
    fn only_llama_q_and_k_are_permuted() {
        assert_eq!(permuted_heads("llama", "blk.0.attn_q.weight", 9, 3), Some(9));
        assert_eq!(permuted_heads("llama", "blk.0.attn_k.bias", 9, 3), Some(3));
        assert_eq!(permuted_heads("llama", "blk.0.attn_v.weight", 9, 3), None);
        assert_eq!(permuted_heads("qwen2", "blk.0.attn_q.weight", 9, 3), None);
    }
}
