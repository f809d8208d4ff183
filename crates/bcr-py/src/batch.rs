//! The parallel halves of the `*_batch` functions: plain Rust over owned
//! inputs, run inside `Python::allow_threads` (no Python object is touched).

use pyo3::exceptions::PyValueError;
use pyo3::PyResult;
use rayon::prelude::*;

/// `ValueError` unless two parallel lists have the same length.
pub(crate) fn same_length(a: &str, len_a: usize, b: &str, len_b: usize) -> PyResult<()> {
    if len_a == len_b {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!("{len_a} {a} but {len_b} {b}: the lists must be parallel")))
    }
}

/// `grade` over zipped lists, in parallel, order kept.
pub(crate) fn grade_all(golds: &[String], preds: &[String]) -> Vec<bool> {
    golds.par_iter().zip(preds.par_iter()).map(|(g, p)| bcr_core::grade(g, p)).collect()
}
