//! The learning rate as a pure function of the step: linear warmup from 0,
//! then constant or cosine decay to `min_lr_ratio * lr` at the last step.

use crate::config::ScheduleKind;

/// Learning rate for 0-based `step` of `total` steps.
///
/// Warmup step `s < warmup` gets `lr * (s + 1) / warmup`, so the very first
/// update is not wasted at lr 0. Cosine progress runs over the steps after
/// warmup and reaches the floor at `total - 1`.
pub fn lr_at(step: usize, total: usize, lr: f64, warmup: usize, kind: ScheduleKind, min_ratio: f64) -> f64 {
    if step < warmup {
        return lr * (step + 1) as f64 / warmup as f64;
    }
    match kind {
        ScheduleKind::Constant => lr,
        ScheduleKind::Cosine => {
            let span = total.saturating_sub(warmup + 1).max(1) as f64;
            let progress = ((step - warmup) as f64 / span).min(1.0);
            let floor = lr * min_ratio;
            floor + (lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScheduleKind::*;

    #[test]
    fn table() {
        // (step, total, warmup, kind, min_ratio, expected) with lr = 1.0
        let cases = [
            (0, 10, 0, Constant, 0.0, 1.0),
            (9, 10, 0, Constant, 0.0, 1.0),
            (0, 10, 4, Constant, 0.0, 0.25),
            (3, 10, 4, Constant, 0.0, 1.0),
            (0, 11, 0, Cosine, 0.0, 1.0),
            (5, 11, 0, Cosine, 0.0, 0.5),
            (10, 11, 0, Cosine, 0.0, 0.0),
            (10, 11, 0, Cosine, 0.1, 0.1),
            (5, 11, 0, Cosine, 0.1, 0.55),
            (2, 7, 2, Cosine, 0.0, 1.0),
            (6, 7, 2, Cosine, 0.0, 0.0),
            (50, 7, 2, Cosine, 0.0, 0.0),
            (0, 1, 0, Cosine, 0.0, 1.0),
        ];
        for (step, total, warmup, kind, min_ratio, want) in cases {
            let got = lr_at(step, total, 1.0, warmup, kind, min_ratio);
            assert!((got - want).abs() < 1e-12, "{step}/{total} w{warmup} {kind:?}: {got}");
        }
    }
}
