//! Attention for the decode step, fused: for each query row, the scores
//! against every cached key, the masked softmax and the weighted sum of the
//! values, in one pass per (sequence, key head), reading the KV cache where
//! it lies (a strided view of the preallocated cache, no copy).
//!
//! The composed path ([`crate::ops::grouped_attention`]) runs four candle
//! ops per layer, and its matmuls copy the cache views into contiguous
//! buffers and pack them: for a query of one token per sequence that is
//! most of the work. Shapes: `q` `(b, h, t, d)` contiguous, `k`, `v`
//! `(b, kv, l, d)` with unit stride on `d`, an optional additive mask
//! `(b, 1, t, l)`; the output is `(b, h, t, d)`. Query head `kvh * g + i`
//! uses key head `kvh` (GQA, `g = h / kv`).
//!
//! Keys a row's mask hides at the start of its span (the left padding of a
//! shorter sequence in a batch, [`crate::generate::Engine`]'s joiners) are
//! skipped, not scored: a row costs its own context, not the batch's
//! longest.
//!
//! Inference only: it has no backward pass, so [`applies`] refuses inputs
//! that track gradients. AVX-512F kernels for any `d` that is a multiple of
//! 16 up to 128 (Qwen3/Llama heads of 64 and 128, the demo model's 32);
//! other cases take the composed path. `BCR_FUSED_ATTENTION=0` turns it
//! off.

use crate::kernels::simd::has_avx512;
use crate::kernels::skinny::OutPtr;
use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use std::sync::OnceLock;

type CResult<T> = candle_core::Result<T>;

/// The most query tokens per sequence that take the fused path (decode
/// steps, short speculative chunks); prefill uses the matmuls.
pub(crate) const MAX_QUERY_TOKENS: usize = 4;

/// The largest head dimension with a kernel, in 16-float chunks.
const MAX_CHUNKS: usize = 8;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("BCR_FUSED_ATTENTION").map_or(true, |v| v != "0") && has_avx512())
}

/// Whether `q`, `k`, `v` (and the mask) take the fused kernel.
pub(crate) fn applies(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> bool {
    use candle_core::DType::F32;
    let cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == F32 && !t.track_op();
    let unit_last = |t: &Tensor| t.rank() == 4 && t.stride().last() == Some(&1);
    cpu_f32(q)
        && cpu_f32(k)
        && cpu_f32(v)
        && mask.is_none_or(|m| m.device().is_cpu() && m.dtype() == F32)
        && q.rank() == 4
        && q.is_contiguous()
        && unit_last(k)
        && unit_last(v)
        && q.dim(2).is_ok_and(|t| t <= MAX_QUERY_TOKENS)
        && q.dim(3).is_ok_and(|d| d > 0 && d % 16 == 0 && d <= 16 * MAX_CHUNKS)
        && enabled()
}

/// Decode attention with the fused kernel: `q` `(b, h, t, d)`, `k`, `v`
/// `(b, kv, l, d)` from the KV cache, `mask` `(b, 1, t, l)` or none.
/// `q` is detached: the cache is inference only (its keys and values are
/// detached already), so nothing here needs a gradient.
pub(crate) fn decode_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    scale: f64,
) -> candle_core::Result<Option<Tensor>> {
    let q = q.detach();
    if !applies(&q, k, v, mask) {
        return Ok(None);
    }
    let mask = match mask {
        Some(m) => Some(m.flatten_all()?.to_vec1::<f32>()?),
        None => None,
    };
    let op = DecodeAttention { scale: scale as f32, mask };
    Ok(Some(q.apply_op3_no_bwd(k, v, &op)?))
}

/// The fused op; `mask` is the `(b, 1, t, l)` additive mask, flattened.
pub(crate) struct DecodeAttention {
    /// `1 / sqrt(d)` (or the model's own scale).
    pub scale: f32,
    /// The additive mask, row-major `(b, t, l)`, or none.
    pub mask: Option<Vec<f32>>,
}

/// A 4-D layout's start offset and strides.
struct View {
    start: usize,
    stride: [usize; 4],
}

fn view(l: &Layout) -> CResult<View> {
    let s = l.stride();
    if s.len() != 4 || s[3] != 1 {
        candle_core::bail!("fused attention needs 4-D inputs with a unit last stride");
    }
    Ok(View { start: l.start_offset(), stride: [s[0], s[1], s[2], s[3]] })
}

impl CustomOp3 for DecodeAttention {
    fn name(&self) -> &'static str {
        "bcr-decode-attention"
    }

    fn cpu_fwd(
        &self,
        sq: &CpuStorage,
        lq: &Layout,
        sk: &CpuStorage,
        lk: &Layout,
        sv: &CpuStorage,
        lv: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (b, h, t, d) = lq.shape().dims4()?;
        let (bk, kv, l, dk) = lk.shape().dims4()?;
        if lv.shape().dims() != lk.shape().dims() || bk != b || dk != d || kv == 0 || h % kv != 0 {
            candle_core::bail!(
                "fused attention: q {:?}, k {:?}, v {:?} do not fit",
                lq.shape(),
                lk.shape(),
                lv.shape()
            );
        }
        if !lq.is_contiguous() {
            candle_core::bail!("fused attention needs a contiguous query");
        }
        if let Some(m) = &self.mask {
            if m.len() != b * t * l {
                candle_core::bail!("fused attention: mask has {} values, expected {}", m.len(), b * t * l);
            }
        }
        let (q, k, v) = (sq.as_slice::<f32>()?, sk.as_slice::<f32>()?, sv.as_slice::<f32>()?);
        let (vk, vv) = (view(lk)?, view(lv)?);
        // The largest index each strided view reads must be in its buffer.
        let last =
            |w: &View| w.start + (b - 1) * w.stride[0] + (kv - 1) * w.stride[1] + (l.max(1) - 1) * w.stride[2] + d;
        if l > 0 && (last(&vk) > k.len() || last(&vv) > v.len()) {
            candle_core::bail!("fused attention: a key/value view runs past its storage");
        }
        let q = &q[lq.start_offset()..lq.start_offset() + b * h * t * d];
        let mut out = vec![0f32; b * h * t * d];
        if l == 0 || out.is_empty() {
            return Ok((CpuStorage::F32(out), Shape::from((b, h, t, d))));
        }
        let g = h / kv;
        let parts = key_parts(b * kv, l);
        // With `parts > 1`, each task writes unnormalised partial outputs
        // and their (max, sum) per query row, merged below.
        let rows = b * h * t;
        let mut partial = if parts > 1 { vec![0f32; parts * rows * d] } else { Vec::new() };
        let mut stats = if parts > 1 { vec![(0f32, 0f32); parts * rows] } else { Vec::new() };
        let ptr = OutPtr(if parts > 1 { partial.as_mut_ptr() } else { out.as_mut_ptr() });
        let sptr = StatsPtr(stats.as_mut_ptr());
        let mask = self.mask.as_deref();
        let chunk = l.div_ceil(parts);
        use rayon::prelude::*;
        (0..b * kv * parts).into_par_iter().for_each(|task| {
            let (bi, kh, part) = (task / (kv * parts), task / parts % kv, task % parts);
            let (l0, l1) = (part * chunk, ((part + 1) * chunk).min(l));
            if l0 >= l1 {
                return; // stats stay (0, 0): an empty part
            }
            let kbase = vk.start + bi * vk.stride[0] + kh * vk.stride[1] + l0 * vk.stride[2];
            let vbase = vv.start + bi * vv.stride[0] + kh * vv.stride[1] + l0 * vv.stride[2];
            let mut scores = vec![0f32; l1 - l0];
            for gi in 0..g {
                let head = kh * g + gi;
                for j in 0..t {
                    let row = (bi * h + head) * t + j;
                    let m = mask.map(|m| &m[(bi * t + j) * l + l0..(bi * t + j) * l + l1]);
                    // Leading keys the mask hides add exactly nothing.
                    let skip = m.map_or(0, |m| m.iter().take_while(|x| **x == f32::NEG_INFINITY).count());
                    let m = m.map(|m| &m[skip..]);
                    // SAFETY: AVX-512F was checked by `applies`/`enabled` (and
                    // again here); reads stay inside the views checked above
                    // (keys l0..l1 < l); `part * rows + row` is this task's
                    // own output row and stats slot.
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        if !has_avx512() {
                            return;
                        }
                        let qrow = q.as_ptr().add(row * d);
                        let o = ptr.get().add((part * rows + row) * d);
                        let st = (parts > 1).then(|| &mut *sptr.get().add(part * rows + row));
                        let (ks, vs) = (vk.stride[2], vv.stride[2]);
                        let (kp, vp) = (k.as_ptr().add(kbase + skip * ks), v.as_ptr().add(vbase + skip * vs));
                        let n = l1 - l0 - skip;
                        let sc = &mut scores[..n];
                        match d / 16 {
                            1 => avx512::attend::<1>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            2 => avx512::attend::<2>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            3 => avx512::attend::<3>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            4 => avx512::attend::<4>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            5 => avx512::attend::<5>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            6 => avx512::attend::<6>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            7 => avx512::attend::<7>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                            _ => avx512::attend::<8>(qrow, kp, ks, vp, vs, n, self.scale, m, sc, o, st),
                        }
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    let _ = (row, m, &mut scores, kbase, vbase, ptr, sptr);
                }
            }
        });
        if parts > 1 {
            merge_parts(&partial, &stats, parts, rows, d, &mut out);
        }
        Ok((CpuStorage::F32(out), Shape::from((b, h, t, d))))
    }
}

/// Tasks the decode attention aims for per rayon thread: with fewer
/// (sequence, key head) pairs than that, each pair's keys are split.
const TASKS_PER_THREAD: usize = 4;

/// Fewest keys in one part of a split.
const MIN_PART_KEYS: usize = 64;

/// Into how many parts to split each (sequence, key head) pair's `l` keys:
/// a batch-1 step of SmolLM2 has 3 pairs for 2 threads (one thread does
/// two, the other waits), and at long contexts the attention is a large
/// part of the step (the KV cache of a 4k-token context is 190 MB of f32,
/// more than the bf16 weights). 1 when there are enough pairs already.
fn key_parts(pairs: usize, l: usize) -> usize {
    let want = rayon::current_num_threads() * TASKS_PER_THREAD;
    if pairs == 0 || pairs >= want {
        return 1;
    }
    want.div_ceil(pairs).min(l / MIN_PART_KEYS).max(1)
}

/// Raw pointer to the per-part softmax statistics, shared by the tasks
/// (each writes its own slots).
#[derive(Clone, Copy)]
struct StatsPtr(*mut (f32, f32));
// SAFETY: tasks write disjoint slots; the buffer outlives the loop.
unsafe impl Send for StatsPtr {}
unsafe impl Sync for StatsPtr {}

impl StatsPtr {
    fn get(self) -> *mut (f32, f32) {
        self.0
    }
}

/// Combines the parts of a split: row `r`'s output is
/// `sum_p o_p * e^(m_p - m) / sum_p s_p * e^(m_p - m)` with `m` the
/// largest `m_p`, where part `p` holds the unnormalised `o_p` and its
/// (max score, sum of exponentials); parts whose keys are all masked
/// (sum 0) add nothing.
fn merge_parts(partial: &[f32], stats: &[(f32, f32)], parts: usize, rows: usize, d: usize, out: &mut [f32]) {
    for r in 0..rows {
        let live = |p: &usize| stats[p * rows + r].1 > 0.0;
        let m = (0..parts).filter(live).map(|p| stats[p * rows + r].0).fold(f32::NEG_INFINITY, f32::max);
        let o = &mut out[r * d..(r + 1) * d];
        o.fill(0.0);
        let mut sum = 0f32;
        for p in (0..parts).filter(live) {
            let (mp, sp) = stats[p * rows + r];
            let w = (mp - m).exp();
            sum += sp * w;
            for (x, y) in o.iter_mut().zip(&partial[(p * rows + r) * d..(p * rows + r + 1) * d]) {
                *x += w * y;
            }
        }
        if sum > 0.0 {
            o.iter_mut().for_each(|x| *x /= sum);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// One query row: `o = softmax(scale * q . k_j + mask_j) . v`, with `C`
    /// chunks of 16 in the head dimension. With `stats`, `o` is left
    /// unnormalised (`sum_j e^(s_j - max) v_j`) and `stats` gets the
    /// (max score, sum of exponentials), for [`super::merge_parts`].
    ///
    /// # Safety
    /// AVX-512F present; `q` and `o` hold `16 * C` floats; key/value row
    /// `j < l` starts at `k + j * ks` / `v + j * vs` and holds `16 * C`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn attend<const C: usize>(
        q: *const f32,
        k: *const f32,
        ks: usize,
        v: *const f32,
        vs: usize,
        l: usize,
        scale: f32,
        mask: Option<&[f32]>,
        scores: &mut [f32],
        o: *mut f32,
        stats: Option<&mut (f32, f32)>,
    ) {
        let mut qv = [_mm512_setzero_ps(); C];
        for (c, x) in qv.iter_mut().enumerate() {
            *x = _mm512_mul_ps(_mm512_loadu_ps(q.add(16 * c)), _mm512_set1_ps(scale));
        }
        // Scores 16 keys at a time: one 16-lane partial sum per key, then
        // one transposing reduction gives the 16 scores in one vector.
        let mut vmax = _mm512_set1_ps(f32::NEG_INFINITY);
        let sp = scores.as_mut_ptr();
        for j0 in (0..l).step_by(16) {
            let nk = (l - j0).min(16);
            let mut acc = [_mm512_setzero_ps(); 16];
            for (jj, a) in acc.iter_mut().enumerate().take(nk) {
                let kr = k.add((j0 + jj) * ks);
                let mut s = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kr));
                for (c, x) in qv.iter().enumerate().skip(1) {
                    s = _mm512_fmadd_ps(*x, _mm512_loadu_ps(kr.add(16 * c)), s);
                }
                *a = s;
            }
            let lanes: __mmask16 = if nk == 16 { 0xffff } else { ((1u32 << nk) - 1) as __mmask16 };
            let mut sv = crate::kernels::simd::avx512::reduce16(&acc);
            if let Some(m) = mask {
                sv = _mm512_add_ps(sv, _mm512_maskz_loadu_ps(lanes, m.as_ptr().add(j0)));
            }
            _mm512_mask_storeu_ps(sp.add(j0), lanes, sv);
            vmax = _mm512_mask_max_ps(vmax, lanes, vmax, sv);
        }
        let raw_max = _mm512_reduce_max_ps(vmax);
        // A fully masked row (or part of a split row) gets all-zero weights
        // and a zero output: keep the subtraction below finite.
        let max = if raw_max == f32::NEG_INFINITY { 0.0 } else { raw_max };
        // exp(s - max) 16 lanes at a time (masked slots give exactly 0).
        let mv = _mm512_set1_ps(max);
        let mut vsum = _mm512_setzero_ps();
        for i in (0..l).step_by(16) {
            let lanes: __mmask16 = if i + 16 <= l { 0xffff } else { ((1u32 << (l - i)) - 1) as __mmask16 };
            let e = crate::kernels::simd::avx512::exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, sp.add(i)), mv));
            let e = _mm512_maskz_mov_ps(lanes, e);
            _mm512_mask_storeu_ps(sp.add(i), lanes, e);
            vsum = _mm512_add_ps(vsum, e);
        }
        let sum = _mm512_reduce_add_ps(vsum);
        let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
        let mut acc = [_mm512_setzero_ps(); C];
        for (j, &p) in scores.iter().enumerate().take(l) {
            if p == 0.0 {
                continue;
            }
            let pv = _mm512_set1_ps(p);
            let vr = v.add(j * vs);
            for (c, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(pv, _mm512_loadu_ps(vr.add(16 * c)), *a);
            }
        }
        // One part of a split row: the unnormalised sum and its statistics.
        let iv = match stats {
            Some(st) => {
                *st = (raw_max, sum);
                _mm512_set1_ps(1.0)
            }
            None => _mm512_set1_ps(inv),
        };
        for (c, a) in acc.iter().enumerate() {
            _mm512_storeu_ps(o.add(16 * c), _mm512_mul_ps(*a, iv));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, D};

    /// The fused op against softmax(q k^T * scale + mask) v written with
    /// candle ops, on a strided cache view, GQA, a ragged mask and t = 1, 2.
    #[test]
    fn matches_the_composed_attention_on_a_strided_cache() -> candle_core::Result<()> {
        if !has_avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return Ok(());
        }
        let dev = Device::Cpu;
        // (d, t, b, kv, l, padding of row 1): short caches take one task per
        // (sequence, key head); 300 keys for 2 pairs split into parts, the
        // first of which is all padding for the padded row.
        // Head dimensions 16-128 in steps of 16 (the demo model's is 32).
        let cases = [
            (64usize, 1usize, 3usize, 2usize, 11usize, 3usize),
            (128, 2, 3, 2, 11, 3),
            (64, 1, 2, 2, 300, 160),
            (32, 1, 3, 2, 40, 17),
            (32, 2, 2, 2, 300, 299),
            (16, 1, 3, 1, 11, 10),
            (48, 1, 2, 2, 20, 0),
            (112, 2, 2, 2, 33, 32),
        ];
        for &(d, t, b, kv, l, pad) in &cases {
            let (h, cap) = (6, l + 5);
            let q = Tensor::randn(0f32, 1.0, (b, h, t, d), &dev)?;
            let kc = Tensor::randn(0f32, 1.0, (b, kv, cap, d), &dev)?;
            let vc = Tensor::randn(0f32, 1.0, (b, kv, cap, d), &dev)?;
            let (k, v) = (kc.narrow(2, 0, l)?, vc.narrow(2, 0, l)?);
            assert!(!k.is_contiguous());
            // Row 1 has padding in slots 0..pad; every query sees itself.
            let mut m = vec![0f32; b * t * l];
            for j in 0..t {
                for s in 0..pad {
                    m[(t + j) * l + s] = f32::NEG_INFINITY;
                }
            }
            let parts = key_parts(b * kv, l);
            assert_eq!(parts > 1, l == 300 && rayon::current_num_threads() > 1, "parts = {parts}");
            let mask = Tensor::from_vec(m.clone(), (b, 1, t, l), &dev)?;
            let scale = 1.0 / (d as f64).sqrt();
            assert!(applies(&q, &k, &v, Some(&mask)));
            let ours = q.apply_op3_no_bwd(&k, &v, &DecodeAttention { scale: scale as f32, mask: Some(m) })?;
            let g = h / kv;
            let qg = (q.reshape((b, kv, g * t, d))? * scale)?;
            let scores = qg.matmul(&k.contiguous()?.t()?)?.reshape((b, h, t, l))?.broadcast_add(&mask)?;
            let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
            let theirs = probs.reshape((b, kv, g * t, l))?.matmul(&v.contiguous()?)?.reshape((b, h, t, d))?;
            let diff = (ours - theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "d={d} t={t} l={l} ({parts} parts): max difference {diff}");
        }
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_do() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        for d in [40, 144] {
            let q = Tensor::zeros((1, 2, 1, d), candle_core::DType::F32, &dev)?;
            let k = Tensor::zeros((1, 1, 5, d), candle_core::DType::F32, &dev)?;
            assert!(!applies(&q, &k, &k, None), "head dimension {d} has no kernel");
        }
        let q = Tensor::zeros((1, 2, 9, 64), candle_core::DType::F32, &dev)?;
        let k = Tensor::zeros((1, 1, 9, 64), candle_core::DType::F32, &dev)?;
        assert!(!applies(&q, &k, &k, None), "a 9-token query is prefill");
        let var = candle_core::Var::zeros((1, 2, 1, 64), candle_core::DType::F32, &dev)?;
        assert!(!applies(var.as_tensor(), &k, &k, None), "tracked inputs need a backward pass");
        Ok(())
    }
}
