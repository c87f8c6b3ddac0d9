/* conv2d_smallk_body.h: the small-K conv2d kernels (see conv2d_smallk.h), written once with GCC
 * vector extensions and compiled per ISA and dtype; the including file sets
 *   SK_T float|double   SK_SUF f32|f64   SK_ISA ref|avx2|avx512   SK_VBYTES vector width in bytes
 *   SK_ACC              vector registers the accumulators may take (the rest hold operands)
 * Register blocks: rows x nv accumulators with nv = the vectors of one output pixel's channels
 * (at most CONV_SMALLK_MAX_VECS) and rows <= SK_ROWS(nv); rows and nv are compile-time constants
 * at every call (switches below), so the blocks stay in registers. */
#define SK_CAT3_(a, b, c) a##_##b##_##c
#define SK_CAT3(a, b, c) SK_CAT3_(a, b, c)
#define SK_FN(name) SK_CAT3(name, SK_SUF, SK_ISA)
#define SK_LANES ((int64_t)(SK_VBYTES / sizeof(SK_T)))
#define SK_VEC SK_FN(sk_vec)
#define SK_MAX_ROWS 12
#define SK_ROWS(nv) TK_MIN(SK_MAX_ROWS, SK_ACC / (nv))
#define SK_INLINE static inline __attribute__((always_inline))
/* The weight gradient prefetches g this many pixels ahead: dy of a batch streams from beyond L2
 * and the hardware prefetcher alone leaves the kernel waiting (b128 input layer dw+db: 0.71 ->
 * 0.51 ms; 8 pixels ahead gains half of that, 24 and 48 about the same). */
#define SK_G_AHEAD 48

/* aligned(sizeof(T)): loads and stores through this type may be unaligned. */
typedef SK_T SK_VEC __attribute__((vector_size(SK_VBYTES), aligned(sizeof(SK_T))));

/* rows consecutive pixels of one output row: source elements at sp + r * cs + koff[k], outputs
 * at op + r * ocs. tail (1..SK_LANES) is how many columns of the last vector are real. */
SK_INLINE void SK_FN(fwd_block)(const conv_igemm_job *j, const SK_T *sp, int64_t cs, SK_T *op,
                                int64_t ocs, int64_t tail, const int rows, const int nv)
{
    SK_VEC acc[SK_MAX_ROWS][CONV_SMALLK_MAX_VECS], first[CONV_SMALLK_MAX_VECS];
    const SK_T *bias = (const SK_T *)j->bias, *b = (const SK_T *)j->b;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) first[v] = bias ? *(const SK_VEC *)(bias + v * SK_LANES)
                                                 : (SK_VEC){0};
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = first[v];
    const int64_t *koff = j->at.koff, ldb = j->ldb, k = j->at.k;
    for (int64_t i = 0; i < k; i++, b += ldb) {
        const SK_T *s = sp + koff[i];
        SK_VEC bv[CONV_SMALLK_MAX_VECS];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) bv[v] = *(const SK_VEC *)(b + v * SK_LANES);
#pragma GCC unroll 12
        for (int r = 0; r < rows; r++) {
            const SK_T a = s[r * cs];
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] += a * bv[v];
        }
    }
    if (j->relu)  /* tk_relu_forward's rule, y <= 0 ? 0 : y: NaN stays, -0.0 becomes +0.0 */
#pragma GCC unroll 12
        for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                const __typeof__(acc[r][v] <= (SK_T)0) off = acc[r][v] <= (SK_T)0;
                acc[r][v] = (SK_VEC)((__typeof__(off))acc[r][v] & ~off);
            }
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) {
        SK_T *o = op + r * ocs;
#pragma GCC unroll 4
        for (int v = 0; v < nv - 1; v++) *(SK_VEC *)(o + v * SK_LANES) = acc[r][v];
        o += (nv - 1) * SK_LANES;
        if (tail == SK_LANES) {
            *(SK_VEC *)o = acc[r][nv - 1];
        } else {  /* the row's last columns: the vector would spill into the next pixel */
            SK_T part[SK_LANES];
            *(SK_VEC *)part = acc[r][nv - 1];
            for (int64_t c = 0; c < tail; c++) o[c] = part[c];
        }
    }
}

/* n consecutive pixels of one output row: full blocks, then blocks of 8, 4, 2, 1 for the rest. */
SK_INLINE void SK_FN(fwd_run)(const conv_igemm_job *j, const SK_T *sp, int64_t cs, SK_T *op,
                              int64_t ocs, int64_t n, int64_t tail, const int nv)
{
    const int rows = SK_ROWS(nv);
    for (; n >= rows; n -= rows, sp += rows * cs, op += rows * ocs) {
        /* Output lines are claimed for writing two blocks ahead: the output of a batch outgrows
         * L2, and without it each block's stores wait for their lines (b32 input layer: 0.153 ->
         * 0.137 ms, b128: 0.69 -> 0.64; one block ahead about the same, eight blocks worse). */
        for (int64_t b = 0; b < rows * ocs; b += 64 / (int64_t)sizeof(SK_T))
            __builtin_prefetch(op + 2 * rows * ocs + b, 1, 3);
        SK_FN(fwd_block)(j, sp, cs, op, ocs, tail, rows, nv);
    }
    if (rows > 8 && n >= 8) {
        SK_FN(fwd_block)(j, sp, cs, op, ocs, tail, 8, nv);
        n -= 8, sp += 8 * cs, op += 8 * ocs;
    }
    if (rows > 4 && n >= 4) {
        SK_FN(fwd_block)(j, sp, cs, op, ocs, tail, 4, nv);
        n -= 4, sp += 4 * cs, op += 4 * ocs;
    }
    if (n >= 2) {
        SK_FN(fwd_block)(j, sp, cs, op, ocs, tail, 2, nv);
        n -= 2, sp += 2 * cs, op += 2 * ocs;
    }
    if (n >= 1) SK_FN(fwd_block)(j, sp, cs, op, ocs, tail, 1, nv);
}

SK_INLINE void SK_FN(fwd_range)(const conv_igemm_job *j, int64_t p0, int64_t p1, const int nv)
{
    const int64_t out_w = j->at.out_w, cs = j->at.col_step, ocs = j->out_col_step;
    const int64_t tail = j->ncols - (nv - 1) * SK_LANES;
    const SK_T *src = (const SK_T *)j->src;
    SK_T *out = (SK_T *)j->out;
    for (int64_t p = p0, oh = p0 / out_w, ow = p0 % out_w, n; p < p1; p += n, oh++, ow = 0) {
        n = TK_MIN(p1 - p, out_w - ow);
        const SK_T *sp = src + oh * j->at.row_step + ow * cs;
        SK_T *op = out + oh * j->out_row_step + ow * ocs;
        if (cs == 1)  /* unit stride over one channel: broadcasts at constant displacements */
            SK_FN(fwd_run)(j, sp, 1, op, ocs, n, tail, nv);
        else
            SK_FN(fwd_run)(j, sp, cs, op, ocs, n, tail, nv);
    }
}

void SK_FN(conv_smallk_igemm)(const conv_igemm_job *j, int64_t p0, int64_t p1)
{
    switch ((j->ncols + SK_LANES - 1) / SK_LANES) {
    case 1: SK_FN(fwd_range)(j, p0, p1, 1); break;
    case 2: SK_FN(fwd_range)(j, p0, p1, 2); break;
    case 3: SK_FN(fwd_range)(j, p0, p1, 3); break;
    default: SK_FN(fwd_range)(j, p0, p1, 4); break;
    }
}

/* Weight-gradient rows k0 .. k0 + rows over pixels [p0, p1): the rows x nv block accumulates in
 * registers along each run of pixels and is added into acc once at the end; with sums, so do the
 * column sums of g (into gsum: the bias gradient, on the same loads). With a mask, g is read as
 * g * (mask > 0) (the fused ReLU): masking on the loads spares the driver a masked copy of dy
 * (b32 input layer dw+db with the ReLU: 0.19 -> 0.08 ms on 2 threads). */
SK_INLINE void SK_FN(wgrad_block)(const conv_wgrad_job *j, int64_t p0, int64_t p1, int64_t k0,
                                  const int rows, const int nv, const int sums)
{
    SK_VEC acc[SK_MAX_ROWS][CONV_SMALLK_MAX_VECS], gs[CONV_SMALLK_MAX_VECS];
    int64_t ko[SK_MAX_ROWS];
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) {
        ko[r] = j->at.koff[k0 + r];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = (SK_VEC){0};
    }
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) gs[v] = (SK_VEC){0};
    const int64_t out_w = j->at.out_w, cs = j->at.col_step, ldg = j->ldg;
    const SK_T *src = (const SK_T *)j->src, *gp = (const SK_T *)j->g + p0 * ldg;
    const SK_T *mp = j->mask ? (const SK_T *)j->mask + p0 * ldg : NULL;
    for (int64_t p = p0, oh = p0 / out_w, ow = p0 % out_w, n; p < p1; p += n, oh++, ow = 0) {
        n = TK_MIN(p1 - p, out_w - ow);
        const SK_T *sp = src + oh * j->at.row_step + ow * cs;
        for (const SK_T *const end = gp + n * ldg; gp < end; gp += ldg, sp += cs) {
            SK_VEC gv[CONV_SMALLK_MAX_VECS];
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) {
                gv[v] = *(const SK_VEC *)(gp + v * SK_LANES);
                __builtin_prefetch(gp + SK_G_AHEAD * ldg + v * SK_LANES, 0, 3);
                if (mp) {  /* a product, as the unfused ReLU backward: inf * 0 stays NaN */
                    const SK_VEC mv = *(const SK_VEC *)(mp + v * SK_LANES);
                    __builtin_prefetch(mp + SK_G_AHEAD * ldg + v * SK_LANES, 0, 3);
                    gv[v] *= __builtin_convertvector(-(mv > (SK_T)0), SK_VEC);
                }
                if (sums) gs[v] += gv[v];
            }
            if (mp) mp += ldg;
#pragma GCC unroll 12
            for (int r = 0; r < rows; r++) {
                const SK_T a = sp[ko[r]];
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++) acc[r][v] += a * gv[v];
            }
        }
    }
    /* acc and gsum rows are padded to whole vectors of the widest ISA: whole-vector updates stay
     * inside. */
    SK_T *dst = (SK_T *)j->acc + k0 * j->ldacc;
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) *(SK_VEC *)(dst + r * j->ldacc + v * SK_LANES) += acc[r][v];
    if (sums)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) *(SK_VEC *)((SK_T *)j->gsum + v * SK_LANES) += gs[v];
}

/* Rows per weight-gradient block: the column sums take nv more accumulators. */
#define SK_WG_ROWS(nv) TK_MIN(SK_MAX_ROWS, SK_ACC / (nv) - 1)
#define SK_WGRAD_CASE(r, sums) \
    case r: if (r <= SK_WG_ROWS(nv)) SK_FN(wgrad_block)(j, p0, p1, k0, r, nv, sums); break;
#define SK_WGRAD_SWITCH(rows, sums)                                                   \
    switch (rows) {                                                                   \
    SK_WGRAD_CASE(1, sums) SK_WGRAD_CASE(2, sums) SK_WGRAD_CASE(3, sums)              \
    SK_WGRAD_CASE(4, sums) SK_WGRAD_CASE(5, sums) SK_WGRAD_CASE(6, sums)              \
    SK_WGRAD_CASE(7, sums) SK_WGRAD_CASE(8, sums) SK_WGRAD_CASE(9, sums)              \
    SK_WGRAD_CASE(10, sums) SK_WGRAD_CASE(11, sums) SK_WGRAD_CASE(12, sums)           \
    default: break;                                                                   \
    }

/* All k rows over pixels [p0, p1), in near-equal blocks of at most SK_WG_ROWS(nv) rows; the first
 * block also sums g when the job asks for it. */
SK_INLINE void SK_FN(wgrad_range)(const conv_wgrad_job *j, int64_t p0, int64_t p1, const int nv)
{
    const int64_t k = j->at.k, blocks = (k + SK_WG_ROWS(nv) - 1) / SK_WG_ROWS(nv);
    for (int64_t i = 0; i < blocks; i++) {
        const int64_t k0 = k * i / blocks, rows = k * (i + 1) / blocks - k0;
        if (i == 0 && j->gsum)
            SK_WGRAD_SWITCH(rows, 1)
        else
            SK_WGRAD_SWITCH(rows, 0)
    }
}
#undef SK_WGRAD_SWITCH
#undef SK_WGRAD_CASE

void SK_FN(conv_smallk_wgrad)(const conv_wgrad_job *j, int64_t p0, int64_t p1)
{
    /* With several k blocks, pixel chunks of about 16 KiB of g: each block re-reads them from L1. */
    const int64_t chunk = j->at.k <= SK_WG_ROWS((j->ncols + SK_LANES - 1) / SK_LANES)
                              ? p1 - p0 : TK_MAX(1, 16384 / (j->ldg * (int64_t)sizeof(SK_T)));
    for (int64_t q0 = p0, q1; q0 < p1; q0 = q1) {
        q1 = TK_MIN(p1, q0 + chunk);
        switch ((j->ncols + SK_LANES - 1) / SK_LANES) {
        case 1: SK_FN(wgrad_range)(j, q0, q1, 1); break;
        case 2: SK_FN(wgrad_range)(j, q0, q1, 2); break;
        case 3: SK_FN(wgrad_range)(j, q0, q1, 3); break;
        default: SK_FN(wgrad_range)(j, q0, q1, 4); break;
        }
    }
}

#undef SK_INLINE
#undef SK_G_AHEAD
#undef SK_WG_ROWS
#undef SK_ROWS
#undef SK_MAX_ROWS
#undef SK_VEC
#undef SK_LANES
#undef SK_FN
#undef SK_CAT3
#undef SK_CAT3_
