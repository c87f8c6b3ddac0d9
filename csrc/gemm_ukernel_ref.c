/* gemm_ukernel_ref.c: the portable micro-kernels, always built: the fallback on any CPU and the
 * ground truth the SIMD builds are tested against. 16-byte GCC vectors lower to SSE/NEON or to
 * plain scalar code, so this file needs no target flags. Tiles: 4 x 8 (f32), 4 x 4 (f64); the
 * half-width and 2-row variants serve a narrow last column panel and a short last row panel. */
#include "gemm_internal.h"

#define UK_NAME ukernel_ref_f32
#define UK_T float
#define UK_LANES 4
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f32_half
#define UK_T float
#define UK_LANES 4
#define UK_MR 4
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f32_short
#define UK_T float
#define UK_LANES 4
#define UK_MR 2
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f32_short_half
#define UK_T float
#define UK_LANES 4
#define UK_MR 2
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f64
#define UK_T double
#define UK_LANES 2
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f64_half
#define UK_T double
#define UK_LANES 2
#define UK_MR 4
#define UK_NV 1
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f64_short
#define UK_T double
#define UK_LANES 2
#define UK_MR 2
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f64_short_half
#define UK_T double
#define UK_LANES 2
#define UK_MR 2
#define UK_NV 1
#include "gemm_ukernel.h"

/* {mr, nr, short_mr, mc, kc, nc, kernels}: B block kc x nc near 1 MiB (L2), A micro-panel
 * mr x kc in L1, A block mc x kc in L3. */
const tk_gemm_recipe tk_gemm_ref_f32 = {4, 8, 2, 1536, 256, 1024, TK_GEMM_KERNELS(ukernel_ref_f32)};
const tk_gemm_recipe tk_gemm_ref_f64 = {4, 4, 2, 768, 256, 512, TK_GEMM_KERNELS(ukernel_ref_f64)};
