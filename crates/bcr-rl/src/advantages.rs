//! Group-relative advantages: one scalar per response, shared by all of its
//! tokens.
//!
//! Shapes: `rewards` is flat `(B * G,)` with each pack's G responses
//! contiguous (group `b` is `rewards[b*G .. (b+1)*G]`); the result has the
//! same layout.
//!
//! - GRPO (Shao et al. 2024, DeepSeekMath §4.1): `A_i = (r_i - mean) / (std + eps)`
//!   with the unbiased (n - 1) standard deviation of the group, as verl and
//!   TRL compute it. `eps` keeps an all-equal group (std 0) at A = 0.
//! - Dr.GRPO (Liu et al. 2025, §3.1): `A_i = r_i - mean`; dividing by the std
//!   up-weights groups that are almost all right or all wrong.

use crate::config::AdvantageKind;
use crate::error::{Error, Result};

/// Mean and unbiased standard deviation of one group.
pub fn group_stats(rewards: &[f64]) -> (f64, f64) {
    let n = rewards.len() as f64;
    let mean = rewards.iter().sum::<f64>() / n;
    if rewards.len() < 2 {
        return (mean, 0.0);
    }
    let var = rewards.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Advantages of `B * G` rewards in groups of `group_size`.
pub fn group_advantages(rewards: &[f64], group_size: usize, kind: AdvantageKind, eps: f64) -> Result<Vec<f64>> {
    if group_size < 2 || !rewards.len().is_multiple_of(group_size) {
        return Err(Error::Invalid(format!(
            "advantages need groups of at least 2: {} rewards in groups of {group_size}",
            rewards.len()
        )));
    }
    if let Some(r) = rewards.iter().find(|r| !r.is_finite()) {
        return Err(Error::Invalid(format!("non-finite reward {r}")));
    }
    let mut out = Vec::with_capacity(rewards.len());
    for group in rewards.chunks(group_size) {
        // Identical rewards carry no signal: exactly 0, not the rounding
        // error of their mean amplified by 1 / eps.
        if group.iter().all(|r| *r == group[0]) {
            out.extend(std::iter::repeat_n(0.0, group.len()));
            continue;
        }
        let (mean, std) = group_stats(group);
        out.extend(group.iter().map(|r| match kind {
            AdvantageKind::Grpo => (r - mean) / (std + eps),
            AdvantageKind::Drgrpo => r - mean,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn hand_computed_groups() {
        // Group [1, 0, 0, 1]: mean 0.5, unbiased var = 4 * 0.25 / 3 = 1/3,
        // std = 0.57735..., A = +-0.5 / 0.57735 = +-0.866025...
        let s = 0.5 / (1.0f64 / 3.0).sqrt();
        let cases: &[(&[f64], usize, AdvantageKind, Vec<f64>)] = &[
            (&[1.0, 0.0, 0.0, 1.0], 4, AdvantageKind::Grpo, vec![s, -s, -s, s]),
            (&[1.0, 0.0, 0.0, 1.0], 4, AdvantageKind::Drgrpo, vec![0.5, -0.5, -0.5, 0.5]),
            // two groups of 2: [0.2, 0.6] -> mean 0.4, std sqrt(0.08)=0.28284
            (
                &[0.2, 0.6, 1.0, 1.0],
                2,
                AdvantageKind::Grpo,
                vec![-0.2 / 0.08f64.sqrt(), 0.2 / 0.08f64.sqrt(), 0.0, 0.0],
            ),
            (&[0.2, 0.6, 1.0, 1.0], 2, AdvantageKind::Drgrpo, vec![-0.2, 0.2, 0.0, 0.0]),
            // all equal -> zero advantage, no division by zero
            (&[0.7, 0.7, 0.7], 3, AdvantageKind::Grpo, vec![0.0, 0.0, 0.0]),
            (&[], 2, AdvantageKind::Grpo, vec![]),
        ];
        for (r, g, k, want) in cases {
            let got = group_advantages(r, *g, *k, 1e-12).unwrap();
            assert!(close(&got, want), "{r:?} g={g} {k:?}: {got:?} != {want:?}");
        }
    }

    #[test]
    fn eps_bounds_tiny_groups() {
        let a = group_advantages(&[1.0, 1.0 + 1e-12], 2, AdvantageKind::Grpo, 1e-6).unwrap();
        assert!(a.iter().all(|x| x.abs() < 1e-5), "{a:?}");
    }

    #[test]
    fn bad_shapes_and_values_are_errors() {
        for (r, g) in [(&[1.0, 2.0, 3.0][..], 2), (&[1.0, 2.0][..], 1), (&[1.0, f64::NAN][..], 2)] {
            assert!(group_advantages(r, g, AdvantageKind::Grpo, 1e-6).is_err(), "{r:?} {g}");
        }
    }
}
