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

use crate::kernels::simd::{has_avx512, has_avx512_bf16};

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
    drive_rows(&ns, m, BLOCK, |i, n, n0, n1, y| kernel(ws[i], n, n0, n1, y))
}

/// [`drive`] for weights known by their row counts `ns`, in tasks of
/// `block` rows: `kernel(i, n, n0, n1, y)` writes columns `n0..n1` of
/// every row of weight `i`'s `(m, n)` output `y` (also the quantised
/// kernel's driver).
pub(crate) fn drive_rows(
    ns: &[usize],
    m: usize,
    block: usize,
    kernel: impl Fn(usize, usize, usize, usize, *mut f32) + Sync,
) -> Vec<Vec<f32>> {
    if m == 0 {
        return ns.iter().map(|_| Vec::new()).collect();
    }
    // Not zeroed: the kernel writes every element (the lm_head's output
    // alone is 6 MB per batch-32 step).
    let mut ys: Vec<Vec<f32>> = ns.iter().map(|&n| Vec::with_capacity(m * n)).collect();
    // Blocks of every weight, in one index space: (weight, first row).
    let blocks: Vec<(usize, usize)> =
        ns.iter().enumerate().flat_map(|(i, &n)| (0..n.div_ceil(block)).map(move |b| (i, b * block))).collect();
    let outs: Vec<OutPtr> = ys.iter_mut().map(|y| OutPtr(y.as_mut_ptr())).collect();
    use rayon::prelude::*;
    blocks.par_iter().for_each(|&(i, n0)| {
        let n = ns[i];
        kernel(i, n, n0, (n0 + block).min(n), outs[i].get());
    });
    for (y, &n) in ys.iter_mut().zip(ns) {
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
        if m <= crate::kernels::skinny::avx512::SEQ_ROWS {
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
                    crate::kernels::skinny::block_body!(@tiles (mr, nr), args;
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
mod avx512;
#[cfg(target_arch = "x86_64")]
mod bf16;

#[cfg(test)]
mod tests;
