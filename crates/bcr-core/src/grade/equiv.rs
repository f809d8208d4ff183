//! Equivalence of two parsed answers.
//!
//! Structures are first brought to a canonical shape (`x \in I` -> `I`,
//! `-1 < x \le 3` -> `(-1, 3]`, a `\pm` -> the set of both values), then
//! compared by kind: lists and sets order-free, tuples and matrices in order,
//! intervals by endpoints and closedness, equations up to a non-zero factor,
//! scalars by value (see [`scalar`]).

use super::expr::{exact, Const, Node};
use super::lexer::Rel;
use super::limits::{Budget, MAX_ELEMENTS, MAX_PM};
use super::matrix::{fold, has_matrix};
use super::numeric::{close, eval, sample, Env};
use super::relation::{chain_set, labelled_values, stated_value};
use num_complex::Complex64;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};

/// Number of random points at which expressions in free variables are compared.
pub(crate) const POINTS: u64 = 5;

/// Whether `g` (gold) and `p` (prediction) are equivalent.
pub(crate) fn equivalent(g: &Node, p: &Node, budget: &mut Budget) -> bool {
    if !budget.spend(1) {
        return false;
    }
    if g == p {
        return true;
    }
    let (g, p) = (shape(g, budget), shape(p, budget));
    if g == p {
        return true;
    }
    match (&g, &p) {
        (Node::List(a) | Node::Set(a), Node::List(b) | Node::Set(b)) => multiset(a, b, budget),
        (Node::Set(a), q) | (q, Node::Set(a)) if a.len() == 1 && q.is_scalar() => {
            equivalent_in_order(&g, &p, &a[0], q, budget)
        }
        (Node::Tuple(a), Node::Tuple(b)) => ordered(a, b, budget),
        (Node::Tuple(t), Node::List(items)) | (Node::List(items), Node::Tuple(t)) => {
            // `a = 2, b = 9` against `(2, 9)`: a labelled tuple, in written order.
            labelled_values(items).is_some_and(|v| {
                if matches!(g, Node::Tuple(_)) {
                    ordered(t, &v, budget)
                } else {
                    ordered(&v, t, budget)
                }
            })
        }
        (Node::Interval(..), Node::Interval(..))
        | (Node::Interval(..), Node::Tuple(_))
        | (Node::Tuple(_), Node::Interval(..)) => interval(&g, &p, budget),
        (Node::Union(a), Node::Union(b)) => multiset(a, b, budget),
        (Node::Matrix(a), Node::Matrix(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ordered(x, y, budget)),
        (Node::Matrix(m), Node::Tuple(t)) | (Node::Tuple(t), Node::Matrix(m)) => {
            vector(m).is_some_and(|v| ordered(&v, t, budget))
        }
        (Node::Chain(a, ra), Node::Chain(b, rb)) => chains(a, ra, b, rb, budget) || chain_values(a, ra, b, rb, budget),
        (Node::Chain(ops, rels), q) => stated_value(ops, rels).is_some_and(|v| equivalent(v, q, budget)),
        (q, Node::Chain(ops, rels)) => stated_value(ops, rels).is_some_and(|v| equivalent(q, v, budget)),
        (a, b) if a.is_scalar() && b.is_scalar() => scalar(a, b, budget),
        _ => false,
    }
}

/// `y = 4 \cdot 3 - 2 = 10` against `10 = y`: two chains that state values.
fn chain_values(a: &[Node], ra: &[Rel], b: &[Node], rb: &[Rel], budget: &mut Budget) -> bool {
    let long = a.len() > 2 || b.len() > 2 || ra.contains(&Rel::Approx) || rb.contains(&Rel::Approx);
    match (stated_value(a, ra), stated_value(b, rb)) {
        (Some(x), Some(y)) if long => equivalent(x, y, budget),
        _ => false,
    }
}

/// Keeps gold on the left when one side was a one-element set.
fn equivalent_in_order(g: &Node, _p: &Node, inner: &Node, other: &Node, budget: &mut Budget) -> bool {
    if matches!(g, Node::Set(_)) {
        equivalent(inner, other, budget)
    } else {
        equivalent(other, inner, budget)
    }
}

/// Canonical shape: relations to the sets they describe (`relation`),
/// `\pm` to a set, matrix arithmetic to its value.
fn shape(n: &Node, budget: &mut Budget) -> Node {
    match n {
        Node::Chain(ops, rels) => match chain_set(ops, rels, budget) {
            Some(set) => shape(&set, budget),
            None => n.clone(),
        },
        Node::List(items) => {
            let all_ineq = items.iter().all(|i| matches!(i, Node::Chain(_, r) if r.iter().all(|r| r.is_order())));
            let shaped = expand_items(items, budget);
            if all_ineq && shaped.iter().all(|s| matches!(s, Node::Interval(..) | Node::Union(_))) {
                Node::Union(flatten_unions(shaped))
            } else {
                Node::List(shaped)
            }
        }
        Node::Set(items) => Node::Set(expand_items(items, budget)),
        Node::Union(parts) => Node::Union(flatten_unions(parts.iter().map(|p| open_tuple(shape(p, budget))).collect())),
        _ if !matches!(n, Node::Matrix(_)) && has_matrix(n) => fold(n, budget).unwrap_or_else(|| n.clone()),
        _ if n.is_scalar() => match expand_pm(n) {
            Some(values) if values.len() > 1 => Node::Set(values),
            _ => n.clone(),
        },
        _ => n.clone(),
    }
}

/// Parts of nested unions as one list of parts.
fn flatten_unions(parts: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Node::Union(inner) => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

/// Shapes each element, spreading `a \pm b` into its two values.
fn expand_items(items: &[Node], budget: &mut Budget) -> Vec<Node> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match shape(item, budget) {
            Node::Set(values) if matches!(item, Node::PlusMinus(..)) || contains_pm(item) => out.extend(values),
            other => out.push(other),
        }
    }
    out
}

fn contains_pm(n: &Node) -> bool {
    let mut count = 0;
    count_pm(n, &mut count, 0);
    count > 0
}

/// Inside a union a 2-tuple is an open interval.
fn open_tuple(n: Node) -> Node {
    match n {
        Node::Tuple(mut v) if v.len() == 2 => {
            let hi = v.remove(1);
            let lo = v.remove(0);
            Node::Interval(Box::new(lo), Box::new(hi), false, false)
        }
        other => other,
    }
}

fn chains(a: &[Node], ra: &[Rel], b: &[Node], rb: &[Rel], budget: &mut Budget) -> bool {
    match (a, ra, b, rb) {
        ([l1, r1], [Rel::Eq], [l2, r2], [Rel::Eq]) => equations(l1, r1, l2, r2, budget),
        _ => ra == rb && ordered(a, b, budget),
    }
}

/// `l1 = r1` and `l2 = r2` are the same equation when `l1 - r1` and
/// `l2 - r2` are proportional by a non-zero constant at every sample point.
fn equations(l1: &Node, r1: &Node, l2: &Node, r2: &Node, budget: &mut Budget) -> bool {
    let f = Node::Add(vec![l1.clone(), Node::Neg(Box::new(r1.clone()))]);
    let g = Node::Add(vec![l2.clone(), Node::Neg(Box::new(r2.clone()))]);
    let mut names = Vec::new();
    f.vars(&mut names);
    g.vars(&mut names);
    let mut ratio: Option<Complex64> = None;
    for point in 0..POINTS {
        let values: Vec<f64> = (0..names.len() as u64).map(|v| sample(point, v)).collect();
        let env = Env { names: &names, values: &values };
        let (Some(fv), Some(gv)) = (eval(&f, &env, budget), eval(&g, &env, budget)) else {
            return false;
        };
        let zero = Complex64::new(0.0, 0.0);
        match (close(fv, zero), close(gv, zero)) {
            (true, true) => continue,
            (false, false) => {}
            _ => return false,
        }
        let r = gv / fv;
        match ratio {
            None => ratio = Some(r),
            Some(r0) if close(r0, r) => {}
            Some(_) => return false,
        }
    }
    true
}

fn ordered(a: &[Node], b: &[Node], budget: &mut Budget) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equivalent(x, y, budget))
}

/// Order-free matching (each gold element pairs with a distinct prediction).
fn multiset(a: &[Node], b: &[Node], budget: &mut Budget) -> bool {
    if a.len() != b.len() || a.len() > MAX_ELEMENTS {
        return false;
    }
    let mut used = vec![false; b.len()];
    for x in a {
        let hit = (0..b.len()).find(|&k| !used[k] && equivalent(x, &b[k], budget));
        match hit {
            Some(k) => used[k] = true,
            None => return false,
        }
    }
    true
}

fn interval(g: &Node, p: &Node, budget: &mut Budget) -> bool {
    let parts = |n: &Node| -> Option<(Node, Node, bool, bool)> {
        match n {
            Node::Interval(lo, hi, lc, hc) => Some(((**lo).clone(), (**hi).clone(), *lc, *hc)),
            Node::Tuple(v) if v.len() == 2 => Some((v[0].clone(), v[1].clone(), false, false)),
            _ => None,
        }
    };
    let (Some((l1, h1, a1, b1)), Some((l2, h2, a2, b2))) = (parts(g), parts(p)) else {
        return false;
    };
    a1 == a2 && b1 == b2 && equivalent(&l1, &l2, budget) && equivalent(&h1, &h2, budget)
}

/// A one-row or one-column matrix as a vector.
fn vector(m: &[Vec<Node>]) -> Option<Vec<Node>> {
    match m {
        [row] => Some(row.clone()),
        rows if rows.iter().all(|r| r.len() == 1) => Some(rows.iter().map(|r| r[0].clone()).collect()),
        _ => None,
    }
}

/// Expands every `a \pm b` into `a + b` and `a - b` (up to [`MAX_PM`] signs).
fn expand_pm(n: &Node) -> Option<Vec<Node>> {
    let mut count = 0usize;
    count_pm(n, &mut count, 0);
    if count == 0 || count > MAX_PM {
        return None;
    }
    let mut out = Vec::new();
    for mask in 0..(1u32 << count) {
        let mut k = 0;
        out.push(choose_pm(n, mask, &mut k));
    }
    Some(out)
}

fn count_pm(n: &Node, count: &mut usize, depth: usize) {
    if matches!(n, Node::PlusMinus(..)) {
        *count += 1;
    }
    if depth < 64 {
        n.for_each_child(|c| count_pm(c, count, depth + 1));
    }
}

fn choose_pm(n: &Node, mask: u32, k: &mut u32) -> Node {
    let rec = |c: &Node, k: &mut u32| choose_pm(c, mask, k);
    match n {
        Node::PlusMinus(a, b) => {
            let minus = mask >> *k & 1 == 1;
            *k += 1;
            let (a, b) = (rec(a, k), rec(b, k));
            let b = if minus { Node::Neg(Box::new(b)) } else { b };
            Node::Add(vec![a, b])
        }
        Node::Add(v) => Node::Add(v.iter().map(|c| rec(c, k)).collect()),
        Node::Mul(v) => Node::Mul(v.iter().map(|c| rec(c, k)).collect()),
        Node::Neg(a) => Node::Neg(Box::new(rec(a, k))),
        Node::Div(a, b) => {
            let a = rec(a, k);
            Node::div(a, rec(b, k))
        }
        Node::Pow(a, b) => {
            let a = rec(a, k);
            Node::pow(a, rec(b, k))
        }
        Node::Call(f, v) => Node::Call(*f, v.iter().map(|c| rec(c, k)).collect()),
        other => other.clone(),
    }
}

/// Scalar equivalence: markers (`%`, `°`), exact rationals, the decimal
/// precision rule, then numeric evaluation at sample points.
fn scalar(g: &Node, p: &Node, budget: &mut Budget) -> bool {
    match (g, p) {
        (Node::Percent(a), Node::Percent(b)) | (Node::Degree(a), Node::Degree(b)) => value(a, b, budget),
        (Node::Percent(a), q) | (q, Node::Percent(a)) => {
            let hundredth = Node::div((**a).clone(), Node::int(100));
            value(a, q, budget) || value(&hundredth, q, budget)
        }
        (Node::Degree(a), q) | (q, Node::Degree(a)) => {
            let radians = Node::Mul(vec![(**a).clone(), Node::div(Node::Const(Const::Pi), Node::int(180))]);
            value(a, q, budget) || value(&radians, q, budget)
        }
        _ => value(g, p, budget),
    }
}

fn value(a: &Node, b: &Node, budget: &mut Budget) -> bool {
    if a == b {
        return true;
    }
    let (ea, eb) = (exact(a, budget), exact(b, budget));
    if let (Some(x), Some(y)) = (&ea, &eb) {
        if x == y {
            return true;
        }
        return approximates(a, y) || approximates(b, x);
    }
    let mut names = Vec::new();
    a.vars(&mut names);
    b.vars(&mut names);
    if names.is_empty() {
        let env = Env { names: &[], values: &[] };
        let (Some(x), Some(y)) = (eval(a, &env, budget), eval(b, &env, budget)) else {
            return false;
        };
        let irrational_b = eb.is_none();
        let irrational_a = ea.is_none();
        return close(x, y) || (irrational_b && decimal_near(a, y)) || (irrational_a && decimal_near(b, x));
    }
    (0..POINTS).all(|point| {
        let values: Vec<f64> = (0..names.len() as u64).map(|v| sample(point, v)).collect();
        let env = Env { names: &names, values: &values };
        matches!((eval(a, &env, budget), eval(b, &env, budget)), (Some(x), Some(y)) if close(x, y))
    })
}

/// The written places of a decimal literal (possibly negated).
fn decimal_places(n: &Node) -> Option<(&BigRational, u32, bool)> {
    match n {
        Node::Dec(v, places) => Some((v, *places, false)),
        Node::Neg(inner) => decimal_places(inner).map(|(v, p, neg)| (v, p, !neg)),
        _ => None,
    }
}

/// A decimal `d` with `p` places and at least 3 significant digits stands for
/// a non-terminating rational `v` when `|d - v| <= 10^-p` (rounded or truncated).
fn approximates(dec: &Node, v: &BigRational) -> bool {
    if decimal_places(dec).is_none() || terminates(v) {
        return false;
    }
    v.to_f64().is_some_and(|f| decimal_near(dec, Complex64::new(f, 0.0)))
}

fn decimal_near(dec: &Node, v: Complex64) -> bool {
    let Some((d, places, neg)) = decimal_places(dec) else { return false };
    let Some(d) = d.to_f64() else { return false };
    let d = if neg { -d } else { d };
    let significant = d.abs().log10().floor() as i64 + 1 + i64::from(places);
    if significant < 3 || v.im.abs() > 0.0 || places > 15 {
        return false;
    }
    let unit = 10f64.powi(-(places as i32));
    let slack = 1.0 + 1e-9;
    let rounded = (d - v.re).abs() <= 0.5 * unit * slack;
    let truncated = d.signum() == v.re.signum() && (0.0..unit * slack).contains(&(v.re.abs() - d.abs()));
    rounded || truncated
}

/// Whether a rational has a finite decimal expansion (denominator 2^a 5^b).
fn terminates(v: &BigRational) -> bool {
    let mut d = v.denom().clone();
    for p in [2u32, 5] {
        let p = num_bigint::BigInt::from(p);
        while (&d % &p).is_zero() && !d.is_zero() {
            d /= &p;
        }
    }
    d.abs() == num_bigint::BigInt::from(1)
}
