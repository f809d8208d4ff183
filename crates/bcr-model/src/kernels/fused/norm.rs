//! RMSNorm `y = x * r * w`, `r = 1 / sqrt(mean(x^2) + eps)`, over the last
//! dimension, with its backward:
//! `dx = r * (g*w - xhat * mean(g*w*xhat))` with `xhat = x * r`,
//! `dw = sum over rows of g * xhat`, both in one pass.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{dispatch, for_chunks, last_dim, operand, slice, CResult, Float};

/// RMSNorm over the last dimension with a weight of that length.
pub(crate) struct RmsNorm {
    pub(crate) eps: f64,
}

fn inv_rms<T: Float>(x: &[T], eps: f64) -> f64 {
    let ms = x.iter().map(|v| v.f() * v.f()).sum::<f64>() / x.len() as f64;
    1.0 / (ms + eps).sqrt()
}

fn rms_fwd<T: Float>(x: &[T], lx: &Layout, w: &CpuStorage, lw: &Layout, eps: f64) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let w: &[T] = operand(w, lw)?;
    let n = last_dim(lx)?;
    if w.len() != n {
        candle_core::bail!("rms_norm: weight of {} for rows of {n}", w.len());
    }
    let mut y = vec![T::from(0.0); x.len()];
    for_chunks(&mut y, n, |i, y| {
        let x = &x[i * n..(i + 1) * n];
        let r = inv_rms(x, eps);
        for ((o, v), w) in y.iter_mut().zip(x).zip(w) {
            *o = T::from(v.f() * r * w.f());
        }
    });
    Ok((T::to_cpu_storage_owned(y), lx.shape().clone()))
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "bcr-rms-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, rms_fwd, l1, s2, l2, self.eps)
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        // One pass writes `(rows + 1, n)`: the rows of `dx`, then `dw`.
        let both = x.apply_op3_no_bwd(w, &g.contiguous()?, &RmsNormBwd { eps: self.eps })?;
        let rows = both.dim(0)? - 1;
        Ok((Some(both.narrow(0, 0, rows)?.reshape(x.shape())?), Some(both.get(rows)?)))
    }
}

/// Rows per rayon task in the backward pass (each task keeps one partial
/// `dw`).
const ROWS_PER_TASK: usize = 64;

struct RmsNormBwd {
    eps: f64,
}

fn rms_bwd<T: Float>(
    x: &[T],
    lx: &Layout,
    w: &CpuStorage,
    lw: &Layout,
    g: &CpuStorage,
    lg: &Layout,
    eps: f64,
) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let w: &[T] = operand(w, lw)?;
    let g: &[T] = operand(g, lg)?;
    let n = last_dim(lx)?;
    let rows = x.len() / n;
    let mut out = vec![T::from(0.0); x.len() + n];
    let (dx, dw) = out.split_at_mut(x.len());
    // Blocks of rows per task, each with its partial sum of dw.
    let block = n * ROWS_PER_TASK;
    let partial: Vec<Vec<f64>> = dx
        .par_chunks_mut(block)
        .zip(x.par_chunks(block).zip(g.par_chunks(block)))
        .map(|(dx, (x, g))| {
            let mut dw = vec![0.0; n];
            for ((dx, x), g) in dx.chunks_mut(n).zip(x.chunks(n)).zip(g.chunks(n)) {
                let r = inv_rms(x, eps);
                let dot = x.iter().zip(g).zip(w).map(|((x, g), w)| g.f() * w.f() * x.f() * r).sum::<f64>() / n as f64;
                for ((((o, x), g), w), dw) in dx.iter_mut().zip(x).zip(g).zip(w).zip(dw.iter_mut()) {
                    *o = T::from(r * (g.f() * w.f() - x.f() * r * dot));
                    *dw += g.f() * x.f() * r;
                }
            }
            dw
        })
        .collect();
    for (j, o) in dw.iter_mut().enumerate() {
        *o = T::from(partial.iter().map(|p| p[j]).sum());
    }
    Ok((T::to_cpu_storage_owned(out), Shape::from((rows + 1, n))))
}

impl CustomOp3 for RmsNormBwd {
    fn name(&self) -> &'static str {
        "bcr-rms-norm-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, rms_bwd, l1, s2, l2, s3, l3, self.eps)
    }
}
