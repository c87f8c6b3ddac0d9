/* conv2d_smallk_ref.c: the small-K conv2d kernels (conv2d_smallk_body.h) in portable C with
 * 16-byte vectors; always built, the fallback. Also the dispatcher the drivers call. */
#include "conv2d_smallk.h"

#define SK_ISA ref
#define SK_VBYTES 16
#define SK_ACC 12
#include "conv2d_smallk_dtypes.h"

/* Vector width of the active SIMD level, in bytes. */
static int64_t active_vector_bytes(void)
{
    if (tk_simd_active == TK_SIMD_AVX512) return 64;
    if (tk_simd_active == TK_SIMD_AVX2) return 32;
    return 16;
}

static int is_small(size_t es, int64_t k, int64_t ncols)
{
    return k <= CONV_SMALLK_MAX_K && ncols <= CONV_SMALLK_MAX_VECS * active_vector_bytes() / (int64_t)es;
}

conv_igemm_fn conv_smallk_igemm(size_t es, int64_t k, int64_t ncols)
{
    if (!is_small(es, k, ncols)) return NULL;
    if (tk_simd_active == TK_SIMD_AVX512)
        return es == 4 ? conv_smallk_igemm_f32_avx512 : conv_smallk_igemm_f64_avx512;
    if (tk_simd_active == TK_SIMD_AVX2)
        return es == 4 ? conv_smallk_igemm_f32_avx2 : conv_smallk_igemm_f64_avx2;
    return es == 4 ? conv_smallk_igemm_f32_ref : conv_smallk_igemm_f64_ref;
}

conv_wgrad_fn conv_smallk_wgrad(size_t es, int64_t k, int64_t ncols)
{
    if (!is_small(es, k, ncols)) return NULL;
    if (tk_simd_active == TK_SIMD_AVX512)
        return es == 4 ? conv_smallk_wgrad_f32_avx512 : conv_smallk_wgrad_f64_avx512;
    if (tk_simd_active == TK_SIMD_AVX2)
        return es == 4 ? conv_smallk_wgrad_f32_avx2 : conv_smallk_wgrad_f64_avx2;
    return es == 4 ? conv_smallk_wgrad_f32_ref : conv_smallk_wgrad_f64_ref;
}
