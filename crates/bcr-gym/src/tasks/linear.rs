//! `Solve 3x + 5 = 20.` and, from difficulty 4, `5x + 2 = 2x + 17`.
//!
//! The solution `x` is drawn first and the equation built around it, so the
//! answer is always an integer.

use super::Task;
use super::{paren, Family};
use rand::Rng;

pub(super) fn generate<R: Rng>(d: u8, rng: &mut R) -> Task {
    let span = 4 * i64::from(d) + 2;
    let x = rng.random_range(-span..=span);
    let a = rng.random_range(2..=2 + i64::from(d) * 2);
    let b = rng.random_range(-span * 2..=span * 2);
    let mut steps = Vec::new();
    let question;
    let (coef, rhs);
    if d >= 4 {
        // a x + b = c x + e, with c < a so that a - c > 0.
        let c = rng.random_range(1..a);
        let e = a * x + b - c * x;
        question = format!("Solve {a}x {} = {c}x {}.", signed(b), signed(e));
        coef = a - c;
        rhs = e - b;
        steps.push(format!("{a}x - {c}x = {e} - {} = {rhs}", paren(b)));
        steps.push(format!("{coef}x = {rhs}"));
    } else {
        let c = a * x + b;
        question = format!("Solve {a}x {} = {c}.", signed(b));
        coef = a;
        rhs = c - b;
        steps.push(format!("{a}x = {c} - {} = {rhs}", paren(b)));
    }
    steps.push(format!("x = {rhs} / {coef} = {x}"));
    Task { family: Family::Linear, difficulty: d, question, answer: x.to_string(), steps }
}

/// `+ 5` or `- 5`.
fn signed(v: i64) -> String {
    if v < 0 {
        format!("- {}", -v)
    } else {
        format!("+ {v}")
    }
}
