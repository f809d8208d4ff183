//! Self-tests of generation on a tiny random Llama-style model (f64, so
//! batching changes nothing but rounding far below any sampling decision).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::{Rng, SeedableRng};

use super::*;
use crate::generate::sampling::argmax;
use crate::ModelConfig;

fn tiny_model() -> CausalLm {
    let cfg = ModelConfig::from_json_str(
        r#"{"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256,
            "max_position_embeddings": 64, "rope_theta": 10000.0, "tie_word_embeddings": false}"#,
        Path::new("tiny.json"),
    )
    .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut tensors = HashMap::new();
    for (name, shape) in CausalLm::expected_tensors(&cfg) {
        let n: usize = shape.iter().product();
        let norm = name.ends_with("norm.weight");
        // Large enough weights that the next-token distribution is peaked.
        let data: Vec<f64> = (0..n).map(|_| if norm { 1.0 } else { rng.random::<f64>() * 1.6 - 0.8 }).collect();
        tensors.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    }
    CausalLm::new(&cfg, VarBuilder::from_tensors(tensors, DType::F64, &Device::Cpu)).unwrap()
}

fn prompts() -> Vec<Vec<u32>> {
    vec![
        b"hello there".iter().map(|&b| b as u32).collect(),
        vec![7, 8],
        b"a longer prompt, yes".iter().map(|&b| b as u32).collect(),
    ]
}

fn greedy(max_new_tokens: usize) -> SamplingConfig {
    SamplingConfig { max_new_tokens, temperature: 0.0, ..Default::default() }
}

/// The greedy chain recomputed with a full forward (no cache) per token.
fn argmax_chain(lm: &CausalLm, prompt: &[u32], n: usize, eos: &[u32]) -> Vec<u32> {
    let mut seq = prompt.to_vec();
    let mut out = Vec::new();
    while out.len() < n {
        let ids = Tensor::new(seq.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let logits = lm.forward(&ids, &[0], None).unwrap();
        let last: Vec<f32> =
            logits.get(0).unwrap().get(seq.len() - 1).unwrap().to_dtype(DType::F32).unwrap().to_vec1().unwrap();
        let t = argmax(&last) as u32;
        out.push(t);
        seq.push(t);
        if eos.contains(&t) {
            break;
        }
    }
    out
}

#[test]
fn greedy_generation_equals_the_argmax_chain_of_full_forwards() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let got = generate(&lm, &tok, &prompts(), &greedy(12)).unwrap();
    for (p, g) in prompts().iter().zip(&got) {
        assert_eq!(g.tokens, argmax_chain(&lm, p, 12, &[]));
        assert_eq!(g.finish, FinishReason::Length);
        assert_eq!(g.logprobs.len(), 12);
        assert!(g.logprobs.iter().all(|&l| l <= 0.0 && l.is_finite()));
    }
    // The tokens are not all the same: the test would catch a stuck chain.
    assert!(got.iter().any(|g| g.tokens.iter().any(|&t| t != g.tokens[0])));
}

#[test]
fn a_batch_equals_each_prompt_alone_with_the_same_seeds() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let cfg =
        SamplingConfig { max_new_tokens: 10, temperature: 0.9, top_p: 0.95, top_k: 50, seed: 3, ..Default::default() };
    let seeds = [11u64, 12, 13];
    let (batch, stats) = generate_with_stats(&lm, &tok, &prompts(), &seeds, &cfg).unwrap();
    assert_eq!(stats.generated_tokens, 30);
    assert_eq!(stats.prompt_tokens, prompts().iter().map(Vec::len).sum::<usize>());
    for (i, p) in prompts().iter().enumerate() {
        let (alone, _) = generate_with_stats(&lm, &tok, std::slice::from_ref(p), &seeds[i..=i], &cfg).unwrap();
        assert_eq!(alone[0].tokens, batch[i].tokens, "prompt {i}");
        for (a, b) in alone[0].logprobs.iter().zip(&batch[i].logprobs) {
            assert!((a - b).abs() < 1e-5, "prompt {i}: {a} vs {b}");
        }
    }
    // Reversed order, seeds travelling with their prompts: same outputs.
    let rev: Vec<Vec<u32>> = prompts().into_iter().rev().collect();
    let rev_seeds: Vec<u64> = seeds.iter().rev().copied().collect();
    let (back, _) = generate_with_stats(&lm, &tok, &rev, &rev_seeds, &cfg).unwrap();
    assert_eq!(back[0].tokens, batch[2].tokens);
}

#[test]
fn seeds_reproduce_and_differ() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let cfg = |seed| SamplingConfig { max_new_tokens: 16, temperature: 1.5, seed, ..Default::default() };
    let a = generate(&lm, &tok, &prompts(), &cfg(1)).unwrap();
    assert_eq!(a, generate(&lm, &tok, &prompts(), &cfg(1)).unwrap());
    let b = generate(&lm, &tok, &prompts(), &cfg(2)).unwrap();
    assert_ne!(a.iter().map(|g| &g.tokens).collect::<Vec<_>>(), b.iter().map(|g| &g.tokens).collect::<Vec<_>>());
}

#[test]
fn eos_finishes_a_row_early_and_leaves_the_others_unchanged() {
    let lm = tiny_model();
    let plain = generate(&lm, &Tokenizer::bytes_for_tests(vec![]), &prompts(), &greedy(12)).unwrap();
    // Make row 1's third greedy token the end-of-sequence id.
    let eos = plain[1].tokens[2];
    let tok = Tokenizer::bytes_for_tests(vec![eos]);
    let got = generate(&lm, &tok, &prompts(), &greedy(12)).unwrap();
    for (p, g) in prompts().iter().zip(&got) {
        let want = argmax_chain(&lm, p, 12, &[eos]);
        assert_eq!(g.tokens, want);
        let stopped = want.last() == Some(&eos);
        assert_eq!(g.finish, if stopped { FinishReason::Stop } else { FinishReason::Length });
        let body = if stopped { &want[..want.len() - 1] } else { &want[..] };
        assert_eq!(g.text, tok.decode(body, false).unwrap());
    }
    assert_eq!(got[1].tokens.len(), 3);
}

#[test]
fn a_stop_string_cuts_the_text_and_ends_the_row() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let full = generate(&lm, &tok, &prompts()[..1], &greedy(16)).unwrap().remove(0);
    let chars: Vec<char> = full.text.chars().collect();
    let stop: String = chars[4..6].iter().collect();
    let cfg = SamplingConfig { stop: vec!["never appears \u{1}".into(), stop.clone()], ..greedy(16) };
    let got = generate(&lm, &tok, &prompts()[..1], &cfg).unwrap().remove(0);
    assert_eq!(got.finish, FinishReason::Stop);
    let at = full.text.find(&stop).unwrap();
    assert_eq!(got.text, full.text[..at]);
    assert!(got.tokens.len() < full.tokens.len());
    assert_eq!(got.tokens[..], full.tokens[..got.tokens.len()]);
}

#[test]
fn budget_and_context_limits_end_with_length() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    for budget in [1, 5] {
        for g in generate(&lm, &tok, &prompts(), &greedy(budget)).unwrap() {
            assert_eq!((g.tokens.len(), g.finish), (budget, FinishReason::Length));
        }
    }
    // A 60-token prompt with max_position_embeddings 64 gets 4 tokens.
    let long = vec![vec![65u32; 60]];
    let g = generate(&lm, &tok, &long, &greedy(100)).unwrap().remove(0);
    assert_eq!((g.tokens.len(), g.finish), (4, FinishReason::Length));
}

#[test]
fn bad_prompts_are_rejected() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let cases: Vec<(Vec<Vec<u32>>, &str)> = vec![
        (vec![vec![1], vec![]], "prompt 1 is empty"),
        (vec![vec![300]], "token id 300"),
        (vec![vec![1; 64]], "max_position_embeddings is 64"),
    ];
    for (p, want) in cases {
        let err = generate(&lm, &tok, &p, &greedy(4)).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    let err = generate_with_stats(&lm, &tok, &prompts(), &[1], &greedy(4)).unwrap_err().to_string();
    assert!(err.contains("1 seeds for 3 prompts"), "{err}");
    assert!(generate(&lm, &tok, &[], &greedy(4)).unwrap().is_empty());
}

/// Continuous batching: sequences that join a running batch, at different
/// steps and with their own budgets and seeds, get exactly what each would
/// get alone, and the padding of late joiners is trimmed as rows leave.
#[test]
fn sequences_joining_a_running_batch_equal_each_alone() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let cfg = |n| SamplingConfig { max_new_tokens: n, temperature: 0.8, top_k: 40, ..Default::default() };
    let ps = prompts();
    let seqs = [(0u64, &ps[2], 9usize, 5u64), (1, &ps[1], 14, 6), (2, &ps[0], 4, 7), (3, &ps[1], 6, 8)];
    let admit = |&(id, p, n, seed): &(u64, &Vec<u32>, usize, u64)| Admit { id, prompt: p.clone(), cfg: cfg(n), seed };
    let mut engine = Engine::new(&lm, &tok);
    let mut got: HashMap<u64, Generation> = HashMap::new();
    engine.admit(vec![admit(&seqs[0])]).unwrap();
    let mut step = 0;
    let mut longest = 0;
    while !engine.is_empty() || step < 5 {
        match step {
            2 => engine.admit(vec![admit(&seqs[1]), admit(&seqs[2])]).unwrap(),
            5 => engine.admit(vec![admit(&seqs[3])]).unwrap(),
            _ => {}
        }
        if !engine.is_empty() {
            got.extend(engine.advance().unwrap());
        }
        longest = longest.max(engine.cache_len());
        step += 1;
    }
    assert_eq!(got.len(), 4);
    for &(id, p, n, seed) in &seqs {
        let (alone, _) = generate_with_stats(&lm, &tok, std::slice::from_ref(p), &[seed], &cfg(n)).unwrap();
        assert_eq!(got[&id].tokens, alone[0].tokens, "sequence {id}");
        assert_eq!(got[&id].tokens.len(), n);
        for (a, b) in got[&id].logprobs.iter().zip(&alone[0].logprobs) {
            assert!((a - b).abs() < 1e-5, "sequence {id}: {a} vs {b}");
        }
    }
    // Never more slots than the longest row needs plus the padding of one
    // join (prompt 2 is 20 tokens + 9 generated; sequence 1 runs to step 16).
    assert!(longest <= 20 + 14 + 2, "cache grew to {longest} slots");
}

#[test]
fn a_bad_admission_leaves_the_running_batch_untouched() {
    let lm = tiny_model();
    let tok = Tokenizer::bytes_for_tests(vec![]);
    let mut engine = Engine::new(&lm, &tok);
    let ok = Admit { id: 1, prompt: vec![7, 8], cfg: greedy(3), seed: 0 };
    engine.admit(vec![ok.clone()]).unwrap();
    let bad = Admit { id: 2, prompt: vec![], ..ok.clone() };
    let err = engine.admit(vec![ok, bad]).unwrap_err().to_string();
    assert!(err.contains("prompt 1 is empty"), "{err}");
    assert_eq!(engine.len(), 1);
    let mut done = Vec::new();
    while !engine.is_empty() {
        done.extend(engine.advance().unwrap());
    }
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.tokens, argmax_chain(&lm, &[7, 8], 3, &[]));
}
