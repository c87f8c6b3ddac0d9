/* gemm_ukernel_avx512.c: the micro-kernel body compiled for AVX-512 (32 zmm registers).
 * Tiles: 12 x 32 (f32) and 12 x 16 (f64): 24 accumulators + 2 B vectors + broadcasts, so every
 * depth step does 24 FMAs for 2 vector loads and 12 broadcasts (folded into the FMAs). */
#include "gemm_internal.h"

#ifdef TK_GEMM_HAVE_X86
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

#define UK_NAME ukernel_avx512_f32
#define UK_T float
#define UK_VEC avx512_vec_f32
#define UK_LANES 16
#define UK_MR 12
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f64
#define UK_T double
#define UK_VEC avx512_vec_f64
#define UK_LANES 8
#define UK_MR 12
#define UK_NV 2
#include "gemm_ukernel.h"

/* {mr, nr, mc, kc, nc, kernel} */
const tk_gemm_recipe tk_gemm_avx512_f32 = {12, 32, 384, 256, 4096, ukernel_avx512_f32};
const tk_gemm_recipe tk_gemm_avx512_f64 = {12, 16, 192, 256, 2048, ukernel_avx512_f64};
#endif
