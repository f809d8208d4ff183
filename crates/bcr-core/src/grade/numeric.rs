//! Numeric evaluation in complex double precision, for what exact rational
//! arithmetic cannot decide: constants (π, e), roots, trigonometry, `i`, and
//! expressions in free variables evaluated at seeded pseudo-random points.
//!
//! Two scalars are numerically equal when `|a - b| <= REL_TOL * max(|a|, |b|, 1)`.
//! `REL_TOL = 1e-9` sits far above double rounding (about 1e-16 per operation,
//! so ~1e-13 after the few hundred operations an answer can hold) and far
//! below any difference a wrong answer shows. Math-Verify instead rounds both
//! sides to 6 decimals, which equates `1.0000001` with `1` and misses nothing
//! else we care about; decimals that approximate irrational golds are handled
//! separately by the precision rule in [`super::equiv`].

use super::expr::{Const, Func, Node};
use super::limits::Budget;
use num_complex::Complex64;
use num_traits::ToPrimitive;

/// Relative tolerance of numeric equality.
pub(crate) const REL_TOL: f64 = 1e-9;

/// Values assigned to free variables (sorted by name, as [`Node::vars`] gives them).
pub(crate) struct Env<'a> {
    /// Variable names.
    pub names: &'a [&'a str],
    /// Their values at the current point.
    pub values: &'a [f64],
}

/// A deterministic pseudo-random value in [0.5, 2.5) for variable `var` at
/// evaluation point `point` (SplitMix64 of the pair): real, positive, away from
/// 0 and 1 so that `\sqrt{x}`, `\log x` and `x^x` stay on their principal branch.
pub(crate) fn sample(point: u64, var: u64) -> f64 {
    let mut z = point
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(var.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    0.5 + 2.0 * unit
}

/// Whether two complex values agree within [`REL_TOL`].
pub(crate) fn close(a: Complex64, b: Complex64) -> bool {
    let scale = a.norm().max(b.norm()).max(1.0);
    (a - b).norm() <= REL_TOL * scale
}

/// Evaluates a scalar node; `None` when undefined, non-finite or over budget.
pub(crate) fn eval(n: &Node, env: &Env<'_>, budget: &mut Budget) -> Option<Complex64> {
    if !budget.spend(1) {
        return None;
    }
    let v = match n {
        Node::Num(v) | Node::Dec(v, _) => Complex64::new(v.to_f64()?, 0.0),
        Node::Const(c) => constant(*c)?,
        Node::Var(name) => {
            let at = env.names.binary_search(&name.as_str()).ok()?;
            Complex64::new(*env.values.get(at)?, 0.0)
        }
        Node::Neg(a) => -eval(a, env, budget)?,
        Node::Add(xs) => {
            let mut acc = Complex64::new(0.0, 0.0);
            for x in xs {
                acc += eval(x, env, budget)?;
            }
            acc
        }
        Node::Mul(xs) => {
            let mut acc = Complex64::new(1.0, 0.0);
            for x in xs {
                acc *= eval(x, env, budget)?;
            }
            acc
        }
        Node::Div(a, b) => {
            let d = eval(b, env, budget)?;
            if d.norm() == 0.0 {
                return None;
            }
            eval(a, env, budget)? / d
        }
        Node::Pow(a, b) => power(eval(a, env, budget)?, eval(b, env, budget)?),
        Node::Percent(a) => eval(a, env, budget)? / 100.0,
        Node::Degree(a) => eval(a, env, budget)? * (std::f64::consts::PI / 180.0),
        Node::Call(f, args) => call(*f, args, env, budget)?,
        _ => return None,
    };
    (v.re.is_finite() && v.im.is_finite()).then_some(v)
}

fn constant(c: Const) -> Option<Complex64> {
    match c {
        Const::Pi => Some(Complex64::new(std::f64::consts::PI, 0.0)),
        Const::E => Some(Complex64::new(std::f64::consts::E, 0.0)),
        Const::I => Some(Complex64::new(0.0, 1.0)),
        Const::Inf => None,
    }
}

/// Real powers stay real where they can (`(-8)^{1/3}` is not asked for, but
/// `(-2)^3` must be -8 exactly); otherwise the principal complex branch.
fn power(a: Complex64, b: Complex64) -> Complex64 {
    if a.im == 0.0 && b.im == 0.0 {
        if b.re.fract() == 0.0 && b.re.abs() <= 1024.0 {
            return Complex64::new(a.re.powi(b.re as i32), 0.0);
        }
        if a.re >= 0.0 {
            return Complex64::new(a.re.powf(b.re), 0.0);
        }
    }
    if a.norm() == 0.0 {
        return Complex64::new(0.0, 0.0);
    }
    a.powc(b)
}

fn call(f: Func, args: &[Node], env: &Env<'_>, budget: &mut Budget) -> Option<Complex64> {
    let x = eval(args.first()?, env, budget)?;
    let real = |g: fn(f64) -> f64| (x.im == 0.0).then(|| Complex64::new(g(x.re), 0.0));
    let one = Complex64::new(1.0, 0.0);
    Some(match f {
        Func::Sqrt if x.im == 0.0 && x.re >= 0.0 => Complex64::new(x.re.sqrt(), 0.0),
        Func::Sqrt => x.sqrt(),
        Func::Root => {
            let radicand = eval(args.get(1)?, env, budget)?;
            if radicand.im == 0.0 && x.im == 0.0 && x.re.fract() == 0.0 && x.re % 2.0 != 0.0 {
                // Odd real roots of negative numbers are real: \sqrt[3]{-8} = -2.
                return Some(Complex64::new(radicand.re.signum() * radicand.re.abs().powf(1.0 / x.re), 0.0));
            }
            power(radicand, one / x)
        }
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.tan(),
        Func::Cot => one / x.tan(),
        Func::Sec => one / x.cos(),
        Func::Csc => one / x.sin(),
        Func::Asin => real(f64::asin)?,
        Func::Acos => real(f64::acos)?,
        Func::Atan => real(f64::atan)?,
        Func::Sinh => x.sinh(),
        Func::Cosh => x.cosh(),
        Func::Tanh => x.tanh(),
        Func::Ln => x.ln(),
        Func::LogBase => eval(args.get(1)?, env, budget)?.ln() / x.ln(),
        Func::Exp => x.exp(),
        Func::Abs => Complex64::new(x.norm(), 0.0),
        Func::Floor => real(f64::floor)?,
        Func::Ceil => real(f64::ceil)?,
        Func::Fact => real(gamma_factorial)?,
        Func::Binom => {
            let k = eval(args.get(1)?, env, budget)?;
            let (n, k) = (x.re, k.re);
            Complex64::new(gamma_factorial(n) / (gamma_factorial(k) * gamma_factorial(n - k)), 0.0)
        }
    })
}

/// `n!` for integers 0..=170 (beyond that the value is not finite in f64).
fn gamma_factorial(n: f64) -> f64 {
    if n < 0.0 || n.fract() != 0.0 || n > 170.0 {
        return f64::NAN;
    }
    (1..=n as u32).fold(1.0, |acc, k| acc * f64::from(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: &Node) -> Option<Complex64> {
        eval(n, &Env { names: &["x"], values: &[2.0] }, &mut Budget::new())
    }

    #[test]
    fn evaluates_constants_and_functions() {
        let pi = Node::Const(Const::Pi);
        let cases: Vec<(Node, Option<Complex64>)> = vec![
            (Node::Call(Func::Sin, vec![Node::div(pi.clone(), Node::int(6))]), Some(Complex64::new(0.5, 0.0))),
            (Node::pow(Node::Const(Const::I), Node::int(2)), Some(Complex64::new(-1.0, 0.0))),
            (Node::Call(Func::Root, vec![Node::int(3), Node::int(-8)]), Some(Complex64::new(-2.0, 0.0))),
            (Node::Call(Func::Sqrt, vec![Node::int(-4)]), Some(Complex64::new(0.0, 2.0))),
            (Node::pow(Node::Var("x".into()), Node::int(3)), Some(Complex64::new(8.0, 0.0))),
            (Node::Var("y".into()), None),
            (Node::Const(Const::Inf), None),
            (Node::pow(Node::int(10), Node::pow(Node::int(10), Node::int(10))), None),
            (Node::Call(Func::Fact, vec![Node::int(171)]), None),
        ];
        for (node, want) in cases {
            match (ev(&node), want) {
                (Some(got), Some(w)) => assert!(close(got, w), "{node:?}: {got} vs {w}"),
                (got, w) => assert_eq!(got, w, "{node:?}"),
            }
        }
    }

    #[test]
    fn samples_are_deterministic_and_in_range() {
        for p in 0..50 {
            for v in 0..5 {
                let s = sample(p, v);
                assert!((0.5..2.5).contains(&s));
                assert_eq!(s, sample(p, v));
            }
        }
        assert_ne!(sample(0, 0), sample(1, 0));
        assert_ne!(sample(0, 0), sample(0, 1));
    }
}
