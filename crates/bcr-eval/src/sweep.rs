//! The sweep: for every benchmark, N, packing, pack and draw not yet in
//! `samples.jsonl`, one request; each result is graded and appended at once.
//!
//! Packing `s` of a benchmark at N: `s = 0` is the file order, `s >= 1` a
//! shuffle seeded with `seed + s`; both chunk consecutively into
//! `ceil(M / N)` packs (the last may be short), so every problem is asked
//! exactly once per packing. Groups (benchmark x N) run one after another so
//! each has its own wall time; inside a group the backend runs requests
//! concurrently.

use crate::backend::{Backend, Flow, Request, Response};
use crate::config::{fingerprint, prepare_run_dir, BenchmarkSpec, RunConfig, RuntimeConfig, StoredConfig};
use crate::store::{load_samples, GroupTiming, Sample, SampleKey};
use crate::{Error, Result};
use bcr_core::run::{Appender, Progress, ProgressSpec};
use bcr_core::{pack_problems, ChatMessage, Pack, PackOptions, PackStrategy, ProblemSet, PromptTemplate, RewardConfig};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// The `[run]` entry of a problem set: its name, size and fingerprint.
pub fn benchmark_spec(set: &ProblemSet) -> BenchmarkSpec {
    let parts = set.problems.iter().flat_map(|p| [p.id.as_str(), p.question.as_str(), p.answer.as_str()]);
    BenchmarkSpec { name: set.name.clone(), problems: set.problems.len(), fingerprint: fingerprint(parts) }
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
pub fn run_sweep(dir: &Path, data: &[ProblemSet], opts: &SweepOptions, backend: &dyn Backend) -> Result<SweepOutcome> {
    opts.run.validate()?;
    prepare_run_dir(dir, &StoredConfig { run: opts.run.clone(), runtime: opts.runtime.clone() })?;
    let samples_path = dir.join("samples.jsonl");
    let done: HashSet<SampleKey> = load_samples(&samples_path)?.into_iter().map(|s| s.key).collect();
    let samples = Appender::open(&samples_path)?;
    let metrics = Appender::open(&dir.join("metrics.jsonl"))?;
    let mut outcome = SweepOutcome::default();
    let mut first_error: Option<Error> = None;
    for bench in data {
        for &n in &opts.run.sweep.ns {
            let jobs = pending_jobs(bench, n, &opts.run, &done)?;
            let total = bench.problems.len().div_ceil(n) * opts.run.sweep.shuffles * opts.run.sweep.samples;
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
fn pending_jobs(bench: &ProblemSet, n: usize, run: &RunConfig, done: &HashSet<SampleKey>) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for shuffle in 0..run.sweep.shuffles {
        let strategy = if shuffle == 0 { PackStrategy::Sequential } else { PackStrategy::Random };
        let seed = run.sweep.seed.wrapping_add(shuffle as u64);
        for pack in pack_problems(&bench.problems, &PackOptions { n, strategy, seed })? {
            for sample in 0..run.sweep.samples {
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
        let spec = ProgressSpec::counted(&self.label, "requests", requests.len() as u64);
        let progress = Progress::new(&spec, self.opts.progress);
        let tally = Mutex::new(Tally { bcr_s: prep_s, ..Tally::default() });
        let on_result = |i: usize, result: Result<Response>| -> Flow {
            let t0 = Instant::now();
            let flow = self.deliver(&self.jobs[i], &requests[i], result, &tally);
            progress.advance(1);
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
        if let Some(system) = &run.sweep.system {
            messages.push(ChatMessage::system(system.clone()));
        }
        messages.push(ChatMessage::user(self.opts.prompt.render(&job.pack)?));
        Ok(Request {
            messages,
            max_tokens: run.sweep.budget_mode.max_tokens(run.sweep.budget, job.pack.n),
            temperature: run.sweep.temperature,
            top_p: run.sweep.top_p,
            seed: request_seed(run.sweep.seed, &job.key),
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
    use crate::config::SweepSettings;
    use bcr_core::Problem;

    fn bench(m: usize) -> ProblemSet {
        let problems = (0..m)
            .map(|i| Problem {
                id: format!("p{i}"),
                question: format!("q{i}"),
                answer: i.to_string(),
                difficulty: None,
                source: None,
            })
            .collect();
        ProblemSet { name: "t".into(), source: "mem".into(), problems }
    }

    fn run(shuffles: usize, samples: usize) -> RunConfig {
        let sweep = SweepSettings {
            ns: vec![3],
            shuffles,
            samples,
            temperature: 0.0,
            top_p: 1.0,
            budget: 10,
            budget_mode: bcr_core::BudgetMode::Total,
            system: None,
            label: "Answer".into(),
            require_label: false,
            free_form: true,
            seed: 1,
        };
        RunConfig {
            benchmarks: vec![benchmark_spec(&bench(7))],
            sweep,
            limit: None,
            template: "t".into(),
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
