/* gemm_ukernel_avx512.c: the micro-kernel body compiled for AVX-512 (32 zmm registers).
 * Tiles: 12 x 32 (f32) and 12 x 16 (f64): 24 accumulators + 2 B vectors + broadcasts, so every
 * depth step does 24 FMAs for 2 vector loads and 12 broadcasts. The half-width and 8-row variants
 * serve a narrow last column panel and a short last row panel. */
#include "gemm_internal.h"

#ifdef TK_GEMM_HAVE_X86
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")

#define UK_NAME ukernel_avx512_f32
#define UK_T float
#define UK_LANES 16
#define UK_MR 12
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f32_half
#define UK_T float
#define UK_LANES 16
#define UK_MR 12
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f32_short
#define UK_T float
#define UK_LANES 16
#define UK_MR 8
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f32_short_half
#define UK_T float
#define UK_LANES 16
#define UK_MR 8
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f64
#define UK_T double
#define UK_LANES 8
#define UK_MR 12
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f64_half
#define UK_T double
#define UK_LANES 8
#define UK_MR 12
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f64_short
#define UK_T double
#define UK_LANES 8
#define UK_MR 8
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_avx512_f64_short_half
#define UK_T double
#define UK_LANES 8
#define UK_MR 8
#define UK_NV 1
#include "gemm_ukernel.h"

/* {mr, nr, short_mr, mc, kc, nc, kernels}: B block kc x nc under half of L2 (2 MiB here), A
 * micro-panel mr x kc in L1 (24 KiB of 48 for f32), A block mc x kc in L3. f32's kc = 512 makes
 * 4 passes over C at K = 2048 instead of 6 with 384; with A read in place (no packed A block) it
 * measured 2-10% faster at 2048 than kc = 384, nc = 512, whose B block is as large, and the same
 * at 256-1024; nc = 256 lost 1 thread at 512-2048. */
const tk_gemm_recipe tk_gemm_avx512_f32 = {12, 32, 8, 3072, 512, 384,
                                         TK_GEMM_KERNELS(ukernel_avx512_f32)};
const tk_gemm_recipe tk_gemm_avx512_f64 = {12, 16, 8, 768, 256, 512,
                                         TK_GEMM_KERNELS(ukernel_avx512_f64)};
#endif
