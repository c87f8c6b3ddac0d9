/* conv2d_winograd_body.h: the Winograd F(2x2, 3x3) kernels (see conv2d_winograd.h), written once
 * with GCC vector extensions and compiled per ISA and dtype; the including file sets
 *   WB_T float|double   WB_SUF f32|f64   WB_ISA ref|avx2|avx512   WB_VBYTES vector width in bytes
 *   WB_ROWS x WB_VECS        register tile of the forward GEMM (tiles x vectors of columns)
 *   WB_WG_ROWS x WB_WG_VECS  register tile of the weight-gradient GEMM (channels x vectors)
 * The transforms work on whole vectors of channels (NHWC keeps a pixel's channels contiguous); the
 * last, partial vector of a source pixel is staged through a zeroed vector, while the rows of the
 * transformed planes are padded to whole vectors and written whole. */
#define WB_CAT3_(a, b, c) a##_##b##_##c
#define WB_CAT3(a, b, c) WB_CAT3_(a, b, c)
#define WB_FN(name) WB_CAT3(name, WB_SUF, WB_ISA)
#define WB_LANES ((int64_t)(WB_VBYTES / sizeof(WB_T)))
#define WB_VEC WB_FN(wb_vec)
#define WB_INLINE static inline __attribute__((always_inline))

/* aligned(sizeof(T)): loads and stores through this type may be unaligned. */
typedef WB_T WB_VEC __attribute__((vector_size(WB_VBYTES), aligned(sizeof(WB_T))));

/* The first n elements at p (all lanes when n >= lanes), the rest zero. */
WB_INLINE WB_VEC WB_FN(load)(const WB_T *p, int64_t n)
{
    if (n >= WB_LANES) return *(const WB_VEC *)p;
    WB_VEC v = {0};
    __builtin_memcpy(&v, p, (size_t)n * sizeof(WB_T));
    return v;
}

WB_INLINE void WB_FN(store)(WB_T *p, WB_VEC v, int64_t n)
{
    if (n >= WB_LANES) *(WB_VEC *)p = v;
    else __builtin_memcpy(p, &v, (size_t)n * sizeof(WB_T));
}

/* s * (m > 0) as a product, as tk_relu_backward (an inf or NaN under an off mask gives NaN). */
WB_INLINE WB_VEC WB_FN(masked)(WB_VEC s, WB_VEC m)
{
    const WB_VEC zero = {0}, one = zero + 1;
    return s * (WB_VEC)((__typeof__(m > zero))one & (m > zero));
}

/* The size x size source pixels of tile q (and of the mask), row-major: zeros outside the image. */
WB_INLINE void WB_FN(tile_pixels)(const wino_source *s, int64_t q, const int size,
                                  const WB_T **px, const WB_T **mk)
{
    const int64_t per_image = s->tiles_h * s->tiles_w, t = q % per_image;
    const int64_t y0 = 2 * (t / s->tiles_w) - s->top, x0 = 2 * (t % s->tiles_w) - s->left;
    const int64_t image = q / per_image * s->h * s->w * s->c;
    const WB_T *zeros = (const WB_T *)s->zeros;
    for (int i = 0; i < size; i++)
        for (int j = 0; j < size; j++) {
            const int64_t yy = y0 + i, xx = x0 + j, at = image + (yy * s->w + xx) * s->c;
            const int inside = yy >= 0 && yy < s->h && xx >= 0 && xx < s->w;
            px[i * size + j] = inside ? (const WB_T *)s->src + at : zeros;
            mk[i * size + j] = inside && s->mask ? (const WB_T *)s->mask + at : zeros;
        }
}

/* B^T d B of the 4x4 tile d (row-major), into position xi's plane at out + xi * plane. */
WB_INLINE void WB_FN(input_tile)(WB_T *out, int64_t plane, const WB_VEC *d)
{
    WB_VEC t[16];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {  /* B^T d: combine rows */
        t[j] = d[j] - d[8 + j];
        t[4 + j] = d[4 + j] + d[8 + j];
        t[8 + j] = d[8 + j] - d[4 + j];
        t[12 + j] = d[4 + j] - d[12 + j];
    }
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {  /* (B^T d) B: combine columns */
        *(WB_VEC *)(out + (i + 0) * plane) = t[i] - t[i + 2];
        *(WB_VEC *)(out + (i + 1) * plane) = t[i + 1] + t[i + 2];
        *(WB_VEC *)(out + (i + 2) * plane) = t[i + 2] - t[i + 1];
        *(WB_VEC *)(out + (i + 3) * plane) = t[i + 1] - t[i + 3];
    }
}

/* v rows [0, q1 - q0) := B^T d B of tiles [q0, q1), all channels (masked when s->mask). A tile
 * wholly inside an unmasked image reads it in place at fixed offsets; the others go through
 * per-pixel pointers (zeros outside the image). */
static void WB_FN(input)(wino_planes v, const wino_source *s, int64_t q0, int64_t q1)
{
    const int64_t per_image = s->tiles_h * s->tiles_w, row = s->w * s->c, ch = s->c;
    for (int64_t q = q0; q < q1; q++) {
        const int64_t t = q % per_image;
        const int64_t y0 = 2 * (t / s->tiles_w) - s->top, x0 = 2 * (t % s->tiles_w) - s->left;
        WB_T *out = (WB_T *)v.base + (q - q0) * v.ld;
        WB_VEC d[16];
        if (!s->mask && y0 >= 0 && y0 + 4 <= s->h && x0 >= 0 && x0 + 4 <= s->w) {
            const WB_T *p = (const WB_T *)s->src + (q / per_image * s->h + y0) * row + x0 * ch;
            for (int64_t c = 0; c < ch; c += WB_LANES) {
#pragma GCC unroll 16
                for (int e = 0; e < 16; e++)
                    d[e] = WB_FN(load)(p + (e / 4) * row + (e % 4) * ch + c, ch - c);
                WB_FN(input_tile)(out + c, v.plane, d);
            }
            continue;
        }
        const WB_T *px[16], *mk[16];
        WB_FN(tile_pixels)(s, q, 4, px, mk);
        for (int64_t c = 0; c < ch; c += WB_LANES) {
#pragma GCC unroll 16
            for (int e = 0; e < 16; e++) {
                d[e] = WB_FN(load)(px[e] + c, ch - c);
                if (s->mask) d[e] = WB_FN(masked)(d[e], WB_FN(load)(mk[e] + c, ch - c));
            }
            WB_FN(input_tile)(out + c, v.plane, d);
        }
    }
}

/* The 2x2 outputs A^T M A (+ b, ReLU'd if relu) of the 16 positions at in + xi * plane. */
WB_INLINE void WB_FN(output_tile)(WB_VEC r[4], const WB_T *in, int64_t plane, WB_VEC b, int relu)
{
    WB_VEC e[16], t0[4], t1[4];
    const WB_VEC zero = {0};
#pragma GCC unroll 16
    for (int xi = 0; xi < 16; xi++) e[xi] = *(const WB_VEC *)(in + xi * plane);
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {  /* A^T M: rows */
        t0[j] = e[j] + e[4 + j] + e[8 + j];
        t1[j] = e[4 + j] - e[8 + j] - e[12 + j];
    }
    r[0] = t0[0] + t0[1] + t0[2] + b;  /* (A^T M) A: columns */
    r[1] = t0[1] - t0[2] - t0[3] + b;
    r[2] = t1[0] + t1[1] + t1[2] + b;
    r[3] = t1[1] - t1[2] - t1[3] + b;
    if (relu)  /* tk_relu_forward's max(y, 0): NaN stays, -0.0 -> +0.0 */
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
            r[k] = (WB_VEC)((__typeof__(zero > zero))r[k] & ~(r[k] <= zero));
}

/* The 2x2 outputs of tiles [q0, q1) := A^T M A from m rows [0, q1 - q0), + bias, ReLU'd if asked;
 * only the pixels inside the output are stored (whole tiles and whole vectors without checks). */
static void WB_FN(output)(const wino_sink *s, wino_planes m, int64_t q0, int64_t q1)
{
    const int64_t tiles_w = (s->out_w + 1) / 2, per_image = tiles_w * ((s->out_h + 1) / 2);
    const int64_t o = s->o, whole = o / WB_LANES * WB_LANES, row = s->out_w * o;
    const WB_T *bias = (const WB_T *)s->bias;
    for (int64_t q = q0; q < q1; q++) {
        const int64_t t = q % per_image, y0 = 2 * (t / tiles_w), x0 = 2 * (t % tiles_w);
        const int64_t rows = TK_MIN(2, s->out_h - y0), cols = TK_MIN(2, s->out_w - x0);
        WB_T *y = (WB_T *)s->y + ((q / per_image * s->out_h + y0) * s->out_w + x0) * o;
        const WB_T *in = (const WB_T *)m.base + (q - q0) * m.ld;
        WB_VEC r[4];
        if (rows == 2 && cols == 2)
            for (int64_t c = 0; c < whole; c += WB_LANES) {
                WB_FN(output_tile)(r, in + c, m.plane,
                                   bias ? *(const WB_VEC *)(bias + c) : (WB_VEC){0}, s->relu);
                *(WB_VEC *)(y + c) = r[0];
                *(WB_VEC *)(y + o + c) = r[1];
                *(WB_VEC *)(y + row + c) = r[2];
                *(WB_VEC *)(y + row + o + c) = r[3];
            }
        for (int64_t c = rows == 2 && cols == 2 ? whole : 0; c < o; c += WB_LANES) {
            WB_FN(output_tile)(r, in + c, m.plane, bias ? WB_FN(load)(bias + c, o - c)
                                                        : (WB_VEC){0}, s->relu);
            for (int k = 0; k < 4; k++)
                if (k / 2 < rows && k % 2 < cols)
                    WB_FN(store)(y + (k / 2) * row + (k % 2) * o + c, r[k], o - c);
        }
    }
}

/* d rows [0, q1 - q0) := A dy A^T of the 2x2 dy tiles [q0, q1) (masked when s->mask): the adjoint
 * of the output transform. bias_acc [whole vectors past c] (or NULL) += the dy sums. */
static void WB_FN(grad)(wino_planes d, const wino_source *s, int64_t q0, int64_t q1,
                        void *bias_acc)
{
    for (int64_t q = q0; q < q1; q++) {
        const WB_T *px[4], *mk[4];
        WB_FN(tile_pixels)(s, q, 2, px, mk);
        WB_T *out = (WB_T *)d.base + (q - q0) * d.ld;
        for (int64_t c = 0; c < s->c; c += WB_LANES) {
            WB_VEC g[4], h[8];
#pragma GCC unroll 4
            for (int e = 0; e < 4; e++) {
                g[e] = WB_FN(load)(px[e] + c, s->c - c);
                if (s->mask) g[e] = WB_FN(masked)(g[e], WB_FN(load)(mk[e] + c, s->c - c));
            }
            if (bias_acc) *(WB_VEC *)((WB_T *)bias_acc + c) += (g[0] + g[1]) + (g[2] + g[3]);
#pragma GCC unroll 2
            for (int a = 0; a < 2; a++) {  /* dy A^T: each row to 4 columns */
                h[4 * a] = g[2 * a];
                h[4 * a + 1] = g[2 * a] + g[2 * a + 1];
                h[4 * a + 2] = g[2 * a] - g[2 * a + 1];
                h[4 * a + 3] = -g[2 * a + 1];
            }
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {  /* A (dy A^T): the 2 rows to 4 */
                *(WB_VEC *)(out + j * d.plane + c) = h[j];
                *(WB_VEC *)(out + (4 + j) * d.plane + c) = h[j] + h[4 + j];
                *(WB_VEC *)(out + (8 + j) * d.plane + c) = h[j] - h[4 + j];
                *(WB_VEC *)(out + (12 + j) * d.plane + c) = -h[4 + j];
            }
        }
    }
}

/* m[0:nrows, 0:nv vectors] := a @ b over k for `rows` rows a[r] (duplicates past nrows: computed,
 * never stored); b [k, ldb]. rows broadcasts and nv loads feed rows * nv FMAs per k step (rows and
 * nv are compile-time constants at every call, so the tile stays in registers). */
WB_INLINE void WB_FN(gemm_tile)(WB_T *m, int64_t ldm, const WB_T *const *a, const WB_T *b,
                                int64_t ldb, int64_t k, int64_t nrows, const int rows,
                                const int nv)
{
    WB_VEC acc[WB_ROWS][WB_VECS];
    const WB_T *ar[WB_ROWS];
#pragma GCC unroll 16
    for (int r = 0; r < rows; r++) {
        ar[r] = a[r];
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) acc[r][v] = (WB_VEC){0};
    }
    for (int64_t i = 0; i < k; i++, b += ldb) {
        WB_VEC bv[WB_VECS];
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) bv[v] = *(const WB_VEC *)(b + v * WB_LANES);
#pragma GCC unroll 16
        for (int r = 0; r < rows; r++) {
            const WB_VEC x = ar[r][i] - (WB_VEC){0};  /* x - 0 == x: folds to a broadcast */
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) acc[r][v] += x * bv[v];
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < rows; r++)
        if (r < nrows)
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) *(WB_VEC *)(m + r * ldm + v * WB_LANES) = acc[r][v];
}

/* Rows [0, rows) of one position in tiles of WB_ROWS rows x WB_VECS vectors (fewer vectors in the
 * last column block). */
WB_INLINE void WB_FN(gemm_plane)(WB_T *mb, int64_t ldm, const WB_T *vb, int64_t ldv,
                                 const WB_T *ub, int64_t ldu, int64_t rows, int64_t k)
{
    for (int64_t r0 = 0; r0 < rows; r0 += WB_ROWS) {
        const int64_t nrows = TK_MIN(WB_ROWS, rows - r0);
        const WB_T *a[WB_ROWS];
        for (int r = 0; r < WB_ROWS; r++) a[r] = vb + (r0 + TK_MIN(r, nrows - 1)) * ldv;
        WB_T *out = mb + r0 * ldm;
        for (int64_t col = 0; col < ldm; col += WB_VECS * WB_LANES) {
            const int64_t left = (ldm - col) / WB_LANES;
            const WB_T *b = ub + col;
            if (left >= WB_VECS)
                WB_FN(gemm_tile)(out + col, ldm, a, b, ldu, k, nrows, WB_ROWS, WB_VECS);
            else if (left == 3)
                WB_FN(gemm_tile)(out + col, ldm, a, b, ldu, k, nrows, WB_ROWS, TK_MIN(3, WB_VECS));
            else if (left == 2)
                WB_FN(gemm_tile)(out + col, ldm, a, b, ldu, k, nrows, WB_ROWS, TK_MIN(2, WB_VECS));
            else WB_FN(gemm_tile)(out + col, ldm, a, b, ldu, k, nrows, WB_ROWS, 1);
        }
    }
}

/* m[xi] rows [0, rows) := v[xi] @ u[xi] over k input channels, all m.ld columns (u's padding
 * columns are zero), for each of the 16 positions. (A tile of twice the rows on half the vectors
 * for narrow m measured 1.6x slower: its 12 row pointers do not fit the general registers.) */
static void WB_FN(gemm)(wino_planes m, wino_planes v, wino_planes u, int64_t rows, int64_t k)
{
    for (int xi = 0; xi < WINO_XI; xi++)
        WB_FN(gemm_plane)((WB_T *)m.base + xi * m.plane, m.ld,
                          (const WB_T *)v.base + xi * v.plane, v.ld,
                          (const WB_T *)u.base + xi * u.plane, u.ld, rows, k);
}

/* acc[0:nch, 0:nv vectors] += sum over rows t of v[t, ch] * d[t, 0:nv vectors], for WB_WG_ROWS
 * channels from v (duplicates past nch: computed, never stored). */
WB_INLINE void WB_FN(wgemm_tile)(WB_T *acc, int64_t ldacc, const WB_T *v, int64_t ldv,
                                 const WB_T *d, int64_t ldd, int64_t rows, int64_t nch,
                                 const int nv)
{
    WB_VEC sum[WB_WG_ROWS][WB_WG_VECS];
    int64_t at[WB_WG_ROWS];
#pragma GCC unroll 16
    for (int r = 0; r < WB_WG_ROWS; r++) {
        at[r] = TK_MIN(r, nch - 1);
#pragma GCC unroll 8
        for (int j = 0; j < nv; j++) sum[r][j] = (WB_VEC){0};
    }
    for (int64_t t = 0; t < rows; t++, v += ldv, d += ldd) {
        WB_VEC dv[WB_WG_VECS];
#pragma GCC unroll 8
        for (int j = 0; j < nv; j++) dv[j] = *(const WB_VEC *)(d + j * WB_LANES);
#pragma GCC unroll 16
        for (int r = 0; r < WB_WG_ROWS; r++) {
            const WB_VEC x = v[at[r]] - (WB_VEC){0};
#pragma GCC unroll 8
            for (int j = 0; j < nv; j++) sum[r][j] += x * dv[j];
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < WB_WG_ROWS; r++)
        if (r < nch)
#pragma GCC unroll 8
            for (int j = 0; j < nv; j++) *(WB_VEC *)(acc + r * ldacc + j * WB_LANES) += sum[r][j];
}

/* acc[xi] [c, o] += v[xi]^T @ d[xi] over rows [0, rows), for each of the 16 positions (whole
 * vectors of columns: d's and acc's rows are padded). */
static void WB_FN(wgemm)(wino_planes acc, wino_planes v, wino_planes d, int64_t rows, int64_t c,
                         int64_t o)
{
    const int64_t block = WB_WG_VECS * WB_LANES, cols = TK_ROUND_UP(o, WB_LANES);
    for (int xi = 0; xi < WINO_XI; xi++) {
        const WB_T *vb = (const WB_T *)v.base + xi * v.plane;
        const WB_T *db = (const WB_T *)d.base + xi * d.plane;
        WB_T *ab = (WB_T *)acc.base + xi * acc.plane;
        for (int64_t c0 = 0; c0 < c; c0 += WB_WG_ROWS) {
            const int64_t nch = TK_MIN(WB_WG_ROWS, c - c0);
            WB_T *out = ab + c0 * acc.ld;
            for (int64_t col = 0; col < cols; col += block) {
                const WB_T *dc = db + col;
                switch (TK_MIN(WB_WG_VECS, (cols - col) / WB_LANES)) {
                case WB_WG_VECS:
                    WB_FN(wgemm_tile)(out + col, acc.ld, vb + c0, v.ld, dc, d.ld, rows, nch,
                                      WB_WG_VECS);
                    break;
#if WB_WG_VECS > 3
                case 3:
                    WB_FN(wgemm_tile)(out + col, acc.ld, vb + c0, v.ld, dc, d.ld, rows, nch, 3);
                    break;
#endif
#if WB_WG_VECS > 2
                case 2:
                    WB_FN(wgemm_tile)(out + col, acc.ld, vb + c0, v.ld, dc, d.ld, rows, nch, 2);
                    break;
#endif
                default:
                    WB_FN(wgemm_tile)(out + col, acc.ld, vb + c0, v.ld, dc, d.ld, rows, nch, 1);
                    break;
                }
            }
        }
    }
}

const wino_kernels WB_CAT3(wino, WB_SUF, WB_ISA) = {WB_FN(input), WB_FN(gemm), WB_FN(output),
                                                     WB_FN(grad), WB_FN(wgemm)};

#undef WB_INLINE
#undef WB_VEC
#undef WB_LANES
#undef WB_FN
#undef WB_CAT3
#undef WB_CAT3_
