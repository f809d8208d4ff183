//! Arithmetic on numeric matrices: `A + B`, `2A`, `AB`, `-A` written in an
//! answer are evaluated to one matrix of exact entries, so that a sum or
//! product compares with its result. Only matrices whose entries are exact
//! rationals are folded (symbolic entries would grow without bound under
//! repeated products); each matrix has at most `MAX_ELEMENTS` cells, and
//! every entry operation is paid from the comparison's budget.

use super::expr::{exact, Node};
use super::limits::{Budget, MAX_ELEMENTS};
use num_rational::BigRational;
use num_traits::Zero;

type Grid = Vec<Vec<BigRational>>;

/// Whether `n` is arithmetic with a matrix somewhere in it.
pub(crate) fn has_matrix(n: &Node) -> bool {
    match n {
        Node::Matrix(_) => true,
        Node::Add(v) | Node::Mul(v) => v.iter().any(has_matrix),
        Node::Neg(a) => has_matrix(a),
        _ => false,
    }
}

/// The matrix that `n` evaluates to, as a [`Node::Matrix`] of exact numbers.
pub(crate) fn fold(n: &Node, budget: &mut Budget) -> Option<Node> {
    let grid = value(n, budget)?;
    Some(Node::Matrix(grid.into_iter().map(|r| r.into_iter().map(Node::Num).collect()).collect()))
}

enum Val {
    Scalar(BigRational),
    Matrix(Grid),
}

fn value(n: &Node, budget: &mut Budget) -> Option<Grid> {
    match eval(n, budget)? {
        Val::Matrix(m) => Some(m),
        Val::Scalar(_) => None,
    }
}

fn eval(n: &Node, budget: &mut Budget) -> Option<Val> {
    match n {
        Node::Matrix(rows) => {
            let cells: usize = rows.iter().map(Vec::len).sum();
            if cells > MAX_ELEMENTS {
                return None;
            }
            let mut grid = Vec::with_capacity(rows.len());
            for row in rows {
                grid.push(row.iter().map(|c| exact(c, budget)).collect::<Option<Vec<_>>>()?);
            }
            Some(Val::Matrix(grid))
        }
        Node::Neg(a) => match eval(a, budget)? {
            Val::Scalar(s) => Some(Val::Scalar(-s)),
            Val::Matrix(m) => Some(Val::Matrix(map(m, |x| -x))),
        },
        Node::Add(terms) => {
            let mut acc: Option<Val> = None;
            for t in terms {
                let v = eval(t, budget)?;
                acc = Some(match (acc, v) {
                    (None, v) => v,
                    (Some(Val::Matrix(a)), Val::Matrix(b)) => Val::Matrix(add(a, &b, budget)?),
                    (Some(Val::Scalar(a)), Val::Scalar(b)) => Val::Scalar(a + b),
                    _ => return None, // a matrix plus a number is not defined
                });
            }
            acc
        }
        Node::Mul(factors) => {
            let mut acc = Val::Scalar(BigRational::from_integer(1.into()));
            for f in factors {
                acc = match (acc, eval(f, budget)?) {
                    (Val::Scalar(a), Val::Scalar(b)) => Val::Scalar(a * b),
                    (Val::Scalar(s), Val::Matrix(m)) | (Val::Matrix(m), Val::Scalar(s)) => {
                        budget.spend(cells(&m)).then_some(())?;
                        Val::Matrix(map(m, |x| x * &s))
                    }
                    (Val::Matrix(a), Val::Matrix(b)) => Val::Matrix(product(&a, &b, budget)?),
                };
            }
            Some(acc)
        }
        _ if !has_matrix(n) => exact(n, budget).map(Val::Scalar),
        _ => None,
    }
}

fn cells(m: &Grid) -> u32 {
    m.iter().map(Vec::len).sum::<usize>() as u32
}

fn map(m: Grid, f: impl Fn(BigRational) -> BigRational) -> Grid {
    m.into_iter().map(|r| r.into_iter().map(&f).collect()).collect()
}

fn add(a: Grid, b: &Grid, budget: &mut Budget) -> Option<Grid> {
    if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.len() != y.len()) {
        return None;
    }
    budget.spend(cells(b)).then_some(())?;
    Some(a.into_iter().zip(b).map(|(x, y)| x.into_iter().zip(y).map(|(p, q)| p + q).collect()).collect())
}

fn product(a: &Grid, b: &Grid, budget: &mut Budget) -> Option<Grid> {
    let inner = b.len();
    let cols = b.first().map_or(0, Vec::len);
    if a.iter().any(|r| r.len() != inner) || a.len() * cols > MAX_ELEMENTS {
        return None;
    }
    budget.spend(u32::try_from(a.len() * cols * inner).ok()?).then_some(())?;
    let mut out = vec![vec![BigRational::zero(); cols]; a.len()];
    for (i, row) in a.iter().enumerate() {
        for (j, cell) in out[i].iter_mut().enumerate() {
            for (k, x) in row.iter().enumerate() {
                *cell += x * &b[k][j];
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{lexer, parser};
    use super::*;

    fn folded(s: &str) -> Option<Node> {
        fold(&parser::parse(lexer::lex(s).unwrap()).unwrap(), &mut Budget::new())
    }

    #[test]
    fn matrix_arithmetic() {
        let m = |s: &str| Some(parser::parse(lexer::lex(s).unwrap()).unwrap());
        let id = "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}";
        let a = "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}";
        let exact = |s: &str| m(s).and_then(|n| fold(&n, &mut Budget::new()));
        assert_eq!(folded(&format!("{a}+{id}")), exact("\\begin{pmatrix}2&2\\\\3&5\\end{pmatrix}"));
        assert_eq!(folded(&format!("{a}{a}")), exact("\\begin{pmatrix}7&10\\\\15&22\\end{pmatrix}"));
        assert_eq!(folded(&format!("2{a} - {id}")), exact("\\begin{pmatrix}1&4\\\\6&7\\end{pmatrix}"));
        assert_eq!(folded(&format!("{a} + 1")), None);
        assert_eq!(folded("\\begin{pmatrix}x&1\\end{pmatrix} + \\begin{pmatrix}1&1\\end{pmatrix}"), None);
        let col = "\\begin{pmatrix}1\\\\2\\end{pmatrix}";
        assert_eq!(folded(&format!("{col}{col}")), None);
    }
}
