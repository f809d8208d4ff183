//! Softmax over the last dimension, scaled and optionally masked:
//! `y = softmax(scale * x + mask)`. With `scale = 1` and no mask it is the
//! plain softmax; in attention, `x` is the raw scores `q k^T` `(b, h, t, l)`
//! and the mask `(b, 1, t, l)` (0 or `-inf`) is broadcast over the heads,
//! which saves the scaling of `q`, the broadcast add and its backward.
//!
//! Backward (rows of length `n`): `dx = scale * y * (g - sum(g * y))`; the
//! mask gets no gradient (it is a constant). Masked entries have `y = 0`,
//! hence `dx = 0`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{dispatch, for_chunks, last_dim, operand, slice, CResult, Float};

/// `softmax(scale * x [+ mask])` over the last dimension: `apply_op1`
/// without a mask, `apply_op2(mask)` with one.
pub(crate) struct Softmax {
    pub(crate) scale: f64,
}

/// Forward over all rows. With a mask `(b, 1, t, l)` the scores are any
/// `(b, .., l)` whose rows group as `(b, H, t)` (`(b, h, t, l)`, or
/// `(b, kv, g t, l)` in grouped attention): score row `r` reads mask row
/// `(r / (H t)) t + r % t`.
fn softmax_fwd<T: Float>(x: &[T], l: &Layout, mask: Option<(&[T], usize)>, scale: f64) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, l)?;
    let n = last_dim(l)?;
    let mut y = vec![T::from(0.0); x.len()];
    match mask {
        None => for_chunks(&mut y, n, |r, y| T::softmax_row(&x[r * n..(r + 1) * n], None, scale, y)),
        Some((m, t)) => {
            // max(1): an empty batch (no rows) must not divide by zero.
            let per_batch = x.len() / n / (m.len() / n / t).max(1);
            for_chunks(&mut y, n, |r, y| {
                let mr = (r / per_batch) * t + r % t;
                T::softmax_row(&x[r * n..(r + 1) * n], Some(&m[mr * n..(mr + 1) * n]), scale, y)
            });
        }
    }
    Ok((T::to_cpu_storage_owned(y), l.shape().clone()))
}

fn softmax_masked<T: Float>(
    x: &[T],
    l: &Layout,
    m: &CpuStorage,
    lm: &Layout,
    scale: f64,
) -> CResult<(CpuStorage, Shape)> {
    let dims = l.shape().dims();
    let (ok, t) = match (dims, lm.shape().dims()) {
        (&[b, .., n], &[mb, 1, t, mn]) => {
            let rows: usize = dims[..dims.len() - 1].iter().product();
            (b == mb && n == mn && t > 0 && rows.is_multiple_of(b * t), t)
        }
        _ => (false, 0),
    };
    if !ok {
        candle_core::bail!("attention softmax: scores {:?} do not fit a mask {:?}", l.shape(), lm.shape());
    }
    softmax_fwd(x, l, Some((operand(m, lm)?, t)), scale)
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "bcr-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        let scale = self.scale;
        match s {
            CpuStorage::F32(x) => softmax_fwd::<f32>(x, l, None, scale),
            CpuStorage::F64(x) => softmax_fwd::<f64>(x, l, None, scale),
            _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
        }
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, g: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(y.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxBwd { scale: self.scale })?))
    }
}

impl CustomOp2 for Softmax {
    fn name(&self) -> &'static str {
        "bcr-attention-softmax"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, softmax_masked, l1, s2, l2, self.scale)
    }

    fn bwd(&self, _x: &Tensor, _m: &Tensor, y: &Tensor, g: &Tensor) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let dx = y.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxBwd { scale: self.scale })?;
        Ok((Some(dx), None))
    }
}

pub(crate) struct SoftmaxBwd {
    pub(crate) scale: f64,
}

fn softmax_bwd<T: Float>(
    y: &[T],
    ly: &Layout,
    g: &CpuStorage,
    lg: &Layout,
    scale: f64,
) -> CResult<(CpuStorage, Shape)> {
    let y = slice(y, ly)?;
    let g: &[T] = operand(g, lg)?;
    let n = last_dim(ly)?;
    let mut dx = vec![T::from(0.0); y.len()];
    dx.par_chunks_mut(n)
        .zip(y.par_chunks(n).zip(g.par_chunks(n)))
        .for_each(|(dx, (y, g))| T::softmax_bwd_row(y, g, scale, dx));
    Ok((T::to_cpu_storage_owned(dx), ly.shape().clone()))
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "bcr-softmax-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, softmax_bwd, l1, s2, l2, self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// An empty batch gives an empty result, not a division by zero.
    #[test]
    fn empty_batch_is_empty() -> CResult<()> {
        let x = Tensor::zeros((0, 2, 3, 3), DType::F32, &Device::Cpu)?;
        let m = Tensor::zeros((0, 1, 3, 3), DType::F32, &Device::Cpu)?;
        let y = x.apply_op2_no_bwd(&m, &Softmax { scale: 1.0 })?;
        assert_eq!(y.dims(), &[0, 2, 3, 3]);
        Ok(())
    }
}
