//! What a user names as a model, resolved in one place for every command:
//! an HF checkpoint directory, a `.gguf` file, or a Hub id (`owner/name`,
//! fetched into the standard Hugging Face cache). [`Checkpoint::open`]
//! reads its config and tokenizer; the weights then become either an
//! inference model ([`Checkpoint::inference_model`]: safetensors mmaped,
//! GGUF dequantised once) or owned, named tensors for training
//! ([`Checkpoint::tensors`]). [`Model::load`] is the inference shortcut.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::{check_tensors, load_hf_dir, resolve_hub, safetensors_files};
use crate::{CausalLm, Error, GgufFile, HfLoadOptions, ModelConfig, Result, Tokenizer};

/// Where and in which precision to load a model (the same as [`HfLoadOptions`]).
pub type LoadOptions = HfLoadOptions;

/// What a model spec refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local HF checkpoint directory.
    Dir(PathBuf),
    /// A local GGUF file.
    Gguf(PathBuf),
    /// A Hugging Face Hub repository id.
    Hub(String),
}

impl ModelSource {
    /// Classifies `spec`: an existing directory, an existing `.gguf` file, or
    /// an `owner/name` id that is not a local path.
    pub fn parse(spec: &str) -> Result<Self> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ModelSource::Dir(path.to_path_buf()));
        }
        let is_gguf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        if path.is_file() {
            if is_gguf {
                return Ok(ModelSource::Gguf(path.to_path_buf()));
            }
            return Err(Error::Input(format!(
                "model {spec}: a file that is not .gguf (give a checkpoint directory, a .gguf file or a Hub id)"
            )));
        }
        if bcr_core::hub::looks_like_repo_id(spec) && !spec.contains(':') && !is_gguf {
            return Ok(ModelSource::Hub(spec.to_string()));
        }
        Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such model file or directory")))
    }
}

/// A checkpoint on local disk (a Hub id is downloaded first): its config,
/// its tokenizer (end-of-sequence ids from every source merged), and where
/// its weights are.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The spec the user gave (names the checkpoint in messages).
    pub spec: String,
    /// The architecture.
    pub config: ModelConfig,
    /// The tokenizer and chat template.
    pub tokenizer: Tokenizer,
    weights: Weights,
}

#[derive(Debug, Clone)]
enum Weights {
    Dir(PathBuf),
    Gguf(Box<GgufFile>),
}

impl Checkpoint {
    /// Resolves `spec` (see [`ModelSource::parse`]) and reads its config and tokenizer.
    pub fn open(spec: &str) -> Result<Self> {
        let dir = match ModelSource::parse(spec)? {
            ModelSource::Gguf(path) => {
                let file = GgufFile::open(&path)?;
                let config = file.config()?;
                let mut tokenizer = Tokenizer::from_gguf(&file)?;
                tokenizer.add_eos_ids(&config.eos_token_ids);
                return Ok(Checkpoint { spec: spec.into(), config, tokenizer, weights: Weights::Gguf(Box::new(file)) });
            }
            ModelSource::Dir(dir) => dir,
            ModelSource::Hub(id) => resolve_hub(&id)?,
        };
        let config = ModelConfig::from_file(&dir.join("config.json"))?;
        let mut tokenizer = Tokenizer::from_dir(&dir)?;
        tokenizer.add_eos_ids(&config.eos_token_ids);
        Ok(Checkpoint { spec: spec.into(), config, tokenizer, weights: Weights::Dir(dir) })
    }

    /// The network for inference, on the device and in the dtype of `opts`.
    pub fn inference_model(&self, opts: &LoadOptions) -> Result<CausalLm> {
        Ok(match &self.weights {
            Weights::Dir(dir) => load_hf_dir(dir, opts)?.1,
            Weights::Gguf(file) => super::gguf::inference_model(file, &self.config, opts)?,
        })
    }

    /// Every tensor the architecture uses, under its HF name, owned (copied
    /// out of the file) in `dtype` on `device`: what training makes its
    /// variables from. Checked by name and shape against the config.
    pub fn tensors(&self, dtype: DType, device: &Device) -> Result<HashMap<String, Tensor>> {
        let tensors = match &self.weights {
            Weights::Gguf(file) => file.hf_tensors(dtype, device)?,
            Weights::Dir(dir) => {
                let mut tensors = HashMap::new();
                for file in safetensors_files(dir)? {
                    for (name, t) in candle_core::safetensors::load(&file, device)? {
                        tensors.insert(name, t.to_dtype(dtype)?);
                    }
                }
                tensors
            }
        };
        let shapes = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
        check_tensors(&self.config, &shapes, &self.spec)?;
        Ok(tensors)
    }
}

/// A causal LM and its tokenizer.
pub struct Model {
    /// The network.
    pub lm: CausalLm,
    /// Its tokenizer, end-of-sequence ids and chat template.
    pub tokenizer: Tokenizer,
}

impl Model {
    /// Loads the model `spec` names for inference (see [`Checkpoint`]).
    pub fn load(spec: &str, opts: &LoadOptions) -> Result<Model> {
        let ckpt = Checkpoint::open(spec)?;
        let lm = ckpt.inference_model(opts)?;
        Ok(Model { lm, tokenizer: ckpt.tokenizer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_classified() {
        let dir = tempfile::tempdir().unwrap();
        let gguf = dir.path().join("m.gguf");
        let other = dir.path().join("m.bin");
        std::fs::write(&gguf, b"x").unwrap();
        std::fs::write(&other, b"x").unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_string();
        assert_eq!(ModelSource::parse(&s(dir.path())).unwrap(), ModelSource::Dir(dir.path().to_path_buf()));
        assert_eq!(ModelSource::parse(&s(&gguf)).unwrap(), ModelSource::Gguf(gguf.clone()));
        assert_eq!(
            ModelSource::parse("HuggingFaceTB/SmolLM2-135M-Instruct").unwrap(),
            ModelSource::Hub("HuggingFaceTB/SmolLM2-135M-Instruct".into())
        );
        let err = ModelSource::parse(&s(&other)).unwrap_err().to_string();
        assert!(err.contains("not .gguf"), "{err}");
        for missing in ["nope/missing.gguf", "/no/such/dir", "a/b/c", ""] {
            assert!(ModelSource::parse(missing).is_err(), "{missing}");
        }
    }

    #[test]
    fn a_corrupt_gguf_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.gguf");
        std::fs::write(&path, b"GGUF\x03\x00").unwrap();
        let err = Model::load(path.to_str().unwrap(), &LoadOptions::default()).err().unwrap().to_string();
        assert!(err.contains("bad.gguf") && err.contains("truncated"), "{err}");
    }
}
