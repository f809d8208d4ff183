//! Grouped-query attention (GQA, Ainslie et al. arXiv 2305.13245) as one
//! node of the autograd graph, with a hand-written backward.
//!
//! Written as candle ops, attention leaves about ten nodes in the graph
//! (views of the scores, the softmax, two matmuls and their transposes),
//! and candle's backward gives every node a zero tensor plus an add for its
//! input gradients; on `(b, h, t, l)` score tensors that traffic was as
//! large as the matmuls. Here the forward runs the same ops on detached
//! inputs, keeps the attention weights `P`, and the backward is four
//! matmuls and one softmax-backward pass, with no intermediate gradient
//! accumulated:
//!
//! ```text
//! q (b, h, t, d) viewed as (b, kv, g t, d); k, v (b, kv, l, d); h = kv g
//! S = q k^T            P = softmax(scale S + mask)     O = P v
//! dV = P^T dO          dP = dO v^T
//! dS = scale P (dP - rowsum(dP P))
//! dQ = dS k            dK = dS^T q
//! ```

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};

use super::softmax::{Softmax, SoftmaxBwd};
use super::CResult;

/// `softmax(scale q k^T + mask) v` for `q` `(b, h, t, d)` contiguous, `k`,
/// `v` `(b, kv, l, d)`, mask `(b, 1, t, l)` or none; returns `(b, h, t, d)`.
/// Without tracked inputs (inference) no graph node is made.
pub(crate) fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, scale: f64) -> CResult<Tensor> {
    let (b, h, t, d) = q.dims4()?;
    let (_, kv, _, _) = k.dims4()?;
    let g = h / kv;
    let qg = q.detach().reshape((b, kv, g * t, d))?;
    let (kd, vd) = (k.detach(), v.detach().contiguous()?);
    let s = qg.matmul(&kd.t()?)?;
    let op = Softmax { scale };
    let p = match mask {
        Some(m) => s.apply_op2_no_bwd(m, &op)?,
        None => s.apply_op1_no_bwd(&op)?,
    };
    let out = p.matmul(&vd)?.reshape((b, h, t, d))?;
    if !(q.track_op() || k.track_op() || v.track_op()) {
        return Ok(out);
    }
    let node = Attention { out, p, qg, k: kd, v: vd, scale };
    q.apply_op3(k, v, node)
}

/// The graph node: the forward's results, kept for the backward.
struct Attention {
    /// `(b, h, t, d)`.
    out: Tensor,
    /// Attention weights, `(b, kv, g t, l)`.
    p: Tensor,
    /// The detached inputs: `q` as `(b, kv, g t, d)`, `k`, `v`.
    qg: Tensor,
    k: Tensor,
    v: Tensor,
    scale: f64,
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "bcr-attention"
    }

    /// The output was computed when the node was made; hand over a copy.
    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let flat = self.out.flatten_all()?;
        let storage = match self.out.dtype() {
            DType::F32 => CpuStorage::F32(flat.to_vec1::<f32>()?),
            DType::F64 => CpuStorage::F64(flat.to_vec1::<f64>()?),
            other => candle_core::bail!("fused attention: {other:?} is not supported"),
        };
        Ok((storage, self.out.shape().clone()))
    }

    fn bwd(
        &self,
        _q: &Tensor,
        _k: &Tensor,
        _v: &Tensor,
        _out: &Tensor,
        dout: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dout = dout.detach().contiguous()?.reshape(self.qg.shape())?;
        let dv = self.p.t()?.matmul(&dout)?;
        let dp = dout.matmul(&self.v.t()?)?;
        let ds = self.p.apply_op2_no_bwd(&dp, &SoftmaxBwd { scale: self.scale })?;
        let dq = ds.matmul(&self.k)?.reshape(self.out.shape())?;
        let dk = ds.t()?.matmul(&self.qg)?;
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}
