//! Fused CPU kernels with their own backward pass, for the two row-wise
//! ops that dominate the training step's elementwise time: the attention
//! softmax and RMSNorm. Each row is one pass forward and one pass backward
//! (rows split over rayon threads), instead of five to ten separate candle
//! ops each allocating a fresh tensor.
//!
//! Only contiguous f32/f64 CPU tensors take this path; `ops` falls back to
//! the differentiable compositions everywhere else (CUDA, half types).
//!
//! Gradients (rows of length `n`, `y = softmax(x)`):
//! softmax: `dx = y * (g - sum(g * y))`;
//! RMSNorm `y = x * r * w`, `r = 1 / sqrt(mean(x^2) + eps)`:
//! `dx = r * (g*w - xhat * mean(g*w*xhat))` with `xhat = x * r`,
//! `dw = sum over rows of g * xhat`.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

type CResult<T> = candle_core::Result<T>;

/// The float types the kernels are written for.
trait Float: Copy + Send + Sync + 'static + candle_core::WithDType {
    fn f(self) -> f64;
    fn from(v: f64) -> Self;
}

impl Float for f32 {
    fn f(self) -> f64 {
        self as f64
    }
    fn from(v: f64) -> Self {
        v as f32
    }
}

impl Float for f64 {
    fn f(self) -> f64 {
        self
    }
    fn from(v: f64) -> Self {
        v
    }
}

fn slice<'a, T>(s: &'a [T], l: &Layout) -> CResult<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s[a..b]),
        None => candle_core::bail!("fused kernel needs a contiguous input"),
    }
}

fn last_dim(l: &Layout) -> CResult<usize> {
    match l.shape().dims().last() {
        Some(&n) if n > 0 => Ok(n),
        _ => candle_core::bail!("fused kernel needs a non-empty last dimension"),
    }
}

/// Dispatch a generic kernel over the f32 and f64 storages.
macro_rules! dispatch {
    ($storage:expr, $f:ident, $($arg:expr),*) => {
        match $storage {
            CpuStorage::F32(s) => $f::<f32>(s, $($arg),*),
            CpuStorage::F64(s) => $f::<f64>(s, $($arg),*),
            _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
        }
    };
}

/// Softmax over the last dimension.
pub(crate) struct Softmax;

fn softmax_fwd<T: Float>(x: &[T], l: &Layout) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, l)?;
    let n = last_dim(l)?;
    let mut y = vec![T::from(0.0); x.len()];
    y.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(y, x)| {
        let max = x.iter().fold(f64::NEG_INFINITY, |m, v| m.max(v.f()));
        let mut sum = 0.0;
        for (o, v) in y.iter_mut().zip(x) {
            let e = (v.f() - max).exp();
            sum += e;
            *o = T::from(e);
        }
        let inv = 1.0 / sum;
        for o in y.iter_mut() {
            *o = T::from(o.f() * inv);
        }
    });
    Ok((T::to_cpu_storage_owned(y), l.shape().clone()))
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "bcr-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s, softmax_fwd, l)
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, g: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(y.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxBwd)?))
    }
}

struct SoftmaxBwd;

fn softmax_bwd<T: Float>(y: &[T], ly: &Layout, g: &CpuStorage, lg: &Layout) -> CResult<(CpuStorage, Shape)> {
    let y = slice(y, ly)?;
    let g: &[T] = slice(g.as_slice::<T>()?, lg)?;
    let n = last_dim(ly)?;
    let mut dx = vec![T::from(0.0); y.len()];
    dx.par_chunks_mut(n).zip(y.par_chunks(n).zip(g.par_chunks(n))).for_each(|(dx, (y, g))| {
        let dot: f64 = y.iter().zip(g).map(|(a, b)| a.f() * b.f()).sum();
        for ((o, a), b) in dx.iter_mut().zip(y).zip(g) {
            *o = T::from(a.f() * (b.f() - dot));
        }
    });
    Ok((T::to_cpu_storage_owned(dx), ly.shape().clone()))
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "bcr-softmax-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, softmax_bwd, l1, s2, l2)
    }
}

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
    let w: &[T] = slice(w.as_slice::<T>()?, lw)?;
    let n = last_dim(lx)?;
    if w.len() != n {
        candle_core::bail!("rms_norm: weight of {} for rows of {n}", w.len());
    }
    let mut y = vec![T::from(0.0); x.len()];
    y.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(y, x)| {
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
        let g = g.contiguous()?;
        let dx = x.apply_op3_no_bwd(w, &g, &RmsNormBwd { eps: self.eps })?;
        // dw = sum over rows of g * xhat; xhat is the forward with unit weight.
        let n = w.dim(0)?;
        let ones = Tensor::ones(n, w.dtype(), w.device())?;
        let xhat = x.apply_op2_no_bwd(&ones, &RmsNorm { eps: self.eps })?;
        let dw = (g * xhat)?.reshape(((), n))?.sum(0)?;
        Ok((Some(dx), Some(dw)))
    }
}

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
    let w: &[T] = slice(w.as_slice::<T>()?, lw)?;
    let g: &[T] = slice(g.as_slice::<T>()?, lg)?;
    let n = last_dim(lx)?;
    let mut dx = vec![T::from(0.0); x.len()];
    dx.par_chunks_mut(n).zip(x.par_chunks(n).zip(g.par_chunks(n))).for_each(|(dx, (x, g))| {
        let r = inv_rms(x, eps);
        let dot = x.iter().zip(g).zip(w).map(|((x, g), w)| g.f() * w.f() * x.f() * r).sum::<f64>() / n as f64;
        for (((o, x), g), w) in dx.iter_mut().zip(x).zip(g).zip(w) {
            *o = T::from(r * (g.f() * w.f() - x.f() * r * dot));
        }
    });
    Ok((T::to_cpu_storage_owned(dx), lx.shape().clone()))
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
