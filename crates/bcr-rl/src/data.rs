//! The stream of packs the trainer draws from, with a cursor that a
//! checkpoint can save.
//!
//! For each N of `data.n` the problem set is packed (stratified by default,
//! `bcr_core::pack_problems`) once per epoch with a seed derived from the run
//! seed, the epoch and N, so the packs of any epoch can be rebuilt from the
//! cursor alone. Step `s` draws its B packs from N = `n[s % len]` (mixed N);
//! an epoch that runs out continues into the next one.

use bcr_core::{pack_problems, Pack, PackOptions, PackStrategy, Problem};
use serde::{Deserialize, Serialize};

use crate::config::Strategy;
use crate::error::{Error, Result};

/// Where the stream of one N stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// N of the packs.
    pub n: usize,
    /// Epoch over the problem set (0-based).
    pub epoch: u64,
    /// Index of the next pack within the epoch.
    pub next: usize,
}

/// Packs of N problems, epoch after epoch, for every N of the run.
pub struct PackStream {
    problems: Vec<Problem>,
    strategy: Strategy,
    seed: u64,
    cursors: Vec<Cursor>,
    packs: Vec<Vec<Pack>>,
}

impl PackStream {
    /// A stream at the start of epoch 0 for each N in `ns`.
    pub fn new(problems: Vec<Problem>, ns: &[usize], strategy: Strategy, seed: u64) -> Result<Self> {
        let cursors = ns.iter().map(|&n| Cursor { n, epoch: 0, next: 0 }).collect();
        Self::at(problems, cursors, strategy, seed)
    }

    /// A stream positioned at saved cursors.
    pub fn at(problems: Vec<Problem>, cursors: Vec<Cursor>, strategy: Strategy, seed: u64) -> Result<Self> {
        let mut stream = PackStream { problems, strategy, seed, cursors, packs: Vec::new() };
        for i in 0..stream.cursors.len() {
            let packs = stream.pack_epoch(stream.cursors[i].n, stream.cursors[i].epoch)?;
            stream.packs.push(packs);
        }
        Ok(stream)
    }

    /// The cursors to save in a checkpoint.
    pub fn cursors(&self) -> &[Cursor] {
        &self.cursors
    }

    /// N used at `step` (mixed N cycles through the list).
    pub fn n_at(&self, step: usize) -> usize {
        self.cursors[step % self.cursors.len()].n
    }

    /// The `count` packs of `step`.
    pub fn draw(&mut self, step: usize, count: usize) -> Result<Vec<Pack>> {
        let i = step % self.cursors.len();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let cur = self.cursors[i];
            if cur.next >= self.packs[i].len() {
                let epoch = cur.epoch + 1;
                self.packs[i] = self.pack_epoch(cur.n, epoch)?;
                self.cursors[i] = Cursor { n: cur.n, epoch, next: 0 };
                continue;
            }
            out.push(self.packs[i][cur.next].clone());
            self.cursors[i].next += 1;
        }
        Ok(out)
    }

    fn pack_epoch(&self, n: usize, epoch: u64) -> Result<Vec<Pack>> {
        let strategy = match self.strategy {
            Strategy::Stratified => PackStrategy::Stratified,
            Strategy::Random => PackStrategy::Random,
            Strategy::Sequential => PackStrategy::Sequential,
        };
        // Distinct, reproducible seeds per (run seed, epoch, N).
        let seed = self
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(epoch.wrapping_mul(1_000_003))
            .wrapping_add(n as u64);
        let packs = pack_problems(&self.problems, &PackOptions { n, strategy, seed })?;
        // A short final pack (sequential/random packing) would train a
        // different N under the same budget: leave it out.
        let full: Vec<Pack> = packs.into_iter().filter(|p| p.problems.len() == n).collect();
        if full.is_empty() {
            return Err(Error::Invalid(format!(
                "cannot make a single pack of N={n} from {} problems",
                self.problems.len()
            )));
        }
        Ok(full)
    }
}

/// Loads the training problems of `[data]`: a benchmark name (`gsm8k`), a
/// JSONL/Parquet file, or a directory of Parquet shards (DeepMath-103K), in
/// `data.format`, truncated to `data.max_problems` (0 = all).
pub fn load_training_problems(data: &crate::config::DataSection) -> Result<Vec<Problem>> {
    use bcr_core::{load_problems, Benchmark, Format, LoadOptions};
    let format: Format =
        data.format.parse().map_err(|e: bcr_core::Error| Error::config("config key data.format", e.to_string()))?;
    let opts = LoadOptions { format, skip_invalid: false };
    let path = std::path::Path::new(&data.path);
    let mut problems = if path.is_dir() {
        let mut shards: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "parquet" || x == "jsonl"))
            .collect();
        shards.sort();
        if shards.is_empty() {
            return Err(Error::config(
                "config key data.path",
                format!("{} holds no .parquet or .jsonl file", path.display()),
            ));
        }
        let mut all = Vec::new();
        for shard in shards {
            all.extend(load_problems(&shard, &opts)?.problems);
        }
        all
    } else if path.exists() {
        load_problems(path, &opts)?.problems
    } else {
        match Benchmark::from_name(&data.path) {
            Ok(b) => b.load()?,
            Err(_) => {
                return Err(Error::config(
                    "config key data.path",
                    format!("{:?} is neither a file, a directory nor a benchmark name", data.path),
                ))
            }
        }
    };
    if data.max_problems > 0 {
        problems.truncate(data.max_problems);
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(count: usize) -> Vec<Problem> {
        (0..count)
            .map(|i| Problem {
                id: format!("p{i}"),
                question: format!("q{i}"),
                answer: i.to_string(),
                difficulty: Some((i % 4) as f64),
                source: None,
            })
            .collect()
    }

    #[test]
    fn epochs_wrap_and_cursors_restore() {
        // 7 problems, N = 2 -> 3 full packs per epoch (the short one is dropped).
        let mut s = PackStream::new(problems(7), &[2], Strategy::Random, 5).unwrap();
        let a = s.draw(0, 2).unwrap();
        assert_eq!(s.cursors(), &[Cursor { n: 2, epoch: 0, next: 2 }]);
        let b = s.draw(1, 2).unwrap();
        assert_eq!(s.cursors(), &[Cursor { n: 2, epoch: 1, next: 1 }]);
        assert!(a.iter().chain(&b).all(|p| p.n == 2));
        let saved = s.cursors().to_vec();
        let next = s.draw(2, 3).unwrap();
        let mut restored = PackStream::at(problems(7), saved, Strategy::Random, 5).unwrap();
        assert_eq!(restored.draw(2, 3).unwrap(), next);
    }

    #[test]
    fn mixed_n_cycles_per_step() {
        let mut s = PackStream::new(problems(12), &[1, 3], Strategy::Stratified, 0).unwrap();
        assert_eq!((s.n_at(0), s.n_at(1), s.n_at(2)), (1, 3, 1));
        assert!(s.draw(0, 2).unwrap().iter().all(|p| p.n == 1));
        assert!(s.draw(1, 2).unwrap().iter().all(|p| p.n == 3));
    }

    #[test]
    fn too_few_problems_is_an_error() {
        let err = PackStream::new(problems(2), &[3], Strategy::Random, 0).err().unwrap();
        assert!(err.to_string().contains("N=3 from 2 problems"), "{err}");
    }

    #[test]
    fn loads_files_dirs_and_benchmark_names() {
        use crate::config::DataSection;
        let dir = tempfile::tempdir().unwrap();
        let line = |i: usize| format!("{{\"id\": \"a{i}\", \"question\": \"q\", \"answer\": \"{i}\"}}\n");
        std::fs::write(dir.path().join("b.jsonl"), line(1) + &line(2)).unwrap();
        std::fs::write(dir.path().join("a.jsonl"), line(3)).unwrap();
        let d = |path: &std::path::Path, max| DataSection {
            path: path.display().to_string(),
            max_problems: max,
            ..DataSection::default()
        };
        let all = load_training_problems(&d(dir.path(), 0)).unwrap();
        assert_eq!(all.iter().map(|p| p.answer.as_str()).collect::<Vec<_>>(), ["3", "1", "2"]);
        assert_eq!(load_training_problems(&d(&dir.path().join("b.jsonl"), 1)).unwrap().len(), 1);
        let err = load_training_problems(&d(&dir.path().join("nope"), 0)).unwrap_err().to_string();
        assert!(err.contains("data.path"), "{err}");
        let bad = DataSection { format: "csv".into(), ..d(dir.path(), 0) };
        assert!(load_training_problems(&bad).unwrap_err().to_string().contains("data.format"));
    }
}
