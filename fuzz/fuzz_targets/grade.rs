//! Fuzz target: any bytes, split into a gold and a prediction (a whole model
//! response), must get a verdict from every extraction path without
//! panicking, deterministically, and within the verifier's cost limit.
//!
//! Paths covered: `extract_answer_with` under each `ExtractOptions` rule
//! set, `verify` / `verify_with` both ways, and the multi-answer parser and
//! reward (`parse_answers`, `score_response`) for N = 1..3 with the free-form
//! fallbacks on, off, and with the label required. The cost limit is checked
//! by count, not by time: every verdict reports the operations it spent,
//! which must stay within `bcr_core::OP_BUDGET`.
#![no_main]

use bcr_core::{ExtractOptions, ParseOptions, RewardConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first NUL (or the middle) separates gold from prediction.
    let cut = text.find('\0').unwrap_or(text.len() / 2);
    let cut = (0..=cut).rev().find(|&k| text.is_char_boundary(k)).unwrap_or(0);
    let (gold, pred) = text.split_at(cut);
    let pred = pred.strip_prefix('\0').unwrap_or(pred);

    let all = ExtractOptions::default();
    let rule_sets = [
        all,
        ExtractOptions::boxed_only(),
        ExtractOptions { answer_phrase: false, ..all },
        ExtractOptions { last_math: false, after_think: false, ..all },
    ];
    for opts in &rule_sets {
        let answer = bcr_core::extract_answer_with(pred, opts);
        // Extraction only selects (boxes are joined by ", "): never longer than
        // the response plus the separators of the joined boxes.
        assert!(answer.len() <= pred.len() + 2 * 64, "extracted {} bytes of {}", answer.len(), pred.len());
        let v = bcr_core::verify_with(gold, pred, opts);
        assert!(v.ops <= bcr_core::OP_BUDGET, "{} operations spent", v.ops);
    }

    let verdict = bcr_core::verify(gold, pred);
    // Grading is a function of its inputs: the same pair, the same verdict.
    assert_eq!(verdict, bcr_core::verify(gold, pred));
    assert!(verdict.ops <= bcr_core::OP_BUDGET);
    let back = bcr_core::verify(pred, gold);
    assert!(back.ops <= bcr_core::OP_BUDGET);

    let n = 1 + data.first().map_or(0, |b| usize::from(b % 3));
    let golds: Vec<&str> = std::iter::repeat_n(gold, n).collect();
    for parse in [ParseOptions::default(), ParseOptions::labelled()] {
        let strict = parse.require_label;
        let parsed = bcr_core::parse_answers(pred, n, &parse);
        assert_eq!(parsed.answers.len(), n);
        let config = RewardConfig { parse, ..RewardConfig::default() };
        if let Ok(score) = bcr_core::score_response(pred, &golds, 0, 0, &config) {
            assert!(score.reward.is_finite() && (0.0..=1.1 + 1e-9).contains(&score.reward));
            if strict {
                // The BCR format required: no free-form answer is ever read.
                assert!(!score.diagnostics.iter().any(|d| matches!(d, bcr_core::Diagnostic::FreeForm { .. })));
            }
        }
    }
});
