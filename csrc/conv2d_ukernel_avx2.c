/* conv2d_ukernel_avx2.c: the conv2d tile kernels for AVX2+FMA (16 ymm registers: 6x2 tiles).
 * The body is conv2d_ukernel.h, instantiated per dtype by conv2d_ukernel_dtypes.h. */
#pragma GCC target("avx2,fma")
#include "conv2d_internal.h"

#define CK_ISA avx2
#define CK_VREGS 16
#define CK_VBYTES 32
#define CK_IG_ROWS 6
#define CK_IG_VECS 2
#define CK_WG_ROWS 6
#define CK_WG_VECS 2
#define CK_WG_KC_BYTES 16384
#define CK_KC_BYTES 16384

#include "conv2d_ukernel_dtypes.h"
