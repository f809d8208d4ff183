//! Procedural reasoning tasks with exact answers and difficulty levels.
//!
//! Four families, each a small pure generator: [`Family::Arithmetic`] (a chain
//! of operations applied left to right), [`Family::Linear`] (solve a linear
//! equation for `x`), [`Family::Modular`] (a power modulo m by repeated
//! multiplication) and [`Family::Sequence`] (the k-th term of an arithmetic or
//! geometric sequence). A [`Task`] carries the question, the exact answer and
//! the *necessary* reasoning steps; `crate::solution` turns those steps into
//! text with a controllable amount of redundancy.
//!
//! Difficulty runs from 1 to 5 and scales the number of steps and the size of
//! the numbers, so that packs can be stratified by difficulty exactly as the
//! paper stratifies DeepMath-103K (arXiv 2604.02322, §3).

mod arithmetic;
mod linear;
mod modular;
mod sequence;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Lowest difficulty level.
pub const MIN_DIFFICULTY: u8 = 1;
/// Highest difficulty level.
pub const MAX_DIFFICULTY: u8 = 5;

/// A task family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `Start at 3, add 4, multiply by 2. What is the result?`
    Arithmetic,
    /// `Solve 3x + 5 = 20.`
    Linear,
    /// `Find 3^5 mod 7.`
    Modular,
    /// `The sequence 2, 5, 8, ... Find term 7.`
    Sequence,
}

impl Family {
    /// All families, in a fixed order.
    pub const ALL: [Family; 4] = [Family::Arithmetic, Family::Linear, Family::Modular, Family::Sequence];

    /// Lower-case name, as in configs and problem ids.
    pub fn name(self) -> &'static str {
        match self {
            Family::Arithmetic => "arithmetic",
            Family::Linear => "linear",
            Family::Modular => "modular",
            Family::Sequence => "sequence",
        }
    }

    /// Parses a family name.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One generated task: question, exact answer, necessary steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The family it came from.
    pub family: Family,
    /// Difficulty level, 1 to 5.
    pub difficulty: u8,
    /// The question text.
    pub question: String,
    /// The exact answer (an integer written in decimal).
    pub answer: String,
    /// The necessary reasoning steps, one line each, ending at the answer.
    pub steps: Vec<String>,
}

/// Generates one task of `family` at `difficulty` (clamped to 1..=5).
pub fn generate<R: Rng>(family: Family, difficulty: u8, rng: &mut R) -> Task {
    let d = difficulty.clamp(MIN_DIFFICULTY, MAX_DIFFICULTY);
    match family {
        Family::Arithmetic => arithmetic::generate(d, rng),
        Family::Linear => linear::generate(d, rng),
        Family::Modular => modular::generate(d, rng),
        Family::Sequence => sequence::generate(d, rng),
    }
}

/// A signed integer written as `a` or `(-a)` inside an expression.
fn paren(v: i64) -> String {
    if v < 0 {
        format!("({v})")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Every step line that is an equation `a op b = c` must be arithmetically
    /// true, and the last step must end with the answer.
    #[test]
    fn steps_are_consistent_and_end_at_the_answer() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for family in Family::ALL {
            for d in MIN_DIFFICULTY..=MAX_DIFFICULTY {
                for _ in 0..200 {
                    let t = generate(family, d, &mut rng);
                    assert!(!t.steps.is_empty(), "{t:?}");
                    let last = t.steps.last().unwrap();
                    assert!(last.ends_with(&format!("= {}", t.answer)), "{family:?} d{d}: {last} vs {}", t.answer);
                    assert!(t.answer.parse::<i64>().is_ok(), "{t:?}");
                }
            }
        }
    }

    #[test]
    fn difficulty_scales_the_number_of_steps() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for family in [Family::Arithmetic, Family::Modular] {
            let mean_steps = |d: u8, rng: &mut ChaCha8Rng| {
                (0..100).map(|_| generate(family, d, rng).steps.len()).sum::<usize>() as f64 / 100.0
            };
            let easy = mean_steps(1, &mut rng);
            let hard = mean_steps(5, &mut rng);
            assert!(hard > easy + 1.0, "{family:?}: {easy} steps at d1 vs {hard} at d5");
        }
    }

    #[test]
    fn family_names_round_trip() {
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.name()), Some(f));
        }
        assert_eq!(Family::from_name("calculus"), None);
    }
}
