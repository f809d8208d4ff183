//! AdamW (Loshchilov & Hutter, arXiv 1711.05101) as one op per parameter,
//! and the squared norm the global gradient clip needs: the optimizer
//! arithmetic `bcr-rl` runs every step, fused on the CPU
//! (`kernels/fused/adamw.rs`), composed from candle ops elsewhere.

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};

/// The constants of one AdamW update ([`adamw_step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to `sqrt(v_hat)`.
    pub eps: f64,
    /// Decoupled weight decay (0 for parameters that are not decayed).
    pub weight_decay: f64,
    /// The 1-based number of this update (for the bias correction).
    pub step: usize,
}

/// One AdamW update (Loshchilov & Hutter, arXiv 1711.05101, Algorithm 2,
/// bias-corrected) of `theta` given its gradient `g` and its moments `mv`
/// (`(2, ..)`: `m` then `v`), all f32 of one shape. Returns `(3, ..)`: the
/// new `m`, `v` and `theta`. On the CPU one pass (`fused/adamw.rs`); on
/// other devices the same arithmetic as candle ops.
pub fn adamw_step(theta: &Tensor, g: &Tensor, mv: &Tensor, s: &AdamWStep) -> Result<Tensor> {
    check_adamw(theta, g, mv)?;
    let (bc1, bc2) = s.bias_corrections();
    if theta.device().is_cpu() && crate::kernels::fused::enabled() {
        let op = s.kernel();
        return Ok(theta.contiguous()?.apply_op3_no_bwd(&g.contiguous()?, &mv.contiguous()?, &op)?);
    }
    adamw_step_composed(theta, g, mv, s, bc1, bc2)
}

/// [`adamw_step`] in place: updates `mv` and then `theta` without new
/// buffers, and returns true; false (nothing changed) where it does not
/// apply: not on the CPU, fused kernels off, or a tensor not contiguous.
/// `theta` must not share storage with another live tensor that should
/// keep the old values (a `Var`'s own tensor is the intended target).
pub fn adamw_step_in_place(theta: &Tensor, g: &Tensor, mv: &Tensor, s: &AdamWStep) -> Result<bool> {
    check_adamw(theta, g, mv)?;
    let cpu = [theta, g, mv].iter().all(|x| x.device().is_cpu() && x.is_contiguous());
    if !cpu || !crate::kernels::fused::enabled() {
        return Ok(false);
    }
    let op = s.kernel();
    mv.inplace_op2(g, &crate::kernels::fused::adamw::AdamWMoments(op))?;
    theta.inplace_op2(mv, &crate::kernels::fused::adamw::AdamWApply(op))?;
    Ok(true)
}

fn check_adamw(theta: &Tensor, g: &Tensor, mv: &Tensor) -> Result<()> {
    let all_f32 = [theta, g, mv].iter().all(|x| x.dtype() == DType::F32);
    if !all_f32 || mv.dims().first() != Some(&2) || mv.dims()[1..] != *theta.dims() || g.dims() != theta.dims() {
        return Err(Error::Input(format!(
            "adamw_step: theta {:?}, gradient {:?} and moments {:?} must be f32 of one shape (moments (2, ..))",
            theta.shape(),
            g.shape(),
            mv.shape()
        )));
    }
    Ok(())
}

impl AdamWStep {
    /// `(1 - beta1^t, 1 - beta2^t)`.
    fn bias_corrections(&self) -> (f64, f64) {
        let t = self.step.max(1) as i32;
        (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t))
    }

    /// The constants of the CPU kernels.
    fn kernel(&self) -> crate::kernels::fused::adamw::AdamWStep {
        let (bc1, bc2) = self.bias_corrections();
        crate::kernels::fused::adamw::AdamWStep {
            lr: self.lr,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            one_minus_beta1: (1.0 - self.beta1) as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            eps: self.eps,
            weight_decay: self.weight_decay,
            bc1,
            bc2,
        }
    }
}

/// [`adamw_step`] as candle ops (GPUs).
fn adamw_step_composed(theta: &Tensor, g: &Tensor, mv: &Tensor, s: &AdamWStep, bc1: f64, bc2: f64) -> Result<Tensor> {
    let (m, v) = (mv.get(0)?, mv.get(1)?);
    let m = ((m * s.beta1)? + (g * (1.0 - s.beta1))?)?;
    let v = ((v * s.beta2)? + (g.sqr()? * (1.0 - s.beta2))?)?;
    let update = ((&m / bc1)? / ((&v / bc2)?.sqrt()? + s.eps)?)?;
    let new = ((theta * (1.0 - s.lr * s.weight_decay))? - (update * s.lr)?)?;
    Ok(Tensor::stack(&[m, v, new], 0)?)
}

/// `sum(x^2)` accumulated in f64 (for global gradient norms): one pass on
/// the CPU, without an f64 copy of `x`.
pub fn sum_squares(x: &Tensor) -> Result<f64> {
    if x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64) {
        return Ok(x.contiguous()?.apply_op1_no_bwd(&crate::kernels::fused::adamw::SumSquares)?.to_scalar::<f64>()?);
    }
    Ok(x.to_dtype(DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The one-pass CPU AdamW against the same arithmetic in candle ops.
    #[test]
    fn fused_adamw_matches_the_composition() -> Result<()> {
        let dev = Device::Cpu;
        let theta = Tensor::randn(0f32, 1.0, (3, 7), &dev)?;
        let g = Tensor::randn(0f32, 1.0, (3, 7), &dev)?;
        let mv = Tensor::stack(&[Tensor::randn(0f32, 0.1, (3, 7), &dev)?, Tensor::rand(0f32, 0.01, (3, 7), &dev)?], 0)?;
        let s = AdamWStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1, step: 5 };
        let fused = adamw_step(&theta, &g, &mv, &s)?;
        let (bc1, bc2) = (1.0 - 0.9f64.powi(5), 1.0 - 0.999f64.powi(5));
        let composed = adamw_step_composed(&theta, &g, &mv, &s, bc1, bc2)?;
        assert_eq!(fused.dims(), &[3, 3, 7]);
        let d = (fused - composed)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 1e-6, "max difference {d}");
        let bad = adamw_step(&theta, &g, &theta, &s).unwrap_err().to_string();
        assert!(bad.contains("moments"), "{bad}");
        Ok(())
    }

    /// The in-place update writes exactly what the one-pass update returns.
    #[test]
    fn in_place_adamw_equals_the_one_pass_update() -> Result<()> {
        let dev = Device::Cpu;
        let theta = Tensor::randn(0f32, 1.0, (5, 40_000), &dev)?; // several rayon chunks
        let g = Tensor::randn(0f32, 1.0, (5, 40_000), &dev)?;
        let mv = Tensor::stack(
            &[Tensor::randn(0f32, 0.1, (5, 40_000), &dev)?, Tensor::rand(0f32, 0.01, (5, 40_000), &dev)?],
            0,
        )?;
        let s = AdamWStep { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1, step: 3 };
        let want = adamw_step(&theta, &g, &mv, &s)?;
        let (th2, mv2) = (theta.copy()?, mv.copy()?);
        assert!(adamw_step_in_place(&th2, &g, &mv2, &s)?);
        let same = |a: &Tensor, b: &Tensor| -> Result<bool> {
            Ok(a.flatten_all()?.to_vec1::<f32>()? == b.flatten_all()?.to_vec1::<f32>()?)
        };
        assert!(same(&mv2, &want.narrow(0, 0, 2)?)?, "moments differ");
        assert!(same(&th2, &want.get(2)?)?, "parameters differ");
        // Non-contiguous input: not applied, nothing changed.
        let t = theta.t()?;
        let before = t.flatten_all()?.to_vec1::<f32>()?;
        let mv_t = Tensor::zeros((2, 40_000, 5), DType::F32, &dev)?;
        assert!(!adamw_step_in_place(&t, &g.t()?, &mv_t, &s)?);
        assert_eq!(t.flatten_all()?.to_vec1::<f32>()?, before);
        Ok(())
    }
}
