//! Per benchmark and N: accuracy (mean and standard error), pass@k, tokens
//! per problem, truncation and format-failure rates, wall time and
//! throughput, computed from a run directory's files and written as
//! `summary.json`, `summary.csv` and `report.md` (plus the plots, see
//! [`crate::plot`]).
//!
//! Definitions: an *instance* is one problem in one response. Accuracy is
//! correct instances / instances; its standard error is over problems
//! ([`crate::stats`]). Tokens per problem is completion tokens / instances
//! (the BCR paper's "average tokens per problem"). Truncation rate is the
//! share of responses stopped by the budget; format-failure rate the share of
//! instances with no parsable labelled answer. Throughput divides by the
//! group's wall time summed over sessions.

use crate::backend::TokenSource;
use crate::config::{load_config, RunConfig};
use crate::stats::{mean, pass_at_k, std_err};
use crate::store::{load_samples, GroupTiming, Sample};
use crate::{Error, Result};
use bcr_core::run::read_jsonl;
use bcr_core::{FinishReason, ReflectionMarkers};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One benchmark x N line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Benchmark name.
    pub benchmark: String,
    /// Problems per context.
    pub n: usize,
    /// Distinct problems answered.
    pub problems: usize,
    /// Responses recorded.
    pub responses: usize,
    /// Responses the config asks for (packs x shuffles x samples).
    pub expected: usize,
    /// Accuracy in [0, 1] (avg@k over draws and packings).
    pub accuracy: f64,
    /// Standard error of `accuracy` over problems.
    pub accuracy_se: f64,
    /// Unbiased pass@k with k = samples, when samples > 1.
    pub pass_at_k: Option<f64>,
    /// Mean completion tokens per problem.
    pub tokens_per_problem: f64,
    /// Standard error of `tokens_per_problem` over responses (each
    /// response's tokens / its problems).
    #[serde(default)]
    pub tokens_per_problem_se: f64,
    /// Reflection phrases per problem ([`bcr_core::ReflectionMarkers`]).
    #[serde(default)]
    pub reflections_per_problem: f64,
    /// Reflection phrases per 1,000 completion tokens.
    #[serde(default)]
    pub reflections_per_1k_tokens: f64,
    /// Share of responses cut by the budget.
    pub truncation_rate: f64,
    /// Share of instances without a parsable answer.
    pub format_failure_rate: f64,
    /// Wall seconds, summed over sessions.
    pub wall_s: f64,
    /// Instances per wall second.
    pub problems_per_s: f64,
    /// Completion tokens per wall second.
    pub tokens_per_s: f64,
    /// Responses per token-count source (`usage`, `native`, `tokenizer`, `estimate`).
    pub token_sources: BTreeMap<String, usize>,
}

/// `summary.json`: the setup and the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run's identity.
    pub run: RunConfig,
    /// Backend description of the latest session.
    pub backend: String,
    /// The reflection phrases counted (lower-case).
    #[serde(default)]
    pub reflection_phrases: Vec<String>,
    /// One row per benchmark and N, in sweep order.
    pub rows: Vec<Row>,
}

/// Builds the summary of the run in `dir` from its files, counting the
/// reflection phrases of `markers` in every response.
pub fn summarise(dir: &Path, markers: &ReflectionMarkers) -> Result<Summary> {
    let stored = load_config(&dir.join("config.toml"))?;
    let samples = load_samples(&dir.join("samples.jsonl"))?;
    let timings: Vec<GroupTiming> = read_jsonl(&dir.join("metrics.jsonl"))?;
    let run = stored.run;
    let mut rows = Vec::new();
    for b in &run.benchmarks {
        for &n in &run.sweep.ns {
            let group: Vec<&Sample> = samples.iter().filter(|s| s.key.benchmark == b.name && s.key.n == n).collect();
            let wall_s: f64 = timings.iter().filter(|t| t.benchmark == b.name && t.n == n).map(|t| t.wall_s).sum();
            let expected = b.problems.div_ceil(n) * run.sweep.shuffles * run.sweep.samples;
            let g = Group { samples: &group, wall_s, expected, k: run.sweep.samples, markers };
            rows.push(row(&b.name, n, &g));
        }
    }
    let reflection_phrases = markers.phrases().to_vec();
    Ok(Summary { run, backend: stored.runtime.backend, reflection_phrases, rows })
}

/// The samples of one benchmark x N and what the row needs besides them.
struct Group<'a> {
    samples: &'a [&'a Sample],
    wall_s: f64,
    expected: usize,
    k: usize,
    markers: &'a ReflectionMarkers,
}

fn row(benchmark: &str, n: usize, g: &Group) -> Row {
    let (group, wall_s, k) = (g.samples, g.wall_s, g.k);
    // Per problem: (correct, instances); per (problem, shuffle): (correct, draws).
    let mut per_problem: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut per_draw_set: BTreeMap<(&str, usize), (usize, usize)> = BTreeMap::new();
    let (mut instances, mut correct, mut tokens, mut truncated, mut unparsed, mut reflections) = (0, 0, 0, 0, 0, 0);
    let mut token_sources = BTreeMap::new();
    let mut per_response_tokens = Vec::with_capacity(group.len());
    for s in group {
        for (i, id) in s.problem_ids.iter().enumerate() {
            let ok = s.correct.get(i).copied().unwrap_or(false);
            let e = per_problem.entry(id).or_default();
            e.0 += usize::from(ok);
            e.1 += 1;
            let d = per_draw_set.entry((id, s.key.shuffle)).or_default();
            d.0 += usize::from(ok);
            d.1 += 1;
            correct += usize::from(ok);
            unparsed += usize::from(s.answers.get(i).is_none_or(|a| a.is_none()));
        }
        instances += s.problem_ids.len();
        tokens += s.completion_tokens;
        reflections += g.markers.count(&s.response);
        per_response_tokens.push(s.completion_tokens as f64 / s.problem_ids.len().max(1) as f64);
        truncated += usize::from(s.finish == FinishReason::Length);
        *token_sources.entry(source_name(s.token_source).to_string()).or_insert(0) += 1;
    }
    let accs: Vec<f64> = per_problem.values().map(|&(c, t)| c as f64 / t as f64).collect();
    let pass = (k > 1).then(|| {
        let v: Vec<f64> = per_draw_set.values().filter_map(|&(c, t)| pass_at_k(t, c, k)).collect();
        mean(&v)
    });
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_s = |a: usize| if wall_s > 0.0 { a as f64 / wall_s } else { 0.0 };
    Row {
        benchmark: benchmark.to_string(),
        n,
        problems: per_problem.len(),
        responses: group.len(),
        expected: g.expected,
        accuracy: ratio(correct, instances),
        accuracy_se: std_err(&accs),
        pass_at_k: pass,
        tokens_per_problem: ratio(tokens, instances),
        tokens_per_problem_se: std_err(&per_response_tokens),
        reflections_per_problem: ratio(reflections, instances),
        reflections_per_1k_tokens: 1000.0 * ratio(reflections, tokens),
        truncation_rate: ratio(truncated, group.len()),
        format_failure_rate: ratio(unparsed, instances),
        wall_s,
        problems_per_s: per_s(instances),
        tokens_per_s: per_s(tokens),
        token_sources,
    }
}

/// The report name of a token source.
pub fn source_name(s: TokenSource) -> &'static str {
    match s {
        TokenSource::Usage => "usage",
        TokenSource::Native => "native",
        TokenSource::Tokenizer => "tokenizer",
        TokenSource::Estimate => "estimate",
    }
}

/// Writes `summary.json`, `summary.csv` and `report.md` into `dir`.
/// `command` is the command line shown in the report.
pub fn write_reports(dir: &Path, summary: &Summary, command: &str) -> Result<()> {
    let json = serde_json::to_string_pretty(summary).map_err(|e| Error::Invalid(format!("summary: {e}")))?;
    write(dir, "summary.json", &(json + "\n"))?;
    write(dir, "summary.csv", &csv(summary))?;
    write(dir, "report.md", &markdown(summary, command))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

const CSV_HEADER: &str = "benchmark,n,problems,responses,expected,accuracy,accuracy_se,pass_at_k,tokens_per_problem,tokens_per_problem_se,reflections_per_problem,reflections_per_1k_tokens,truncation_rate,format_failure_rate,wall_s,problems_per_s,tokens_per_s";

/// `summary.csv`: one line per row, plain numbers.
pub fn csv(summary: &Summary) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in &summary.rows {
        let pass = r.pass_at_k.map(|p| format!("{p:.6}")).unwrap_or_default();
        let name = if r.benchmark.contains([',', '"']) {
            format!("\"{}\"", r.benchmark.replace('"', "\"\""))
        } else {
            r.benchmark.clone()
        };
        let _ = writeln!(
            out,
            "{name},{},{},{},{},{:.6},{:.6},{pass},{:.2},{:.2},{:.4},{:.3},{:.6},{:.6},{:.3},{:.4},{:.2}",
            r.n,
            r.problems,
            r.responses,
            r.expected,
            r.accuracy,
            r.accuracy_se,
            r.tokens_per_problem,
            r.tokens_per_problem_se,
            r.reflections_per_problem,
            r.reflections_per_1k_tokens,
            r.truncation_rate,
            r.format_failure_rate,
            r.wall_s,
            r.problems_per_s,
            r.tokens_per_s
        );
    }
    out
}

/// `report.md`: setup, the table, and notes on token counts and completeness.
pub fn markdown(s: &Summary, command: &str) -> String {
    let run = &s.run;
    let mut out = String::from("# bcr eval report\n\n");
    let _ = writeln!(out, "```\n{command}\n```\n");
    let _ = writeln!(out, "- backend: {}", s.backend);
    let _ = writeln!(
        out,
        "- budget: {} tokens, {} (`max_tokens` = {})",
        run.sweep.budget,
        run.sweep.budget_mode.name(),
        budget_formula(run)
    );
    let _ = writeln!(
        out,
        "- sampling: temperature {}, top-p {}, {} draw(s) per pack, {} packing(s) per N, seed {}",
        run.sweep.temperature, run.sweep.top_p, run.sweep.samples, run.sweep.shuffles, run.sweep.seed
    );
    let k = run.sweep.samples;
    let pass_col = if k > 1 { format!(" pass@{k} |") } else { String::new() };
    let _ = writeln!(out, "- reflection phrases counted: {}", quoted(&s.reflection_phrases));
    let _ = writeln!(out, "\n| benchmark | N | problems | accuracy (%) | ± s.e. |{pass_col} tokens/problem | ± s.e. | reflections/problem | reflections/1k tokens | truncated (%) | format fail (%) | wall (s) | problems/s | tokens/s |");
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|{}---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        if k > 1 { "---:|" } else { "" }
    );
    for r in &s.rows {
        let pass = match (k > 1, r.pass_at_k) {
            (true, Some(p)) => format!(" {:.1} |", 100.0 * p),
            (true, None) => " - |".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.1} |{pass} {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} |",
            r.benchmark,
            r.n,
            r.problems,
            100.0 * r.accuracy,
            100.0 * r.accuracy_se,
            r.tokens_per_problem,
            r.tokens_per_problem_se,
            r.reflections_per_problem,
            r.reflections_per_1k_tokens,
            100.0 * r.truncation_rate,
            100.0 * r.format_failure_rate,
            r.wall_s,
            r.problems_per_s,
            r.tokens_per_s
        );
    }
    out.push_str(&notes(s));
    out
}

/// `"a", "b"` (or `none`).
fn quoted(phrases: &[String]) -> String {
    if phrases.is_empty() {
        return "none".into();
    }
    phrases.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ")
}

fn budget_formula(run: &RunConfig) -> String {
    match run.sweep.budget_mode {
        bcr_core::BudgetMode::Total => format!("{} for every N", run.sweep.budget),
        bcr_core::BudgetMode::PerProblem => format!("{} x N", run.sweep.budget),
    }
}

fn notes(s: &Summary) -> String {
    let mut sources: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &s.rows {
        for (k, v) in &r.token_sources {
            *sources.entry(k).or_insert(0) += v;
        }
    }
    let list: Vec<String> = sources.iter().map(|(k, v)| format!("{k}: {v} responses")).collect();
    let mut out = format!(
        "\nToken counts from {}.",
        if list.is_empty() { "no responses yet".to_string() } else { list.join(", ") }
    );
    if sources.contains_key("estimate") {
        out.push_str(" `estimate` = response bytes / 4 (the server sent no usage and no tokenizer was given): treat those numbers as rough.");
    }
    let missing: Vec<String> = s
        .rows
        .iter()
        .filter(|r| r.responses < r.expected)
        .map(|r| format!("{} N={} ({}/{})", r.benchmark, r.n, r.responses, r.expected))
        .collect();
    if !missing.is_empty() {
        let _ = write!(out, "\n\nIncomplete groups (rerun the same command to finish): {}.", missing.join(", "));
    }
    out.push_str("\n\nAccuracy: correct problems / problems answered (avg@k over draws and packings); s.e. over problems. Tokens/problem: completion tokens / problems in the responses. Wall time and throughput sum each group's sessions.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SampleKey;

    fn sample(
        pack: &str,
        ids: &[&str],
        correct: &[bool],
        answers: &[Option<&str>],
        tokens: usize,
        finish: FinishReason,
        s: usize,
    ) -> Sample {
        Sample {
            key: SampleKey { benchmark: "b".into(), n: ids.len(), shuffle: 0, pack_id: pack.into(), sample: s },
            problem_ids: ids.iter().map(|x| x.to_string()).collect(),
            golds: ids.iter().map(|_| "1".to_string()).collect(),
            answers: answers.iter().map(|a| a.map(String::from)).collect(),
            correct: correct.to_vec(),
            max_tokens: 100,
            completion_tokens: tokens,
            token_source: TokenSource::Usage,
            finish,
            latency_s: 1.0,
            attempts: 1,
            response: "Wait, let me check. ".repeat(s + 1),
        }
    }

    #[test]
    fn row_arithmetic() {
        let a = sample("0", &["p1", "p2"], &[true, false], &[Some("1"), None], 100, FinishReason::Length, 0);
        let b = sample("0", &["p1", "p2"], &[true, true], &[Some("1"), Some("1")], 60, FinishReason::Stop, 1);
        let c = sample("1", &["p3"], &[false], &[Some("2")], 40, FinishReason::Stop, 0);
        let d = sample("1", &["p3"], &[false], &[Some("2")], 40, FinishReason::Stop, 1);
        let markers = ReflectionMarkers::default();
        let g = Group { samples: &[&a, &b, &c, &d], wall_s: 10.0, expected: 4, k: 2, markers: &markers };
        let r = row("b", 2, &g);
        assert_eq!((r.problems, r.responses, r.expected), (3, 4, 4));
        assert!((r.accuracy - 3.0 / 6.0).abs() < 1e-12);
        // Per-problem accuracies 1, 0.5, 0: s.e. = 0.5 / sqrt(3).
        assert!((r.accuracy_se - 0.5 / 3f64.sqrt()).abs() < 1e-12);
        // pass@2: p1 1, p2 1, p3 0.
        assert!((r.pass_at_k.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.tokens_per_problem - 240.0 / 6.0).abs() < 1e-12);
        // Per response: 50, 30, 40, 40 tokens per problem; s.d. 8.165, s.e. 4.082.
        assert!((r.tokens_per_problem_se - (200f64 / 3.0).sqrt() / 2.0).abs() < 1e-9, "{}", r.tokens_per_problem_se);
        // "wait" + "let me check" per repetition: draws 0 and 1 give 2 and 4, so 2+4+2+4 = 12 over 6 problems and 240 tokens.
        assert!((r.reflections_per_problem - 2.0).abs() < 1e-12);
        assert!((r.reflections_per_1k_tokens - 50.0).abs() < 1e-9);
        assert_eq!(r.truncation_rate, 0.25);
        assert!((r.format_failure_rate - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!((r.problems_per_s, r.tokens_per_s), (0.6, 24.0));
        assert_eq!(r.token_sources.get("usage"), Some(&4));
    }

    #[test]
    fn empty_group_has_zeros_not_nans() {
        let markers = ReflectionMarkers::default();
        let r = row("b", 3, &Group { samples: &[], wall_s: 0.0, expected: 7, k: 1, markers: &markers });
        assert_eq!((r.accuracy, r.tokens_per_problem, r.problems_per_s, r.pass_at_k), (0.0, 0.0, 0.0, None));
        assert_eq!(r.expected, 7);
    }
}
