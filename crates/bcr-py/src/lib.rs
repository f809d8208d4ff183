//! `bcr-py`: the Python module `bcr._bcr`, the compiled core of the Python
//! package `bcr` (built by maturin into one abi3 wheel for CPython >= 3.9).
//!
//! It exposes `bcr-core`'s reward path of Batched Contextual Reinforcement
//! (Yang et al., arXiv 2604.02322): the math verifier ([`bcr_core::grade`]),
//! the stack-based parser of the N labelled answers `Answer k: \boxed{...}`
//! of one response, and the per-instance accuracy reward (mean correctness
//! over the N problems plus a format term; the explicit length penalty only
//! as the paper's ablation). The `*_batch` functions take lists, release the
//! GIL and spread the work over all cores with rayon.
//!
//! Python shapes:
//!
//! ```text
//! grade(gold: str, pred: str, *, free_form=True) -> bool
//! grade_batch(golds: list[str], preds: list[str]) -> list[bool]
//! parse(response: str, n: int, *, label="Answer", after_think=True, positional_fallback=False,
//!       require_label=False, free_form=True) -> list[str | None]
//! parse_batch(responses: list[str], n: int, *, label, after_think, ...) -> list[list[str | None]]
//! score(response: str, golds: list[str], *, format_weight, length_penalty, response_tokens,
//!       budget, label, after_think, positional_fallback, require_label, free_form) -> dict
//! score_batch(responses: list[str], golds: list[list[str]], *, ..., response_tokens: list[int] | None)
//!       -> list[dict]
//! ```
//!
//! Invalid input raises `ValueError` with the message of the Rust error;
//! wrong Python types raise `TypeError` (pyo3's argument extraction). No
//! path panics on user input, and a panic would surface as pyo3's
//! `PanicException`, never abort the interpreter.
#![deny(missing_docs)]
// No unsafe code of its own: what pyo3's macros expand to is theirs.
#![deny(unsafe_code)]

mod batch;
mod reward;

use pyo3::prelude::*;

/// Whether `pred` is mathematically equivalent to `gold` (bcr's verifier).
/// `pred` may be a bare answer or a whole response: its last `\boxed{}`, else
/// (with `free_form`, the default) its free-form answer ("The answer is 7",
/// the last `$...$`, the last number), the same extraction as `parse`.
#[pyfunction]
#[pyo3(signature = (gold, pred, /, *, free_form=true))]
fn grade(gold: &str, pred: &str, free_form: bool) -> bool {
    bcr_core::verify_with(gold, pred, &reward::extract_options(true, free_form)).equivalent
}

/// `[grade(g, p) for g, p in zip(golds, preds)]`, on all cores with the GIL
/// released. Raises ValueError when the lists differ in length.
#[pyfunction]
#[pyo3(signature = (golds, preds, /))]
fn grade_batch(py: Python<'_>, golds: Vec<String>, preds: Vec<String>) -> PyResult<Vec<bool>> {
    batch::same_length("golds", golds.len(), "preds", preds.len())?;
    Ok(py.allow_threads(|| batch::grade_all(&golds, &preds)))
}

/// The module `bcr._bcr`.
#[pymodule]
fn _bcr(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(grade, m)?)?;
    m.add_function(wrap_pyfunction!(grade_batch, m)?)?;
    reward::register(m)?;
    Ok(())
}

#[cfg(test)]
mod tests;
