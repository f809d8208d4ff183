//! AdamW with state that can be saved and restored, gradient accumulation
//! over micro-batches, and global gradient-norm clipping.
//!
//! candle_nn's `AdamW` keeps its moments private, so a resumed run could not
//! continue bit-identically; this one exposes them as named tensors
//! (`m.<param>`, `v.<param>`) for the checkpoint. The update is Loshchilov &
//! Hutter (2019), Algorithm 2, with bias correction; moments are kept in f32
//! whatever the parameter dtype. Parameters held in bf16/f16 get an f32
//! master copy (`w.<param>` in the state): an update of lr 1e-6 is far below
//! bf16's resolution (2^-8 relative) and would otherwise be rounded away.
//! Weight decay applies to matrices only (rank >= 2): decaying norm gains and
//! biases towards 0 is not wanted.

use std::collections::HashMap;

use bcr_model::ops::{adamw_step, adamw_step_in_place, sum_squares, AdamWStep};
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

use crate::error::{Error, Result};

/// AdamW hyper-parameters other than the learning rate (which the schedule gives).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to sqrt(v_hat).
    pub eps: f64,
    /// Decoupled weight decay (multiplied by the lr).
    pub weight_decay: f64,
}

/// AdamW over named variables.
pub struct AdamW {
    params: Vec<(String, Var)>,
    /// First and second moments of each parameter, `(2, ..)` f32.
    mv: Vec<Tensor>,
    master: Vec<Option<Tensor>>,
    steps: usize,
    hp: AdamParams,
}

impl AdamW {
    /// Fresh optimizer with zero moments.
    pub fn new(params: Vec<(String, Var)>, hp: AdamParams) -> Result<Self> {
        let zeros = |p: &Var| {
            let mut dims = vec![2];
            dims.extend_from_slice(p.dims());
            Tensor::zeros(dims, DType::F32, p.device())
        };
        let mv = params.iter().map(|(_, p)| zeros(p)).collect::<candle_core::Result<Vec<_>>>()?;
        let master = params
            .iter()
            .map(|(_, p)| match p.dtype() {
                DType::F32 | DType::F64 => Ok(None),
                _ => p.as_tensor().detach().to_dtype(DType::F32).map(Some),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(AdamW { params, mv, master, steps: 0, hp })
    }

    /// Updates taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[(String, Var)] {
        &self.params
    }

    /// One update with `grads[i]` for `params[i]` at learning rate `lr`.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        if grads.len() != self.params.len() {
            return Err(Error::Invalid(format!(
                "AdamW: {} gradients for {} parameters",
                grads.len(),
                self.params.len()
            )));
        }
        self.steps += 1;
        let AdamParams { beta1, beta2, eps, weight_decay } = self.hp;
        for (i, (_, var)) in self.params.iter().enumerate() {
            let g = grads[i].to_dtype(DType::F32)?;
            let decay = if var.rank() >= 2 { weight_decay } else { 0.0 };
            let s = AdamWStep { lr, beta1, beta2, eps, weight_decay: decay, step: self.steps };
            // On the CPU: moments and the f32 weights (the Var itself, or
            // its master copy) updated in place, no new buffers.
            let target = match &self.master[i] {
                Some(w) => Some(w.clone()),
                None if var.dtype() == DType::F32 => Some(var.as_tensor().clone()),
                None => None,
            };
            if let Some(t) = target {
                if adamw_step_in_place(&t, &g, &self.mv[i], &s)? {
                    if self.master[i].is_some() {
                        var.set(&t.to_dtype(var.dtype())?)?;
                    }
                    continue;
                }
            }
            let theta = match &self.master[i] {
                Some(w) => w.clone(),
                None => var.as_tensor().detach().to_dtype(DType::F32)?,
            };
            // One pass: (3, ..) = new m, new v, new theta.
            let out = adamw_step(&theta, &g, &self.mv[i], &s)?;
            self.mv[i] = out.narrow(0, 0, 2)?;
            let new = out.get(2)?;
            var.set(&new.to_dtype(var.dtype())?)?;
            if let Some(w) = self.master.get_mut(i).and_then(Option::as_mut) {
                *w = new;
            }
        }
        Ok(())
    }

    /// Moments (`m.<param>`, `v.<param>`) and f32 master weights
    /// (`w.<param>`, low-precision parameters only) for a checkpoint. These
    /// are views of the live state, which [`AdamW::step`] updates in place
    /// on the CPU: write them out before the next step.
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            // Contiguous views of the (2, ..) moments; `get` cannot fail on
            // a first dimension of 2.
            if let (Ok(m), Ok(v)) = (self.mv[i].get(0), self.mv[i].get(1)) {
                out.insert(format!("m.{name}"), m);
                out.insert(format!("v.{name}"), v);
            }
            if let Some(w) = &self.master[i] {
                out.insert(format!("w.{name}"), w.clone());
            }
        }
        out
    }

    /// Restores moments and the step count saved by [`AdamW::state_tensors`].
    pub fn load_state(&mut self, tensors: &HashMap<String, Tensor>, steps: usize) -> Result<()> {
        for (i, (name, var)) in self.params.iter().enumerate() {
            let mut moments = Vec::with_capacity(2);
            for key in [format!("m.{name}"), format!("v.{name}")] {
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| Error::Invalid(format!("optimizer state has no tensor `{key}`")))?;
                if t.dims() != var.dims() {
                    return Err(Error::Invalid(format!(
                        "optimizer state `{key}` has shape {:?}, parameter has {:?}",
                        t.dims(),
                        var.dims()
                    )));
                }
                moments.push(t.to_device(var.device())?.to_dtype(DType::F32)?);
            }
            self.mv[i] = Tensor::stack(&moments, 0)?;
            if self.master[i].is_some() {
                let key = format!("w.{name}");
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| Error::Invalid(format!("optimizer state has no master weights `{key}`")))?;
                // A copy: the update writes master weights in place, and an
                // f32 CPU tensor would otherwise be the caller's own.
                self.master[i] = Some(t.to_device(var.device())?.to_dtype(DType::F32)?.copy()?);
            }
        }
        self.steps = steps;
        Ok(())
    }
}

/// Sums gradients of the same variables over several backward passes.
pub struct GradAccumulator {
    sums: Vec<Option<Tensor>>,
}

impl GradAccumulator {
    /// Empty sums for `n` parameters.
    pub fn new(n: usize) -> Self {
        GradAccumulator { sums: vec![None; n] }
    }

    /// Adds the gradients of `params` found in `store` (absent ones add nothing).
    pub fn add(&mut self, params: &[(String, Var)], store: &GradStore) -> Result<()> {
        for (slot, (_, var)) in self.sums.iter_mut().zip(params) {
            if let Some(g) = store.get(var.as_tensor()) {
                let g = g.detach().to_dtype(DType::F32)?;
                *slot = Some(match slot.take() {
                    Some(sum) => (sum + g)?,
                    None => g,
                });
            }
        }
        Ok(())
    }

    /// The summed gradients; parameters that never received one get zeros.
    pub fn finish(self, params: &[(String, Var)]) -> Result<Vec<Tensor>> {
        self.sums
            .into_iter()
            .zip(params)
            .map(|(s, (_, var))| match s {
                Some(g) => Ok(g),
                None => Ok(var.as_tensor().zeros_like()?.to_dtype(DType::F32)?),
            })
            .collect()
    }
}

/// The L2 norm of all gradients together (NaN/Inf if any entry is).
pub fn global_norm(grads: &[Tensor]) -> Result<f64> {
    let mut sq = 0.0f64;
    for g in grads {
        sq += sum_squares(g)?;
    }
    Ok(sq.sqrt())
}

/// Scales `grads` so their global norm is at most `max_norm` (0 = no
/// clipping). Returns the norm before clipping.
pub fn clip_global_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let norm = global_norm(grads)?;
    if max_norm > 0.0 && norm.is_finite() && norm > max_norm {
        // The 1e-6 follows torch.nn.utils.clip_grad_norm_: it keeps the
        // scale finite when the norm is tiny (not reachable here, as norm > max_norm).
        let scale = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            *g = (&*g * scale)?;
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn var(v: &[f32], shape: &[usize]) -> Var {
        Var::from_tensor(&Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()).unwrap()
    }

    fn vals(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn first_steps_match_hand_computation() {
        // Step 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2, update = sign(g)
        // (eps tiny). theta = theta (1 - lr wd) - lr sign(g) for the matrix;
        // the vector gets no decay.
        let hp = AdamParams { beta1: 0.9, beta2: 0.999, eps: 1e-12, weight_decay: 0.5 };
        let w = var(&[1.0, -2.0, 3.0, 0.5], &[2, 2]);
        let b = var(&[1.0, 1.0], &[2]);
        let mut opt = AdamW::new(vec![("w".into(), w.clone()), ("b".into(), b.clone())], hp).unwrap();
        let gw = Tensor::new(&[[0.5f32, -1.0], [2.0, 0.0]], &Device::Cpu).unwrap();
        let gb = Tensor::new(&[-3.0f32, 0.25], &Device::Cpu).unwrap();
        opt.step(&[gw.clone(), gb.clone()], 0.1).unwrap();
        let want_w = [1.0 * 0.95 - 0.1, -2.0 * 0.95 + 0.1, 3.0 * 0.95 - 0.1, 0.5 * 0.95];
        for (g, e) in vals(w.as_tensor()).iter().zip(want_w) {
            assert!((g - e).abs() < 1e-6, "{:?}", vals(w.as_tensor()));
        }
        let got = vals(b.as_tensor());
        assert!((got[0] - 1.1).abs() < 1e-6 && (got[1] - 0.9).abs() < 1e-6, "{got:?}");
        // Step 2 with the same gradient: m_hat = g, v_hat = g^2 again -> same move.
        opt.step(&[gw, gb], 0.1).unwrap();
        let got = vals(b.as_tensor());
        assert!((got[0] - 1.2).abs() < 1e-6 && (got[1] - 0.8).abs() < 1e-6, "{got:?}");
        assert_eq!(opt.steps(), 2);
    }

    #[test]
    fn state_round_trip_continues_identically() {
        let hp = AdamParams { beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.1 };
        let g = Tensor::new(&[[0.3f32, -0.7]], &Device::Cpu).unwrap();
        let a = var(&[1.0, 2.0], &[1, 2]);
        let mut opt_a = AdamW::new(vec![("a".into(), a.clone())], hp).unwrap();
        opt_a.step(std::slice::from_ref(&g), 0.01).unwrap();
        let b = var(&vals(a.as_tensor()), &[1, 2]);
        let mut opt_b = AdamW::new(vec![("a".into(), b.clone())], hp).unwrap();
        opt_b.load_state(&opt_a.state_tensors(), opt_a.steps()).unwrap();
        opt_a.step(std::slice::from_ref(&g), 0.01).unwrap();
        opt_b.step(&[g], 0.01).unwrap();
        assert_eq!(vals(a.as_tensor()), vals(b.as_tensor()));
        let mut wrong = opt_a.state_tensors();
        wrong.remove("v.a");
        assert!(opt_b.load_state(&wrong, 1).unwrap_err().to_string().contains("v.a"));
    }

    #[test]
    fn bf16_parameters_keep_small_updates_in_f32_master_weights() {
        let hp = AdamParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let w =
            Var::from_tensor(&Tensor::new(&[1.0f32], &Device::Cpu).unwrap().to_dtype(DType::BF16).unwrap()).unwrap();
        let mut opt = AdamW::new(vec![("w".into(), w.clone())], hp).unwrap();
        let g = Tensor::new(&[1.0f32], &Device::Cpu).unwrap();
        for _ in 0..1000 {
            opt.step(std::slice::from_ref(&g), 1e-5).unwrap();
        }
        // 1000 updates of 1e-5 each: 0.99 in f32; each alone is below bf16's step at 1.0.
        let master = opt.state_tensors()["w.w"].to_vec1::<f32>().unwrap()[0];
        assert!((master - 0.99).abs() < 1e-4, "{master}");
        let shown = w.as_tensor().to_dtype(DType::F32).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((shown - 0.99).abs() < 0.004, "{shown}");
    }

    #[test]
    fn clipping_and_accumulation() {
        let mut grads =
            vec![Tensor::new(&[3.0f32], &Device::Cpu).unwrap(), Tensor::new(&[4.0f32], &Device::Cpu).unwrap()];
        let norm = clip_global_norm(&mut grads, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        assert!((global_norm(&grads).unwrap() - 1.0).abs() < 1e-5);
        let mut same = vec![Tensor::new(&[0.3f32], &Device::Cpu).unwrap()];
        clip_global_norm(&mut same, 1.0).unwrap();
        assert_eq!(vals(&same[0]), vec![0.3]);
        let nan = vec![Tensor::new(&[f32::NAN], &Device::Cpu).unwrap()];
        assert!(global_norm(&nan).unwrap().is_nan());

        let x = var(&[2.0], &[1]);
        let y = var(&[5.0], &[1]);
        let params = vec![("x".to_string(), x.clone()), ("y".to_string(), y)];
        let mut acc = GradAccumulator::new(2);
        for k in [1.0, 3.0] {
            let loss = (x.as_tensor() * k).unwrap().sum_all().unwrap();
            acc.add(&params, &loss.backward().unwrap()).unwrap();
        }
        let g = acc.finish(&params).unwrap();
        assert_eq!(vals(&g[0]), vec![4.0]);
        assert_eq!(vals(&g[1]), vec![0.0]);
    }
}
