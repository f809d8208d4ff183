//! Differentiable building blocks shared by every architecture: RMSNorm,
//! rotary embeddings with per-row positions, softmax and log-softmax with a
//! detached max, the SiLU-gated MLP, linear layers and attention masks.
//!
//! Every function here is a composition of candle ops that have a backward
//! pass, checked against finite differences in `tests/grad_check.rs`.
//! candle's fused `softmax_last_dim`, `rms_norm` and `rope` kernels return no
//! gradient (see `shared/notes/candle-cpu.md`), so they are not used.
//!
//! Shapes: `b` batch rows, `t` new tokens, `l` keys (cached + new), `h`
//! query heads, `d` head dimension, `V` vocabulary.

use candle_core::{DType, Device, Tensor, D};

use crate::error::{Error, Result};

mod adamw;
pub use adamw::{adamw_step, adamw_step_in_place, sum_squares, AdamWStep};

/// The dtype reductions run in: f32 for half types, else the input's own.
fn compute_dtype(dtype: DType) -> DType {
    match dtype {
        DType::F16 | DType::BF16 => DType::F32,
        other => other,
    }
}

/// Whether the fused CPU kernels of `fused` apply to `x`.
fn fusable(x: &Tensor) -> bool {
    crate::kernels::fused::enabled()
        && x.device().is_cpu()
        && matches!(x.dtype(), DType::F32 | DType::F64)
        && x.is_contiguous()
}

/// RMSNorm (Zhang & Sennrich, arXiv 1910.07467) over the last dimension:
/// `x / sqrt(mean(x^2) + eps) * weight`, any leading shape. Contiguous
/// f32/f64 CPU inputs take the fused kernel (with its own backward), the
/// rest [`rms_norm_composed`].
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    if fusable(x) && weight.is_contiguous() && weight.dtype() == x.dtype() {
        return Ok(x.apply_op2(weight, crate::kernels::fused::norm::RmsNorm { eps })?);
    }
    rms_norm_composed(x, weight, eps)
}

/// RMSNorm as a composition of candle ops, reduced in f32 for half inputs
/// (as transformers does).
pub fn rms_norm_composed(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    let dtype = x.dtype();
    let xc = x.to_dtype(compute_dtype(dtype))?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let inv = (var + eps)?.sqrt()?.recip()?;
    let normed = xc.broadcast_mul(&inv)?.to_dtype(dtype)?;
    Ok(normed.broadcast_mul(weight)?)
}

/// `x @ w^T (+ bias)` for `x` of shape `(.., in)` and `w` of `(out, in)`:
/// one 2-D matmul over all leading rows.
///
/// A weight of another dtype than `x` (bf16 weights of a CPU model that
/// computes in f32) takes the bf16 decode kernel, 64 rows at a time, when
/// no gradient can be asked for; otherwise it is converted to `x`'s dtype
/// first (differentiable: the gradient reaches `w` through the conversion).
pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    if w.dtype() != x.dtype() {
        if !x.track_op() && !w.track_op() {
            if let Some(y) = linear_chunked(x, w, bias)? {
                return Ok(y);
            }
        }
        let bias = bias.map(|b| b.to_dtype(x.dtype())).transpose()?;
        return linear(x, &w.to_dtype(x.dtype())?, bias.as_ref());
    }
    let dims = x.dims().to_vec();
    let (rows, k) = match dims.split_last() {
        Some((&k, lead)) => (lead.iter().product::<usize>(), k),
        None => return Err(Error::Input("linear: scalar input".to_string())),
    };
    // Contiguous f32/f64 CPU inputs: one graph node with its own backward
    // (the AVX-512 decode kernel for a few rows, else the packed GEMM).
    if fusable(x) && w.is_contiguous() && w.dtype() == x.dtype() && w.rank() == 2 {
        let y = x.apply_op2(w, crate::kernels::fused::linear::Linear)?;
        return Ok(match bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        });
    }
    let y = x.reshape((rows, k))?.matmul(&w.t()?)?;
    let y = match bias {
        Some(b) => y.broadcast_add(b)?,
        None => y,
    };
    let mut out_dims = dims;
    if let Some(last) = out_dims.last_mut() {
        *last = w.dim(0)?;
    }
    Ok(y.reshape(out_dims)?)
}

/// The SiLU-gated MLP of Llama/Qwen (Shazeer, arXiv 2002.05202):
/// `down(silu(gate(x)) * up(x))`.
pub fn silu_mlp(x: &Tensor, gate: &Tensor, up: &Tensor, down: &Tensor) -> Result<Tensor> {
    let g = linear(x, gate, None)?;
    let u = linear(x, up, None)?;
    linear(&silu_mul(&g, &u)?, down, None)
}

/// `silu(g) * u` (the SwiGLU product): one fused node for contiguous
/// f32/f64 CPU inputs.
pub fn silu_mul(g: &Tensor, u: &Tensor) -> Result<Tensor> {
    if fusable(g) && fusable(u) && g.dtype() == u.dtype() {
        return Ok(g.apply_op2(u, crate::kernels::fused::silu::SiluMul)?);
    }
    Ok((g.silu()? * u)?)
}

/// `x @ w^T (+ bias)` through [`linear_many`] in blocks of at most
/// `skinny::MAX_ROWS` rows (a prompt of a bf16 CPU model: the bf16 kernel
/// at 64 rows does more products per second than converting the weight and
/// running the f32 GEMM, and prompt and decode steps then round alike).
/// `None` where the kernel does not apply.
fn linear_chunked(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> Result<Option<Tensor>> {
    let dims = x.dims().to_vec();
    let Some((&k, lead)) = dims.split_last() else { return Ok(None) };
    let rows: usize = lead.iter().product();
    if rows <= crate::kernels::skinny::MAX_ROWS {
        return Ok(linear_many(x, &[(w, bias)])?.map(|mut y| y.remove(0)));
    }
    let x2 = x.reshape((rows, k))?;
    let mut parts = Vec::with_capacity(rows.div_ceil(crate::kernels::skinny::MAX_ROWS));
    for r0 in (0..rows).step_by(crate::kernels::skinny::MAX_ROWS) {
        let len = crate::kernels::skinny::MAX_ROWS.min(rows - r0);
        match linear_many(&x2.narrow(0, r0, len)?, &[(w, bias)])? {
            Some(mut y) => parts.push(y.remove(0)),
            None => return Ok(None),
        }
    }
    let mut out_dims = dims;
    if let Some(last) = out_dims.last_mut() {
        *last = w.dim(0)?;
    }
    Ok(Some(Tensor::cat(&parts, 0)?.reshape(out_dims)?))
}

/// Several projections of one input, `[x @ w_i^T (+ b_i)]`, for a decode
/// step: one parallel region of the AVX-512 decode kernel for all of them
/// (q/k/v, or gate/up), and no autograd graph, so for generation only.
/// `x` is f32; the weights all f32, or all bf16 (a bf16 model on the CPU,
/// on a CPU with AVX512_BF16). `None` when the kernel does not apply
/// (more than 64 rows, other dtypes, no AVX-512, or turned off); then call
/// [`linear`] for each.
pub(crate) fn linear_many(x: &Tensor, ws: &[(&Tensor, Option<&Tensor>)]) -> Result<Option<Vec<Tensor>>> {
    use candle_core::{CpuStorage, Storage};
    let dims = x.dims().to_vec();
    let Some((&k, lead)) = dims.split_last() else { return Ok(None) };
    let rows: usize = lead.iter().product();
    let Some(wdt) = ws.first().map(|(w, _)| w.dtype()) else { return Ok(None) };
    let ok = fusable(x)
        && x.dtype() == DType::F32
        && (1..=crate::kernels::skinny::MAX_ROWS).contains(&rows)
        && match wdt {
            DType::F32 => crate::kernels::skinny::enabled(),
            DType::BF16 => crate::kernels::skinny::bf16_enabled(),
            _ => false,
        }
        && ws.iter().all(|(w, _)| {
            w.device().is_cpu() && w.dtype() == wdt && w.is_contiguous() && w.rank() == 2 && w.dim(1).ok() == Some(k)
        });
    if !ok {
        return Ok(None);
    }
    let ys = {
        let (xs, xl) = x.storage_and_layout();
        let guards: Vec<_> = ws.iter().map(|(w, _)| w.storage_and_layout()).collect();
        let (Storage::Cpu(CpuStorage::F32(xv)), Some((x0, x1))) = (&*xs, xl.contiguous_offsets()) else {
            return Ok(None);
        };
        let xv = &xv[x0..x1];
        let mut f32s = Vec::new();
        let mut bf16s = Vec::new();
        for (g, l) in &guards {
            match (&**g, l.contiguous_offsets()) {
                (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => f32s.push(&v[a..b]),
                (Storage::Cpu(CpuStorage::BF16(v)), Some((a, b))) => bf16s.push(&v[a..b]),
                _ => return Ok(None),
            }
        }
        if wdt == DType::BF16 {
            crate::kernels::skinny::matmul_xwt_many_bf16(xv, &bf16s, rows, k)?
        } else {
            crate::kernels::skinny::matmul_xwt_many(xv, &f32s, rows, k)?
        }
    };
    let mut out = Vec::with_capacity(ws.len());
    for (y, (w, b)) in ys.into_iter().zip(ws) {
        let mut d = dims.clone();
        if let Some(last) = d.last_mut() {
            *last = w.dim(0)?;
        }
        let y = Tensor::from_vec(y, d, x.device())?;
        out.push(match b {
            Some(b) => y.broadcast_add(&b.detach().to_dtype(DType::F32)?)?,
            None => y,
        });
    }
    Ok(Some(out))
}

/// Softmax over the last dimension: the fused kernel for contiguous
/// f32/f64 CPU inputs, else [`softmax_composed`].
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    if fusable(x) {
        return Ok(x.apply_op1(crate::kernels::fused::softmax::Softmax { scale: 1.0 })?);
    }
    softmax_composed(x)
}

/// Softmax over the last dimension, `exp(x - max) / sum`, with the max
/// detached (softmax is shift-invariant, so no gradient flows through it).
pub fn softmax_composed(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let s = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&s)?)
}

/// `log(sum(exp(x)))` over the last dimension (keepdim), stable.
pub fn logsumexp_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let s = x.broadcast_sub(&max)?.exp()?.sum_keepdim(D::Minus1)?;
    Ok((s.log()? + max)?)
}

/// Log-probability of `targets` (shape `(n,)`, u32) under `logits` `(n, V)`:
/// `logits[i, targets[i]] - logsumexp(logits[i])`, shape `(n,)`.
pub fn log_softmax_gather(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if fusable(logits) && logits.rank() == 2 && targets.dtype() == DType::U32 && targets.is_contiguous() {
        return Ok(logits.apply_op2(targets, crate::kernels::fused::logsoftmax::LogSoftmaxGather)?);
    }
    let picked = logits.gather(&targets.unsqueeze(1)?, 1)?;
    Ok((picked - logsumexp_last(logits)?)?.squeeze(1)?)
}

/// Entropy of `softmax(logits)` over the last dimension, `(.., V) -> (..)`:
/// `H = logsumexp(z) - sum(softmax(z) z)`, differentiable. Contiguous
/// f32/f64 CPU logits take the fused node (no `(.., V)` intermediates).
pub fn entropy(logits: &Tensor) -> Result<Tensor> {
    if fusable(logits) && logits.rank() >= 1 {
        return Ok(logits.apply_op1(crate::kernels::fused::logsoftmax::Entropy)?);
    }
    let log_p = logits.broadcast_sub(&logsumexp_last(logits)?)?;
    Ok((log_p.exp()? * &log_p)?.sum(D::Minus1)?.neg()?)
}

/// Cosine and sine tables for rotary embeddings, one per (row, column).
#[derive(Debug, Clone)]
pub struct Rotary {
    /// `(b, 1, t, d/2)`.
    pub cos: Tensor,
    /// `(b, 1, t, d/2)`.
    pub sin: Tensor,
}

impl Rotary {
    /// Tables for `positions` (row-major `b * t` values), inverse
    /// frequencies `inv_freq` (`d/2` values) and the YaRN factor `scale`
    /// multiplying cos and sin. Angles are computed in f64.
    pub fn new(
        positions: &[usize],
        b: usize,
        inv_freq: &[f64],
        scale: f64,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let half = inv_freq.len();
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &p in positions {
            for &f in inv_freq {
                let a = p as f64 * f;
                cos.push(a.cos() * scale);
                sin.push(a.sin() * scale);
            }
        }
        let t = positions.len() / b.max(1);
        let shape = (b, 1, t, half);
        Ok(Rotary {
            cos: Tensor::from_vec(cos, shape, device)?.to_dtype(dtype)?,
            sin: Tensor::from_vec(sin, shape, device)?.to_dtype(dtype)?,
        })
    }
}

/// Rotary embedding (Su et al., arXiv 2104.09864) in the "rotate half"
/// layout of transformers: `x` is `(b, h, t, d)`; the first and second
/// halves of the last dimension form the pairs.
pub fn rope(x: &Tensor, rot: &Rotary) -> Result<Tensor> {
    let d = x.dim(D::Minus1)?;
    let half = d / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let (cos, sin) = (&rot.cos, &rot.sin);
    let r1 = (x1.broadcast_mul(cos)? - x2.broadcast_mul(sin)?)?;
    let r2 = (x2.broadcast_mul(cos)? + x1.broadcast_mul(sin)?)?;
    Ok(Tensor::cat(&[r1, r2], D::Minus1)?)
}

/// Rotary embedding of projected heads, with the transpose that attention
/// needs: `x` `(b, t, h, d)` -> `(b, h, t, d)` contiguous. Contiguous
/// f32/f64 CPU inputs take the fused kernel (one pass, its own backward),
/// the rest `rope(x^T)`.
pub fn rope_heads(x: &Tensor, rot: &Rotary) -> Result<Tensor> {
    if fusable(x) && [&rot.cos, &rot.sin].iter().all(|t| t.dtype() == x.dtype() && t.is_contiguous()) {
        return Ok(x.apply_op3(&rot.cos, &rot.sin, crate::kernels::fused::rope::RopeHeads)?);
    }
    rope(&x.transpose(1, 2)?.contiguous()?, rot)
}

/// Attention weights `softmax(scale * scores + mask)` over the keys:
/// `scores` `(b, h, t, l)`, mask `(b, 1, t, l)` or none. Reduced in f32
/// for half types. Contiguous f32/f64 CPU scores take the fused kernel
/// (scale, mask and softmax in one pass, and one pass back).
pub fn attention_weights(scores: &Tensor, mask: Option<&Tensor>, scale: f64) -> Result<Tensor> {
    if fusable(scores) && mask.is_none_or(|m| m.dtype() == scores.dtype() && m.is_contiguous()) {
        let op = crate::kernels::fused::softmax::Softmax { scale };
        return Ok(match mask {
            Some(m) => scores.apply_op2(m, op)?,
            None => scores.apply_op1(op)?,
        });
    }
    let dtype = scores.dtype();
    let z = (scores.to_dtype(compute_dtype(dtype))? * scale)?;
    let z = match mask {
        Some(m) => z.broadcast_add(&m.to_dtype(z.dtype())?)?,
        None => z,
    };
    Ok(softmax_composed(&z)?.to_dtype(dtype)?)
}

/// Additive attention mask `(b, 1, t, l)` in `dtype`: 0 where query `j` of
/// row `i` may attend to key slot `s`, `-inf` elsewhere. Query `j` sits at
/// slot `past + j`; it sees slot `s` when `s <= past + j` and the key is
/// valid (`valid[i][s]`), and always sees itself so that rows of padding
/// stay finite (their outputs are ignored, but a NaN would poison gradients).
pub fn attention_mask(valid: &[Vec<bool>], past: usize, t: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let b = valid.len();
    let l = past + t;
    let mut m = vec![0f32; b * t * l];
    for (i, row) in valid.iter().enumerate() {
        if row.len() != l {
            return Err(Error::Input(format!("mask row {i} has {} slots, expected {l}", row.len())));
        }
        for j in 0..t {
            let q = past + j;
            let out = &mut m[(i * t + j) * l..(i * t + j + 1) * l];
            for (s, o) in out.iter_mut().enumerate() {
                let ok = s == q || (s < q && row[s]);
                if !ok {
                    *o = f32::NEG_INFINITY;
                }
            }
        }
    }
    Ok(Tensor::from_vec(m, (b, 1, t, l), device)?.to_dtype(dtype)?)
}

/// Scaled dot-product attention with grouped keys/values (GQA, Ainslie et
/// al. arXiv 2305.13245) without copying them per head: `q` `(b, h, t, d)`,
/// `k`, `v` `(b, kv, l, d)` with `h = kv * g`, mask `(b, 1, t, l)` or none;
/// returns `(b, h, t, d)`. The `g` query heads sharing a key head are folded
/// into the row dimension of one matmul, which is what `repeat_kv` does in
/// transformers, minus the copy.
pub fn grouped_attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f64) -> Result<Tensor> {
    let (b, h, t, d) = q.dims4()?;
    let (_, kv, l, _) = k.dims4()?;
    if fusable(q)
        && [k, v].iter().all(|x| x.device().is_cpu() && x.dtype() == q.dtype())
        && mask.is_none_or(|m| m.dtype() == q.dtype() && m.is_contiguous())
    {
        return Ok(crate::kernels::fused::attention::attention(q, k, v, mask, scale)?);
    }
    let g = h / kv;
    let qg = q.contiguous()?.reshape((b, kv, g * t, d))?;
    let scores = qg.matmul(&k.t()?)?.reshape((b, h, t, l))?;
    let probs = attention_weights(&scores, mask, scale)?;
    let out = probs.reshape((b, kv, g * t, l))?.matmul(&v.contiguous()?)?;
    Ok(out.reshape((b, h, t, d))?)
}
