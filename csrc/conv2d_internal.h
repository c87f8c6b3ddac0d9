/* conv2d_internal.h: the contract between conv2d.c (drivers: padding, packing, threads) and the
 * per-ISA implicit-GEMM tile kernels (conv2d_ukernel.h, compiled by
 * conv2d_ukernel_{ref,avx2,avx512}.c).
 * Never seen by cffi. */
#ifndef TK_CONV2D_INTERNAL_H
#define TK_CONV2D_INTERNAL_H
#include "tk_internal.h"

/* This thread's index and the team size inside the drivers' parallel regions (0 and 1 without
 * OpenMP). */
static inline int conv_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static inline int conv_thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* This thread's share [*lo, *hi) of total items split evenly over nt threads. */
static inline void conv_thread_range(int64_t total, int t, int nt, int64_t *lo, int64_t *hi)
{
    *lo = total * t / nt;
    *hi = total * (t + 1) / nt;
}

/* How many chunks the drivers hand out dynamically over `items` (pixels of the batch, or blocks
 * of Winograd tiles): on a shared machine a descheduled thread then delays one chunk, not half
 * the work. About one image of n per chunk (each image is padded once; long runs the hardware
 * prefetchers follow), at least 4 chunks per thread, never more than items. */
static inline int64_t conv_work_chunks(int64_t items, int64_t n, int nt)
{
    return TK_MIN(items, TK_MAX(n, 4 * (int64_t)nt));
}

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

/* out(p)[0:ncols] = bias + sum_k src(p, k) * b[k, 0:ncols] for pixels p in [p0, p1) of one image,
 * where out(p) = out + oh * out_row_step + ow * out_col_step.
 *   src: one (padded) source image   b: [k, ldb], ldb a multiple of CONV_COL_ALIGN, zero-padded
 *   bias: [ncols] or NULL */
typedef struct {
    conv_gather at;
    const void *src, *b, *bias;
    int64_t ldb, ncols;
    void *out;
    int64_t out_row_step, out_col_step;
    const void *ahead;   /* bytes the next call will read (or NULL): prefetched into L2 */
    int64_t ahead_bytes; /* while this one computes */
    int relu;            /* store max(out, 0); only the kernels that take it (conv2d_smallk.h) */
} conv_igemm_job;

/* acc[k, 0:ncols] += sum_p src(p, k) * g[p, 0:ncols] for pixels p in [p0, p1) of one image.
 *   g: [pixels, ldg], ldg a multiple of CONV_COL_ALIGN   acc: [k, ldacc], same padding
 *   gsum: [ldacc] or NULL; kernels that sum g (conv2d_smallk.h) also add sum_p g[p, :] into it
 *   on the same pass (the bias gradient), the others leave it to the driver
 *   mask: [pixels, ldg] or NULL; only the kernels that sum g take one: they read g as
 *   g * (mask > 0), the fused ReLU's gradient, straight from dy */
typedef struct {
    conv_gather at;
    const void *src, *g, *mask;
    int64_t ldg, ncols;
    void *acc;
    int64_t ldacc;
    void *gsum;
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

/* ---- conv2d_plan.c ---- */
/* Where each scratch array lives in the caller's workspace; the size queries and the kernels build
 * the same plan, so they always agree. Per-thread arrays are padded to whole cache lines. */
typedef struct {
    int nt;                                   /* threads the kernel runs on (at most tk_threads) */
    int64_t src_h, src_w, src_c, k, ld;       /* source image of the gather; K; packed row length */
    int64_t top, left;                        /* where the unpadded image starts in the source */
    int place;                                /* the source image is copied (padded) per thread */
    int mask_in_kernel;                       /* the weight-gradient kernel applies the ReLU mask */
    size_t koff, bias, packed, phases, images, image_bytes, gbufs, gbuf_bytes, accs, acc_bytes;
    size_t total;
} conv_plan;

conv_plan conv_plan_forward(const tk_conv2d_geometry *g, size_t es);
conv_plan conv_plan_backward_input(const tk_conv2d_geometry *g, size_t es);
/* How the weight gradient reads dy: as given, masked by the fused ReLU's output, or rebuilt per
 * image from a 2x2 max pooling of the ReLU's output (conv_unpool_rows). */
typedef enum { CONV_DY_PLAIN, CONV_DY_RELU, CONV_DY_POOLED } conv_dy_source;
conv_plan conv_plan_backward_weight(const tk_conv2d_geometry *g, size_t es, conv_dy_source dy);
conv_plan conv_plan_backward_bias(const tk_conv2d_geometry *g, size_t es);

/* ---- conv2d_layout.c ---- */
typedef struct {
    int64_t a, b, rows, cols, p0, k0, k;  /* phase (a, b): rows x cols pixels from p0; taps k0.. */
} conv_phase;

void conv_phase_margins(int64_t taps, int64_t d, int64_t p, int64_t s, int64_t in, int64_t out,
                        int64_t *before, int64_t *len);
int64_t conv_build_phases(conv_phase *phases, int64_t *koff, char *packed, const void *w,
                          const tk_conv2d_geometry *g, int64_t top, int64_t left, int64_t src_w,
                          int64_t ld, size_t es);
void conv_place_image(char *dst, int64_t dh, int64_t dw, const char *src, int64_t sh, int64_t sw,
                      int64_t px, int64_t top, int64_t left, int64_t step_h, int64_t step_w);
void conv_pad_rows(char *dst, int64_t ld, const char *src, int64_t rows, int64_t cols, size_t es);
void conv_place_masked(char *dst, int64_t dh, int64_t dw, const char *src, const char *mask,
                       int64_t sh, int64_t sw, int64_t ch, int64_t top, int64_t left, size_t es);
void conv_mask_rows(char *dst, int64_t ld, const char *src, const char *mask, int64_t rows,
                    int64_t cols, size_t es);
void conv_unpool_rows(char *dst, int64_t ld, const char *dp, const char *y, const int32_t *argmax,
                      int64_t out_h, int64_t out_w, int64_t o, size_t es);
void conv_relu_inplace(char *y, int64_t count, size_t es);
void conv_mask_copy(char *dst, const char *src, const char *mask, int64_t count, size_t es);
void conv_fill_koff(int64_t *koff, int64_t ki, int64_t kj, int64_t ch, int64_t step_i,
                    int64_t step_j);
void conv_pack_transposed_f32(float *dst, int64_t ld, const float *tap, int64_t c, int64_t o);
void conv_pack_transposed_f64(double *dst, int64_t ld, const double *tap, int64_t c, int64_t o);
void conv_sum_parts_f32(float *out, const char *parts, size_t part_bytes, int nparts, int64_t ld,
                        int64_t cols, int64_t r0, int64_t r1);
void conv_sum_parts_f64(double *out, const char *parts, size_t part_bytes, int nparts, int64_t ld,
                        int64_t cols, int64_t r0, int64_t r1);
void conv_row_sums_f32(float *TK_RESTRICT acc, const float *TK_RESTRICT dy, int64_t lo, int64_t hi,
                       int64_t o);
void conv_row_sums_f64(double *TK_RESTRICT acc, const double *TK_RESTRICT dy, int64_t lo,
                       int64_t hi, int64_t o);

#endif
