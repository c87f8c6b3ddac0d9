/* rows_avx2.c: rows_body.h compiled for AVX2+FMA (8 float lanes; maskload/maskstore for row tails). */
#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#include <float.h>
#include <math.h>
#include "rows.h"
#include "vexp.h"

static inline __m256i tail_mask_avx2(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Horizontal reductions: fold 256 -> 128 -> 64 -> 32 bits. */
static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

static inline float hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}

static inline __m256 load_tail_avx2(const float *p, int64_t n, float fill) {
    __m256i mask = tail_mask_avx2(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask),
                            _mm256_castsi256_ps(mask));
}

#define T float
#define T_BIG FLT_MAX
#define T_INF INFINITY
#define LOG_S logf
#define V __m256
#define VL 8
#define V_SET1 _mm256_set1_ps
#define V_LOAD _mm256_loadu_ps
#define V_STORE _mm256_storeu_ps
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_MAX _mm256_max_ps
#define V_FMA _mm256_fmadd_ps
#define V_EXP tk_vexp_avx2
#define V_EXP_SUM tk_vexp_nonpos_avx2 /* exps only summed: x - max <= 0 */
#define V_HMAX hmax_avx2
#define V_HSUM hsum_avx2
#define V_LOAD_TAIL load_tail_avx2
#define V_STORE_TAIL(p, n, v) _mm256_maskstore_ps((p), tail_mask_avx2(n), (v))
#define V_ANY_GT(a, b) (_mm256_movemask_ps(_mm256_cmp_ps((a), (b), _CMP_GT_OQ)) != 0)
/* One row per lane: lane l reads x[l * cols + j] (the first n lanes; the others read nothing). */
#define VI __m256i
#define V_LANE_ROWS(cols) \
    _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)(cols)))
#define V_GATHER(p, vi, n) \
    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), (p), (vi), \
                             _mm256_castsi256_ps(tail_mask_avx2(n)), 4)
/* m + log(s), or m itself where m = +inf (s is NaN there: exp(inf - inf)). */
#define V_LSE(m, s) \
    _mm256_blendv_ps(_mm256_add_ps((m), tk_vlog_avx2(s)), (m), \
                     _mm256_cmp_ps((m), _mm256_set1_ps(INFINITY), _CMP_EQ_OQ))
#define ROWS_SUFFIX avx2
#include "rows_body.h"
#endif
