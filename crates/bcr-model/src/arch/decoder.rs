//! One decoder-only causal LM covering Llama, Qwen2 and Qwen3, in reading
//! order: rotary tables -> MLP -> attention -> decoder layer -> model ->
//! causal LM, plus the KV cache.
//!
//! # Forward contract
//!
//! ```text
//! CausalLm::forward(input_ids (b,t) u32, positions: &[usize] (b), cache) -> logits (b,t,V)
//! CausalLm::forward_rows(input_ids (b,t) u32, rows: &[RowSpan] (b), cache) -> logits (b,t,V)
//! ```
//!
//! Logits are f32 (f64 for an f64 model). `forward` treats every token as
//! real: row `i`, column `j` gets RoPE position `positions[i] + j`.
//! `forward_rows` describes each row of a ragged batch by a [`RowSpan`]:
//! `left_pad` padding columns, then `len` real tokens at positions
//! `start_pos, start_pos + 1, ...`, then right padding up to `t`. Padding
//! keys are masked out for every later query (also in the cache, for all
//! later calls); the logits at padding columns are meaningless.
//!
//! With a cache, the new keys and values are appended (detached: no graph is
//! kept alive between calls) and every query also attends to the valid
//! cached slots. Rows of one cache always advance together by `t` slots;
//! their real lengths differ by their padding. `KvCache::select_rows`
//! drops finished rows.
//!
//! Weights come through a `VarBuilder` with the Hugging Face names
//! (`model.layers.{i}.self_attn.q_proj.weight`, ...), so the same
//! constructor serves mmaped safetensors, dequantized GGUF tensors renamed
//! to HF names, and a `VarMap` for training.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::cache::{KvCache, RowSpan};
use super::config::{Arch, ModelConfig};
use super::weight::Weight;
use crate::error::{Error, Result};
use crate::kernels::attend::decode_attention;
use crate::ops::{attention_mask, grouped_attention, rms_norm, rope_heads, silu_mul, Rotary};

/// Quantised matrices by HF name (`model.layers.0.mlp.up_proj.weight`),
/// which take the place of the `VarBuilder`'s tensors of that name.
pub(crate) type QuantWeights = HashMap<String, Weight>;

/// Where the constructors find their tensors: the `VarBuilder`, and the
/// quantised matrices that replace some of its tensors.
#[derive(Clone)]
struct Source<'a> {
    vb: VarBuilder<'a>,
    quant: &'a QuantWeights,
}

impl Source<'_> {
    fn pp(&self, name: impl ToString) -> Self {
        Source { vb: self.vb.pp(name), quant: self.quant }
    }

    /// The matrix `(out, in)` named `weight` here: quantised if the file's
    /// blocks were kept, else the builder's tensor.
    fn matrix(&self, out: usize, inp: usize) -> Result<Weight> {
        match self.quant.get(&format!("{}.weight", self.vb.prefix())) {
            Some(w) => Ok(w.clone()),
            None => Ok(Weight::Dense(self.vb.get((out, inp), "weight")?)),
        }
    }
}

struct Attention {
    q: (Weight, Option<Tensor>),
    k: (Weight, Option<Tensor>),
    v: (Weight, Option<Tensor>),
    o: (Weight, Option<Tensor>),
    qk_norm: Option<(Tensor, Tensor)>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    eps: f64,
}

fn weight(src: &Source, out: usize, inp: usize, bias: bool) -> Result<(Weight, Option<Tensor>)> {
    let w = src.matrix(out, inp)?;
    let b = if bias { Some(src.vb.get(out, "bias")?) } else { None };
    Ok((w, b))
}

impl Attention {
    fn new(cfg: &ModelConfig, src: Source) -> Result<Self> {
        let vb = &src.vb;
        let (d, hd) = (cfg.hidden_size, cfg.head_dim);
        let (h, kv) = (cfg.num_attention_heads, cfg.num_key_value_heads);
        let qk_norm = match cfg.arch {
            Arch::Qwen3 => Some((vb.pp("q_norm").get(hd, "weight")?, vb.pp("k_norm").get(hd, "weight")?)),
            Arch::Llama | Arch::Qwen2 => None,
        };
        Ok(Attention {
            q: weight(&src.pp("q_proj"), h * hd, d, cfg.qkv_bias)?,
            k: weight(&src.pp("k_proj"), kv * hd, d, cfg.qkv_bias)?,
            v: weight(&src.pp("v_proj"), kv * hd, d, cfg.qkv_bias)?,
            o: weight(&src.pp("o_proj"), d, h * hd, cfg.o_bias)?,
            qk_norm,
            heads: h,
            kv_heads: kv,
            head_dim: hd,
            eps: cfg.rms_norm_eps,
        })
    }

    /// `x` `(b, t, d)` -> `(b, t, d)`.
    fn forward(&self, x: &Tensor, ctx: &StepCtx, cache: Option<(&mut KvCache, usize)>) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let hd = self.head_dim;
        let ws = [(&self.q.0, self.q.1.as_ref()), (&self.k.0, self.k.1.as_ref()), (&self.v.0, self.v.1.as_ref())];
        // Generation: the three projections in one pass of the decode kernel.
        let proj = if cache.is_some() { Weight::linear_many(x, &ws)? } else { None };
        let [q, k, v] = match proj.map(<[Tensor; 3]>::try_from) {
            Some(Ok(qkv)) => qkv,
            _ => [ws[0].0.linear(x, ws[0].1)?, ws[1].0.linear(x, ws[1].1)?, ws[2].0.linear(x, ws[2].1)?],
        };
        let q = q.reshape((b, t, self.heads, hd))?;
        let k = k.reshape((b, t, self.kv_heads, hd))?;
        let v = v.reshape((b, t, self.kv_heads, hd))?;
        let (q, k) = match &self.qk_norm {
            Some((qn, kn)) => (rms_norm(&q, qn, self.eps)?, rms_norm(&k, kn, self.eps)?),
            None => (q, k),
        };
        let q = rope_heads(&q, &ctx.rot)?;
        let k = rope_heads(&k, &ctx.rot)?;
        let v = v.transpose(1, 2)?.contiguous()?;
        let cached = cache.is_some();
        let (k, v) = match cache {
            Some((c, layer)) => c.append(layer, &k, &v)?,
            None => (k, v),
        };
        let scale = 1.0 / (hd as f64).sqrt();
        // With a cache this is generation: decode steps take the fused kernel.
        let fused = if cached { decode_attention(&q, &k, &v, ctx.mask.as_ref(), scale)? } else { None };
        let y = match fused {
            Some(y) => y,
            None => grouped_attention(&q, &k, &v, ctx.mask.as_ref(), scale)?,
        };
        let y = y.transpose(1, 2)?.reshape((b, t, self.heads * hd))?;
        self.o.0.linear(&y, self.o.1.as_ref())
    }
}

struct Mlp {
    gate: Weight,
    up: Weight,
    down: Weight,
}

struct Layer {
    input_norm: Tensor,
    attn: Attention,
    post_norm: Tensor,
    mlp: Mlp,
}

impl Layer {
    fn new(cfg: &ModelConfig, src: Source) -> Result<Self> {
        let (d, m) = (cfg.hidden_size, cfg.intermediate_size);
        let (vb, mlp) = (&src.vb, src.pp("mlp"));
        Ok(Layer {
            input_norm: vb.pp("input_layernorm").get(d, "weight")?,
            attn: Attention::new(cfg, src.pp("self_attn"))?,
            post_norm: vb.pp("post_attention_layernorm").get(d, "weight")?,
            mlp: Mlp {
                gate: mlp.pp("gate_proj").matrix(m, d)?,
                up: mlp.pp("up_proj").matrix(m, d)?,
                down: mlp.pp("down_proj").matrix(d, m)?,
            },
        })
    }

    fn forward(&self, x: &Tensor, ctx: &StepCtx, cache: Option<(&mut KvCache, usize)>) -> Result<Tensor> {
        let eps = ctx.eps;
        let decoding = cache.is_some();
        let h = (x + self.attn.forward(&rms_norm(x, &self.input_norm, eps)?, ctx, cache)?)?;
        let n = rms_norm(&h, &self.post_norm, eps)?;
        let m = &self.mlp;
        // Generation: gate and up in one pass of the decode kernel.
        let gate_up = if decoding { Weight::linear_many(&n, &[(&m.gate, None), (&m.up, None)])? } else { None };
        let [g, u] = match gate_up.map(<[Tensor; 2]>::try_from) {
            Some(Ok(gu)) => gu,
            _ => [m.gate.linear(&n, None)?, m.up.linear(&n, None)?],
        };
        let y = m.down.linear(&silu_mul(&g, &u)?, None)?;
        Ok((&h + y)?)
    }
}

/// What the loaders do after building a model for inference: a bf16 model
/// on the CPU computes in f32 ([`CausalLm::with_f32_activations`]), unless
/// `BCR_CPU_BF16_ACTIVATIONS=1` asks for candle's all-bf16 path.
pub(crate) fn for_inference(lm: CausalLm) -> Result<CausalLm> {
    let all_bf16 = std::env::var("BCR_CPU_BF16_ACTIVATIONS").is_ok_and(|v| v == "1");
    if lm.device().is_cpu() && lm.dtype() == DType::BF16 && !all_bf16 {
        return lm.with_f32_activations();
    }
    Ok(lm)
}

/// Per-call tensors shared by every layer.
struct StepCtx {
    rot: Rotary,
    mask: Option<Tensor>,
    eps: f64,
}

/// What a decode step reads: a vector or a matrix.
enum Read<'a> {
    Tensor(&'a Tensor),
    Matrix(&'a Weight),
}

/// A decoder-only causal language model (Llama / Qwen2 / Qwen3).
pub struct CausalLm {
    cfg: ModelConfig,
    embed: Weight,
    layers: Vec<Layer>,
    norm: Tensor,
    lm_head: Weight,
    inv_freq: Vec<f64>,
    rope_scale: f64,
    /// The dtype of the activations: the weights' own, or f32 after
    /// [`CausalLm::with_f32_activations`].
    compute: DType,
}

impl std::fmt::Debug for CausalLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CausalLm")
            .field("arch", &self.cfg.arch)
            .field("layers", &self.layers.len())
            .field("hidden_size", &self.cfg.hidden_size)
            .field("vocab_size", &self.cfg.vocab_size)
            .field("dtype", &self.dtype())
            .field("compute_dtype", &self.compute)
            .finish()
    }
}

impl CausalLm {
    /// Build the model from `vb` (HF tensor names, see the module doc).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        Self::with_quantised(cfg, vb, &QuantWeights::new())
    }

    /// [`CausalLm::new`] with some matrices (by HF name) kept as a GGUF
    /// file's quantised blocks, for inference: activations are f32.
    pub(crate) fn with_quantised(cfg: &ModelConfig, vb: VarBuilder, quant: &QuantWeights) -> Result<Self> {
        let (v, d) = (cfg.vocab_size, cfg.hidden_size);
        let src = Source { vb, quant };
        let model = src.pp("model");
        let embed = model.pp("embed_tokens").matrix(v, d)?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::new(cfg, model.pp("layers").pp(i)))
            .collect::<Result<Vec<_>>>()?;
        let norm = model.vb.pp("norm").get(d, "weight")?;
        let lm_head = if cfg.tie_word_embeddings { embed.clone() } else { src.pp("lm_head").matrix(v, d)? };
        let (inv_freq, rope_scale) = cfg.rope_inv_freq();
        let compute = embed.dtype();
        Ok(CausalLm { cfg: cfg.clone(), embed, layers, norm, lm_head, inv_freq, rope_scale, compute })
    }

    /// Every tensor `new` reads, with its shape, in HF names.
    pub fn expected_tensors(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
        let (v, d, m, hd) = (cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size, cfg.head_dim);
        let (qd, kvd) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
        let mut out = vec![("model.embed_tokens.weight".to_string(), vec![v, d])];
        for i in 0..cfg.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let mut push = |name: &str, shape: Vec<usize>| out.push((format!("{p}.{name}"), shape));
            push("input_layernorm.weight", vec![d]);
            push("post_attention_layernorm.weight", vec![d]);
            for (name, rows) in [("q_proj", qd), ("k_proj", kvd), ("v_proj", kvd)] {
                push(&format!("self_attn.{name}.weight"), vec![rows, d]);
                if cfg.qkv_bias {
                    push(&format!("self_attn.{name}.bias"), vec![rows]);
                }
            }
            push("self_attn.o_proj.weight", vec![d, qd]);
            if cfg.o_bias {
                push("self_attn.o_proj.bias", vec![d]);
            }
            if cfg.arch == Arch::Qwen3 {
                push("self_attn.q_norm.weight", vec![hd]);
                push("self_attn.k_norm.weight", vec![hd]);
            }
            push("mlp.gate_proj.weight", vec![m, d]);
            push("mlp.up_proj.weight", vec![m, d]);
            push("mlp.down_proj.weight", vec![d, m]);
        }
        out.push(("model.norm.weight".to_string(), vec![d]));
        if !cfg.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![v, d]));
        }
        out
    }

    /// The tensors one decode step reads in full, in the order it reads
    /// them: every layer's norms and projections (with biases and q/k
    /// norms), the final norm and the output head (the embedding table
    /// only as a tied head: its input side reads one row per token). Their
    /// bytes are what bounds a batch-1 step by memory bandwidth.
    pub fn decode_weights(&self) -> Vec<&Tensor> {
        let reads = self.decode_reads().into_iter();
        reads
            .filter_map(|r| match r {
                Read::Tensor(t) => Some(t),
                Read::Matrix(w) => w.dense(),
            })
            .collect()
    }

    /// The bytes of the quantised matrices a decode step reads, in the
    /// order it reads them (empty for a dense model); with
    /// [`CausalLm::decode_weights`], everything a batch-1 step reads.
    pub fn decode_block_bytes(&self) -> Vec<&[u8]> {
        let reads = self.decode_reads().into_iter();
        reads
            .flat_map(|r| match r {
                Read::Tensor(_) => Vec::new(),
                Read::Matrix(w) => w.block_bytes(),
            })
            .collect()
    }

    fn decode_reads(&self) -> Vec<Read<'_>> {
        let mut out = Vec::new();
        for l in &self.layers {
            out.push(Read::Tensor(&l.input_norm));
            let a = &l.attn;
            for (w, b) in [&a.q, &a.k, &a.v] {
                out.push(Read::Matrix(w));
                out.extend(b.as_ref().map(Read::Tensor));
            }
            if let Some((qn, kn)) = &a.qk_norm {
                out.extend([Read::Tensor(qn), Read::Tensor(kn)]);
            }
            out.push(Read::Matrix(&a.o.0));
            out.extend(a.o.1.as_ref().map(Read::Tensor));
            out.push(Read::Tensor(&l.post_norm));
            out.extend([Read::Matrix(&l.mlp.gate), Read::Matrix(&l.mlp.up), Read::Matrix(&l.mlp.down)]);
        }
        out.extend([Read::Tensor(&self.norm), Read::Matrix(&self.lm_head)]);
        out
    }

    /// The config the model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        self.norm.device()
    }

    /// The dtype of the weights (f32 where a GGUF file's quantised blocks
    /// were kept: they compute in f32).
    pub fn dtype(&self) -> DType {
        self.embed.dtype()
    }

    /// Whether some matrices are a GGUF file's quantised blocks
    /// (`--dtype native`): inference only.
    pub fn is_quantised(&self) -> bool {
        let quantised = |w: &Weight| w.dense().is_none();
        quantised(&self.embed) || self.decode_reads().iter().any(|r| matches!(r, Read::Matrix(w) if quantised(w)))
    }

    /// The dtype of the activations (see [`CausalLm::with_f32_activations`]).
    pub fn compute_dtype(&self) -> DType {
        self.compute
    }

    /// Keeps the embedding and projection matrices as they are (bf16) and
    /// runs everything else in f32: norms, biases, RoPE, attention and the
    /// KV cache. This is how a bf16 model runs on the CPU ([`crate::Model`]
    /// and the loaders do it for `bf16` on `cpu`): candle's CPU bf16 ops
    /// convert element by element and were 2-5x slower than f32, while the
    /// bf16 decode kernel reads half the weight bytes of f32 and does twice
    /// the products per instruction; prompts run it 64 rows at a time. For
    /// inference: weights that are `Var`s would be copied here, and the
    /// copies not trained.
    pub fn with_f32_activations(mut self) -> Result<Self> {
        let f = |t: &Tensor| t.to_dtype(DType::F32);
        let fb = |b: &Option<Tensor>| b.as_ref().map(f).transpose();
        for l in &mut self.layers {
            l.input_norm = f(&l.input_norm)?;
            l.post_norm = f(&l.post_norm)?;
            let a = &mut l.attn;
            for p in [&mut a.q, &mut a.k, &mut a.v, &mut a.o] {
                p.1 = fb(&p.1)?;
            }
            if let Some((qn, kn)) = &a.qk_norm {
                a.qk_norm = Some((f(qn)?, f(kn)?));
            }
        }
        self.norm = f(&self.norm)?;
        self.compute = DType::F32;
        Ok(self)
    }

    /// Logits `(b, t, V)` for unpadded rows; row `i` starts at RoPE
    /// position `positions[i]` (see the module doc).
    pub fn forward(&self, input_ids: &Tensor, positions: &[usize], cache: Option<&mut KvCache>) -> Result<Tensor> {
        let t = input_ids.dim(1)?;
        let rows: Vec<RowSpan> = positions.iter().map(|&p| RowSpan::dense(p, t)).collect();
        self.forward_rows(input_ids, &rows, cache)
    }

    /// Logits `(b, t, V)` for a ragged batch described by `rows`.
    pub fn forward_rows(&self, input_ids: &Tensor, rows: &[RowSpan], cache: Option<&mut KvCache>) -> Result<Tensor> {
        let h = self.hidden_rows(input_ids, rows, cache)?;
        self.logits(&h)
    }

    /// Final hidden states `(b, t, d)` (after the last norm) for `rows`.
    pub fn hidden_rows(&self, input_ids: &Tensor, rows: &[RowSpan], mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let (b, t) = input_ids.dims2()?;
        self.check_rows(b, t, rows)?;
        let past = cache.as_deref().map_or(0, |c| c.len);
        let ctx = self.step_ctx(rows, t, cache.as_deref_mut())?;
        let mut x = self.embed.embedding(&input_ids.flatten_all()?)?.reshape((b, t, self.cfg.hidden_size))?;
        if x.dtype() != self.compute {
            x = x.to_dtype(self.compute)?;
        }
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x, &ctx, cache.as_deref_mut().map(|c| (c, i)))?;
        }
        if let Some(c) = cache {
            c.len = past + t;
        }
        rms_norm(&x, &self.norm, self.cfg.rms_norm_eps)
    }

    /// Project hidden states `(.., d)` to logits `(.., V)` (f32, or f64
    /// for an f64 model).
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let out = self.lm_head.linear(hidden, None)?;
        match out.dtype() {
            DType::F64 | DType::F32 => Ok(out),
            _ => Ok(out.to_dtype(DType::F32)?),
        }
    }

    fn check_rows(&self, b: usize, t: usize, rows: &[RowSpan]) -> Result<()> {
        if rows.len() != b {
            return Err(Error::Input(format!("{} row spans for a batch of {b} rows", rows.len())));
        }
        if t == 0 {
            return Err(Error::Input("forward with zero tokens per row".to_string()));
        }
        for (i, r) in rows.iter().enumerate() {
            if r.left_pad + r.len > t {
                return Err(Error::Input(format!(
                    "row {i}: left_pad {} + len {} exceeds {t} columns",
                    r.left_pad, r.len
                )));
            }
            let last = r.start_pos + r.len;
            if last > self.cfg.max_position_embeddings {
                return Err(Error::Input(format!(
                    "row {i}: positions up to {} exceed max_position_embeddings = {}",
                    last - 1,
                    self.cfg.max_position_embeddings
                )));
            }
        }
        Ok(())
    }

    /// Rotary tables and the mask for this call; records the new slots'
    /// validity in the cache.
    fn step_ctx(&self, rows: &[RowSpan], t: usize, cache: Option<&mut KvCache>) -> Result<StepCtx> {
        let b = rows.len();
        let positions: Vec<usize> = rows.iter().flat_map(|r| (0..t).map(move |j| r.position(j))).collect();
        let rot = Rotary::new(&positions, b, &self.inv_freq, self.rope_scale, self.compute, self.device())?;
        let new_valid: Vec<Vec<bool>> = rows.iter().map(|r| (0..t).map(|j| r.is_real(j)).collect()).collect();
        let (past, valid) = match cache {
            Some(c) => {
                if c.len > 0 && c.valid.len() != b {
                    return Err(Error::Input(format!("cache holds {} rows, batch has {b}", c.valid.len())));
                }
                if c.len == 0 {
                    c.valid = vec![Vec::new(); b];
                }
                let past = c.len;
                for (row, new) in c.valid.iter_mut().zip(&new_valid) {
                    row.extend_from_slice(new);
                }
                (past, c.valid.clone())
            }
            None => (0, new_valid),
        };
        let all_valid = valid.iter().all(|r| r.iter().all(|&v| v));
        let mask = if all_valid && t == 1 {
            None
        } else {
            Some(attention_mask(&valid, past, t, self.compute, self.device())?)
        };
        Ok(StepCtx { rot, mask, eps: self.cfg.rms_norm_eps })
    }
}
