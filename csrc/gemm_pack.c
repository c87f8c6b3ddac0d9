/* gemm_pack.c: copies a block of op(A) or op(B) into the micro-panel layout the micro-kernel
 * streams through (BLIS pack_a / pack_b), so the kernel reads only unit-stride, aligned memory
 * whatever the caller's transpose flags and leading dimensions.
 *
 * One routine serves both operands: a k x n block of op(B) packed into nr-wide panels is exactly the
 * n x k block of op(B)^T packed into "mr"-wide panels, so pack_b calls pack_a with its strides
 * swapped. Performance assumptions: the block being packed fits in L2; the two layouts that matter
 * (a panel's rows contiguous in memory, or its depth contiguous) get their own loops; anything else
 * takes the element-wise loop. Panels are zero-padded to full width so the kernel never branches. */
#include <string.h>

#include "gemm_internal.h"

typedef float pack_v4sf __attribute__((vector_size(16)));
typedef double pack_v2df __attribute__((vector_size(16)));
typedef int32_t pack_v4si __attribute__((vector_size(16)));
typedef int64_t pack_v2di __attribute__((vector_size(16)));

/* The gather case (each of w rows contiguous in depth) by register transposes: 4 x 4 blocks for
 * float, 2 x 2 for double, so every load and store moves a whole 16-byte vector instead of one
 * element. Returns how many depth steps it packed (a multiple of the block); w % block == 0. */
static inline __attribute__((always_inline)) int64_t pack_rows_transposed(char *TK_RESTRICT panel,
                                                                          const char *TK_RESTRICT block,
                                                                          int64_t rs, int64_t k,
                                                                          const int w, const int es) {
    if (es == 4 && w % 4 == 0) {
        const float *src = (const float *)block;
        float *out = (float *)panel;
        int64_t p = 0;
        for (; p + 4 <= k; p += 4)
            for (int i = 0; i < w; i += 4) {
                pack_v4sf r0, r1, r2, r3;
                memcpy(&r0, src + i * rs + p, 16), memcpy(&r1, src + (i + 1) * rs + p, 16);
                memcpy(&r2, src + (i + 2) * rs + p, 16), memcpy(&r3, src + (i + 3) * rs + p, 16);
                const pack_v4sf t0 = __builtin_shuffle(r0, r1, (pack_v4si){0, 4, 1, 5});
                const pack_v4sf t1 = __builtin_shuffle(r0, r1, (pack_v4si){2, 6, 3, 7});
                const pack_v4sf t2 = __builtin_shuffle(r2, r3, (pack_v4si){0, 4, 1, 5});
                const pack_v4sf t3 = __builtin_shuffle(r2, r3, (pack_v4si){2, 6, 3, 7});
                const pack_v4sf c0 = __builtin_shuffle(t0, t2, (pack_v4si){0, 1, 4, 5});
                const pack_v4sf c1 = __builtin_shuffle(t0, t2, (pack_v4si){2, 3, 6, 7});
                const pack_v4sf c2 = __builtin_shuffle(t1, t3, (pack_v4si){0, 1, 4, 5});
                const pack_v4sf c3 = __builtin_shuffle(t1, t3, (pack_v4si){2, 3, 6, 7});
                memcpy(out + p * w + i, &c0, 16), memcpy(out + (p + 1) * w + i, &c1, 16);
                memcpy(out + (p + 2) * w + i, &c2, 16), memcpy(out + (p + 3) * w + i, &c3, 16);
            }
        return p;
    }
    if (es == 8 && w % 2 == 0) {
        const double *src = (const double *)block;
        double *out = (double *)panel;
        int64_t p = 0;
        for (; p + 2 <= k; p += 2)
            for (int i = 0; i < w; i += 2) {
                pack_v2df r0, r1;
                memcpy(&r0, src + i * rs + p, 16), memcpy(&r1, src + (i + 1) * rs + p, 16);
                const pack_v2df c0 = __builtin_shuffle(r0, r1, (pack_v2di){0, 2});
                const pack_v2df c1 = __builtin_shuffle(r0, r1, (pack_v2di){1, 3});
                memcpy(out + p * w + i, &c0, 16), memcpy(out + (p + 1) * w + i, &c1, 16);
            }
        return p;
    }
    return 0;
}

/* dst: [ceil(m/w)][k][w]   src: element (i, p) at src[i*rs + p*cs]   es: element size (4 or 8).
 * always_inline with constant w and es turns every element copy into one move and lets the
 * compiler unroll the panel-width loops. */
static inline __attribute__((always_inline)) void pack_panels(char *TK_RESTRICT dst,
                                                              const char *TK_RESTRICT src,
                                                              int64_t rs, int64_t cs, int64_t m,
                                                              int64_t k, const int w, const int es) {
    for (int64_t i0 = 0; i0 < m; i0 += w) {
        const int64_t rows = TK_MIN((int64_t)w, m - i0);
        char *panel = dst + i0 * k * es;
        const char *block = src + i0 * rs * es;
        if (rs == 1 && rows == w) {
            /* The panel's w elements are contiguous for every p: one fixed-size copy per step. */
            for (int64_t p = 0; p < k; p++) memcpy(panel + p * w * es, block + p * cs * es, w * es);
        } else if (cs == 1 && rows == w) {
            /* Each row's depth run is contiguous: read the w row streams in lockstep (transposing
             * small register blocks) and write the panel sequentially; the writes stay in L1,
             * the reads prefetch as streams. */
            for (int64_t p = pack_rows_transposed(panel, block, rs, k, w, es); p < k; p++)
                for (int i = 0; i < w; i++)
                    memcpy(panel + (p * w + i) * es, block + (i * rs + p) * es, es);
        } else {
            /* Edge panel: copy `rows`, zero the rest of the width. */
            for (int64_t p = 0; p < k; p++) {
                char *out = panel + p * w * es;
                for (int64_t i = 0; i < rows; i++)
                    memcpy(out + i * es, block + (i * rs + p * cs) * es, es);
                for (int64_t i = rows; i < w; i++) memset(out + i * es, 0, es);
            }
        }
    }
}

#define PACK_WIDTH(W)                                                     \
    case W:                                                               \
        if (es == 4)                                                      \
            pack_panels((char *)dst, (const char *)src, rs, cs, m, k, W, 4); \
        else                                                              \
            pack_panels((char *)dst, (const char *)src, rs, cs, m, k, W, 8); \
        return;

/* Every micro-kernel width in use (full and half) gets its own unrolled copy loops. */
void tk_gemm_pack_a(void *dst, const void *src, int64_t rs, int64_t cs, int64_t m, int64_t k, int mr,
                    int es) {
    switch (mr) {
        PACK_WIDTH(2)
        PACK_WIDTH(4)
        PACK_WIDTH(6)
        PACK_WIDTH(8)
        PACK_WIDTH(12)
        PACK_WIDTH(16)
        PACK_WIDTH(32)
    default:
        pack_panels((char *)dst, (const char *)src, rs, cs, m, k, mr, es);
    }
}

void tk_gemm_pack_b(void *dst, const void *src, int64_t rs, int64_t cs, int64_t k, int64_t n, int nr,
                    int es) {
    tk_gemm_pack_a(dst, src, cs, rs, n, k, nr, es);
}
