/* conv2d_winograd_avx512.c: the Winograd kernels (conv2d_winograd_body.h) for AVX-512: a 6 x 4
 * GEMM tile (24 accumulators, 4 operand vectors and a broadcast of the 32 zmm registers) and a
 * 4 x 4 weight-gradient tile (4 channels divide the usual channel counts). */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "conv2d_winograd.h"

#define WB_ISA avx512
#define WB_VBYTES 64
#define WB_ROWS 6
#define WB_VECS 4
#define WB_WG_ROWS 4
#define WB_WG_VECS 4
#include "conv2d_winograd_dtypes.h"
