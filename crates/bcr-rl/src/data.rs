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
    strategy: PackStrategy,
    seed: u64,
    cursors: Vec<Cursor>,
    packs: Vec<Vec<Pack>>,
}

impl PackStream {
    /// A stream at the start of epoch 0 for each N in `ns`.
    pub fn new(problems: Vec<Problem>, ns: &[usize], strategy: PackStrategy, seed: u64) -> Result<Self> {
        let cursors = ns.iter().map(|&n| Cursor { n, epoch: 0, next: 0 }).collect();
        Self::at(problems, cursors, strategy, seed)
    }

    /// A stream positioned at saved cursors.
    pub fn at(problems: Vec<Problem>, cursors: Vec<Cursor>, strategy: PackStrategy, seed: u64) -> Result<Self> {
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
        let strategy = self.strategy;
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

/// Loads the training problems of `[data]`: a directory of shards
/// (DeepMath-103K), a JSONL/Parquet file, a benchmark name (`gsm8k`) or a
/// Hub dataset id, resolved as everywhere in bcr
/// ([`bcr_core::ProblemSource`]), in `data.format`, truncated to
/// `data.max_problems` (0 = all).
pub fn load_training_problems(data: &crate::config::DataSection) -> Result<Vec<Problem>> {
    let format: bcr_core::Format =
        data.format.parse().map_err(|e: bcr_core::Error| Error::config("config key data.format", e.to_string()))?;
    let source =
        bcr_core::ProblemSource::parse(&data.path).map_err(|e| Error::config("config key data.path", e.to_string()))?;
    let mut problems = source.load(&bcr_core::LoadOptions { format, skip_invalid: false })?.problems;
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
        let mut s = PackStream::new(problems(7), &[2], PackStrategy::Random, 5).unwrap();
        let a = s.draw(0, 2).unwrap();
        assert_eq!(s.cursors(), &[Cursor { n: 2, epoch: 0, next: 2 }]);
        let b = s.draw(1, 2).unwrap();
        assert_eq!(s.cursors(), &[Cursor { n: 2, epoch: 1, next: 1 }]);
        assert!(a.iter().chain(&b).all(|p| p.n == 2));
        let saved = s.cursors().to_vec();
        let next = s.draw(2, 3).unwrap();
        let mut restored = PackStream::at(problems(7), saved, PackStrategy::Random, 5).unwrap();
        assert_eq!(restored.draw(2, 3).unwrap(), next);
    }

    #[test]
    fn mixed_n_cycles_per_step() {
        let mut s = PackStream::new(problems(12), &[1, 3], PackStrategy::Stratified, 0).unwrap();
        assert_eq!((s.n_at(0), s.n_at(1), s.n_at(2)), (1, 3, 1));
        assert!(s.draw(0, 2).unwrap().iter().all(|p| p.n == 1));
        assert!(s.draw(1, 2).unwrap().iter().all(|p| p.n == 3));
    }

    #[test]
    fn too_few_problems_is_an_error() {
        let err = PackStream::new(problems(2), &[3], PackStrategy::Random, 0).err().unwrap();
        assert!(err.to_string().contains("N=3 from 2 problems"), "{err}");
    }

    #[test]
    fn config_keys_name_bad_paths_and_formats() {
        use crate::config::DataSection;
        let d = |path: &str, max| DataSection { path: path.into(), max_problems: max, ..DataSection::default() };
        assert_eq!(load_training_problems(&d("gsm8k", 7)).unwrap().len(), 7);
        let err = load_training_problems(&d("/no/such/file.jsonl", 0)).unwrap_err().to_string();
        assert!(err.contains("data.path"), "{err}");
        let bad = DataSection { format: "csv".into(), ..d("gsm8k", 0) };
        assert!(load_training_problems(&bad).unwrap_err().to_string().contains("data.format"));
    }
}
