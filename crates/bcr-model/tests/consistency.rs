//! Numerical self-consistency: cached token-by-token decoding equals one
//! full forward; batched equals unbatched; ragged (left- and right-padded)
//! batches equal their rows run alone; completion log-probs equal the
//! log-softmax of full logits, for any micro-batch size. Tolerance: 1e-4
//! absolute on f32 logits of magnitude ~1-10.

mod common;

use bcr_model::{
    completion_logprobs, full_logits, DType, Device, Grad, KvCache, LogprobOptions, RowSpan, SeqPair, Tensor,
};

const TOL: f64 = 1e-4;

fn ids(rows: &[Vec<u32>]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<u32> = rows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

#[test]
fn cached_decoding_equals_full_forward() {
    for (family, cfg) in common::families() {
        let (lm, _vm) = common::random_model(&cfg, DType::F32, 1);
        let seq = common::tokens(10, cfg.vocab_size, 1);
        let full = lm.forward(&ids(std::slice::from_ref(&seq)), &[0], None).unwrap();
        // Prefill 4 tokens, then 1, 2, 3 at a time (exercises buffer growth too).
        let mut cache = KvCache::new(cfg.num_hidden_layers);
        let mut start = 0;
        for chunk in [4, 1, 2, 3] {
            let part = lm.forward(&ids(&[seq[start..start + chunk].to_vec()]), &[start], Some(&mut cache)).unwrap();
            let want = full.narrow(1, start, chunk).unwrap();
            let d = common::max_abs_diff(&part, &want);
            assert!(d < TOL, "{family}: chunk at {start}: max diff {d}");
            start += chunk;
        }
        assert_eq!((cache.seq_len(), cache.row_lens()), (10, vec![10]));
    }
}

#[test]
fn batched_equals_unbatched() {
    for (family, cfg) in common::families() {
        let (lm, _vm) = common::random_model(&cfg, DType::F32, 2);
        let rows: Vec<Vec<u32>> = (0..3).map(|s| common::tokens(7, cfg.vocab_size, s)).collect();
        // Different start positions per row, as in a ragged decode.
        let starts = [0, 5, 11];
        let batched = lm.forward(&ids(&rows), &starts, None).unwrap();
        for (i, row) in rows.iter().enumerate() {
            let alone = lm.forward(&ids(std::slice::from_ref(row)), &[starts[i]], None).unwrap();
            let d = common::max_abs_diff(&batched.narrow(0, i, 1).unwrap(), &alone);
            assert!(d < TOL, "{family}: row {i}: max diff {d}");
        }
    }
}

#[test]
fn left_padded_prefill_then_decode_equals_rows_alone() {
    for (family, cfg) in common::families() {
        let (lm, _vm) = common::random_model(&cfg, DType::F32, 3);
        let lens = [6usize, 3, 1];
        let t = 6;
        let prompts: Vec<Vec<u32>> =
            lens.iter().enumerate().map(|(i, &n)| common::tokens(n, cfg.vocab_size, i)).collect();
        let padded: Vec<Vec<u32>> = prompts.iter().map(|p| [vec![0; t - p.len()], p.clone()].concat()).collect();
        let spans: Vec<RowSpan> = lens.iter().map(|&n| RowSpan::left_padded(n, t)).collect();
        let mut cache = KvCache::new(cfg.num_hidden_layers);
        let pre = lm.forward_rows(&ids(&padded), &spans, Some(&mut cache)).unwrap();
        // Two decode steps with one new token per row at per-row positions.
        let steps: Vec<Vec<u32>> = (0..2).map(|s| common::tokens(3, cfg.vocab_size, 10 + s)).collect();
        let mut outs = Vec::new();
        for (s, step) in steps.iter().enumerate() {
            let pos: Vec<usize> = lens.iter().map(|&n| n + s).collect();
            let col: Vec<Vec<u32>> = step.iter().map(|&tok| vec![tok]).collect();
            outs.push(lm.forward(&ids(&col), &pos, Some(&mut cache)).unwrap());
        }
        assert_eq!(cache.row_lens(), vec![8, 5, 3]);
        for (i, p) in prompts.iter().enumerate() {
            let seq = [p.clone(), vec![steps[0][i], steps[1][i]]].concat();
            let alone = lm.forward(&ids(std::slice::from_ref(&seq)), &[0], None).unwrap();
            let n = p.len();
            let got_pre = pre.narrow(0, i, 1).unwrap().narrow(1, t - n, n).unwrap();
            let d = common::max_abs_diff(&got_pre, &alone.narrow(1, 0, n).unwrap());
            assert!(d < TOL, "{family}: row {i} prefill: max diff {d}");
            for (s, out) in outs.iter().enumerate() {
                let d = common::max_abs_diff(&out.narrow(0, i, 1).unwrap(), &alone.narrow(1, n + s, 1).unwrap());
                assert!(d < TOL, "{family}: row {i} decode step {s}: max diff {d}");
            }
        }
    }
}

#[test]
fn right_padded_prefill_then_decode_equals_rows_alone() {
    let (_, cfg) = common::families().remove(1);
    let (lm, _vm) = common::random_model(&cfg, DType::F32, 4);
    let prompts = [common::tokens(2, cfg.vocab_size, 1), common::tokens(5, cfg.vocab_size, 2)];
    let padded: Vec<Vec<u32>> = prompts.iter().map(|p| [p.clone(), vec![0; 5 - p.len()]].concat()).collect();
    let spans: Vec<RowSpan> = prompts.iter().map(|p| RowSpan::right_padded(p.len())).collect();
    let mut cache = KvCache::new(cfg.num_hidden_layers);
    lm.forward_rows(&ids(&padded), &spans, Some(&mut cache)).unwrap();
    let next = lm.forward(&ids(&[vec![7], vec![9]]), &[2, 5], Some(&mut cache)).unwrap();
    for (i, (p, tok)) in prompts.iter().zip([7u32, 9]).enumerate() {
        let seq = [p.clone(), vec![tok]].concat();
        let alone = lm.forward(&ids(&[seq]), &[0], None).unwrap();
        let d = common::max_abs_diff(&next.narrow(0, i, 1).unwrap(), &alone.narrow(1, p.len(), 1).unwrap());
        assert!(d < TOL, "row {i}: max diff {d}");
    }
}

#[test]
fn select_rows_keeps_the_chosen_sequences() {
    let (_, cfg) = common::families().remove(0);
    let (lm, _vm) = common::random_model(&cfg, DType::F32, 5);
    let rows: Vec<Vec<u32>> = (0..3).map(|s| common::tokens(4, cfg.vocab_size, s)).collect();
    let mut cache = KvCache::new(cfg.num_hidden_layers);
    lm.forward(&ids(&rows), &[0, 0, 0], Some(&mut cache)).unwrap();
    cache.select_rows(&[2, 0]).unwrap();
    let next = lm.forward(&ids(&[vec![5], vec![6]]), &[4, 4], Some(&mut cache)).unwrap();
    for (k, (src, tok)) in [(2usize, 5u32), (0, 6)].into_iter().enumerate() {
        let seq = [rows[src].clone(), vec![tok]].concat();
        let alone = lm.forward(&ids(&[seq]), &[0], None).unwrap();
        let d = common::max_abs_diff(&next.narrow(0, k, 1).unwrap(), &alone.narrow(1, 4, 1).unwrap());
        assert!(d < TOL, "kept row {k}: max diff {d}");
    }
    assert!(cache.select_rows(&[3]).is_err());
}

#[test]
fn completion_logprobs_equal_log_softmax_of_full_logits() {
    for (family, cfg) in common::families() {
        let (lm, _vm) = common::random_model(&cfg, DType::F32, 6);
        let v = cfg.vocab_size;
        let pairs = vec![
            SeqPair { prompt: common::tokens(3, v, 1), completion: common::tokens(4, v, 2) },
            SeqPair { prompt: common::tokens(5, v, 3), completion: common::tokens(1, v, 4) },
            SeqPair { prompt: common::tokens(1, v, 5), completion: vec![] },
        ];
        let seqs: Vec<Vec<u32>> = pairs.iter().map(|p| [p.prompt.clone(), p.completion.clone()].concat()).collect();
        let (logits, lens) = full_logits(&lm, &seqs).unwrap();
        assert_eq!(lens, vec![7, 6, 1]);
        let lsm = candle_nn::ops::log_softmax(&logits, 2).unwrap();
        for micro_batch in [1, 2, 3] {
            for grad in [Grad::Track, Grad::Detached] {
                let out = completion_logprobs(&lm, &pairs, &LogprobOptions { micro_batch, grad }).unwrap();
                assert_eq!(out.logprobs.dims(), &[3, 4]);
                let lp = out.logprobs.to_vec2::<f32>().unwrap();
                let mask = out.mask.to_vec2::<f32>().unwrap();
                for (i, p) in pairs.iter().enumerate() {
                    for j in 0..4 {
                        if j >= p.completion.len() {
                            assert_eq!((mask[i][j], lp[i][j]), (0.0, 0.0), "{family}: pad {i},{j}");
                            continue;
                        }
                        let pos = p.prompt.len() + j - 1;
                        let want = lsm.get(i).unwrap().get(pos).unwrap().get(p.completion[j] as usize).unwrap();
                        let want = want.to_scalar::<f32>().unwrap();
                        assert_eq!(mask[i][j], 1.0);
                        assert!(
                            (lp[i][j] - want).abs() < 1e-4,
                            "{family} mb {micro_batch}: {i},{j}: {} vs {want}",
                            lp[i][j]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let (_, cfg) = common::families().remove(0);
    let (lm, _vm) = common::random_model(&cfg, DType::F32, 7);
    let two = ids(&[vec![1, 2], vec![3, 4]]);
    let cases: Vec<(&str, bcr_model::Result<Tensor>)> = vec![
        ("row spans", lm.forward(&two, &[0], None)),
        ("exceeds", lm.forward_rows(&two, &[RowSpan { start_pos: 0, left_pad: 1, len: 2 }; 2], None)),
        ("max_position_embeddings", lm.forward(&two, &[0, 127], None)),
    ];
    for (needle, res) in cases {
        match res {
            Ok(_) => panic!("accepted: {needle}"),
            Err(e) => assert!(e.to_string().contains(needle), "{needle} not in {e}"),
        }
    }
    let opts = LogprobOptions { micro_batch: 1, grad: Grad::Detached };
    let bad = [
        (SeqPair { prompt: vec![], completion: vec![1] }, "empty prompt"),
        (SeqPair { prompt: vec![1], completion: vec![400] }, "vocab_size"),
    ];
    for (pair, needle) in bad {
        let e = completion_logprobs(&lm, &[pair], &opts).expect_err("rejected");
        assert!(e.to_string().contains(needle), "{needle} not in {e}");
    }
    assert!(completion_logprobs(&lm, &[], &opts).is_err());
    let mut cache = KvCache::new(cfg.num_hidden_layers);
    lm.forward(&two, &[0, 0], Some(&mut cache)).unwrap();
    let e = lm.forward(&ids(&[vec![1]]), &[2], Some(&mut cache)).expect_err("batch mismatch rejected");
    assert!(e.to_string().contains("cache holds 2 rows"), "{e}");
}
