/* rows_avx512.c: rows_body.h compiled for AVX-512 (16 float lanes; masked loads/stores for row
 * tails). */
#if defined(__x86_64__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#include <float.h>
#include <math.h>
#include "rows.h"
#include "vexp.h"

#define T float
#define T_BIG FLT_MAX
#define T_INF INFINITY
#define LOG_S logf
#define V __m512
#define VL 16
#define V_SET1 _mm512_set1_ps
#define V_LOAD _mm512_loadu_ps
#define V_STORE _mm512_storeu_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_MAX _mm512_max_ps
#define V_FMA _mm512_fmadd_ps
#define V_EXP tk_vexp_avx512
#define V_EXP_SUM tk_vexp_nonpos_avx512 /* exps only summed: x - max <= 0 */
#define V_HMAX _mm512_reduce_max_ps
#define V_HSUM _mm512_reduce_add_ps
#define TAIL_MASK(n) ((__mmask16)((1u << (n)) - 1u))
#define V_LOAD_TAIL(p, n, fill) _mm512_mask_loadu_ps(_mm512_set1_ps(fill), TAIL_MASK(n), (p))
#define V_STORE_TAIL(p, n, v) _mm512_mask_storeu_ps((p), TAIL_MASK(n), (v))
#define V_ANY_GT(a, b) (_mm512_cmp_ps_mask((a), (b), _CMP_GT_OQ) != 0)
/* One row per lane: lane l reads x[l * cols + j] (the first n lanes; the others read nothing). */
#define VI __m512i
#define V_LANE_ROWS(cols) \
    _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), \
                       _mm512_set1_epi32((int)(cols)))
#define V_GATHER(p, vi, n) \
    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), TAIL_MASK_ALL(n), (vi), (p), 4)
#define TAIL_MASK_ALL(n) ((n) >= 16 ? (__mmask16)0xffff : TAIL_MASK(n))
/* m + log(s), or m itself where m = +inf (s is NaN there: exp(inf - inf)). */
#define V_LSE(m, s) \
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask((m), _mm512_set1_ps(INFINITY), _CMP_EQ_OQ), \
                         _mm512_add_ps((m), tk_vlog_avx512(s)), (m))
#define ROWS_SUFFIX avx512
#include "rows_body.h"
#endif
