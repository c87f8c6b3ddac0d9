/* conv2d_ukernel_avx512.c: the conv2d tile kernels for AVX-512: 7 x 4 and 6 x 4 tiles, 28 and 24 of
 * the 32 zmm registers (7 rows measured 2-6% faster than 6; the broadcasts then come straight
 * from memory). The body is conv2d_ukernel.h, included once per dtype. */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "conv2d_internal.h"

#define CK_ISA avx512
#define CK_VBYTES 64
#define CK_IG_ROWS 7
#define CK_IG_VECS 4
#define CK_WG_ROWS 6
#define CK_WG_VECS 4
#define CK_KC_BYTES 32768 /* measured: 4-6% faster forward than 16 KiB, 8 KiB slower */

#define CK_T float
#define CK_SUF f32
#include "conv2d_ukernel.h"
#undef CK_T
#undef CK_SUF

#define CK_T double
#define CK_SUF f64
#include "conv2d_ukernel.h"
