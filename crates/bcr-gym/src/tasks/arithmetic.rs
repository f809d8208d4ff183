//! `Start at 3, add 4, multiply by 2, subtract 5. What is the result?`
//!
//! Operations apply left to right, one step each, so there is no precedence
//! to get wrong; difficulty d uses d + 1 operations on larger numbers.

use super::Task;
use super::{paren, Family};
use rand::Rng;

pub(super) fn generate<R: Rng>(d: u8, rng: &mut R) -> Task {
    let hi = 5 + 5 * i64::from(d);
    let mut value: i64 = rng.random_range(1..=hi);
    let mut words = vec![format!("Start at {value}")];
    let mut steps = Vec::new();
    for _ in 0..=d {
        let (word, symbol, operand, next) = match rng.random_range(0..3) {
            0 => {
                let b = rng.random_range(1..=hi);
                ("add", "+", b, value + b)
            }
            1 => {
                let b = rng.random_range(1..=hi);
                ("subtract", "-", b, value - b)
            }
            _ => {
                let b = rng.random_range(2..=3 + i64::from(d) / 2);
                ("multiply by", "*", b, value * b)
            }
        };
        words.push(format!("{word} {operand}"));
        steps.push(format!("{} {symbol} {operand} = {next}", paren(value)));
        value = next;
    }
    Task {
        family: Family::Arithmetic,
        difficulty: d,
        question: format!("{}. What is the result?", words.join(", ")),
        answer: value.to_string(),
        steps,
    }
}
