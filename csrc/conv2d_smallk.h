/* conv2d_smallk.h: conv2d kernels for a tiny reduction (input layers: K = kh * kw * c_in with c_in
 * 1 or 3, so K = 9 or 27 multiply-adds per output element for a 3x3 kernel) and few output
 * channels, behind the same job contract as the implicit-GEMM tile kernels (conv2d_internal.h).
 * The tile kernels are built for K in the hundreds; at K = 9 their per-tile work (pixel offset
 * tables, partial-tile checks, duplicate rows) costs as much as the multiply-adds. Here:
 *   forward      one run of pixels along an output row streams through a block of R pixels x all
 *                output channels held in registers; each k step loads one row of the (L1-resident)
 *                weights and broadcasts R source elements at fixed strides from the run's start.
 *   weight grad  a block of k rows x all output channels accumulates in registers over a long
 *                run of pixels (a whole image range per block when it fits), then adds into acc once.
 * Picked by conv2d.c through conv_smallk_igemm / conv_smallk_wgrad, which return NULL when the
 * shape is not small enough (then the tile kernels run). Bodies: conv2d_smallk_body.h, compiled per
 * ISA by conv2d_smallk_{ref,avx2,avx512}.c.
 * Tried and measured slower on the 28x28x1 -> 32 input layer (AVX-512, in-process interleaved,
 * best of 20; branches inwino-winograd-experiment and inwino-nt-experiment): Winograd 1-D F(4, 3)
 * forward and F(2x2, 3x3) grad-weight for c_in = 1 (28 and 29 instead of 36 and 40 vector ops
 * per 4 pixels and channel vector): forward b32 0.171 vs 0.162 ms, b128 0.605 vs 0.628 (1
 * thread), grad-weight b32 0.175 vs 0.125, b128 0.646 vs 0.502: both passes wait on y's stores
 * and dy's loads (perf: the dy loads and prefetches take ~45% of the Winograd grad-weight),
 * not on multiply-adds. Non-temporal stores of a large y: 1.14x faster in a forward-only loop
 * at b128, but 0.90x inside bench_conv's interleaved race (b128, 1 thread). */
#ifndef TK_CONV2D_SMALLK_H
#define TK_CONV2D_SMALLK_H
#include "conv2d_internal.h"

/* Largest K the small-K path takes. Measured (AVX-512, b32, 32 channels): K = 9 fwd 0.24 -> 0.14 ms,
 * dw+db 0.22 -> 0.12; K = 27 (3 channels) fwd 0.32 -> 0.30, dw+db 0.45 -> 0.32. Larger K stays with
 * the tile kernels, which block k for L1 (not measured against this path). */
#define CONV_SMALLK_MAX_K 32
/* Output channels the small-K path covers: at most this many vectors of the ISA's width. */
#define CONV_SMALLK_MAX_VECS 4

#define CONV_SMALLK_DECLARE(isa)                                                          \
    void conv_smallk_igemm_f32_##isa(const conv_igemm_job *job, int64_t p0, int64_t p1); \
    void conv_smallk_igemm_f64_##isa(const conv_igemm_job *job, int64_t p0, int64_t p1); \
    void conv_smallk_wgrad_f32_##isa(const conv_wgrad_job *job, int64_t p0, int64_t p1); \
    void conv_smallk_wgrad_f64_##isa(const conv_wgrad_job *job, int64_t p0, int64_t p1);
CONV_SMALLK_DECLARE(ref)
CONV_SMALLK_DECLARE(avx2)
CONV_SMALLK_DECLARE(avx512)
#undef CONV_SMALLK_DECLARE

/* The small-K kernel for this element size, reduction length and column count at the active SIMD
 * level, or NULL when the shape is not small. */
conv_igemm_fn conv_smallk_igemm(size_t es, int64_t k, int64_t ncols);
conv_wgrad_fn conv_smallk_wgrad(size_t es, int64_t k, int64_t ncols);

#endif
