/* conv2d_plan.c: the workspace plans of the conv2d drivers (conv2d.c): how many threads a call
 * runs on and where each scratch array lives in the caller's workspace. The size queries and the
 * kernels build the same plan from the same geometry, so they always agree. */
#include "conv2d_smallk.h"
#include "conv2d_winograd.h"

static size_t carve(size_t *top, size_t bytes)
{
    size_t at = *top;
    *top += TK_ROUND_UP(bytes, TK_CACHE_LINE);
    return at;
}

static int64_t col_align(size_t es) { return es == 4 ? CONV_COL_ALIGN_F32 : CONV_COL_ALIGN_F64; }

/* Threads only when each gets at least ~2^18 multiply-adds: fork/join costs microseconds. */
static int conv_threads(int64_t macs)
{
#ifdef _OPENMP
    return (int)TK_MAX(1, TK_MIN((int64_t)tk_threads, macs >> 18));
#else
    (void)macs;
    return 1;
#endif
}

conv_plan conv_plan_forward(const tk_conv2d_geometry *g, size_t es)
{
    conv_plan pl = {0};
    size_t top = 0;
    pl.k = g->kh * g->kw * g->c;
    pl.nt = conv_threads(g->n * g->out_h * g->out_w * pl.k * g->o);
    pl.src_h = g->h + g->pad_top + g->pad_bottom;
    pl.src_w = g->w + g->pad_left + g->pad_right;
    pl.src_c = g->c;
    pl.place = (g->pad_top | g->pad_bottom | g->pad_left | g->pad_right) != 0;
    pl.ld = TK_ROUND_UP(g->o, col_align(es));
    pl.koff = carve(&top, (size_t)pl.k * sizeof(int64_t));
    pl.bias = carve(&top, (size_t)pl.ld * es);
    pl.packed = carve(&top, (size_t)(pl.k * pl.ld) * es);
    pl.image_bytes = TK_ROUND_UP((size_t)(pl.src_h * pl.src_w * pl.src_c) * es, TK_CACHE_LINE);
    pl.images = carve(&top, pl.place ? pl.nt * pl.image_bytes : 0);
    pl.total = top;
    return pl;
}

conv_plan conv_plan_backward_input(const tk_conv2d_geometry *g, size_t es)
{
    conv_plan pl = {0};
    size_t top = 0;
    pl.k = g->kh * g->kw * g->o;
    pl.nt = conv_threads(g->n * g->h * g->w * pl.k * g->c / (g->stride_h * g->stride_w));
    conv_phase_margins(g->kh, g->dilation_h, g->pad_top, g->stride_h, g->h, g->out_h, &pl.top,
                       &pl.src_h);
    conv_phase_margins(g->kw, g->dilation_w, g->pad_left, g->stride_w, g->w, g->out_w, &pl.left,
                       &pl.src_w);
    pl.src_c = g->o;
    pl.place = 1;
    pl.ld = TK_ROUND_UP(g->c, col_align(es));
    pl.koff = carve(&top, (size_t)pl.k * sizeof(int64_t));
    pl.packed = carve(&top, (size_t)(pl.k * pl.ld) * es);
    pl.phases = carve(&top, (size_t)(g->stride_h * g->stride_w) * sizeof(conv_phase));
    pl.image_bytes = TK_ROUND_UP((size_t)(pl.src_h * pl.src_w * pl.src_c) * es, TK_CACHE_LINE);
    pl.images = carve(&top, pl.nt * pl.image_bytes);
    pl.total = top;
    return pl;
}

conv_plan conv_plan_backward_weight(const tk_conv2d_geometry *g, size_t es, conv_dy_source dy)
{
    conv_plan pl = conv_plan_forward(g, es);
    size_t top = pl.total;
    /* dy rows are read as whole vectors: copied to padded rows unless O is already a multiple
     * (not merely to align them: the copy costs more than the split loads it saves), or masked
     * by the fused ReLU on the way, unless the kernel masks them as it loads them; rebuilt from
     * the pooled gradient always (the image's dy then only ever exists in this buffer). */
    const size_t gbuf = TK_ROUND_UP((size_t)(g->out_h * g->out_w * pl.ld) * es, TK_CACHE_LINE);
    pl.mask_in_kernel =
        dy == CONV_DY_RELU && pl.ld == g->o && conv_smallk_wgrad(es, pl.k, g->o) != NULL;
    pl.gbuf_bytes =
        (dy != CONV_DY_PLAIN && !pl.mask_in_kernel) || pl.ld != g->o ? gbuf : 0;
    pl.gbufs = carve(&top, pl.nt * pl.gbuf_bytes);
    /* Each thread's partial dw, then its partial bias sums: one row of ld after the k rows. */
    pl.acc_bytes = TK_ROUND_UP((size_t)((pl.k + 1) * pl.ld) * es, TK_CACHE_LINE);
    pl.accs = carve(&top, pl.nt * pl.acc_bytes);
    pl.total = top;
    return pl;
}

conv_plan conv_plan_backward_bias(const tk_conv2d_geometry *g, size_t es)
{
    conv_plan pl = {0};
    size_t top = 0;
    pl.nt = conv_threads(g->n * g->out_h * g->out_w * g->o / 8);
    pl.ld = TK_ROUND_UP(g->o, col_align(es));
    pl.acc_bytes = TK_ROUND_UP((size_t)pl.ld * es, TK_CACHE_LINE);
    pl.accs = carve(&top, pl.nt * pl.acc_bytes);
    pl.total = top;
    return pl;
}

/* Tiles per block of the Winograd forward (and grad-input): V and M of a block about fill L1, so
 * the GEMMs read and write them there; a multiple of the x86 GEMM tiles' 6 rows. */
#define WINO_BLOCK_BYTES 49152
/* Tiles per block of the Winograd weight gradient: many, so each register tile of dU sums a long
 * run of tiles before it is added to memory (V and D of a block stay in L2). */
#define WINO_WG_BLOCK_BYTES 393216

static int64_t wino_block(size_t budget, size_t per_tile)
{
    return TK_MAX(6, (int64_t)(budget / per_tile) / 6 * 6);
}

wino_plan wino_plan_forward(const tk_conv2d_geometry *g, size_t es, int transposed)
{
    wino_plan pl = {0};
    size_t top = 0;
    const int64_t cin = transposed ? g->o : g->c, cout = transposed ? g->c : g->o;
    const int64_t out_h = transposed ? g->h : g->out_h, out_w = transposed ? g->w : g->out_w;
    pl.nt = conv_threads(g->n * out_h * out_w * 9 * cin * cout);
    pl.tiles = g->n * ((out_h + 1) / 2) * ((out_w + 1) / 2);
    pl.ldv = TK_ROUND_UP(cin, col_align(es));
    pl.ldm = TK_ROUND_UP(cout, col_align(es));
    pl.block = wino_block(WINO_BLOCK_BYTES, (size_t)(WINO_XI * (pl.ldv + pl.ldm)) * es);
    pl.u = carve(&top, (size_t)(WINO_XI * cin * pl.ldm) * es);
    pl.zeros = carve(&top, (size_t)TK_MAX(pl.ldv, pl.ldm) * es);
    pl.buf_bytes = TK_ROUND_UP((size_t)(WINO_XI * pl.block * (pl.ldv + pl.ldm)) * es,
                               TK_CACHE_LINE);
    pl.bufs = carve(&top, pl.nt * pl.buf_bytes);
    pl.total = top;
    return pl;
}

wino_plan wino_plan_backward_weight(const tk_conv2d_geometry *g, size_t es)
{
    wino_plan pl = {0};
    size_t top = 0;
    pl.nt = conv_threads(g->n * g->out_h * g->out_w * 9 * g->c * g->o);
    pl.tiles = g->n * ((g->out_h + 1) / 2) * ((g->out_w + 1) / 2);
    pl.ldv = TK_ROUND_UP(g->c, col_align(es));
    pl.ldm = TK_ROUND_UP(g->o, col_align(es));
    pl.block = wino_block(WINO_WG_BLOCK_BYTES, (size_t)(WINO_XI * (pl.ldv + pl.ldm)) * es);
    pl.zeros = carve(&top, (size_t)TK_MAX(pl.ldv, pl.ldm) * es);
    pl.buf_bytes = TK_ROUND_UP((size_t)(WINO_XI * pl.block * (pl.ldv + pl.ldm)) * es,
                               TK_CACHE_LINE);
    pl.bufs = carve(&top, pl.nt * pl.buf_bytes);
    /* each thread's partial dU [16][c][ldm], then its bias sums [ldm] */
    pl.acc_bytes = TK_ROUND_UP((size_t)((WINO_XI * g->c + 1) * pl.ldm) * es, TK_CACHE_LINE);
    pl.accs = carve(&top, pl.nt * pl.acc_bytes);
    pl.total = top;
    return pl;
}
