//! `y = x @ w^T` for the decode step's shapes: few rows in `x` (one per
//! sequence of the batch), a weight `w` stored as the checkpoint has it,
//! `(out, in)` row-major. The general matmul (the `gemm` crate behind
//! candle) packs both operands on every call and runs AVX2 kernels; with
//! 1 to 64 rows the packing is most of the work. This kernel reads `w` in
//! place, once, with AVX-512 dot products:
//!
//! - a tile is `MR` rows of `x` by `NR` rows of `w`; its `MR * NR`
//!   accumulators hold 16-lane partial sums over `k`, reduced at the end;
//! - the `w` rows of a tile (`NR * k` floats, 9 KB for SmolLM2) stay in L1
//!   while every row tile of `x` (in L2) passes over them, so `w` comes
//!   from memory once per call, as a bandwidth-bound decode step needs;
//! - blocks of `w` rows are split over rayon's threads.
//!
//! Only f32 CPU tensors on a CPU with AVX-512F take this path (checked at
//! run time); everything else is candle's matmul. The backward pass is
//! candle's matmuls, so the op stays differentiable.
//!
//! [`matmul_xwt_many_bf16`] is the same kernel for bf16 weights (a bf16
//! model on the CPU keeps f32 activations): `x` is rounded to bf16 once per
//! call and each step is one `vdpbf16ps` (32 products into 16 f32 sums),
//! twice the products per instruction of an f32 FMA and half the weight
//! bytes. It needs AVX512_BF16 (Zen 4, Sapphire Rapids and later).
//!
//! `BCR_SKINNY_MATMUL=0` in the environment turns the kernel off (for
//! side-by-side benchmarks in one binary).

use std::sync::OnceLock;

use crate::simd::{has_avx512, has_avx512_bf16};

type CResult<T> = candle_core::Result<T>;

/// The most rows of `x` that take this kernel; above it, candle's packed
/// matmul wins (prefill, training).
pub(crate) const MAX_ROWS: usize = 64;

/// `w` rows per rayon task: a multiple of the tile's 6 rows, small enough
/// that the 192-row k/v projections of SmolLM2 split evenly over two
/// threads (64 measured slower).
const BLOCK: usize = 24;

/// Whether this process may use the kernel: AVX-512F present and not
/// turned off by `BCR_SKINNY_MATMUL=0`.
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("BCR_SKINNY_MATMUL").map_or(true, |v| v != "0") && has_avx512())
}

/// Whether the bf16-weight kernel may run: [`enabled`] and AVX512_BF16.
pub(crate) fn bf16_enabled() -> bool {
    enabled() && has_avx512_bf16()
}

/// A raw output pointer shared by rayon tasks that write disjoint parts of
/// one buffer (columns here, (sequence, head) rows in `attend`).
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);
// SAFETY: the users write disjoint elements of the output, and the buffer
// outlives the parallel loop.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// Through a method, so closures capture the whole (Send) wrapper.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// `y[m, n] = sum_k x[m, k] * w[n, k]`, `x` `(m, k)` and `w` `(n, k)`
/// row-major; errors when the CPU lacks AVX-512F.
pub(crate) fn matmul_xwt(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> CResult<Vec<f32>> {
    if w.len() != n * k {
        candle_core::bail!("skinny matmul: weight of {} values is not ({n}, {k})", w.len());
    }
    let mut ys = matmul_xwt_many(x, &[w], m, k)?;
    Ok(ys.pop().unwrap_or_default())
}

/// [`matmul_xwt`] for several weights `w_i` `(n_i, k)` that share the
/// input `x`, in one parallel region: a decode step's q/k/v (or gate/up)
/// projections then cost one hand-off to rayon's threads instead of three.
pub(crate) fn matmul_xwt_many(x: &[f32], ws: &[&[f32]], m: usize, k: usize) -> CResult<Vec<Vec<f32>>> {
    check(x.len(), ws, m, k)?;
    if !has_avx512() {
        candle_core::bail!("skinny matmul needs AVX-512F");
    }
    Ok(drive(ws, m, k, |w, n, n0, n1, y| {
        // SAFETY: AVX-512F was detected above; `drive` passes a block of
        // columns n0..n1 <= n of an (m, n) output, and the sizes of `x`
        // and `w` were checked above.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::block(x, w, m, k, n, n0, n1, y)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (w, n, n0, n1, y);
    }))
}

/// [`matmul_xwt_many`] for bf16 weights: `y_i = bf16(x) @ w_i^T` with f32
/// sums. Errors when the CPU lacks AVX512_BF16 (see [`bf16_enabled`]).
pub(crate) fn matmul_xwt_many_bf16(x: &[f32], ws: &[&[half::bf16]], m: usize, k: usize) -> CResult<Vec<Vec<f32>>> {
    check(x.len(), ws, m, k)?;
    if !has_avx512_bf16() {
        candle_core::bail!("skinny bf16 matmul needs AVX512_BF16");
    }
    let mut xb = vec![0u16; m * k];
    // SAFETY: AVX512_BF16 was detected above; both buffers hold m * k.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        bf16::round(x, &mut xb)
    };
    let ws16: Vec<&[u16]> = ws
        .iter()
        // SAFETY: `half::bf16` is a `repr(transparent)` u16.
        .map(|w| unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<u16>(), w.len()) })
        .collect();
    Ok(drive(&ws16, m, k, |w, n, n0, n1, y| {
        // SAFETY: as in `matmul_xwt_many`, with AVX512_BF16 detected.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            bf16::block(&xb, w, m, k, n, n0, n1, y)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (w, n, n0, n1, y, &xb);
    }))
}

/// Errors unless `x` is `(m, k)` and every weight `(n_i, k)`.
fn check<W>(x_len: usize, ws: &[&[W]], m: usize, k: usize) -> CResult<()> {
    if k == 0 || x_len != m * k || ws.iter().any(|w| w.len() % k != 0) {
        candle_core::bail!(
            "skinny matmul: buffer sizes {x_len} and {:?} do not match ({m}, {k}) x (n, {k})",
            ws.iter().map(|w| w.len()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

/// Splits the rows of every weight into blocks of [`BLOCK`], runs
/// `kernel(w, n, n0, n1, y)` on each over rayon's threads (it must write
/// columns `n0..n1` of every row of the `(m, n)` output `y`), and returns
/// the outputs.
fn drive<W: Sync>(
    ws: &[&[W]],
    m: usize,
    k: usize,
    kernel: impl Fn(&[W], usize, usize, usize, *mut f32) + Sync,
) -> Vec<Vec<f32>> {
    let ns: Vec<usize> = ws.iter().map(|w| w.len() / k).collect();
    if m == 0 {
        return ns.iter().map(|_| Vec::new()).collect();
    }
    // Not zeroed: the kernel writes every element (the lm_head's output
    // alone is 6 MB per batch-32 step).
    let mut ys: Vec<Vec<f32>> = ns.iter().map(|&n| Vec::with_capacity(m * n)).collect();
    // Blocks of every weight, in one index space: (weight, first row).
    let blocks: Vec<(usize, usize)> =
        ns.iter().enumerate().flat_map(|(i, &n)| (0..n.div_ceil(BLOCK)).map(move |b| (i, b * BLOCK))).collect();
    let outs: Vec<OutPtr> = ys.iter_mut().map(|y| OutPtr(y.as_mut_ptr())).collect();
    use rayon::prelude::*;
    blocks.par_iter().for_each(|&(i, n0)| {
        let n = ns[i];
        kernel(ws[i], n, n0, (n0 + BLOCK).min(n), outs[i].get());
    });
    for (y, &n) in ys.iter_mut().zip(&ns) {
        // SAFETY: the blocks cover columns 0..n of every output, and the
        // kernel writes every row of its block: all m * n elements.
        unsafe { y.set_len(m * n) };
    }
    ys
}

/// The body of a kernel module's `block`: columns `n0..n1` of `y` for all
/// `m` rows of `x`, with the module's own `rows_seq` (at most
/// `avx512::SEQ_ROWS` rows) or its `MR` x `NR` tiles (`tile::<A, B>`, the
/// edge tiles smaller). A macro so that each expansion is compiled with its
/// module's target features and monomorphic kernels.
#[cfg(target_arch = "x86_64")]
macro_rules! block_body {
    ($x:expr, $w:expr, $m:expr, $k:expr, $n:expr, $n0:expr, $n1:expr, $y:expr) => {{
        let (x, w, m, k, n, n0, n1, y) = ($x, $w, $m, $k, $n, $n0, $n1, $y);
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        if m <= crate::skinny::avx512::SEQ_ROWS {
            match m {
                1 => rows_seq::<1>(xp, wp, k, n0, n1, y, n),
                2 => rows_seq::<2>(xp, wp, k, n0, n1, y, n),
                3 => rows_seq::<3>(xp, wp, k, n0, n1, y, n),
                _ => rows_seq::<4>(xp, wp, k, n0, n1, y, n),
            }
        } else {
            let mut j = n0;
            while j < n1 {
                let nr = (n1 - j).min(NR);
                let mut i = 0;
                while i < m {
                    let mr = (m - i).min(MR);
                    // The tile reads rows i..i+mr of x and j..j+nr of w,
                    // and writes the (mr, nr) corner of y at (i, j).
                    let args = (xp.add(i * k), wp.add(j * k), k, y.add(i * n + j), n);
                    crate::skinny::block_body!(@tiles (mr, nr), args;
                        3: 6 5 4 3 2 1;
                        2: 6 5 4 3 2 1;
                        1: 6 5 4 3 2 1;);
                    i += mr;
                }
                j += nr;
            }
        }
    }};
    (@tiles $mn:expr, $args:ident; $($a:literal: $($b:literal)*;)*) => {
        match $mn {
            $($(($a, $b) => tile::<$a, $b>($args.0, $args.1, $args.2, $args.3, $args.4),)*)*
            _ => unreachable!("tile sizes are 1..=MR by 1..=NR"),
        }
    };
}
#[cfg(target_arch = "x86_64")]
use block_body;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows of `x` per tile.
    pub(super) const MR: usize = 3;
    /// Rows of `w` per tile. A tile holds `MR * NR` accumulators, `NR`
    /// weight vectors and one input vector: 25 of the 32 zmm registers.
    /// Every step of a tile loads `MR` vectors of `x`, which at batch 32
    /// (73 KB for SmolLM2) come from L2, for `MR * NR` FMAs: a wider tile
    /// loads less of `x` per FMA. 3 x 6 beat 4 x 4 by 1.3-1.5x at 32 rows
    /// (interleaved probe, 2 threads); 4 x 6 and wider spill registers.
    pub(super) const NR: usize = 6;

    /// Columns `n0..n1` of `y` (`m` rows, leading dimension `n`).
    ///
    /// # Safety
    /// AVX-512F must be present; `x` is `m * k`, `w` is `n * k`, `y`
    /// points at `m * n` floats and `n1 <= n`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn block(x: &[f32], w: &[f32], m: usize, k: usize, n: usize, n0: usize, n1: usize, y: *mut f32) {
        // SAFETY: the caller's contract, passed on.
        unsafe { super::block_body!(x, w, m, k, n, n0, n1, y) }
    }

    /// Up to this many rows of `x`, [`rows_seq`] instead of the tiles.
    pub(super) const SEQ_ROWS: usize = 4;

    /// `M` rows of `x` against weight rows `n0..n1`, read one row after
    /// another: one sequential stream per thread, which the hardware
    /// prefetcher follows. A tile reads 6 rows side by side (6 short
    /// streams); at batch 1, where only memory bandwidth matters, that ran
    /// at about 20 GB/s against 35 GB/s for a plain sequential read on this
    /// machine. `16 / M` weight rows' sums share one transposing reduction.
    ///
    /// # Safety
    /// AVX-512F; `x` is `M * k`, `w` holds rows `n0..n1` of length `k`, `y`
    /// is `(M, ldy)` with `n1 <= ldy`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn rows_seq<const M: usize>(
        x: *const f32,
        w: *const f32,
        k: usize,
        n0: usize,
        n1: usize,
        y: *mut f32,
        ldy: usize,
    ) {
        let full = k / 32 * 32;
        let tail = |o: usize| -> __mmask16 {
            let left = k.saturating_sub(o).min(16);
            ((1u32 << left) - 1) as __mmask16
        };
        let (t0, t1) = (tail(full), tail(full + 16));
        let per = 16 / M;
        let mut j = n0;
        while j < n1 {
            let g = (n1 - j).min(per);
            let mut v = [_mm512_setzero_ps(); 16];
            for r in 0..g {
                let wr = w.add((j + r) * k);
                // Two accumulators per row of x: M = 1 still has two FMA chains.
                let mut a = [[_mm512_setzero_ps(); 2]; M];
                let mut off = 0;
                while off < full {
                    let (w0, w1) = (_mm512_loadu_ps(wr.add(off)), _mm512_loadu_ps(wr.add(off + 16)));
                    for (i, ai) in a.iter_mut().enumerate() {
                        ai[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i * k + off)), w0, ai[0]);
                        ai[1] = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i * k + off + 16)), w1, ai[1]);
                    }
                    off += 32;
                }
                if full < k {
                    let (w0, w1) =
                        (_mm512_maskz_loadu_ps(t0, wr.add(full)), _mm512_maskz_loadu_ps(t1, wr.add(full + 16)));
                    for (i, ai) in a.iter_mut().enumerate() {
                        ai[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t0, x.add(i * k + full)), w0, ai[0]);
                        ai[1] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(t1, x.add(i * k + full + 16)), w1, ai[1]);
                    }
                }
                for (i, ai) in a.iter().enumerate() {
                    v[r * M + i] = _mm512_add_ps(ai[0], ai[1]);
                }
            }
            scatter_sums(&v, g, M, y.add(j), ldy);
            j += g;
        }
    }

    /// Reduces `v` (lane `r * mr + i` = partial sums of weight row `r`
    /// against `x` row `i`) and writes `y[i * ldy + r]` for `r < g`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn scatter_sums(v: &[__m512; 16], g: usize, mr: usize, y: *mut f32, ldy: usize) {
        let mut sums = [0f32; 16];
        _mm512_storeu_ps(sums.as_mut_ptr(), crate::simd::avx512::reduce16(v));
        for r in 0..g {
            for i in 0..mr {
                *y.add(i * ldy + r) = sums[r * mr + i];
            }
        }
    }

    /// `y[i * ldy + j] = dot(x[i * k ..], w[j * k ..])` for `i < A`, `j < B`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const A: usize, const B: usize>(x: *const f32, w: *const f32, k: usize, y: *mut f32, ldy: usize) {
        let mut acc = [[_mm512_setzero_ps(); B]; A];
        let full = k / 16;
        for c in 0..full {
            let off = c * 16;
            let mut wv = [_mm512_setzero_ps(); B];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_loadu_ps(w.add(j * k + off));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let xv = _mm512_loadu_ps(x.add(i * k + off));
                for (a, v) in row.iter_mut().zip(&wv) {
                    *a = _mm512_fmadd_ps(xv, *v, *a);
                }
            }
        }
        let rem = k - full * 16;
        if rem > 0 {
            let off = full * 16;
            let mask: __mmask16 = ((1u32 << rem) - 1) as __mmask16;
            let mut wv = [_mm512_setzero_ps(); B];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_maskz_loadu_ps(mask, w.add(j * k + off));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let xv = _mm512_maskz_loadu_ps(mask, x.add(i * k + off));
                for (a, v) in row.iter_mut().zip(&wv) {
                    *a = _mm512_fmadd_ps(xv, *v, *a);
                }
            }
        }
        store_sums(&acc, y, ldy);
    }

    /// `y[i * ldy + j] = sum of the lanes of acc[i][j]`: 16 accumulators
    /// per transposing reduction (the last group padded with zeros).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn store_sums<const A: usize, const B: usize>(acc: &[[__m512; B]; A], y: *mut f32, ldy: usize) {
        let mut flat = [_mm512_setzero_ps(); 2 * 16];
        for (i, row) in acc.iter().enumerate() {
            for (j, a) in row.iter().enumerate() {
                flat[i * B + j] = *a;
            }
        }
        let mut sums = [0f32; 2 * 16];
        for g in 0..(A * B).div_ceil(16) {
            let mut v = [_mm512_setzero_ps(); 16];
            v.copy_from_slice(&flat[g * 16..g * 16 + 16]);
            _mm512_storeu_ps(sums.as_mut_ptr().add(g * 16), crate::simd::avx512::reduce16(&v));
        }
        for i in 0..A {
            for j in 0..B {
                *y.add(i * ldy + j) = sums[i * B + j];
            }
        }
    }
}

/// The bf16-weight kernel: the same tiles and reduction as [`avx512`],
/// with 32 bf16 pairs per step.
#[cfg(target_arch = "x86_64")]
mod bf16 {
    use super::avx512::{MR, NR};
    use std::arch::x86_64::*;

    /// `xb = bf16(x)`, rounded to nearest even.
    ///
    /// # Safety
    /// AVX512_BF16, AVX-512BW and AVX-512VL must be present; `xb` as long
    /// as `x`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
    pub(super) unsafe fn round(x: &[f32], xb: &mut [u16]) {
        let n = x.len().min(xb.len());
        for i in (0..n).step_by(16) {
            let lanes: __mmask16 = if i + 16 <= n { 0xffff } else { ((1u32 << (n - i)) - 1) as __mmask16 };
            let v = _mm512_maskz_loadu_ps(lanes, x.as_ptr().add(i));
            let b: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
            _mm256_mask_storeu_epi16(xb.as_mut_ptr().add(i).cast(), lanes, b);
        }
    }

    /// Columns `n0..n1` of `y` (`m` rows, leading dimension `n`).
    ///
    /// # Safety
    /// AVX512_BF16 and AVX-512BW must be present; `x` is `m * k`, `w` is
    /// `n * k`, `y` points at `m * n` floats and `n1 <= n`.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub(super) unsafe fn block(x: &[u16], w: &[u16], m: usize, k: usize, n: usize, n0: usize, n1: usize, y: *mut f32) {
        // SAFETY: the caller's contract, passed on.
        unsafe { super::block_body!(x, w, m, k, n, n0, n1, y) }
    }

    /// [`super::avx512::rows_seq`] over bf16 pairs, 64 values per step.
    ///
    /// # Safety
    /// As there, with AVX512_BF16 and AVX-512BW.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn rows_seq<const M: usize>(
        x: *const u16,
        w: *const u16,
        k: usize,
        n0: usize,
        n1: usize,
        y: *mut f32,
        ldy: usize,
    ) {
        let full = k / 64 * 64;
        let tail = |o: usize| -> __mmask32 {
            let left = k.saturating_sub(o).min(32);
            ((1u64 << left) - 1) as __mmask32
        };
        let (t0, t1) = (tail(full), tail(full + 32));
        let per = 16 / M;
        let dp = |a: __m512, x: __m512i, w: __m512i| {
            _mm512_dpbf16_ps(
                a,
                std::mem::transmute::<__m512i, __m512bh>(x),
                std::mem::transmute::<__m512i, __m512bh>(w),
            )
        };
        let mut j = n0;
        while j < n1 {
            let g = (n1 - j).min(per);
            let mut v = [_mm512_setzero_ps(); 16];
            for r in 0..g {
                let wr = w.add((j + r) * k);
                let mut a = [[_mm512_setzero_ps(); 2]; M];
                let mut off = 0;
                while off < full {
                    let (w0, w1) =
                        (_mm512_loadu_si512(wr.add(off).cast()), _mm512_loadu_si512(wr.add(off + 32).cast()));
                    for (i, ai) in a.iter_mut().enumerate() {
                        ai[0] = dp(ai[0], _mm512_loadu_si512(x.add(i * k + off).cast()), w0);
                        ai[1] = dp(ai[1], _mm512_loadu_si512(x.add(i * k + off + 32).cast()), w1);
                    }
                    off += 64;
                }
                if full < k {
                    let w0 = _mm512_maskz_loadu_epi16(t0, wr.add(full).cast());
                    let w1 = _mm512_maskz_loadu_epi16(t1, wr.add(full + 32).cast());
                    for (i, ai) in a.iter_mut().enumerate() {
                        ai[0] = dp(ai[0], _mm512_maskz_loadu_epi16(t0, x.add(i * k + full).cast()), w0);
                        ai[1] = dp(ai[1], _mm512_maskz_loadu_epi16(t1, x.add(i * k + full + 32).cast()), w1);
                    }
                }
                for (i, ai) in a.iter().enumerate() {
                    v[r * M + i] = _mm512_add_ps(ai[0], ai[1]);
                }
            }
            super::avx512::scatter_sums(&v, g, M, y.add(j), ldy);
            j += g;
        }
    }

    /// `y[i * ldy + j] = dot(x[i * k ..], w[j * k ..])` over bf16 pairs.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    unsafe fn tile<const A: usize, const B: usize>(x: *const u16, w: *const u16, k: usize, y: *mut f32, ldy: usize) {
        let mut acc = [[_mm512_setzero_ps(); B]; A];
        let step = |acc: &mut [[__m512; B]; A], off: usize, lanes: __mmask32| {
            let mut wv = [_mm512_setzero_si512(); B];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm512_maskz_loadu_epi16(lanes, w.add(j * k + off).cast());
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let xv: __m512bh = std::mem::transmute(_mm512_maskz_loadu_epi16(lanes, x.add(i * k + off).cast()));
                for (a, v) in row.iter_mut().zip(&wv) {
                    *a = _mm512_dpbf16_ps(*a, xv, std::mem::transmute::<__m512i, __m512bh>(*v));
                }
            }
        };
        let full = k / 32;
        for c in 0..full {
            step(&mut acc, c * 32, u32::MAX);
        }
        let rem = k - full * 32;
        if rem > 0 {
            step(&mut acc, full * 32, ((1u64 << rem) - 1) as __mmask32);
        }
        super::avx512::store_sums(&acc, y, ldy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_core::Tensor;

    fn reference(x: &[f32], w: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = (0..k).map(|c| x[i * k + c] as f64 * w[j * k + c] as f64).sum::<f64>() as f32;
            }
        }
        y
    }

    fn data(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// `(m, k, n)` with remainders in every dimension: rows not a multiple
    /// of the tile, k not a multiple of 16 or 32 (the masked tails), n not a
    /// multiple of the tile, of 16 / rows (the sequential kernel, at most 4
    /// rows) or of the block.
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 16, 4),
        (1, 32, 6),
        (1, 576, 1536),
        (3, 17, 5),
        (5, 33, 130),
        (32, 576, 193),
        (64, 100, 67),
        (7, 1, 3),
        (2, 50, 37),
        (4, 97, 40),
        (1, 1, 9),
        (4, 64, 17),
        (4, 128, 17),
        (2, 200, 33),
    ];

    #[test]
    fn matches_a_reference_on_ragged_shapes() {
        if !has_avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        for &(m, k, n) in SHAPES {
            let x = data(m * k, (m * 31 + k) as u32);
            let w = data(n * k, (n * 7 + k) as u32);
            let y = matmul_xwt(&x, &w, m, k, n).unwrap();
            let r = reference(&x, &w, m, k, n);
            let worst = y.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst <= 1e-5 * (k as f32).sqrt(), "({m}, {k}, {n}): max error {worst}");
        }
    }

    #[test]
    fn the_linear_op_matches_candle_and_keeps_gradients() -> candle_core::Result<()> {
        if !has_avx512() {
            eprintln!("skipped: this CPU has no AVX-512F");
            return Ok(());
        }
        let dev = Device::Cpu;
        let (m, k, n) = (6, 40, 9);
        let x = candle_core::Var::from_tensor(&Tensor::from_vec(data(m * k, 1), (m, k), &dev)?)?;
        let w = candle_core::Var::from_tensor(&Tensor::from_vec(data(n * k, 2), (n, k), &dev)?)?;
        let ours = x.apply_op2(&w, crate::fused::linear::Linear)?;
        let theirs = x.matmul(&w.t()?)?;
        let diff = (&ours - &theirs)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "forward differs by {diff}");
        let coef = Tensor::from_vec(data(m * n, 3), (m, n), &dev)?;
        let g1 = (ours * &coef)?.sum_all()?.backward()?;
        let g2 = (theirs * &coef)?.sum_all()?.backward()?;
        for v in [&x, &w] {
            let (a, b) = (g1.get(v).expect("gradient"), g2.get(v).expect("gradient"));
            let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(d < 1e-5, "gradient differs by {d}");
        }
        Ok(())
    }

    #[test]
    fn the_bf16_kernel_matches_a_reference_on_ragged_shapes() {
        if !has_avx512_bf16() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        use half::bf16;
        for &(m, k, n) in SHAPES {
            let x = data(m * k, (m * 31 + k) as u32);
            let w: Vec<bf16> = data(n * k, (n * 7 + k) as u32).into_iter().map(bf16::from_f32).collect();
            let y = matmul_xwt_many_bf16(&x, &[&w], m, k).unwrap().pop().unwrap();
            // The kernel rounds x to bf16 (nearest even), then sums exactly
            // representable products in f32.
            let xr: Vec<f32> = x.iter().map(|&v| bf16::from_f32(v).to_f32()).collect();
            let wr: Vec<f32> = w.iter().map(|v| v.to_f32()).collect();
            let r = reference(&xr, &wr, m, k, n);
            let worst = y.iter().zip(&r).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst <= 1e-5 * (k as f32).sqrt(), "({m}, {k}, {n}): max error {worst}");
        }
        assert!(matmul_xwt_many_bf16(&[0.0; 3], &[&[half::bf16::ZERO; 4]], 1, 4).is_err());
    }

    #[test]
    fn mismatched_buffers_are_an_error() {
        assert!(matmul_xwt(&[0.0; 3], &[0.0; 4], 1, 4, 1).is_err());
    }
}
