//! Packing: N problems per context (BCR, arXiv 2604.02322 §3: "problems are
//! grouped by stratified sampling on difficulty so that every group has a
//! similar mean difficulty").
//!
//! Three strategies, all deterministic for a given seed (one ChaCha8 stream,
//! single-threaded, so independent of thread count), all using every input
//! problem exactly once. Only the final pack may be short: with M problems,
//! there are `ceil(M / n)` packs and the last holds `M mod n` problems when
//! that is not zero. It is kept short (its `n` is its size), never padded.
//! Pack ids are `<strategy>-<seed>-<index>`, index from 0.
//!
//! - `sequential` (evaluation): input order, consecutive chunks of n.
//! - `random`: a seeded shuffle, then consecutive chunks of n.
//! - `stratified` (training, the paper's rule): sort by difficulty (ties
//!   broken by a seeded shuffle); cut the sorted list into n strata of
//!   contiguous difficulty and equal size (stratum j holds sorted positions
//!   `[j*M/n, (j+1)*M/n)`, i.e. difficulty quantiles); shuffle each stratum;
//!   pack i takes the i-th problem of every stratum, then its problems are
//!   shuffled so that position k in the prompt does not reveal the stratum.
//!   Every pack thus holds one easy, one middling, ..., one hard problem, and
//!   the pack means all sit near the dataset mean: their variance is far
//!   below random packing's (tested below on MATH-500 levels).
//!
//! Why one-per-stratum rather than packing within a difficulty bucket: a
//! pack drawn inside one bucket has a *homogeneous* difficulty, so pack means
//! spread as widely as the difficulties themselves (wider than random
//! packing's); the paper asks for groups whose mean difficulties are similar
//! to each other, which is what stratified sampling gives.
//!
//! Problems without a difficulty count as the median of the known
//! difficulties (so they land in the middle strata); when none has one, the
//! stratified strategy reduces to a seeded shuffle. A difficulty that is NaN
//! or infinite is an [`Error::Invalid`].

use crate::{Error, Pack, Problem, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::str::FromStr;

/// How problems are grouped into packs (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PackStrategy {
    /// Input order, consecutive chunks: covers a benchmark exactly once.
    Sequential,
    /// Seeded shuffle, then chunks.
    Random,
    /// One problem per difficulty stratum: pack means close to the dataset mean.
    #[default]
    Stratified,
}

impl PackStrategy {
    /// Every strategy.
    pub const ALL: [PackStrategy; 3] = [PackStrategy::Sequential, PackStrategy::Random, PackStrategy::Stratified];

    /// The name used on the command line and in pack ids.
    pub fn name(self) -> &'static str {
        match self {
            PackStrategy::Sequential => "sequential",
            PackStrategy::Random => "random",
            PackStrategy::Stratified => "stratified",
        }
    }
}

impl fmt::Display for PackStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PackStrategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<PackStrategy> {
        let wanted = s.trim().to_ascii_lowercase();
        PackStrategy::ALL.into_iter().find(|p| p.name() == wanted).ok_or_else(|| {
            Error::Invalid(format!("unknown pack strategy `{s}`; expected sequential, random or stratified"))
        })
    }
}

impl serde::Serialize for PackStrategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for PackStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: Error| serde::de::Error::custom(e))
    }
}

/// Packing parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackOptions {
    /// Problems per pack (N); at least 1.
    pub n: usize,
    /// The grouping rule.
    pub strategy: PackStrategy,
    /// Seed of the shuffles (unused by `Sequential` except in pack ids).
    pub seed: u64,
}

/// Groups `problems` into packs of `opts.n` (see the module doc). An empty
/// input gives no packs.
pub fn pack_problems(problems: &[Problem], opts: &PackOptions) -> Result<Vec<Pack>> {
    if opts.n == 0 {
        return Err(Error::Invalid("pack size n must be at least 1, got 0".to_string()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let groups: Vec<Vec<usize>> = match opts.strategy {
        PackStrategy::Sequential => chunks((0..problems.len()).collect(), opts.n),
        PackStrategy::Random => {
            let mut order: Vec<usize> = (0..problems.len()).collect();
            order.shuffle(&mut rng);
            chunks(order, opts.n)
        }
        PackStrategy::Stratified => stratified(&difficulty_keys(problems)?, opts.n, &mut rng),
    };
    let packs = groups
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let id = format!("{}-{}-{i}", opts.strategy, opts.seed);
            Pack::new(id, group.into_iter().map(|k| problems[k].clone()).collect())
        })
        .collect();
    Ok(packs)
}

fn chunks(order: Vec<usize>, n: usize) -> Vec<Vec<usize>> {
    order.chunks(n).map(<[usize]>::to_vec).collect()
}

/// Pack index lists for the stratified rule (module doc).
fn stratified(keys: &[f64], n: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let m = keys.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.shuffle(rng);
    // Stable sort: problems of equal difficulty keep their shuffled order.
    order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
    let mut strata: Vec<Vec<usize>> = (0..n).map(|j| order[j * m / n..(j + 1) * m / n].to_vec()).collect();
    for stratum in &mut strata {
        stratum.shuffle(rng);
    }
    let packs = m.div_ceil(n);
    (0..packs)
        .map(|i| {
            let mut pack: Vec<usize> = strata.iter().filter_map(|s| s.get(i).copied()).collect();
            pack.shuffle(rng);
            pack
        })
        .collect()
}

/// Each problem's difficulty, missing ones replaced by the median of the known.
fn difficulty_keys(problems: &[Problem]) -> Result<Vec<f64>> {
    if let Some(p) = problems.iter().find(|p| p.difficulty.is_some_and(|d| !d.is_finite())) {
        return Err(Error::Invalid(format!(
            "problem {:?} has a non-finite difficulty {:?}",
            p.id,
            p.difficulty.unwrap_or_default()
        )));
    }
    let mut known: Vec<f64> = problems.iter().filter_map(|p| p.difficulty).collect();
    known.sort_by(f64::total_cmp);
    let median = match known.len() {
        0 => 0.0,
        k if k % 2 == 1 => known[k / 2],
        k => (known[k / 2 - 1] + known[k / 2]) / 2.0,
    };
    Ok(problems.iter().map(|p| p.difficulty.unwrap_or(median)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn problem(i: usize, difficulty: Option<f64>) -> Problem {
        Problem { id: format!("p{i}"), question: format!("q{i}"), answer: i.to_string(), difficulty, source: None }
    }

    fn opts(n: usize, strategy: PackStrategy, seed: u64) -> PackOptions {
        PackOptions { n, strategy, seed }
    }

    /// Every input id appears exactly once, sizes are n except a short last pack.
    fn check_cover(problems: &[Problem], packs: &[Pack], o: &PackOptions) {
        let m = problems.len();
        assert_eq!(packs.len(), m.div_ceil(o.n), "{o:?} m={m}");
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, pack) in packs.iter().enumerate() {
            assert_eq!(pack.pack_id, format!("{}-{}-{i}", o.strategy, o.seed));
            assert_eq!(pack.n, pack.problems.len());
            let want = if i + 1 < packs.len() { o.n } else { m - (packs.len() - 1) * o.n };
            assert_eq!(pack.n, want, "pack {i} of {o:?} m={m}");
            for p in &pack.problems {
                *seen.entry(p.id.as_str()).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), m);
        assert!(seen.values().all(|&c| c == 1));
    }

    #[test]
    fn every_strategy_uses_each_problem_once_and_only_the_last_pack_is_short() {
        let shapes = [(0, 3), (1, 3), (2, 3), (3, 3), (10, 3), (500, 3), (7, 1), (5, 10), (11, 4)];
        for strategy in PackStrategy::ALL {
            for (m, n) in shapes {
                let problems: Vec<Problem> = (0..m).map(|i| problem(i, Some((i % 5) as f64))).collect();
                let o = opts(n, strategy, 7);
                let packs = pack_problems(&problems, &o).unwrap_or_else(|e| panic!("{o:?}: {e}"));
                check_cover(&problems, &packs, &o);
            }
        }
    }

    #[test]
    fn sequential_keeps_input_order_and_a_short_final_pack() {
        let problems: Vec<Problem> = (0..7).map(|i| problem(i, None)).collect();
        let packs = pack_problems(&problems, &opts(3, PackStrategy::Sequential, 0)).unwrap_or_default();
        let ids: Vec<Vec<&str>> = packs.iter().map(|p| p.problems.iter().map(|q| q.id.as_str()).collect()).collect();
        assert_eq!(ids, vec![vec!["p0", "p1", "p2"], vec!["p3", "p4", "p5"], vec!["p6"]]);
        assert_eq!(packs[2].n, 1);
    }

    #[test]
    fn zero_n_and_non_finite_difficulty_are_rejected() {
        let problems = vec![problem(0, Some(1.0))];
        let err = pack_problems(&problems, &opts(0, PackStrategy::Random, 0)).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
        let bad = vec![problem(0, Some(1.0)), problem(1, Some(f64::NAN))];
        let err = pack_problems(&bad, &opts(2, PackStrategy::Stratified, 0)).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("\"p1\""), "{err}");
    }

    #[test]
    fn same_seed_same_packs_other_seed_other_packs() {
        let problems: Vec<Problem> = (0..200).map(|i| problem(i, Some((i % 7) as f64))).collect();
        for strategy in [PackStrategy::Random, PackStrategy::Stratified] {
            let a = pack_problems(&problems, &opts(3, strategy, 1)).unwrap_or_default();
            let b = pack_problems(&problems, &opts(3, strategy, 1)).unwrap_or_default();
            let c = pack_problems(&problems, &opts(3, strategy, 2)).unwrap_or_default();
            assert_eq!(a, b, "{strategy}");
            let golds = |ps: &[Pack]| ps.iter().map(|p| p.golds().join(",")).collect::<Vec<_>>();
            assert_ne!(golds(&a), golds(&c), "{strategy}");
        }
    }

    #[test]
    fn missing_difficulties_count_as_the_median() {
        // Known difficulties 1,1,1,9,9,9 (median 5) and three unknowns: with
        // n = 3 the strata are {1s}, {unknowns}, {9s}, so every pack holds one
        // of each.
        let mut problems: Vec<Problem> = (0..3).map(|i| problem(i, Some(1.0))).collect();
        problems.extend((3..6).map(|i| problem(i, Some(9.0))));
        problems.extend((6..9).map(|i| problem(i, None)));
        for seed in 0..5 {
            let packs = pack_problems(&problems, &opts(3, PackStrategy::Stratified, seed)).unwrap_or_default();
            assert_eq!(packs.len(), 3);
            for pack in &packs {
                let mut ds: Vec<String> = pack.problems.iter().map(|p| format!("{:?}", p.difficulty)).collect();
                ds.sort();
                assert_eq!(ds, ["None", "Some(1.0)", "Some(9.0)"], "seed {seed}");
            }
        }
        // No difficulty at all: a seeded shuffle that still covers everything.
        let bare: Vec<Problem> = (0..10).map(|i| problem(i, None)).collect();
        let o = opts(4, PackStrategy::Stratified, 3);
        check_cover(&bare, &pack_problems(&bare, &o).unwrap_or_default(), &o);
    }

    /// Population variance of the mean difficulty of the full packs.
    pub(crate) fn pack_mean_variance(packs: &[Pack], n: usize) -> f64 {
        let means: Vec<f64> = packs.iter().filter(|p| p.n == n).filter_map(Pack::mean_difficulty).collect();
        let mu = means.iter().sum::<f64>() / means.len() as f64;
        means.iter().map(|m| (m - mu).powi(2)).sum::<f64>() / means.len() as f64
    }

    /// The property stratified packing promises, on MATH-500's levels and on
    /// the DeepMath-schema Parquet fixture, for several N and seeds.
    #[test]
    fn stratified_pack_means_vary_far_less_than_random() {
        let math500 = crate::data::Benchmark::Math500.load().unwrap_or_else(|e| panic!("{e}"));
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/data/deepmath_sample.parquet");
        let deepmath = crate::data::load_problems(fixture, &crate::data::LoadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .problems;
        for (name, problems) in [("math500", &math500), ("deepmath fixture", &deepmath)] {
            for n in [3, 4, 5] {
                for seed in 0..3 {
                    let strat = pack_problems(problems, &opts(n, PackStrategy::Stratified, seed)).unwrap_or_default();
                    let vs = pack_mean_variance(&strat, n);
                    // Random packing's variance, averaged over 20 seeds to keep the reference steady.
                    let vr = (100..120)
                        .map(|s| pack_problems(problems, &opts(n, PackStrategy::Random, s)).unwrap_or_default())
                        .map(|packs| pack_mean_variance(&packs, n))
                        .sum::<f64>()
                        / 20.0;
                    eprintln!("{name} n={n} seed={seed}: var stratified {vs:.4} random {vr:.4} ratio {:.3}", vs / vr);
                    assert!(vs < 0.25 * vr, "{name} n={n} seed={seed}: stratified {vs} vs random {vr}");
                }
            }
        }
    }

    #[test]
    fn stratified_packs_do_not_order_problems_by_difficulty() {
        let problems: Vec<Problem> = (0..300).map(|i| problem(i, Some((i % 100) as f64))).collect();
        let packs = pack_problems(&problems, &opts(3, PackStrategy::Stratified, 9)).unwrap_or_default();
        let ascending =
            packs.iter().filter(|p| p.problems.windows(2).all(|w| w[0].difficulty <= w[1].difficulty)).count();
        // Uniform shuffles of 3 distinct strata: about 1/6 of 100 packs ascend.
        assert!(ascending < 50, "{ascending} of {} packs are sorted", packs.len());
    }

    #[test]
    fn strategy_names_round_trip() {
        for s in PackStrategy::ALL {
            assert_eq!(s.name().parse::<PackStrategy>().ok(), Some(s));
        }
        let err = "balanced".parse::<PackStrategy>().map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("`balanced`"), "{err}");
    }
}
