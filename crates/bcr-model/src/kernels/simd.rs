//! AVX-512 building blocks shared by the CPU kernels (`skinny`, `attend`,
//! `fused`): the run-time feature check and 16-lane f32 row primitives
//! (`exp`, softmax, SiLU) that the scalar libm calls cannot vectorise.
//!
//! Every primitive has a scalar twin in `fused` that serves CPUs without
//! AVX-512F and the f64 path; the tests here compare the two.

/// Whether this CPU has AVX-512F (cached by std).
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU has the AVX-512 bf16 dot product (`vdpbf16ps`, Zen 4,
/// Sapphire Rapids and later) with AVX-512BW's 16-bit masked loads and
/// stores (the 256-bit store needs AVX-512VL).
pub(crate) fn has_avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx512()
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// Lane mask of the first `n` lanes (`n <= 16`).
    #[inline]
    fn tail(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// `exp(x)` on 16 lanes: `x = n ln2 + r`, `|r| <= ln2 / 2`, a degree-7
    /// Taylor polynomial for `e^r` (truncation below 1e-8 relative), then
    /// `2^n` by `vscalefps`. Below -103 (and at -inf) the result is exactly
    /// 0; past the f32 range (about 88.72) it is `inf`; NaN stays NaN.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn exp(x: __m512) -> __m512 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        // ln 2 split in a part exact in few bits and the rest (Cody-Waite).
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        let live = _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(x, _mm512_set1_ps(-103.0));
        let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
        let xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0)), _mm512_set1_ps(89.0));
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm512_mul_ps(
            xc,
            _mm512_set1_ps(LOG2E),
        ));
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), xc);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let mut p = _mm512_set1_ps(1.0 / 5040.0);
        for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let y = _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, n));
        _mm512_mask_mov_ps(y, nan, x)
    }

    /// The lanes of the 16-lane chunk at offset `i` of a row of `n`.
    #[inline]
    fn lanes(i: usize, n: usize) -> __mmask16 {
        if i + 16 <= n {
            0xffff
        } else {
            tail(n - i)
        }
    }

    /// `r[i] = sum of the 16 lanes of v[i]`, in 45 instructions instead of
    /// 16 separate horizontal sums: pairs are interleaved and added within
    /// 128-bit lanes (32-bit, then 64-bit granules), then across lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn reduce16(v: &[__m512; 16]) -> __m512 {
        // 16 -> 8: lane L of s[p] holds partial sums of v[2p] (slots 0, 2)
        // and v[2p + 1] (slots 1, 3).
        let mut s = [_mm512_setzero_ps(); 8];
        for (p, o) in s.iter_mut().enumerate() {
            let (a, b) = (v[2 * p], v[2 * p + 1]);
            *o = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        }
        // 8 -> 4: lane L of t[q] holds partial sums of v[4q..4q + 4], in order.
        let mut t = [_mm512_setzero_ps(); 4];
        for (q, o) in t.iter_mut().enumerate() {
            let (a, b) = (_mm512_castps_pd(s[2 * q]), _mm512_castps_pd(s[2 * q + 1]));
            *o = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
        }
        // 4 -> 2 -> 1: add the four 128-bit lanes of each t[q] together,
        // landing t[q]'s sums in lane q.
        let x0 = even_odd(t[0], t[1]);
        let x1 = even_odd(t[2], t[3]);
        even_odd(x0, x1)
    }

    /// `[a.L0 + a.L1, a.L2 + a.L3, b.L0 + b.L1, b.L2 + b.L3]` over 128-bit lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn even_odd(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(_mm512_shuffle_f32x4::<0b10_00_10_00>(a, b), _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b))
    }

    /// `y = softmax(scale * x + mask)` over one row. Masked (`-inf`)
    /// entries get exactly 0.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `y` and `mask` as long as `x`.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn softmax_row(x: &[f32], mask: Option<&[f32]>, scale: f32, y: &mut [f32]) {
        let n = x.len();
        assert!(y.len() == n && mask.is_none_or(|m| m.len() == n));
        let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
        let sc = _mm512_set1_ps(scale);
        let mut vmax = _mm512_set1_ps(f32::NEG_INFINITY);
        // SAFETY: every chunk lies inside the rows (n lanes, masked tail).
        unsafe {
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let mut z = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, xp.add(i)), sc);
                if let Some(m) = mask {
                    z = _mm512_add_ps(z, _mm512_maskz_loadu_ps(k, m.as_ptr().add(i)));
                }
                _mm512_mask_storeu_ps(yp.add(i), k, z);
                vmax = _mm512_mask_max_ps(vmax, k, vmax, z);
            }
            let max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
            let mut vsum = _mm512_setzero_ps();
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let e = exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, yp.add(i)), max));
                _mm512_mask_storeu_ps(yp.add(i), k, e);
                vsum = _mm512_mask_add_ps(vsum, k, vsum, e);
            }
            let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(vsum));
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                _mm512_mask_storeu_ps(yp.add(i), k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, yp.add(i)), inv));
            }
        }
    }

    /// Softmax backward over one row: `dx = scale * y * (g - sum(g * y))`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; all slices of one length.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn softmax_bwd_row(y: &[f32], g: &[f32], scale: f32, dx: &mut [f32]) {
        let n = y.len();
        assert!(g.len() == n && dx.len() == n);
        let (yp, gp, dp) = (y.as_ptr(), g.as_ptr(), dx.as_mut_ptr());
        // SAFETY: every chunk lies inside the rows (n lanes, masked tail).
        unsafe {
            let mut vdot = _mm512_setzero_ps();
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                vdot = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, yp.add(i)), _mm512_maskz_loadu_ps(k, gp.add(i)), vdot);
            }
            let dot = _mm512_set1_ps(_mm512_reduce_add_ps(vdot));
            let sc = _mm512_set1_ps(scale);
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let yv = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, yp.add(i)), sc);
                let d = _mm512_mul_ps(yv, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, gp.add(i)), dot));
                _mm512_mask_storeu_ps(dp.add(i), k, d);
            }
        }
    }

    /// `sigmoid(a)` on 16 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sigmoid(a: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        _mm512_div_ps(one, _mm512_add_ps(one, exp(_mm512_sub_ps(_mm512_setzero_ps(), a))))
    }

    /// `y = silu(a) * b = a * sigmoid(a) * b`, elementwise.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; all slices of one length.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn silu_mul(a: &[f32], b: &[f32], y: &mut [f32]) {
        let n = a.len();
        assert!(b.len() == n && y.len() == n);
        let (ap, bp, yp) = (a.as_ptr(), b.as_ptr(), y.as_mut_ptr());
        // SAFETY: every chunk lies inside the slices (n lanes, masked tail).
        unsafe {
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let av = _mm512_maskz_loadu_ps(k, ap.add(i));
                let s = _mm512_mul_ps(av, sigmoid(av));
                _mm512_mask_storeu_ps(yp.add(i), k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, bp.add(i))));
            }
        }
    }

    /// Gradients of `y = silu(a) * b` given `gy`, with `s = sigmoid(a)`:
    /// `da = gy * b * s * (1 + a * (1 - s))`, `db = gy * a * s`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; all slices of one length.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn silu_mul_bwd(a: &[f32], b: &[f32], gy: &[f32], da: &mut [f32], db: &mut [f32]) {
        let n = a.len();
        assert!(b.len() == n && gy.len() == n && da.len() == n && db.len() == n);
        let (ap, bp, gp) = (a.as_ptr(), b.as_ptr(), gy.as_ptr());
        let (dap, dbp) = (da.as_mut_ptr(), db.as_mut_ptr());
        let one = _mm512_set1_ps(1.0);
        // SAFETY: every chunk lies inside the slices (n lanes, masked tail).
        unsafe {
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let av = _mm512_maskz_loadu_ps(k, ap.add(i));
                let gv = _mm512_maskz_loadu_ps(k, gp.add(i));
                let s = sigmoid(av);
                let silu = _mm512_mul_ps(av, s);
                let ds = _mm512_mul_ps(s, _mm512_fmadd_ps(av, _mm512_sub_ps(one, s), one));
                let gb = _mm512_mul_ps(gv, _mm512_maskz_loadu_ps(k, bp.add(i)));
                _mm512_mask_storeu_ps(dap.add(i), k, _mm512_mul_ps(gb, ds));
                _mm512_mask_storeu_ps(dbp.add(i), k, _mm512_mul_ps(gv, silu));
            }
        }
    }

    /// `(logsumexp(x), sum(softmax(x) * x))` over one row, in two passes
    /// (the max, then the exponentials with both sums).
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn lse_row(x: &[f32]) -> (f32, f32) {
        let n = x.len();
        let xp = x.as_ptr();
        // SAFETY: every chunk lies inside the row (n lanes, masked tail).
        unsafe {
            let mut vmax = _mm512_set1_ps(f32::NEG_INFINITY);
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                vmax = _mm512_mask_max_ps(vmax, k, vmax, _mm512_maskz_loadu_ps(k, xp.add(i)));
            }
            let m = _mm512_reduce_max_ps(vmax);
            let mv = _mm512_set1_ps(m);
            let (mut vs, mut vt) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let xv = _mm512_maskz_loadu_ps(k, xp.add(i));
                let e = _mm512_maskz_mov_ps(k, exp(_mm512_sub_ps(xv, mv)));
                vs = _mm512_add_ps(vs, e);
                vt = _mm512_fmadd_ps(e, xv, vt);
            }
            let (s, t) = (_mm512_reduce_add_ps(vs), _mm512_reduce_add_ps(vt));
            (m + s.ln(), t / s)
        }
    }

    /// `dx = c * exp(x - lse) * (x - shift)`, or `c * exp(x - lse)` when
    /// `shift` is None: the backward rows of log-softmax and entropy.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; `dx` as long as `x`.
    #[target_feature(enable = "avx512f")]
    pub(crate) fn softmax_scale_row(x: &[f32], lse: f32, c: f32, shift: Option<f32>, dx: &mut [f32]) {
        let n = x.len();
        assert!(dx.len() == n);
        let (xp, dp) = (x.as_ptr(), dx.as_mut_ptr());
        let (lv, cv) = (_mm512_set1_ps(lse), _mm512_set1_ps(c));
        // SAFETY: every chunk lies inside the rows (n lanes, masked tail).
        unsafe {
            for i in (0..n).step_by(16) {
                let k = lanes(i, n);
                let xv = _mm512_maskz_loadu_ps(k, xp.add(i));
                let mut d = _mm512_mul_ps(cv, exp(_mm512_sub_ps(xv, lv)));
                if let Some(sh) = shift {
                    d = _mm512_mul_ps(d, _mm512_sub_ps(xv, _mm512_set1_ps(sh)));
                }
                _mm512_mask_storeu_ps(dp.add(i), k, d);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exp_is_accurate_and_exact_at_the_edges() {
            if !super::super::has_avx512() {
                eprintln!("skipped: this CPU has no AVX-512F");
                return;
            }
            let mut xs: Vec<f32> = (0..4000).map(|i| -100.0 + i as f32 * 0.047).collect();
            xs.extend([0.0, -0.0, 1e-30, -103.5, f32::NEG_INFINITY, 89.0, f32::INFINITY, f32::NAN, -87.5, 88.5]);
            for c in xs.chunks(16) {
                let mut buf = [0f32; 16];
                buf[..c.len()].copy_from_slice(c);
                let mut out = [0f32; 16];
                // SAFETY: AVX-512F checked above.
                unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp(_mm512_loadu_ps(buf.as_ptr()))) };
                for (&x, &y) in c.iter().zip(&out) {
                    let want = (x as f64).exp();
                    if x.is_nan() {
                        assert!(y.is_nan());
                    } else if x < -103.0 {
                        assert_eq!(y, 0.0, "exp({x})");
                    } else if want > f32::MAX as f64 {
                        assert_eq!(y, f32::INFINITY, "exp({x})");
                    } else if want > 1e-37 {
                        let rel = ((y as f64 - want) / want).abs();
                        assert!(rel < 3e-7, "exp({x}) = {y}, want {want}, rel {rel}");
                    } else {
                        assert!((y as f64 - want).abs() < 1e-38, "exp({x}) = {y}, want {want}");
                    }
                }
            }
        }
    }
}
