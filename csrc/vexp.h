/* vexp.h: our vectorized float32 exp for AVX-512 and AVX2+FMA (the portable path calls expf).
 * exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n*ln2 (Cody-Waite: ln2 split in a short high
 * part, so n*LN2_HI is exact, and a low correction), |r| <= ln2/2. exp(r) is the degree-7 Taylor
 * polynomial, whose truncation error (r^8/8! < 6e-9 relative) sits far below float32's half ulp:
 * the result is within 1 ulp of exp (0.87 ulp measured over [-87, 88.7]; degree 6 reached 2.7).
 * Inputs are clamped to at most 89: x > ln(FLT_MAX) gives +inf through the scaling itself. x < -87
 * (exp < 1.7e-38, the denormal range) gives exactly 0, as does -inf, through a mask: producing
 * denormals costs a microcode assist per instruction on x86 (it made the softmax of short rows,
 * whose padding lanes are -inf, 10x slower). AVX2 also clamps below at -87, so that no lane
 * computes a denormal before the mask; AVX-512's masked scale skips those lanes. NaN passes
 * through: the clamps put the constant first (max/min return their second operand when one is
 * NaN), and the flush-to-zero mask is "not less than", true for NaN.
 * tk_vexp_nonpos_* serve the sums of log-sum-exp, whose arguments are x - max <= 0 (or NaN), and
 * which only add their results: no overflow clamp, a one-step reduction r = x - n*ln2 (ln2's float
 * rounding, 1.9e-9, times |n| errs where terms are tiny against the max's 1) and a degree-6
 * polynomial fitted for least maximum relative error on |r| <= ln2/2 with p(0) = 1 exactly
 * (0.81 ulp measured in float32 Horner form): 11 instructions instead of 14. tk_vexp_* keep the
 * Taylor polynomial: with the fitted one the exps they store reached 1.02 ulp over [-87, 88.7]
 * (a 2M-point grid), against 0.90.
 * The vector log serves log-sum-exp's sums, which are 0 or at least 1 (or NaN): log(s) = e*ln2 +
 * log(m) with s = 2^e * m, m in [sqrt(1/2), sqrt(2)), and log(m) = 2 atanh(u), u = (m-1)/(m+1),
 * |u| < 0.172, by its odd series to u^9 (truncation < 3e-9 relative). log(0) = -inf, NaN stays NaN.
 * Included only by files compiled for these ISAs (their own #pragma GCC target). */
#ifndef TK_VEXP_H
#define TK_VEXP_H
#include <immintrin.h>
#include <math.h>

#define TK_EXP_LO -87.0f /* below: exp is flushed to 0 (exp(-87) = 1.6e-38 is still normal) */
#define TK_EXP_HI 89.0f   /* above log(FLT_MAX): exp overflows to inf */
#define TK_LOG2E 1.44269504088896341f
#define TK_LN2_HI 0.693359375f
#define TK_LN2_LO -2.12194440e-4f
#define TK_SQRT2 1.41421356f
#define TK_LN2 0.693147181f
/* The nonpos polynomial: exp(r) ~ 1 + r*(C1 + r*(C2 + ... + r*C6)). */
#define TK_EXP_C1 1.0f
#define TK_EXP_C2 0.4999999404f
#define TK_EXP_C3 0.1666643173f
#define TK_EXP_C4 0.04166800156f
#define TK_EXP_C5 0.008374155499f
#define TK_EXP_C6 0.001384365256f

#ifdef __AVX512F__
static inline __m512 tk_vexp_avx512(__m512 x) {
    __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(TK_EXP_LO), _CMP_NLT_UQ);
    x = _mm512_min_ps(_mm512_set1_ps(TK_EXP_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(TK_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(TK_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(TK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    /* scalef multiplies by 2^n with IEEE overflow to inf; flushed lanes are zeroed by the mask. */
    return _mm512_maskz_scalef_ps(keep, p, n);
}

/* exp(d) for d <= 0 or NaN (see the top of the file); d < -87 and -inf give 0. */
static inline __m512 tk_vexp_nonpos_avx512(__m512 d) {
    __mmask16 keep = _mm512_cmp_ps_mask(d, _mm512_set1_ps(TK_EXP_LO), _CMP_NLT_UQ);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(d, _mm512_set1_ps(TK_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(TK_LN2), d);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(TK_EXP_C6), r, _mm512_set1_ps(TK_EXP_C5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TK_EXP_C1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
}

/* log(s) for s = 0, s >= FLT_MIN or NaN (see the top of the file). */
static inline __m512 tk_vlog_avx512(__m512 s) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = _mm512_getexp_ps(s); /* floor(log2 s); -inf for 0, NaN for NaN */
    __m512 m = _mm512_getmant_ps(s, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    __mmask16 high = _mm512_cmp_ps_mask(m, _mm512_set1_ps(TK_SQRT2), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, high, m, _mm512_set1_ps(0.5f));
    e = _mm512_mask_add_ps(e, high, e, one);
    __m512 u = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
    __m512 u2 = _mm512_mul_ps(u, u);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 9.0f), u2, _mm512_set1_ps(1.0f / 7.0f));
    p = _mm512_fmadd_ps(p, u2, _mm512_set1_ps(1.0f / 5.0f));
    p = _mm512_fmadd_ps(p, u2, _mm512_set1_ps(1.0f / 3.0f));
    p = _mm512_fmadd_ps(p, u2, one);
    __m512 log_m = _mm512_mul_ps(_mm512_add_ps(u, u), p);
    return _mm512_fmadd_ps(e, _mm512_set1_ps(TK_LN2), log_m); /* e = -inf for 0: -inf */
}
#endif

#ifdef __AVX2__
static inline __m256 tk_vexp_avx2(__m256 x) {
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(TK_EXP_LO), _CMP_NLT_UQ);
    x = _mm256_min_ps(_mm256_set1_ps(TK_EXP_HI), _mm256_max_ps(_mm256_set1_ps(TK_EXP_LO), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(TK_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(TK_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(TK_LN2_LO), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* n spans [-126, 129]: 2^128 and 2^129 do not fit one float exponent, so scale by 2^(n/2)
     * twice; the product overflows to inf exactly where exp does. */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i half = _mm256_srai_epi32(ni, 1);
    __m256i rest = _mm256_sub_epi32(ni, half);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(rest, bias), 23));
    return _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(p, s1), s2), keep);
}

/* exp(d) for d <= 0 or NaN (see the top of the file); d < -87 and -inf give 0. The clamp keeps
 * n >= -126, so 2^n is one normal float built from its exponent bits. */
static inline __m256 tk_vexp_nonpos_avx2(__m256 d) {
    __m256 keep = _mm256_cmp_ps(d, _mm256_set1_ps(TK_EXP_LO), _CMP_NLT_UQ);
    d = _mm256_max_ps(_mm256_set1_ps(TK_EXP_LO), d);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(d, _mm256_set1_ps(TK_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(TK_LN2), d);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(TK_EXP_C6), r, _mm256_set1_ps(TK_EXP_C5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(TK_EXP_C1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                      _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), keep);
}

/* log(s) for s = 0, s >= FLT_MIN or NaN (see the top of the file). */
static inline __m256 tk_vlog_avx2(__m256 s) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i bits = _mm256_castps_si256(s);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23),
                                                   _mm256_set1_epi32(127)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_castps_si256(one)));
    __m256 high = _mm256_cmp_ps(m, _mm256_set1_ps(TK_SQRT2), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), high);
    e = _mm256_add_ps(e, _mm256_and_ps(high, one));
    __m256 u = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
    __m256 u2 = _mm256_mul_ps(u, u);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 9.0f), u2, _mm256_set1_ps(1.0f / 7.0f));
    p = _mm256_fmadd_ps(p, u2, _mm256_set1_ps(1.0f / 5.0f));
    p = _mm256_fmadd_ps(p, u2, _mm256_set1_ps(1.0f / 3.0f));
    p = _mm256_fmadd_ps(p, u2, one);
    __m256 log_m = _mm256_mul_ps(_mm256_add_ps(u, u), p);
    __m256 r = _mm256_fmadd_ps(e, _mm256_set1_ps(TK_LN2), log_m);
    r = _mm256_blendv_ps(r, _mm256_set1_ps(-INFINITY),
                         _mm256_cmp_ps(s, _mm256_setzero_ps(), _CMP_EQ_OQ));
    return _mm256_blendv_ps(r, s, _mm256_cmp_ps(s, s, _CMP_UNORD_Q));
}
#endif

#endif
