//! Evidence that the trainer is right and learns, on [`crate::testing::tiny`]:
//! a finite-difference check of the gradient of the whole loss, a learning
//! curve on a verifiable task, bit-identical resume, and the NaN guard.

use bcr_core::{Pack, Problem};
use candle_core::{DType, Tensor};

use crate::agg::Normaliser;
use crate::config::{LossAgg, TrainConfig};
use crate::error::{Error, Result};
use crate::loss::Clip;
use crate::policy::Policy;
use crate::task::Task;
use crate::testing::tiny::TinyPolicy;
use crate::trainer::Trainer;
use crate::update::{microbatch_loss, LossSettings, TrainRow};
use bcr_core::PackStrategy;
use bcr_core::Score;

/// Answer of problem `d`: `(d + 3) mod 10`, one digit per problem; a response
/// answers the k-th problem of its pack with its k-th character.
pub(crate) struct ShiftTask;

impl Task for ShiftTask {
    fn user_message(&self, pack: &Pack) -> Result<String> {
        Ok(pack.problems.iter().map(|p| p.question.as_str()).collect::<Vec<_>>().join(" "))
    }

    fn score(&self, pack: &Pack, response: &str, _tokens: usize, _budget: usize) -> Result<Score> {
        let chars: Vec<char> = response.chars().filter(|c| !c.is_whitespace()).collect();
        let answers: Vec<Option<String>> = (0..pack.n).map(|k| chars.get(k).map(char::to_string)).collect();
        let correct: Vec<bool> =
            pack.problems.iter().zip(&answers).map(|(p, a)| a.as_ref() == Some(&p.answer)).collect();
        let accuracy = correct.iter().filter(|&&c| c).count() as f64 / pack.n as f64;
        let format = if chars.len() == pack.n { 1.0 } else { 0.0 };
        let diagnostics = Vec::new();
        Ok(Score { answers, correct, accuracy, format, length_penalty: 0.0, reward: accuracy, diagnostics })
    }
}

pub(crate) fn problems(count: usize) -> Vec<Problem> {
    (0..count)
        .map(|i| {
            let d = i % 10;
            Problem {
                id: format!("p{i}"),
                question: d.to_string(),
                answer: ((d + 3) % 10).to_string(),
                difficulty: Some((d % 3) as f64),
                source: None,
            }
        })
        .collect()
}

pub(crate) fn config(dir: &std::path::Path, steps: usize) -> TrainConfig {
    let mut c = TrainConfig::default();
    c.run.out_dir = dir.display().to_string();
    c.run.steps = steps;
    c.run.save_every = 0;
    c.run.samples_per_step = 1;
    c.data.n = vec![1];
    c.data.budget = 1;
    c.data.strategy = PackStrategy::Random;
    c.rollout.group_size = 8;
    c.rollout.packs_per_step = 8;
    c.optim.lr = 0.05;
    c.optim.micro_batch = 16;
    c
}

fn weights<P: Policy>(p: &P) -> Vec<Vec<f32>> {
    p.named_vars().iter().map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect()
}

#[test]
fn whole_loss_gradient_matches_finite_differences() {
    let policy = TinyPolicy::new(3, 4, DType::F64).unwrap();
    let prompts: Vec<Vec<u32>> = vec![vec![1, 10, 2], vec![7], vec![3, 3]];
    let completions: Vec<Vec<u32>> = vec![vec![4, 5, 11], vec![0], vec![9, 10, 8, 11], vec![2, 2]];
    let advs = [1.2, -0.7, 0.4, -1.5];
    let rows: Vec<TrainRow> = completions
        .iter()
        .enumerate()
        .map(|(i, c)| TrainRow { prompt: &prompts[i % 3], completion: c, advantage: advs[i] })
        .collect();
    let pairs: Vec<(&[u32], &[u32])> = rows.iter().map(|r| (r.prompt, r.completion)).collect();
    let base = policy.score(&pairs, false).unwrap().logprobs.detach();
    // Behaviour and reference log-probs away from the current ones, with
    // shifts that put some ratios inside and some beyond the clip range
    // (never at its edge, where the loss has a kink).
    let shift = |k: f64| {
        let (b, t) = base.dims2().unwrap();
        let v: Vec<f64> = (0..b * t).map(|i| k * (((i * 7) % 5) as f64 - 2.0)).collect();
        (&base + Tensor::from_vec(v, (b, t), base.device()).unwrap()).unwrap()
    };
    let (old, reference) = (shift(0.13), shift(-0.21));
    let norm = Normaliser { tokens: 10.0, seqs: 4.0, max_len: 5.0 };
    for agg in [LossAgg::TokenMean, LossAgg::SeqMeanTokenMean, LossAgg::DrgrpoConstant] {
        let s = LossSettings {
            clip: Clip { low: 0.2, high: 0.28, dual: Some(3.0) },
            agg,
            kl_coef: 0.3,
            entropy_coef: 0.05,
            budget: 5,
        };
        let loss = |p: &TinyPolicy| microbatch_loss(p, &rows, Some(&old), Some(&reference), &norm, &s).unwrap().total;
        let grads = loss(&policy).backward().unwrap();
        let mut checked = 0;
        for (name, var) in policy.named_vars() {
            let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            let theta = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
            for i in 0..theta.len() {
                let at = |delta: f64| {
                    let mut v = theta.clone();
                    v[i] += delta;
                    var.set(&Tensor::from_vec(v, var.shape(), var.device()).unwrap()).unwrap();
                    let l = loss(&policy).to_scalar::<f64>().unwrap();
                    var.set(&Tensor::from_vec(theta.clone(), var.shape(), var.device()).unwrap()).unwrap();
                    l
                };
                let h = 1e-6;
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "{agg:?} {name}[{i}]: analytic {} vs fd {fd}",
                    g[i]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 12 * 4 * 3 + 4 + 12);
    }
}

#[test]
fn tiny_policy_learns_the_shift_task() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 40);
    cfg.optim.lr = 0.02;
    let policy = TinyPolicy::new(11, 32, DType::F32).unwrap();
    let mut trainer = Trainer::new(cfg, policy, ShiftTask, problems(200)).unwrap();
    let summary = trainer.run(&|| false, true).unwrap();
    let rewards = crate::testing::reward_curve(dir.path());
    let first = rewards[..5].iter().sum::<f64>() / 5.0;
    let last = rewards[rewards.len() - 5..].iter().sum::<f64>() / 5.0;
    eprintln!("shift task: first 5 steps {first:.3}, last 5 steps {last:.3}; curve {rewards:.2?}");
    // Chance is 1/12 per sample; the policy must move well beyond it.
    assert!(rewards[0] < 0.25, "rewards {rewards:?}");
    assert!(last > first + 0.4, "first {first:.3} last {last:.3}: {rewards:?}");
    assert_eq!(summary.steps, 40);
    assert!(dir.path().join("summary.json").exists() && dir.path().join("samples.jsonl").exists());
}

#[test]
fn two_steps_resume_two_steps_is_bit_identical_to_four() {
    let mk = |dir: &std::path::Path| {
        let mut c = config(dir, 4);
        c.data.n = vec![1, 2];
        c.data.budget = 2;
        c.data.strategy = PackStrategy::Stratified;
        c.algo.epochs = 2;
        c.algo.kl_coef = 0.1;
        c.algo.filter_equal_groups = false;
        c.optim.micro_batch = 5;
        c.optim.schedule = crate::config::ScheduleKind::Cosine;
        c.optim.warmup_steps = 1;
        c
    };
    let straight = tempfile::tempdir().unwrap();
    let mut a =
        Trainer::new(mk(straight.path()), TinyPolicy::new(5, 8, DType::F32).unwrap(), ShiftTask, problems(30)).unwrap();
    a.run(&|| false, true).unwrap();

    let split = tempfile::tempdir().unwrap();
    let mut b =
        Trainer::new(mk(split.path()), TinyPolicy::new(5, 8, DType::F32).unwrap(), ShiftTask, problems(30)).unwrap();
    let calls = std::cell::Cell::new(0);
    let stop_after_two = || {
        calls.set(calls.get() + 1);
        calls.get() > 2
    };
    let s = b.run(&stop_after_two, true).unwrap();
    assert!(s.interrupted && s.steps == 2);
    drop(b);
    // A different initialisation: resume must load the checkpoint's weights.
    let fresh = TinyPolicy::new(99, 8, DType::F32).unwrap();
    let mut c = Trainer::resume(mk(split.path()), fresh, ShiftTask, problems(30), split.path()).unwrap();
    assert_eq!(c.steps_done(), 2);
    c.run(&|| false, true).unwrap();

    assert_eq!(weights(a.policy()), weights(c.policy()));
    let ma = std::fs::read_to_string(straight.path().join("metrics.jsonl")).unwrap();
    let mc = std::fs::read_to_string(split.path().join("metrics.jsonl")).unwrap();
    let rewards = |t: &str| -> Vec<String> {
        t.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["reward_mean"].to_string()).collect()
    };
    assert_eq!(rewards(&ma), rewards(&mc));
}

#[test]
fn fresh_run_refuses_a_used_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut t =
        Trainer::new(config(dir.path(), 1), TinyPolicy::new(1, 4, DType::F32).unwrap(), ShiftTask, problems(20))
            .unwrap();
    t.run(&|| false, true).unwrap();
    let err = Trainer::new(config(dir.path(), 1), TinyPolicy::new(1, 4, DType::F32).unwrap(), ShiftTask, problems(20))
        .err()
        .unwrap();
    assert!(err.to_string().contains("already holds a run"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = Trainer::resume(
        config(empty.path(), 1),
        TinyPolicy::new(1, 4, DType::F32).unwrap(),
        ShiftTask,
        problems(20),
        empty.path(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("no checkpoint"), "{err}");
}

#[test]
fn non_finite_steps_are_skipped_then_abort() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 5);
    cfg.run.max_bad_steps = 2;
    cfg.algo.filter_equal_groups = false;
    let policy = TinyPolicy::new(1, 4, DType::F32).unwrap();
    let (_, b_out) = &policy.named_vars()[4];
    b_out.set(&b_out.as_tensor().affine(0.0, f64::NAN).unwrap()).unwrap();
    let mut t = Trainer::new(cfg, policy, ShiftTask, problems(20)).unwrap();
    let first = t.step().unwrap();
    assert!(first.skipped);
    match t.step() {
        Err(Error::Diverged { step: 2, count: 2, limit: 2, .. }) => {}
        other => panic!("expected Diverged at step 2, got {other:?}"),
    }
}

#[test]
#[allow(unsafe_code)]
fn sigint_sets_the_stop_flag() {
    crate::signal::install_ctrlc_handler();
    // SAFETY: raising a signal the process has a handler for.
    unsafe {
        libc::raise(libc::SIGINT);
    }
    assert!(crate::signal::stop_requested());
    crate::signal::clear_stop();
    assert!(!crate::signal::stop_requested());
}
