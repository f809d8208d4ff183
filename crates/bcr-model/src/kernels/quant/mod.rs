//! `y = x @ w^T` on GGUF's 32-value quantised blocks (Q4_0, Q4_1, Q8_0),
//! without dequantising the weight: what a batch-1 decode step of a
//! quantised model needs, since it reads every weight once and its speed is
//! the bytes it reads (a Q4_1 matrix is 20 bytes per 32 values, 6.4x fewer
//! than f32).
//!
//! - The activations are quantised per 32-value block to int8 exactly as
//!   llama.cpp's `Q8_0` / `Q8_1` blocks are: `qx = round(x * 127 / max|x|)`,
//!   `dx = max|x| / 127`, then `dx` kept as f16, and (Q8_1) `sx = f16(dx *
//!   sum(qx))` for Q4_1's offset term (f32 where f16 would overflow); `nx =
//!   sum(qx)` as an integer. A block's dot product is then an integer sum `S
//!   = sum(code * qx)` (AVX512-VNNI `vpdpbusd`: 64 u8 x i8 products into 16
//!   i32 sums per instruction) and a few operations per block:
//!   Q4_0 (`w = dw * (q - 8)`): `(dw * dx) * (S - 8 nx)`;
//!   Q4_1 (`w = dw * q + mw`): `(dw * dx) * S + mw * sx`;
//!   Q8_0 (`w = dw * q`, stored here as `q + 128`): `(dw * dx) * (S - 128 nx)`.
//!   The offsets are subtracted in integers, so Q4_0 and Q8_0 sums are the
//!   exact integer dot products llama.cpp computes with signed codes.
//! - [`QMatrix`] keeps the file's bytes, regrouped once at load (the same
//!   size, rows padded to a multiple of 16): 16 consecutive weight rows are
//!   interleaved so that lane `i` of every 64-byte load belongs to row `i`.
//!   For each group of 16 rows and each block, chunk `c` holds code bytes
//!   `4c..4c + 4` of the 16 rows' blocks, and the 16 rows' f16 scales are
//!   consecutive (one `vcvtph2ps`). One `vpdpbusd` against four activation
//!   codes broadcast to all lanes then adds 4 products to each of 16 rows'
//!   sums: a block's 16 integer sums land in 16 lanes, the scales apply
//!   lane-wise, and each output lane is one `y[r, j]`, stored as it is (no
//!   horizontal reduction, no short group at the end of a row of 18
//!   blocks). A 4-bit byte `j` holds value `j` (low nibble) and `j + 16`
//!   (high nibble), so the low nibbles of chunk `c` pair with activation
//!   word `c` and the high nibbles with word `c + 4`; 8-bit chunk `c` with
//!   word `c`. The activations are plain rows of int8 codes.
//!
//! [`matmul_many`] runs on rayon's threads in blocks of weight rows (the
//! driver of [`crate::kernels::skinny`]); the AVX512-VNNI kernel needs
//! AVX-512F/BW/VL and VNNI, the AVX2 kernel (`avx2.rs`, the same layout,
//! half a group per register) AVX2, FMA and F16C, both checked at run
//! time ([`kernel`]); without either these block types load for candle's
//! quantised matmul. [`dot_reference`], the scalar twin, computes the same
//! sums. `BCR_QUANT_KERNEL=0` loads them for candle's quantised matmul
//! anyway, `=avx2` runs the AVX2 kernel on an AVX-512 machine
//! (side-by-side runs of one binary).

use std::sync::OnceLock;

use half::f16;

type CResult<T> = candle_core::Result<T>;

/// Values per block.
pub(crate) const QK: usize = 32;
/// Weight rows interleaved in one group (one 512-bit register of i32 sums).
const LANES: usize = 16;
/// Activation rows per pass of the kernel over a group of weight rows.
pub(crate) const ROWS: usize = 8;

/// The block types this kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// `d: f16, qs: [u8; 16]`, `w = d * (q - 8)`.
    Q4_0,
    /// `d: f16, m: f16, qs: [u8; 16]`, `w = d * q + m`.
    Q4_1,
    /// `d: f16, qs: [i8; 32]`, `w = d * q`.
    Q8_0,
}

impl BlockKind {
    /// Bytes of one block in a GGUF file.
    fn file_bytes(self) -> usize {
        match self {
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q8_0 => 34,
        }
    }

    /// Bytes of codes per block (16 for 4-bit, 32 for 8-bit).
    pub(crate) fn code_bytes(self) -> usize {
        match self {
            Self::Q4_0 | Self::Q4_1 => 16,
            Self::Q8_0 => 32,
        }
    }
}

/// Which kernel computes the integer sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// AVX-512F/BW/VL and VNNI (`avx512.rs`).
    Vnni,
    /// AVX2, FMA and F16C (`avx2.rs`).
    Avx2,
    /// The scalar twin, [`dot_reference`].
    Scalar,
}

impl Kernel {
    /// Whether this CPU can run it.
    pub(crate) fn available(self) -> bool {
        match self {
            Self::Vnni => has_vnni(),
            Self::Avx2 => has_avx2(),
            Self::Scalar => true,
        }
    }
}

/// The kernel the decoder uses, or `None` for candle's quantised matmul:
/// AVX512-VNNI where present, else AVX2 + FMA + F16C, else candle.
/// `BCR_QUANT_KERNEL=0` picks candle (to compare the two in one binary),
/// `=avx2` the AVX2 kernel (where the CPU has it), `=scalar` the scalar
/// twin.
pub(crate) fn kernel() -> Option<Kernel> {
    static PICK: OnceLock<Option<Kernel>> = OnceLock::new();
    *PICK.get_or_init(|| pick(std::env::var("BCR_QUANT_KERNEL").ok().as_deref()))
}

fn pick(var: Option<&str>) -> Option<Kernel> {
    let best = [Kernel::Vnni, Kernel::Avx2].into_iter().find(|k| k.available());
    match var {
        Some("0") => None,
        Some("avx2") if has_avx2() => Some(Kernel::Avx2),
        Some("scalar") => Some(Kernel::Scalar),
        _ => best,
    }
}

/// Whether GGUF's Q4_0 / Q4_1 / Q8_0 matrices load for this kernel (else
/// for candle's quantised matmul, see [`kernel`]).
pub(crate) fn enabled() -> bool {
    kernel().is_some()
}

/// Whether AVX-512F/BW/VL are present (the activations' quantisation).
fn avx512() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(has_vnni)
}

fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::kernels::simd::has_avx512()
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A `(rows, cols)` matrix of quantised blocks in the kernel's layout (see
/// the module doc): the same bytes as the file's, regrouped.
#[derive(Debug, Clone)]
pub(crate) struct QMatrix {
    kind: BlockKind,
    rows: usize,
    cols: usize,
    /// Codes, `rows16 * cols / 32 * code_bytes` (`rows16`: rows rounded up
    /// to 16, the padding zero; Q8_0 codes stored as `q + 128`).
    qs: Vec<u8>,
    /// Scales, `rows16 * cols / 32`, 16 rows' per block together.
    d: Vec<f16>,
    /// Q4_1's offsets, like `d` (empty otherwise).
    m: Vec<f16>,
}

impl QMatrix {
    /// Regroups the blocks of a GGUF tensor with `rows` rows of `cols`
    /// values (`data`: whole blocks, row after row, as in the file).
    pub(crate) fn from_blocks(kind: BlockKind, rows: usize, cols: usize, data: &[u8]) -> Result<Self, String> {
        let bb = kind.file_bytes();
        if cols == 0 || !cols.is_multiple_of(QK) || data.len() != rows * cols / QK * bb {
            return Err(format!("{} bytes are not ({rows}, {cols}) values in {kind:?} blocks", data.len()));
        }
        let (nb, cb) = (cols / QK, kind.code_bytes());
        let scales = rows.next_multiple_of(LANES) * nb;
        let mut out = QMatrix {
            kind,
            rows,
            cols,
            qs: vec![0; scales * cb],
            d: vec![f16::ZERO; scales],
            m: if kind == BlockKind::Q4_1 { vec![f16::ZERO; scales] } else { Vec::new() },
        };
        let head = bb - cb;
        for (r, row) in data.chunks_exact(nb * bb).enumerate() {
            for (blk, block) in row.chunks_exact(bb).enumerate() {
                let at = out.scale_at(r, blk);
                out.d[at] = f16::from_le_bytes([block[0], block[1]]);
                if kind == BlockKind::Q4_1 {
                    out.m[at] = f16::from_le_bytes([block[2], block[3]]);
                }
                for (byte, &c) in block[head..].iter().enumerate() {
                    let i = out.code_at(r, blk, byte);
                    out.qs[i] = if kind == BlockKind::Q8_0 { c ^ 0x80 } else { c };
                }
            }
        }
        Ok(out)
    }

    /// Index of the scale (and offset) of block `blk` of row `r`.
    fn scale_at(&self, r: usize, blk: usize) -> usize {
        ((r / LANES) * (self.cols / QK) + blk) * LANES + r % LANES
    }

    /// Index of code byte `byte` of block `blk` of row `r` in `qs`.
    fn code_at(&self, r: usize, blk: usize, byte: usize) -> usize {
        let chunks = ((r / LANES) * (self.cols / QK) + blk) * LANES * self.kind.code_bytes();
        chunks + (byte / 4) * 4 * LANES + (r % LANES) * 4 + byte % 4
    }

    /// The block type.
    pub(crate) fn kind(&self) -> BlockKind {
        self.kind
    }

    /// `(rows, cols)`.
    pub(crate) fn dims(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The buffers a decode step reads (codes, scales, offsets).
    pub(crate) fn bytes(&self) -> [&[u8]; 3] {
        // SAFETY: f16 is two plain bytes.
        let b = |v: &[f16]| unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), v.len() * 2) };
        [&self.qs, b(&self.d), b(&self.m)]
    }

    /// The unsigned code of value `v` of block `blk` in row `r`
    /// (Q8_0: `q + 128`).
    fn code(&self, r: usize, blk: usize, v: usize) -> u8 {
        if self.kind == BlockKind::Q8_0 {
            return self.qs[self.code_at(r, blk, v)];
        }
        let byte = self.qs[self.code_at(r, blk, v % 16)];
        if v >= 16 {
            byte >> 4
        } else {
            byte & 0x0f
        }
    }

    /// Row `r` as f32 values (`out` holds `cols`).
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols / QK;
        for blk in 0..nb {
            let at = self.scale_at(r, blk);
            let d = self.d[at].to_f32();
            for v in 0..QK {
                let q = self.code(r, blk, v) as f32;
                out[blk * QK + v] = match self.kind {
                    BlockKind::Q4_0 => d * (q - 8.0),
                    BlockKind::Q4_1 => d * q + self.m[at].to_f32(),
                    BlockKind::Q8_0 => d * (q - 128.0),
                };
            }
        }
    }
}

/// Activation rows quantised per 32-value block (see the module doc).
pub(crate) struct QActs {
    k: usize,
    /// Codes, `m * k`, row-major.
    q: Vec<i8>,
    /// `dx` per block (an f16 value).
    d: Vec<f32>,
    /// `sx = f16(dx * nx)` per block.
    s: Vec<f32>,
    /// `nx = sum(qx)` per block.
    n: Vec<i32>,
}

impl QActs {
    /// Quantises the `m` rows of `x` (`(m, k)`, `k` a multiple of 32):
    /// `dx = max|x| / 127`, `qx = round(x * 127 / max|x|)` (to nearest, ties
    /// to even),
    /// `dx` and `sx = dx * sum(qx)` rounded to f16, as llama.cpp keeps them.
    pub(crate) fn new(x: &[f32], m: usize, k: usize) -> Self {
        let blocks = m * k / QK;
        let mut a = QActs { k, q: vec![0; m * k], d: vec![0.0; blocks], s: vec![0.0; blocks], n: vec![0; blocks] };
        for (b, (xs, qs)) in x.chunks_exact(QK).zip(a.q.chunks_exact_mut(QK)).enumerate() {
            let (q, d, sum) = quantize_block(xs.try_into().expect("a whole block"));
            qs.copy_from_slice(&q);
            a.d[b] = as_f16(d);
            a.s[b] = as_f16(d * sum as f32);
            a.n[b] = sum;
        }
        a
    }

    fn q_at(&self, r: usize, blk: usize, v: usize) -> i8 {
        self.q[r * self.k + blk * QK + v]
    }
}

/// `v` rounded to f16 as llama.cpp stores its activation scales, or `v`
/// itself where f16 would overflow (llama.cpp's would be infinite).
fn as_f16(v: f32) -> f32 {
    let h = f16::from_f32(v).to_f32();
    if h.is_finite() {
        h
    } else {
        v
    }
}

/// One block to int8: (codes, `dx`, sum of the codes). The scalar twin's
/// rounding adds and
/// subtracts 1.5 * 2^23 (to nearest, ties to even, for |t| <= 127), which
/// vectorises where `f32::round` calls libm.
fn quantize_block(xs: &[f32; QK]) -> ([i8; QK], f32, i32) {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: AVX-512F/BW/VL were detected.
        return unsafe { avx512::quantize_block(xs) };
    }
    quantize_block_scalar(xs)
}

fn quantize_block_scalar(xs: &[f32; QK]) -> ([i8; QK], f32, i32) {
    const MAGIC: f32 = 12_582_912.0;
    let amax = xs.iter().fold(0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let q: [i8; QK] = std::array::from_fn(|v| (((xs[v] * id + MAGIC) - MAGIC) as i32).clamp(-127, 127) as i8);
    let sum = q.iter().map(|&v| v as i32).sum();
    (q, d, sum)
}

/// The scalar twin of the kernel: row `j` of `w` against activation row `r`,
/// the same integer sums and per-block formulas (the f32 sums in another
/// order).
pub(crate) fn dot_reference(w: &QMatrix, j: usize, a: &QActs, r: usize) -> f32 {
    let nb = w.cols / QK;
    let mut acc = 0f32;
    for blk in 0..nb {
        let s: i32 = (0..QK).map(|v| w.code(j, blk, v) as i32 * a.q_at(r, blk, v) as i32).sum();
        let (dx, sx, nx) = (a.d[r * nb + blk], a.s[r * nb + blk], a.n[r * nb + blk]);
        let at = w.scale_at(j, blk);
        let scale = w.d[at].to_f32() * dx;
        acc += match w.kind {
            BlockKind::Q4_0 => scale * (s - 8 * nx) as f32,
            BlockKind::Q4_1 => scale * s as f32 + w.m[at].to_f32() * sx,
            BlockKind::Q8_0 => scale * (s - 128 * nx) as f32,
        };
    }
    acc
}

/// `[x @ w_i^T]` for weights that share the input `x` (`(m, k)`): one
/// quantisation of `x` and one parallel region. Errors unless every `w_i`
/// has `k` columns and `x` holds `m * k` values.
pub(crate) fn matmul_many(x: &[f32], ws: &[&QMatrix], m: usize, k: usize) -> CResult<Vec<Vec<f32>>> {
    matmul_many_with(kernel().unwrap_or(Kernel::Scalar), x, ws, m, k)
}

/// [`matmul_many`] on kernel `kernel` (which must be
/// [`Kernel::available`]; else the scalar twin runs).
pub(crate) fn matmul_many_with(
    kernel: Kernel,
    x: &[f32],
    ws: &[&QMatrix],
    m: usize,
    k: usize,
) -> CResult<Vec<Vec<f32>>> {
    if k == 0 || !k.is_multiple_of(QK) || x.len() != m * k || ws.iter().any(|w| w.cols != k) {
        candle_core::bail!(
            "quantised matmul: input of {} values is not ({m}, {k}) for weights {:?}",
            x.len(),
            ws.iter().map(|w| w.dims()).collect::<Vec<_>>()
        );
    }
    let a = QActs::new(x, m, k);
    let ns: Vec<usize> = ws.iter().map(|w| w.rows).collect();
    let kernel = if kernel.available() { kernel } else { Kernel::Scalar };
    // Tasks of whole groups of 16 rows, about 128 of them over all weights.
    let groups: usize = ns.iter().map(|n| n.div_ceil(LANES)).sum();
    let block = LANES * groups.div_ceil(128).max(1);
    Ok(crate::kernels::skinny::drive_rows(&ns, m, block, |i, n, n0, n1, y| {
        let w = ws[i];
        #[cfg(target_arch = "x86_64")]
        #[cfg(target_arch = "x86_64")]
        match kernel {
            // SAFETY: AVX-512F/BW/VL and VNNI were detected; `drive_rows`
            // passes rows n0..n1 <= n of w, whose columns (k) match `a`,
            // and y points at an (m, n) output.
            Kernel::Vnni => return unsafe { avx512::block(w, &a, m, n0, n1, y, n) },
            // SAFETY: AVX2, FMA and F16C were detected; as above.
            Kernel::Avx2 => return unsafe { avx2::block(w, &a, m, n0, n1, y, n) },
            Kernel::Scalar => {}
        }
        let _ = kernel;
        for r in 0..m {
            for j in n0..n1 {
                // SAFETY: y points at an (m, n) output and j < n1 <= n.
                unsafe { *y.add(r * n + j) = dot_reference(w, j, &a, r) };
            }
        }
    }))
}

/// `x @ w^T` for any number of rows `m` of `x` (`(m, k)`): prompts run
/// [`matmul_many`] 64 rows at a time (the quantised activations of a part
/// stay in L2 while every block of weight rows passes over them).
pub(crate) fn matmul(x: &[f32], w: &QMatrix, m: usize, k: usize) -> CResult<Vec<f32>> {
    matmul_with(kernel().unwrap_or(Kernel::Scalar), x, w, m, k)
}

/// [`matmul`] on kernel `kernel` (see [`matmul_many_with`]).
pub(crate) fn matmul_with(kernel: Kernel, x: &[f32], w: &QMatrix, m: usize, k: usize) -> CResult<Vec<f32>> {
    let part = crate::kernels::skinny::MAX_ROWS;
    if m <= part {
        return Ok(matmul_many_with(kernel, x, &[w], m, k)?.remove(0));
    }
    let mut y = Vec::with_capacity(m * w.rows);
    for r0 in (0..m).step_by(part) {
        let len = part.min(m - r0);
        let x = x.get(r0 * k..(r0 + len) * k).unwrap_or_default();
        y.extend(matmul_many_with(kernel, x, &[w], len, k)?.remove(0));
    }
    Ok(y)
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing;
