//! Hugging Face checkpoints: a local directory (`config.json` plus one
//! `model.safetensors` or shards listed in `model.safetensors.index.json`)
//! or a Hub id fetched into the standard cache (`HF_HOME`, and
//! `HF_HUB_OFFLINE=1` for cache-only lookups). Weights are only read from
//! safetensors, never from pickle; every tensor's name and shape is checked
//! against the config before the model is built.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use crate::error::{Error, Result};
use crate::ModelConfig;
use crate::{CausalLm, WeightDtype};

/// Where and in which precision to load weights.
#[derive(Debug, Clone)]
pub struct HfLoadOptions {
    /// Device for the weights.
    pub device: Device,
    /// The weights' precision: converted to a float dtype on load, or a
    /// GGUF file's quantised blocks kept (`native`; safetensors: f32).
    pub dtype: WeightDtype,
}

impl Default for HfLoadOptions {
    fn default() -> Self {
        HfLoadOptions { device: Device::Cpu, dtype: WeightDtype::Float(DType::F32) }
    }
}

/// The safetensors files of a checkpoint directory, in a stable order.
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::json(&index, &e))?;
        let map = value.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| Error::Json {
            path: index.clone(),
            line: 0,
            column: 0,
            message: "missing object field `weight_map`".to_string(),
        })?;
        let mut files = BTreeSet::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| Error::Json {
                path: index.clone(),
                line: 0,
                column: 0,
                message: format!("field `weight_map.{name}`: expected a file name, found {file}"),
            })?;
            files.insert(dir.join(file));
        }
        return Ok(files.into_iter().collect());
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    Err(Error::io(
        &single,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no model.safetensors and no model.safetensors.index.json in the checkpoint directory",
        ),
    ))
}

/// Compare the tensors a checkpoint holds (`found`: name -> shape) with
/// what `cfg` needs; `source` names the checkpoint in errors. A missing or
/// mis-shaped tensor and any unused tensor are errors, except rotary
/// `inv_freq` buffers and an `lm_head.weight` beside tied embeddings, which
/// transformers also ignores.
pub fn check_tensors(cfg: &ModelConfig, found: &HashMap<String, Vec<usize>>, source: &str) -> Result<()> {
    let expected = CausalLm::expected_tensors(cfg);
    for (name, shape) in &expected {
        match found.get(name) {
            None => {
                return Err(Error::MissingTensor {
                    name: name.clone(),
                    expected: shape.clone(),
                    source_desc: source.to_string(),
                })
            }
            Some(s) if s != shape => {
                return Err(Error::TensorShape { name: name.clone(), expected: shape.clone(), found: s.clone() })
            }
            Some(_) => {}
        }
    }
    let wanted: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let mut extra: Vec<String> = found
        .keys()
        .filter(|n| !wanted.contains(n.as_str()))
        .filter(|n| !n.ends_with("rotary_emb.inv_freq"))
        .filter(|n| !(cfg.tie_word_embeddings && n.as_str() == "lm_head.weight"))
        .cloned()
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    extra.sort();
    let count = extra.len();
    extra.truncate(10);
    Err(Error::ExtraTensors { count, names: extra, source_desc: source.to_string() })
}

/// Load `config.json` and the safetensors weights of a checkpoint directory.
pub fn load_hf_dir(dir: &Path, opts: &HfLoadOptions) -> Result<(ModelConfig, CausalLm)> {
    let cfg = ModelConfig::from_file(&dir.join("config.json"))?;
    let files = safetensors_files(dir)?;
    for f in &files {
        if !f.is_file() {
            return Err(Error::io(f, std::io::Error::new(std::io::ErrorKind::NotFound, "shard listed in the index")));
        }
    }
    // SAFETY: the files are mapped read-only; like every mmap reader we
    // rely on them not being truncated while the model is alive.
    let st = unsafe { MmapedSafetensors::multi(&files)? };
    let found: HashMap<String, Vec<usize>> =
        st.tensors().into_iter().map(|(name, view)| (name, view.shape().to_vec())).collect();
    check_tensors(&cfg, &found, &dir.display().to_string())?;
    // SAFETY: as above.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&files, opts.dtype.float(), &opts.device)? };
    let lm = crate::arch::decoder::for_inference(CausalLm::new(&cfg, vb)?)?;
    Ok((cfg, lm))
}

/// Files fetched for a Hub checkpoint besides the weights (optional ones
/// are skipped when the repository lacks them).
const HUB_FILES: [(&str, bool); 4] = [
    ("config.json", true),
    ("tokenizer.json", true),
    ("tokenizer_config.json", false),
    ("generation_config.json", false),
];

/// The local snapshot directory of Hub model `repo_id`, downloading into
/// the Hugging Face cache (`HF_HOME`, default `~/.cache/huggingface`) when
/// needed. With `HF_HUB_OFFLINE=1` only the cache is consulted.
pub fn resolve_hub(repo_id: &str) -> Result<PathBuf> {
    if bcr_core::hub::offline() {
        let cache = hf_hub::Cache::from_env();
        let repo = cache.model(repo_id.to_string());
        let config = repo.get("config.json").ok_or_else(|| {
            Error::Hub(format!("{repo_id}: not in the cache at {} and HF_HUB_OFFLINE is set", cache.path().display()))
        })?;
        let dir = parent(&config)?;
        safetensors_files(&dir)?;
        return Ok(dir);
    }
    let api = bcr_core::hub::api().map_err(|e| Error::Hub(format!("{repo_id}: {e}")))?;
    let repo = api.model(repo_id.to_string());
    let mut config = None;
    for (file, required) in HUB_FILES {
        match repo.get(file) {
            Ok(p) if file == "config.json" => config = Some(p),
            Ok(_) => {}
            Err(e) if required => return Err(Error::Hub(format!("{repo_id}/{file}: {e}"))),
            Err(_) => {}
        }
    }
    let config = config.ok_or_else(|| Error::Hub(format!("{repo_id}: config.json not fetched")))?;
    let dir = parent(&config)?;
    match repo.get("model.safetensors.index.json") {
        Ok(_) => {
            for shard in safetensors_files(&dir)? {
                let name = shard.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
                repo.get(&name).map_err(|e| Error::Hub(format!("{repo_id}/{name}: {e}")))?;
            }
        }
        Err(_) => {
            repo.get("model.safetensors").map_err(|e| Error::Hub(format!("{repo_id}/model.safetensors: {e}")))?;
        }
    }
    Ok(dir)
}

fn parent(p: &Path) -> Result<PathBuf> {
    p.parent().map(Path::to_path_buf).ok_or_else(|| Error::Hub(format!("{} has no parent directory", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_hub_miss_names_the_repo_and_cache() {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e));
        let Ok(dir) = dir else { panic!("no tempdir") };
        std::env::set_var("HF_HOME", dir.path());
        std::env::set_var("HF_HUB_OFFLINE", "1");
        let err = resolve_hub("nobody/absent-model");
        std::env::remove_var("HF_HUB_OFFLINE");
        let msg = match err {
            Err(e) => e.to_string(),
            Ok(p) => panic!("resolved to {}", p.display()),
        };
        assert!(msg.contains("nobody/absent-model"), "{msg}");
        assert!(msg.contains("HF_HUB_OFFLINE"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    }

    #[test]
    fn directory_without_weights_is_an_io_error() {
        let Ok(dir) = tempfile::tempdir() else { panic!("no tempdir") };
        let msg = match safetensors_files(dir.path()) {
            Err(e) => e.to_string(),
            Ok(f) => panic!("found {f:?}"),
        };
        assert!(msg.contains("model.safetensors"), "{msg}");
    }
}
