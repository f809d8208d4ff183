//! GGUF files (llama.cpp's single-file checkpoints): the tensors of the
//! container that `bcr_core::gguf` reads, the dequantization of every tensor type GGUF checkpoints commonly carry
//! (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, Q8_K), and the
//! mapping to a [`ModelConfig`] and HF-named f32/bf16 tensors that
//! [`crate::CausalLm::new`] loads through `VarBuilder::from_tensors`.
//!
//! With a float dtype, weights are dequantized once at load time and the
//! model runs on the dense kernels (a Q4_1 file becomes ~6x larger in f32).
//! With `native` ([`WeightDtype::Native`]), the quantised matrices keep the
//! file's blocks (`native.rs`).

mod arch;
mod dtype;
mod kquants;
mod native;
mod quants;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bcr_core::gguf::{GgufHeader, GgufValue, TensorInfo};
use candle_core::{DType, Device, Tensor};

pub use dtype::GgmlType;

use crate::{check_tensors, CausalLm, Error, HfLoadOptions, ModelConfig, Result, WeightDtype};

/// An open GGUF file: its path and parsed header.
#[derive(Debug, Clone)]
pub struct GgufFile {
    path: PathBuf,
    header: GgufHeader,
}

impl GgufFile {
    /// Opens `path` and parses its header (metadata and tensor infos).
    pub fn open(path: &Path) -> Result<Self> {
        let header = GgufHeader::open(path)?;
        for t in &header.tensors {
            tensor_type(t).map_err(|m| gguf_err(path, m))?;
        }
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
        let (bytes, ty, shape) = self.tensor_bytes(name)?;
        let data = ty.dequantize(&bytes).map_err(|m| gguf_err(&self.path, format!("tensor {name}: {m}")))?;
        Ok((data, shape))
    }

    /// One tensor's bytes as stored (whole rows of blocks; Q/K rows of
    /// Llama files moved back to HF order), its type and row-major shape.
    pub(crate) fn tensor_bytes(&self, name: &str) -> Result<(Vec<u8>, GgmlType, Vec<usize>)> {
        let info = self.header.tensor(name).ok_or_else(|| gguf_err(&self.path, format!("no tensor named {name}")))?;
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mut bytes = read_tensor_bytes(&self.header, &mut file, info).map_err(|m| gguf_err(&self.path, m))?;
        let ty = tensor_type(info).map_err(|m| gguf_err(&self.path, m))?;
        let shape = info.shape();
        let arch = arch::architecture(&self.header).map_err(|m| gguf_err(&self.path, m))?;
        let heads = self.head_counts()?;
        if let Some(n) = arch::permuted_heads(&arch, name, heads.0, heads.1) {
            let rows = shape.first().copied().unwrap_or(1);
            let row_bytes = bytes.len() / rows.max(1);
            arch::unpermute_rows(&mut bytes, rows, row_bytes, n)
                .map_err(|m| gguf_err(&self.path, format!("tensor {name}: {m}")))?;
        }
        Ok((bytes, ty, shape))
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
    let lm = inference_model(&file, &cfg, opts)?;
    Ok((cfg, lm))
}

/// The network of an open GGUF file whose config is `cfg`, for inference:
/// every tensor converted to a float dtype, or (`native`) the quantised
/// matrices kept as stored.
pub(crate) fn inference_model(file: &GgufFile, cfg: &ModelConfig, opts: &HfLoadOptions) -> Result<CausalLm> {
    // The quantised kernels are CPU kernels: on a GPU `native` loads f32.
    if opts.dtype == WeightDtype::Native && opts.device.is_cpu() {
        return native::model(file, cfg);
    }
    let dtype = opts.dtype.float();
    let tensors = file.hf_tensors(dtype, &opts.device)?;
    let shapes = tensors.iter().map(|(n, t)| (n.clone(), t.dims().to_vec())).collect();
    check_tensors(cfg, &shapes, &file.path().display().to_string())?;
    let vb = candle_nn::VarBuilder::from_tensors(tensors, dtype, &opts.device);
    crate::arch::decoder::for_inference(CausalLm::new(cfg, vb)?)
}

/// The storage type of a tensor, or why it cannot be read.
fn tensor_type(info: &TensorInfo) -> std::result::Result<GgmlType, String> {
    GgmlType::from_u32(info.ggml_type)
        .ok_or_else(|| format!("tensor {} has unknown ggml type {}", info.name, info.ggml_type))
}

/// Reads the raw bytes of one tensor from `reader` (the same file).
fn read_tensor_bytes<R: Read + Seek>(
    header: &GgufHeader,
    reader: &mut R,
    info: &TensorInfo,
) -> std::result::Result<Vec<u8>, String> {
    let n = tensor_type(info)?
        .byte_size(info.elem_count())
        .map_err(|m| format!("tensor {} with dims {:?}: {m}", info.name, info.dims))?;
    let at = header.data_start + info.offset;
    let mut buf = vec![0u8; n];
    reader
        .seek(SeekFrom::Start(at))
        .and_then(|_| reader.read_exact(&mut buf))
        .map_err(|e| format!("tensor {}: cannot read {n} bytes at offset {at}: {e}", info.name))?;
    Ok(buf)
}

fn gguf_err(path: &Path, message: String) -> Error {
    Error::Gguf { path: path.to_path_buf(), message }
}

#[cfg(test)]
mod tests;
