/* conv2d_layout.c: the data movement around the conv2d tile kernels: zero-padded image copies and
 * rows, gather offsets, the phases and transposed taps of the input gradient, and the sums of
 * per-thread partial results. Plain loops over memory the callers own; nothing here allocates. */
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

/* The fused ReLU's gradient on the way into a padded copy: as conv_place_image with unit steps
 * (top, left >= 0) and ch elements per pixel, but each element is src * (mask > 0), mask laid out
 * like src. dy is masked while it is copied anyway, so dz = dy * (y > 0) never exists whole. */
void conv_place_masked(char *dst, int64_t dh, int64_t dw, const char *src, const char *mask,
                       int64_t sh, int64_t sw, int64_t ch, int64_t top, int64_t left, size_t es)
{
    const int64_t px = ch * (int64_t)es, row = dw * px, width = TK_MIN(sw, dw - left);
    for (int64_t q = 0; q < dh; q++) {
        char *d = dst + q * row;
        const int64_t i = q - top;
        if (i < 0 || i >= sh || width <= 0) {
            memset(d, 0, row);
            continue;
        }
        memset(d, 0, left * px);
        conv_mask_copy(d + left * px, src + i * sw * px, mask + i * sw * px, width * ch, es);
        memset(d + (left + width) * px, 0, (dw - left - width) * px);
    }
}

/* dst [rows, ld] := src [rows, cols] * (mask [rows, cols] > 0), zero columns beyond cols. */
void conv_mask_rows(char *dst, int64_t ld, const char *src, const char *mask, int64_t rows,
                    int64_t cols, size_t es)
{
    for (int64_t r = 0; r < rows; r++) {
        conv_mask_copy(dst + r * ld * es, src + r * cols * es, mask + r * cols * es, cols, es);
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
    /* dst [o, ld] := tap [c, o] transposed, zero columns beyond c: one kernel tap of W^T. */      \
    void conv_pack_transposed_##SUF(T *dst, int64_t ld, const T *tap, int64_t c, int64_t o)      \
    {                                                                                             \
        for (int64_t co = 0; co < o; co++) {                                                      \
            for (int64_t ci = 0; ci < c; ci++) dst[co * ld + ci] = tap[ci * o + co];              \
            for (int64_t ci = c; ci < ld; ci++) dst[co * ld + ci] = 0;                            \
        }                                                                                         \
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
    /* Column blocks of 64 summed on the stack: the compiler keeps them in vector registers    \
     * instead of re-reading acc (which it must assume may alias dy) for every row. */           \
    void conv_row_sums_##SUF(T *TK_RESTRICT acc, const T *TK_RESTRICT dy, int64_t lo,          \
                             int64_t hi, int64_t o)                                               \
    {                                                                                             \
        for (int64_t c0 = 0; c0 < o; c0 += 64) {                                                  \
            const int64_t width = TK_MIN(64, o - c0);                                             \
            T sums[64] = {0};                                                                     \
            for (int64_t r = lo; r < hi; r++)                                                     \
                for (int64_t c = 0; c < width; c++) sums[c] += dy[r * o + c0 + c];               \
            for (int64_t c = 0; c < width; c++) acc[c0 + c] += sums[c];                           \
        }                                                                                         \
    }

CONV_TYPED_HELPERS(float, f32)
CONV_TYPED_HELPERS(double, f64)

/* The fused ReLU, with tk_relu_forward's and tk_relu_backward's semantics bit for bit:
 * y := max(y, 0) in place (NaN stays, -0.0 -> +0.0); dst := src * (mask > 0), a product (an inf
 * or NaN gradient where the mask is off gives NaN, as the unfused backward does). */
#define CONV_RELU_HELPERS(T, SUF)                                                                 \
    static void relu_inplace_##SUF(T *TK_RESTRICT y, int64_t count)                              \
    {                                                                                             \
        for (int64_t i = 0; i < count; i++) y[i] = y[i] <= (T)0 ? (T)0 : y[i];                   \
    }                                                                                             \
    static void mask_copy_##SUF(T *TK_RESTRICT dst, const T *TK_RESTRICT src,                    \
                                const T *TK_RESTRICT mask, int64_t count)                         \
    {                                                                                             \
        for (int64_t i = 0; i < count; i++) dst[i] = src[i] * (T)(mask[i] > (T)0);               \
    }

CONV_RELU_HELPERS(float, f32)
CONV_RELU_HELPERS(double, f64)

void conv_relu_inplace(char *y, int64_t count, size_t es)
{
    if (es == 4) relu_inplace_f32((float *)y, count);
    else relu_inplace_f64((double *)y, count);
}

void conv_mask_copy(char *dst, const char *src, const char *mask, int64_t count, size_t es)
{
    if (es == 4) mask_copy_f32((float *)dst, (const float *)src, (const float *)mask, count);
    else mask_copy_f64((double *)dst, (const double *)src, (const double *)mask, count);
}

/* dst [out_h * out_w, ld] := one image's gradient of relu(z) -> 2x2 / stride-2
 * max pooling w.r.t. z, from the pooled dp, the pooled output y (the ReLU's mask is y > 0 at each
 * window's argmax) and the argmax offsets (iy * out_w + ix); zero elsewhere, in an odd last row or
 * column, and in the columns beyond o. dp, y, argmax: [out_h / 2, out_w / 2, o]. */
#define CONV_UNPOOL(T, SUF)                                                                       \
    static void unpool_rows_##SUF(T *dst, int64_t ld, const T *dp, const T *y,                    \
                                  const int32_t *argmax, int64_t out_h, int64_t out_w, int64_t o) \
    {                                                                                             \
        const int64_t ph = out_h / 2, pw = out_w / 2;                                             \
        for (int64_t iy = 0; iy < out_h; iy++)                                                    \
            for (int64_t ix = 0; ix < out_w; ix++) {                                              \
                T *TK_RESTRICT d = dst + (iy * out_w + ix) * ld;                                  \
                const int64_t q = ((iy / 2) * pw + ix / 2) * o;                                   \
                const int32_t at = (int32_t)(iy * out_w + ix);                                    \
                const int64_t real = iy < 2 * ph && ix < 2 * pw ? o : 0;                          \
                for (int64_t c = 0; c < real; c++)                                                \
                    d[c] = argmax[q + c] == at && y[q + c] > 0 ? dp[q + c] : 0;                   \
                for (int64_t c = real; c < ld; c++) d[c] = 0;                                     \
            }                                                                                     \
    }
CONV_UNPOOL(float, f32)
CONV_UNPOOL(double, f64)

void conv_unpool_rows(char *dst, int64_t ld, const char *dp, const char *y, const int32_t *argmax,
                      int64_t out_h, int64_t out_w, int64_t o, size_t es)
{
    if (es == 4)
        unpool_rows_f32((float *)dst, ld, (const float *)dp, (const float *)y, argmax, out_h,
                        out_w, o);
    else
        unpool_rows_f64((double *)dst, ld, (const double *)dp, (const double *)y, argmax, out_h,
                        out_w, o);
}

/* The input gradient by phases. Along one axis (stride s, dilation d, leading pad p), input row
 * i = a + s * m (phase a < s) receives exactly the kernel taps t with t * d = a + p (mod s), from
 * dy row m + shift(t), shift(t) = (a + p - t * d) / s: per phase, a stride-1 correlation of dy with
 * a subset of the taps, and no multiply-add is spent on the zeros a strided conv never produced. */
static int64_t tap_phase(int64_t t, int64_t d, int64_t p, int64_t s)
{
    return ((t * d - p) % s + s) % s;
}

static int64_t tap_shift(int64_t t, int64_t d, int64_t p, int64_t s)
{
    return (tap_phase(t, d, p, s) + p - t * d) / s;
}

static int64_t phase_len(int64_t a, int64_t s, int64_t n)
{
    return a < n ? (n - a + s - 1) / s : 0;
}

/* dy rows [lo, hi) that some phase reads (lo <= 0, hi >= out): the zero margins of its copy. */
void conv_phase_margins(int64_t taps, int64_t d, int64_t p, int64_t s, int64_t in, int64_t out,
                        int64_t *before, int64_t *len)
{
    int64_t lo = 0, hi = out;
    for (int64_t t = 0; t < taps; t++) {
        const int64_t rows = phase_len(tap_phase(t, d, p, s), s, in), shift = tap_shift(t, d, p, s);
        if (rows > 0) lo = TK_MIN(lo, shift), hi = TK_MAX(hi, shift + rows);
    }
    *before = -lo;
    *len = hi - lo;
}

/* Fills the phase table, the gather offsets and the packed taps (rows (kh, kw, co) of w^T) of the
 * input gradient; returns the number of phases. */
int64_t conv_build_phases(conv_phase *phases, int64_t *koff, char *packed, const void *w,
                          const tk_conv2d_geometry *g, int64_t top, int64_t left, int64_t src_w,
                          int64_t ld, size_t es)
{
    const int64_t sh = g->stride_h, sw = g->stride_w, o = g->o;
    int64_t count = 0, p0 = 0, k = 0;
    for (int64_t a = 0; a < sh; a++)
        for (int64_t b = 0; b < sw; b++) {
            conv_phase *ph = &phases[count++];
            *ph = (conv_phase){a, b, phase_len(a, sh, g->h), phase_len(b, sw, g->w), p0, k, 0};
            p0 += ph->rows * ph->cols;
            for (int64_t th = 0; th < g->kh; th++) {
                if (tap_phase(th, g->dilation_h, g->pad_top, sh) != a) continue;
                const int64_t row = tap_shift(th, g->dilation_h, g->pad_top, sh) + top;
                for (int64_t tw = 0; tw < g->kw; tw++) {
                    if (tap_phase(tw, g->dilation_w, g->pad_left, sw) != b) continue;
                    const int64_t col = tap_shift(tw, g->dilation_w, g->pad_left, sw) + left;
                    const char *tap = (const char *)w + (th * g->kw + tw) * g->c * o * es;
                    for (int64_t co = 0; co < o; co++) koff[k + co] = (row * src_w + col) * o + co;
                    if (es == 4)
                        conv_pack_transposed_f32((float *)packed + k * ld, ld, (const float *)tap,
                                                 g->c, o);
                    else
                        conv_pack_transposed_f64((double *)packed + k * ld, ld,
                                                 (const double *)tap, g->c, o);
                    k += o;
                }
            }
            ph->k = k - ph->k0;
        }
    return count;
}
