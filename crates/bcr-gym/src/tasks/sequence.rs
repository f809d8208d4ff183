//! `The sequence 2, 5, 8, 11 continues the same way. Find term 7.`
//!
//! Arithmetic sequences at difficulty 1-3, geometric (ratio 2 or 3) at 4-5;
//! the asked term moves further out as d grows.

use super::Task;
use super::{paren, Family};
use rand::Rng;

pub(super) fn generate<R: Rng>(d: u8, rng: &mut R) -> Task {
    let k = rng.random_range(5..=5 + 2 * i64::from(d));
    let (shown, steps, answer) = if d <= 3 {
        let first = rng.random_range(-10..=10 + 5 * i64::from(d));
        let diff = rng.random_range(-3 - i64::from(d)..=3 + 2 * i64::from(d));
        let diff = if diff == 0 { 1 } else { diff };
        let terms: Vec<i64> = (0..4).map(|i| first + i * diff).collect();
        let answer = first + (k - 1) * diff;
        let steps = vec![
            format!("difference = {} - {} = {diff}", paren(terms[1]), paren(terms[0])),
            format!("term {k} = {} + {} * {} = {answer}", paren(first), k - 1, paren(diff)),
        ];
        (terms, steps, answer)
    } else {
        let first: i64 = rng.random_range(1..=4);
        let ratio: i64 = rng.random_range(2..=3);
        let k = k.min(9);
        let terms: Vec<i64> = (0..4).map(|i| first * ratio.pow(i)).collect();
        let mut steps = vec![format!("ratio = {} / {} = {ratio}", terms[1], terms[0])];
        let mut value = terms[3];
        for i in 5..=k {
            steps.push(format!("term {i} = {value} * {ratio} = {}", value * ratio));
            value *= ratio;
        }
        (terms, steps, value)
    };
    let shown: Vec<String> = shown.iter().map(i64::to_string).collect();
    Task {
        family: Family::Sequence,
        difficulty: d,
        question: format!("The sequence {} continues the same way. Find term {k}.", shown.join(", ")),
        answer: answer.to_string(),
        steps,
    }
}
