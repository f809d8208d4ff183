//! Seeded random initialisation of a model's weights into a `VarMap`
//! (training from scratch, tests). candle's CPU RNG cannot be seeded, so
//! the numbers come from ChaCha8 here: the same seed gives the same
//! weights on every machine.
//!
//! Matrices are drawn from `N(0, std^2)` (GPT-2 style, Radford et al.
//! 2019, with `std = 0.02` by default); RMSNorm weights start at 1 and
//! biases at 0, as in transformers' `_init_weights`.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::CausalLm;
use crate::ModelConfig;

/// How to draw the initial weights.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// RNG seed.
    pub seed: u64,
    /// Standard deviation of matrix entries.
    pub std: f64,
    /// Perturb norm weights and biases by `N(0, std^2)` too (tests use it
    /// so that every parameter matters numerically).
    pub perturb_norms_and_biases: bool,
    /// Dtype of the variables.
    pub dtype: DType,
    /// Device of the variables.
    pub device: Device,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions { seed: 0, std: 0.02, perturb_norms_and_biases: false, dtype: DType::F32, device: Device::Cpu }
    }
}

/// A `VarMap` holding every tensor `CausalLm::new(cfg, ..)` reads, drawn
/// with `opts`; build the model with `VarBuilder::from_varmap`.
pub fn init_varmap(cfg: &ModelConfig, opts: &InitOptions) -> Result<VarMap> {
    if !(opts.std.is_finite() && opts.std >= 0.0) {
        return Err(Error::Input(format!("init std must be finite and >= 0, found {}", opts.std)));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().map_err(|_| Error::Input("VarMap lock poisoned".to_string()))?;
        for (name, shape) in CausalLm::expected_tensors(cfg) {
            let n: usize = shape.iter().product();
            let is_norm = name.ends_with("norm.weight");
            let is_bias = name.ends_with(".bias");
            let noise = if is_norm || is_bias {
                if opts.perturb_norms_and_biases {
                    opts.std
                } else {
                    0.0
                }
            } else {
                opts.std
            };
            let base = if is_norm { 1.0 } else { 0.0 };
            let values: Vec<f64> = (0..n).map(|_| base + noise * normal(&mut rng)).collect();
            let t = Tensor::from_vec(values, shape, &opts.device)?.to_dtype(opts.dtype)?;
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    Ok(varmap)
}

/// One standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
