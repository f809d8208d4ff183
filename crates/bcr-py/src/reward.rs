//! `parse`, `score` and their batch forms: Python arguments -> `bcr-core`'s
//! `ParseOptions` / `RewardConfig`, results -> Python lists and dicts.
//!
//! The reward of one response to a pack of N problems (bcr-core's reward
//! module has the formula and its source): per-problem correctness from the
//! parser and the verifier, `accuracy` = their mean, a `format` term weighted
//! by `format_weight`, and, only when `length_penalty` is set (the paper's
//! ablation), `- length_penalty * response_tokens / budget`.

use crate::batch::same_length;
use bcr_core::{parse_answers, score_response, ParseOptions, RewardConfig, Score};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

/// The keyword options shared by `parse*` and `score*`.
struct Options {
    config: RewardConfig,
    budget: Option<usize>,
}

fn value_error(e: bcr_core::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn parse_options(label: Option<&str>, after_think: bool) -> PyResult<ParseOptions> {
    let mut opts = ParseOptions { after_think, ..ParseOptions::default() };
    if let Some(label) = label {
        opts.label = label.to_string();
    }
    opts.validate().map_err(value_error)?;
    Ok(opts)
}

fn options(
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    budget: Option<usize>,
    label: Option<&str>,
    after_think: bool,
) -> PyResult<Options> {
    let mut config = RewardConfig { parse: parse_options(label, after_think)?, length_penalty, ..RewardConfig::default() };
    if let Some(w) = format_weight {
        config.format_weight = w;
    }
    config.validate().map_err(value_error)?;
    Ok(Options { config, budget })
}

fn score_one(response: &str, golds: &[String], tokens: Option<usize>, opts: &Options) -> bcr_core::Result<Score> {
    let golds: Vec<&str> = golds.iter().map(String::as_str).collect();
    score_response(response, &golds, tokens, opts.budget, &opts.config)
}

fn score_dict<'py>(py: Python<'py>, score: &Score, diagnostics: Vec<String>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("reward", score.reward)?;
    d.set_item("accuracy", score.accuracy)?;
    d.set_item("correct", &score.correct)?;
    d.set_item("answers", &score.answers)?;
    d.set_item("format", score.format)?;
    d.set_item("length_penalty", score.length_penalty)?;
    d.set_item("diagnostics", diagnostics)?;
    Ok(d)
}

/// parse(response, n, *, label="Answer", after_think=True)
/// --
///
/// The N labelled answers of one response (`label k: \boxed{...}`, braces
/// nesting), in problem order, `None` where missing. With `after_think`, only
/// the text after the last `</think>` is read. Raises ValueError for n < 1
/// or an invalid label.
#[pyfunction]
#[pyo3(signature = (response, n, *, label=None, after_think=true))]
fn parse(response: &str, n: usize, label: Option<&str>, after_think: bool) -> PyResult<Vec<Option<String>>> {
    let opts = parse_options(label, after_think)?;
    Ok(parse_answers(response, n, &opts).map_err(value_error)?.answers)
}

/// parse_batch(responses, n, *, label="Answer", after_think=True)
/// --
///
/// `[parse(r, n, ...) for r in responses]`, on all cores with the GIL released.
#[pyfunction]
#[pyo3(signature = (responses, n, *, label=None, after_think=true))]
fn parse_batch(
    py: Python<'_>,
    responses: Vec<String>,
    n: usize,
    label: Option<&str>,
    after_think: bool,
) -> PyResult<Vec<Vec<Option<String>>>> {
    let opts = parse_options(label, after_think)?;
    let parsed: bcr_core::Result<Vec<_>> =
        py.allow_threads(|| responses.par_iter().map(|r| parse_answers(r, n, &opts).map(|p| p.answers)).collect());
    parsed.map_err(value_error)
}

/// score(response, golds, *, format_weight=None, length_penalty=None,
///       response_tokens=None, budget=None, label="Answer", after_think=True)
/// --
///
/// The BCR reward of one response to a pack whose gold answers are `golds`
/// (N = len(golds)). Returns a dict: `reward` (float), `accuracy` (mean
/// correctness), `correct` (list[bool]), `answers` (list[str | None]),
/// `format` (in [0, 1]), `length_penalty` (the amount subtracted, 0.0 when
/// off) and `diagnostics` (list[str], what the parser noticed).
/// `format_weight=None` keeps bcr's default; `length_penalty` needs
/// `response_tokens` and `budget`. Raises ValueError on invalid options or an
/// empty `golds`.
#[pyfunction]
#[pyo3(signature = (response, golds, *, format_weight=None, length_penalty=None, response_tokens=None, budget=None, label=None, after_think=true))]
#[allow(clippy::too_many_arguments)] // mirrors Python keyword arguments one to one
fn score<'py>(
    py: Python<'py>,
    response: &str,
    golds: Vec<String>,
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    response_tokens: Option<usize>,
    budget: Option<usize>,
    label: Option<&str>,
    after_think: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = options(format_weight, length_penalty, budget, label, after_think)?;
    // verl scores responses from a thread pool: let the others run meanwhile.
    let (s, diagnostics) =
        py.allow_threads(|| score_with_diagnostics(response, &golds, response_tokens, &opts)).map_err(value_error)?;
    score_dict(py, &s, diagnostics)
}

fn score_with_diagnostics(
    response: &str,
    golds: &[String],
    tokens: Option<usize>,
    opts: &Options,
) -> bcr_core::Result<(Score, Vec<String>)> {
    let s = score_one(response, golds, tokens, opts)?;
    let parsed = parse_answers(response, golds.len(), &opts.config.parse)?;
    Ok((s, parsed.diagnostics.iter().map(ToString::to_string).collect()))
}

/// score_batch(responses, golds, *, format_weight=None, length_penalty=None,
///             response_tokens=None, budget=None, label="Answer", after_think=True)
/// --
///
/// `[score(r, g, ...) for r, g in zip(responses, golds)]` (with
/// `response_tokens[i]` for response i), on all cores with the GIL released.
/// Raises ValueError when the lists differ in length or any item is invalid
/// (the message names the index).
#[pyfunction]
#[pyo3(signature = (responses, golds, *, format_weight=None, length_penalty=None, response_tokens=None, budget=None, label=None, after_think=true))]
#[allow(clippy::too_many_arguments)] // mirrors Python keyword arguments one to one
fn score_batch<'py>(
    py: Python<'py>,
    responses: Vec<String>,
    golds: Vec<Vec<String>>,
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    response_tokens: Option<Vec<usize>>,
    budget: Option<usize>,
    label: Option<&str>,
    after_think: bool,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    same_length("responses", responses.len(), "golds", golds.len())?;
    if let Some(tokens) = &response_tokens {
        same_length("responses", responses.len(), "response_tokens", tokens.len())?;
    } else if length_penalty.is_some() {
        return Err(PyValueError::new_err("length_penalty needs response_tokens (one count per response)"));
    }
    let opts = options(format_weight, length_penalty, budget, label, after_think)?;
    let results: Vec<bcr_core::Result<(Score, Vec<String>)>> = py.allow_threads(|| {
        responses
            .par_iter()
            .zip(golds.par_iter())
            .enumerate()
            .map(|(i, (response, golds))| {
                let tokens = response_tokens.as_ref().and_then(|t| t.get(i).copied());
                score_with_diagnostics(response, golds, tokens, &opts)
            })
            .collect()
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let (s, diagnostics) = r.map_err(|e| PyValueError::new_err(format!("responses[{i}]: {e}")))?;
            score_dict(py, &s, diagnostics)
        })
        .collect()
}

/// Adds this module's functions to `bcr._bcr`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(parse_batch, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(score_batch, m)?)?;
    Ok(())
}
