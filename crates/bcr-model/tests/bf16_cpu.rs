//! A bf16 model on the CPU keeps its embedding and projection matrices in
//! bf16 and computes everything else in f32 (`CausalLm::with_f32_activations`,
//! applied by the loaders). The tiny fixtures hold bf16-rounded weights, so
//! the bf16 and f32 loads have the same weight values: the only difference
//! left is the bf16 kernel rounding its input rows to bf16 (64 rows at a
//! time, without gradients, on CPUs with AVX512_BF16; elsewhere the weights
//! are converted to f32 and the logits match exactly). With gradients the
//! weights are converted, and the result equals the f32 product exactly.

use std::path::PathBuf;

use bcr_model::{load_hf_dir, DType, Device, HfLoadOptions, KvCache, Tensor};

const FIXTURES: [&str; 3] = ["tiny-llama", "tiny-qwen2", "tiny-qwen3"];

fn load(name: &str, dtype: DType) -> bcr_model::CausalLm {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    load_hf_dir(&dir, &HfLoadOptions { device: Device::Cpu, dtype: dtype.into() }).unwrap().1
}

fn ids(b: usize, t: usize, vocab: usize, salt: usize) -> Tensor {
    let flat: Vec<u32> = (0..b * t).map(|i| ((i * 7919 + salt * 104_729 + 13) % vocab) as u32).collect();
    Tensor::from_vec(flat, (b, t), &Device::Cpu).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
    d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn a_bf16_model_on_the_cpu_computes_in_f32() {
    for name in FIXTURES {
        let lm = load(name, DType::BF16);
        assert_eq!((lm.dtype(), lm.compute_dtype()), (DType::BF16, DType::F32), "{name}");
        let f32_lm = load(name, DType::F32);
        assert_eq!(f32_lm.compute_dtype(), DType::F32, "{name}");
    }
}

#[test]
fn prompts_of_many_rows_track_the_f32_model() {
    // 90 rows: two blocks of the bf16 kernel. Logits have std ~1.5;
    // measured up to 0.09 on an AMD EPYC (Zen 4).
    for name in FIXTURES {
        let (a, b) = (load(name, DType::BF16), load(name, DType::F32));
        let x = ids(3, 30, a.config().vocab_size, 1);
        let (la, lb) = (a.forward(&x, &[0, 0, 0], None).unwrap(), b.forward(&x, &[0, 0, 0], None).unwrap());
        assert_eq!(la.dtype(), DType::F32);
        let d = max_diff(&la, &lb);
        println!("{name}: 90 rows, max |bf16 - f32| = {d:.2e}");
        assert!(d < 0.2, "{name}: 90-row logits differ by {d}");
    }
}

#[test]
fn decode_steps_track_the_f32_model() {
    // Logits have std ~1.5; rounding the kernel's inputs to bf16 (8 bits
    // of mantissa) moved them by up to 0.064 on an AMD EPYC (Zen 4).
    for name in FIXTURES {
        let (a, b) = (load(name, DType::BF16), load(name, DType::F32));
        let x = ids(4, 12, a.config().vocab_size, 2);
        let (mut ca, mut cb) = (KvCache::new(a.config().num_hidden_layers), KvCache::new(b.config().num_hidden_layers));
        let pos = [0; 4];
        let mut worst = 0f64;
        for s in 0..12 {
            let step = x.narrow(1, s, 1).unwrap();
            let p: Vec<usize> = pos.iter().map(|&p| p + s).collect();
            let la = a.forward(&step, &p, Some(&mut ca)).unwrap();
            let lb = b.forward(&step, &p, Some(&mut cb)).unwrap();
            worst = worst.max(max_diff(&la, &lb));
        }
        println!("{name}: 12 decode steps of 4 rows, max |bf16 - f32| = {worst:.2e}");
        assert!(worst < 0.2, "{name}: decode logits differ by {worst}");
    }
}

#[test]
fn cached_bf16_decoding_equals_its_full_forward() {
    for name in FIXTURES {
        let lm = load(name, DType::BF16);
        let x = ids(8, 10, lm.config().vocab_size, 3); // 80 rows: two blocks of the bf16 kernel
        let full = lm.forward(&x, &[0; 8], None).unwrap();
        let mut cache = KvCache::new(lm.config().num_hidden_layers);
        let mut start = 0;
        for chunk in [4, 1, 2, 3] {
            let part = lm.forward(&x.narrow(1, start, chunk).unwrap(), &[start; 8], Some(&mut cache)).unwrap();
            let d = max_diff(&part, &full.narrow(1, start, chunk).unwrap());
            assert!(d < 1e-4, "{name}: chunk at {start}: max diff {d}");
            start += chunk;
        }
    }
}

#[test]
fn gradients_reach_bf16_weights_through_the_conversion() {
    let dev = Device::Cpu;
    let x = candle_core::Var::from_tensor(&Tensor::arange(0f32, 12.0, &dev).unwrap().reshape((2, 6)).unwrap()).unwrap();
    let w = candle_core::Var::from_tensor(
        &(Tensor::arange(0f32, 18.0, &dev).unwrap().reshape((3, 6)).unwrap() * 0.25)
            .unwrap()
            .to_dtype(DType::BF16)
            .unwrap(),
    )
    .unwrap();
    let y = bcr_model::ops::linear(&x, &w, None).unwrap();
    assert_eq!(y.dtype(), DType::F32);
    let want = x.matmul(&w.to_dtype(DType::F32).unwrap().t().unwrap()).unwrap();
    assert!(max_diff(&y, &want) == 0.0);
    let g = y.sum_all().unwrap().backward().unwrap();
    let gw = g.get(&w).expect("a gradient for the bf16 weight");
    assert_eq!(gw.dtype(), DType::BF16);
    // d/dw sum(x w^T) = column sums of x, per output row.
    let xs = x.sum(0).unwrap().to_vec1::<f32>().unwrap();
    for row in gw.to_dtype(DType::F32).unwrap().to_vec2::<f32>().unwrap() {
        assert_eq!(row, xs);
    }
    assert!(g.get(&x).is_some());
}
