/* gemm_internal.h: what the GEMM files share: the micro-kernel table entry and the packing routines.
 * The driver (gemm.c) is written once over element size; the micro-kernels and packers are typed
 * inside their own files. Never seen by cffi. */
#ifndef TK_GEMM_INTERNAL_H
#define TK_GEMM_INTERNAL_H
#include "tk_internal.h"

/* The micro-kernel contract (see gemm_ukernel.h): on packed panels a (MR x k) and b (k x NR),
 * C[0:m, 0:n] := beta * C + alpha * a @ b, with m <= MR, n <= NR; beta == 0 never reads C.
 * alpha/beta arrive as double so one driver serves both dtypes (a float alpha converts exactly).
 * a_rs / b_rs: A's row stride and B's depth stride for the kernels that read them in place
 * (ignored by the packed ones). b_copy: NULL, or where a B-in-place kernel writes the packed panel
 * of what it reads (ignored by the others). */
typedef void (*tk_gemm_ukernel)(int64_t k, int64_t m, int64_t n, double alpha, const void *a,
                                int64_t a_rs, const void *b, int64_t b_rs, void *b_copy,
                                double beta, void *c, int64_t ldc);

/* One ISA's GEMM recipe: the register tile (mr x nr), the cache blocking around it, and its
 * micro-kernels kernel[short][half][a_in_place][b_in_place]: short = 1 has short_mr rows and
 * half = 1 nr/2 columns, for a last row or column panel that would otherwise spend a third or half
 * of its FMAs on zero padding; the in_place ones read A or B where they lie instead of packed.
 * kc: depth of one packed block pair; mc: rows of the packed A block; nc: columns of the packed B
 * block. mc must be a multiple of mr and nc of nr (the workspace size relies on it), nr even,
 * short_mr < mr. */
typedef struct {
    int mr, nr, short_mr;
    int64_t mc, kc, nc;
    tk_gemm_ukernel kernel[2][2][2][2];
} tk_gemm_recipe;

/* The kernel table of a recipe, from the name the ISA file gave gemm_ukernel.h's instantiations. */
#define TK_GEMM_KERNELS_BY_PLACE(k) {{k, k##_b_in_place}, {k##_strided, k##_strided_b_in_place}}
#define TK_GEMM_KERNELS(k)                                                                   \
    {{TK_GEMM_KERNELS_BY_PLACE(k), TK_GEMM_KERNELS_BY_PLACE(k##_half)},                     \
     {TK_GEMM_KERNELS_BY_PLACE(k##_short), TK_GEMM_KERNELS_BY_PLACE(k##_short_half)}}

extern const tk_gemm_recipe tk_gemm_ref_f32, tk_gemm_ref_f64;
#if defined(__x86_64__) && defined(__GNUC__)
#define TK_GEMM_HAVE_X86 1
extern const tk_gemm_recipe tk_gemm_avx2_f32, tk_gemm_avx2_f64;
extern const tk_gemm_recipe tk_gemm_avx512_f32, tk_gemm_avx512_f64;
#endif

/* Packing (gemm_pack.c). The source element (i, p) of op(X) sits at src[i*rs + p*cs] (elements),
 * which covers row-major, transposed and any leading dimension. es is the element size (4 or 8).
 * pack_a: m x k block of op(A) -> ceil(m/mr) micro-panels, each k x mr (mr consecutive rows per p).
 * pack_b: k x n block of op(B) -> ceil(n/nr) micro-panels, each k x nr.
 * Rows/columns past m/n are zero-filled so the micro-kernel always runs full tiles. */
void tk_gemm_pack_a(void *dst, const void *src, int64_t rs, int64_t cs, int64_t m, int64_t k, int mr,
                    int es);
void tk_gemm_pack_b(void *dst, const void *src, int64_t rs, int64_t cs, int64_t k, int64_t n, int nr,
                    int es);

#endif
