//! Small estimators used by the report.
//!
//! - Accuracy standard error: the sample standard deviation of per-problem
//!   accuracies (each averaged over draws and packings) over sqrt(problems),
//!   so repeated draws of one problem are not counted as independent.
//! - pass@k: the unbiased estimator of Chen et al. (2021, "Evaluating Large
//!   Language Models Trained on Code", eq. 1): `1 - C(n-c, k) / C(n, k)` for
//!   `n` draws of which `c` are correct, computed as a stable product.

/// Mean of `xs` (0 for none).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Standard error of the mean: sample std (n-1) / sqrt(n); 0 for fewer than 2.
pub fn std_err(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
    (var / n as f64).sqrt()
}

/// Unbiased pass@k from `n` draws with `c` correct. `None` when `k > n` or
/// `k == 0` (undefined) or `c > n` (inconsistent).
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    // C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    let miss: f64 = ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    Some(1.0 - miss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_errors() {
        let cases: &[(&[f64], f64, f64)] = &[
            (&[], 0.0, 0.0),
            (&[1.0], 1.0, 0.0),
            (&[0.0, 1.0], 0.5, 0.5),
            (&[1.0, 1.0, 1.0], 1.0, 0.0),
            (&[0.0, 0.0, 1.0, 1.0], 0.5, (1.0f64 / 3.0 / 4.0).sqrt()),
        ];
        for &(xs, m, se) in cases {
            assert!((mean(xs) - m).abs() < 1e-12, "{xs:?}");
            assert!((std_err(xs) - se).abs() < 1e-12, "{xs:?}: {}", std_err(xs));
        }
    }

    #[test]
    fn pass_at_k_matches_the_combinatorial_definition() {
        fn choose(n: usize, k: usize) -> f64 {
            (0..k).map(|i| (n - i) as f64 / (i + 1) as f64).product()
        }
        for n in 1..=8 {
            for c in 0..=n {
                for k in 1..=n {
                    let want = if n - c < k { 1.0 } else { 1.0 - choose(n - c, k) / choose(n, k) };
                    let got = pass_at_k(n, c, k).unwrap();
                    assert!((got - want).abs() < 1e-12, "n{n} c{c} k{k}: {got} vs {want}");
                }
            }
        }
        assert_eq!(pass_at_k(4, 1, 1), Some(0.25));
        assert_eq!(pass_at_k(4, 0, 4), Some(0.0));
        assert_eq!(pass_at_k(3, 1, 4), None);
        assert_eq!(pass_at_k(3, 1, 0), None);
        assert_eq!(pass_at_k(3, 4, 1), None);
    }
}
