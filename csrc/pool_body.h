/* pool_body.h: max/avg pool2d over NHWC, written once and included by pool.c for float and double
 * (T, SFX). Channels are the innermost, contiguous axis, so every inner loop runs over C with unit
 * stride and the compiler vectorizes it (the ternary selects become masked blends); pooling moves
 * little arithmetic per byte, so these loops run at cache/memory speed without hand-written SIMD.
 * Shared arguments: x: [n, h, w, c] input, windows kh x kw moved by strides (sh, sw) over the input
 * padded by pt rows on top and pl columns on the left (bottom/right padding is whatever the output
 * size oh x ow implies); y, dy, argmax: [n, oh, ow, c]. Padding never wins a max and never counts
 * in an average (Keras semantics); every window holds at least one real pixel (the caller checks). */

#define TK_CAT2(a, b) a##_##b
#define TK_CAT(a, b) TK_CAT2(a, b)
#define FN(name) TK_CAT(name, SFX)
/* Inputs below this many elements stay on the calling thread: waking the team costs more. */
#define POOL_PARALLEL_MIN 32768

/* The window of output (oy, ox), clipped to the image: rows [*y0, *y1), columns [*x0, *x1). */
static inline void FN(window)(int64_t oy, int64_t ox, int64_t h, int64_t w, int64_t kh, int64_t kw,
                              int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                              int64_t *y0, int64_t *y1, int64_t *x0, int64_t *x1) {
    int64_t top = oy * sh - pt, left = ox * sw - pl;
    *y0 = TK_MAX(top, 0);
    *y1 = TK_MIN(top + kh, h);
    *x0 = TK_MAX(left, 0);
    *x1 = TK_MIN(left + kw, w);
}

/* Whether every window is 2 x 2 at stride 2 and inside the image: the usual CNN pooling. */
static inline int FN(pool2x2)(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh,
                              int64_t sw, int64_t pt, int64_t pl, int64_t oh, int64_t ow) {
    return kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * oh <= h &&
           2 * ow <= w;
}

/* v replaces the running maximum m when larger, or when it is the window's first NaN. */
#define POOL_TAKE(v, m) ((v) > (m) || ((v) != (v) && (m) == (m)))

/* One output row of 2 x 2 / stride-2 max pooling: each output compares its four pixels in
 * registers and is written once, where the general loop re-reads and rewrites it for every window
 * pixel and recomputes the window per output (1.3-2x slower at the CNN's shapes).
 * yo, ao: the output row [ow, c]   r0, r1: the two input rows [w, c] it pools; iy: r0's row. */
static void FN(maxpool2x2_row)(T *TK_RESTRICT yo, int32_t *TK_RESTRICT ao,
                               const T *TK_RESTRICT r0, const T *TK_RESTRICT r1, int64_t iy,
                               int64_t w, int64_t c, int64_t ow) {
    for (int64_t ox = 0; ox < ow; ox++) {
        const int64_t at = 2 * ox * c;
        const int32_t i00 = (int32_t)(iy * w + 2 * ox), i10 = i00 + (int32_t)w;
        for (int64_t ch = 0; ch < c; ch++) {
            T m = r0[at + ch], v;
            int32_t a = i00;
            v = r0[at + c + ch];
            a = POOL_TAKE(v, m) ? i00 + 1 : a;
            m = POOL_TAKE(v, m) ? v : m;
            v = r1[at + ch];
            a = POOL_TAKE(v, m) ? i10 : a;
            m = POOL_TAKE(v, m) ? v : m;
            v = r1[at + c + ch];
            a = POOL_TAKE(v, m) ? i10 + 1 : a;
            m = POOL_TAKE(v, m) ? v : m;
            yo[ox * c + ch] = m;
            ao[ox * c + ch] = a;
        }
    }
}

/* y, argmax: [n, oh, ow, c]   x: [n, h, w, c]
 * argmax holds iy * w + ix of each window's FIRST maximum in row-major order (strict >), or of its
 * first NaN, as PyTorch routes ties and np.argmax picks. */
void FN(tk_maxpool2d_forward)(T *y, int32_t *argmax, const T *x, int64_t n, int64_t h, int64_t w,
                              int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t pt, int64_t pl, int64_t oh, int64_t ow) {
    const int fast = FN(pool2x2)(h, w, kh, kw, sh, sw, pt, pl, oh, ow);
    #pragma omp parallel for collapse(2) num_threads(tk_threads) schedule(static) \
        if (n * h * w * c >= POOL_PARALLEL_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t oy = 0; oy < oh; oy++) {
            const T *xb = x + b * h * w * c;
            if (fast) {
                const int64_t o = (b * oh + oy) * ow * c, r = 2 * oy * w * c;
                FN(maxpool2x2_row)(y + o, argmax + o, xb + r, xb + r + w * c, 2 * oy, w, c, ow);
                continue;
            }
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0, y1, x0, x1, o = ((b * oh + oy) * ow + ox) * c;
                FN(window)(oy, ox, h, w, kh, kw, sh, sw, pt, pl, &y0, &y1, &x0, &x1);
                T *TK_RESTRICT yo = y + o;
                int32_t *TK_RESTRICT ao = argmax + o;
                const T *first = xb + (y0 * w + x0) * c;
                for (int64_t ch = 0; ch < c; ch++) {
                    yo[ch] = first[ch];
                    ao[ch] = (int32_t)(y0 * w + x0);
                }
                for (int64_t iy = y0; iy < y1; iy++) {
                    for (int64_t ix = (iy == y0 ? x0 + 1 : x0); ix < x1; ix++) {
                        const T *TK_RESTRICT xi = xb + (iy * w + ix) * c;
                        int32_t idx = (int32_t)(iy * w + ix);
                        for (int64_t ch = 0; ch < c; ch++) {
                            T v = xi[ch], cur = yo[ch];
                            int take = v > cur || (v != v && cur == cur);
                            yo[ch] = take ? v : cur;
                            ao[ch] = take ? idx : ao[ch];
                        }
                    }
                }
            }
        }
    }
}

/* How backward may write an image: windows that never overlap (stride >= window) own their pixels,
 * so each pixel is written once (=) instead of zeroed and then accumulated into; pixels that no
 * window covers (a valid-padding remainder, gaps) need zeroing first. */
static inline int FN(disjoint)(int64_t kh, int64_t kw, int64_t sh, int64_t sw) {
    return sh >= kh && sw >= kw;
}
static inline int FN(covered)(int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t pt, int64_t pl, int64_t oh, int64_t ow) {
    return sh == kh && sw == kw && pt == 0 && pl == 0 && oh * sh >= h && ow * sw >= w;
}

/* dx: [n, h, w, c]   dy, argmax, gate (NULL or the pooled output): [n, oh, ow, c]
 * dx = 0 except each window's gradient routed to its saved argmax; with a gate, only the windows
 * whose gate is > 0 route theirs. Disjoint windows write their pixels directly (a vectorized select
 * per channel); overlapping ones zero the image and scatter. Images are split between threads, so
 * only the thread owning an image writes it. Inlined into both callers, so the plain one carries no
 * gate test. */
static inline __attribute__((always_inline)) void FN(maxpool2d_scatter)(
    T *dx, const T *dy, const T *gate, const int32_t *argmax, int64_t n, int64_t h, int64_t w,
    int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t oh,
    int64_t ow) {
    int disjoint = FN(disjoint)(kh, kw, sh, sw);
    int covered = FN(covered)(h, w, kh, kw, sh, sw, pt, pl, oh, ow);
    #pragma omp parallel for num_threads(tk_threads) schedule(static) \
        if (n * h * w * c >= POOL_PARALLEL_MIN)
    for (int64_t b = 0; b < n; b++) {
        T *TK_RESTRICT dxb = dx + b * h * w * c;
        const T *dyb = dy + b * oh * ow * c, *gb = gate ? gate + b * oh * ow * c : NULL;
        const int32_t *ab = argmax + b * oh * ow * c;
        if (!covered)
            memset(dxb, 0, (size_t)(h * w * c) * sizeof(T));
        if (!disjoint) {
            for (int64_t o = 0; o < oh * ow * c; o += c)
                for (int64_t ch = 0; ch < c; ch++)
                    if (!gb || gb[o + ch] > 0)
                        dxb[(int64_t)ab[o + ch] * c + ch] += dyb[o + ch];
            continue;
        }
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0, y1, x0, x1, o = (oy * ow + ox) * c;
                FN(window)(oy, ox, h, w, kh, kw, sh, sw, pt, pl, &y0, &y1, &x0, &x1);
                const T *TK_RESTRICT g = dyb + o, *TK_RESTRICT open = gb ? gb + o : NULL;
                const int32_t *TK_RESTRICT a = ab + o;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        T *TK_RESTRICT di = dxb + (iy * w + ix) * c;
                        int32_t idx = (int32_t)(iy * w + ix);
                        if (open)
                            for (int64_t ch = 0; ch < c; ch++)
                                di[ch] = a[ch] == idx && open[ch] > 0 ? g[ch] : 0;
                        else
                            for (int64_t ch = 0; ch < c; ch++)
                                di[ch] = a[ch] == idx ? g[ch] : 0;
                    }
            }
    }
}

void FN(tk_maxpool2d_backward)(T *dx, const T *dy, const int32_t *argmax, int64_t n, int64_t h,
                               int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                               int64_t sw, int64_t pt, int64_t pl, int64_t oh, int64_t ow) {
    FN(maxpool2d_scatter)(dx, dy, NULL, argmax, n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow);
}

/* The gradient of max_pool2d(relu(z)) w.r.t. z, given the pooled output y: relu's mask z > 0 is
 * y > 0 at each argmax (the only pixels a window's gradient reaches), so it costs a read of y
 * instead of a read of the full-size relu output by the next kernel. */
void FN(tk_maxpool2d_backward_relu)(T *dx, const T *dy, const T *y, const int32_t *argmax,
                                    int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh,
                                    int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                                    int64_t oh, int64_t ow) {
    FN(maxpool2d_scatter)(dx, dy, y, argmax, n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow);
}

/* ddy: [n, oh, ow, c]   ddx: [n, h, w, c]   argmax: [n, oh, ow, c]
 * The gradient of max-pool backward w.r.t. dy: gather ddx at the saved argmax. */
void FN(tk_maxpool2d_gather)(T *ddy, const T *ddx, const int32_t *argmax, int64_t n, int64_t h,
                             int64_t w, int64_t c, int64_t oh, int64_t ow) {
    #pragma omp parallel for num_threads(tk_threads) schedule(static) \
        if (n * h * w * c >= POOL_PARALLEL_MIN)
    for (int64_t b = 0; b < n; b++) {
        const T *ddxb = ddx + b * h * w * c;
        for (int64_t o = b * oh * ow; o < (b + 1) * oh * ow; o++)
            for (int64_t ch = 0; ch < c; ch++)
                ddy[o * c + ch] = ddxb[(int64_t)argmax[o * c + ch] * c + ch];
    }
}

/* y: [n, oh, ow, c]   x: [n, h, w, c];  y = mean of the window's real pixels. */
void FN(tk_avgpool2d_forward)(T *y, const T *x, int64_t n, int64_t h, int64_t w, int64_t c,
                              int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                              int64_t pl, int64_t oh, int64_t ow) {
    #pragma omp parallel for collapse(2) num_threads(tk_threads) schedule(static) \
        if (n * h * w * c >= POOL_PARALLEL_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t oy = 0; oy < oh; oy++) {
            const T *xb = x + b * h * w * c;
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0, y1, x0, x1;
                FN(window)(oy, ox, h, w, kh, kw, sh, sw, pt, pl, &y0, &y1, &x0, &x1);
                T *TK_RESTRICT yo = y + ((b * oh + oy) * ow + ox) * c;
                T inv = (T)1 / (T)((y1 - y0) * (x1 - x0));
                for (int64_t ch = 0; ch < c; ch++)
                    yo[ch] = 0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const T *TK_RESTRICT xi = xb + (iy * w + ix) * c;
                        for (int64_t ch = 0; ch < c; ch++)
                            yo[ch] += xi[ch];
                    }
                for (int64_t ch = 0; ch < c; ch++)
                    yo[ch] *= inv;
            }
        }
    }
}

/* dx: [n, h, w, c]   dy: [n, oh, ow, c];  each window spreads dy / (its real pixel count) over its
 * real pixels: written directly when windows are disjoint, added up when they overlap. Split by
 * image, as in max-pool backward. */
void FN(tk_avgpool2d_backward)(T *dx, const T *dy, int64_t n, int64_t h, int64_t w, int64_t c,
                               int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                               int64_t pl, int64_t oh, int64_t ow) {
    int disjoint = FN(disjoint)(kh, kw, sh, sw);
    int covered = FN(covered)(h, w, kh, kw, sh, sw, pt, pl, oh, ow);
    #pragma omp parallel for num_threads(tk_threads) schedule(static) \
        if (n * h * w * c >= POOL_PARALLEL_MIN)
    for (int64_t b = 0; b < n; b++) {
        T *dxb = dx + b * h * w * c;
        if (!covered || !disjoint)
            memset(dxb, 0, (size_t)(h * w * c) * sizeof(T));
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0, y1, x0, x1;
                FN(window)(oy, ox, h, w, kh, kw, sh, sw, pt, pl, &y0, &y1, &x0, &x1);
                const T *TK_RESTRICT g = dy + ((b * oh + oy) * ow + ox) * c;
                T inv = (T)1 / (T)((y1 - y0) * (x1 - x0));
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        T *TK_RESTRICT di = dxb + (iy * w + ix) * c;
                        if (disjoint)
                            for (int64_t ch = 0; ch < c; ch++)
                                di[ch] = g[ch] * inv;
                        else
                            for (int64_t ch = 0; ch < c; ch++)
                                di[ch] += g[ch] * inv;
                    }
            }
    }
}
