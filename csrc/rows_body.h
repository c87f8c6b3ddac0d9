/* rows_body.h: the row-wise kernels behind log-sum-exp, softmax, log-softmax and the fused softmax
 * cross-entropy, written once over a small vector vocabulary and compiled per ISA (tinyBLAS-style):
 * rows_avx512.c, rows_avx2.c and rows_generic.c define T, V, VL, the V_* operations and
 * ROWS_SUFFIX, then include this file. The generic instantiations use V = T and VL = 1.
 *
 * Every kernel reads a row from memory once. Log-sum-exp and log-softmax use the "online" pass: a
 * lanewise running max M and sum S of exp(x - M), S rescaled once per block of four vectors (one
 * extra exp per 4*VL elements), so max and sum come out of one read. Kernels that write exps
 * (softmax, dlogits) would pay a second exp per element after it; for rows that fit L1/L2
 * (ROWS_CACHED_BYTES) they instead sweep for the max (from memory), store exp(x - max) and sum it
 * (from cache), and scale in place: one exp per element, 1.34x faster than online + write on
 * 4096 x 1000 float32 rows (A/B in one C harness; log-sum-exp gained nothing that way).
 * Rows are independent: OpenMP splits rows, and small problems stay on the calling thread, where
 * waking the team would cost more than the work. Maxima start at -T_BIG, not -inf, so x - max is
 * never -inf - (-inf): -inf entries contribute exactly 0 and an all -inf row has lse = -inf. A +inf
 * entry gives lse = +inf. */

#define TK_CAT2(a, b) a##_##b
#define TK_CAT(a, b) TK_CAT2(a, b)
#define FN(name) TK_CAT(name, ROWS_SUFFIX)
#define ROWS_PARALLEL_MIN 32768 /* elements below which a call stays single-threaded */
#define ROWS_CACHED_BYTES (128 << 10) /* rows up to this size are re-read from L1/L2, not memory */
#define ROWS_BY_LANE_COLS 16 /* log-sum-exp of rows up to this long: one row per lane */
#define ROWS_PARALLEL_FOR                                                            \
    _Pragma("omp parallel for num_threads(tk_threads) schedule(static) \
             if (rows * cols >= ROWS_PARALLEL_MIN)")

/* One online pass: returns the row max in *max_out and sum(exp(x - max)) in *sum_out.
 * Outputs are written as exp(x - max) / sum, never exp(x - lse): x - max is exact, while lse has
 * lost the low bits of log(sum) when |max| is large (1e4 in float32 keeps 3 decimals). */
static inline __attribute__((always_inline)) void FN(row_online)(const T *x, int64_t n,
                                                                 T *max_out, T *sum_out) {
    if (n <= VL) {
        V xv = n == VL ? V_LOAD(x) : V_LOAD_TAIL(x, n, -T_INF);
        T m = V_HMAX(V_MAX(xv, V_SET1(-T_BIG)));
        *max_out = m;
        *sum_out = V_HSUM(V_EXP_SUM(V_SUB(xv, V_SET1(m))));
        return;
    }
    V M = V_SET1(-T_BIG), S = V_SET1(0);
    int64_t i = 0;
    for (; i + 4 * VL <= n; i += 4 * VL) {
        V x0 = V_LOAD(x + i), x1 = V_LOAD(x + i + VL);
        V x2 = V_LOAD(x + i + 2 * VL), x3 = V_LOAD(x + i + 3 * VL);
        V bm = V_MAX(M, V_MAX(V_MAX(x0, x1), V_MAX(x2, x3)));
        /* The running max stops growing after a row's first few blocks: rescale only when it
         * does, which saves the fifth exp of the other blocks (1.2x on long rows). */
        if (V_ANY_GT(bm, M)) {
            S = V_MUL(S, V_EXP_SUM(V_SUB(M, bm)));
            M = bm;
        }
        S = V_ADD(S, V_ADD(V_ADD(V_EXP_SUM(V_SUB(x0, M)), V_EXP_SUM(V_SUB(x1, M))),
                           V_ADD(V_EXP_SUM(V_SUB(x2, M)), V_EXP_SUM(V_SUB(x3, M)))));
    }
    for (; i < n; i += VL) {
        V xv = n - i >= VL ? V_LOAD(x + i) : V_LOAD_TAIL(x + i, n - i, -T_INF);
        V bm = V_MAX(M, xv);
        S = V_FMA(S, V_EXP_SUM(V_SUB(M, bm)), V_EXP_SUM(V_SUB(xv, bm)));
        M = bm;
    }
    T m = V_HMAX(M);
    *max_out = m;
    *sum_out = V_HSUM(V_MUL(S, V_EXP_SUM(V_SUB(M, V_SET1(m)))));
}

/* log-sum-exp from the online pass's max and sum; a +inf entry makes it +inf (not inf - inf). */
static inline T FN(lse_of)(T m, T sum) { return m == T_INF ? m : m + LOG_S(sum); }

/* y = exp(x - shift) * scale - offset over one row. */
static inline __attribute__((always_inline)) void FN(row_exp_affine)(
        T *y, const T *x, int64_t n, T shift, T scale, T offset) {
    V sh = V_SET1(shift), sc = V_SET1(scale), off = V_SET1(offset);
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        V_STORE(y + i, V_SUB(V_MUL(V_EXP(V_SUB(V_LOAD(x + i), sh)), sc), off));
    if (i < n)
        V_STORE_TAIL(y + i, n - i,
                     V_SUB(V_MUL(V_EXP(V_SUB(V_LOAD_TAIL(x + i, n - i, 0), sh)), sc), off));
}

/* The row's max, sum(exp(x - max)) and, for rows that fit the cache (ROWS_CACHED_BYTES), y =
 * exp(x - max) (returns 1): a max sweep from memory and an exp sweep from cache. Longer rows take
 * the online pass (returns 0, y untouched), so memory is still read once. */
static inline __attribute__((always_inline)) int FN(row_max_exp)(
        T *y, const T *x, int64_t n, T *max_out, T *sum_out) {
    if (n * (int64_t)sizeof(T) > ROWS_CACHED_BYTES) {
        FN(row_online)(x, n, max_out, sum_out);
        return 0;
    }
    V m0 = V_SET1(-T_BIG), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 4 * VL <= n; i += 4 * VL) {
        m0 = V_MAX(m0, V_LOAD(x + i));
        m1 = V_MAX(m1, V_LOAD(x + i + VL));
        m2 = V_MAX(m2, V_LOAD(x + i + 2 * VL));
        m3 = V_MAX(m3, V_LOAD(x + i + 3 * VL));
    }
    for (; i < n; i += VL)
        m0 = V_MAX(m0, n - i >= VL ? V_LOAD(x + i) : V_LOAD_TAIL(x + i, n - i, -T_INF));
    T m = V_HMAX(V_MAX(V_MAX(m0, m1), V_MAX(m2, m3)));
    V mv = V_SET1(m), s0 = V_SET1(0), s1 = s0;
    for (i = 0; i + 2 * VL <= n; i += 2 * VL) {
        V e0 = V_EXP(V_SUB(V_LOAD(x + i), mv)), e1 = V_EXP(V_SUB(V_LOAD(x + i + VL), mv));
        V_STORE(y + i, e0);
        V_STORE(y + i + VL, e1);
        s0 = V_ADD(s0, e0);
        s1 = V_ADD(s1, e1);
    }
    for (; i < n; i += VL) {
        int64_t left = n - i;
        V e = V_EXP(V_SUB(left >= VL ? V_LOAD(x + i) : V_LOAD_TAIL(x + i, left, -T_INF), mv));
        if (left >= VL)
            V_STORE(y + i, e);
        else
            V_STORE_TAIL(y + i, left, e);
        s0 = V_ADD(s0, e);
    }
    *max_out = m;
    *sum_out = V_HSUM(V_ADD(s0, s1));
    return 1;
}

/* y = y * scale - offset over one row, in place. */
static inline __attribute__((always_inline)) void FN(row_affine)(T *y, int64_t n, T scale,
                                                                 T offset) {
    V sc = V_SET1(scale), off = V_SET1(offset);
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        V_STORE(y + i, V_SUB(V_MUL(V_LOAD(y + i), sc), off));
    if (i < n)
        V_STORE_TAIL(y + i, n - i, V_SUB(V_MUL(V_LOAD_TAIL(y + i, n - i, 0), sc), off));
}

/* sum(a * b) over one row (b == NULL: sum(a)). */
static inline __attribute__((always_inline)) T FN(row_dot)(const T *a, const T *b, int64_t n) {
    V acc = V_SET1(0);
    int64_t i = 0;
    for (; i + VL <= n; i += VL)
        acc = b ? V_FMA(V_LOAD(a + i), V_LOAD(b + i), acc) : V_ADD(acc, V_LOAD(a + i));
    if (i < n)
        acc = b ? V_FMA(V_LOAD_TAIL(a + i, n - i, 0), V_LOAD_TAIL(b + i, n - i, 0), acc)
                : V_ADD(acc, V_LOAD_TAIL(a + i, n - i, 0));
    return V_HSUM(acc);
}

/* Log-sum-exp of `lanes` (<= VL) rows of cols <= ROWS_BY_LANE_COLS entries from x, one row per
 * lane: short rows one at a time are latency-bound (a masked load, exp and two horizontal
 * reductions on one dependency chain, then a scalar log); by lanes the reductions are lanewise
 * and the log is one vector log for VL rows ((256, 10) through c.logsumexp: 6 -> 3 us). */
static inline __attribute__((always_inline)) void FN(lse_by_lane)(T *out, const T *x, int64_t cols,
                                                                  int64_t lanes) {
    const VI at __attribute__((unused)) = V_LANE_ROWS(cols); /* unused by the scalar V_GATHER */
    V col[ROWS_BY_LANE_COLS], m = V_SET1(-T_BIG), s = V_SET1(0);
    for (int64_t j = 0; j < cols; j++) {
        col[j] = V_GATHER(x + j, at, lanes);
        m = V_MAX(m, col[j]);
    }
    for (int64_t j = 0; j < cols; j++)
        s = V_ADD(s, V_EXP_SUM(V_SUB(col[j], m)));
    if (lanes == VL)
        V_STORE(out, V_LSE(m, s));
    else
        V_STORE_TAIL(out, lanes, V_LSE(m, s));
}

/* out: [rows]   x: [rows, cols] */
void FN(tk_rows_logsumexp)(T *out, const T *x, int64_t rows, int64_t cols) {
    if (cols <= ROWS_BY_LANE_COLS) {
        const int64_t groups = (rows + VL - 1) / VL;
        ROWS_PARALLEL_FOR
        for (int64_t g = 0; g < groups; g++)
            FN(lse_by_lane)(out + g * VL, x + g * VL * cols, cols, TK_MIN(VL, rows - g * VL));
        return;
    }
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++) {
        T m, sum;
        FN(row_online)(x + r * cols, cols, &m, &sum);
        out[r] = FN(lse_of)(m, sum);
    }
}

/* y: [rows, cols]   x: [rows, cols]; log_space selects log_softmax (y = x - lse) over softmax. */
void FN(tk_rows_softmax)(T *y, const T *x, int64_t rows, int64_t cols, int log_space) {
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = x + r * cols;
        T *yr = y + r * cols, m, sum;
        if (!log_space) {
            if (FN(row_max_exp)(yr, xr, cols, &m, &sum))
                FN(row_affine)(yr, cols, 1 / sum, 0);
            else
                FN(row_exp_affine)(yr, xr, cols, m, 1 / sum, 0);
            continue;
        }
        FN(row_online)(xr, cols, &m, &sum);
        V mv = V_SET1(m), ls = V_SET1(m == T_INF ? 0 : LOG_S(sum));
        int64_t i = 0;
        for (; i + VL <= cols; i += VL)
            V_STORE(yr + i, V_SUB(V_SUB(V_LOAD(xr + i), mv), ls));
        if (i < cols)
            V_STORE_TAIL(yr + i, cols - i, V_SUB(V_SUB(V_LOAD_TAIL(xr + i, cols - i, 0), mv), ls));
    }
}

/* dx: [rows, cols]   dy: [rows]   x: [rows, cols]   lse: [rows];  dx = dy * exp(x - lse) */
void FN(tk_rows_logsumexp_backward)(T *dx, const T *dy, const T *x, const T *lse,
                                    int64_t rows, int64_t cols) {
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++)
        FN(row_exp_affine)(dx + r * cols, x + r * cols, cols, lse[r], dy[r], 0);
}

/* dx, dy, y: [rows, cols]. softmax: dx = y * (dy - sum(dy * y));
 * log_softmax (log_space): dx = dy - exp(y) * sum(dy). */
void FN(tk_rows_softmax_backward)(T *dx, const T *dy, const T *y, int64_t rows, int64_t cols,
                                  int log_space) {
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++) {
        const T *dyr = dy + r * cols, *yr = y + r * cols;
        T *dxr = dx + r * cols;
        V s = V_SET1(log_space ? FN(row_dot)(dyr, NULL, cols) : FN(row_dot)(dyr, yr, cols));
        int64_t i = 0;
        for (; i + VL <= cols; i += VL) {
            V g = V_LOAD(dyr + i), yv = V_LOAD(yr + i);
            V_STORE(dxr + i, log_space ? V_SUB(g, V_MUL(V_EXP(yv), s)) : V_MUL(yv, V_SUB(g, s)));
        }
        if (i < cols) {
            V g = V_LOAD_TAIL(dyr + i, cols - i, 0), yv = V_LOAD_TAIL(yr + i, cols - i, 0);
            V_STORE_TAIL(dxr + i, cols - i,
                         log_space ? V_SUB(g, V_MUL(V_EXP(yv), s)) : V_MUL(yv, V_SUB(g, s)));
        }
    }
}

/* loss: [rows]   dlogits, logits: [rows, cols]   labels: [rows]   row_scale: [rows] Target q = (1 -
 * smoothing) * onehot(label) + smoothing / cols. loss = sum_j q_j (lse - x_j), written as (1-s)(max
 * - x_label) + log-sum + (s/cols) sum_j (max - x_j) so a confident row keeps its small loss
 * exactly. dlogits = (softmax(x) - q) * row_scale, in the same pass. */
void FN(tk_rows_xent_sparse)(T *loss, T *dlogits, const T *logits, const int64_t *labels,
                             const T *row_scale, int64_t rows, int64_t cols, T smoothing) {
    T off = smoothing / (T)cols;
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = logits + r * cols;
        T *dr = dlogits + r * cols, m, sum;
        int cached = FN(row_max_exp)(dr, xr, cols, &m, &sum);
        T x_label = xr[labels[r]];
        T l = (1 - smoothing) * (m - x_label) + LOG_S(sum);
        if (smoothing != 0)
            l += off * ((T)cols * m - FN(row_dot)(xr, NULL, cols));
        loss[r] = l;
        if (cached)
            FN(row_affine)(dr, cols, row_scale[r] / sum, off * row_scale[r]);
        else
            FN(row_exp_affine)(dr, xr, cols, m, row_scale[r] / sum, off * row_scale[r]);
        dr[labels[r]] -= (1 - smoothing) * row_scale[r];
    }
}

/* loss: [rows]   dlogits, logits, target: [rows, cols]   row_scale: [rows]
 * q = (1 - smoothing) * target + smoothing / cols (targets need not sum to 1).
 * loss = sum_j q_j ((max - x_j) + log-sum); dlogits = (softmax(x) * sum(q) - q) * row_scale. */
void FN(tk_rows_xent_dense)(T *loss, T *dlogits, const T *logits, const T *target,
                            const T *row_scale, int64_t rows, int64_t cols, T smoothing) {
    T keep = 1 - smoothing, off = smoothing / (T)cols;
    ROWS_PARALLEL_FOR
    for (int64_t r = 0; r < rows; r++) {
        const T *xr = logits + r * cols, *tr = target + r * cols;
        T *dr = dlogits + r * cols, m, sum;
        int cached = FN(row_max_exp)(dr, xr, cols, &m, &sum);
        T sum_t = FN(row_dot)(tr, NULL, cols);
        T sum_q = keep * sum_t + smoothing, sc = row_scale[r];
        V mv = V_SET1(m);
        V p_scale = V_SET1(sum_q * sc / sum), t_scale = V_SET1(keep * sc), off_v = V_SET1(off * sc);
        V keep_v = V_SET1(keep), off_q = V_SET1(off), acc = V_SET1(0);
        int64_t i = 0;
        for (; i < cols; i += VL) {
            int64_t left = cols - i;
            /* padding lanes: x = max and t = 0 add nothing to the loss */
            V xv = left >= VL ? V_LOAD(xr + i) : V_LOAD_TAIL(xr + i, left, m);
            V tv = left >= VL ? V_LOAD(tr + i) : V_LOAD_TAIL(tr + i, left, 0);
            V e = !cached ? V_EXP(V_SUB(xv, mv))
                          : left >= VL ? V_LOAD(dr + i) : V_LOAD_TAIL(dr + i, left, 0);
            V d = V_SUB(V_SUB(V_MUL(e, p_scale), V_MUL(tv, t_scale)), off_v);
            acc = V_FMA(V_FMA(tv, keep_v, off_q), V_SUB(mv, xv), acc);
            if (left >= VL)
                V_STORE(dr + i, d);
            else
                V_STORE_TAIL(dr + i, left, d);
        }
        loss[r] = V_HSUM(acc) + sum_q * LOG_S(sum);
    }
}
