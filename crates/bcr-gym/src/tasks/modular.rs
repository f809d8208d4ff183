//! `Find 3^5 mod 7.` by repeated multiplication, reducing at every step.
//!
//! Difficulty d uses exponents up to 2 + 2d and moduli up to 5 + 4d, so the
//! chain of reductions grows with d.

use super::Family;
use super::Task;
use rand::Rng;

pub(super) fn generate<R: Rng>(d: u8, rng: &mut R) -> Task {
    let m = rng.random_range(3..=5 + 4 * i64::from(d));
    let base = rng.random_range(2..=m + 3);
    let exp = rng.random_range(2..=2 + 2 * u32::from(d));
    let mut steps = Vec::new();
    let b = base % m;
    if b != base {
        steps.push(format!("{base} mod {m} = {b}"));
    }
    let mut acc = b;
    for k in 2..=exp {
        let product = acc * b;
        let next = product % m;
        steps.push(format!("{base}^{k}: {acc} * {b} = {product} mod {m} = {next}"));
        acc = next;
    }
    Task {
        family: Family::Modular,
        difficulty: d,
        question: format!("Find {base}^{exp} mod {m}."),
        answer: acc.to_string(),
        steps,
    }
}
