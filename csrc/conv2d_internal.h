/* conv2d_internal.h: the contract between conv2d.c (drivers: padding, packing, threads) and the
 * per-ISA implicit-GEMM tile kernels (conv2d_ukernel.h compiled by conv2d_ukernel_{ref,avx2,avx512}.c).
 * Never seen by cffi. */
#ifndef TK_CONV2D_INTERNAL_H
#define TK_CONV2D_INTERNAL_H
#include "tk_internal.h"

/* Column padding of packed operands: a multiple of the widest vector (64 bytes), so every ISA's
 * full-vector loads of a row stay inside it. */
#define CONV_COL_ALIGN_F32 16
#define CONV_COL_ALIGN_F64 8

/* Output pixel p of one image (p = oh * out_w + ow) reads the source image at
 * src + oh * row_step + ow * col_step + koff[k] for reduction index k = (kh, kw, c). */
typedef struct {
    int64_t out_w, row_step, col_step;
    const int64_t *koff;
    int64_t k;
} conv_gather;

/* out[p, 0:ncols] = bias + sum_k src(p, k) * b[k, 0:ncols] for pixels p in [p0, p1) of one image.
 *   src: one (padded) source image   b: [k, ldb], ldb a multiple of CONV_COL_ALIGN, zero-padded
 *   bias: [ncols] or NULL            out: [pixels, ldo] */
typedef struct {
    conv_gather at;
    const void *src, *b, *bias;
    int64_t ldb, ncols;
    void *out;
    int64_t ldo;
} conv_igemm_job;

/* acc[k, 0:ncols] += sum_p src(p, k) * g[p, 0:ncols] for pixels p in [p0, p1) of one image.
 *   g: [pixels, ldg], ldg a multiple of CONV_COL_ALIGN   acc: [k, ldacc], same padding */
typedef struct {
    conv_gather at;
    const void *src, *g;
    int64_t ldg, ncols;
    void *acc;
    int64_t ldacc;
} conv_wgrad_job;

typedef void (*conv_igemm_fn)(const conv_igemm_job *job, int64_t p0, int64_t p1);
typedef void (*conv_wgrad_fn)(const conv_wgrad_job *job, int64_t p0, int64_t p1);

#define CONV_DECLARE(isa)                                                              \
    void conv_igemm_f32_##isa(const conv_igemm_job *job, int64_t p0, int64_t p1);   \
    void conv_igemm_f64_##isa(const conv_igemm_job *job, int64_t p0, int64_t p1);   \
    void conv_wgrad_f32_##isa(const conv_wgrad_job *job, int64_t p0, int64_t p1);   \
    void conv_wgrad_f64_##isa(const conv_wgrad_job *job, int64_t p0, int64_t p1);
CONV_DECLARE(ref)
CONV_DECLARE(avx2)
CONV_DECLARE(avx512)
#undef CONV_DECLARE

#endif
