/* gemm_ukernel.h: the one GEMM micro-kernel body, compiled once per (ISA, dtype) by the
 * gemm_ukernel_<isa>.c files (the tinyBLAS idea: one body, many targets). No include guard on
 * purpose: each inclusion instantiates one kernel and then #undefs its parameters.
 *
 * Contract (the BLIS micro-kernel contract):
 *   a: packed A micro-panel [k][MR] (MR consecutive rows of op(A) per depth step p)
 *   b: packed B micro-panel [k][NR] (NR consecutive columns of op(B) per p), 64-byte aligned
 *   c: C tile [m][n] at row stride ldc, m <= MR, n <= NR
 *   C := beta * C + alpha * a @ b.  beta == 0 never reads C (it may hold NaN or garbage).
 * Padding rows/columns of the panels are zeros, so the loop always runs the full MR x NR tile in
 * registers; only the store knows about m and n. An edge tile is staged through a small aligned
 * buffer and then goes through exactly the same vector update as a full tile, so an element's
 * result never depends on where the tile boundaries fall (results are bitwise identical for any
 * thread split).
 *
 * Each inclusion defines four kernels from the one body: UK_NAME reads A and B from their packed
 * panels; UK_NAME_strided reads A where it lies, row i of the micro-panel at a + i*a_rs with unit
 * stride in depth; the _b_in_place ones read B where it lies, depth step p at b + p*b_rs. Reading
 * in place serves a row-major A always and a row-major B when few panels of A share it (gemm.c
 * says why); such a panel must be full (MR rows, NR columns). A _b_in_place kernel given b_copy
 * (64-byte aligned, else NULL) also writes the B panel it reads there in the packed layout: the
 * first row panel packs B while multiplying it, so packing costs no pass of its own.
 *
 * Parameters, #defined by the includer:
 *   UK_NAME   function name              UK_T   element type (float or double)
 *   UK_LANES  elements per vector (GCC vector extension, so each target picks its registers)
 *   UK_MR     rows of the register tile  UK_NV  vectors per tile row (NR = UK_NV * UK_LANES)
 * UK_MR * UK_NV accumulators + UK_NV B vectors + 1 broadcast must fit the ISA's register file,
 * or the kernel spills and loses most of its speed. */

#define UK_NR (UK_NV * UK_LANES)
/* Depth steps per C tile row prefetched along the loop (see _body). */
#define UK_C_ROW_STEPS 4
/* Depth steps ahead that a copying kernel prefetches B's rows: they come from L2 or farther and,
 * a row apart, are no stream the hardware prefetcher would follow. */
#define UK_COPY_AHEAD 32
#define UK_CAT2(a, b) a##b
#define UK_CAT(a, b) UK_CAT2(a, b)
#define UK_VEC UK_CAT(UK_NAME, _vec)

typedef UK_T UK_VEC __attribute__((vector_size(UK_LANES * sizeof(UK_T))));

/* dst[0:MR, 0:NR] := alpha * acc + beta * dst (beta == 0: dst not read). Full tiles and staged edge
 * tiles both go through here, so their arithmetic is identical. */
static inline __attribute__((always_inline)) void UK_CAT(UK_NAME, _store)(UK_VEC acc[UK_MR][UK_NV],
                                                                         UK_T *dst, int64_t ld,
                                                                         UK_T alpha, UK_T beta) {
#pragma GCC unroll 32
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) {
            UK_T *out = dst + i * ld + v * UK_LANES;
            /* alpha == 1 (almost every call) skips the multiply. */
            UK_VEC result = alpha == 1 ? acc[i][v] : alpha * acc[i][v];
            if (beta != 0) {
                UK_VEC old;
                __builtin_memcpy(&old, out, sizeof(UK_VEC));
                result = alpha == 1 ? acc[i][v] + beta * old : alpha * acc[i][v] + beta * old;
            }
            __builtin_memcpy(out, &result, sizeof(UK_VEC));
        }
}

/* One depth step: NV vector loads of B, MR scalar broadcasts of A, MR*NV FMAs into independent
 * accumulators (enough of them to cover the FMA latency on two ports); a non-NULL b_copy receives
 * the B vectors. */
static inline __attribute__((always_inline)) void UK_CAT(UK_NAME, _step)(
    UK_VEC acc[UK_MR][UK_NV], const UK_T *TK_RESTRICT a, const int64_t a_rs,
    const UK_T *TK_RESTRICT b, UK_T *TK_RESTRICT b_copy) {
    UK_VEC bv[UK_NV];
#pragma GCC unroll 4
    for (int v = 0; v < UK_NV; v++) __builtin_memcpy(&bv[v], b + v * UK_LANES, sizeof(UK_VEC));
    if (b_copy)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++)
            __builtin_memcpy(b_copy + v * UK_LANES, &bv[v], sizeof(UK_VEC));
#pragma GCC unroll 32
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) acc[i][v] += a[i * a_rs] * bv[v];
}

/* Prefetches for writing the n elements at row, every line they touch. */
static inline __attribute__((always_inline)) void UK_CAT(UK_NAME, _prefetch_row)(const UK_T *row,
                                                                                int64_t n) {
    for (int64_t j = 0; j < n; j += TK_CACHE_LINE / (int64_t)sizeof(UK_T))
        __builtin_prefetch(row + j, 1, 3);
    __builtin_prefetch(row + n - 1, 1, 3);
}

/* a_rs/a_step/b_step are constants in the packed callers below, so each kernel gets its own
 * addressing; only a packed B panel is known to be aligned. */
static inline __attribute__((always_inline)) void UK_CAT(UK_NAME, _body)(
    int64_t k, int64_t m, int64_t n, double alpha_in, const void *a_in, const int64_t a_rs,
    const int64_t a_step, const void *b_in, const int64_t b_step, void *b_copy_in, double beta_in,
    void *c_in, int64_t ldc) {
    const UK_T *TK_RESTRICT a = (const UK_T *)a_in;
    const UK_T *TK_RESTRICT b =
        (const UK_T *)(b_step == UK_NR ? __builtin_assume_aligned(b_in, TK_CACHE_LINE) : b_in);
    UK_T *c = (UK_T *)c_in;
    const UK_T alpha = (UK_T)alpha_in, beta = (UK_T)beta_in;
    /* Pull the C tile in early: its rows are far apart and the update at the end would otherwise
     * wait on up to 3*MR cache misses (a row need not start on a line). One row every
     * UK_C_ROW_STEPS depth steps at the start of the loop, not all at once: a burst of 2-3*MR
     * prefetches stalls on the line fill buffers (3.5% of the kernel's samples at 2048). */
    const int spread_c = !b_copy_in && k >= UK_C_ROW_STEPS * m;
    if (!spread_c)
        for (int64_t i = 0; i < m; i++) UK_CAT(UK_NAME, _prefetch_row)(c + i * ldc, n);
    UK_VEC acc[UK_MR][UK_NV];
#pragma GCC unroll 32
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) acc[i][v] = (UK_VEC){0};
    int64_t p = 0;
    if (b_copy_in) {
        UK_T *TK_RESTRICT b_copy = (UK_T *)__builtin_assume_aligned(b_copy_in, TK_CACHE_LINE);
        for (; p < k; p++, a += a_step, b += b_step, b_copy += UK_NR) {
            if (p + UK_COPY_AHEAD < k) {
                const char *ahead = (const char *)(b + UK_COPY_AHEAD * b_step);
#pragma GCC unroll 4
                for (int at = 0; at < UK_NR * (int)sizeof(UK_T); at += TK_CACHE_LINE)
                    __builtin_prefetch(ahead + at, 0, 3);
                __builtin_prefetch(ahead + UK_NR * sizeof(UK_T) - 1, 0, 3);
            }
            UK_CAT(UK_NAME, _step)(acc, a, a_rs, b, b_copy);
        }
    }
    if (spread_c)
#pragma GCC unroll 1
        for (; p < UK_C_ROW_STEPS * m; p++, a += a_step, b += b_step) {
            if (p % UK_C_ROW_STEPS == 0)
                UK_CAT(UK_NAME, _prefetch_row)(c + p / UK_C_ROW_STEPS * ldc, n);
            UK_CAT(UK_NAME, _step)(acc, a, a_rs, b, 0);
        }
    /* The hot loop. */
    for (; p < k; p++, a += a_step, b += b_step) UK_CAT(UK_NAME, _step)(acc, a, a_rs, b, 0);

    if (m == UK_MR && n == UK_NR) {
        UK_CAT(UK_NAME, _store)(acc, c, ldc, alpha, beta);
        return;
    }
    UK_T edge[UK_MR * UK_NR] __attribute__((aligned(TK_CACHE_LINE)));
    if (beta != 0) {
        __builtin_memset(edge, 0, sizeof(edge));
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) edge[i * UK_NR + j] = c[i * ldc + j];
    }
    UK_CAT(UK_NAME, _store)(acc, edge, UK_NR, alpha, beta);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = edge[i * UK_NR + j];
}

static void UK_NAME(int64_t k, int64_t m, int64_t n, double alpha, const void *a, int64_t a_rs,
                    const void *b, int64_t b_rs, void *b_copy, double beta, void *c, int64_t ldc) {
    (void)a_rs, (void)b_rs, (void)b_copy;
    UK_CAT(UK_NAME, _body)(k, m, n, alpha, a, 1, UK_MR, b, UK_NR, 0, beta, c, ldc);
}

static void UK_CAT(UK_NAME, _strided)(int64_t k, int64_t m, int64_t n, double alpha, const void *a,
                                      int64_t a_rs, const void *b, int64_t b_rs, void *b_copy,
                                      double beta, void *c, int64_t ldc) {
    (void)b_rs, (void)b_copy;
    UK_CAT(UK_NAME, _body)(k, m, n, alpha, a, a_rs, 1, b, UK_NR, 0, beta, c, ldc);
}

static void UK_CAT(UK_NAME, _b_in_place)(int64_t k, int64_t m, int64_t n, double alpha,
                                         const void *a, int64_t a_rs, const void *b, int64_t b_rs,
                                         void *b_copy, double beta, void *c, int64_t ldc) {
    (void)a_rs;
    UK_CAT(UK_NAME, _body)(k, m, n, alpha, a, 1, UK_MR, b, b_rs, b_copy, beta, c, ldc);
}

static void UK_CAT(UK_NAME, _strided_b_in_place)(int64_t k, int64_t m, int64_t n, double alpha,
                                                 const void *a, int64_t a_rs, const void *b,
                                                 int64_t b_rs, void *b_copy, double beta, void *c,
                                                 int64_t ldc) {
    UK_CAT(UK_NAME, _body)(k, m, n, alpha, a, a_rs, 1, b, b_rs, b_copy, beta, c, ldc);
}

#undef UK_NR
#undef UK_COPY_AHEAD
#undef UK_C_ROW_STEPS
#undef UK_CAT
#undef UK_CAT2
#undef UK_NAME
#undef UK_T
#undef UK_VEC
#undef UK_LANES
#undef UK_MR
#undef UK_NV
