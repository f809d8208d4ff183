//! Two reductions over the vocabulary for the policy loss, each one node
//! that never materialises the log-softmax `(rows, V)`:
//!
//! - `LogSoftmaxGather`: `lp_i = x_i[t_i] - lse_i` for target tokens `t`,
//!   `lse_i = log sum_j exp(x_ij)`. Backward:
//!   `dx_ij = g_i (1[j = t_i] - exp(x_ij - lse_i))`, with `lse_i` recovered
//!   from the output as `x_i[t_i] - lp_i`.
//! - `Entropy`: `H_i = lse_i - sum_j p_ij x_ij`, `p = softmax(x)`.
//!   Backward: `dx_ij = -g_i p_ij (x_ij - sum_k p_ik x_ik)`.
//!
//! Composed in candle ops, each was about ten passes over `(rows, V)`
//! forward and back (V = 49,152 for SmolLM2, 151,936 for Qwen); here it is
//! two passes forward (max, then the exponentials) and three back.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::{dispatch, last_dim, operand, slice, CResult, Float};

/// `(logits (n, V), targets (n,) u32) -> (n,)`.
pub(crate) struct LogSoftmaxGather;

fn targets(s: &CpuStorage, l: &Layout, n: usize, v: usize) -> CResult<Vec<usize>> {
    let t: &[u32] = slice(s.as_slice::<u32>()?, l)?;
    if t.len() != n {
        candle_core::bail!("log_softmax_gather: {} targets for {n} rows", t.len());
    }
    t.iter()
        .map(|&x| match (x as usize) < v {
            true => Ok(x as usize),
            false => candle_core::bail!("log_softmax_gather: target {x} >= vocabulary {v}"),
        })
        .collect()
}

fn gather_fwd<T: Float>(x: &[T], lx: &Layout, t: &CpuStorage, lt: &Layout) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let v = last_dim(lx)?;
    let n = x.len() / v;
    let t = targets(t, lt, n, v)?;
    let lp: Vec<T> =
        x.par_chunks(v).zip(t.par_iter()).map(|(row, &t)| T::from(row[t].f() - T::lse_row(row).0)).collect();
    Ok((T::to_cpu_storage_owned(lp), Shape::from(n)))
}

impl CustomOp2 for LogSoftmaxGather {
    fn name(&self) -> &'static str {
        "bcr-log-softmax-gather"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, gather_fwd, l1, s2, l2)
    }

    fn bwd(&self, x: &Tensor, t: &Tensor, lp: &Tensor, g: &Tensor) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let x = x.detach();
        let picked = x.gather(&t.unsqueeze(1)?, 1)?.squeeze(1)?;
        let lse = (picked - lp.detach())?;
        let aux = Tensor::stack(&[lse, g.detach()], 0)?.contiguous()?;
        Ok((Some(x.apply_op3_no_bwd(t, &aux, &LogSoftmaxGatherBwd)?), None))
    }
}

/// `(x (n, V), targets (n,), [lse; g] (2, n)) -> dx (n, V)`.
struct LogSoftmaxGatherBwd;

fn gather_bwd<T: Float>(
    x: &[T],
    lx: &Layout,
    t: &CpuStorage,
    lt: &Layout,
    aux: &CpuStorage,
    la: &Layout,
) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let v = last_dim(lx)?;
    let n = x.len() / v;
    let t = targets(t, lt, n, v)?;
    let aux: &[T] = operand(aux, la)?;
    if aux.len() != 2 * n {
        candle_core::bail!("log_softmax_gather backward: {} auxiliary values for {n} rows", aux.len());
    }
    let (lse, g) = aux.split_at(n);
    let mut dx = vec![T::from(0.0); x.len()];
    dx.par_chunks_mut(v).zip(x.par_chunks(v)).enumerate().for_each(|(i, (dx, x))| {
        let gi = g[i].f();
        T::softmax_scale_row(x, lse[i].f(), -gi, None, dx);
        dx[t[i]] = T::from(dx[t[i]].f() + gi);
    });
    Ok((T::to_cpu_storage_owned(dx), lx.shape().clone()))
}

impl CustomOp3 for LogSoftmaxGatherBwd {
    fn name(&self) -> &'static str {
        "bcr-log-softmax-gather-bwd"
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
        dispatch!(s1, gather_bwd, l1, s2, l2, s3, l3)
    }
}

/// Entropy of `softmax(x)` over the last dimension: `(.., V) -> (..)`.
pub(crate) struct Entropy;

fn entropy_fwd<T: Float>(x: &[T], lx: &Layout) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let v = last_dim(lx)?;
    let h: Vec<T> = x
        .par_chunks(v)
        .map(|row| {
            let (lse, mean) = T::lse_row(row);
            T::from(lse - mean)
        })
        .collect();
    let dims = lx.shape().dims();
    Ok((T::to_cpu_storage_owned(h), Shape::from(dims[..dims.len() - 1].to_vec())))
}

impl CustomOp1 for Entropy {
    fn name(&self) -> &'static str {
        "bcr-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> CResult<(CpuStorage, Shape)> {
        match s {
            CpuStorage::F32(x) => entropy_fwd::<f32>(x, l),
            CpuStorage::F64(x) => entropy_fwd::<f64>(x, l),
            _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
        }
    }

    fn bwd(&self, x: &Tensor, _h: &Tensor, g: &Tensor) -> CResult<Option<Tensor>> {
        Ok(Some(x.detach().apply_op2_no_bwd(&g.detach().contiguous()?, &EntropyBwd)?))
    }
}

/// `(x (.., V), g (..)) -> dx (.., V)`.
struct EntropyBwd;

fn entropy_bwd<T: Float>(x: &[T], lx: &Layout, g: &CpuStorage, lg: &Layout) -> CResult<(CpuStorage, Shape)> {
    let x = slice(x, lx)?;
    let v = last_dim(lx)?;
    let g: &[T] = operand(g, lg)?;
    if g.len() * v != x.len() {
        candle_core::bail!("entropy backward: {} gradients for {} rows", g.len(), x.len() / v);
    }
    let mut dx = vec![T::from(0.0); x.len()];
    dx.par_chunks_mut(v).zip(x.par_chunks(v)).zip(g.par_iter()).for_each(|((dx, x), g)| {
        let (lse, mean) = T::lse_row(x);
        T::softmax_scale_row(x, lse, -g.f(), Some(mean), dx);
    });
    Ok((T::to_cpu_storage_owned(dx), lx.shape().clone()))
}

impl CustomOp2 for EntropyBwd {
    fn name(&self) -> &'static str {
        "bcr-entropy-bwd"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> CResult<(CpuStorage, Shape)> {
        dispatch!(s1, entropy_bwd, l1, s2, l2)
    }
}
