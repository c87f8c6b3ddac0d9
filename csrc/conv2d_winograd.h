/* conv2d_winograd.h: Winograd F(2x2, 3x3) convolution for 3x3, stride 1, dilation 1 layers with
 * enough channels (conv_winograd_passes), behind conv2d.c's entry points. With the transforms
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * one 2x2 output tile of one channel pair is A^T [(G g G^T) . (B^T d B)] A over the 4x4 input tile
 * d (tiles overlap by 2): 16 multiplies instead of 36. Over channels the 16 elementwise products
 * become 16 GEMMs, one per transformed position xi:
 *   forward      V[xi] = B^T d B (tiles x c_in), U[xi] = G g G^T (c_in x c_out),
 *                M[xi] = V[xi] @ U[xi], y tile = A^T M A (+ bias, fused ReLU)
 *   grad-input   the same forward on dy, with the kernel rotated by 180 degrees and transposed
 *                (a stride-1 'full' correlation: pads 2 - pad), dy masked on the way in
 *   grad-weight  D[xi] = A dy A^T (the adjoint of the output transform), dU[xi] += V[xi]^T @ D[xi]
 *                over all tiles (per-thread partials), dw = G^T dU G once at the end
 * The transforms' coefficients are 0, +-1, +-1/2: in float32 the results differ from the direct
 * convolution by a few units of its own rounding error (tests/test_conv_winograd.py).
 * Per-ISA bodies: conv2d_winograd_body.h, compiled by conv2d_winograd_{ref,avx2,avx512}.c. */
#ifndef TK_CONV2D_WINOGRAD_H
#define TK_CONV2D_WINOGRAD_H
#include "conv2d_internal.h"

#define WINO_XI 16 /* transformed positions of one 4x4 tile */

/* Tile q of a batch is (image, tile row r, tile column s), row-major over a tiles_h x tiles_w grid
 * per image; it reads source rows 2r - top + (0..3) and columns 2s - left + (0..3), zeros outside
 * the image (the forward's tiles; the weight gradient's dy tiles are 2x2: top = left = 0). */
typedef struct {
    const void *src, *mask;   /* [n, h, w, c]; mask (same layout) or NULL: read src * (mask > 0) */
    const void *zeros;        /* a padded row of zeros: what reads outside the image see */
    int64_t h, w, c, top, left, tiles_h, tiles_w;
} wino_source;

/* Where the forward's 2x2 output tiles go: y [n, out_h, out_w, o], tile q at rows 2r + (0, 1),
 * columns 2s + (0, 1) where inside. bias [o] or NULL; relu: store max(y, 0). */
typedef struct {
    void *y;
    const void *bias;
    int relu;
    int64_t out_h, out_w, o;
} wino_sink;

/* Transformed tiles of a block: position xi of row t (a tile, or an input channel of U), element k
 * at base + xi * plane + t * ld + k (elements); ld is a multiple of CONV_COL_ALIGN. */
typedef struct {
    void *base;
    int64_t ld, plane;
} wino_planes;

/* One ISA's and dtype's kernels (conv2d_winograd_body.h says what each does). */
typedef struct {
    void (*input)(wino_planes v, const wino_source *s, int64_t q0, int64_t q1);
    void (*gemm)(wino_planes m, wino_planes v, wino_planes u, int64_t rows, int64_t k);
    void (*output)(const wino_sink *s, wino_planes m, int64_t q0, int64_t q1);
    void (*grad)(wino_planes d, const wino_source *s, int64_t q0, int64_t q1, void *bias_acc);
    void (*wgemm)(wino_planes acc, wino_planes v, wino_planes d, int64_t rows, int64_t c,
                  int64_t o);
} wino_kernels;

#define WINO_DECLARE(isa) extern const wino_kernels wino_f32_##isa, wino_f64_##isa;
WINO_DECLARE(ref)
WINO_DECLARE(avx2)
WINO_DECLARE(avx512)
#undef WINO_DECLARE

/* The workspace plan of a Winograd call (conv2d_plan.c): per-thread blocks of transformed tiles
 * and, for the weight gradient, per-thread partial sums of dU and the bias. */
typedef struct {
    int nt;
    int64_t tiles, block;           /* tiles of the batch; tiles per block */
    int64_t ldv, ldm;               /* row lengths of V (input channels) and M / D (output ones) */
    size_t u, zeros, bufs, buf_bytes, accs, acc_bytes, total;
} wino_plan;

/* The passes that run as Winograd for this geometry and element size (3x3 kernel, stride 1,
 * dilation 1, enough channels for the pass but not too many): a bit set of these. */
enum { WINO_FORWARD = 1, WINO_GRAD_INPUT = 2, WINO_GRAD_WEIGHT = 4 };
int conv_winograd_passes(const tk_conv2d_geometry *g, size_t es);
wino_plan wino_plan_forward(const tk_conv2d_geometry *g, size_t es, int transposed);
wino_plan wino_plan_backward_weight(const tk_conv2d_geometry *g, size_t es);

void conv_winograd_forward(void *y, const void *x, const void *w, const void *bias, int relu,
                           const tk_conv2d_geometry *g, void *ws, size_t es);
void conv_winograd_backward_input(void *dx, const void *dy, const void *mask, const void *w,
                                  const tk_conv2d_geometry *g, void *ws, size_t es);
void conv_winograd_backward_weight(void *dw, void *dbias, const void *x, const void *dy,
                                   const void *mask, const tk_conv2d_geometry *g, void *ws,
                                   size_t es);

#endif
