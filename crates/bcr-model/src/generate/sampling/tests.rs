use super::*;

fn cfg(temperature: f64, top_p: f64, top_k: usize, min_p: f64) -> SamplingConfig {
    SamplingConfig { temperature, top_p, top_k, min_p, ..SamplingConfig::default() }
}

fn counts(c: &SamplingConfig, logits: &[f32], draws: usize, seed: u64) -> Vec<usize> {
    let mut s = Sampler::new(c, seed);
    let mut n = vec![0; logits.len()];
    for _ in 0..draws {
        n[s.sample(logits).unwrap().0 as usize] += 1;
    }
    n
}

#[test]
fn greedy_takes_the_first_maximum_and_reports_the_raw_logprob() {
    let logits = [1.0f32, 3.0, 3.0, -2.0];
    let (tok, lp) = Sampler::new(&cfg(0.0, 1.0, 0, 0.0), 7).sample(&logits).unwrap();
    assert_eq!(tok, 1);
    let z: f64 = logits.iter().map(|&v| (v as f64).exp()).sum();
    assert!((lp as f64 - (3.0 - z.ln())).abs() < 1e-6);
}

#[test]
fn frequencies_follow_the_tempered_softmax() {
    let logits = [0.0f32, 1.0, 2.0];
    for t in [1.0, 0.5, 2.0] {
        let n = counts(&cfg(t, 1.0, 0, 0.0), &logits, 40_000, 3);
        let w: Vec<f64> = logits.iter().map(|&v| (v as f64 / t).exp()).collect();
        let z: f64 = w.iter().sum();
        for (i, &c) in n.iter().enumerate() {
            let (got, want) = (c as f64 / 40_000.0, w[i] / z);
            assert!((got - want).abs() < 0.01, "T={t} token {i}: {got} vs {want}");
        }
    }
}

#[test]
fn filters_remove_exactly_the_tokens_they_should() {
    // p is proportional to [8, 4, 2, 1, 1] at T = 1.
    let logits: Vec<f32> = [8.0f32, 4.0, 2.0, 1.0, 1.0].iter().map(|v| v.ln()).collect();
    let cases: Vec<(&str, SamplingConfig, Vec<bool>)> = vec![
        ("top_k 2", cfg(1.0, 1.0, 2, 0.0), vec![true, true, false, false, false]),
        ("top_k 1", cfg(1.0, 1.0, 1, 0.0), vec![true, false, false, false, false]),
        // 8/16 = 0.5 < 0.7 <= 12/16: the top two.
        ("top_p 0.7", cfg(1.0, 0.7, 0, 0.0), vec![true, true, false, false, false]),
        ("top_p 0.01", cfg(1.0, 0.01, 0, 0.0), vec![true, false, false, false, false]),
        // min_p 0.2: keep p >= 0.2 * 8/16, i.e. weights >= 1.6.
        ("min_p 0.2", cfg(1.0, 1.0, 0, 0.2), vec![true, true, true, false, false]),
        // top_k 3 renormalises to [8, 4, 2]/14; top_p 0.6 keeps 8/14 = 0.57 < 0.6 -> two.
        ("top_k 3 + top_p 0.6", cfg(1.0, 0.6, 3, 0.0), vec![true, true, false, false, false]),
    ];
    for (name, c, allowed) in cases {
        let n = counts(&c, &logits, 3_000, 11);
        for (i, (&cnt, &ok)) in n.iter().zip(&allowed).enumerate() {
            assert_eq!(cnt > 0, ok, "{name}: token {i} drawn {cnt} times");
        }
    }
}

#[test]
fn nucleus_beyond_the_first_prefix_matches_a_full_sort() {
    // A flat-ish distribution over 1000 tokens needs far more than the
    // first 64 candidates to reach 0.9 of the mass.
    let logits: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 / 200.0).collect();
    let weight = |v: f32| (v as f64 - 0.5).exp();
    let got = ordered_candidates(&logits, 0, 0.9, &weight);
    let mut all: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: f64 = logits.iter().map(|&v| weight(v)).sum();
    let mut want = Vec::new();
    let mut mass = 0.0;
    for (i, v) in all {
        want.push(i);
        mass += weight(v);
        if mass >= 0.9 * total {
            break;
        }
    }
    assert!(want.len() > 64);
    assert_eq!(got.iter().map(|c| c.0).collect::<Vec<_>>(), want);
}

#[test]
fn a_seed_fixes_the_stream_and_seeds_differ() {
    let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
    let c = cfg(1.0, 0.95, 40, 0.0);
    let run = |seed| {
        let mut s = Sampler::new(&c, seed);
        (0..64).map(|_| s.sample(&logits).unwrap().0).collect::<Vec<_>>()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
    assert_ne!(row_seed(1, 0), row_seed(1, 1));
    assert_ne!(row_seed(1, 0), row_seed(0, 1));
    assert_eq!(row_seed(9, 3), row_seed(9, 3));
}

#[test]
fn bad_inputs_are_rejected_with_the_field() {
    let cases = [
        (SamplingConfig { max_new_tokens: 0, ..Default::default() }, "max_new_tokens"),
        (cfg(-1.0, 1.0, 0, 0.0), "temperature = -1"),
        (cfg(f64::NAN, 1.0, 0, 0.0), "temperature = NaN"),
        (cfg(1.0, 0.0, 0, 0.0), "top_p = 0"),
        (cfg(1.0, 1.5, 0, 0.0), "top_p = 1.5"),
        (cfg(1.0, 1.0, 0, 1.0), "min_p = 1"),
        (SamplingConfig { stop: vec![String::new()], ..Default::default() }, "stop"),
    ];
    for (c, want) in cases {
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    assert!(SamplingConfig::default().validate().is_ok());
    let mut s = Sampler::new(&SamplingConfig::default(), 0);
    assert!(s.sample(&[]).is_err());
    assert!(s.sample(&[0.0, f32::NAN]).is_err());
}
