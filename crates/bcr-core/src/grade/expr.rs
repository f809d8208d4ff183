//! The answer tree the parser builds, and its exact evaluation.
//!
//! One enum covers scalars (numbers, constants, variables, arithmetic,
//! functions) and the structures answers come in (tuples, intervals, sets,
//! unions, matrices, lists, relations, text). Exact evaluation maps a
//! variable-free, constant-free scalar to a big rational (`num-rational`);
//! anything it cannot do exactly within the limits returns `None` and the
//! numeric evaluator ([`super::numeric`]) takes over.

use super::lexer::Rel;
use super::limits::{Budget, MAX_BITS, MAX_EXACT_FACTORIAL};
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// Named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Const {
    /// π
    Pi,
    /// Euler's number (`e`, `\mathrm{e}`).
    E,
    /// The imaginary unit (`i`).
    I,
    /// ∞
    Inf,
}

/// Functions of one or two arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    /// `\sqrt{x}`
    Sqrt,
    /// `\sqrt[n]{x}`: args are (n, x).
    Root,
    /// `\sin`
    Sin,
    /// `\cos`
    Cos,
    /// `\tan`
    Tan,
    /// `\cot`
    Cot,
    /// `\sec`
    Sec,
    /// `\csc`
    Csc,
    /// `\arcsin`
    Asin,
    /// `\arccos`
    Acos,
    /// `\arctan`
    Atan,
    /// `\sinh`
    Sinh,
    /// `\cosh`
    Cosh,
    /// `\tanh`
    Tanh,
    /// `\ln` and `\log` without a base (natural logarithm, as in Math-Verify).
    Ln,
    /// `\log_b x`: args are (b, x).
    LogBase,
    /// `\exp`
    Exp,
    /// `|x|`
    Abs,
    /// `\lfloor x \rfloor`
    Floor,
    /// `\lceil x \rceil`
    Ceil,
    /// `x!`
    Fact,
    /// `\binom{n}{k}`: args are (n, k).
    Binom,
}

/// A parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// An exact integer or fraction literal.
    Num(BigRational),
    /// A decimal literal as written, with its number of decimal places.
    Dec(BigRational, u32),
    /// π, e, i, ∞.
    Const(Const),
    /// A free variable (`x`, `a_1`, `\theta`).
    Var(String),
    /// A sum.
    Add(Vec<Node>),
    /// A product.
    Mul(Vec<Node>),
    /// Negation.
    Neg(Box<Node>),
    /// A quotient.
    Div(Box<Node>, Box<Node>),
    /// A power.
    Pow(Box<Node>, Box<Node>),
    /// A function application.
    Call(Func, Vec<Node>),
    /// `x\%`.
    Percent(Box<Node>),
    /// `x^\circ`.
    Degree(Box<Node>),
    /// `a \pm b` (`a` is zero for a leading `\pm`).
    PlusMinus(Box<Node>, Box<Node>),
    /// `(a, b, ...)`: ordered; a 2-tuple may also be read as an open interval.
    Tuple(Vec<Node>),
    /// An interval: (lo, hi, lo closed, hi closed).
    Interval(Box<Node>, Box<Node>, bool, bool),
    /// `\{a, b\}`: order-free.
    Set(Vec<Node>),
    /// `A \cup B`.
    Union(Vec<Node>),
    /// Rows of a matrix.
    Matrix(Vec<Vec<Node>>),
    /// Top-level comma-separated answers.
    List(Vec<Node>),
    /// A chain of relations `a < b \le c` (n operands, n-1 relations).
    Chain(Vec<Node>, Vec<Rel>),
    /// Prose (`\text{Evelyn}`), lower-cased with single spaces.
    Text(String),
}

impl Node {
    /// Boxes two operands into a binary node.
    pub(crate) fn div(a: Node, b: Node) -> Node {
        Node::Div(Box::new(a), Box::new(b))
    }

    /// `a ^ b`.
    pub(crate) fn pow(a: Node, b: Node) -> Node {
        Node::Pow(Box::new(a), Box::new(b))
    }

    /// An integer literal.
    pub(crate) fn int(v: i64) -> Node {
        Node::Num(BigRational::from_integer(BigInt::from(v)))
    }

    /// Whether the node is a scalar (not a structure).
    pub(crate) fn is_scalar(&self) -> bool {
        !matches!(
            self,
            Node::Tuple(_)
                | Node::Interval(..)
                | Node::Set(_)
                | Node::Union(_)
                | Node::Matrix(_)
                | Node::List(_)
                | Node::Chain(..)
                | Node::Text(_)
        )
    }

    /// Collects the names of free variables into `out` (sorted, unique).
    pub(crate) fn vars<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut stack = vec![self];
        while let Some(n) = stack.pop() {
            match n {
                Node::Var(v) => {
                    if let Err(at) = out.binary_search(&v.as_str()) {
                        out.insert(at, v.as_str());
                    }
                }
                _ => n.for_each_child(|c| stack.push(c)),
            }
        }
    }

    /// Calls `f` on each direct child.
    pub(crate) fn for_each_child<'a>(&'a self, mut f: impl FnMut(&'a Node)) {
        match self {
            Node::Add(v) | Node::Mul(v) | Node::Call(_, v) | Node::Tuple(v) | Node::Set(v) => v.iter().for_each(f),
            Node::Union(v) | Node::List(v) | Node::Chain(v, _) => v.iter().for_each(f),
            Node::Neg(a) | Node::Percent(a) | Node::Degree(a) => f(a),
            Node::Div(a, b) | Node::Pow(a, b) | Node::PlusMinus(a, b) | Node::Interval(a, b, ..) => {
                f(a);
                f(b);
            }
            Node::Matrix(rows) => rows.iter().flatten().for_each(f),
            Node::Num(_) | Node::Dec(..) | Node::Const(_) | Node::Var(_) | Node::Text(_) => {}
        }
    }
}

/// Exact value of a variable-free rational expression, or `None`.
pub(crate) fn exact(n: &Node, budget: &mut Budget) -> Option<BigRational> {
    if !budget.spend(1) {
        return None;
    }
    let v = match n {
        Node::Num(v) | Node::Dec(v, _) => v.clone(),
        Node::Neg(a) => -exact(a, budget)?,
        Node::Add(xs) => {
            let mut acc = BigRational::zero();
            for x in xs {
                acc += exact(x, budget)?;
            }
            acc
        }
        Node::Mul(xs) => {
            let mut acc = BigRational::one();
            for x in xs {
                acc *= exact(x, budget)?;
            }
            acc
        }
        Node::Div(a, b) => {
            let d = exact(b, budget)?;
            if d.is_zero() {
                return None;
            }
            exact(a, budget)? / d
        }
        Node::Pow(a, b) => pow(exact(a, budget)?, &exact(b, budget)?, budget)?,
        Node::Percent(a) => exact(a, budget)? / BigRational::from_integer(100.into()),
        Node::Call(f, args) => call(*f, args, budget)?,
        _ => return None,
    };
    small_enough(&v).then_some(v)
}

fn small_enough(v: &BigRational) -> bool {
    v.numer().bits() <= MAX_BITS && v.denom().bits() <= MAX_BITS
}

/// `base ^ exp` for an integer exponent whose result stays under [`MAX_BITS`],
/// and for `exp = p/q` when `base` is an exact q-th power.
fn pow(base: BigRational, exp: &BigRational, budget: &mut Budget) -> Option<BigRational> {
    if !exp.is_integer() {
        let q = exp.denom().to_u32()?;
        let root = exact_root(&base, q)?;
        return pow(root, &BigRational::from_integer(exp.numer().clone()), budget);
    }
    let e = exp.numer().to_i64()?;
    if base.is_zero() {
        return (e > 0).then(BigRational::zero);
    }
    let bits = base.numer().bits().max(base.denom().bits()).max(1);
    let e_abs = e.unsigned_abs();
    if base.abs().is_one() {
        let odd = e_abs % 2 == 1;
        return Some(if odd { base } else { BigRational::one() });
    }
    if bits.checked_mul(e_abs)? > MAX_BITS {
        return None;
    }
    if !budget.spend(u32::try_from(bits * e_abs / 64 + 1).ok()?) {
        return None;
    }
    let e_u32 = u32::try_from(e_abs).ok()?;
    let p = num_traits::pow(base, e_u32 as usize);
    if e < 0 {
        Some(p.recip())
    } else {
        Some(p)
    }
}

/// The exact q-th root of a non-negative rational (or of a negative one for odd q).
fn exact_root(v: &BigRational, q: u32) -> Option<BigRational> {
    if q == 0 || q > 64 {
        return None;
    }
    if v.is_negative() {
        return (q % 2 == 1).then(|| exact_root(&-v, q)).flatten().map(|r| -r);
    }
    let root_int = |n: &BigInt| {
        let r = n.nth_root(q);
        (num_traits::pow(r.clone(), q as usize) == *n).then_some(r)
    };
    Some(BigRational::new(root_int(v.numer())?, root_int(v.denom())?))
}

fn call(f: Func, args: &[Node], budget: &mut Budget) -> Option<BigRational> {
    let arg = |i: usize, b: &mut Budget| args.get(i).and_then(|a| exact(a, b));
    match f {
        Func::Sqrt => exact_root(&arg(0, budget)?, 2),
        Func::Root => {
            let n = arg(0, budget)?;
            if !n.is_integer() {
                return None;
            }
            exact_root(&arg(1, budget)?, n.numer().to_u32()?)
        }
        Func::Abs => Some(arg(0, budget)?.abs()),
        Func::Floor => Some(arg(0, budget)?.floor()),
        Func::Ceil => Some(arg(0, budget)?.ceil()),
        Func::Fact => factorial(&arg(0, budget)?, budget),
        Func::Binom => binom(&arg(0, budget)?, &arg(1, budget)?, budget),
        _ => None,
    }
}

fn small_nat(v: &BigRational) -> Option<u64> {
    if !v.is_integer() || v.is_negative() {
        return None;
    }
    v.numer().to_u64().filter(|n| *n <= MAX_EXACT_FACTORIAL)
}

fn factorial(v: &BigRational, budget: &mut Budget) -> Option<BigRational> {
    let n = small_nat(v)?;
    if !budget.spend(u32::try_from(n).ok()?) {
        return None;
    }
    let p = (1..=n).fold(BigInt::one(), |acc, k| acc * k);
    Some(BigRational::from_integer(p))
}

fn binom(n: &BigRational, k: &BigRational, budget: &mut Budget) -> Option<BigRational> {
    let (n, k) = (small_nat(n)?, small_nat(k)?);
    if k > n {
        return Some(BigRational::zero());
    }
    if !budget.spend(u32::try_from(k).ok()?) {
        return None;
    }
    let mut acc = BigInt::one();
    for j in 0..k.min(n - k) {
        acc = acc * (n - j) / (j + 1);
    }
    Some(BigRational::from_integer(acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(n.into(), d.into())
    }

    #[test]
    fn exact_arithmetic() {
        let cases: Vec<(Node, Option<BigRational>)> = vec![
            (Node::div(Node::int(1), Node::int(2)), Some(q(1, 2))),
            (Node::div(Node::int(1), Node::int(0)), None),
            (Node::pow(Node::int(2), Node::int(-3)), Some(q(1, 8))),
            (Node::pow(Node::int(4), Node::Num(q(3, 2))), Some(q(8, 1))),
            (Node::pow(Node::int(2), Node::Num(q(1, 2))), None),
            (Node::pow(Node::int(10), Node::int(100_000)), None),
            (Node::pow(Node::int(-1), Node::int(1_000_000_001)), Some(q(-1, 1))),
            (Node::pow(Node::int(0), Node::int(-1)), None),
            (Node::Call(Func::Sqrt, vec![Node::Num(q(9, 4))]), Some(q(3, 2))),
            (Node::Call(Func::Root, vec![Node::int(3), Node::int(-27)]), Some(q(-3, 1))),
            (Node::Call(Func::Fact, vec![Node::int(5)]), Some(q(120, 1))),
            (Node::Call(Func::Fact, vec![Node::int(100_000)]), None),
            (Node::Call(Func::Binom, vec![Node::int(6), Node::int(2)]), Some(q(15, 1))),
            (Node::Percent(Box::new(Node::int(50))), Some(q(1, 2))),
            (Node::Var("x".into()), None),
        ];
        for (node, want) in cases {
            assert_eq!(exact(&node, &mut Budget::new()), want, "{node:?}");
        }
    }

    #[test]
    fn budget_stops_work() {
        let wide = Node::Add(vec![Node::int(1); super::super::limits::OP_BUDGET as usize]);
        assert_eq!(exact(&wide, &mut Budget::new()), None);
        let short = Node::Add(vec![Node::int(1); 1000]);
        assert_eq!(exact(&short, &mut Budget::new()), Some(BigRational::from_integer(1000.into())));
    }
}
