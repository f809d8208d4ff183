//! [`Model`]: a causal LM with its tokenizer, loaded from whatever the user
//! names: an HF checkpoint directory, a `.gguf` file, or a Hub id
//! (`owner/name`, fetched into the standard Hugging Face cache).

use std::path::Path;

use crate::{load_gguf, load_hf_dir, resolve_hub, CausalLm, Error, GgufFile, HfLoadOptions, Result, Tokenizer};

/// Where and in which precision to load a model (the same as [`HfLoadOptions`]).
pub type LoadOptions = HfLoadOptions;

/// What a model spec refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local HF checkpoint directory.
    Dir(std::path::PathBuf),
    /// A local GGUF file.
    Gguf(std::path::PathBuf),
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
        let parts: Vec<&str> = spec.split('/').collect();
        let hub_like = parts.len() == 2
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        if hub_like && !is_gguf {
            return Ok(ModelSource::Hub(spec.to_string()));
        }
        Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such model file or directory")))
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
    /// Loads the model `spec` names (see [`ModelSource::parse`]).
    pub fn load(spec: &str, opts: &LoadOptions) -> Result<Model> {
        match ModelSource::parse(spec)? {
            ModelSource::Dir(dir) => Self::load_dir(&dir, opts),
            ModelSource::Gguf(path) => {
                let (cfg, lm) = load_gguf(&path, opts)?;
                let mut tokenizer = Tokenizer::from_gguf(&GgufFile::open(&path)?)?;
                tokenizer.add_eos_ids(&cfg.eos_token_ids);
                Ok(Model { lm, tokenizer })
            }
            ModelSource::Hub(id) => Self::load_dir(&resolve_hub(&id)?, opts),
        }
    }

    fn load_dir(dir: &Path, opts: &LoadOptions) -> Result<Model> {
        let (cfg, lm) = load_hf_dir(dir, opts)?;
        let mut tokenizer = Tokenizer::from_dir(dir)?;
        tokenizer.add_eos_ids(&cfg.eos_token_ids);
        Ok(Model { lm, tokenizer })
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
