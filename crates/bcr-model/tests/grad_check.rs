//! Finite-difference checks of every op on the training path (f64), and the
//! failure mode of fused candle kernels: every weight of a tiny model must
//! receive a nonzero gradient from a log-prob loss.

mod common;

use bcr_model::ops::{
    attention_mask, grouped_attention, log_softmax_gather, rms_norm, rms_norm_composed, rope, silu_mlp,
    softmax_composed, softmax_last, Rotary,
};
use bcr_model::{completion_logprobs, DType, Device, Grad, LogprobOptions, SeqPair, Tensor};
use candle_core::Var;

type Loss<'a> = Box<dyn Fn(&[Tensor]) -> candle_core::Result<Tensor> + 'a>;

/// Deterministic pseudo-random f64 values in (-1, 1).
fn values(n: usize, salt: u64) -> Vec<f64> {
    let mut s = salt.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn tensor(shape: &[usize], salt: u64) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(values(n, salt), shape, &Device::Cpu).unwrap()
}

/// Compare d(sum(f(inputs) * r))/d(input) with central differences, for
/// every input and every coordinate.
fn check(name: &str, inputs: Vec<Tensor>, f: Loss) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&ts).unwrap();
    let r = tensor(out.dims(), 99);
    let loss = |xs: &[Tensor]| f(xs).unwrap().mul(&r).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap();
    let grads = (f(&ts).unwrap() * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let eps = 1e-6;
    for (k, v) in vars.iter().enumerate() {
        let g = grads
            .get(v.as_tensor())
            .unwrap_or_else(|| panic!("{name}: input {k} got no gradient"))
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let base = inputs[k].flatten_all().unwrap().to_vec1::<f64>().unwrap();
        for i in 0..base.len() {
            let shifted = |delta: f64| {
                let mut x = base.clone();
                x[i] += delta;
                let mut xs = inputs.clone();
                xs[k] = Tensor::from_vec(x, inputs[k].dims(), &Device::Cpu).unwrap();
                loss(&xs)
            };
            let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            let tol = 1e-6 * (1.0 + fd.abs());
            assert!((fd - g[i]).abs() < tol, "{name}: input {k}[{i}]: analytic {} vs finite difference {fd}", g[i]);
        }
    }
}

#[test]
fn rms_norm_matches_finite_differences() {
    check(
        "rms_norm",
        vec![tensor(&[2, 3, 8], 1), tensor(&[8], 2)],
        Box::new(|x| rms_norm(&x[0], &x[1], 1e-6).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn composed_rms_norm_matches_finite_differences() {
    check(
        "rms_norm_composed",
        vec![tensor(&[2, 3, 8], 21), tensor(&[8], 22)],
        Box::new(|x| rms_norm_composed(&x[0], &x[1], 1e-6).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn composed_softmax_matches_finite_differences() {
    check(
        "softmax_composed",
        vec![(tensor(&[3, 7], 23) * 3.0).unwrap()],
        Box::new(|x| softmax_composed(&x[0]).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn fused_and_composed_agree_in_f32() {
    let x = (tensor(&[4, 5, 16], 24) * 5.0).unwrap().to_dtype(DType::F32).unwrap();
    let w = tensor(&[16], 25).to_dtype(DType::F32).unwrap();
    let pairs = [
        (rms_norm(&x, &w, 1e-5).unwrap(), rms_norm_composed(&x, &w, 1e-5).unwrap()),
        (softmax_last(&x).unwrap(), softmax_composed(&x).unwrap()),
    ];
    for (a, b) in pairs {
        let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(d < 1e-5, "max diff {d}");
    }
}

#[test]
fn rope_matches_finite_differences() {
    let inv_freq = [1.0, 0.1, 0.01];
    let rot = Rotary::new(&[0, 1, 2, 7, 8, 9], 2, &inv_freq, 1.2, DType::F64, &Device::Cpu).unwrap();
    check(
        "rope",
        vec![tensor(&[2, 2, 3, 6], 3)],
        Box::new(move |x| rope(&x[0], &rot).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn softmax_matches_finite_differences() {
    check(
        "softmax",
        vec![(tensor(&[3, 7], 4) * 3.0).unwrap()],
        Box::new(|x| softmax_last(&x[0]).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn log_softmax_gather_matches_finite_differences() {
    let targets = Tensor::new(&[0u32, 6, 3, 3], &Device::Cpu).unwrap();
    check(
        "log_softmax_gather",
        vec![(tensor(&[4, 7], 5) * 4.0).unwrap()],
        Box::new(move |x| log_softmax_gather(&x[0], &targets).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn silu_mlp_matches_finite_differences() {
    let inputs = vec![tensor(&[2, 3, 4], 6), tensor(&[5, 4], 7), tensor(&[5, 4], 8), tensor(&[4, 5], 9)];
    check(
        "silu_mlp",
        inputs,
        Box::new(|x| silu_mlp(&x[0], &x[1], &x[2], &x[3]).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn masked_grouped_attention_matches_finite_differences() {
    // Row 1 has a padding slot at 0: the mask must block it without NaNs.
    let valid = vec![vec![true; 4], vec![false, true, true, true]];
    let mask = attention_mask(&valid, 1, 3, DType::F64, &Device::Cpu).unwrap();
    let inputs = vec![tensor(&[2, 4, 3, 4], 10), tensor(&[2, 2, 4, 4], 11), tensor(&[2, 2, 4, 4], 12)];
    check(
        "grouped_attention",
        inputs,
        Box::new(move |x| {
            grouped_attention(&x[0], &x[1], &x[2], Some(&mask), 0.5).map_err(|e| candle_core::Error::Msg(e.to_string()))
        }),
    );
}

#[test]
fn every_weight_gets_a_gradient_from_a_logprob_loss() {
    for (family, cfg) in common::families() {
        let (lm, vm) = common::random_model(&cfg, DType::F32, 5);
        let pairs = vec![
            SeqPair { prompt: common::tokens(5, cfg.vocab_size, 1), completion: common::tokens(4, cfg.vocab_size, 2) },
            SeqPair { prompt: common::tokens(3, cfg.vocab_size, 3), completion: common::tokens(6, cfg.vocab_size, 4) },
        ];
        let out = completion_logprobs(&lm, &pairs, &LogprobOptions { micro_batch: 2, grad: Grad::Track }).unwrap();
        let loss = (out.logprobs * out.mask).unwrap().sum_all().unwrap().neg().unwrap();
        let grads = loss.backward().unwrap();
        let data = vm.data().lock().unwrap();
        assert_eq!(data.len(), bcr_model::CausalLm::expected_tensors(&cfg).len());
        for (name, var) in data.iter() {
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("{family}: {name} got no gradient"));
            let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0 && norm.is_finite(), "{family}: {name} gradient norm {norm}");
        }
    }
}

#[test]
fn whole_model_logprob_gradient_matches_finite_differences() {
    let cfg = common::tiny_config("qwen3", r#", "head_dim": 12"#);
    let (lm, vm) = common::random_model(&cfg, DType::F64, 9);
    let pairs = vec![
        SeqPair { prompt: common::tokens(4, cfg.vocab_size, 1), completion: common::tokens(3, cfg.vocab_size, 2) },
        SeqPair { prompt: common::tokens(2, cfg.vocab_size, 5), completion: common::tokens(5, cfg.vocab_size, 6) },
    ];
    let opts = LogprobOptions { micro_batch: 1, grad: Grad::Track };
    let loss = || {
        let out = completion_logprobs(&lm, &pairs, &opts).unwrap();
        out.logprobs.sum_all().unwrap()
    };
    let grads = loss().backward().unwrap();
    let data = vm.data().lock().unwrap();
    for name in ["model.layers.0.self_attn.k_norm.weight", "model.layers.1.mlp.up_proj.weight", "model.norm.weight"] {
        let var = &data[name];
        let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let orig = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        for i in [0, orig.len() / 2, orig.len() - 1] {
            let at = |delta: f64| {
                let mut x = orig.clone();
                x[i] += delta;
                var.set(&Tensor::from_vec(x, var.as_tensor().dims(), &Device::Cpu).unwrap()).unwrap();
                loss().to_scalar::<f64>().unwrap()
            };
            let fd = (at(1e-6) - at(-1e-6)) / 2e-6;
            var.set(&Tensor::from_vec(orig.clone(), var.as_tensor().dims(), &Device::Cpu).unwrap()).unwrap();
            assert!((fd - g[i]).abs() < 1e-5 * (1.0 + fd.abs()), "{name}[{i}]: analytic {} vs fd {fd}", g[i]);
        }
    }
}
