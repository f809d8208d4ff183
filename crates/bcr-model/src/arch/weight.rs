//! A matrix of the decoder (projection, embedding, output head): a dense
//! candle tensor (trainable; safetensors, or GGUF dequantised at load), or
//! a GGUF file's quantised blocks kept as stored (`--dtype native`,
//! inference only: no gradient reaches them).
//!
//! Q4_0, Q4_1 and Q8_0 run bcr's kernel (`kernels::quant`); the other
//! GGUF block types (k-quants, Q5) run candle's quantised matmul
//! (`candle_core::quantized::QMatMul`), which keeps them as stored too.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, DType, Module, Storage, Tensor};

use crate::error::{Error, Result};
use crate::kernels::quant::{self, QMatrix};
use crate::kernels::skinny::MAX_ROWS;

/// A decoder matrix `(out, in)`.
#[derive(Clone)]
pub(crate) enum Weight {
    /// A dense tensor (any dtype; see `ops::linear`).
    Dense(Tensor),
    /// Q4_0 / Q4_1 / Q8_0 blocks for bcr's kernel.
    Blocks(Arc<QMatrix>),
    /// Other block types, through candle's quantised matmul.
    Candle(QMatMul),
}

impl Weight {
    /// Other block types than the kernel's, kept as stored for candle.
    pub(crate) fn candle(q: QTensor) -> Result<Self> {
        Ok(Weight::Candle(QMatMul::from_arc(Arc::new(q))?))
    }

    /// The dense tensor, if this is one.
    pub(crate) fn dense(&self) -> Option<&Tensor> {
        match self {
            Weight::Dense(t) => Some(t),
            _ => None,
        }
    }

    /// The dtype of a dense weight; quantised weights compute in f32.
    pub(crate) fn dtype(&self) -> DType {
        self.dense().map_or(DType::F32, Tensor::dtype)
    }

    /// The bytes of quantised blocks (what a decode step reads); none for
    /// a dense weight.
    pub(crate) fn block_bytes(&self) -> Vec<&[u8]> {
        match self {
            Weight::Dense(_) => Vec::new(),
            Weight::Blocks(q) => q.bytes().into_iter().filter(|b| !b.is_empty()).collect(),
            Weight::Candle(QMatMul::QTensor(q)) => match q.data() {
                Ok(std::borrow::Cow::Borrowed(b)) => vec![b],
                _ => Vec::new(),
            },
            Weight::Candle(_) => Vec::new(),
        }
    }

    /// `x @ w^T (+ bias)` for `x` of shape `(.., in)`.
    pub(crate) fn linear(&self, x: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let y = match self {
            Weight::Dense(w) => return crate::ops::linear(x, w, bias),
            Weight::Blocks(q) => blocks_linear(x, q)?,
            Weight::Candle(q) => q.forward(&x.to_dtype(DType::F32)?.contiguous()?)?,
        };
        Ok(match bias {
            Some(b) => y.broadcast_add(&b.to_dtype(DType::F32)?)?,
            None => y,
        })
    }

    /// Several projections of one input in one parallel region, for a
    /// decode step (see `ops::linear_many`): all dense, or all Q4_0 / Q4_1
    /// / Q8_0 blocks with at most 64 rows of `x`. `None` otherwise; then
    /// call [`Weight::linear`] for each.
    pub(crate) fn linear_many(x: &Tensor, ws: &[(&Weight, Option<&Tensor>)]) -> Result<Option<Vec<Tensor>>> {
        if let Some(dense) = ws.iter().map(|(w, b)| w.dense().map(|t| (t, *b))).collect::<Option<Vec<_>>>() {
            return crate::ops::linear_many(x, &dense);
        }
        let Some(qs) = ws
            .iter()
            .map(|(w, _)| match w {
                Weight::Blocks(q) => Some(q.as_ref()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let (rows, k) = rows_of(x)?;
        if rows > MAX_ROWS || !x.device().is_cpu() {
            return Ok(None);
        }
        let ys = with_f32_rows(x, |xs| quant::matmul_many(xs, &qs, rows, k))?;
        let mut out = Vec::with_capacity(ws.len());
        for (y, (w, b)) in ys.into_iter().zip(ws) {
            out.push(Weight::linear_output(x, y, w.rows(), *b)?);
        }
        Ok(Some(out))
    }

    /// Rows `ids` (any shape, u32) as f32 (dense: the weight's dtype),
    /// shape `(ids.., in)`.
    pub(crate) fn embedding(&self, ids: &Tensor) -> Result<Tensor> {
        let flat = ids.flatten_all()?;
        let rows = match self {
            Weight::Dense(t) => t.embedding(&flat)?,
            Weight::Candle(q) => q.embedding(&flat)?,
            Weight::Blocks(q) => {
                let (n, d) = q.dims();
                let ids = flat.to_vec1::<u32>()?;
                let mut out = vec![0f32; ids.len() * d];
                for (&id, row) in ids.iter().zip(out.chunks_exact_mut(d)) {
                    if id as usize >= n {
                        return Err(Error::Input(format!("token id {id} is outside the vocabulary of {n}")));
                    }
                    q.dequantize_row(id as usize, row);
                }
                Tensor::from_vec(out, (ids.len(), d), flat.device())?
            }
        };
        let mut dims = ids.dims().to_vec();
        dims.push(rows.dim(1)?);
        Ok(rows.reshape(dims)?)
    }

    /// Output rows (`out`) of the matrix.
    fn rows(&self) -> usize {
        match self {
            Weight::Dense(t) => t.dim(0).unwrap_or(0),
            Weight::Blocks(q) => q.dims().0,
            Weight::Candle(QMatMul::QTensor(q)) => q.shape().dims().first().copied().unwrap_or(0),
            Weight::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => t.dim(0).unwrap_or(0),
        }
    }

    /// `y` (`rows * n` values) shaped like `x` with last dimension `n`, plus the bias.
    fn linear_output(x: &Tensor, y: Vec<f32>, n: usize, bias: Option<&Tensor>) -> Result<Tensor> {
        let mut dims = x.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = n;
        }
        let y = Tensor::from_vec(y, dims, x.device())?;
        Ok(match bias {
            Some(b) => y.broadcast_add(&b.detach().to_dtype(DType::F32)?)?,
            None => y,
        })
    }
}

/// `(rows, in)` of `x` `(.., in)`.
fn rows_of(x: &Tensor) -> Result<(usize, usize)> {
    match x.dims().split_last() {
        Some((&k, lead)) => Ok((lead.iter().product(), k)),
        None => Err(Error::Input("linear: scalar input".to_string())),
    }
}

/// Runs `f` on the values of `x` as contiguous f32 (converted first if
/// needed).
fn with_f32_rows<T>(x: &Tensor, f: impl FnOnce(&[f32]) -> candle_core::Result<T>) -> Result<T> {
    let x = x.to_dtype(DType::F32)?.contiguous()?;
    let (st, layout) = x.storage_and_layout();
    match (&*st, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => Ok(f(&v[a..b])?),
        _ => Err(Error::Input("quantised weights need f32 activations on the CPU".to_string())),
    }
}

/// `x @ q^T` for any number of rows of `x` (see [`quant::matmul`]).
fn blocks_linear(x: &Tensor, q: &QMatrix) -> Result<Tensor> {
    let (rows, k) = rows_of(x)?;
    let y = with_f32_rows(x, |xs| quant::matmul(xs, q, rows, k))?;
    Weight::linear_output(x, y, q.dims().0, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::GgmlDType;
    use candle_core::Device;

    /// Standard normal values from a seeded generator (Box-Muller), so the
    /// test sees the same inputs on every run.
    fn gaussian(rng: &mut rand_chacha::ChaCha8Rng, shape: (usize, usize)) -> Tensor {
        use rand::Rng;
        let v: Vec<f32> = (0..shape.0 * shape.1)
            .map(|_| {
                let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
                (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
            })
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    /// Every matrix kind against the dense product of its own dequantised
    /// values: the kernel's Q8_0 and candle's Q4_K / Q6_K (a 256-value
    /// super-block type, k = 512), one row and five (decode), seventy
    /// (a prompt: 64-row parts). Activations are quantised to 8 bits per
    /// block on both quantised paths (32 values for the kernel, 256 for
    /// candle's Q8_K): within 1% of the output's scale for the kernel, 2%
    /// for candle's coarser blocks. The inputs are seeded: with candle's
    /// unseeded `randn`, the K-quant rows crossed 1% in about 1 run in 5.
    #[test]
    fn quantised_matrices_match_their_dequantised_product() {
        use rand::SeedableRng;
        let dev = Device::Cpu;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let w = gaussian(&mut rng, (40, 512));
        let mut kinds = Vec::new();
        for dtype in [GgmlDType::Q4K, GgmlDType::Q6K] {
            let q = QTensor::quantize(&w, dtype).unwrap();
            let dense = q.dequantize(&dev).unwrap();
            kinds.push((format!("{dtype:?}"), Weight::candle(q).unwrap(), dense));
        }
        let q8 = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let raw = q8.data().unwrap().into_owned();
        let blocks = QMatrix::from_blocks(quant::BlockKind::Q8_0, 40, 512, &raw).unwrap();
        kinds.push(("kernel Q8_0".into(), Weight::Blocks(Arc::new(blocks)), q8.dequantize(&dev).unwrap()));
        for rows in [1, 5, 70] {
            let x = gaussian(&mut rng, (rows, 512));
            for (name, weight, dense) in &kinds {
                let tol = if name.starts_with("kernel") { 0.01 } else { 0.02 };
                let want = x.matmul(&dense.t().unwrap()).unwrap();
                let got = weight.linear(&x, None).unwrap();
                let scale = want.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                let diff = (got - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff <= tol * scale, "{name}, {rows} rows: max difference {diff} at scale {scale}");
                let many = Weight::linear_many(&x, &[(weight, None), (weight, None)]).unwrap();
                if let Some(ys) = many {
                    assert_eq!(ys.len(), 2);
                    let d = (&ys[1] - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                    assert!(d <= tol * scale, "{name}, {rows} rows, linear_many: {d}");
                }
            }
        }
        let ids = Tensor::new(&[3u32, 0, 39], &dev).unwrap();
        for (name, weight, dense) in &kinds {
            let got = weight.embedding(&ids).unwrap();
            let want = dense.embedding(&ids).unwrap();
            let d = (got - want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert_eq!(d, 0.0, "{name}: embedding rows are the dequantised rows");
        }
    }
}
