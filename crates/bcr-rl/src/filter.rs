//! Dropping groups whose rewards are all equal.
//!
//! When every response of a pack gets the same reward, every advantage of the
//! group is zero (GRPO and Dr.GRPO alike): the group only dilutes the token
//! normaliser and costs a forward/backward. DAPO (Yu et al. 2025, §3.2)
//! drops such groups; the share dropped is a useful signal in itself (near 1
//! means the task is too easy or too hard for the policy).

/// Indices of the groups (of `group_size` contiguous rewards) to keep, and
/// the share of groups dropped. Groups are "equal" when max - min <= `tol`.
pub fn keep_informative_groups(rewards: &[f64], group_size: usize, tol: f64) -> (Vec<usize>, f64) {
    if group_size == 0 {
        return (Vec::new(), 0.0);
    }
    let groups: Vec<&[f64]> = rewards.chunks(group_size).collect();
    let keep: Vec<usize> = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            let max = g.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let min = g.iter().cloned().fold(f64::INFINITY, f64::min);
            max - min > tol
        })
        .map(|(i, _)| i)
        .collect();
    let dropped = if groups.is_empty() { 0.0 } else { 1.0 - keep.len() as f64 / groups.len() as f64 };
    (keep, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&[f64], usize, Vec<usize>, f64)] = &[
            (&[1.0, 1.0, 0.0, 1.0, 0.5, 0.5], 2, vec![1], 2.0 / 3.0),
            (&[0.0, 0.0, 0.0, 0.0], 4, vec![], 1.0),
            (&[0.0, 1.0, 1.0, 0.0], 2, vec![0, 1], 0.0),
            (&[0.3, 0.3 + 1e-15], 2, vec![], 1.0),
            (&[], 3, vec![], 0.0),
        ];
        for (r, g, keep, share) in cases {
            let (k, s) = keep_informative_groups(r, *g, 1e-9);
            assert_eq!(&k, keep, "{r:?}");
            assert!((s - share).abs() < 1e-12, "{r:?}: {s}");
        }
    }
}
