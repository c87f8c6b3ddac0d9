/* conv2d_ukernel.h: the implicit-GEMM tile kernels of conv2d, written once with GCC vector
 * extensions and compiled per ISA (conv2d_ukernel_{ref,avx2,avx512}.c set the target and these
 * macros):
 *   CK_T float|double   CK_SUF f32|f64   CK_ISA ref|avx2|avx512   CK_VBYTES vector width in bytes
 *   CK_VREGS  vector registers   CK_KC_BYTES / CK_WG_KC_BYTES  L1 block of the packed operand /
 *   of the gradient rows (forward and grad-input / weight gradient)
 *   CK_IG_ROWS x CK_IG_VECS  register tile of the forward / grad-input kernel (pixels x vectors);
 *                            with few columns it runs 2*ROWS x VECS/2 (or 2*ROWS x 1) instead
 *   CK_WG_ROWS x CK_WG_VECS  register tile of the weight-gradient kernel (k rows x vectors); with
 *                            few output channels it runs 2*ROWS x VECS/2 (or 2*ROWS x 1) instead
 * Tile contract: the whole tile lives in registers (ROWS * VECS accumulators plus VECS operand
 * vectors and one broadcast must fit the register file, or all but one operand vector: the last
 * is then read by the FMAs from memory, CK_MADD_MEM); every k step broadcasts one source element
 * per row straight from the source image (no im2col: the gather offsets replace it) and multiplies
 * it into VECS contiguous vectors of the packed operand. Partial tiles (fewer rows, fewer columns)
 * compute a full tile on duplicated rows or zero columns and store only what is valid. */
#define CK_CAT3_(a, b, c) a##_##b##_##c
#define CK_CAT3(a, b, c) CK_CAT3_(a, b, c)
#define CK_FN(name) CK_CAT3(name, CK_SUF, CK_ISA)
#define CK_LANES ((int64_t)(CK_VBYTES / sizeof(CK_T)))
#define CK_VEC CK_FN(ck_vec)

#ifndef CK_MADD_MEM  /* acc += a * the vector at bp (an ISA may force a memory operand) */
#define CK_MADD_MEM(acc, bp, a) ((acc) += (a) * *(const CK_VEC *)(bp))
#endif

#ifndef CK_AHEAD_DEFINED
#define CK_AHEAD_DEFINED
/* Prefetch cursor over the bytes the next call will read: every k step of every tile prefetches
 * line pos >> 16 into L2 and advances pos by step (16.16 fixed point lines), so the whole region
 * arrives spread evenly over this call instead of in one burst the fill buffers cannot take. */
typedef struct {
    const char *ahead;
    int64_t pos, step;
} ck_ahead;
#endif

/* aligned(sizeof(T)): loads and stores through this type may be unaligned. */
typedef CK_T CK_VEC __attribute__((vector_size(CK_VBYTES), aligned(sizeof(CK_T))));

/* One rows x nv tile: nrows pixels (source offsets rowoff, output offsets outoff), columns col..
 * of k block [k0, k1) (rows and nv are compile-time constants at every call). A 2*CK_IG_ROWS
 * tile must be regular: rowoff[r + CK_IG_ROWS] - rowoff[r] the same for every r, so each row
 * pointer serves two rows and the loop needs no more general registers than CK_IG_ROWS rows. */
static inline __attribute__((always_inline)) void CK_FN(igemm_tile)(
    const conv_igemm_job *j, const int64_t *rowoff, const int64_t *outoff, int64_t nrows,
    int64_t col, int64_t k0, int64_t k1, ck_ahead *pf, const int rows, const int nv)
{
    const CK_T *src = (const CK_T *)j->src;
    const CK_T *b = (const CK_T *)j->b + k0 * j->ldb + col;
    const CK_T *s[CK_IG_ROWS];
    const int64_t second_half = rows > CK_IG_ROWS ? rowoff[CK_IG_ROWS] - rowoff[0] : 0;
    CK_VEC acc[2 * CK_IG_ROWS][CK_IG_VECS];
    CK_T *out = (CK_T *)j->out + col;
    const int whole = nrows == rows && col + nv * CK_LANES <= j->ncols;
    const int64_t width = TK_MIN(nv * CK_LANES, j->ncols - col);
    CK_T tmp[2 * CK_IG_ROWS][CK_IG_VECS * CK_LANES];
    /* With no register left for the last operand vector, its FMAs read it from memory (L1). */
    const int last_from_memory = rows * nv + nv + 1 > CK_VREGS;
#pragma GCC unroll 16
    for (int r = 0; r < CK_IG_ROWS; r++) s[r] = src + rowoff[r];
    if (k0 == 0) {  /* first k block: start from the bias */
#pragma GCC unroll 32
        for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++)
                acc[r][v] = j->bias ? *(const CK_VEC *)((const CK_T *)j->bias + col + v * CK_LANES)
                                    : (CK_VEC){0};
    } else if (whole) {  /* later k blocks continue the partial sums left in out */
#pragma GCC unroll 32
        for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) acc[r][v] = *(CK_VEC *)(out + outoff[r] + v * CK_LANES);
    } else {
        for (int r = 0; r < rows; r++)
            for (int64_t c = 0; c < nv * CK_LANES; c++)
                tmp[r][c] = r < nrows && c < width ? out[outoff[r] + c] : 0;
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < nv; v++) acc[r][v] = *(CK_VEC *)(tmp[r] + v * CK_LANES);
    }
    const int64_t *koff = j->at.koff, ldb = j->ldb;
    for (int64_t k = k0; k < k1; k++, b += ldb) {
        const int64_t ko = koff[k], ko2 = ko + second_half;
        CK_VEC bv[CK_IG_VECS];
#pragma GCC unroll 8
        for (int v = 0; v < nv - last_from_memory; v++)
            bv[v] = *(const CK_VEC *)(b + v * CK_LANES);
        __builtin_prefetch(pf->ahead + (pf->pos >> 16) * 64, 0, 2);
        pf->pos += pf->step;
#pragma GCC unroll 32
        for (int r = 0; r < rows; r++) {
            /* x - 0 == x: folds to a plain broadcast */
            const CK_VEC a = s[r % CK_IG_ROWS][r < CK_IG_ROWS ? ko : ko2] - (CK_VEC){0};
#pragma GCC unroll 8
            for (int v = 0; v < nv - last_from_memory; v++) acc[r][v] += a * bv[v];
            if (last_from_memory) CK_MADD_MEM(acc[r][nv - 1], b + (nv - 1) * CK_LANES, a);
        }
    }
    if (whole) {
#pragma GCC unroll 32
        for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) *(CK_VEC *)(out + outoff[r] + v * CK_LANES) = acc[r][v];
        return;
    }
    /* Edge tile: spill to the stack, copy the valid part. */
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < nv; v++) *(CK_VEC *)(tmp[r] + v * CK_LANES) = acc[r][v];
    for (int64_t r = 0; r < nrows; r++)
        for (int64_t c = 0; c < width; c++) out[outoff[r] + c] = tmp[r][c];
}

/* One tile of rows x nv vectors, or of fewer vectors where only `left` remain. */
static inline __attribute__((always_inline)) void CK_FN(igemm_cols)(
    const conv_igemm_job *j, const int64_t *rowoff, const int64_t *outoff, int64_t nrows,
    int64_t col, int64_t left, int64_t k0, int64_t k1, ck_ahead *pf, const int rows, const int nv)
{
    if (left >= nv) CK_FN(igemm_tile)(j, rowoff, outoff, nrows, col, k0, k1, pf, rows, nv);
    else if (nv > 3 && left == 3)
        CK_FN(igemm_tile)(j, rowoff, outoff, nrows, col, k0, k1, pf, rows, TK_MIN(3, nv));
    else if (nv > 2 && left == 2)
        CK_FN(igemm_tile)(j, rowoff, outoff, nrows, col, k0, k1, pf, rows, TK_MIN(2, nv));
    else CK_FN(igemm_tile)(j, rowoff, outoff, nrows, col, k0, k1, pf, rows, 1);
}

/* Pixels [p0, p1) x all columns for k block [k0, k1), in rows x nv tiles (nv vectors at most:
 * fewer in the last column block). */
static inline __attribute__((always_inline)) void CK_FN(igemm_block)(
    const conv_igemm_job *j, int64_t p0, int64_t p1, int64_t k0, int64_t k1, ck_ahead *pf,
    const int rows, const int nv)
{
    const int64_t block = nv * CK_LANES;
    int64_t rowoff[2 * CK_IG_ROWS], outoff[2 * CK_IG_ROWS];
    int64_t oh = p0 / j->at.out_w, ow = p0 % j->at.out_w;
    for (int64_t p = p0; p < p1; p += rows) {
        const int64_t nrows = TK_MIN(rows, p1 - p);
        for (int64_t r = 0; r < rows; r++) {
            if (r < nrows) {
                rowoff[r] = oh * j->at.row_step + ow * j->at.col_step;
                outoff[r] = oh * j->out_row_step + ow * j->out_col_step;
                if (++ow == j->at.out_w) ow = 0, oh++;
            } else {
                rowoff[r] = rowoff[nrows - 1];  /* duplicate row: computed, never stored */
                outoff[r] = outoff[nrows - 1];
            }
        }
        int regular = 1;
        for (int r = CK_IG_ROWS; r < rows; r++)
            regular &= rowoff[r] - rowoff[r - CK_IG_ROWS] == rowoff[CK_IG_ROWS] - rowoff[0];
        for (int64_t col = 0; col < j->ncols; col += block) {
            const int64_t left = (j->ncols - col + CK_LANES - 1) / CK_LANES;
            if (rows == CK_IG_ROWS || regular) {
                CK_FN(igemm_cols)(j, rowoff, outoff, nrows, col, left, k0, k1, pf, rows, nv);
                continue;
            }
            /* Two tiles of CK_IG_ROWS (the second one prefetches nothing: the cursor's step
             * count assumes one tile per rows pixels). */
            ck_ahead idle = {pf->ahead, pf->pos, 0};
            CK_FN(igemm_cols)(j, rowoff, outoff, TK_MIN(nrows, CK_IG_ROWS), col, left, k0, k1,
                              pf, CK_IG_ROWS, nv);
            if (nrows > CK_IG_ROWS)
                CK_FN(igemm_cols)(j, rowoff + CK_IG_ROWS, outoff + CK_IG_ROWS,
                                  nrows - CK_IG_ROWS, col, left, k0, k1, &idle, CK_IG_ROWS, nv);
        }
    }
}

void CK_FN(conv_igemm)(const conv_igemm_job *j, int64_t p0, int64_t p1)
{
    /* k blocks of at most CK_KC_BYTES of b: a block stays in L1 while every pixel tile of the
     * range streams past it (partial sums wait in out, whose tiles are re-read once per block). */
    const int64_t kc = TK_MAX(1, CK_KC_BYTES / (j->ldb * (int64_t)sizeof(CK_T)));
    /* Few columns: twice the rows on half the vectors (or one), so the per-tile costs (bias or
     * partial sums in, results out, offsets) are paid once per 2*CK_IG_ROWS pixels. */
    const int64_t vectors = (j->ncols + CK_LANES - 1) / CK_LANES;
    const int one = vectors * 4 <= CK_IG_VECS, tall = vectors * 2 <= CK_IG_VECS;
    const int64_t rows = tall ? 2 * CK_IG_ROWS : CK_IG_ROWS;
    const int64_t nv = one ? 1 : tall ? CK_IG_VECS / 2 : CK_IG_VECS;
    const int64_t ksteps = (p1 - p0 + rows - 1) / rows * ((vectors + nv - 1) / nv) * j->at.k;
    ck_ahead pf = {j->ahead ? (const char *)j->ahead : (const char *)j->b, 0, 0};
    if (j->ahead) pf.step = ((j->ahead_bytes + 63) / 64 << 16) / ksteps;
    for (int64_t k0 = 0; k0 < j->at.k; k0 += kc) {
        const int64_t k1 = TK_MIN(j->at.k, k0 + kc);
        if (one) CK_FN(igemm_block)(j, p0, p1, k0, k1, &pf, 2 * CK_IG_ROWS, 1);
        else if (tall) CK_FN(igemm_block)(j, p0, p1, k0, k1, &pf, 2 * CK_IG_ROWS, CK_IG_VECS / 2);
        else CK_FN(igemm_block)(j, p0, p1, k0, k1, &pf, CK_IG_ROWS, CK_IG_VECS);
    }
}

/* One rows x nv tile of the weight gradient: k rows k0.. (nk valid), columns col.. (rows and nv are
 * compile-time constants at every call, so the accumulators live in registers). */
static inline __attribute__((always_inline)) void CK_FN(wgrad_tile)(
    const conv_wgrad_job *j, int64_t p0, int64_t p1, int64_t k0, int64_t nk, int64_t col,
    const int rows, const int nv)
{
    const CK_T *src = (const CK_T *)j->src;
    const CK_T *g = (const CK_T *)j->g + col;
    int64_t ko[2 * CK_WG_ROWS];
    CK_VEC acc[2 * CK_WG_ROWS][CK_WG_VECS];
#pragma GCC unroll 32
    for (int r = 0; r < rows; r++) {
        ko[r] = j->at.koff[k0 + (r < nk ? r : nk - 1)];  /* duplicate row: computed, never stored */
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) acc[r][v] = (CK_VEC){0};
    }
    const int64_t out_w = j->at.out_w, col_step = j->at.col_step, ldg = j->ldg;
    const CK_T *gp = g + p0 * ldg;
    /* One run of pixels per output row: the source and gradient pointers just step along it. */
    for (int64_t p = p0, oh = p0 / out_w, ow = p0 % out_w; p < p1; p += out_w - ow, oh++, ow = 0) {
        const CK_T *sp = src + oh * j->at.row_step + ow * col_step;
        const CK_T *const run_end = gp + TK_MIN(p1 - p, out_w - ow) * ldg;
        for (; gp < run_end; gp += ldg, sp += col_step) {
            CK_VEC gv[CK_WG_VECS];
#pragma GCC unroll 8
            for (int v = 0; v < nv; v++) gv[v] = *(const CK_VEC *)(gp + v * CK_LANES);
#pragma GCC unroll 32
            for (int r = 0; r < rows; r++) {
                const CK_T a = sp[ko[r]];
#pragma GCC unroll 8
                for (int v = 0; v < nv; v++) acc[r][v] += a * gv[v];
            }
        }
    }
    /* acc rows are padded to a multiple of the widest vector: whole-vector updates stay inside. */
    CK_T *dst = (CK_T *)j->acc + k0 * j->ldacc + col;
    for (int64_t r = 0; r < nk; r++)
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++) {
            CK_VEC *d = (CK_VEC *)(dst + r * j->ldacc + v * CK_LANES);
            *d += acc[r][v];
        }
}

/* All k tiles of one column block, rows x nv each (rows x nv <= the register budget). */
static inline __attribute__((always_inline)) void CK_FN(wgrad_block)(
    const conv_wgrad_job *j, int64_t q0, int64_t q1, int64_t col, const int rows, const int nv)
{
    for (int64_t k0 = 0; k0 < j->at.k; k0 += rows)
        CK_FN(wgrad_tile)(j, q0, q1, k0, TK_MIN(rows, j->at.k - k0), col, rows, nv);
}

void CK_FN(conv_wgrad)(const conv_wgrad_job *j, int64_t p0, int64_t p1)
{
    /* Pixel blocks of at most CK_WG_KC_BYTES of g stay in L1 while every k tile sweeps them (the
     * tiles add into acc, so splitting the pixel sum costs one acc update per tile and block). */
    const int64_t block = CK_WG_VECS * CK_LANES;
    const int64_t vectors = (j->ncols + CK_LANES - 1) / CK_LANES;
    const int64_t pc = TK_MAX(CK_WG_ROWS, CK_WG_KC_BYTES / (j->ldg * (int64_t)sizeof(CK_T)));
    for (int64_t q0 = p0, q1; q0 < p1; q0 = q1) {
        q1 = TK_MIN(p1, q0 + pc);
        if (vectors * 2 <= CK_WG_VECS) {  /* few output channels: 2x the rows, half the vectors */
            if (vectors * 4 <= CK_WG_VECS) CK_FN(wgrad_block)(j, q0, q1, 0, 2 * CK_WG_ROWS, 1);
            else CK_FN(wgrad_block)(j, q0, q1, 0, 2 * CK_WG_ROWS, CK_WG_VECS / 2);
            continue;
        }
        for (int64_t col = 0; col < j->ncols; col += block) {
            const int64_t nv = TK_MIN(CK_WG_VECS, (j->ncols - col + CK_LANES - 1) / CK_LANES);
            switch (nv) {
            case CK_WG_VECS: CK_FN(wgrad_block)(j, q0, q1, col, CK_WG_ROWS, CK_WG_VECS); break;
#if CK_WG_VECS > 3
            case 3: CK_FN(wgrad_block)(j, q0, q1, col, CK_WG_ROWS, 3); break;
#endif
#if CK_WG_VECS > 2
            case 2: CK_FN(wgrad_block)(j, q0, q1, col, CK_WG_ROWS, 2); break;
#endif
            default: CK_FN(wgrad_block)(j, q0, q1, col, CK_WG_ROWS, 1); break;
            }
        }
    }
}

#undef CK_VEC
#undef CK_LANES
#undef CK_FN
#undef CK_CAT3
#undef CK_CAT3_
