//! Test-only code: a tiny policy whose gradients can be checked by hand
//! ([`tiny`]), and the end-to-end evidence that the trainer is right and
//! learns, on that policy ([`proof`]) and on the real transformer
//! ([`proof_model`]). Compiled only for `cargo test`.

pub(crate) mod proof;
pub(crate) mod proof_model;
pub(crate) mod tiny;

/// The per-step mean rewards of a finished run, from its `metrics.jsonl`.
pub(crate) fn reward_curve(run_dir: &std::path::Path) -> Vec<f64> {
    let metrics: Vec<crate::metrics::StepMetrics> =
        bcr_core::run::read_jsonl(&run_dir.join("metrics.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    metrics.iter().map(|m| m.reward_mean).collect()
}
