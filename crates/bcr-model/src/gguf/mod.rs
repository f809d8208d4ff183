//! GGUF files (llama.cpp's single-file checkpoints): the container, the
//! dequantization of every tensor type GGUF checkpoints commonly carry
//! (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, Q8_K), and the
//! mapping to a [`ModelConfig`] and HF-named f32/bf16 tensors that
//! [`crate::CausalLm::new`] loads through `VarBuilder::from_tensors`.
//!
//! Weights are dequantized once at load time, so the model runs on candle's
//! dense kernels; a Q4_1 file becomes ~8x larger in f32.

mod arch;
mod dtype;
mod kquants;
mod quants;
mod reader;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

pub use dtype::GgmlType;
pub use reader::{GgufHeader, GgufValue, TensorInfo};

use crate::{check_tensors, CausalLm, Error, HfLoadOptions, ModelConfig, Result};

/// An open GGUF file: its path and parsed header.
#[derive(Debug, Clone)]
pub struct GgufFile {
    path: PathBuf,
    header: GgufHeader,
}

impl GgufFile {
    /// Opens `path` and parses its header (metadata and tensor infos).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let header = GgufHeader::read(BufReader::new(file)).map_err(|m| gguf_err(path, m))?;
        Ok(GgufFile { path: path.to_path_buf(), header })
    }

    /// The parsed header.
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model config equivalent to the metadata (HF `config.json` keys).
    pub fn config(&self) -> Result<ModelConfig> {
        let value = arch::hf_config(&self.header).map_err(|m| gguf_err(&self.path, m))?;
        ModelConfig::from_json_str(&value.to_string(), &self.path)
    }

    /// Dequantizes one tensor (by GGUF name) to row-major f32 values, with its
    /// row-major shape. Q/K rows of Llama files are returned in HF order.
    pub fn dequantize(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let info = self.header.tensor(name).ok_or_else(|| gguf_err(&self.path, format!("no tensor named {name}")))?;
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let bytes = self.header.read_tensor_bytes(&mut file, info).map_err(|m| gguf_err(&self.path, m))?;
        let mut data =
            info.dtype.dequantize(&bytes).map_err(|m| gguf_err(&self.path, format!("tensor {name}: {m}")))?;
        let shape = info.shape();
        let arch = arch::architecture(&self.header).map_err(|m| gguf_err(&self.path, m))?;
        let heads = self.head_counts()?;
        if let Some(n) = arch::permuted_heads(&arch, name, heads.0, heads.1) {
            let rows = shape.first().copied().unwrap_or(1);
            let cols = data.len() / rows.max(1);
            arch::unpermute_rows(&mut data, rows, cols, n)
                .map_err(|m| gguf_err(&self.path, format!("tensor {name}: {m}")))?;
        }
        Ok((data, shape))
    }

    fn head_counts(&self) -> Result<(usize, usize)> {
        let arch = arch::architecture(&self.header).map_err(|m| gguf_err(&self.path, m))?;
        let get = |k: &str| self.header.get(&format!("{arch}.{k}")).and_then(GgufValue::as_u64);
        let heads = get("attention.head_count")
            .ok_or_else(|| gguf_err(&self.path, format!("metadata {arch}.attention.head_count is missing")))?;
        let kv = get("attention.head_count_kv").unwrap_or(heads);
        Ok((heads as usize, kv as usize))
    }

    /// Every model tensor under its HF name, dequantized to `dtype` on
    /// `device`. Tensors with no HF counterpart are an error naming them.
    pub fn hf_tensors(&self, dtype: DType, device: &Device) -> Result<HashMap<String, Tensor>> {
        let mut out = HashMap::new();
        let mut unknown = Vec::new();
        for info in &self.header.tensors {
            let Some(hf) = arch::hf_name(&info.name) else {
                unknown.push(info.name.clone());
                continue;
            };
            let (data, shape) = self.dequantize(&info.name)?;
            let t = Tensor::from_vec(data, shape, &Device::Cpu)?.to_dtype(dtype)?.to_device(device)?;
            out.insert(hf, t);
        }
        if !unknown.is_empty() {
            return Err(Error::ExtraTensors {
                count: unknown.len(),
                names: unknown.into_iter().take(10).collect(),
                source_desc: self.path.display().to_string(),
            });
        }
        Ok(out)
    }
}

/// Loads a GGUF checkpoint: the config from its metadata and every tensor
/// dequantized to `opts.dtype`, checked by name and shape against the config.
pub fn load_gguf(path: &Path, opts: &HfLoadOptions) -> Result<(ModelConfig, CausalLm)> {
    let file = GgufFile::open(path)?;
    let cfg = file.config()?;
    let tensors = file.hf_tensors(opts.dtype, &opts.device)?;
    let shapes = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
    check_tensors(&cfg, &shapes, &path.display().to_string())?;
    let vb = candle_nn::VarBuilder::from_tensors(tensors, opts.dtype, &opts.device);
    let lm = crate::decoder::for_inference(CausalLm::new(&cfg, vb)?)?;
    Ok((cfg, lm))
}

fn gguf_err(path: &Path, message: String) -> Error {
    Error::Gguf { path: path.to_path_buf(), message }
}

#[cfg(test)]
mod tests;
