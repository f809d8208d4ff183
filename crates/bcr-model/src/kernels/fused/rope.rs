//! Rotary embedding (Su et al., arXiv 2104.09864) in the "rotate half"
//! layout of transformers, fused with the transpose that follows the
//! q/k projections: `x` `(b, t, h, d)` (the projection output, reshaped)
//! goes to `y` `(b, h, t, d)` contiguous in one pass, with `cos`, `sin`
//! `(b, 1, t, d/2)`:
//!
//! `y1 = x1 cos - x2 sin`, `y2 = x2 cos + x1 sin` (`x1`, `x2` the halves).
//!
//! The backward is the inverse rotation with the inverse transpose:
//! `dx1 = g1 cos + g2 sin`, `dx2 = g2 cos - g1 sin`, `(b, h, t, d) ->
//! (b, t, h, d)`. The tables are constants and get no gradient.

use super::{for_chunks, operand, slice, CResult, Float};
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

/// `(b, t, h, d) -> (b, h, t, d)` with the rotation.
pub(crate) struct RopeHeads;

/// The inverse: `(b, h, t, d) -> (b, t, h, d)` with the inverse rotation.
struct RopeHeadsBwd;

/// Rotate the rows of `src` into a new buffer. `to_heads`: `src` is
/// `(b, t, h, d)` and the result `(b, h, t, d)`; otherwise the reverse.
/// `sign` is +1 forward, -1 for the inverse rotation.
fn rotate<T: Float>(
    src: &[T],
    cos: &[T],
    sin: &[T],
    (b, t, h, d): (usize, usize, usize, usize),
    to_heads: bool,
    sign: T,
) -> Vec<T> {
    let half = d / 2;
    let mut dst = vec![T::from(0.0); b * t * h * d];
    for_chunks(&mut dst, d, |r, out| {
        let (bi, ti, hi) = if to_heads { (r / (h * t), r % t, (r / t) % h) } else { (r / (t * h), (r / h) % t, r % h) };
        let s = if to_heads { (bi * t + ti) * h + hi } else { (bi * h + hi) * t + ti };
        let x = &src[s * d..(s + 1) * d];
        let p = (bi * t + ti) * half;
        let (c, sn) = (&cos[p..p + half], &sin[p..p + half]);
        let (x1, x2) = x.split_at(half);
        let (o1, o2) = out.split_at_mut(half);
        for j in 0..half {
            let s = sign * sn[j];
            o1[j] = x1[j] * c[j] - x2[j] * s;
            o2[j] = x2[j] * c[j] + x1[j] * s;
        }
    });
    dst
}

/// Check the shapes; returns `(b, t, h, d)`.
fn dims(lx: &Layout, lc: &Layout, ls: &Layout, to_heads: bool) -> CResult<(usize, usize, usize, usize)> {
    let (b, t, h, d) = match *lx.shape().dims() {
        [b, t, h, d] if to_heads => (b, t, h, d),
        [b, h, t, d] if !to_heads => (b, t, h, d),
        _ => candle_core::bail!("rope: input {:?} is not 4-D", lx.shape()),
    };
    let want = [b, 1, t, d / 2];
    if d % 2 != 0 || lc.shape().dims() != want || ls.shape().dims() != want {
        candle_core::bail!("rope: tables {:?}/{:?} for heads of {d} and (b, t) = ({b}, {t})", lc.shape(), ls.shape());
    }
    Ok((b, t, h, d))
}

fn run<T: Float>(
    x: &[T],
    lx: &Layout,
    c: &CpuStorage,
    lc: &Layout,
    s: &CpuStorage,
    ls: &Layout,
    to_heads: bool,
) -> CResult<(CpuStorage, Shape)> {
    let (b, t, h, d) = dims(lx, lc, ls, to_heads)?;
    let x = slice(x, lx)?;
    let sign = T::from(if to_heads { 1.0 } else { -1.0 });
    let y = rotate(x, operand(c, lc)?, operand(s, ls)?, (b, t, h, d), to_heads, sign);
    let shape = if to_heads { Shape::from((b, h, t, d)) } else { Shape::from((b, t, h, d)) };
    Ok((T::to_cpu_storage_owned(y), shape))
}

fn cpu_fwd(
    s1: &CpuStorage,
    l1: &Layout,
    s2: &CpuStorage,
    l2: &Layout,
    s3: &CpuStorage,
    l3: &Layout,
    to_heads: bool,
) -> CResult<(CpuStorage, Shape)> {
    match s1 {
        CpuStorage::F32(x) => run::<f32>(x, l1, s2, l2, s3, l3, to_heads),
        CpuStorage::F64(x) => run::<f64>(x, l1, s2, l2, s3, l3, to_heads),
        _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
    }
}

impl CustomOp3 for RopeHeads {
    fn name(&self) -> &'static str {
        "bcr-rope-heads"
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
        cpu_fwd(s1, l1, s2, l2, s3, l3, true)
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Ok((Some(g.contiguous()?.apply_op3_no_bwd(cos, sin, &RopeHeadsBwd)?), None, None))
    }
}

impl CustomOp3 for RopeHeadsBwd {
    fn name(&self) -> &'static str {
        "bcr-rope-heads-bwd"
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
        cpu_fwd(s1, l1, s2, l2, s3, l3, false)
    }
}
