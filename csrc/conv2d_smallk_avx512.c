/* conv2d_smallk_avx512.c: the small-K conv2d kernels (conv2d_smallk_body.h) for AVX-512: up to 24
 * of the 32 zmm registers hold accumulators (12 pixels x 2 vectors for 32 float channels). */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "conv2d_smallk.h"

#define SK_ISA avx512
#define SK_VBYTES 64
#define SK_ACC 24
#include "conv2d_smallk_dtypes.h"
