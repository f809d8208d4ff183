//! `--dtype native`: a GGUF model whose matrices keep the file's quantised
//! blocks. Q4_0, Q4_1 and Q8_0 matrices are regrouped for bcr's kernel
//! (`kernels::quant`, the same bytes); the other block types (k-quants, Q5)
//! go to candle's `QTensor` as stored; float tensors (norms, biases, f16 or
//! f32 matrices) are converted to f32 as with `--dtype f32`.
//! `BCR_QUANT_KERNEL=0` sends every block type to candle, and so does a CPU
//! with neither AVX512-VNNI nor AVX2 + FMA + F16C (`quant::kernel`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{DType, Device, Tensor};

use super::{arch, gguf_err, GgmlType, GgufFile};
use crate::arch::decoder::QuantWeights;
use crate::arch::weight::Weight;
use crate::kernels::quant::{self, BlockKind, QMatrix};
use crate::{check_tensors, CausalLm, Error, ModelConfig, Result};

/// The inference model of `file` with its quantised matrices kept.
pub(super) fn model(file: &GgufFile, cfg: &ModelConfig) -> Result<CausalLm> {
    let device = &Device::Cpu;
    let mut dense = HashMap::new();
    let mut quant = QuantWeights::new();
    let mut shapes = HashMap::new();
    let mut unknown = Vec::new();
    for info in &file.header().tensors {
        let Some(hf) = arch::hf_name(&info.name) else {
            unknown.push(info.name.clone());
            continue;
        };
        let (bytes, ty, shape) = file.tensor_bytes(&info.name)?;
        shapes.insert(hf.clone(), shape.clone());
        let blocks = !matches!(ty, GgmlType::F32 | GgmlType::F16 | GgmlType::Bf16);
        if let (true, &[rows, cols]) = (blocks, shape.as_slice()) {
            let w = matrix(ty, rows, cols, bytes)
                .map_err(|m| gguf_err(file.path(), format!("tensor {}: {m}", info.name)))?;
            quant.insert(hf, w);
        } else {
            let data =
                ty.dequantize(&bytes).map_err(|m| gguf_err(file.path(), format!("tensor {}: {m}", info.name)))?;
            dense.insert(hf, Tensor::from_vec(data, shape, device)?);
        }
    }
    if !unknown.is_empty() {
        return Err(Error::ExtraTensors {
            count: unknown.len(),
            names: unknown.into_iter().take(10).collect(),
            source_desc: file.path().display().to_string(),
        });
    }
    check_tensors(cfg, &shapes, &file.path().display().to_string())?;
    let vb = candle_nn::VarBuilder::from_tensors(dense, DType::F32, device);
    CausalLm::with_quantised(cfg, vb, &quant)
}

/// A `(rows, cols)` matrix of block type `ty` as the decoder keeps it.
fn matrix(ty: GgmlType, rows: usize, cols: usize, bytes: Vec<u8>) -> std::result::Result<Weight, String> {
    let kind = match ty {
        _ if !quant::enabled() => None,
        GgmlType::Q4_0 => Some(BlockKind::Q4_0),
        GgmlType::Q4_1 => Some(BlockKind::Q4_1),
        GgmlType::Q8_0 => Some(BlockKind::Q8_0),
        _ => None,
    };
    if let Some(kind) = kind {
        return Ok(Weight::Blocks(Arc::new(QMatrix::from_blocks(kind, rows, cols, &bytes)?)));
    }
    let dtype = match ty {
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q2K => GgmlDType::Q2K,
        GgmlType::Q3K => GgmlDType::Q3K,
        GgmlType::Q4K => GgmlDType::Q4K,
        GgmlType::Q5K => GgmlDType::Q5K,
        GgmlType::Q6K => GgmlDType::Q6K,
        GgmlType::Q8K => GgmlDType::Q8K,
        other => return Err(format!("{other:?} is not a block type")),
    };
    let storage = QStorage::from_data(Cow::Owned(bytes), &Device::Cpu, dtype).map_err(|e| e.to_string())?;
    let q = QTensor::new(storage, (rows, cols)).map_err(|e| e.to_string())?;
    Weight::candle(q).map_err(|e| e.to_string())
}
