//! Per-token loss terms. Shapes: every input and output is `(b, t)` over
//! response tokens (padding is masked later by [`crate::agg::aggregate`]).
//!
//! - [`clipped_surrogate`]: PPO's clipped objective (Schulman et al. 2017,
//!   eq. 7) as a loss, with separate lower/upper clip ("clip-higher", DAPO,
//!   Yu et al. 2025 §3.1) and optional dual-clip for negative advantages
//!   (Ye et al. 2020, "Mastering Complex Control in MOBA Games", eq. 5).
//! - [`kl_k3`]: the k3 estimator of KL(pi || pi_ref) (Schulman 2020,
//!   "Approximating KL divergence"), unbiased and always >= 0.
//! - [`entropy_from_logits`]: the policy's entropy at each position.

use candle_core::Tensor;

use crate::error::Result;

/// The log-ratio is clamped to +-20 before `exp`: a ratio of e^20 is already
/// clipped away, and the clamp keeps one stale token from producing Inf.
const MAX_LOG_RATIO: f64 = 20.0;

/// Clip settings of the surrogate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clip {
    /// Ratios below `1 - low` are clipped.
    pub low: f64,
    /// Ratios above `1 + high` are clipped.
    pub high: f64,
    /// Dual-clip constant c > 1 for negative advantages (None = off).
    pub dual: Option<f64>,
}

/// The surrogate loss and which tokens had their gradient clipped.
#[derive(Debug)]
pub struct Surrogate {
    /// Per-token loss `(b, t)`.
    pub loss: Tensor,
    /// 1.0 where clipping (either kind) took the gradient away, else 0.0.
    pub clipped: Tensor,
}

/// PPO clipped surrogate, as a loss to minimise.
///
/// `logp` carries the graph; `old_logp` and `adv` are constants (`adv` is
/// the sequence advantage broadcast over its tokens). With `r = exp(logp -
/// old_logp)`: `loss = max(-A r, -A clip(r, 1 - low, 1 + high))`, and with
/// dual-clip `loss = min(loss, -A c)` where `A < 0`.
pub fn clipped_surrogate(logp: &Tensor, old_logp: &Tensor, adv: &Tensor, clip: Clip) -> Result<Surrogate> {
    let ratio = (logp - old_logp)?.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO)?.exp()?;
    let neg_adv = adv.neg()?;
    let unclipped = (&neg_adv * &ratio)?;
    let clipped_ratio = ratio.clamp(1.0 - clip.low, 1.0 + clip.high)?;
    let clipped = (&neg_adv * &clipped_ratio)?;
    let use_clipped = clipped.gt(&unclipped)?;
    let mut loss = use_clipped.where_cond(&clipped, &unclipped)?;
    let mut was_clipped = use_clipped.to_dtype(logp.dtype())?;
    if let Some(c) = clip.dual {
        let bound = neg_adv.affine(c, 0.0)?;
        let dual_active = adv.lt(0.0)?.mul(&loss.gt(&bound)?)?;
        loss = dual_active.where_cond(&bound, &loss)?;
        was_clipped = was_clipped.maximum(&dual_active.to_dtype(logp.dtype())?)?;
    }
    Ok(Surrogate { loss, clipped: was_clipped })
}

/// k3 estimate of KL(pi || pi_ref) per token: `exp(d) - d - 1` with
/// `d = ref_logp - logp` (clamped to +-20 like the ratio).
pub fn kl_k3(logp: &Tensor, ref_logp: &Tensor) -> Result<Tensor> {
    let d = (ref_logp - logp)?.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO)?;
    Ok(((d.exp()? - &d)? - 1.0)?)
}

/// Entropy of the softmax of `logits` `(b, t, vocab)`, per position `(b, t)`:
/// `H = logsumexp(z) - sum(softmax(z) z)`, with gradients
/// (`bcr_model::ops::entropy`: one fused node on the CPU, composed ops
/// elsewhere; candle's fused softmax has no backward).
pub fn entropy_from_logits(logits: &Tensor) -> Result<Tensor> {
    Ok(bcr_model::ops::entropy(logits)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn row(v: &[f64]) -> Tensor {
        Tensor::from_vec(v.to_vec(), (1, v.len()), &Device::Cpu).unwrap()
    }

    fn vals(t: &Tensor) -> Vec<f64> {
        t.flatten_all().unwrap().to_vec1::<f64>().unwrap()
    }

    #[test]
    fn surrogate_hand_computed() {
        let ln = f64::ln;
        // ratios 1.0, 1.5, 0.5, 1.5, 0.5, 4.0 with advantages +1, +1, +1, -1, -1, -1.
        let logp = row(&[0.0, ln(1.5), ln(0.5), ln(1.5), ln(0.5), ln(4.0)]);
        let old = row(&[0.0; 6]);
        let adv = row(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0]);
        let clip = Clip { low: 0.2, high: 0.28, dual: None };
        let s = clipped_surrogate(&logp, &old, &adv, clip).unwrap();
        // A>0: max(-r, -clip(r)): r=1 -> -1; r=1.5 -> max(-1.5,-1.28) = -1.28 (clipped);
        //      r=0.5 -> max(-0.5,-0.8) = -0.5 (not clipped).
        // A<0: max(r, clip(r)): r=1.5 -> 1.5; r=0.5 -> max(0.5, 0.8) = 0.8 (clipped); r=4 -> 4.
        let want = [-1.0, -1.28, -0.5, 1.5, 0.8, 4.0];
        for (g, w) in vals(&s.loss).iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{:?}", vals(&s.loss));
        }
        assert_eq!(vals(&s.clipped), vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        // Dual clip c = 3 bounds the A<0, r=4 token at 3.
        let s = clipped_surrogate(&logp, &old, &adv, Clip { dual: Some(3.0), ..clip }).unwrap();
        assert!((vals(&s.loss)[5] - 3.0).abs() < 1e-12);
        assert!((vals(&s.loss)[3] - 1.5).abs() < 1e-12);
        assert_eq!(vals(&s.clipped), vec![0.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn surrogate_gradient_is_zero_where_clipped() {
        let v = candle_core::Var::from_tensor(&row(&[1.5f64.ln(), 0.0])).unwrap();
        let old = row(&[0.0, 0.0]);
        let adv = row(&[1.0, 2.0]);
        let clip = Clip { low: 0.2, high: 0.2, dual: None };
        let s = clipped_surrogate(v.as_tensor(), &old, &adv, clip).unwrap();
        let g = s.loss.sum_all().unwrap().backward().unwrap();
        // d/dlogp (-A r) = -A r: token 0 clipped -> 0; token 1: -2 * 1.
        assert_eq!(vals(g.get(&v).unwrap()), vec![0.0, -2.0]);
    }

    #[test]
    fn k3_hand_computed() {
        // d = ref - logp: 0 -> 0; ln 2 -> 2 - ln2 - 1; -ln 2 -> 0.5 + ln2 - 1.
        let logp = row(&[0.0, 0.0, 0.0]);
        let reference = row(&[0.0, 2f64.ln(), -(2f64.ln())]);
        let got = vals(&kl_k3(&logp, &reference).unwrap());
        let want = [0.0, 1.0 - 2f64.ln(), 2f64.ln() - 0.5];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
            assert!(*g >= 0.0);
        }
    }

    #[test]
    fn entropy_hand_computed() {
        // uniform over 4 -> ln 4; one-hot-ish (0, -inf-like) -> ~0; (ln1, ln3) -> H(1/4,3/4).
        let logits = Tensor::from_vec(
            vec![0.0, 0.0, 0.0, 0.0, 0.0, -1e3, -1e3, -1e3, 0.0, 3f64.ln(), -1e3, -1e3],
            (1, 3, 4),
            &Device::Cpu,
        )
        .unwrap();
        let got = vals(&entropy_from_logits(&logits).unwrap());
        let h = -(0.25 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
        for (g, w) in got.iter().zip([4f64.ln(), 0.0, h]) {
            assert!((g - w).abs() < 1e-9, "{got:?}");
        }
    }
}
