//! The sweep: for every benchmark, N, packing, pack and draw not yet in
//! `samples.jsonl`, one request; each result is graded and appended at once.
//!
//! Packing `s` of a benchmark at N: `s = 0` is the file order, `s >= 1` a
//! shuffle seeded with `seed + s`; both chunk consecutively into
//! `ceil(M / N)` packs (the last may be short), so every problem is asked
//! exactly once per packing. Groups (benchmark x N) run one after another so
//! each has its own wall time; inside a group the backend runs requests
//! concurrently.

use crate::backend::{Backend, Flow, Message, Request, Response};
use crate::config::{fingerprint, prepare_run_dir, BenchmarkSpec, RunConfig, RuntimeConfig, StoredConfig};
use crate::progress::Progress;
use crate::store::{load_samples, Appender, GroupTiming, Sample, SampleKey};
use crate::{hub, Error, Result};
use bcr_core::{
    pack_problems, Benchmark, LoadOptions, Pack, PackOptions, PackStrategy, Problem, PromptTemplate, RewardConfig,
};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// One problem set, loaded.
#[derive(Debug, Clone)]
pub struct BenchData {
    /// Name in keys and reports.
    pub name: String,
    /// Where it was read from.
    pub source: String,
    /// The problems (after `limit`).
    pub problems: Vec<Problem>,
}

impl BenchData {
    /// The `[run]` entry of this set.
    pub fn spec(&self) -> BenchmarkSpec {
        let parts = self.problems.iter().flat_map(|p| [p.id.as_str(), p.question.as_str(), p.answer.as_str()]);
        BenchmarkSpec { name: self.name.clone(), problems: self.problems.len(), fingerprint: fingerprint(parts) }
    }
}

/// Loads a benchmark by name (`gsm8k`), a problem file by path, or a Hub
/// dataset (`owner/name[:file]`), keeping the first `limit` problems.
pub fn load_benchmark(spec: &str, limit: Option<usize>) -> Result<BenchData> {
    let (name, source, mut problems) = if let Ok(b) = Benchmark::from_name(spec) {
        let path = bcr_core::benchmark_path(b)?;
        (b.name().to_string(), path.display().to_string(), b.load()?)
    } else {
        let path = if Path::new(spec).exists() || !hub::looks_like_hub_id(spec) {
            std::path::PathBuf::from(spec)
        } else {
            hub::download(spec)?
        };
        let loaded = bcr_core::load_problems(&path, &LoadOptions::default())?;
        let stem = path.file_stem().map_or_else(|| spec.to_string(), |s| s.to_string_lossy().into_owned());
        let name = if hub::looks_like_hub_id(spec) && !Path::new(spec).exists() { spec.to_string() } else { stem };
        (name, path.display().to_string(), loaded.problems)
    };
    if let Some(m) = limit {
        problems.truncate(m);
    }
    Ok(BenchData { name, source, problems })
}

/// Everything a sweep needs besides the data and the backend.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The run's identity (stored in `config.toml`).
    pub run: RunConfig,
    /// Session settings (stored, not compared).
    pub runtime: RuntimeConfig,
    /// Renders a pack as the user message.
    pub prompt: PromptTemplate,
    /// Parsing and grading settings.
    pub reward: RewardConfig,
    /// Show progress on stderr.
    pub progress: bool,
}

/// What one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepOutcome {
    /// Samples written in this session.
    pub completed: usize,
    /// Samples already present from earlier sessions.
    pub already_done: usize,
    /// Requests that failed after retries (not written; a rerun retries them).
    pub failed: usize,
}

/// One pending request and where its result goes.
struct Job {
    key: SampleKey,
    pack: Pack,
}

/// Runs (or resumes) the sweep into `dir`.
pub fn run_sweep(dir: &Path, data: &[BenchData], opts: &SweepOptions, backend: &dyn Backend) -> Result<SweepOutcome> {
    opts.run.validate()?;
    prepare_run_dir(dir, &StoredConfig { run: opts.run.clone(), runtime: opts.runtime.clone() })?;
    let samples_path = dir.join("samples.jsonl");
    let done: HashSet<SampleKey> = load_samples(&samples_path)?.into_iter().map(|s| s.key).collect();
    let samples = Appender::open(&samples_path)?;
    let metrics = Appender::open(&dir.join("metrics.jsonl"))?;
    let mut outcome = SweepOutcome::default();
    let mut first_error: Option<Error> = None;
    for bench in data {
        for &n in &opts.run.ns {
            let jobs = pending_jobs(bench, n, &opts.run, &done)?;
            let total = bench.problems.len().div_ceil(n) * opts.run.shuffles * opts.run.samples;
            outcome.already_done += total - jobs.len();
            if jobs.is_empty() {
                continue;
            }
            let group = Group { jobs: &jobs, opts, samples: &samples, label: format!("{} N={n}", bench.name) };
            let (timing, err) = group.run(backend)?;
            outcome.completed += timing.completed;
            outcome.failed += timing.failed;
            metrics.append(&GroupTiming { benchmark: bench.name.clone(), n, ..timing })?;
            if let Some(e) = err {
                let fatal = !e.is_retryable();
                first_error.get_or_insert(e);
                if fatal {
                    break;
                }
            }
        }
    }
    samples.sync()?;
    metrics.sync()?;
    match first_error {
        // A client error (bad model name, bad request) would repeat: report it as is.
        Some(e) if !e.is_retryable() => Err(e),
        Some(e) => Err(Error::Incomplete {
            failed: outcome.failed,
            total: outcome.completed + outcome.failed,
            first: e.to_string(),
        }),
        None => Ok(outcome),
    }
}

/// The jobs of one benchmark at one N that are not done yet, in order.
fn pending_jobs(bench: &BenchData, n: usize, run: &RunConfig, done: &HashSet<SampleKey>) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for shuffle in 0..run.shuffles {
        let strategy = if shuffle == 0 { PackStrategy::Sequential } else { PackStrategy::Random };
        let seed = run.seed.wrapping_add(shuffle as u64);
        for pack in pack_problems(&bench.problems, &PackOptions { n, strategy, seed })? {
            for sample in 0..run.samples {
                let key =
                    SampleKey { benchmark: bench.name.clone(), n, shuffle, pack_id: pack.pack_id.clone(), sample };
                if !done.contains(&key) {
                    jobs.push(Job { key, pack: pack.clone() });
                }
            }
        }
    }
    Ok(jobs)
}

/// One benchmark x N group of pending jobs.
struct Group<'a> {
    jobs: &'a [Job],
    opts: &'a SweepOptions,
    samples: &'a Appender,
    label: String,
}

/// Shared counters of a running group.
#[derive(Default)]
struct Tally {
    completed: usize,
    failed: usize,
    request_s: f64,
    bcr_s: f64,
    error: Option<Error>,
}

impl Group<'_> {
    /// Runs the group; returns its timing and the first request error.
    fn run(&self, backend: &dyn Backend) -> Result<(GroupTiming, Option<Error>)> {
        let start = Instant::now();
        let requests = self.jobs.iter().map(|j| self.request(j)).collect::<Result<Vec<_>>>()?;
        let prep_s = start.elapsed().as_secs_f64();
        let progress = Progress::start(self.label.clone(), requests.len(), self.opts.progress);
        let tally = Mutex::new(Tally { bcr_s: prep_s, ..Tally::default() });
        let on_result = |i: usize, result: Result<Response>| -> Flow {
            let t0 = Instant::now();
            let flow = self.deliver(&self.jobs[i], &requests[i], result, &tally);
            progress.inc();
            let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
            t.bcr_s += t0.elapsed().as_secs_f64();
            flow
        };
        backend.run(&requests, &on_result)?;
        progress.finish();
        let t = tally.into_inner().unwrap_or_else(|p| p.into_inner());
        let timing = GroupTiming {
            benchmark: String::new(),
            n: 0,
            completed: t.completed,
            failed: t.failed,
            wall_s: start.elapsed().as_secs_f64(),
            request_s: t.request_s,
            bcr_s: t.bcr_s,
        };
        Ok((timing, t.error))
    }

    /// Grades and writes one result; says whether to go on.
    fn deliver(&self, job: &Job, req: &Request, result: Result<Response>, tally: &Mutex<Tally>) -> Flow {
        let written = result.and_then(|resp| {
            let latency = resp.latency_s;
            let sample = self.grade(job, req, resp)?;
            self.samples.append(&sample)?;
            Ok(latency)
        });
        let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
        match written {
            Ok(latency) => {
                t.completed += 1;
                t.request_s += latency;
                Flow::Continue
            }
            Err(e) => {
                t.failed += 1;
                let stop = !e.is_retryable();
                t.error.get_or_insert(e);
                if stop {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        }
    }

    fn request(&self, job: &Job) -> Result<Request> {
        let run = &self.opts.run;
        let mut messages = Vec::new();
        if let Some(system) = &run.system {
            messages.push(Message { role: "system".into(), content: system.clone() });
        }
        messages.push(Message { role: "user".into(), content: self.opts.prompt.render(&job.pack)? });
        Ok(Request {
            messages,
            max_tokens: run.budget_mode.max_tokens(run.budget, job.pack.n),
            temperature: run.temperature,
            top_p: run.top_p,
            seed: request_seed(run.seed, &job.key),
        })
    }

    fn grade(&self, job: &Job, req: &Request, resp: Response) -> Result<Sample> {
        let golds = job.pack.golds();
        let score =
            bcr_core::score_response(&resp.text, &golds, resp.completion_tokens, req.max_tokens, &self.opts.reward)?;
        Ok(Sample {
            key: job.key.clone(),
            problem_ids: job.pack.problems.iter().map(|p| p.id.clone()).collect(),
            golds: golds.iter().map(|g| g.to_string()).collect(),
            answers: score.answers,
            correct: score.correct,
            max_tokens: req.max_tokens,
            completion_tokens: resp.completion_tokens,
            token_source: resp.token_source,
            finish: resp.finish,
            latency_s: resp.latency_s,
            attempts: resp.attempts,
            response: resp.text,
        })
    }
}

/// A 31-bit sampling seed per key (servers differ in the seed range they accept).
fn request_seed(seed: u64, key: &SampleKey) -> u64 {
    let parts = [
        key.benchmark.clone(),
        key.n.to_string(),
        key.shuffle.to_string(),
        key.pack_id.clone(),
        key.sample.to_string(),
        seed.to_string(),
    ];
    let hex = fingerprint(parts.iter().map(String::as_str));
    u64::from_str_radix(&hex, 16).unwrap_or(seed) & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(m: usize) -> BenchData {
        let problems = (0..m)
            .map(|i| Problem {
                id: format!("p{i}"),
                question: format!("q{i}"),
                answer: i.to_string(),
                difficulty: None,
                source: None,
            })
            .collect();
        BenchData { name: "t".into(), source: "mem".into(), problems }
    }

    fn run(shuffles: usize, samples: usize) -> RunConfig {
        RunConfig {
            benchmarks: vec![bench(7).spec()],
            ns: vec![3],
            shuffles,
            samples,
            temperature: 0.0,
            top_p: 1.0,
            budget: 10,
            budget_mode: crate::BudgetMode::Total,
            limit: None,
            system: None,
            label: "Answer".into(),
            template: "t".into(),
            seed: 1,
            backend: "test".into(),
        }
    }

    #[test]
    fn every_problem_once_per_packing_and_done_keys_skipped() {
        for (m, n) in [(7, 3), (1, 4), (6, 6), (0, 2), (5, 1)] {
            let jobs = pending_jobs(&bench(m), n, &run(3, 2), &HashSet::new()).unwrap();
            assert_eq!(jobs.len(), m.div_ceil(n) * 3 * 2, "m{m} n{n}");
            for shuffle in 0..3 {
                let mut ids: Vec<&str> = jobs
                    .iter()
                    .filter(|j| j.key.shuffle == shuffle && j.key.sample == 0)
                    .flat_map(|j| j.pack.problems.iter().map(|p| p.id.as_str()))
                    .collect();
                ids.sort();
                let mut want: Vec<String> = (0..m).map(|i| format!("p{i}")).collect();
                want.sort();
                assert_eq!(ids, want, "m{m} n{n} shuffle {shuffle}");
            }
        }
        let all = pending_jobs(&bench(7), 3, &run(2, 1), &HashSet::new()).unwrap();
        let done: HashSet<SampleKey> = all.iter().take(4).map(|j| j.key.clone()).collect();
        let rest = pending_jobs(&bench(7), 3, &run(2, 1), &done).unwrap();
        assert_eq!(rest.len(), all.len() - 4);
        assert!(rest.iter().all(|j| !done.contains(&j.key)));
    }

    #[test]
    fn seeds_differ_per_key_and_fit_31_bits() {
        let key = |s: usize| SampleKey { benchmark: "b".into(), n: 1, shuffle: 0, pack_id: "x".into(), sample: s };
        let seeds: HashSet<u64> = (0..100).map(|s| request_seed(7, &key(s))).collect();
        assert_eq!(seeds.len(), 100);
        assert!(seeds.iter().all(|&s| s < 1 << 31));
        assert_eq!(request_seed(7, &key(3)), request_seed(7, &key(3)));
    }
}
