//! Fuzz target: any bytes, split into a gold and a prediction, must get a
//! verdict from `bcr_core::verify` (and `extract_answer`) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first NUL (or the middle) separates gold from prediction.
    let cut = text.find('\0').unwrap_or(text.len() / 2);
    let cut = (0..=cut).rev().find(|&k| text.is_char_boundary(k)).unwrap_or(0);
    let (gold, pred) = text.split_at(cut);
    let pred = pred.strip_prefix('\0').unwrap_or(pred);
    let _ = bcr_core::extract_answer(pred);
    let verdict = bcr_core::verify(gold, pred);
    // Grading is a function of its inputs: the same pair, the same verdict.
    assert_eq!(verdict, bcr_core::verify(gold, pred));
    let _ = bcr_core::verify(pred, gold);
});
