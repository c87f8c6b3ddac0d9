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
 * Parameters, #defined by the includer:
 *   UK_NAME   function name            UK_T     element type (float or double)
 *   UK_VEC    name for the vector type UK_LANES elements per vector (GCC vector extension)
 *   UK_MR     rows of the register tile  UK_NV  vectors per tile row (NR = UK_NV * UK_LANES)
 * UK_MR * UK_NV accumulators + UK_NV B vectors + 1 broadcast must fit the ISA's register file,
 * or the kernel spills and loses most of its speed. */

#define UK_NR (UK_NV * UK_LANES)

typedef UK_T UK_VEC __attribute__((vector_size(UK_LANES * sizeof(UK_T))));

static void UK_NAME(int64_t k, int64_t m, int64_t n, double alpha_in, const void *a_in,
                    const void *b_in, double beta_in, void *c_in, int64_t ldc) {
    const UK_T *TK_RESTRICT a = (const UK_T *)a_in;
    const UK_T *TK_RESTRICT b = (const UK_T *)__builtin_assume_aligned(b_in, TK_CACHE_LINE);
    UK_T *c = (UK_T *)c_in;
    const UK_T alpha = (UK_T)alpha_in, beta = (UK_T)beta_in;
    UK_VEC acc[UK_MR][UK_NV];
#pragma GCC unroll 32
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) acc[i][v] = (UK_VEC){0};
    /* The hot loop: per depth step, NV vector loads of B, MR scalar broadcasts of A, MR*NV FMAs
     * into independent accumulators (enough of them to cover the FMA latency on two ports). */
    for (int64_t p = 0; p < k; p++, a += UK_MR, b += UK_NR) {
        UK_VEC bv[UK_NV];
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) __builtin_memcpy(&bv[v], b + v * UK_LANES, sizeof(UK_VEC));
#pragma GCC unroll 32
        for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
            for (int v = 0; v < UK_NV; v++) acc[i][v] += a[i] * bv[v];
    }

    const int full = m == UK_MR && n == UK_NR;
    UK_T edge[UK_MR * UK_NR] __attribute__((aligned(TK_CACHE_LINE)));
    UK_T *dst = full ? c : edge;
    const int64_t ld = full ? ldc : UK_NR;
    if (!full && beta != 0) {
        __builtin_memset(edge, 0, sizeof(edge));
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) edge[i * UK_NR + j] = c[i * ldc + j];
    }
#pragma GCC unroll 32
    for (int i = 0; i < UK_MR; i++)
#pragma GCC unroll 4
        for (int v = 0; v < UK_NV; v++) {
            UK_T *out = dst + i * ld + v * UK_LANES;
            UK_VEC result = alpha * acc[i][v];
            if (beta != 0) {
                UK_VEC old;
                __builtin_memcpy(&old, out, sizeof(UK_VEC));
                result = alpha * acc[i][v] + beta * old;
            }
            __builtin_memcpy(out, &result, sizeof(UK_VEC));
        }
    if (!full)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = edge[i * UK_NR + j];
}

#undef UK_NR
#undef UK_NAME
#undef UK_T
#undef UK_VEC
#undef UK_LANES
#undef UK_MR
#undef UK_NV
