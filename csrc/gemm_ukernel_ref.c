/* gemm_ukernel_ref.c: the portable micro-kernels, always built: the fallback on any CPU and the
 * ground truth the SIMD builds are tested against. 16-byte GCC vectors lower to SSE/NEON or to
 * plain scalar code, so this file needs no target flags. Tiles: 4 x 8 (f32), 4 x 4 (f64). */
#include "gemm_internal.h"

#define UK_NAME ukernel_ref_f32
#define UK_T float
#define UK_VEC ref_vec_f32
#define UK_LANES 4
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

#define UK_NAME ukernel_ref_f64
#define UK_T double
#define UK_VEC ref_vec_f64
#define UK_LANES 2
#define UK_MR 4
#define UK_NV 2
#include "gemm_ukernel.h"

/* {mr, nr, mc, kc, nc, kernel}: mc x kc of A near L2, kc x nr of B in L1. */
const tk_gemm_recipe tk_gemm_ref_f32 = {4, 8, 128, 256, 2048, ukernel_ref_f32};
const tk_gemm_recipe tk_gemm_ref_f64 = {4, 4, 128, 256, 2048, ukernel_ref_f64};
