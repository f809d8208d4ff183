//! `bcr-model`: decoder-only transformers (Llama, Qwen2, Qwen3) on candle
//! for Batched Contextual Reinforcement (Yang et al., arXiv 2604.02322):
//! the policy that rolls out packs of N problems and the log-probs its GRPO
//! update differentiates.
//!
//! # The model core (exact signatures)
//!
//! ```text
//! ModelConfig::from_file(path: &Path) -> Result<ModelConfig>       // HF config.json keys
//! ModelConfig::from_json_str(text: &str, origin: &Path) -> Result<ModelConfig>
//! cfg.head_dim (field) / cfg.num_kv_groups() / cfg.arch() -> Arch {Llama, Qwen2, Qwen3} / cfg.rope_inv_freq()
//!
//! CausalLm::new(cfg: &ModelConfig, vb: VarBuilder) -> Result<CausalLm>
//!     // HF tensor names under vb: model.embed_tokens.weight,
//!     // model.layers.{i}.self_attn.{q,k,v,o}_proj.{weight,bias},
//!     // model.layers.{i}.self_attn.{q,k}_norm.weight (Qwen3),
//!     // model.layers.{i}.{input,post_attention}_layernorm.weight,
//!     // model.layers.{i}.mlp.{gate,up,down}_proj.weight, model.norm.weight,
//!     // lm_head.weight (absent when tie_word_embeddings).
//! CausalLm::expected_tensors(cfg) -> Vec<(String, Vec<usize>)>  // for checks
//! lm.forward(input_ids: &Tensor /*(b,t) u32*/, positions: &[usize] /*start per row*/,
//!            cache: Option<&mut KvCache>) -> Result<Tensor /*(b,t,vocab) f32*/>
//! lm.forward_rows(input_ids: &Tensor, rows: &[RowSpan], cache: Option<&mut KvCache>)
//!     -> Result<Tensor>       // ragged batches: left and/or right padding
//! lm.hidden_rows(input_ids, rows, cache) -> (b,t,d) ; lm.logits(&hidden) -> (..,vocab)
//! RowSpan { start_pos, left_pad, len }   // RowSpan::dense(start, t), RowSpan::left_padded(len, t)
//! KvCache::new(cfg.num_hidden_layers) ; cache.seq_len() ; cache.row_lens() ;
//! cache.select_rows(&[usize]) -> Result<()> // drop finished rows
//!
//! init_varmap(cfg, &InitOptions {seed, std, perturb_norms_and_biases, dtype, device}) -> Result<VarMap>
//!     // seeded weights; CausalLm::new(cfg, VarBuilder::from_varmap(&vm, dtype, &device))
//! load_hf_dir(dir: &Path, &HfLoadOptions {device, dtype}) -> Result<(ModelConfig, CausalLm)>
//! resolve_hub(repo_id: &str) -> Result<PathBuf>   // HF_HOME / HF_HUB_OFFLINE respected
//! check_tensors(cfg, &HashMap<String, Vec<usize>> /*name -> shape*/, source) -> Result<()>
//!
//! completion_logprobs(&lm, &[SeqPair {prompt, completion}], &LogprobOptions
//!                     {micro_batch, grad: Grad::{Track, Detached}}) -> Result<CompletionLogprobs>
//!     // -> CompletionLogprobs { logprobs (b, t_c) f32 [graph when Track], mask (b, t_c) f32 }
//! full_logits(&lm, &[Vec<u32>]) -> Result<(Tensor /*(b,t,vocab), right-padded*/, Vec<usize> /*lens*/)>
//! ```
//!
//! `forward` with a cache appends the new keys and values (detached, so the
//! graph of earlier calls is not kept alive) and attends to everything cached
//! before. Positions are per row: row `i`, column `j` is rotated by
//! `positions[i] + j`, so rows of different lengths decode together.
//!
//! Every op on the training path is differentiable (compositions or custom
//! ops with their own backward, see `ops`); candle's fused `softmax_last_dim`,
//! `rms_norm` and `rope` return no gradient and are not used there.
#![deny(missing_docs)]

mod arch;
mod device;
mod error;
mod generate;
mod kernels;
mod load;

pub use arch::cache::{KvCache, RowSpan};
pub use arch::config::{Arch, ModelConfig, RopeScaling};
pub use arch::decoder::CausalLm;
pub use arch::init::{init_varmap, InitOptions};
pub use arch::ops;
pub use candle_core::{DType, Device, Tensor};
pub use candle_nn::{VarBuilder, VarMap};
pub use device::{device_index, device_name, parse_device, parse_dtype, tune_cpu_threads, WeightDtype};
pub use error::{Error, Result};
pub use generate::logprobs::{completion_logprobs, full_logits, CompletionLogprobs, Grad, LogprobOptions, SeqPair};
pub use generate::sampling::{self, row_seed, SamplingConfig};
pub use generate::{generate, generate_with_stats, Admit, Engine, FinishReason, GenerateStats, Generation};
pub use load::gguf::{load_gguf, GgmlType, GgufFile};
pub use load::hf::{check_tensors, load_hf_dir, resolve_hub, safetensors_files, HfLoadOptions};
pub use load::model::{Checkpoint, LoadOptions, Model, ModelSource};
pub use load::tokenizer::{GenerationDefaults, Tokenizer};
