/* conv2d_winograd_avx2.c: the Winograd kernels (conv2d_winograd_body.h) for AVX2+FMA: 6 x 2 and
 * 4 x 2 tiles of the 16 ymm registers. */
#pragma GCC target("avx2,fma")
#include "conv2d_winograd.h"

#define WB_ISA avx2
#define WB_VBYTES 32
#define WB_ROWS 6
#define WB_VECS 2
#define WB_WG_ROWS 4
#define WB_WG_VECS 2
#include "conv2d_winograd_dtypes.h"
