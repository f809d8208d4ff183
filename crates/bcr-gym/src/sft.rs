//! Supervised warm start of the tiny model (`bcr sft`): build the corpus
//! ([`crate::corpus`]), train the tokenizer on it, draw seeded weights,
//! then minimise next-token cross-entropy on the response tokens only,
//! `L = -sum(mask * log p(y_t | x, y_<t)) / sum(mask)`, over batches of
//! `(b, t_c)` completions with AdamW and a cosine schedule. The output is
//! a Hugging Face directory: `config.json`, `model.safetensors` (written
//! atomically, also every `save_every` steps), `tokenizer.json`,
//! `tokenizer_config.json`, `generation_config.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bcr_model::{completion_logprobs, init_varmap, CausalLm, Grad, InitOptions, LogprobOptions, ModelConfig, SeqPair};
use bcr_rl::optim::{clip_global_norm, AdamParams, AdamW};
use bcr_rl::schedule::lr_at;
use bcr_rl::ScheduleKind;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::corpus::{build_examples, VerbosityMix};
use crate::error::{require_nonzero, Error, Result};
use crate::tiny::{write_model_config, TinySpec};
use crate::tokenizer::{save_tokenizer_dir, train_tokenizer};

/// `[data]`: the SFT corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Number of examples (packs).
    pub examples: usize,
    /// Pack sizes N, drawn uniformly per example (repeat a size to weight it).
    pub pack_sizes: Vec<usize>,
    /// Highest task difficulty (1..=5) in the corpus.
    pub max_difficulty: u8,
    /// Verbosity weights.
    pub verbosity: VerbosityMix,
    /// Tokenizer vocabulary size (specials included).
    pub vocab_size: usize,
    /// Examples longer than this many tokens (prompt + response) are skipped.
    pub max_seq_len: usize,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            examples: 4000,
            pack_sizes: vec![1, 2, 3],
            max_difficulty: crate::tasks::MAX_DIFFICULTY,
            verbosity: VerbosityMix::default(),
            vocab_size: 512,
            max_seq_len: 768,
        }
    }
}

/// `[train]`: optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    /// Optimizer steps.
    pub steps: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Final lr as a fraction of the peak (cosine).
    pub min_lr_ratio: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip (0 = off).
    pub grad_clip: f64,
    /// Std of the initial weights.
    pub init_std: f64,
    /// Seed of the corpus, the weights and the batch order.
    pub seed: u64,
    /// Write the weights every this many steps (0 = only at the end).
    pub save_every: usize,
    /// Where training runs: `cpu` or `cuda:K` (a build with `--features cuda`).
    pub device: String,
    /// Continue from this HF model directory (a gym model: its tokenizer,
    /// config and weights; `[model]` and the tokenizer training are then
    /// skipped). Empty: start from seeded random weights.
    pub init: String,
}

impl Default for TrainSpec {
    fn default() -> Self {
        TrainSpec {
            steps: 400,
            batch_size: 8,
            lr: 4e-3,
            warmup_steps: 20,
            min_lr_ratio: 0.1,
            weight_decay: 0.01,
            grad_clip: 1.0,
            init_std: 0.02,
            seed: 0,
            save_every: 25,
            device: "cpu".to_string(),
            init: String::new(),
        }
    }
}

/// The whole `configs/demo-sft.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftConfig {
    /// Output directory (an HF model directory).
    pub output: PathBuf,
    /// Model shape.
    pub model: TinySpec,
    /// Corpus.
    pub data: DataSpec,
    /// Optimisation.
    pub train: TrainSpec,
}

impl SftConfig {
    /// Parses TOML text; `file` names the source in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self> {
        let cfg: SftConfig = bcr_core::parse_toml(text, file)?;
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Reads `path`, applies `--set` overrides (strict), and validates.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self> {
        let cfg: SftConfig = bcr_core::load_toml(path, sets)?;
        cfg.validate(&path.display().to_string())?;
        Ok(cfg)
    }

    /// Checks every value; errors name `file` and the field.
    pub fn validate(&self, file: &str) -> Result<()> {
        self.model.validate(file)?;
        self.data.verbosity.validate(file)?;
        let bad =
            |field: &str, message: String| Error::Config { file: file.to_string(), field: field.to_string(), message };
        if self.output.as_os_str().is_empty() {
            return Err(bad("output", "must be a directory path, found an empty string".into()));
        }
        bcr_model::device_index(&self.train.device).map_err(|e| bad("train.device", e.to_string()))?;
        require_nonzero(
            file,
            &[
                ("data.examples", self.data.examples),
                ("train.steps", self.train.steps),
                ("train.batch_size", self.train.batch_size),
                ("data.max_seq_len", self.data.max_seq_len),
            ],
        )?;
        if self.data.pack_sizes.is_empty() || self.data.pack_sizes.contains(&0) {
            return Err(bad(
                "data.pack_sizes",
                format!("must be non-empty sizes >= 1, found {:?}", self.data.pack_sizes),
            ));
        }
        if !(crate::tasks::MIN_DIFFICULTY..=crate::tasks::MAX_DIFFICULTY).contains(&self.data.max_difficulty) {
            return Err(bad("data.max_difficulty", format!("must be in 1..=5, found {}", self.data.max_difficulty)));
        }
        if self.data.max_seq_len > self.model.max_position_embeddings {
            return Err(bad(
                "data.max_seq_len",
                format!(
                    "must be <= model.max_position_embeddings = {}, found {}",
                    self.model.max_position_embeddings, self.data.max_seq_len
                ),
            ));
        }
        for (field, v) in [("train.lr", self.train.lr), ("train.init_std", self.train.init_std)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(field, format!("must be finite and > 0, found {v}")));
            }
        }
        if !(0.0..=1.0).contains(&self.train.min_lr_ratio) {
            return Err(bad("train.min_lr_ratio", format!("must be in [0, 1], found {}", self.train.min_lr_ratio)));
        }
        Ok(())
    }
}

/// One optimizer step's numbers (for progress and the log).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepLog {
    /// 1-based step.
    pub step: usize,
    /// Mean cross-entropy per response token.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct SftOutcome {
    /// The HF directory written.
    pub dir: PathBuf,
    /// Every step's numbers.
    pub log: Vec<StepLog>,
    /// Parameter count.
    pub params: usize,
    /// Examples kept (after the length filter).
    pub examples: usize,
    /// Vocabulary size of the trained tokenizer.
    pub vocab_size: usize,
}

/// Runs SFT as configured, calling `on_step` after every step.
pub fn run_sft(cfg: &SftConfig, mut on_step: impl FnMut(&StepLog)) -> Result<SftOutcome> {
    let dir = cfg.output.clone();
    let d = &cfg.data;
    let examples = build_examples(d.examples, &d.pack_sizes, d.max_difficulty, &d.verbosity, cfg.train.seed)?;
    let init = Some(Path::new(&cfg.train.init)).filter(|p| !p.as_os_str().is_empty());
    let tk = match init {
        Some(from) => start_from(from, &dir)?,
        None => {
            let corpus: Vec<String> = examples.iter().map(|e| format!("{}{}", e.prompt, e.response)).collect();
            let tk = train_tokenizer(&corpus, cfg.data.vocab_size)?;
            save_tokenizer_dir(&tk, &dir)?;
            write_model_config(&cfg.model, tk.get_vocab_size(true), &dir)?;
            tk
        }
    };
    let vocab = tk.get_vocab_size(true);
    let mcfg = ModelConfig::from_file(&dir.join("config.json"))?;
    let pairs = encode_pairs(&examples, &tk, cfg.data.max_seq_len)?;
    let device = bcr_model::parse_device(&cfg.train.device).map_err(|e| Error::Config {
        file: "sft config".into(),
        field: "train.device".into(),
        message: e.to_string(),
    })?;
    let varmap = initial_weights(cfg, &mcfg, init, &device)?;
    let lm = CausalLm::new(&mcfg, VarBuilder::from_varmap(&varmap, DType::F32, &device))?;
    let params = named_vars(&varmap);
    let n_params = params.iter().map(|(_, v)| v.elem_count()).sum();
    let hp = AdamParams { beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: cfg.train.weight_decay };
    let mut opt = AdamW::new(params, hp)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train.seed ^ 0xba7c);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut cursor = order.len();
    let mut log = Vec::with_capacity(cfg.train.steps);
    for step in 0..cfg.train.steps {
        let mut batch = Vec::with_capacity(cfg.train.batch_size);
        while batch.len() < cfg.train.batch_size.min(pairs.len()) {
            if cursor == order.len() {
                shuffle_in_length_buckets(&mut order, &pairs, cfg.train.batch_size, &mut rng);
                cursor = 0;
            }
            batch.push(pairs[order[cursor]].clone());
            cursor += 1;
        }
        let lr = lr_at(
            step,
            cfg.train.steps,
            cfg.train.lr,
            cfg.train.warmup_steps,
            ScheduleKind::Cosine,
            cfg.train.min_lr_ratio,
        );
        let (loss, grad_norm) = sft_step(&lm, &mut opt, &batch, lr, cfg.train.grad_clip)?;
        let entry = StepLog { step: step + 1, loss, lr, grad_norm };
        on_step(&entry);
        log.push(entry);
        let save_now = cfg.train.save_every > 0 && (step + 1) % cfg.train.save_every == 0;
        if save_now && step + 1 < cfg.train.steps {
            save_weights(&varmap, &dir)?;
        }
    }
    save_weights(&varmap, &dir)?;
    Ok(SftOutcome { dir, log, params: n_params, examples: pairs.len(), vocab_size: vocab })
}

/// The examples as (prompt, completion) token ids, without those longer than `max_len`.
fn encode_pairs(
    examples: &[crate::corpus::Example],
    tk: &tokenizers::Tokenizer,
    max_len: usize,
) -> Result<Vec<SeqPair>> {
    let enc = |s: &str| -> Result<Vec<u32>> {
        Ok(tk.encode(s, false).map_err(|e| Error::Tokenizer(e.to_string()))?.get_ids().to_vec())
    };
    let mut pairs = Vec::with_capacity(examples.len());
    for e in examples {
        let pair = SeqPair { prompt: enc(&e.prompt)?, completion: enc(&e.response)? };
        if pair.prompt.len() + pair.completion.len() <= max_len {
            pairs.push(pair);
        }
    }
    if pairs.is_empty() {
        return Err(Error::Config {
            file: "sft config".into(),
            field: "data.max_seq_len".into(),
            message: format!("no example fits in {max_len} tokens"),
        });
    }
    Ok(pairs)
}

/// Seeded weights, or those of `train.init` when given.
fn initial_weights(cfg: &SftConfig, mcfg: &ModelConfig, init: Option<&Path>, device: &Device) -> Result<VarMap> {
    let opts =
        InitOptions { seed: cfg.train.seed, std: cfg.train.init_std, device: device.clone(), ..InitOptions::default() };
    let mut varmap = init_varmap(mcfg, &opts)?;
    if let Some(from) = init {
        let weights = from.join("model.safetensors");
        varmap.load(&weights).map_err(|e| Error::Config {
            file: "sft config".into(),
            field: "train.init".into(),
            message: format!("{}: {e}", weights.display()),
        })?;
    }
    Ok(varmap)
}

/// The tokenizer of the gym model in `from`, with its HF files copied into
/// `dir` (when they differ) so that the output is a complete model directory.
fn start_from(from: &Path, dir: &Path) -> Result<tokenizers::Tokenizer> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    if std::fs::canonicalize(from).ok() != std::fs::canonicalize(dir).ok() {
        for name in crate::tiny::HF_FILES {
            let src = from.join(name);
            std::fs::copy(&src, dir.join(name)).map_err(|e| Error::io(&src, e))?;
        }
    }
    let path = from.join("tokenizer.json");
    tokenizers::Tokenizer::from_file(&path).map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
}

/// Shuffles `order`, then sorts each window of 8 batches by sequence length
/// and shuffles the batches within the window: every batch is drawn from
/// examples of similar length, so padding to the longest row (packs of 1 to
/// 8 problems differ by up to 10x in length) wastes little compute, while
/// the data order stays random at the scale of a few batches.
fn shuffle_in_length_buckets(order: &mut [usize], pairs: &[SeqPair], batch: usize, rng: &mut ChaCha8Rng) {
    order.shuffle(rng);
    let len = |i: usize| pairs[i].prompt.len() + pairs[i].completion.len();
    for window in order.chunks_mut(batch.max(1) * 8) {
        window.sort_by_key(|&i| len(i));
        let mut batches: Vec<Vec<usize>> = window.chunks(batch.max(1)).map(<[usize]>::to_vec).collect();
        batches.shuffle(rng);
        for (slot, i) in window.iter_mut().zip(batches.into_iter().flatten()) {
            *slot = i;
        }
    }
}

/// The variables of `varmap`, sorted by name (a deterministic order).
fn named_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// One step of response-only cross-entropy. Returns (loss, grad norm).
fn sft_step(lm: &CausalLm, opt: &mut AdamW, batch: &[SeqPair], lr: f64, clip: f64) -> Result<(f64, f64)> {
    let lp = completion_logprobs(lm, batch, &LogprobOptions { micro_batch: batch.len(), grad: Grad::Track })?;
    let tokens = lp.mask.sum_all()?;
    let loss = (lp.logprobs.mul(&lp.mask)?.sum_all()?.neg()? / tokens.to_scalar::<f32>()? as f64)?;
    let store = loss.backward()?;
    let mut grads = opt
        .params()
        .iter()
        .map(|(_, v)| match store.get(v.as_tensor()) {
            Some(g) => Ok(g.clone()),
            None => v.as_tensor().zeros_like(),
        })
        .collect::<candle_core::Result<Vec<Tensor>>>()?;
    let norm = clip_global_norm(&mut grads, clip)?;
    opt.step(&grads, lr)?;
    Ok((f64::from(loss.to_scalar::<f32>()?), norm))
}

/// Writes `model.safetensors` atomically (temp file, then rename).
pub fn save_weights(varmap: &VarMap, dir: &Path) -> Result<()> {
    let tensors: HashMap<String, Tensor> =
        named_vars(varmap).into_iter().map(|(k, v)| (k, v.as_tensor().clone())).collect();
    let tmp = dir.join("model.safetensors.tmp");
    candle_core::safetensors::save(&tensors, &tmp)?;
    let path = dir.join("model.safetensors");
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(dir: &Path) -> SftConfig {
        SftConfig {
            output: dir.to_path_buf(),
            model: TinySpec::for_tests(),
            data: DataSpec {
                examples: 40,
                pack_sizes: vec![1],
                vocab_size: 300,
                max_seq_len: 512,
                ..DataSpec::default()
            },
            train: TrainSpec {
                steps: 12,
                batch_size: 4,
                lr: 1e-2,
                warmup_steps: 0,
                save_every: 5,
                ..TrainSpec::default()
            },
        }
    }

    #[test]
    fn loss_decreases_and_the_directory_loads() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_sft(&small(dir.path()), |_| {}).unwrap();
        let first = out.log[0].loss;
        let last = out.log.last().unwrap().loss;
        assert!(first.is_finite() && last < first * 0.8, "loss {first} -> {last}");
        let spec = dir.path().to_string_lossy().to_string();
        let model = bcr_model::Model::load(&spec, &bcr_model::LoadOptions::default()).unwrap();
        assert_eq!(model.tokenizer.eos_token_ids(), &[0]);
        let prompt = model
            .tokenizer
            .apply_chat_template(&[bcr_core::ChatMessage::new("user", "Solve 2x + 1 = 5.")], true)
            .unwrap();
        assert!(prompt.ends_with("<|assistant|>\n"), "{prompt}");
        assert!(!dir.path().join("model.safetensors.tmp").exists());
    }

    #[test]
    fn config_errors_name_file_and_field() {
        let cases = [
            ("output = \"x\"\n[train]\nsteps = 0\n", "train.steps"),
            ("output = \"x\"\n[train]\nlr = -1.0\n", "train.lr"),
            ("output = \"x\"\n[model]\nhidden = 3\n", "hidden"),
            ("output = \"x\"\n[data]\nmax_seq_len = 99999\n", "data.max_seq_len"),
            ("[train]\nsteps = 3\n", "output"),
            ("output = \"x\"\n[data]\npack_sizes = [1, 0]\n", "data.pack_sizes"),
        ];
        for (text, needle) in cases {
            let err = SftConfig::from_toml(text, "demo-sft.toml").unwrap_err().to_string();
            assert!(err.contains("demo-sft.toml") && err.contains(needle), "{text:?}: {err}");
        }
    }
}
