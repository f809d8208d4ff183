//! Seeded task streams with train and test splits that never overlap.
//!
//! A task belongs to the test split when a hash of its question text falls
//! in the lowest `test_share` of the hash range; the train stream rejects
//! those questions and the test stream keeps only them. The split is a
//! property of the question, not of the seed or of the order of generation,
//! so no seed, count or family mix can leak a test question into training.
//! The hash is FNV-1a (64-bit): stable across platforms and Rust versions.

use crate::tasks::{generate, Family, Task, MAX_DIFFICULTY, MIN_DIFFICULTY};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which side of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Training (SFT and RL).
    Train,
    /// Held-out evaluation.
    Test,
}

/// Share of the question space reserved for the test split.
pub const TEST_SHARE: f64 = 0.2;

/// FNV-1a over the question bytes.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The split a question belongs to.
pub fn split_of(question: &str) -> Split {
    if (fnv1a(question) as f64) < TEST_SHARE * u64::MAX as f64 {
        Split::Test
    } else {
        Split::Train
    }
}

/// Generates up to `count` tasks of `split`, families round-robin over `families`
/// and difficulty uniform over 1..=5, deterministic for a seed. Duplicate
/// questions are skipped so every task in the result is distinct.
pub fn tasks(split: Split, families: &[Family], count: usize, seed: u64) -> Vec<Task> {
    tasks_upto(split, families, MAX_DIFFICULTY, count, seed)
}

/// As [`tasks`], with difficulty uniform over 1..=`max_difficulty` (clamped
/// to 1..=5): the embedded demo keeps to levels a 1M-parameter model can
/// learn in minutes.
pub fn tasks_upto(split: Split, families: &[Family], max_difficulty: u8, count: usize, seed: u64) -> Vec<Task> {
    let families = if families.is_empty() { &Family::ALL[..] } else { families };
    let top = max_difficulty.clamp(MIN_DIFFICULTY, MAX_DIFFICULTY);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ if split == Split::Test { 0x7e57 } else { 0x7ea1 });
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count);
    // Each attempt succeeds with probability ~TEST_SHARE or ~1-TEST_SHARE
    // (times the share of unseen questions), so the loop ends; the guard only
    // bounds a request for more distinct questions than exist. Families take
    // turns per attempt, so one whose small levels run out of distinct
    // questions leaves its share to the others instead of stalling the loop.
    let max_attempts = count.saturating_mul(50).max(10_000);
    for attempt in 0..max_attempts {
        if out.len() == count {
            break;
        }
        let family = families[attempt % families.len()];
        let difficulty = rng.random_range(MIN_DIFFICULTY..=top);
        let task = generate(family, difficulty, &mut rng);
        if split_of(&task.question) == split && seen.insert(task.question.clone()) {
            out.push(task);
        }
    }
    out
}

/// A task as a `bcr_core::Problem` (difficulty as a number, source `gym/<family>`).
pub fn to_problem(task: &Task, id: String) -> bcr_core::Problem {
    bcr_core::Problem {
        id,
        question: task.question.clone(),
        answer: task.answer.clone(),
        difficulty: Some(f64::from(task.difficulty)),
        source: Some(format!("gym/{}", task.family.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_and_test_never_overlap() {
        let train = tasks(Split::Train, &Family::ALL, 3000, 1);
        let test = tasks(Split::Test, &Family::ALL, 600, 1);
        assert_eq!((train.len(), test.len()), (3000, 600));
        let train_q: std::collections::HashSet<&str> = train.iter().map(|t| t.question.as_str()).collect();
        assert!(test.iter().all(|t| !train_q.contains(t.question.as_str())));
        assert!(test.iter().all(|t| split_of(&t.question) == Split::Test));
    }

    #[test]
    fn same_seed_same_tasks_other_seed_other_tasks() {
        assert_eq!(tasks(Split::Train, &Family::ALL, 50, 9), tasks(Split::Train, &Family::ALL, 50, 9));
        assert_ne!(tasks(Split::Train, &Family::ALL, 50, 9), tasks(Split::Train, &Family::ALL, 50, 10));
    }

    #[test]
    fn max_difficulty_caps_the_levels() {
        let ts = tasks_upto(Split::Train, &Family::ALL, 2, 300, 4);
        assert_eq!(ts.len(), 300);
        assert!(ts.iter().all(|t| t.difficulty <= 2));
        assert!(ts.iter().any(|t| t.difficulty == 2) && ts.iter().any(|t| t.difficulty == 1));
        assert_eq!(tasks(Split::Test, &Family::ALL, 40, 3), tasks_upto(Split::Test, &Family::ALL, 5, 40, 3));
    }

    #[test]
    fn families_and_difficulties_are_all_covered() {
        let ts = tasks(Split::Test, &Family::ALL, 400, 2);
        for f in Family::ALL {
            for d in MIN_DIFFICULTY..=MAX_DIFFICULTY {
                assert!(ts.iter().any(|t| t.family == f && t.difficulty == d), "no {f:?} at d{d}");
            }
        }
    }
}
