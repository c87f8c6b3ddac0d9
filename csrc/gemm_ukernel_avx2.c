/* gemm_ukernel_avx2.c: the micro-kernel body compiled for AVX2 + FMA (16 ymm registers).
 * Tiles: 6 x 16 (f32) and 6 x 8 (f64): 12 accumulators + 2 B vectors + 1 broadcast = 15 registers,
 * 12 independent FMA chains to hide the 4-cycle FMA latency on two FMA ports. */
#include "gemm_internal.h"

#ifdef TK_GEMM_HAVE_X86
#pragma GCC target("avx2,fma")

#define UK_NAME ukernel_avx2_f32
#define UK_T float
#define UK_VEC avx2_vec_f32
#define UK_LANES 8
#define UK_MR 6
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f64
#define UK_T double
#define UK_VEC avx2_vec_f64
#define UK_LANES 4
#define UK_MR 6
#define UK_NV 2
#include "gemm_ukernel.h"

/* {mr, nr, mc, kc, nc, kernel} */
const tk_gemm_recipe tk_gemm_avx2_f32 = {6, 16, 192, 256, 4096, ukernel_avx2_f32};
const tk_gemm_recipe tk_gemm_avx2_f64 = {6, 8, 96, 256, 2048, ukernel_avx2_f64};
#endif
