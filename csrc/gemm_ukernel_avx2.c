/* gemm_ukernel_avx2.c: the micro-kernel body compiled for AVX2 + FMA (16 ymm registers).
 * Tiles: 6 x 16 (f32) and 6 x 8 (f64): 12 accumulators + 2 B vectors + 1 broadcast = 15 registers,
 * 12 independent FMA chains to hide the 4-cycle FMA latency on two FMA ports. The half-width and
 * 4-row variants serve a narrow last column panel and a short last row panel. */
#include "gemm_internal.h"

#ifdef TK_GEMM_HAVE_X86
#pragma GCC target("avx2,fma")

#define UK_NAME ukernel_avx2_f32
#define UK_T float
#define UK_LANES 8
#define UK_MR 6
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f32_half
#define UK_T float
#define UK_LANES 8
#define UK_MR 6
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f32_short
#define UK_T float
#define UK_LANES 8
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f32_short_half
#define UK_T float
#define UK_LANES 8
#define UK_MR 4
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f64
#define UK_T double
#define UK_LANES 4
#define UK_MR 6
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f64_half
#define UK_T double
#define UK_LANES 4
#define UK_MR 6
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f64_short
#define UK_T double
#define UK_LANES 4
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx2_f64_short_half
#define UK_T double
#define UK_LANES 4
#define UK_MR 4
#define UK_NV 1
#include "gemm_ukernel.h"

/* {mr, nr, short_mr, mc, kc, nc, kernels}: B block kc x nc near 1 MiB (L2), A micro-panel
 * mr x kc in L1, A block mc x kc in L3. */
const tk_gemm_recipe tk_gemm_avx2_f32 = {6, 16, 4, 1536, 256, 1024,
                                         TK_GEMM_KERNELS(ukernel_avx2_f32)};
const tk_gemm_recipe tk_gemm_avx2_f64 = {6, 8, 4, 768, 256, 512, TK_GEMM_KERNELS(ukernel_avx2_f64)};
#endif
