//! Problem sources: what a user may name where problems are expected
//! (`bcr train`'s `data.path`, `bcr eval --benchmarks`, the demo), resolved
//! one way everywhere:
//!
//! 1. an existing directory: every `.parquet` and `.jsonl` file in it, in
//!    name order (DeepMath-103K's shards);
//! 2. an existing file (JSONL or Parquet, any format of [`Format`]);
//! 3. a bundled benchmark name (`gsm8k`, `math500`, ...: [`Benchmark`]);
//! 4. a Hugging Face dataset id, `owner/name[:path/in/repo]`, downloaded
//!    into the Hugging Face cache (needs the `hub` feature and network, or
//!    a warm cache with `HF_HUB_OFFLINE=1`).
//!
//! Local paths come first, so a file always means itself.

use std::path::{Path, PathBuf};

use super::{load_problems, Benchmark, LoadOptions};
use crate::{Error, Problem, Result};

/// A named set of problems and where it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemSet {
    /// Name in keys and reports: the benchmark name, the file stem, the
    /// directory name or the Hub id.
    pub name: String,
    /// Where it was read from (a path).
    pub source: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

/// What a problem-set spec names (see the module doc for the order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemSource {
    /// A directory of `.parquet` / `.jsonl` shards.
    Dir(PathBuf),
    /// One JSONL or Parquet file.
    File(PathBuf),
    /// A benchmark bundled with bcr.
    Benchmark(Benchmark),
    /// A Hub dataset, `owner/name[:file]`.
    Hub(String),
}

impl ProblemSource {
    /// Classifies `spec`.
    pub fn parse(spec: &str) -> Result<Self> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(ProblemSource::Dir(path.to_path_buf()));
        }
        if path.is_file() {
            return Ok(ProblemSource::File(path.to_path_buf()));
        }
        if let Ok(b) = Benchmark::from_name(spec) {
            return Ok(ProblemSource::Benchmark(b));
        }
        if crate::hub::looks_like_repo_id(spec) {
            return Ok(ProblemSource::Hub(spec.to_string()));
        }
        Err(Error::Invalid(format!(
            "{spec:?} is neither a file, a directory, a bundled benchmark ({}) nor a Hub dataset id (owner/name)",
            Benchmark::ALL.map(Benchmark::name).join(", ")
        )))
    }

    /// Loads the problems; `opts` applies to files, shards and Hub files
    /// (a bundled benchmark has its own format).
    pub fn load(&self, opts: &LoadOptions) -> Result<ProblemSet> {
        let stem =
            |p: &Path| p.file_stem().or(p.file_name()).map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        match self {
            ProblemSource::Dir(dir) => {
                let mut problems = Vec::new();
                for shard in shards(dir)? {
                    problems.extend(load_problems(&shard, opts)?.problems);
                }
                Ok(ProblemSet { name: stem(dir), source: dir.display().to_string(), problems })
            }
            ProblemSource::File(path) => Ok(ProblemSet {
                name: stem(path),
                source: path.display().to_string(),
                problems: load_problems(path, opts)?.problems,
            }),
            ProblemSource::Benchmark(b) => Ok(ProblemSet {
                name: b.name().to_string(),
                source: super::benchmark_path(*b)?.display().to_string(),
                problems: b.load()?,
            }),
            ProblemSource::Hub(id) => {
                let path = download(id)?;
                let problems = load_problems(&path, opts)?.problems;
                Ok(ProblemSet { name: id.clone(), source: path.display().to_string(), problems })
            }
        }
    }
}

/// Resolves and loads `spec`, keeping the first `limit` problems.
pub fn load_problem_set(spec: &str, opts: &LoadOptions, limit: Option<usize>) -> Result<ProblemSet> {
    let mut set = ProblemSource::parse(spec)?.load(opts)?;
    if let Some(m) = limit {
        set.problems.truncate(m);
    }
    Ok(set)
}

/// The `.parquet` and `.jsonl` files of `dir`, in name order; none is an error.
fn shards(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut shards = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|x| x == "parquet" || x == "jsonl") {
            shards.push(path);
        }
    }
    shards.sort();
    if shards.is_empty() {
        return Err(Error::Input { path: dir.to_path_buf(), message: "holds no .parquet or .jsonl file".into() });
    }
    Ok(shards)
}

#[cfg(feature = "hub")]
fn download(id: &str) -> Result<PathBuf> {
    crate::hub::download_dataset(id)
}

#[cfg(not(feature = "hub"))]
fn download(id: &str) -> Result<PathBuf> {
    Err(Error::Invalid(format!("Hub dataset `{id}`: this build of bcr-core has no `hub` feature")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_dirs_benchmarks_and_hub_ids() {
        let dir = tempfile::tempdir().unwrap();
        let line = |i: usize| format!("{{\"id\": \"a{i}\", \"question\": \"q\", \"answer\": \"{i}\"}}\n");
        std::fs::write(dir.path().join("b.jsonl"), line(1) + &line(2)).unwrap();
        std::fs::write(dir.path().join("a.jsonl"), line(3)).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let opts = LoadOptions::default();
        let all = load_problem_set(&dir.path().display().to_string(), &opts, None).unwrap();
        assert_eq!(all.problems.iter().map(|p| p.answer.as_str()).collect::<Vec<_>>(), ["3", "1", "2"]);
        let file = dir.path().join("b.jsonl");
        let one = load_problem_set(&file.display().to_string(), &opts, Some(1)).unwrap();
        assert_eq!((one.name.as_str(), one.problems.len()), ("b", 1));
        let gsm = load_problem_set("gsm8k", &opts, Some(5)).unwrap();
        assert_eq!((gsm.name.as_str(), gsm.problems.len()), ("gsm8k", 5));
        assert_eq!(ProblemSource::parse("openai/gsm8k").unwrap(), ProblemSource::Hub("openai/gsm8k".into()));
        let err = ProblemSource::parse(&dir.path().join("nope").display().to_string()).unwrap_err().to_string();
        assert!(err.contains("neither a file") && err.contains("gsm8k"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let err = load_problem_set(&empty.path().display().to_string(), &opts, None).unwrap_err().to_string();
        assert!(err.contains("holds no .parquet or .jsonl file"), "{err}");
    }
}
