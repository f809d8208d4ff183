//! The SwiGLU product `y = silu(a) * b` (Shazeer, arXiv 2002.05202), `a`
//! the gate projection and `b` the up projection, same shape. One pass
//! forward; one pass backward that writes both gradients, with
//! `s = sigmoid(a)`: `da = gy * b * s * (1 + a (1 - s))`, `db = gy * a * s`.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{dispatch, for_chunks, operand, slice, CResult, Float};

/// Elements per rayon task: large enough to amortise the task, small
/// enough to split a decode step's few rows.
const CHUNK: usize = 4096;

pub(crate) struct SiluMul;

fn same_shape(l1: &Layout, l2: &Layout) -> CResult<()> {
    if l1.shape() != l2.shape() {
        candle_core::bail!("silu_mul: shapes {:?} and {:?} differ", l1.shape(), l2.shape());
    }
    Ok(())
}

fn silu_fwd<T: Float>(a: &[T], la: &Layout, b: &CpuStorage, lb: &Layout) -> CResult<(CpuStorage, Shape)> {
    same_shape(la, lb)?;
    let a = slice(a, la)?;
    let b: &[T] = operand(b, lb)?;
    let mut y = vec![T::from(0.0); a.len()];
    for_chunks(&mut y, CHUNK, |i, y| {
        let r = i * CHUNK..i * CHUNK + y.len();
        T::silu_mul(&a[r.clone()], &b[r], y)
    });
    Ok((T::to_cpu_storage_owned(y), la.shape().clone()))
}

impl CustomOp2 for SiluMul {
    fn name(&self) -> &'static str {
        "bcr-silu-mul"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, silu_fwd, l1, s2, l2)
    }

    fn bwd(&self, a: &Tensor, b: &Tensor, _y: &Tensor, g: &Tensor) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        // One pass writes `(2, ..)`: `da` then `db`, each a contiguous view.
        let both = a.apply_op3_no_bwd(b, &g.contiguous()?, &SiluMulBwd)?;
        Ok((Some(both.get(0)?), Some(both.get(1)?)))
    }
}

struct SiluMulBwd;

fn silu_bwd<T: Float>(
    a: &[T],
    la: &Layout,
    b: &CpuStorage,
    lb: &Layout,
    g: &CpuStorage,
    lg: &Layout,
) -> CResult<(CpuStorage, Shape)> {
    same_shape(la, lb)?;
    same_shape(la, lg)?;
    let a = slice(a, la)?;
    let b: &[T] = operand(b, lb)?;
    let g: &[T] = operand(g, lg)?;
    let n = a.len();
    let mut out = vec![T::from(0.0); 2 * n];
    let (da, db) = out.split_at_mut(n);
    da.par_chunks_mut(CHUNK)
        .zip(db.par_chunks_mut(CHUNK))
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)).zip(g.par_chunks(CHUNK)))
        .for_each(|((da, db), ((a, b), g))| T::silu_mul_bwd(a, b, g, da, db));
    let mut dims = vec![2];
    dims.extend_from_slice(la.shape().dims());
    Ok((T::to_cpu_storage_owned(out), Shape::from(dims)))
}

impl CustomOp3 for SiluMulBwd {
    fn name(&self) -> &'static str {
        "bcr-silu-mul-bwd"
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
        dispatch!(s1, silu_bwd, l1, s2, l2, s3, l3)
    }
}
