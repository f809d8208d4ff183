//! Checkpoints: everything needed to continue a run bit-identically.
//!
//! Layout (`RUN_DIR/checkpoints/`):
//!
//! ```text
//! step-00000010/model.safetensors      policy weights, named as the model's variables
//! step-00000010/optimizer.safetensors  AdamW moments (m.<name>, v.<name>)
//! step-00000010/reference.safetensors  frozen reference policy (only with the KL term)
//! step-00000010/state.json             step, optimizer steps, RNG, data cursors
//! step-00000010/config.toml            the resolved config of the run
//! latest                               name of the newest complete checkpoint
//! ```
//!
//! A checkpoint is written into a hidden temporary directory, every file is
//! fsynced, then the directory is renamed into place and `latest` replaced
//! atomically: a crash leaves either the old or the new checkpoint, never a
//! torn one.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use candle_core::{Tensor, Var};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::Cursor;
use crate::error::{Error, Result};
use crate::optim::AdamW;

/// Saved state of the trainer's ChaCha8 generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// Stream number.
    pub stream: u64,
    /// Word position (a u128, as a decimal string: JSON numbers are f64).
    pub word_pos: String,
}

impl RngState {
    /// Captures the generator's exact position.
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        let seed = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        RngState { seed, stream: rng.get_stream(), word_pos: rng.get_word_pos().to_string() }
    }

    /// Rebuilds the generator at the captured position.
    pub fn restore(&self) -> Result<ChaCha8Rng> {
        use rand::SeedableRng;
        let bad = || Error::Invalid(format!("bad RNG state {self:?}"));
        if self.seed.len() != 64 {
            return Err(bad());
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse::<u128>().map_err(|_| bad())?);
        Ok(rng)
    }
}

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Training steps completed.
    pub step: usize,
    /// AdamW updates taken (mu per step, minus skipped ones).
    pub optimizer_steps: usize,
    /// Consecutive non-finite steps at save time.
    pub bad_streak: usize,
    /// The trainer's RNG.
    pub rng: RngState,
    /// Data stream position for each N.
    pub data: Vec<Cursor>,
}

fn save_tensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    candle_core::safetensors::save(tensors, path)?;
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io(path, e))
}

/// Policy weights file in a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// Reference policy weights file (KL term only).
pub const REFERENCE_FILE: &str = "reference.safetensors";

fn named_tensors(vars: &[(String, Var)]) -> HashMap<String, Tensor> {
    vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().detach())).collect()
}

/// Name of the checkpoint directory of `step`.
pub fn dir_name(step: usize) -> String {
    format!("step-{step:08}")
}

/// Everything a checkpoint holds, borrowed from the trainer.
pub struct Snapshot<'a> {
    /// `state.json`.
    pub state: &'a TrainState,
    /// The policy's variables.
    pub weights: &'a [(String, Var)],
    /// The optimizer.
    pub optimizer: &'a AdamW,
    /// The frozen reference policy's variables, when the KL term is on.
    pub reference: Option<&'a [(String, Var)]>,
    /// The resolved config (TOML text).
    pub config_toml: &'a str,
}

/// Saves a checkpoint under `run_dir/checkpoints` and points `latest` at
/// it; keeps the newest `keep` checkpoints (0 = all). Returns its directory.
pub fn save(run_dir: &Path, snap: &Snapshot, keep: usize) -> Result<PathBuf> {
    let root = run_dir.join("checkpoints");
    fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    let name = dir_name(snap.state.step);
    let dir = root.join(&name);
    bcr_core::run::replace_dir(&dir, |tmp| -> Result<()> {
        save_tensors(&tmp.join(MODEL_FILE), &named_tensors(snap.weights))?;
        if let Some(reference) = snap.reference {
            save_tensors(&tmp.join(REFERENCE_FILE), &named_tensors(reference))?;
        }
        save_tensors(&tmp.join("optimizer.safetensors"), &snap.optimizer.state_tensors())?;
        let state = serde_json::to_string_pretty(snap.state).map_err(|e| Error::Invalid(e.to_string()))?;
        bcr_core::run::write_atomic(&tmp.join("state.json"), state.as_bytes())?;
        Ok(bcr_core::run::write_atomic(&tmp.join("config.toml"), snap.config_toml.as_bytes())?)
    })?;
    bcr_core::run::write_atomic(&root.join("latest"), name.as_bytes())?;
    prune(&root, keep)?;
    Ok(dir)
}

fn prune(root: &Path, keep: usize) -> Result<()> {
    if keep == 0 {
        return Ok(());
    }
    let mut dirs: Vec<String> = fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("step-"))
        .collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(keep);
    for old in &dirs[..excess] {
        let p = root.join(old);
        fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

/// The newest complete checkpoint of a run, if any.
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>> {
    let path = run_dir.join("checkpoints").join("latest");
    match fs::read_to_string(&path) {
        Ok(name) => Ok(Some(run_dir.join("checkpoints").join(name.trim()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads `state.json` of a checkpoint.
pub fn load_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join("state.json");
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint { path, message: e.to_string() })
}

fn load_tensors(path: &Path, device: &candle_core::Device) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load(path, device)
        .map_err(|e| Error::Checkpoint { path: path.to_path_buf(), message: e.to_string() })
}

/// Copies the weights saved in `dir/file` ([`MODEL_FILE`] or
/// [`REFERENCE_FILE`]) into `vars` (names and shapes must match).
pub fn load_weights(dir: &Path, file: &str, vars: &[(String, Var)]) -> Result<()> {
    let path = dir.join(file);
    let Some((_, first)) = vars.first() else {
        return Ok(());
    };
    let tensors = load_tensors(&path, first.device())?;
    for (name, var) in vars {
        let t = tensors.get(name).ok_or_else(|| Error::Checkpoint {
            path: path.clone(),
            message: format!("no tensor `{name}` (the model has {} variables)", vars.len()),
        })?;
        if t.dims() != var.dims() {
            return Err(Error::Checkpoint {
                path: path.clone(),
                message: format!("tensor `{name}` has shape {:?}, the model needs {:?}", t.dims(), var.dims()),
            });
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

/// Restores the optimizer's moments and step count.
pub fn load_optimizer(dir: &Path, opt: &mut AdamW, steps: usize) -> Result<()> {
    let path = dir.join("optimizer.safetensors");
    let device = match opt.params().first() {
        Some((_, v)) => v.device().clone(),
        None => return Ok(()),
    };
    let tensors = load_tensors(&path, &device)?;
    opt.load_state(&tensors, steps).map_err(|e| Error::Checkpoint { path, message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::AdamParams;
    use candle_core::Device;
    use rand::{RngCore, SeedableRng};

    #[test]
    fn rng_round_trip() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..13 {
            rng.next_u32();
        }
        let mut back = RngState::capture(&rng).restore().unwrap();
        assert_eq!(rng.next_u64(), back.next_u64());
        let bad = RngState { seed: "zz".into(), stream: 0, word_pos: "0".into() };
        assert!(bad.restore().is_err());
    }

    #[test]
    fn save_load_prune() {
        let dir = tempfile::tempdir().unwrap();
        let w = Var::from_tensor(&Tensor::new(&[[1.0f32, 2.0]], &Device::Cpu).unwrap()).unwrap();
        let vars = vec![("layer.w".to_string(), w.clone())];
        let hp = AdamParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let mut opt = AdamW::new(vars.clone(), hp).unwrap();
        opt.step(&[Tensor::new(&[[1.0f32, -1.0]], &Device::Cpu).unwrap()], 0.1).unwrap();
        let rng = ChaCha8Rng::seed_from_u64(1);
        for step in 1..=3 {
            let state = TrainState {
                step,
                optimizer_steps: 1,
                bad_streak: 0,
                rng: RngState::capture(&rng),
                data: vec![Cursor { n: 3, epoch: 0, next: step }],
            };
            let snap =
                Snapshot { state: &state, weights: &vars, optimizer: &opt, reference: None, config_toml: "x = 1\n" };
            save(dir.path(), &snap, 2).unwrap();
        }
        let last = latest(dir.path()).unwrap().unwrap();
        assert!(last.ends_with("step-00000003"));
        let names: Vec<_> =
            fs::read_dir(dir.path().join("checkpoints")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "{names:?}"); // two checkpoints + latest
        assert_eq!(load_state(&last).unwrap().data[0].next, 3);

        let saved = w.as_tensor().to_vec2::<f32>().unwrap();
        w.set(&Tensor::new(&[[0.0f32, 0.0]], &Device::Cpu).unwrap()).unwrap();
        load_weights(&last, MODEL_FILE, &vars).unwrap();
        assert_eq!(w.as_tensor().to_vec2::<f32>().unwrap(), saved);
        let mut fresh = AdamW::new(vars.clone(), hp).unwrap();
        load_optimizer(&last, &mut fresh, 1).unwrap();
        assert_eq!(fresh.steps(), 1);

        let other = vec![("layer.b".to_string(), w)];
        let err = load_weights(&last, MODEL_FILE, &other).unwrap_err().to_string();
        assert!(err.contains("layer.b"), "{err}");
        assert!(latest(&dir.path().join("nothing")).unwrap().is_none());
    }
}
