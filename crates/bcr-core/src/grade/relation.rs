//! Relations as the sets they describe, and equations as the values they
//! state.
//!
//! * A chain of `<`, `\le` (or all `>`, `\ge`) in one variable becomes an
//!   interval: `0 \le t < 5` is `[0, 5)`; when the variable sits inside a
//!   linear expression the chain is solved (`-2t < 6` is `t > -3`, `(-3, ∞)`;
//!   `1 < 2x + 1 \le 7` is `(0, 3]`). Linearity is checked, not assumed: the
//!   slope and offset come from the values at 0 and 1 (exactly when they are
//!   rational) and the expression must match them at three more points, two
//!   of them negative.
//! * `|L| < c` is `-c < L < c`; `|L| > c` is the union `L < -c` or `L > c`.
//! * `x \ne c` is `(-∞, c) ∪ (c, ∞)`; `x \in S` is `S`.
//! * [`stated_value`]: `x = 5`, `(a, b) = (4, 1)`, `y = 4 \cdot 3 - 2 = 10`
//!   state a value (the last side, when every earlier side is a name or a
//!   constant expression).

use super::expr::{exact, Const, Func, Node};
use super::lexer::Rel;
use super::limits::Budget;
use super::numeric::{close, eval, sample, Env};
use num_complex::Complex64;
use num_traits::{Signed, Zero};

impl Rel {
    /// `<`, `\le`, `>`, `\ge`.
    pub(crate) fn is_order(self) -> bool {
        matches!(self, Rel::Lt | Rel::Le | Rel::Gt | Rel::Ge)
    }

    fn flip(self) -> Rel {
        match self {
            Rel::Lt => Rel::Gt,
            Rel::Le => Rel::Ge,
            Rel::Gt => Rel::Lt,
            Rel::Ge => Rel::Le,
            r => r,
        }
    }
}

/// The set a relation chain describes, or `None` when it is not one of the
/// forms in the module doc. `x \in S` returns `S` unshaped.
pub(crate) fn chain_set(ops: &[Node], rels: &[Rel], budget: &mut Budget) -> Option<Node> {
    match (ops, rels) {
        ([Node::Var(_), set], [Rel::In]) => return Some(set.clone()),
        ([a, b], [Rel::Ne]) => return not_equal(a, b),
        _ => {}
    }
    if !rels.iter().all(|r| r.is_order()) || ops.len() > 3 {
        return None;
    }
    abs_bound(ops, rels, budget).or_else(|| interval(ops, rels, budget))
}

fn is_free(n: &Node) -> bool {
    let mut v = Vec::new();
    n.vars(&mut v);
    v.is_empty()
}

fn neg(n: Node) -> Node {
    Node::Neg(Box::new(n))
}

fn inf() -> Node {
    Node::Const(Const::Inf)
}

fn not_equal(a: &Node, b: &Node) -> Option<Node> {
    let c = match (a, b) {
        (Node::Var(_), c) | (c, Node::Var(_)) if is_free(c) => c,
        _ => return None,
    };
    let below = Node::Interval(Box::new(neg(inf())), Box::new(c.clone()), false, false);
    let above = Node::Interval(Box::new(c.clone()), Box::new(inf()), false, false);
    Some(Node::Union(vec![below, above]))
}

/// `|L| rel c` (either way round) as an interval or a union of two.
fn abs_bound(ops: &[Node], rels: &[Rel], budget: &mut Budget) -> Option<Node> {
    let ([l, r], [rel]) = (ops, rels) else { return None };
    let (inner, c, rel) = match (l, r) {
        (Node::Call(Func::Abs, a), c) if is_free(c) && !is_free(a.first()?) => (a.first()?, c, *rel),
        (c, Node::Call(Func::Abs, a)) if is_free(c) && !is_free(a.first()?) => (a.first()?, c, rel.flip()),
        _ => return None,
    };
    let minus_c = neg(c.clone());
    match rel {
        Rel::Lt | Rel::Le => interval(&[minus_c, inner.clone(), c.clone()], &[rel, rel], budget),
        _ => {
            let below = interval(&[inner.clone(), minus_c], &[rel.flip()], budget)?;
            let above = interval(&[inner.clone(), c.clone()], &[rel], budget)?;
            Some(Node::Union(vec![below, above]))
        }
    }
}

/// An order chain in one variable, linear in it, as an interval.
fn interval(ops: &[Node], rels: &[Rel], budget: &mut Budget) -> Option<Node> {
    let mut names = Vec::new();
    for o in ops {
        o.vars(&mut names);
    }
    let [var] = names.as_slice() else { return None };
    let mut lo: Option<(Node, bool)> = None;
    let mut hi: Option<(Node, bool)> = None;
    for (k, rel) in rels.iter().enumerate() {
        // ops[k] rel ops[k+1]  <=>  d rel 0  with  d = a v + b.
        let (bound, rising) = match (&ops[k], &ops[k + 1]) {
            (Node::Var(_), c) if is_free(c) => (c.clone(), true),
            (c, Node::Var(_)) if is_free(c) => (c.clone(), false),
            (x, y) => solve(&Node::Add(vec![x.clone(), neg(y.clone())]), var, budget)?,
        };
        let rel = if rising { *rel } else { rel.flip() };
        let closed = matches!(rel, Rel::Le | Rel::Ge);
        let slot = if matches!(rel, Rel::Lt | Rel::Le) { &mut hi } else { &mut lo };
        if slot.replace((bound, closed)).is_some() {
            return None; // two bounds on one side: not a plain interval
        }
    }
    let (lo, lc) = lo.unwrap_or((neg(inf()), false));
    let (hi, hc) = hi.unwrap_or((inf(), false));
    Some(Node::Interval(Box::new(lo), Box::new(hi), lc, hc))
}

/// For `d = a v + b` (checked), the root `-b / a` and whether `a > 0`.
fn solve(d: &Node, var: &str, budget: &mut Budget) -> Option<(Node, bool)> {
    let at0 = substitute(d, var, &Node::int(0));
    let at1 = substitute(d, var, &Node::int(1));
    let names = [var];
    let value = |n: &Node, x: f64, budget: &mut Budget| {
        eval(n, &Env { names: &names, values: &[x] }, budget).filter(|z| z.im == 0.0)
    };
    let b = value(&at0, 0.0, budget)?;
    let a = value(&at1, 0.0, budget)? - b;
    if close(a, Complex64::new(0.0, 0.0)) {
        return None;
    }
    for x in [sample(0, 0), -sample(1, 0), -sample(2, 0) * 3.0] {
        let got = value(d, x, budget)?;
        if !close(got, a * x + b) {
            return None;
        }
    }
    let root = match (exact(&at0, budget), exact(&at1, budget)) {
        (Some(eb), Some(e1)) => {
            let ea = e1 - &eb;
            if ea.is_zero() {
                return None;
            }
            let r = -eb / &ea;
            return Some((Node::Num(r), ea.is_positive()));
        }
        _ => Node::div(neg(at0.clone()), Node::Add(vec![at1, neg(at0)])),
    };
    Some((root, a.re > 0.0))
}

/// `n` with every `Var(var)` replaced by `value`.
fn substitute(n: &Node, var: &str, value: &Node) -> Node {
    let rec = |c: &Node| substitute(c, var, value);
    match n {
        Node::Var(v) if v == var => value.clone(),
        Node::Add(v) => Node::Add(v.iter().map(rec).collect()),
        Node::Mul(v) => Node::Mul(v.iter().map(rec).collect()),
        Node::Call(f, v) => Node::Call(*f, v.iter().map(rec).collect()),
        Node::Neg(a) => neg(rec(a)),
        Node::Percent(a) => Node::Percent(Box::new(rec(a))),
        Node::Degree(a) => Node::Degree(Box::new(rec(a))),
        Node::Div(a, b) => Node::div(rec(a), rec(b)),
        Node::Pow(a, b) => Node::pow(rec(a), rec(b)),
        other => other.clone(),
    }
}

/// The value an equation chain states: `x = v`, `v = x`, `(a, b) = (4, 1)`,
/// `f(x) = v`; a two-sided equation's right side when it is constant
/// (`a + b + c = \frac65` is 6/5); a derivation's last side (`y = 4 \cdot 3
/// - 2 = 10` is 10, `(-k+4)+(3k-2) = 2k+2` is `2k+2`), or the side before a
/// final name (`36 - 19 = 17 = x` is 17).
pub(crate) fn stated_value<'a>(ops: &'a [Node], rels: &[Rel]) -> Option<&'a Node> {
    if !rels.iter().all(|r| matches!(r, Rel::Eq | Rel::Approx)) {
        return None;
    }
    match ops {
        [l, r] if is_label(l) => Some(r),
        [l, r] if is_label(r) && !is_label(l) => Some(l),
        [_, r] => is_free(r).then_some(r),
        [.., before, last] if is_label(last) && !is_label(before) => Some(before),
        [.., last] => Some(last),
        [] => None,
    }
}

/// A bare name, a name applied to variables (`f(x)`, `N(n)`), or a tuple of names.
pub(crate) fn is_label(n: &Node) -> bool {
    match n {
        Node::Var(_) => true,
        Node::Mul(f) => f.len() == 2 && f.iter().all(|x| matches!(x, Node::Var(_))),
        Node::Tuple(items) => !items.is_empty() && items.iter().all(|x| matches!(x, Node::Var(_))),
        _ => false,
    }
}

/// `a = 2, b = 9`: the values of equations with distinct one-letter-name
/// labels, in written order (a labelled tuple); `None` otherwise.
pub(crate) fn labelled_values(items: &[Node]) -> Option<Vec<Node>> {
    let mut names: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    for item in items {
        let Node::Chain(ops, rels) = item else { return None };
        let ([Node::Var(name), value], [Rel::Eq]) = (ops.as_slice(), rels.as_slice()) else { return None };
        if names.contains(&name.as_str()) {
            return None;
        }
        names.push(name);
        values.push(value.clone());
    }
    (values.len() > 1).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::super::{lexer, parser};
    use super::*;

    fn node(s: &str) -> Node {
        parser::parse(lexer::lex(s).unwrap()).unwrap()
    }

    fn set_of(s: &str) -> Option<Node> {
        match node(s) {
            Node::Chain(ops, rels) => chain_set(&ops, &rels, &mut Budget::new()),
            _ => None,
        }
    }

    #[test]
    fn relations_become_sets() {
        let q = |n: i64| Node::Num(num_rational::BigRational::from_integer(n.into()));
        let iv = |lo: Node, hi: Node, a, b| Node::Interval(Box::new(lo), Box::new(hi), a, b);
        let cases: Vec<(&str, Option<Node>)> = vec![
            ("-2t < 6", Some(iv(q(-3), inf(), false, false))),
            ("1 < 2x + 1 \\le 7", Some(iv(q(0), q(3), false, true))),
            ("3 - x \\ge 1", Some(iv(neg(inf()), q(2), false, true))),
            ("x^2 < 4", None),
            ("|x| < 4", None), // the abs form is checked below, by shape
            ("x < y", None),
            ("1 < x > 2", None),
        ];
        for (src, want) in cases {
            let got = set_of(src);
            if src.starts_with('|') {
                assert!(matches!(got, Some(Node::Interval(..))), "{src}: {got:?}");
                continue;
            }
            assert_eq!(got, want, "{src}");
        }
        assert!(matches!(set_of("|t - 1| \\ge 2"), Some(Node::Union(p)) if p.len() == 2));
        assert!(matches!(set_of("t \\ne 4"), Some(Node::Union(p)) if p.len() == 2));
    }

    #[test]
    fn stated_values() {
        let cases: &[(&str, Option<&str>)] = &[
            ("y = 4 \\cdot 3 - 2 = 10", Some("10")),
            ("x = 5", Some("5")),
            ("(a, b) = (4, 1)", Some("(4, 1)")),
            ("2 + 3 = 5", Some("5")),
            ("(-k+4)+(3k-2) = -k+4+3k-2 = 2k+2", Some("2k+2")),
            ("36 - 19 = 17 = x", Some("17")),
            ("x + 2 = 5", Some("5")),
            ("x + 2 = y", Some("x + 2")),
            ("x + 2 = y + 1", None),
            ("\\pi \\approx 3.14", Some("3.14")),
        ];
        for (src, want) in cases {
            let Node::Chain(ops, rels) = node(src) else { panic!("{src}") };
            assert_eq!(stated_value(&ops, &rels), want.map(node).as_ref(), "{src}");
        }
    }
}
