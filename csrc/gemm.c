/* gemm.c: C = alpha * op(A) @ op(B) + beta * C for float32/float64, row-major, any transpose and
 * leading dimension, plus a batched form. The BLIS design: five blocking loops around packed
 * panels and a register-tile micro-kernel (gemm_block says which block stays in which cache).
 * The loops are written once over the element size; the typed parts (micro-kernel, packing) sit
 * behind the recipe of the ISA chosen at load (tk_simd_active).
 *
 * Threads: C is cut into a tm x tn grid of whole register tiles, one block per thread, each thread
 * running the sequential loops with its own packing buffers. That is OpenMP over the row or column
 * loops, never over the depth (PC): no two threads ever add into the same C element, so there is no
 * reduction, no barrier, and an element's arithmetic does not depend on the split (results are
 * bitwise identical for every thread count). The grid minimizes the busiest thread's padded tile
 * work plus its packing. Small problems, and calls made from inside an OpenMP parallel region
 * (convolution calls GEMM per thread), run on the calling thread.
 *
 * Deliberately absent: allocation (the caller passes the workspace), parallel reduction over K. */
#include <time.h>

#include "gemm_internal.h"

/* Below this many multiply-adds, waking a second thread costs more than it saves. */
#define GEMM_MIN_MACS_PER_THREAD (64LL * 64 * 64)

typedef struct {
    int64_t M, N, K;
    double alpha, beta;
    const char *A, *B;
    char *C;
    int64_t a_rs, a_cs, b_rs, b_cs, ldc; /* element (i, p) of op(A) at A[i*a_rs + p*a_cs] */
    int es;
} gemm_problem;

static const tk_gemm_recipe *active_recipe(int es) {
#ifdef TK_GEMM_HAVE_X86
    if (tk_simd_active >= TK_SIMD_AVX512)
        return es == 4 ? &tk_gemm_avx512_f32 : &tk_gemm_avx512_f64;
    if (tk_simd_active >= TK_SIMD_AVX2) return es == 4 ? &tk_gemm_avx2_f32 : &tk_gemm_avx2_f64;
#endif
    return es == 4 ? &tk_gemm_ref_f32 : &tk_gemm_ref_f64;
}

static int64_t packed_a_bytes(const tk_gemm_recipe *r, int64_t M, int64_t K, int es) {
    const int64_t rows = TK_MIN(r->mc, TK_ROUND_UP(M, r->mr)), depth = TK_MIN(r->kc, K);
    return TK_ROUND_UP(rows * depth * es, TK_CACHE_LINE);
}

static int64_t packed_b_bytes(const tk_gemm_recipe *r, int64_t N, int64_t K, int es) {
    const int64_t cols = TK_MIN(r->nc, TK_ROUND_UP(N, r->nr)), depth = TK_MIN(r->kc, K);
    return TK_ROUND_UP(cols * depth * es, TK_CACHE_LINE);
}

/* One thread's slice of the workspace: sized for the largest recipe, so tk_select_simd between the
 * size query and the call cannot overrun it. */
static int64_t slice_bytes(int64_t M, int64_t N, int64_t K, int es) {
    const tk_gemm_recipe *recipes[3] = {es == 4 ? &tk_gemm_ref_f32 : &tk_gemm_ref_f64, 0, 0};
#ifdef TK_GEMM_HAVE_X86
    recipes[1] = es == 4 ? &tk_gemm_avx2_f32 : &tk_gemm_avx2_f64;
    recipes[2] = es == 4 ? &tk_gemm_avx512_f32 : &tk_gemm_avx512_f64;
#endif
    int64_t most = 0;
    for (int i = 0; i < 3; i++)
        if (recipes[i])
            most = TK_MAX(most, packed_a_bytes(recipes[i], M, K, es) +
                                    packed_b_bytes(recipes[i], N, K, es));
    return most;
}

static int64_t workspace_size(int64_t M, int64_t N, int64_t K, int es) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    return slice_bytes(M, N, K, es) * tk_threads;
}

int64_t tk_gemm_workspace_size_f32(int64_t M, int64_t N, int64_t K) {
    return workspace_size(M, N, K, 4);
}

int64_t tk_gemm_workspace_size_f64(int64_t M, int64_t N, int64_t K) {
    return workspace_size(M, N, K, 8);
}

/* C := beta * C, for the K == 0 and alpha == 0 cases (beta == 0 writes zeros without reading C). */
static void scale_c(const gemm_problem *g) {
    for (int64_t i = 0; i < g->M; i++) {
        char *row = g->C + i * g->ldc * g->es;
        for (int64_t j = 0; j < g->N; j++) {
            if (g->es == 4)
                ((float *)row)[j] = g->beta == 0 ? 0.0f : (float)g->beta * ((float *)row)[j];
            else
                ((double *)row)[j] = g->beta == 0 ? 0.0 : g->beta * ((double *)row)[j];
        }
    }
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* A whose rows are contiguous in depth is always read in place: its mr row streams are as cheap for
 * the micro-kernel as a packed panel (the panel stays in L1 across the B panels either way), and
 * the packing pass, a read from L3 and a write of the whole A block, measured 2-9% of the time at
 * 256-2048 (and duplicated on every thread of a column split).
 * Row-major B is read in place instead of packed when at most this many A micro-panels would share
 * each packed B micro-panel (packing then costs about as much as the multiply itself), and only
 * when its rows are short: a B micro-panel read in place touches kc rows, and rows a page or more
 * apart would cost a TLB miss per depth step. */
#define IN_PLACE_B_MAX_PANELS 12
#define IN_PLACE_B_MAX_ROW_BYTES 2048

/* The five loops over C[m0:m1, n0:n1], sequential, with one thread's workspace slice. Our
 * micro-kernel vectorizes along N (rows of C are contiguous), so A and B play the parts B and A
 * play in BLIS's column-major description; these are BLIS's JC -> PC -> IC -> JR -> IR on
 * C^T = op(B)^T op(A)^T, which in our terms reads:
 *   rows of C, mc at a time  -> depth, kc at a time: pack A [mc x kc] (stays in L3; only when
 *                               op(A)'s rows are not contiguous, or a partial last row panel)
 *   -> columns, nc at a time: pack B [kc x nc] (stays in L2; its full panels packed by the
 *                               first row panel's kernels as they multiply them)
 *   -> one mr-row A micro-panel (stays in L1) -> every nr-wide B micro-panel (streams from L2). */
static void gemm_block(const gemm_problem *g, const tk_gemm_recipe *r, char *slice, int64_t m0,
                       int64_t m1, int64_t n0, int64_t n1) {
    const int es = g->es, mr = r->mr, nr = r->nr;
    const int in_place = g->a_cs == 1;
    char *packed_a = slice, *packed_b = slice + packed_a_bytes(r, g->M, g->K, es);
    for (int64_t ic = m0; ic < m1; ic += r->mc) {
        const int64_t mc = TK_MIN(r->mc, m1 - ic);
        /* In place, only a last partial row panel is packed (the kernel reads all MR rows). */
        const int64_t in_place_rows = in_place ? mc / mr * mr : 0, tail_m = mc % mr;
        /* A short last row panel is packed and multiplied with the short_mr-row kernel. */
        const int64_t short_at = tail_m && tail_m <= r->short_mr ? mc - tail_m : mc;
        const int b_in_place = g->b_cs == 1 && ceil_div(mc, mr) <= IN_PLACE_B_MAX_PANELS &&
                               g->b_rs * es <= IN_PLACE_B_MAX_ROW_BYTES &&
                               -g->b_rs * es <= IN_PLACE_B_MAX_ROW_BYTES;
        for (int64_t pc = 0; pc < g->K; pc += r->kc) {
            const int64_t kc = TK_MIN(r->kc, g->K - pc);
            /* Later depth blocks accumulate onto what the first one wrote. */
            const double beta = pc == 0 ? g->beta : 1.0;
            const char *a_block = g->A + (ic * g->a_rs + pc * g->a_cs) * es;
            if (in_place_rows < short_at)
                tk_gemm_pack_a(packed_a, a_block + in_place_rows * g->a_rs * es, g->a_rs, g->a_cs,
                               short_at - in_place_rows, kc, mr, es);
            if (short_at < mc)
                tk_gemm_pack_a(packed_a + (short_at - in_place_rows) * kc * es,
                               a_block + short_at * g->a_rs * es, g->a_rs, g->a_cs, mc - short_at, kc,
                               r->short_mr, es);
            for (int64_t jc = n0; jc < n1; jc += r->nc) {
                const int64_t nc = TK_MIN(r->nc, n1 - jc), tail = nc % nr;
                /* A narrow last column panel is packed and multiplied at half width. */
                const int64_t half_at = tail && 2 * tail <= nr ? nc - tail : nc;
                /* The full panels of a B with contiguous rows are either read in place by every
                 * row panel or packed by the first row panel's kernels as they multiply them; here
                 * only the rest is packed: the last partial panel, or all of a transposed B. */
                const int64_t in_place_cols = b_in_place ? nc - tail : 0;
                const int64_t copied_cols = !b_in_place && g->b_cs == 1 ? nc - tail : 0;
                const int64_t packed_from = in_place_cols + copied_cols;
                const char *b_block = g->B + (pc * g->b_rs + jc * g->b_cs) * es;
                if (packed_from < half_at)
                    tk_gemm_pack_b(packed_b + copied_cols * kc * es,
                                   b_block + packed_from * g->b_cs * es, g->b_rs, g->b_cs, kc,
                                   half_at - packed_from, nr, es);
                if (half_at < nc)
                    tk_gemm_pack_b(packed_b + (half_at - in_place_cols) * kc * es,
                                   b_block + half_at * g->b_cs * es, g->b_rs, g->b_cs, kc, tail,
                                   nr / 2, es);
                for (int64_t ir = 0; ir < mc; ir += mr) {
                    const int in_place_panel = ir < in_place_rows;
                    const char *a = in_place_panel ? a_block + ir * g->a_rs * es
                                                   : packed_a + (ir - in_place_rows) * kc * es;
                    const int64_t m = TK_MIN(mr, mc - ir);
                    char *c = g->C + ((ic + ir) * g->ldc + jc) * es;
                    const tk_gemm_ukernel(*kernels)[2][2] = r->kernel[ir >= short_at];
                    for (int64_t jr = 0; jr < nc; jr += nr) {
                        const int copying = ir == 0 && jr < copied_cols;
                        const int b_from_source = jr < in_place_cols || copying;
                        char *b_packed = packed_b + (jr - in_place_cols) * kc * es;
                        kernels[jr >= half_at][in_place_panel][b_from_source](
                            kc, m, TK_MIN(nr, nc - jr), g->alpha, a, g->a_rs,
                            b_from_source ? b_block + jr * es : b_packed, g->b_rs,
                            copying ? b_packed : NULL, beta, c + jr * es, g->ldc);
                    }
                }
            }
        }
    }
}

/* Columns the kernels compute for n columns: whole panels, the tail as a half or a whole panel. */
static int64_t computed_cols(int64_t n, int nr) {
    const int64_t tail = n % nr;
    return n - tail + (tail == 0 ? 0 : 2 * tail <= nr ? nr / 2 : nr);
}

/* Splits the tiles of C over `threads` as a tm x tn grid, minimizing the busiest thread's cost in
 * FMA-port cycles per depth step: its computed tile work rows * cols / nr (nr = lanes x 2 ports)
 * plus packing at about one element per cycle: all its columns of B, and its rows of A (a quarter
 * of that when A is read in place, which only streams it). The first blocks get ceil(tiles/parts)
 * tiles each; the last takes what is left, tail included. */
static void choose_grid(const gemm_problem *g, const tk_gemm_recipe *r, int threads, int *tm,
                        int *tn) {
    const int64_t tiles_m = ceil_div(g->M, r->mr), tiles_n = ceil_div(g->N, r->nr);
    double best = -1;
    for (int rows = 1; rows <= threads; rows++) {
        if (threads % rows) continue;
        const int cols = threads / rows;
        const double h = (double)ceil_div(tiles_m, rows) * r->mr;
        const int64_t block = ceil_div(tiles_n, cols) * r->nr;
        const int64_t last = g->N - (ceil_div(g->N, block) - 1) * block;
        const int64_t w =
            TK_MAX(computed_cols(TK_MIN(block, g->N), r->nr), computed_cols(last, r->nr));
        const double cost = h * (double)w / r->nr + (double)w + (g->a_cs == 1 ? h / 4 : h);
        if (best < 0 || cost < best) best = cost, *tm = rows, *tn = cols;
    }
}

static int threads_for(int64_t M, int64_t N, int64_t K, const tk_gemm_recipe *r) {
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
#endif
    const int64_t by_work = TK_MAX((int64_t)1, M * N * K / GEMM_MIN_MACS_PER_THREAD);
    const int64_t by_tiles = ceil_div(M, r->mr) * ceil_div(N, r->nr);
    return (int)TK_MIN((int64_t)tk_threads, TK_MIN(by_work, by_tiles));
}

static void gemm_run(const gemm_problem *g, char *workspace) {
    if (g->M <= 0 || g->N <= 0) return;
    if (g->K <= 0 || g->alpha == 0) {
        scale_c(g);
        return;
    }
    const tk_gemm_recipe *r = active_recipe(g->es);
    const int threads = threads_for(g->M, g->N, g->K, r);
    if (threads <= 1) {
        gemm_block(g, r, workspace, 0, g->M, 0, g->N);
        return;
    }
    const int64_t slice = slice_bytes(g->M, g->N, g->K, g->es);
#pragma omp parallel num_threads(threads)
    {
        int tid = 0, nt = 1, tm = 1, tn = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        choose_grid(g, r, nt, &tm, &tn);
        const int64_t rows = ceil_div(ceil_div(g->M, r->mr), tm) * r->mr;
        const int64_t cols = ceil_div(ceil_div(g->N, r->nr), tn) * r->nr;
        const int64_t m0 = (tid / tn) * rows, n0 = (tid % tn) * cols;
        if (m0 < g->M && n0 < g->N)
            gemm_block(g, r, workspace + tid * slice, m0, TK_MIN(g->M, m0 + rows), n0,
                       TK_MIN(g->N, n0 + cols));
    }
}

static gemm_problem make_problem(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                 double alpha, const void *A, int64_t lda, const void *B, int64_t ldb,
                                 double beta, void *C, int64_t ldc, int es) {
    gemm_problem g = {M, N, K, alpha, beta, (const char *)A, (const char *)B, (char *)C,
                      trans_a ? 1 : lda, trans_a ? lda : 1, trans_b ? 1 : ldb, trans_b ? ldb : 1,
                      ldc, es};
    return g;
}

/* A: [M, K] (or [K, M] if trans_a), row stride lda   B: [K, N] (or [N, K]), ldb   C: [M, N], ldc */
void tk_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc, void *workspace) {
    gemm_problem g = make_problem(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 4);
    gemm_run(&g, (char *)workspace);
}

/* A: [M, K] (or [K, M] if trans_a), row stride lda   B: [K, N] (or [N, K]), ldb   C: [M, N], ldc */
void tk_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                 const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
                 int64_t ldc, void *workspace) {
    gemm_problem g = make_problem(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 8);
    gemm_run(&g, (char *)workspace);
}

/* Independent GEMMs. Many small ones go one per thread (each with its own workspace slice, which
 * the single-GEMM size query already provides); otherwise each GEMM uses all the threads. */
static void gemm_batched(gemm_problem g, int64_t batch, int64_t stride_a, int64_t stride_b,
                         int64_t stride_c, char *workspace) {
    const int es = g.es;
    const char *A = g.A, *B = g.B;
    char *C = g.C;
    int threads = tk_threads;
#ifdef _OPENMP
    if (omp_in_parallel()) threads = 1;
#endif
    const int per_batch = g.M > 0 && g.N > 0 && g.K > 0 && g.alpha != 0;
    const int small = threads_for(g.M, g.N, g.K, active_recipe(es)) < threads;
    const int whole_gemms = small || batch % threads == 0 || batch >= 4 * threads;
    if (threads > 1 && per_batch && batch >= threads && whole_gemms) {
        const tk_gemm_recipe *r = active_recipe(es);
        const int64_t slice = slice_bytes(g.M, g.N, g.K, es);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t i = 0; i < batch; i++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            gemm_problem one = g;
            one.A = A + i * stride_a * es, one.B = B + i * stride_b * es, one.C = C + i * stride_c * es;
            gemm_block(&one, r, workspace + tid * slice, 0, g.M, 0, g.N);
        }
        return;
    }
    for (int64_t i = 0; i < batch; i++) {
        g.A = A + i * stride_a * es, g.B = B + i * stride_b * es, g.C = C + i * stride_c * es;
        gemm_run(&g, workspace);
    }
}

/* A: batch x [M, K] (or [K, M]) every stride_a elements   B: batch x [K, N] (or [N, K]), stride_b
 * C: batch x [M, N], stride_c; a stride of 0 broadcasts one operand over the batch */
void tk_gemm_batched_f32(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, int64_t stride_a, const float *B,
                         int64_t ldb, int64_t stride_b, float beta, float *C, int64_t ldc,
                         int64_t stride_c, void *workspace) {
    gemm_batched(make_problem(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 4),
                 batch, stride_a, stride_b, stride_c, (char *)workspace);
}

/* A: batch x [M, K] (or [K, M]) every stride_a elements   B: batch x [K, N] (or [N, K]), stride_b
 * C: batch x [M, N], stride_c; a stride of 0 broadcasts one operand over the batch */
void tk_gemm_batched_f64(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         double alpha, const double *A, int64_t lda, int64_t stride_a, const double *B,
                         int64_t ldb, int64_t stride_b, double beta, double *C, int64_t ldc,
                         int64_t stride_c, void *workspace) {
    gemm_batched(make_problem(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, 8),
                 batch, stride_a, stride_b, stride_c, (char *)workspace);
}

/* The peak-FLOP probe for benchmarks/bench_gemm.py: PROBE_CHAINS independent FMA chains (more than
 * latency x ports, so the FMA units never wait) on the widest vectors the active ISA has. */
#define PROBE_CHAINS 16
#define DEFINE_FMA_PROBE(name, lanes, target)                                                   \
    typedef float name##_vec __attribute__((vector_size(lanes * sizeof(float))));               \
    target static double name(int64_t iters, double *sink) {                                  \
        name##_vec acc[PROBE_CHAINS], x, y;                                                     \
        for (int v = 0; v < lanes; v++) x[v] = 0.999999f, y[v] = 1e-6f;                         \
        for (int c = 0; c < PROBE_CHAINS; c++) acc[c] = y * (float)(c + 1);                     \
        for (int64_t it = 0; it < iters; it++)                                                  \
            for (int c = 0; c < PROBE_CHAINS; c++) acc[c] = acc[c] * x + y;                     \
        float total = 0;                                                                        \
        for (int c = 0; c < PROBE_CHAINS; c++)                                                  \
            for (int v = 0; v < lanes; v++) total += acc[c][v];                                 \
        *sink = total;                                                                          \
        return 2.0 * lanes * PROBE_CHAINS * (double)iters;                                      \
    }

DEFINE_FMA_PROBE(fma_probe_generic, 4, )
#ifdef TK_GEMM_HAVE_X86
DEFINE_FMA_PROBE(fma_probe_avx2, 8, __attribute__((target("avx2,fma"))))
DEFINE_FMA_PROBE(fma_probe_avx512, 16, __attribute__((target("avx512f,fma"))))
#endif

double tk_peak_flops_probe_f32(int64_t iters) {
    struct timespec t0, t1;
    double flops, sink;
    /* The thread's own CPU time: on a shared machine, wall time would count other jobs' slices. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
#ifdef TK_GEMM_HAVE_X86
    if (tk_simd_active >= TK_SIMD_AVX512)
        flops = fma_probe_avx512(iters, &sink);
    else if (tk_simd_active >= TK_SIMD_AVX2)
        flops = fma_probe_avx2(iters, &sink);
    else
#endif
        flops = fma_probe_generic(iters, &sink);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    const double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return sink == sink && seconds > 0 ? flops / seconds : 0.0;
}
