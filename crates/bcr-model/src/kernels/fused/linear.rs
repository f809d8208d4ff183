//! `y = x @ w^T` as one graph node: `x` `(.., k)` of any rank, `w` `(out,
//! in)` as the checkpoint stores it, `y` `(.., n)`, with no reshape or
//! transpose nodes around the matmul (each of those costs candle's backward
//! a zero tensor and an add over the activations).
//!
//! Forward: the AVX-512 kernel of `crate::kernels::skinny` for decode-sized inputs
//! (at most 64 rows), else the packed GEMM of the `gemm` crate (the one
//! candle's own matmul calls), on the buffers in place.
//! Backward, on 2-D views: `dx = g @ w`, `dw = g^T @ x`.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::{dispatch, operand, slice, CResult, Float};

pub(crate) struct Linear;

/// `(rows, k, n)` of `x` `(.., k)` and `w` `(n, k)`.
fn dims(lx: &Layout, lw: &Layout) -> CResult<(usize, usize, usize)> {
    let xd = lx.shape().dims();
    let (n, kw) = lw.shape().dims2()?;
    match xd.split_last() {
        Some((&k, lead)) if k == kw => Ok((lead.iter().product(), k, n)),
        _ => candle_core::bail!("linear: x {:?} does not match w ({n}, {kw})", lx.shape()),
    }
}

fn fwd<T: Float>(x: &[T], lx: &Layout, w: &CpuStorage, lw: &Layout) -> CResult<(CpuStorage, Shape)> {
    let (rows, k, n) = dims(lx, lw)?;
    let x = slice(x, lx)?;
    let w: &[T] = operand(w, lw)?;
    let mut out_dims = lx.shape().dims().to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = n;
    }
    let shape = Shape::from(out_dims);
    if let (Some(x32), Some(w32)) = (as_f32(x), as_f32(w)) {
        if rows <= crate::kernels::skinny::MAX_ROWS && crate::kernels::skinny::enabled() {
            return Ok((CpuStorage::F32(crate::kernels::skinny::matmul_xwt(x32, w32, rows, k, n)?), shape));
        }
    }
    let mut y = vec![T::from(0.0); rows * n];
    if rows > 0 && n > 0 {
        let threads = rayon::current_num_threads();
        let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
        // SAFETY: `x` is (rows, k) row-major, `w` (n, k) row-major read as
        // its transpose (k, n) with column stride k, `y` (rows, n)
        // row-major; the lengths were checked by `dims` and `slice`.
        unsafe {
            gemm::gemm(
                rows,
                n,
                k,
                y.as_mut_ptr(),
                1,
                n as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                k as isize,
                1,
                T::from(0.0),
                T::from(1.0),
                false,
                false,
                false,
                par,
            )
        }
    }
    Ok((T::to_cpu_storage_owned(y), shape))
}

/// The slice as f32 when `T` is f32.
fn as_f32<T: Float>(s: &[T]) -> Option<&[f32]> {
    (std::any::Any::type_id(s.first()?) == std::any::TypeId::of::<f32>())
        // SAFETY: T is f32 (checked on the type id).
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        "bcr-linear"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, fwd, l1, s2, l2)
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let (n, k) = w.dims2()?;
        let g2 = g.detach().reshape(((), n))?;
        let x2 = x.detach().reshape(((), k))?;
        let dx = g2.matmul(&w.detach())?.reshape(x.shape())?;
        let dw = g2.t()?.matmul(&x2)?;
        Ok((Some(dx), Some(dw)))
    }
}
