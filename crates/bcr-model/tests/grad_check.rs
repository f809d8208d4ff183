//! Finite-difference checks of every op on the training path (f64), and the
//! failure mode of fused candle kernels: every weight of a tiny model must
//! receive a nonzero gradient from a log-prob loss.

mod common;

use bcr_model::ops::{
    attention_mask, attention_weights, entropy, grouped_attention, linear, log_softmax_gather, rms_norm,
    rms_norm_composed, rope, rope_heads, silu_mlp, softmax_composed, softmax_last, Rotary,
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
fn rope_heads_matches_finite_differences_and_the_composition() {
    let inv_freq = [1.0, 0.1, 0.01];
    let rot = Rotary::new(&[0, 1, 2, 7, 8, 9], 2, &inv_freq, 1.2, DType::F64, &Device::Cpu).unwrap();
    // (b, t, h, d) in, (b, h, t, d) out.
    let x = tensor(&[2, 3, 2, 6], 31);
    let fused = rope_heads(&x, &rot).unwrap();
    let composed = rope(&x.transpose(1, 2).unwrap().contiguous().unwrap(), &rot).unwrap();
    let d = (fused - composed).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
    assert!(d < 1e-12, "fused rope differs from the composition by {d}");
    check(
        "rope_heads",
        vec![x],
        Box::new(move |x| rope_heads(&x[0], &rot).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn linear_matches_finite_differences() {
    // A 3-D input with a bias: the fused node and its backward.
    let inputs = vec![tensor(&[2, 3, 4], 32), tensor(&[5, 4], 33), tensor(&[5], 34)];
    check(
        "linear",
        inputs,
        Box::new(|x| linear(&x[0], &x[1], Some(&x[2])).map_err(|e| candle_core::Error::Msg(e.to_string()))),
    );
}

#[test]
fn attention_weights_match_finite_differences() {
    let valid = vec![vec![true; 4], vec![false, true, true, true]];
    let mask = attention_mask(&valid, 1, 3, DType::F64, &Device::Cpu).unwrap();
    check(
        "attention_weights",
        vec![(tensor(&[2, 2, 3, 4], 35) * 3.0).unwrap()],
        Box::new(move |x| {
            attention_weights(&x[0], Some(&mask), 0.7).map_err(|e| candle_core::Error::Msg(e.to_string()))
        }),
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
fn entropy_matches_finite_differences() {
    check(
        "entropy",
        vec![(tensor(&[2, 3, 7], 36) * 4.0).unwrap()],
        Box::new(|x| entropy(&x[0]).map_err(|e| candle_core::Error::Msg(e.to_string()))),
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

/// Loss value and gradients of `f` at `inputs`, in f32.
fn value_and_grads(inputs: &[Tensor], f: &dyn Fn(&[Tensor]) -> Tensor) -> (Vec<f32>, Vec<Vec<f32>>) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let out = f(&ts);
    let r = tensor(out.dims(), 77).to_dtype(DType::F32).unwrap();
    let grads = (&out * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    (flat(&out), vars.iter().map(|v| flat(grads.get(v.as_tensor()).expect("gradient"))).collect())
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{what}[{i}]: fused {x} vs composed {y}");
    }
}

/// The f32 training path (fused nodes, AVX-512 rows where the CPU has
/// them) against plain candle compositions: values and gradients.
#[test]
fn fused_nodes_match_compositions_in_f32_with_gradients() {
    let f32t = |shape: &[usize], salt: u64| tensor(shape, salt).to_dtype(DType::F32).unwrap();
    // Grouped attention: h = 4, kv = 2, t = l = 19 (a partial SIMD chunk),
    // head dimension 16, a padded row.
    let (b, h, kv, t, d) = (2, 4, 2, 19, 16);
    let mut valid = vec![vec![true; t]; b];
    valid[1][..3].fill(false);
    let mask = attention_mask(&valid, 0, t, DType::F32, &Device::Cpu).unwrap();
    let scale = 0.25;
    let inputs = [f32t(&[b, h, t, d], 41), f32t(&[b, kv, t, d], 42), f32t(&[b, kv, t, d], 43)];
    let fused = value_and_grads(&inputs, &|x| grouped_attention(&x[0], &x[1], &x[2], Some(&mask), scale).unwrap());
    let composed = value_and_grads(&inputs, &|x| {
        let g = h / kv;
        let qg = x[0].reshape((b, kv, g * t, d)).unwrap();
        let s = qg.matmul(&x[1].t().unwrap()).unwrap().reshape((b, h, t, t)).unwrap();
        let p = softmax_composed(&(s * scale).unwrap().broadcast_add(&mask).unwrap()).unwrap();
        p.reshape((b, kv, g * t, t)).unwrap().matmul(&x[2]).unwrap().reshape((b, h, t, d)).unwrap()
    });
    assert_close(&fused.0, &composed.0, "attention");
    for (k, (a, c)) in fused.1.iter().zip(&composed.1).enumerate() {
        assert_close(a, c, &format!("attention gradient {k}"));
    }
    // SwiGLU MLP and RMSNorm.
    let inputs = [f32t(&[3, 5, 8], 44), f32t(&[12, 8], 45), f32t(&[12, 8], 46), f32t(&[8, 12], 47), f32t(&[8], 48)];
    let fused =
        value_and_grads(&inputs, &|x| silu_mlp(&rms_norm(&x[0], &x[4], 1e-6).unwrap(), &x[1], &x[2], &x[3]).unwrap());
    let composed = value_and_grads(&inputs, &|x| {
        let n = rms_norm_composed(&x[0], &x[4], 1e-6).unwrap().reshape((15, 8)).unwrap();
        let gate = n.matmul(&x[1].t().unwrap()).unwrap().silu().unwrap();
        let up = n.matmul(&x[2].t().unwrap()).unwrap();
        (gate * up).unwrap().matmul(&x[3].t().unwrap()).unwrap().reshape((3, 5, 8)).unwrap()
    });
    assert_close(&fused.0, &composed.0, "mlp");
    for (k, (a, c)) in fused.1.iter().zip(&composed.1).enumerate() {
        assert_close(a, c, &format!("mlp gradient {k}"));
    }
    // Log-probabilities of targets and the entropy over a 1000-token
    // vocabulary (several SIMD chunks and a partial one).
    let targets = Tensor::new(&[3u32, 999, 0, 512, 7], &Device::Cpu).unwrap();
    let inputs = [(f32t(&[5, 1000], 49) * 6.0).unwrap()];
    let fused = value_and_grads(&inputs, &|x| {
        (log_softmax_gather(&x[0], &targets).unwrap() + entropy(&x[0]).unwrap()).unwrap()
    });
    let composed = value_and_grads(&inputs, &|x| {
        let lse = {
            let m = x[0].max_keepdim(1).unwrap().detach();
            (x[0].broadcast_sub(&m).unwrap().exp().unwrap().sum_keepdim(1).unwrap().log().unwrap() + m).unwrap()
        };
        let log_p = x[0].broadcast_sub(&lse).unwrap();
        let lp = log_p.gather(&targets.unsqueeze(1).unwrap(), 1).unwrap().squeeze(1).unwrap();
        let h = (log_p.exp().unwrap() * &log_p).unwrap().sum(1).unwrap().neg().unwrap();
        (lp + h).unwrap()
    });
    assert_close(&fused.0, &composed.0, "log-probs + entropy");
    assert_close(&fused.1[0], &composed.1[0], "log-probs + entropy gradient");
}
