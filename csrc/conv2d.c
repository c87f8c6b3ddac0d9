/* conv2d.c: NHWC / HWIO convolution as implicit GEMM: forward, grad-input (= conv_transpose2d),
 * grad-weight and grad-bias, float32 and float64, OpenMP over output pixels.
 *
 * No im2col matrix is ever built. A convolution is the GEMM cols[P, K] @ W[K, O] with
 * cols[p, (kh, kw, c)] = x_padded[oh*sh + kh*dh, ow*sw + kw*dw, c]: the tile kernels
 * (conv2d_ukernel.h) broadcast that element straight from the padded image at a precomputed offset
 * (row offset of the pixel + koff[k]), so the "columns" are read from an image that stays in L1/L2
 * instead of being written and re-read K/C times larger. HWIO weights are already the row-major
 * [K, O] GEMM operand: they are used in place when O is a multiple of the vector width.
 *   forward      y  = cols(x_pad) @ W           (+ bias fused into the accumulator init)
 *   grad-input   dx = cols(dy) @ W^T, by phases: for each (row, column) phase of the stride, a
 *                stride-1 correlation of zero-margined dy with that phase's taps of W^T [kh,kw,o,c]
 *   grad-weight  dw = cols(x_pad)^T @ dy         (per-thread partial sums, then one reduction),
 *                and optionally db on the same pass over dy (each image's rows summed while cached)
 *   grad-bias    db = column sums of dy (alone, for when dw is not needed)
 * Threads take chunks of the flattened (image, pixel) range dynamically; each keeps a private
 * padded copy of the image it works on (in the caller's workspace, so the kernels never allocate).
 * Deliberately avoided: materialized im2col matrices, and zero-inserted gradients (a strided
 * grad-input would spend stride_h * stride_w times the multiply-adds on zeros). */
#include <string.h>
#include "conv2d_internal.h"
#include "conv2d_smallk.h"
#include "conv2d_winograd.h"

/* ---- kernel table ---- */

/* Read at every call (not cached): tk_select_simd may change the level between calls. A tiny
 * reduction (k) over few columns runs the small-K kernels (conv2d_smallk.h). *relus: whether the
 * kernel applies its job's fused ReLU as it stores (NULL: not asked). */
static conv_igemm_fn igemm_kernel(size_t es, int64_t k, int64_t ncols, int *relus)
{
    const conv_igemm_fn small = conv_smallk_igemm(es, k, ncols);
    if (relus) *relus = small != NULL;
    if (small) return small;
    if (tk_simd_active == TK_SIMD_AVX512)
        return es == 4 ? conv_igemm_f32_avx512 : conv_igemm_f64_avx512;
    if (tk_simd_active == TK_SIMD_AVX2) return es == 4 ? conv_igemm_f32_avx2 : conv_igemm_f64_avx2;
    return es == 4 ? conv_igemm_f32_ref : conv_igemm_f64_ref;
}

/* *sums_g: whether the kernel also sums g into its job's gsum (the bias gradient). */
static conv_wgrad_fn wgrad_kernel(size_t es, int64_t k, int64_t ncols, int *sums_g)
{
    const conv_wgrad_fn small = conv_smallk_wgrad(es, k, ncols);
    *sums_g = small != NULL;
    if (small) return small;
    if (tk_simd_active == TK_SIMD_AVX512)
        return es == 4 ? conv_wgrad_f32_avx512 : conv_wgrad_f64_avx512;
    if (tk_simd_active == TK_SIMD_AVX2) return es == 4 ? conv_wgrad_f32_avx2 : conv_wgrad_f64_avx2;
    return es == 4 ? conv_wgrad_f32_ref : conv_wgrad_f64_ref;
}

/* ---- drivers (dtype-generic: es is the element size) ---- */

static void conv_forward(void *y, const void *x, const void *w, const void *bias, int relu,
                         const tk_conv2d_geometry *g, void *ws, size_t es)
{
    // x: [n, h, w, c]   w: [kh, kw, c, o]   bias: [o] or NULL   y: [n, out_h, out_w, o]
    if (conv_winograd_passes(g, es) & WINO_FORWARD) {
        conv_winograd_forward(y, x, w, bias, relu, g, ws, es);
        return;
    }
    const conv_plan pl = conv_plan_forward(g, es);
    char *base = ws;
    int64_t *koff = (int64_t *)(base + pl.koff);
    conv_fill_koff(koff, g->kh, g->kw, g->c, g->dilation_h * pl.src_w * g->c, g->dilation_w * g->c);
    const void *b = w, *bp = NULL;
    /* Packed unless w's rows are already whole, aligned vectors (split loads cost ~5%). */
    if (pl.ld != g->o || (uintptr_t)w % TK_CACHE_LINE != 0) {
        conv_pad_rows(base + pl.packed, pl.ld, w, pl.k, g->o, es);
        b = base + pl.packed;
    }
    if (bias) {  /* padded to whole vectors: the tile kernels start their accumulators from it */
        conv_pad_rows(base + pl.bias, pl.ld, bias, 1, g->o, es);
        bp = base + pl.bias;
    }
    const int64_t pixels = g->out_h * g->out_w, image = g->h * g->w * g->c;
    int kernel_relus;
    const conv_igemm_fn kernel = igemm_kernel(es, pl.k, g->o, &kernel_relus);
    const int64_t total = g->n * pixels, chunks = conv_work_chunks(total, g->n, pl.nt);
#pragma omp parallel num_threads(pl.nt)
    {
        char *mine = base + pl.images + conv_thread_id() * pl.image_bytes;
        int64_t placed = -1;  /* the image now in `mine` */
        conv_igemm_job job = {{g->out_w, g->stride_h * pl.src_w * g->c, g->stride_w * g->c, koff,
                               pl.k}, NULL, b, bp, pl.ld, g->o, NULL, g->out_w * g->o, g->o};
        job.relu = relu && kernel_relus;
#pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < chunks; chunk++) {
            const int64_t hi = total * (chunk + 1) / chunks;
            for (int64_t p = total * chunk / chunks, end; p < hi; p = end) {
                const int64_t n = p / pixels;
                const char *xn = (const char *)x + n * image * es;
                end = TK_MIN(hi, (n + 1) * pixels);
                if (pl.place && placed != n)
                    conv_place_image(mine, pl.src_h, pl.src_w, xn, g->h, g->w, g->c * es,
                                     g->pad_top, g->pad_left, 1, 1);
                placed = n;
                job.src = pl.place ? mine : xn;
                job.out = (char *)y + n * pixels * g->o * es;
                /* the image this thread probably takes next (chunks are about one image) */
                job.ahead = n + pl.nt < g->n ? xn + pl.nt * image * es : NULL;
                job.ahead_bytes = image * es;
                kernel(&job, p - n * pixels, end - n * pixels);
                if (relu && !kernel_relus)  /* while these rows are still in cache */
                    conv_relu_inplace((char *)y + p * g->o * es, (end - p) * g->o, es);
            }
        }
    }
}

static void conv_backward_input(void *dx, const void *dy, const void *mask, const void *w,
                                const tk_conv2d_geometry *g, void *ws, size_t es)
{
    // dy, mask (or NULL): [n, out_h, out_w, o]   w: [kh, kw, c, o]   dx: [n, h, w, c]
    if (conv_winograd_passes(g, es) & WINO_GRAD_INPUT) {
        conv_winograd_backward_input(dx, dy, mask, w, g, ws, es);
        return;
    }
    const conv_plan pl = conv_plan_backward_input(g, es);
    char *base = ws;
    int64_t *koff = (int64_t *)(base + pl.koff);
    conv_phase *phases = (conv_phase *)(base + pl.phases);
    const int64_t nphases = conv_build_phases(phases, koff, base + pl.packed, w, g, pl.top,
                                              pl.left, pl.src_w, pl.ld, es);
    const int64_t pixels = g->h * g->w, image = g->out_h * g->out_w * g->o;
    const conv_igemm_fn kernel = igemm_kernel(es, pl.k, g->c, NULL);
    const int64_t total = g->n * pixels, chunks = conv_work_chunks(total, g->n, pl.nt);
#pragma omp parallel num_threads(pl.nt)
    {
        char *mine = base + pl.images + conv_thread_id() * pl.image_bytes;
        int64_t placed = -1;  /* the image now in `mine` */
#pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < chunks; chunk++) {
            const int64_t hi = total * (chunk + 1) / chunks;
            for (int64_t p = total * chunk / chunks, end; p < hi; p = end) {
                const int64_t n = p / pixels;
                end = TK_MIN(hi, (n + 1) * pixels);
                const char *dyn = (const char *)dy + n * image * es;
                if (placed != n && mask)
                    conv_place_masked(mine, pl.src_h, pl.src_w, dyn,
                                      (const char *)mask + n * image * es, g->out_h, g->out_w,
                                      g->o, pl.top, pl.left, es);
                else if (placed != n)
                    conv_place_image(mine, pl.src_h, pl.src_w, dyn, g->out_h, g->out_w,
                                     g->o * es, pl.top, pl.left, 1, 1);
                placed = n;
                char *dxn = (char *)dx + n * pixels * g->c * es;
                for (int64_t i = 0; i < nphases; i++) {  /* the phases overlapping this range */
                    const conv_phase *ph = &phases[i];
                    const int64_t q0 = TK_MAX(p - n * pixels - ph->p0, 0);
                    const int64_t q1 = TK_MIN(end - n * pixels - ph->p0, ph->rows * ph->cols);
                    if (q0 >= q1) continue;
                    char *out = dxn + (ph->a * g->w + ph->b) * g->c * es;
                    if (ph->k == 0) {  /* no tap reaches these pixels: their gradient is zero */
                        for (int64_t q = q0; q < q1; q++)
                            memset(out + ((q / ph->cols) * g->stride_h * g->w +
                                          (q % ph->cols) * g->stride_w) * g->c * es, 0, g->c * es);
                        continue;
                    }
                    const conv_igemm_job job = {
                        {ph->cols, pl.src_w * g->o, g->o, koff + ph->k0, ph->k}, mine,
                        base + pl.packed + ph->k0 * pl.ld * es, NULL, pl.ld, g->c, out,
                        g->stride_h * g->w * g->c, g->stride_w * g->c,
                        n + pl.nt < g->n ? (const char *)dy + (n + pl.nt) * image * es : NULL,
                        image * es};
                    kernel(&job, q0, q1);
                }
            }
        }
    }
}

static void conv_backward_weight(void *dw, void *dbias, const void *x, const void *dy,
                                 const void *mask, const int32_t *argmax,
                                 const tk_conv2d_geometry *g, void *ws, size_t es)
{
    // x: [n, h, w, c]   dy, mask (or NULL): [n, out_h, out_w, o]   dw: [kh, kw, c, o]
    // dbias: [o] or NULL. With argmax: dy, mask, argmax [n, out_h / 2, out_w / 2, o] are the
    // gradient, output and argmax of relu(conv) -> 2x2 max pooling (conv_unpool_rows).
    if (!argmax && conv_winograd_passes(g, es) & WINO_GRAD_WEIGHT) {
        conv_winograd_backward_weight(dw, dbias, x, dy, mask, g, ws, es);
        return;
    }
    const conv_plan pl = conv_plan_backward_weight(
        g, es, argmax ? CONV_DY_POOLED : mask ? CONV_DY_RELU : CONV_DY_PLAIN);
    char *base = ws;
    int64_t *koff = (int64_t *)(base + pl.koff);
    conv_fill_koff(koff, g->kh, g->kw, g->c, g->dilation_h * pl.src_w * g->c, g->dilation_w * g->c);
    const int64_t pixels = g->out_h * g->out_w, image = g->h * g->w * g->c;
    const int64_t dy_pixels = argmax ? (g->out_h / 2) * (g->out_w / 2) : pixels;
    int sums_g;
    const conv_wgrad_fn kernel = wgrad_kernel(es, pl.k, g->o, &sums_g);
    const int64_t total = g->n * pixels, chunks = conv_work_chunks(total, g->n, pl.nt);
#pragma omp parallel num_threads(pl.nt)
    {
        const int t = conv_thread_id(), nt = conv_thread_count();
        int64_t placed = -1;  /* the image now in `mine` (and, padded, in `gbuf`) */
        char *mine = base + pl.images + t * pl.image_bytes;
        char *gbuf = base + pl.gbufs + t * pl.gbuf_bytes;
        char *acc = base + pl.accs + t * pl.acc_bytes;
        char *bias_acc = acc + (size_t)(pl.k * pl.ld) * es;
        memset(acc, 0, (size_t)((pl.k + 1) * pl.ld) * es);
        conv_wgrad_job job = {{g->out_w, g->stride_h * pl.src_w * g->c, g->stride_w * g->c, koff,
                               pl.k}, NULL, NULL, NULL, pl.ld, g->o, acc, pl.ld,
                              dbias && sums_g ? bias_acc : NULL};
#pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < chunks; chunk++) {
            const int64_t hi = total * (chunk + 1) / chunks;
            for (int64_t p = total * chunk / chunks, end; p < hi; p = end) {
                const int64_t n = p / pixels, p0 = p - n * pixels;
                const char *xn = (const char *)x + n * image * es;
                const int64_t offset = n * dy_pixels * g->o * es;
                const char *gn = (const char *)dy + offset;
                end = TK_MIN(hi, (n + 1) * pixels);
                if (pl.place && placed != n)
                    conv_place_image(mine, pl.src_h, pl.src_w, xn, g->h, g->w, g->c * es,
                                     g->pad_top, g->pad_left, 1, 1);
                if (pl.mask_in_kernel)
                    job.mask = (const char *)mask + offset;
                else if (argmax && placed != n)
                    conv_unpool_rows(gbuf, pl.ld, gn, (const char *)mask + offset,
                                     argmax + n * dy_pixels * g->o, g->out_h, g->out_w, g->o, es);
                else if (mask && placed != n)
                    conv_mask_rows(gbuf, pl.ld, gn, (const char *)mask + offset, pixels, g->o, es);
                else if (pl.gbuf_bytes && placed != n)
                    conv_pad_rows(gbuf, pl.ld, gn, pixels, g->o, es);
                placed = n;
                job.src = pl.place ? mine : xn;
                job.g = pl.gbuf_bytes ? gbuf : gn;
                /* the bias sums read the masked rows (zero-padded to ld) when there are any */
                const void *gsum = mask ? gbuf : gn;
                const int64_t gcols = mask ? pl.ld : g->o;
                kernel(&job, p0, end - n * pixels);
                if (dbias && !job.gsum && es == 4)  /* while this image's dy is still cached */
                    conv_row_sums_f32((float *)bias_acc, gsum, p0, end - n * pixels, gcols);
                else if (dbias && !job.gsum)
                    conv_row_sums_f64((double *)bias_acc, gsum, p0, end - n * pixels, gcols);
            }
        }  /* the implied barrier: every partial sum is complete */
        int64_t r0, r1;
        conv_thread_range(pl.k, t, nt, &r0, &r1);
        if (es == 4) conv_sum_parts_f32(dw, base + pl.accs, pl.acc_bytes, nt, pl.ld, g->o, r0, r1);
        else conv_sum_parts_f64(dw, base + pl.accs, pl.acc_bytes, nt, pl.ld, g->o, r0, r1);
        if (dbias && t == nt - 1) {
            const char *bias_parts = base + pl.accs + (size_t)(pl.k * pl.ld) * es;
            if (es == 4) conv_sum_parts_f32(dbias, bias_parts, pl.acc_bytes, nt, pl.ld, g->o, 0, 1);
            else conv_sum_parts_f64(dbias, bias_parts, pl.acc_bytes, nt, pl.ld, g->o, 0, 1);
        }
    }
}

static void conv_backward_bias(void *db, const void *dy, const tk_conv2d_geometry *g, void *ws,
                               size_t es)
{
    // dy: [n, out_h, out_w, o]   db: [o]
    const conv_plan pl = conv_plan_backward_bias(g, es);
    char *base = ws;
#pragma omp parallel num_threads(pl.nt)
    {
        const int t = conv_thread_id(), nt = conv_thread_count();
        int64_t lo, hi;
        conv_thread_range(g->n * g->out_h * g->out_w, t, nt, &lo, &hi);
        char *acc = base + pl.accs + t * pl.acc_bytes;
        memset(acc, 0, (size_t)g->o * es);
        if (es == 4) conv_row_sums_f32((float *)acc, dy, lo, hi, g->o);
        else conv_row_sums_f64((double *)acc, dy, lo, hi, g->o);
#pragma omp barrier
#pragma omp single
        {
            if (es == 4)
                conv_sum_parts_f32(db, base + pl.accs, pl.acc_bytes, nt, pl.ld, g->o, 0, 1);
            else conv_sum_parts_f64(db, base + pl.accs, pl.acc_bytes, nt, pl.ld, g->o, 0, 1);
        }
    }
}

/* ---- workspace sizes: the plan of the algorithm the driver will pick ---- */

static int64_t forward_bytes(const tk_conv2d_geometry *g, size_t es)
{
    if (conv_winograd_passes(g, es) & WINO_FORWARD)
        return (int64_t)wino_plan_forward(g, es, 0).total;
    return (int64_t)conv_plan_forward(g, es).total;
}

static int64_t backward_input_bytes(const tk_conv2d_geometry *g, size_t es)
{
    if (conv_winograd_passes(g, es) & WINO_GRAD_INPUT)
        return (int64_t)wino_plan_forward(g, es, 1).total;
    return (int64_t)conv_plan_backward_input(g, es).total;
}

static int64_t backward_weight_bytes(const tk_conv2d_geometry *g, size_t es, conv_dy_source dy)
{
    if (dy != CONV_DY_POOLED && conv_winograd_passes(g, es) & WINO_GRAD_WEIGHT)
        return (int64_t)wino_plan_backward_weight(g, es).total;
    return (int64_t)conv_plan_backward_weight(g, es, dy).total;
}

/* ---- public entry points ---- */

#define CONV_ENTRY_POINTS(T, SUF)                                                                 \
    int64_t tk_conv2d_workspace_size_forward_##SUF(const tk_conv2d_geometry *g)                   \
    { return forward_bytes(g, sizeof(T)); }                                                        \
    int64_t tk_conv2d_workspace_size_backward_input_##SUF(const tk_conv2d_geometry *g)            \
    { return backward_input_bytes(g, sizeof(T)); }                                                 \
    int64_t tk_conv2d_workspace_size_backward_weight_##SUF(const tk_conv2d_geometry *g)           \
    { return backward_weight_bytes(g, sizeof(T), CONV_DY_PLAIN); }                                 \
    int64_t tk_conv2d_workspace_size_backward_bias_##SUF(const tk_conv2d_geometry *g)             \
    { return (int64_t)conv_plan_backward_bias(g, sizeof(T)).total; }                               \
    void tk_conv2d_forward_##SUF(T *y, const T *x, const T *w, const T *bias,                     \
                                 const tk_conv2d_geometry *g, void *workspace)                    \
    { conv_forward(y, x, w, bias, 0, g, workspace, sizeof(T)); }                                  \
    void tk_conv2d_backward_input_##SUF(T *dx, const T *dy, const T *w,                           \
                                        const tk_conv2d_geometry *g, void *workspace)             \
    { conv_backward_input(dx, dy, NULL, w, g, workspace, sizeof(T)); }                            \
    void tk_conv2d_backward_weight_##SUF(T *dw, T *dbias, const T *x, const T *dy,                \
                                         const tk_conv2d_geometry *g, void *workspace)            \
    { conv_backward_weight(dw, dbias, x, dy, NULL, NULL, g, workspace, sizeof(T)); }               \
    void tk_conv2d_backward_bias_##SUF(T *dbias, const T *dy, const tk_conv2d_geometry *g,        \
                                       void *workspace)                                           \
    { conv_backward_bias(dbias, dy, g, workspace, sizeof(T)); }                                   \
    int64_t tk_conv2d_workspace_size_forward_relu_##SUF(const tk_conv2d_geometry *g)              \
    { return forward_bytes(g, sizeof(T)); }                                                        \
    int64_t tk_conv2d_workspace_size_backward_input_relu_##SUF(const tk_conv2d_geometry *g)       \
    { return backward_input_bytes(g, sizeof(T)); }                                                 \
    int64_t tk_conv2d_workspace_size_backward_weight_relu_##SUF(const tk_conv2d_geometry *g)      \
    { return backward_weight_bytes(g, sizeof(T), CONV_DY_RELU); }                                  \
    void tk_conv2d_forward_relu_##SUF(T *y, const T *x, const T *w, const T *bias,                \
                                      const tk_conv2d_geometry *g, void *workspace)               \
    { conv_forward(y, x, w, bias, 1, g, workspace, sizeof(T)); }                                  \
    void tk_conv2d_backward_input_relu_##SUF(T *dx, const T *dy, const T *y, const T *w,          \
                                             const tk_conv2d_geometry *g, void *workspace)        \
    { conv_backward_input(dx, dy, y, w, g, workspace, sizeof(T)); }                               \
    void tk_conv2d_backward_weight_relu_##SUF(T *dw, T *dbias, const T *x, const T *dy,           \
                                              const T *y, const tk_conv2d_geometry *g,            \
                                              void *workspace)                                    \
    { conv_backward_weight(dw, dbias, x, dy, y, NULL, g, workspace, sizeof(T)); }                 \
    int64_t tk_conv2d_workspace_size_backward_weight_pooled_##SUF(const tk_conv2d_geometry *g)    \
    { return backward_weight_bytes(g, sizeof(T), CONV_DY_POOLED); }                                \
    void tk_conv2d_backward_weight_pooled_##SUF(T *dw, T *dbias, const T *x, const T *dp,         \
                                                const T *y, const int32_t *argmax,                \
                                                const tk_conv2d_geometry *g, void *workspace)     \
    { conv_backward_weight(dw, dbias, x, dp, y, argmax, g, workspace, sizeof(T)); }               \
    int64_t tk_conv2d_winograd_passes_##SUF(const tk_conv2d_geometry *g)                          \
    { return conv_winograd_passes(g, sizeof(T)); }

CONV_ENTRY_POINTS(float, f32)
CONV_ENTRY_POINTS(double, f64)
