//! `parse`, `score` and their batch forms: Python arguments -> `bcr-core`'s
//! `ParseOptions` / `RewardConfig`, results -> Python lists and dicts.
//!
//! The reward of one response to a pack of N problems (bcr-core's reward
//! module has the formula and its source): per-problem correctness from the
//! parser and the verifier, `accuracy` = their mean, a `format` term weighted
//! by `format_weight`, and, only when `length_penalty` is set (the paper's
//! ablation), `- length_penalty * response_tokens / budget`.

use crate::batch::same_length;
use bcr_core::{parse_answers, score_response, ExtractOptions, ParseOptions, RewardConfig, Score};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

/// The keyword options shared by `score` and `score_batch`.
struct Options {
    config: RewardConfig,
    budget: Option<usize>,
}

fn value_error(e: bcr_core::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The keyword arguments that say how answers are read (`parse`, `score`
/// and their batch forms).
#[derive(Clone, Copy)]
struct ReadKw<'a> {
    label: &'a str,
    after_think: bool,
    positional_fallback: bool,
    require_label: bool,
    free_form: bool,
}

/// Extraction options: every free-form rule, or boxes only.
pub(crate) fn extract_options(after_think: bool, free_form: bool) -> ExtractOptions {
    let base = if free_form { ExtractOptions::default() } else { ExtractOptions::boxed_only() };
    ExtractOptions { after_think, ..base }
}

/// Parse options from keywords, checked (the label as the prompt template
/// checks it; `n` at least 1).
fn parse_options(n: usize, kw: ReadKw<'_>) -> PyResult<ParseOptions> {
    if n == 0 {
        return Err(PyValueError::new_err("n (problems per response) must be at least 1, got 0"));
    }
    let parse = ParseOptions {
        label: kw.label.to_string(),
        positional_fallback: kw.positional_fallback,
        require_label: kw.require_label,
        extract: extract_options(kw.after_think, kw.free_form),
    };
    let config = RewardConfig { parse, ..RewardConfig::default() };
    config.validate().map_err(value_error)?;
    Ok(config.parse)
}

/// Reward options from keywords, checked.
fn options(kw: RewardKw<'_>) -> PyResult<Options> {
    // n = 1 only to pass the check: `score` takes N from the golds.
    let parse = parse_options(1, kw.read)?;
    let mut config = RewardConfig { parse, length_penalty: kw.length_penalty, ..RewardConfig::default() };
    if let Some(w) = kw.format_weight {
        config.format_weight = w;
    }
    config.validate().map_err(value_error)?;
    if config.length_penalty.is_some() && kw.budget.is_none() {
        return Err(PyValueError::new_err("length_penalty needs budget (the response token budget)"));
    }
    Ok(Options { config, budget: kw.budget })
}

/// The keyword arguments of `score` and `score_batch`.
#[derive(Clone, Copy)]
struct RewardKw<'a> {
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    budget: Option<usize>,
    read: ReadKw<'a>,
}

/// Scores one response; the error is the message of the `ValueError` to raise.
fn score_one(response: &str, golds: &[String], tokens: Option<usize>, opts: &Options) -> Result<Score, String> {
    if golds.is_empty() {
        return Err("golds is empty: a pack has at least one gold answer".into());
    }
    let tokens = match (opts.config.length_penalty, tokens) {
        (Some(_), None) => return Err("length_penalty needs response_tokens".into()),
        (_, tokens) => tokens.unwrap_or(0),
    };
    let golds: Vec<&str> = golds.iter().map(String::as_str).collect();
    score_response(response, &golds, tokens, opts.budget.unwrap_or(0), &opts.config).map_err(|e| e.to_string())
}

fn score_dict<'py>(py: Python<'py>, score: &Score) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("reward", score.reward)?;
    d.set_item("accuracy", score.accuracy)?;
    d.set_item("correct", &score.correct)?;
    d.set_item("answers", &score.answers)?;
    d.set_item("format", score.format)?;
    d.set_item("length_penalty", score.length_penalty)?;
    let diagnostics: Vec<String> = score.diagnostics.iter().map(ToString::to_string).collect();
    d.set_item("diagnostics", diagnostics)?;
    Ok(d)
}

/// The N labelled answers of one response (`label k: \boxed{...}`, braces
/// nesting), in problem order, `None` where missing. With `after_think`, only
/// the text after the last `</think>` is read; with `positional_fallback`,
/// unlabelled boxes fill missing answers by position; with `free_form` (the
/// default) and n = 1, a response without a box gives its free-form answer
/// ("The answer is 7", the last `$...$`, the last number); with
/// `require_label`, only labelled boxes count (the BCR training format).
/// Raises ValueError for n < 1 or an invalid label.
#[pyfunction]
#[pyo3(signature = (response, n, *, label="Answer", after_think=true, positional_fallback=false,
                    require_label=false, free_form=true))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn parse(
    py: Python<'_>,
    response: &str,
    n: usize,
    label: &str,
    after_think: bool,
    positional_fallback: bool,
    require_label: bool,
    free_form: bool,
) -> PyResult<Vec<Option<String>>> {
    let opts = parse_options(n, ReadKw { label, after_think, positional_fallback, require_label, free_form })?;
    Ok(py.allow_threads(|| parse_answers(response, n, &opts).answers))
}

/// `[parse(r, n, ...) for r in responses]`, on all cores with the GIL released.
#[pyfunction]
#[pyo3(signature = (responses, n, *, label="Answer", after_think=true, positional_fallback=false,
                    require_label=false, free_form=true))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn parse_batch(
    py: Python<'_>,
    responses: Vec<String>,
    n: usize,
    label: &str,
    after_think: bool,
    positional_fallback: bool,
    require_label: bool,
    free_form: bool,
) -> PyResult<Vec<Vec<Option<String>>>> {
    let opts = parse_options(n, ReadKw { label, after_think, positional_fallback, require_label, free_form })?;
    Ok(py.allow_threads(|| responses.par_iter().map(|r| parse_answers(r, n, &opts).answers).collect()))
}

/// The BCR reward of one response to a pack whose gold answers are `golds`
/// (N = len(golds)): `accuracy + format_weight * format - length_penalty *
/// response_tokens / budget` (the last term only when `length_penalty` is
/// set, the paper's ablation). Returns a dict: `reward`, `accuracy` (mean
/// correctness), `correct` (list[bool]), `answers` (list[str | None]),
/// `format` (share of answers present and well formed), `length_penalty`
/// (the term added, <= 0) and `diagnostics` (list[str]). `require_label` and
/// `free_form` are as in `parse`: for a training reward in the BCR format,
/// `require_label=True` gives an unlabelled or free-form answer 0.
/// `format_weight=None` keeps bcr's default (0.1). Raises ValueError on
/// invalid options or an empty `golds`.
#[pyfunction]
#[pyo3(signature = (response, golds, *, format_weight=None, length_penalty=None, response_tokens=None,
                    budget=None, label="Answer", after_think=true, positional_fallback=false,
                    require_label=false, free_form=true))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn score<'py>(
    py: Python<'py>,
    response: &str,
    golds: Vec<String>,
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    response_tokens: Option<usize>,
    budget: Option<usize>,
    label: &str,
    after_think: bool,
    positional_fallback: bool,
    require_label: bool,
    free_form: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let read = ReadKw { label, after_think, positional_fallback, require_label, free_form };
    let kw = RewardKw { format_weight, length_penalty, budget, read };
    let opts = options(kw)?;
    // verl scores responses from a thread pool: let the others run meanwhile.
    let s = py.allow_threads(|| score_one(response, &golds, response_tokens, &opts)).map_err(PyValueError::new_err)?;
    score_dict(py, &s)
}

/// `[score(r, g, ...) for r, g in zip(responses, golds)]` (with
/// `response_tokens[i]` for response i), on all cores with the GIL released.
/// Raises ValueError when the lists differ in length or an item is invalid
/// (the message names its index).
#[pyfunction]
#[pyo3(signature = (responses, golds, *, format_weight=None, length_penalty=None, response_tokens=None,
                    budget=None, label="Answer", after_think=true, positional_fallback=false,
                    require_label=false, free_form=true))]
#[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
fn score_batch<'py>(
    py: Python<'py>,
    responses: Vec<String>,
    golds: Vec<Vec<String>>,
    format_weight: Option<f64>,
    length_penalty: Option<f64>,
    response_tokens: Option<Vec<usize>>,
    budget: Option<usize>,
    label: &str,
    after_think: bool,
    positional_fallback: bool,
    require_label: bool,
    free_form: bool,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    same_length("responses", responses.len(), "golds", golds.len())?;
    if let Some(tokens) = &response_tokens {
        same_length("responses", responses.len(), "response_tokens", tokens.len())?;
    }
    let read = ReadKw { label, after_think, positional_fallback, require_label, free_form };
    let kw = RewardKw { format_weight, length_penalty, budget, read };
    let opts = options(kw)?;
    let results: Vec<Result<Score, String>> = py.allow_threads(|| {
        responses
            .par_iter()
            .zip(golds.par_iter())
            .enumerate()
            .map(|(i, (response, golds))| {
                let tokens = response_tokens.as_ref().and_then(|t| t.get(i).copied());
                score_one(response, golds, tokens, &opts).map_err(|e| format!("responses[{i}]: {e}"))
            })
            .collect()
    });
    results.into_iter().map(|r| score_dict(py, &r.map_err(PyValueError::new_err)?)).collect()
}

/// Adds this module's functions to `bcr._bcr`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(parse_batch, m)?)?;
    m.add_function(wrap_pyfunction!(score, m)?)?;
    m.add_function(wrap_pyfunction!(score_batch, m)?)?;
    Ok(())
}
