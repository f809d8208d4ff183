//! Our side of `bench/train_step`: forward + backward + AdamW of a
//! next-token log-prob loss on random weights of a given config, timed.
//!
//! ```text
//! cargo run --release -p bcr-model --example train_step -- \
//!     --config bench/train_step/configs/tiny-qwen3.json --batch 8 --seq 512 --steps 3 --warmup 1 [--device cuda:0]
//! ```
//!
//! Prints one JSON line: tokens/s of the whole step and seconds spent in
//! forward, backward and the optimizer (means over the timed steps).

use std::path::PathBuf;
use std::time::Instant;

use bcr_model::ops::{adamw_step, adamw_step_in_place, AdamWStep};
use bcr_model::{
    completion_logprobs, init_varmap, CausalLm, DType, Grad, InitOptions, LogprobOptions, ModelConfig, SeqPair, Tensor,
    VarBuilder,
};

struct Args {
    config: PathBuf,
    batch: usize,
    seq: usize,
    steps: usize,
    warmup: usize,
    device: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { config: PathBuf::new(), batch: 8, seq: 512, steps: 3, warmup: 1, device: "cpu".into() };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = || value.parse::<usize>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--config" => args.config = PathBuf::from(&value),
            "--batch" => args.batch = num()?,
            "--seq" => args.seq = num()?,
            "--steps" => args.steps = num()?,
            "--warmup" => args.warmup = num()?,
            "--device" => args.device = value.clone(),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.config.as_os_str().is_empty() || args.seq < 2 || args.batch == 0 || args.steps == 0 {
        return Err("usage: train_step --config FILE [--batch B] [--seq T>=2] [--steps N>=1] [--warmup W] [--device cpu|cuda:K]".into());
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    bcr_model::tune_cpu_threads();
    let args = parse_args()?;
    let cfg = ModelConfig::from_file(&args.config)?;
    let device = bcr_model::parse_device(&args.device)?;
    let vm = init_varmap(&cfg, &InitOptions { seed: 0, device: device.clone(), ..InitOptions::default() })?;
    let lm = CausalLm::new(&cfg, VarBuilder::from_varmap(&vm, DType::F32, &device))?;
    // AdamW as bcr's trainer runs it (`ops::adamw_step_in_place` on the
    // CPU: moments, then the parameter, no new buffers), with torch.optim.AdamW's defaults: lr 1e-4 here, betas
    // (0.9, 0.999), eps 1e-8, weight decay 0.01 on every parameter.
    let vars = vm.all_vars();
    let mut moments = vars
        .iter()
        .map(|v| {
            let mut dims = vec![2];
            dims.extend_from_slice(v.dims());
            Tensor::zeros(dims, DType::F32, &device)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    // Deterministic tokens; the first is the prompt, the rest are scored.
    let pairs: Vec<SeqPair> = (0..args.batch)
        .map(|b| {
            let ids: Vec<u32> = (0..args.seq).map(|i| ((i * 31 + b * 17 + 7) % cfg.vocab_size) as u32).collect();
            SeqPair { prompt: ids[..1].to_vec(), completion: ids[1..].to_vec() }
        })
        .collect();
    let opts = LogprobOptions { micro_batch: args.batch, grad: Grad::Track };
    let (mut fwd, mut bwd, mut step) = (0.0, 0.0, 0.0);
    for i in 0..args.warmup + args.steps {
        let t0 = Instant::now();
        let out = completion_logprobs(&lm, &pairs, &opts)?;
        let loss = ((out.logprobs.sum_all()? / out.mask.sum_all()?.to_scalar::<f32>()? as f64)? * -1.0)?;
        let _ = loss.to_scalar::<f32>()?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        device.synchronize()?; // GPU kernels run asynchronously
        let t2 = Instant::now();
        let hp = AdamWStep { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, step: i + 1 };
        for (var, mv) in vars.iter().zip(moments.iter_mut()) {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            if adamw_step_in_place(var.as_tensor(), g, mv, &hp)? {
                continue;
            }
            let out = adamw_step(var.as_tensor(), g, mv, &hp)?;
            *mv = out.narrow(0, 0, 2)?;
            var.set(&out.get(2)?)?;
        }
        device.synchronize()?;
        let t3 = Instant::now();
        if i >= args.warmup {
            fwd += (t1 - t0).as_secs_f64();
            bwd += (t2 - t1).as_secs_f64();
            step += (t3 - t2).as_secs_f64();
        }
    }
    let n = args.steps as f64;
    let total = (fwd + bwd + step) / n;
    let tokens = (args.batch * args.seq) as f64;
    println!(
        "{{\"impl\": \"bcr-model (candle)\", \"device\": \"{}\", \"tokens_per_s\": {:.1}, \"forward_s\": {:.3}, \"backward_s\": {:.3}, \"optimizer_s\": {:.3}, \"params\": {}}}",
        args.device,
        tokens / total,
        fwd / n,
        bwd / n,
        step / n,
        vm.all_vars().iter().map(|v| v.elem_count()).sum::<usize>()
    );
    Ok(())
}
