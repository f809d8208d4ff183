//! Value checks of a parsed [`TrainConfig`]: each failure names the dotted
//! key, the value found and the allowed range.

use crate::config::TrainConfig;
use crate::error::{Error, Result};

fn bad(key: &str, message: String) -> Error {
    Error::config(format!("config key {key}"), message)
}

fn positive(key: &str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(bad(key, "must be at least 1, found 0".into()));
    }
    Ok(())
}

fn in_range(key: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !(v.is_finite() && v >= lo && v <= hi) {
        return Err(bad(key, format!("must be in [{lo}, {hi}], found {v}")));
    }
    Ok(())
}

/// Checks every value of `c`.
pub fn check(c: &TrainConfig) -> Result<()> {
    check_model_data(c)?;
    let r = &c.rollout;
    if r.group_size < 2 {
        return Err(bad(
            "rollout.group_size",
            format!("GRPO compares responses within a group: need at least 2, found {}", r.group_size),
        ));
    }
    positive("rollout.packs_per_step", r.packs_per_step)?;
    if !(r.temperature.is_finite() && r.temperature > 0.0) {
        return Err(bad("rollout.temperature", format!("must be > 0, found {}", r.temperature)));
    }
    in_range("rollout.top_p", r.top_p, f64::MIN_POSITIVE, 1.0)?;
    in_range("reward.format_weight", c.reward.format_weight, 0.0, 1e6)?;
    in_range("reward.length_penalty", c.reward.length_penalty, 0.0, 1e6)?;
    if c.reward.label.trim().is_empty() {
        return Err(bad("reward.label", "must not be empty".into()));
    }
    check_algo(c)?;
    check_optim(c)?;
    positive("run.steps", c.run.steps)?;
    positive("run.max_bad_steps", c.run.max_bad_steps)?;
    if c.run.out_dir.trim().is_empty() {
        return Err(bad("run.out_dir", "must not be empty".into()));
    }
    Ok(())
}

fn check_model_data(c: &TrainConfig) -> Result<()> {
    if c.model.path.trim().is_empty() {
        return Err(bad("model.path", "must not be empty".into()));
    }
    if !matches!(c.model.dtype.as_str(), "f32" | "bf16" | "f16") {
        return Err(bad("model.dtype", format!("expected f32, bf16 or f16, found {:?}", c.model.dtype)));
    }
    bcr_model::device_index(&c.model.device).map_err(|e| bad("model.device", e.to_string()))?;
    if c.data.path.trim().is_empty() {
        return Err(bad("data.path", "must not be empty".into()));
    }
    if c.data.n.is_empty() || c.data.n.contains(&0) {
        return Err(bad("data.n", format!("need a non-empty list of N >= 1, found {:?}", c.data.n)));
    }
    positive("data.budget", c.data.budget)
}

fn check_algo(c: &TrainConfig) -> Result<()> {
    let a = &c.algo;
    in_range("algo.adv_eps", a.adv_eps, 0.0, 1.0)?;
    in_range("algo.clip_low", a.clip_low, 0.0, 1.0)?;
    in_range("algo.clip_high", a.clip_high, 0.0, 100.0)?;
    if a.dual_clip != 0.0 && !(a.dual_clip.is_finite() && a.dual_clip > 1.0) {
        return Err(bad("algo.dual_clip", format!("must be 0 (off) or > 1, found {}", a.dual_clip)));
    }
    in_range("algo.kl_coef", a.kl_coef, 0.0, 1e6)?;
    in_range("algo.entropy_coef", a.entropy_coef, -1e6, 1e6)?;
    positive("algo.epochs", a.epochs)
}

fn check_optim(c: &TrainConfig) -> Result<()> {
    let o = &c.optim;
    in_range("optim.lr", o.lr, 0.0, 10.0)?;
    in_range("optim.betas[0]", o.betas[0], 0.0, 0.999_999_9)?;
    in_range("optim.betas[1]", o.betas[1], 0.0, 0.999_999_9)?;
    if !(o.eps.is_finite() && o.eps > 0.0) {
        return Err(bad("optim.eps", format!("must be > 0, found {}", o.eps)));
    }
    in_range("optim.weight_decay", o.weight_decay, 0.0, 1.0)?;
    in_range("optim.min_lr_ratio", o.min_lr_ratio, 0.0, 1.0)?;
    in_range("optim.max_grad_norm", o.max_grad_norm, 0.0, 1e9)?;
    positive("optim.micro_batch", o.micro_batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        check(&TrainConfig::default()).unwrap();
    }

    #[test]
    fn each_bad_value_names_its_key() {
        type Edit = fn(&mut TrainConfig);
        let cases: &[(Edit, &str)] = &[
            (|c| c.rollout.group_size = 1, "rollout.group_size"),
            (|c| c.rollout.temperature = 0.0, "rollout.temperature"),
            (|c| c.rollout.top_p = 1.5, "rollout.top_p"),
            (|c| c.data.n = vec![], "data.n"),
            (|c| c.data.n = vec![3, 0], "data.n"),
            (|c| c.data.budget = 0, "data.budget"),
            (|c| c.model.dtype = "f64".into(), "model.dtype"),
            (|c| c.model.device = "gpu".into(), "model.device"),
            (|c| c.algo.clip_low = -0.1, "algo.clip_low"),
            (|c| c.algo.dual_clip = 0.5, "algo.dual_clip"),
            (|c| c.algo.epochs = 0, "algo.epochs"),
            (|c| c.optim.lr = f64::NAN, "optim.lr"),
            (|c| c.optim.betas = [0.9, 1.0], "optim.betas[1]"),
            (|c| c.optim.micro_batch = 0, "optim.micro_batch"),
            (|c| c.run.steps = 0, "run.steps"),
            (|c| c.reward.label = " ".into(), "reward.label"),
        ];
        for (edit, key) in cases {
            let mut c = TrainConfig::default();
            edit(&mut c);
            let msg = check(&c).unwrap_err().to_string();
            assert!(msg.contains(key), "{key}: {msg}");
        }
    }
}
