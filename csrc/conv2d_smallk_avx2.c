/* conv2d_smallk_avx2.c: the small-K conv2d kernels (conv2d_smallk_body.h) for AVX2+FMA: up to 12
 * of the 16 ymm registers hold accumulators. */
#pragma GCC target("avx2,fma")
#include "conv2d_smallk.h"

#define SK_ISA avx2
#define SK_VBYTES 32
#define SK_ACC 12
#include "conv2d_smallk_dtypes.h"
