//! One aggregation function for every per-token loss (policy, KL, entropy).
//!
//! Shapes: `loss` and `mask` are `(b, t)` (mask 1.0 on response tokens, 0.0
//! on padding), the result is a scalar. The normaliser describes the *whole*
//! mini-batch, not the micro-batch being aggregated, so that summing the
//! aggregates of the micro-batches gives exactly the aggregate of the
//! mini-batch: gradient accumulation changes memory use, not the gradient.
//!
//! - `token-mean` (DAPO, Yu et al. 2025 §3.3): `sum(loss * mask) / tokens`.
//! - `seq-mean-token-mean` (original GRPO): `sum_i mean_t(loss_i) / seqs`.
//! - `drgrpo-constant` (Dr.GRPO, Liu et al. 2025 §3.1): `sum(loss * mask) /
//!   (seqs * max_len)`, a constant that does not depend on response lengths.

use candle_core::{DType, Tensor, D};

use crate::config::LossAgg;
use crate::error::{Error, Result};

/// Counts over the whole mini-batch that the aggregate divides by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normaliser {
    /// Valid (mask = 1) tokens in the mini-batch.
    pub tokens: f64,
    /// Sequences in the mini-batch.
    pub seqs: f64,
    /// The constant length of Dr.GRPO (the response budget).
    pub max_len: f64,
}

impl Normaliser {
    /// Counts of a `(b, t)` mask, with `max_len` for Dr.GRPO.
    pub fn of_mask(mask: &Tensor, max_len: usize) -> Result<Self> {
        let tokens = mask.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        Ok(Normaliser { tokens, seqs: mask.dim(0)? as f64, max_len: max_len as f64 })
    }
}

/// Reduces a `(b, t)` per-token loss to a scalar (see the module docs).
pub fn aggregate(loss: &Tensor, mask: &Tensor, mode: LossAgg, norm: &Normaliser) -> Result<Tensor> {
    if loss.dims() != mask.dims() || loss.rank() != 2 {
        return Err(Error::Invalid(format!(
            "aggregate: loss {:?} and mask {:?} must both be (b, t)",
            loss.dims(),
            mask.dims()
        )));
    }
    let masked = (loss * mask.to_dtype(loss.dtype())?)?;
    // max(1, .) guards against an all-padding batch: the sum is then 0 anyway.
    let out = match mode {
        LossAgg::TokenMean => masked.sum_all()?.affine(1.0 / norm.tokens.max(1.0), 0.0)?,
        LossAgg::SeqMeanTokenMean => {
            let lens = mask.to_dtype(loss.dtype())?.sum(D::Minus1)?.clamp(1.0, f64::MAX)?;
            let per_seq = masked.sum(D::Minus1)?.div(&lens)?;
            per_seq.sum_all()?.affine(1.0 / norm.seqs.max(1.0), 0.0)?
        }
        LossAgg::DrgrpoConstant => {
            let denom = (norm.seqs * norm.max_len).max(1.0);
            masked.sum_all()?.affine(1.0 / denom, 0.0)?
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(rows: &[&[f64]]) -> Tensor {
        let (b, w) = (rows.len(), rows[0].len());
        let flat: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_vec(flat, (b, w), &Device::Cpu).unwrap()
    }

    #[test]
    fn hand_computed() {
        // seq 0: tokens 1, 2, 3 (3 valid); seq 1: token 10 (1 valid), padding 99.
        let loss = t(&[&[1.0, 2.0, 3.0], &[10.0, 99.0, 99.0]]);
        let mask = t(&[&[1.0, 1.0, 1.0], &[1.0, 0.0, 0.0]]);
        let norm = Normaliser::of_mask(&mask, 4).unwrap();
        assert_eq!(norm, Normaliser { tokens: 4.0, seqs: 2.0, max_len: 4.0 });
        let cases = [
            (LossAgg::TokenMean, 16.0 / 4.0),
            (LossAgg::SeqMeanTokenMean, (2.0 + 10.0) / 2.0),
            (LossAgg::DrgrpoConstant, 16.0 / 8.0),
        ];
        for (mode, want) in cases {
            let got = aggregate(&loss, &mask, mode, &norm).unwrap().to_scalar::<f64>().unwrap();
            assert!((got - want).abs() < 1e-12, "{mode:?}: {got}");
        }
    }

    #[test]
    fn micro_batches_sum_to_the_whole() {
        let loss = t(&[&[1.0, 2.0, 3.0], &[10.0, 99.0, 99.0], &[-4.0, 5.0, 0.0]]);
        let mask = t(&[&[1.0, 1.0, 1.0], &[1.0, 0.0, 0.0], &[1.0, 1.0, 0.0]]);
        let norm = Normaliser::of_mask(&mask, 3).unwrap();
        for mode in [LossAgg::TokenMean, LossAgg::SeqMeanTokenMean, LossAgg::DrgrpoConstant] {
            let whole = aggregate(&loss, &mask, mode, &norm).unwrap().to_scalar::<f64>().unwrap();
            let mut parts = 0.0;
            for (s, l) in [(0, 2), (2, 1)] {
                let (lm, mm) = (loss.narrow(0, s, l).unwrap(), mask.narrow(0, s, l).unwrap());
                parts += aggregate(&lm, &mm, mode, &norm).unwrap().to_scalar::<f64>().unwrap();
            }
            assert!((whole - parts).abs() < 1e-12, "{mode:?}: {whole} vs {parts}");
        }
    }

    #[test]
    fn empty_mask_and_bad_shapes() {
        let loss = t(&[&[1.0, 2.0]]);
        let mask = t(&[&[0.0, 0.0]]);
        let norm = Normaliser::of_mask(&mask, 2).unwrap();
        let v = aggregate(&loss, &mask, LossAgg::SeqMeanTokenMean, &norm).unwrap();
        assert_eq!(v.to_scalar::<f64>().unwrap(), 0.0);
        let other = t(&[&[1.0, 2.0, 3.0]]);
        assert!(aggregate(&loss, &other, LossAgg::TokenMean, &norm).is_err());
    }
}
