//! The evaluation benchmarks shipped in the repository's `data/benchmarks/`
//! (see `data/README.md` for their origins): the paper's five (AIME25, AMC23,
//! Minerva, MATH-500, OlympiadBench) plus AIME24 and GSM8K.
//!
//! The directory is, in order:
//! 1. `$BCR_DATA_DIR` when set (the directory holding the files, or its
//!    parent holding `benchmarks/`); when set, nothing else is searched;
//! 2. the repository copy, `<bcr-core>/../../data/benchmarks` (found through
//!    the crate's build-time `CARGO_MANIFEST_DIR`);
//! 3. `./data/benchmarks` under the current directory.
//!
//! The first that holds the benchmark's file wins; otherwise the error lists
//! every place looked at.

use super::{load_problems, Format, LoadOptions};
use crate::{Error, Problem, Result};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// A bundled benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Benchmark {
    /// AIME 2024 I and II, 30 problems.
    Aime24,
    /// AIME 2025 I and II, 30 problems.
    Aime25,
    /// AMC 2023, 40 problems.
    Amc23,
    /// MATH-500, 500 problems with levels 1-5.
    Math500,
    /// Minerva quantitative reasoning, 272 problems.
    Minerva,
    /// OlympiadBench, English text-only math, 675 problems.
    OlympiadBench,
    /// GSM8K test split, 1319 problems.
    Gsm8k,
}

impl Benchmark {
    /// Every benchmark.
    pub const ALL: [Benchmark; 7] = [
        Benchmark::Aime24,
        Benchmark::Aime25,
        Benchmark::Amc23,
        Benchmark::Math500,
        Benchmark::Minerva,
        Benchmark::OlympiadBench,
        Benchmark::Gsm8k,
    ];

    /// The name used on the command line and as the problems' `source`.
    pub fn name(self) -> &'static str {
        match self {
            Benchmark::Aime24 => "aime24",
            Benchmark::Aime25 => "aime25",
            Benchmark::Amc23 => "amc23",
            Benchmark::Math500 => "math500",
            Benchmark::Minerva => "minerva",
            Benchmark::OlympiadBench => "olympiadbench",
            Benchmark::Gsm8k => "gsm8k",
        }
    }

    /// Parses a name (`math500`; case and surrounding spaces ignored).
    pub fn from_name(name: &str) -> Result<Benchmark> {
        let wanted = name.trim().to_ascii_lowercase();
        Benchmark::ALL.into_iter().find(|b| b.name() == wanted).ok_or_else(|| {
            let names: Vec<&str> = Benchmark::ALL.iter().map(|b| b.name()).collect();
            Error::Invalid(format!("unknown benchmark `{name}`; expected one of {}", names.join(", ")))
        })
    }

    /// The file name inside the benchmark directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Benchmark::Aime24 => "aime24.jsonl",
            Benchmark::Aime25 => "aime25.jsonl",
            Benchmark::Amc23 => "amc23.jsonl",
            Benchmark::Math500 => "math500.jsonl",
            Benchmark::Minerva => "minerva_math.jsonl",
            Benchmark::OlympiadBench => "olympiadbench.jsonl",
            Benchmark::Gsm8k => "gsm8k.jsonl",
        }
    }

    /// The schema of the file.
    pub fn format(self) -> Format {
        match self {
            Benchmark::Aime24 | Benchmark::Aime25 => Format::Aime,
            Benchmark::Amc23 => Format::Amc,
            Benchmark::Math500 => Format::Math500,
            Benchmark::Minerva => Format::Minerva,
            Benchmark::OlympiadBench => Format::OlympiadBench,
            Benchmark::Gsm8k => Format::Gsm8k,
        }
    }

    /// Loads every problem (strictly: a bad record is an error), with
    /// `source` set to the benchmark's name.
    pub fn load(self) -> Result<Vec<Problem>> {
        let opts = LoadOptions { format: self.format(), skip_invalid: false };
        let mut problems = load_problems(benchmark_path(self)?, &opts)?.problems;
        for p in &mut problems {
            p.source = Some(self.name().to_string());
        }
        Ok(problems)
    }
}

impl fmt::Display for Benchmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The path of a benchmark's file (resolution order in the module doc).
pub fn benchmark_path(benchmark: Benchmark) -> Result<PathBuf> {
    let candidates = candidate_dirs(std::env::var_os("BCR_DATA_DIR"));
    find_in(&candidates, benchmark)
}

/// The benchmark directory in use: the first candidate that holds MATH-500.
pub fn benchmark_dir() -> Result<PathBuf> {
    let path = benchmark_path(Benchmark::Math500)?;
    Ok(path.parent().map(PathBuf::from).unwrap_or_default())
}

/// The directories to search, in order, given the value of `BCR_DATA_DIR`.
fn candidate_dirs(env: Option<OsString>) -> Vec<PathBuf> {
    if let Some(dir) = env.filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return vec![dir.clone(), dir.join("benchmarks")];
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/benchmarks");
    // Canonical when it exists, so messages show `/repo/data/...`, not `crates/x/../..`.
    let repo = repo.canonicalize().unwrap_or(repo);
    vec![repo, PathBuf::from("data/benchmarks")]
}

fn find_in(dirs: &[PathBuf], benchmark: Benchmark) -> Result<PathBuf> {
    let file = benchmark.file_name();
    if let Some(path) = dirs.iter().map(|d| d.join(file)).find(|p| p.is_file()) {
        return Ok(path);
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.join(file).display().to_string()).collect();
    Err(Error::Invalid(format!(
        "benchmark `{benchmark}` not found; looked for {}; set BCR_DATA_DIR to the directory holding {file}",
        looked.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for b in Benchmark::ALL {
            assert_eq!(Benchmark::from_name(b.name()).ok(), Some(b));
            assert!(b.file_name().ends_with(".jsonl"));
        }
        assert_eq!(Benchmark::from_name(" MATH500 ").ok(), Some(Benchmark::Math500));
        let err = Benchmark::from_name("math").map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("`math`") && err.contains("olympiadbench"), "{err}");
    }

    #[test]
    fn env_dir_is_authoritative_and_accepts_its_parent() {
        let dirs = candidate_dirs(Some(OsString::from("/x/data")));
        assert_eq!(dirs, vec![PathBuf::from("/x/data"), PathBuf::from("/x/data/benchmarks")]);
        let dirs = candidate_dirs(Some(OsString::new()));
        assert_eq!(dirs.len(), 2);
        assert!(dirs[0].ends_with("data/benchmarks"), "{dirs:?}");
    }

    #[test]
    fn missing_directory_lists_where_it_looked() {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string());
        let tmp = tmp.as_ref().map(|t| t.path().to_path_buf()).unwrap_or_default();
        let err = find_in(&[tmp.join("a"), tmp.join("b")], Benchmark::Minerva).map(|_| ()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("a/minerva_math.jsonl") && msg.contains("b/minerva_math.jsonl"), "{msg}");
        assert!(msg.contains("BCR_DATA_DIR"), "{msg}");
    }

    #[test]
    fn repo_copy_is_found_and_every_benchmark_loads() {
        let counts = [
            (Benchmark::Aime24, 30),
            (Benchmark::Aime25, 30),
            (Benchmark::Amc23, 40),
            (Benchmark::Math500, 500),
            (Benchmark::Minerva, 272),
            (Benchmark::OlympiadBench, 675),
            (Benchmark::Gsm8k, 1319),
        ];
        for (b, n) in counts {
            let problems = b.load().unwrap_or_else(|e| panic!("{b}: {e}"));
            assert_eq!(problems.len(), n, "{b}");
            assert!(problems.iter().all(|p| p.source.as_deref() == Some(b.name())));
            // Auto-detection finds the same mapping (`amc` is detected as its twin `aime`).
            let path = benchmark_path(b).unwrap_or_default();
            let auto = load_problems(path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{b}: {e}"));
            let want = if b.format() == Format::Amc { Format::Aime } else { b.format() };
            assert_eq!(auto.format, want, "{b}");
            let mut renamed = auto.problems;
            renamed.iter_mut().for_each(|p| p.source = Some(b.name().to_string()));
            assert_eq!(renamed, problems, "{b}");
        }
    }
}
