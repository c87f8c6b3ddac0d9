/* conv2d_layout.c: the data movement around the conv2d tile kernels: padded / zero-inserted image
 * copies, zero-padded rows, gather offsets, the flipped kernel of the input gradient, and the sums
 * of per-thread partial results. Plain loops over memory the callers own; nothing here allocates. */
#include <string.h>
#include "conv2d_internal.h"

/* dst [dh, dw, px] (px bytes per pixel) := zeros, with src pixel (i, j) of [sh, sw, px] at
 * (top + i * step_h, left + j * step_w) wherever that lands inside dst (negative offsets crop). */
void conv_place_image(char *dst, int64_t dh, int64_t dw, const char *src, int64_t sh, int64_t sw,
                      int64_t px, int64_t top, int64_t left, int64_t step_h, int64_t step_w)
{
    const int64_t row = dw * px;
    for (int64_t q = 0; q < dh; q++) {
        char *d = dst + q * row;
        const int64_t i = q - top;
        if (i < 0 || i % step_h != 0 || i / step_h >= sh) {
            memset(d, 0, row);
            continue;
        }
        const char *s = src + (i / step_h) * sw * px;
        if (step_w == 1) {
            const int64_t j0 = TK_MAX(0, -left), j1 = TK_MIN(sw, dw - left);
            if (j1 <= j0) {
                memset(d, 0, row);
                continue;
            }
            memset(d, 0, (left + j0) * px);
            memcpy(d + (left + j0) * px, s + j0 * px, (j1 - j0) * px);
            memset(d + (left + j1) * px, 0, (dw - left - j1) * px);
        } else {
            memset(d, 0, row);
            for (int64_t j = 0; j < sw; j++) {
                const int64_t r = left + j * step_w;
                if (r >= 0 && r < dw) memcpy(d + r * px, s + j * px, px);
            }
        }
    }
}

/* dst [rows, ld] := src [rows, cols] with zero columns beyond cols. */
void conv_pad_rows(char *dst, int64_t ld, const char *src, int64_t rows, int64_t cols, size_t es)
{
    for (int64_t r = 0; r < rows; r++) {
        memcpy(dst + r * ld * es, src + r * cols * es, cols * es);
        memset(dst + (r * ld + cols) * es, 0, (ld - cols) * es);
    }
}

/* koff[(i, j, c)] = i * step_i + j * step_j + c: the gather offsets of one kernel tap set. */
void conv_fill_koff(int64_t *koff, int64_t ki, int64_t kj, int64_t ch, int64_t step_i,
                      int64_t step_j)
{
    for (int64_t i = 0, k = 0; i < ki; i++)
        for (int64_t j = 0; j < kj; j++)
            for (int64_t c = 0; c < ch; c++) koff[k++] = i * step_i + j * step_j + c;
}

#define CONV_TYPED_HELPERS(T, SUF)                                                                \
    /* dst [(a, b, co), ld] := w[kh-1-a, kw-1-b, ci, co] for ci < c, zero beyond: the flipped,     \
     * transposed kernel that turns the input gradient into a stride-1 correlation. */           \
    void conv_pack_flipped_##SUF(T *dst, int64_t ld, const T *w, const tk_conv2d_geometry *g)  \
    {                                                                                             \
        const int64_t kh = g->kh, kw = g->kw, c = g->c, o = g->o;                                 \
        for (int64_t a = 0; a < kh; a++)                                                          \
            for (int64_t b = 0; b < kw; b++) {                                                    \
                const T *tap = w + ((kh - 1 - a) * kw + (kw - 1 - b)) * c * o;                    \
                T *rows = dst + (a * kw + b) * o * ld;                                            \
                for (int64_t co = 0; co < o; co++) {                                              \
                    for (int64_t ci = 0; ci < c; ci++) rows[co * ld + ci] = tap[ci * o + co];     \
                    for (int64_t ci = c; ci < ld; ci++) rows[co * ld + ci] = 0;                   \
                }                                                                                 \
            }                                                                                     \
    }                                                                                             \
    /* out[r, 0:cols] := sum over nparts of part_t[r, 0:cols] (rows [r0, r1); parts [*, ld]). */  \
    void conv_sum_parts_##SUF(T *out, const char *parts, size_t part_bytes, int nparts,        \
                                int64_t ld, int64_t cols, int64_t r0, int64_t r1)                 \
    {                                                                                             \
        for (int64_t r = r0; r < r1; r++) {                                                       \
            T *dst = out + r * cols;                                                              \
            const T *first = (const T *)parts + r * ld;                                           \
            for (int64_t c = 0; c < cols; c++) dst[c] = first[c];                                 \
            for (int t = 1; t < nparts; t++) {                                                    \
                const T *src = (const T *)(parts + t * part_bytes) + r * ld;                      \
                for (int64_t c = 0; c < cols; c++) dst[c] += src[c];                              \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    /* acc[0:o] += sum of rows [lo, hi) of dy [*, o]. */                                         \
    void conv_row_sums_##SUF(T *acc, const T *dy, int64_t lo, int64_t hi, int64_t o)           \
    {                                                                                             \
        for (int64_t r = lo; r < hi; r++)                                                         \
            for (int64_t c = 0; c < o; c++) acc[c] += dy[r * o + c];                              \
    }

CONV_TYPED_HELPERS(float, f32)
CONV_TYPED_HELPERS(double, f64)
