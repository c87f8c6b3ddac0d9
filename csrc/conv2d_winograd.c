/* conv2d_winograd.c: the Winograd F(2x2, 3x3) drivers (conv2d_winograd.h): the weight transforms,
 * threads over blocks of tiles (handed out dynamically: on a shared machine a descheduled thread
 * then delays one block), and the reduction of the weight gradient's per-thread partial sums. */
#include <string.h>
#include "conv2d_winograd.h"

/* Where Winograd pays, measured against the direct kernels (b32, 28x28 / 14x14 / 7x7 images, 1
 * and 2 threads): a pass's 16 GEMMs need depth (the forward's is c, the grad-input's o: at 8 the
 * direct forward was 1.7-2.6x faster, at 16 Winograd 1.15-1.5x), their columns at least 8 (the
 * rows are padded to 16 floats), and the grad-weight, whose transforms are per tile of x and of
 * dy, enough channel pairs (16 -> 16: a tie at 1 thread, 9% slower at 2; 16 -> 32 and 64 -> 8:
 * 1.2-1.3x faster). And the transformed kernel U (and each thread's dU) at most 1 MiB, so it
 * stays in L2 while the blocks of tiles stream past: 128 -> 128 channels (1 MiB) ran 2.1x faster
 * than direct, 256 -> 256 (4 MiB, read from L3 for every block) 14-19% slower. */
#define WINO_MAX_U_BYTES (1 << 20)

int conv_winograd_passes(const tk_conv2d_geometry *g, size_t es)
{
    if (g->kh != 3 || g->kw != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dilation_h != 1 ||
        g->dilation_w != 1 || WINO_XI * g->c * g->o * (int64_t)es > WINO_MAX_U_BYTES)
        return 0;
    return (g->c >= 16 && g->o >= 8 ? WINO_FORWARD : 0) |
           (g->o >= 16 && g->c >= 8 ? WINO_GRAD_INPUT : 0) |
           (g->c >= 16 && g->o >= 8 && g->c * g->o >= 512 ? WINO_GRAD_WEIGHT : 0);
}

/* Read at every call: tk_select_simd may change the level between calls. */
static const wino_kernels *kernels(size_t es)
{
    if (tk_simd_active == TK_SIMD_AVX512) return es == 4 ? &wino_f32_avx512 : &wino_f64_avx512;
    if (tk_simd_active == TK_SIMD_AVX2) return es == 4 ? &wino_f32_avx2 : &wino_f64_avx2;
    return es == 4 ? &wino_f32_ref : &wino_f64_ref;
}

#define WINO_TYPED_HELPERS(T, SUF)                                                               \
    /* One row of every u[xi]: G g G^T for columns [0, cols), g[i][j] = g_ij[q * step] (step 1:   \
     * w's contiguous rows, so the loop vectorizes), zeros in [cols, ld). */                      \
    static inline __attribute__((always_inline)) void weight_row_##SUF(                           \
        T *TK_RESTRICT d, int64_t plane, int64_t ld, const T *const *g_ij, int64_t step,          \
        int64_t cols)                                                                             \
    {                                                                                             \
        _Pragma("GCC ivdep") for (int64_t q = 0; q < cols; q++) {                                 \
            T t[4][3];                                                                            \
            for (int j = 0; j < 3; j++) { /* G g */                                               \
                const T g0 = g_ij[j][q * step], g1 = g_ij[3 + j][q * step];                       \
                const T g2 = g_ij[6 + j][q * step];                                               \
                t[0][j] = g0;                                                                     \
                t[1][j] = (T)0.5 * (g0 + g1 + g2);                                                \
                t[2][j] = (T)0.5 * (g0 - g1 + g2);                                                \
                t[3][j] = g2;                                                                     \
            }                                                                                     \
            for (int i = 0; i < 4; i++) { /* (G g) G^T */                                         \
                d[(4 * i) * plane + q] = t[i][0];                                                 \
                d[(4 * i + 1) * plane + q] = (T)0.5 * (t[i][0] + t[i][1] + t[i][2]);              \
                d[(4 * i + 2) * plane + q] = (T)0.5 * (t[i][0] - t[i][1] + t[i][2]);              \
                d[(4 * i + 3) * plane + q] = t[i][2];                                             \
            }                                                                                     \
        }                                                                                         \
        for (int xi = 0; xi < 16; xi++)                                                           \
            for (int64_t q = cols; q < ld; q++) d[xi * plane + q] = 0;                            \
    }                                                                                             \
    /* u[xi] [rows, ld] := G g G^T of input channel row, output channel column; g[i][j] =        \
     * w[i][j][ci][co] with (row, col) = (ci, co), or for the grad-input (transposed) the rotated \
     * w[2-i][2-j][ci][co] with (row, col) = (co, ci). Rows [r0, r1). */                         \
    static void weights_##SUF(T *u, int64_t ld, const T *w, int64_t c, int64_t o, int transposed, \
                              int64_t r0, int64_t r1)                                             \
    {                                                                                             \
        const int64_t plane = (transposed ? o : c) * ld, cols = transposed ? c : o;               \
        for (int64_t r = r0; r < r1; r++) {                                                       \
            const T *g_ij[9];                                                                     \
            for (int i = 0; i < 3; i++)                                                           \
                for (int j = 0; j < 3; j++)                                                       \
                    g_ij[i * 3 + j] = transposed ? w + ((2 - i) * 3 + 2 - j) * c * o + r          \
                                                 : w + ((i * 3 + j) * c + r) * o;                 \
            if (transposed) weight_row_##SUF(u + r * ld, plane, ld, g_ij, o, cols);               \
            else weight_row_##SUF(u + r * ld, plane, ld, g_ij, 1, cols);                          \
        }                                                                                         \
    }                                                                                             \
    /* dw[i][j][ci][co] := (G^T dU G)[i][j] for input channels [r0, r1), where dU is the sum of  \
     * the nparts partials [16][c][ld] (part_bytes apart). */                                     \
    static void weight_grad_##SUF(T *dw, const char *parts, size_t part_bytes, int nparts,      \
                                  int64_t ld, int64_t c, int64_t o, int64_t r0, int64_t r1)       \
    {                                                                                             \
        for (int64_t ci = r0; ci < r1; ci++)                                                      \
            for (int64_t co = 0; co < o; co++) {                                                  \
                T du[16], s[3][4];                                                                \
                for (int xi = 0; xi < 16; xi++) {                                                 \
                    du[xi] = 0;                                                                   \
                    for (int p = 0; p < nparts; p++)                                              \
                        du[xi] += ((const T *)(parts + p * part_bytes))[(xi * c + ci) * ld + co]; \
                }                                                                                 \
                for (int j = 0; j < 4; j++) { /* G^T dU */                                        \
                    s[0][j] = du[j] + (T)0.5 * (du[4 + j] + du[8 + j]);                           \
                    s[1][j] = (T)0.5 * (du[4 + j] - du[8 + j]);                                   \
                    s[2][j] = (T)0.5 * (du[4 + j] + du[8 + j]) + du[12 + j];                      \
                }                                                                                 \
                for (int i = 0; i < 3; i++) { /* (G^T dU) G */                                    \
                    T *dst = dw + (i * 3 * c + ci) * o + co;                                      \
                    dst[0] = s[i][0] + (T)0.5 * (s[i][1] + s[i][2]);                              \
                    dst[c * o] = (T)0.5 * (s[i][1] - s[i][2]);                                    \
                    dst[2 * c * o] = (T)0.5 * (s[i][1] + s[i][2]) + s[i][3];                      \
                }                                                                                 \
            }                                                                                     \
    }

WINO_TYPED_HELPERS(float, f32)
WINO_TYPED_HELPERS(double, f64)

/* u := the transformed kernel, this thread's share of its rows (the GEMMs read whole vectors of
 * them: the padding columns are zeroed). */
static void weights(void *u, int64_t ld, const void *w, const tk_conv2d_geometry *g,
                    int transposed, size_t es)
{
    int64_t lo, hi;
    conv_thread_range(transposed ? g->o : g->c, conv_thread_id(), conv_thread_count(), &lo, &hi);
    if (es == 4) weights_f32(u, ld, w, g->c, g->o, transposed, lo, hi);
    else weights_f64(u, ld, w, g->c, g->o, transposed, lo, hi);
}

/* The forward, or (transposed) the grad-input as the forward over dy with the rotated, transposed
 * kernel and pads 2 - pad: dx = correlate(dy padded by 2 - pad, rot180(w)^T). */
static void forward(void *y, const void *src, const void *mask, const void *w, const void *bias,
                    int relu, const tk_conv2d_geometry *g, int transposed, void *ws, size_t es)
{
    const wino_plan pl = wino_plan_forward(g, es, transposed);
    const wino_kernels *kr = kernels(es);
    char *base = ws;
    const int64_t cin = transposed ? g->o : g->c, cout = transposed ? g->c : g->o;
    const int64_t out_h = transposed ? g->h : g->out_h, out_w = transposed ? g->w : g->out_w;
    memset(base + pl.zeros, 0, (size_t)TK_MAX(pl.ldv, pl.ldm) * es);
    const wino_source s = {src, mask, base + pl.zeros, transposed ? g->out_h : g->h,
                           transposed ? g->out_w : g->w, cin,
                           transposed ? 2 - g->pad_top : g->pad_top,
                           transposed ? 2 - g->pad_left : g->pad_left, (out_h + 1) / 2,
                           (out_w + 1) / 2};
    const wino_sink sink = {y, bias, relu, out_h, out_w, cout};
    const wino_planes u = {base + pl.u, pl.ldm, cin * pl.ldm};
    const int64_t blocks = (pl.tiles + pl.block - 1) / pl.block;
    const int64_t chunks = conv_work_chunks(blocks, g->n, pl.nt);
#pragma omp parallel num_threads(pl.nt)
    {
        char *buf = base + pl.bufs + conv_thread_id() * pl.buf_bytes;
        const wino_planes v = {buf, pl.ldv, pl.block * pl.ldv};
        const wino_planes m = {buf + (size_t)(WINO_XI * pl.block * pl.ldv) * es, pl.ldm,
                               pl.block * pl.ldm};
        weights(u.base, u.ld, w, g, transposed, es);
#pragma omp barrier
#pragma omp for schedule(dynamic, 1)
        for (int64_t chunk = 0; chunk < chunks; chunk++)
            for (int64_t b = blocks * chunk / chunks; b < blocks * (chunk + 1) / chunks; b++) {
                const int64_t q0 = b * pl.block, q1 = TK_MIN(pl.tiles, q0 + pl.block);
                kr->input(v, &s, q0, q1);
                kr->gemm(m, v, u, q1 - q0, cin);
                kr->output(&sink, m, q0, q1);
            }
    }
}

void conv_winograd_forward(void *y, const void *x, const void *w, const void *bias, int relu,
                           const tk_conv2d_geometry *g, void *ws, size_t es)
{
    // x: [n, h, w, c]   w: [3, 3, c, o]   bias: [o] or NULL   y: [n, out_h, out_w, o]
    forward(y, x, NULL, w, bias, relu, g, 0, ws, es);
}

void conv_winograd_backward_input(void *dx, const void *dy, const void *mask, const void *w,
                                  const tk_conv2d_geometry *g, void *ws, size_t es)
{
    // dy, mask (or NULL): [n, out_h, out_w, o]   w: [3, 3, c, o]   dx: [n, h, w, c]
    forward(dx, dy, mask, w, NULL, 0, g, 1, ws, es);
}

void conv_winograd_backward_weight(void *dw, void *dbias, const void *x, const void *dy,
                                   const void *mask, const tk_conv2d_geometry *g, void *ws,
                                   size_t es)
{
    // x: [n, h, w, c]   dy, mask (or NULL): [n, out_h, out_w, o]   dw: [3, 3, c, o]
    // dbias: [o] or NULL
    const wino_plan pl = wino_plan_backward_weight(g, es);
    const wino_kernels *kr = kernels(es);
    char *base = ws;
    const int64_t tiles_h = (g->out_h + 1) / 2, tiles_w = (g->out_w + 1) / 2;
    memset(base + pl.zeros, 0, (size_t)TK_MAX(pl.ldv, pl.ldm) * es);
    const wino_source xs = {x, NULL, base + pl.zeros, g->h, g->w, g->c, g->pad_top, g->pad_left,
                            tiles_h, tiles_w};
    const wino_source ds = {dy, mask, base + pl.zeros, g->out_h, g->out_w, g->o, 0, 0, tiles_h,
                            tiles_w};
    const int64_t blocks = (pl.tiles + pl.block - 1) / pl.block;
    const size_t bias_at = (size_t)(WINO_XI * g->c * pl.ldm) * es;
#pragma omp parallel num_threads(pl.nt)
    {
        const int t = conv_thread_id(), nt = conv_thread_count();
        char *buf = base + pl.bufs + t * pl.buf_bytes, *acc = base + pl.accs + t * pl.acc_bytes;
        const wino_planes v = {buf, pl.ldv, pl.block * pl.ldv};
        const wino_planes d = {buf + (size_t)(WINO_XI * pl.block * pl.ldv) * es, pl.ldm,
                               pl.block * pl.ldm};
        const wino_planes sums = {acc, pl.ldm, g->c * pl.ldm};
        memset(acc, 0, bias_at + (size_t)pl.ldm * es);
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < blocks; b++) {
            const int64_t q0 = b * pl.block, q1 = TK_MIN(pl.tiles, q0 + pl.block);
            kr->input(v, &xs, q0, q1);
            kr->grad(d, &ds, q0, q1, dbias ? acc + bias_at : NULL);
            kr->wgemm(sums, v, d, q1 - q0, g->c, g->o);
        }  /* the implied barrier: every partial sum is complete */
        int64_t r0, r1;
        conv_thread_range(g->c, t, nt, &r0, &r1);
        const char *parts = base + pl.accs;
        if (es == 4) weight_grad_f32(dw, parts, pl.acc_bytes, nt, pl.ldm, g->c, g->o, r0, r1);
        else weight_grad_f64(dw, parts, pl.acc_bytes, nt, pl.ldm, g->c, g->o, r0, r1);
        if (dbias && t == nt - 1 && es == 4)
            conv_sum_parts_f32(dbias, parts + bias_at, pl.acc_bytes, nt, pl.ldm, g->o, 0, 1);
        else if (dbias && t == nt - 1)
            conv_sum_parts_f64(dbias, parts + bias_at, pl.acc_bytes, nt, pl.ldm, g->o, 0, 1);
    }
}
