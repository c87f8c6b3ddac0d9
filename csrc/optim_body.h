/* optim_body.h: the element loops of the fused optimizer updates, written once and compiled once
 * per (ISA, dtype) by optim.c, which defines before each inclusion:
 *   T        element type (float or double)
 *   SQRT     the matching square root (sqrtf or sqrt; -fno-math-errno lets both vectorize)
 *   FN(x)    name mangler, e.g. x##_f32_avx2
 *   TARGET   function attribute choosing the ISA (empty for the portable body)
 * No include guard: it is meant to be included several times.
 *
 * Every body walks [lo, hi) once, reading the gradient and the state and writing the parameter and
 * the state in place: one pass over memory instead of NumPy's chain of temporaries. Optional
 * pieces (momentum, Nesterov, AMSGrad, centering) are loop-invariant flags; -O3 unswitches them, so
 * each inner loop is branch-free and vectorizes. Clipping by value is a pair of compares (NaN
 * gradients pass through, as in Keras), and clipvalue = +inf disables it. */

/* g = clip(grad * grad_scale, +-clipvalue);  p -= p * decay  (Keras' decoupled weight decay). */
#define TK_OPT_PREAMBLE                                                       \
    T g = grad[i] * gscale;                                                   \
    g = g > clip ? clip : (g < -clip ? -clip : g);                            \
    T w = p[i] - p[i] * decay;

TARGET static void FN(sgd)(const tk_update_call *c, int64_t lo, int64_t hi) {
    // p: [n]   velocity: [n] or NULL   grad: [n]
    T *TK_RESTRICT p = (T *)c->param + lo;
    T *TK_RESTRICT vel = c->state[0] ? (T *)c->state[0] + lo : NULL;
    const T *TK_RESTRICT grad = (const T *)c->grad + lo;
    const T lr = (T)c->hp[0], mom = (T)c->hp[1], gscale = (T)c->grad_scale;
    const T clip = (T)c->clipvalue, decay = (T)c->decay;
    const int nesterov = c->flags[0];
    const int64_t n = hi - lo;
    if (!vel) {
        for (int64_t i = 0; i < n; i++) {
            TK_OPT_PREAMBLE
            p[i] = w - g * lr;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        TK_OPT_PREAMBLE
        T m = vel[i] * mom - g * lr;
        vel[i] = m;
        p[i] = nesterov ? w + (m * mom - g * lr) : w + m;
    }
}

TARGET static void FN(adam)(const tk_update_call *c, int64_t lo, int64_t hi) {
    // p: [n]   m: [n]   v: [n]   v_hat: [n] or NULL (AMSGrad)   grad: [n]
    T *TK_RESTRICT p = (T *)c->param + lo;
    T *TK_RESTRICT m = (T *)c->state[0] + lo;
    T *TK_RESTRICT v = (T *)c->state[1] + lo;
    T *TK_RESTRICT vhat = c->state[2] ? (T *)c->state[2] + lo : NULL;
    const T *TK_RESTRICT grad = (const T *)c->grad + lo;
    const T alpha = (T)c->hp[0], one_m_b1 = (T)(1.0 - c->hp[1]), one_m_b2 = (T)(1.0 - c->hp[2]);
    const T eps = (T)c->hp[3], gscale = (T)c->grad_scale, clip = (T)c->clipvalue;
    const T decay = (T)c->decay;
    const int64_t n = hi - lo;
    for (int64_t i = 0; i < n; i++) {
        TK_OPT_PREAMBLE
        T mi = m[i] + (g - m[i]) * one_m_b1;
        T vi = v[i] + (g * g - v[i]) * one_m_b2;
        m[i] = mi;
        v[i] = vi;
        if (vhat) {
            vi = vhat[i] > vi ? vhat[i] : vi;
            vhat[i] = vi;
        }
        p[i] = w - (mi * alpha) / (SQRT(vi) + eps);
    }
}

/* The RMSprop loop with its two options as literal constants at each call below, so that every
 * variant compiles to its own branch-free vector loop (the optional slots are written only when
 * they exist, which defeats -O3's automatic unswitching here). */
TARGET static inline __attribute__((always_inline)) void FN(rmsprop_loop)(
    T *TK_RESTRICT p, T *TK_RESTRICT vel, T *TK_RESTRICT mom_buf, T *TK_RESTRICT avg,
    const T *TK_RESTRICT grad, int64_t n, const tk_update_call *c, const int centered,
    const int with_momentum) {
    const T lr = (T)c->hp[0], rho = (T)c->hp[1], one_m_rho = (T)(1.0 - c->hp[1]);
    const T mom = (T)c->hp[2], eps = (T)c->hp[3];
    const T gscale = (T)c->grad_scale, clip = (T)c->clipvalue, decay = (T)c->decay;
    for (int64_t i = 0; i < n; i++) {
        TK_OPT_PREAMBLE
        T vi = rho * vel[i] + one_m_rho * (g * g);
        vel[i] = vi;
        T denom = vi + eps;
        if (centered) {
            T ai = rho * avg[i] + one_m_rho * g;
            avg[i] = ai;
            denom = vi - ai * ai + eps;
        }
        T inc = (lr * g) / SQRT(denom);
        if (with_momentum) {
            inc = mom * mom_buf[i] + inc;
            mom_buf[i] = inc;
        }
        p[i] = w - inc;
    }
}

TARGET static void FN(rmsprop)(const tk_update_call *c, int64_t lo, int64_t hi) {
    // p: [n]   velocity: [n]   momentum: [n] or NULL   average_grad: [n] or NULL   grad: [n]
    T *p = (T *)c->param + lo, *vel = (T *)c->state[0] + lo;
    T *mom_buf = c->state[1] ? (T *)c->state[1] + lo : NULL;
    T *avg = c->state[2] ? (T *)c->state[2] + lo : NULL;
    const T *grad = (const T *)c->grad + lo;
    const int64_t n = hi - lo;
    if (avg && mom_buf)
        FN(rmsprop_loop)(p, vel, mom_buf, avg, grad, n, c, 1, 1);
    else if (avg)
        FN(rmsprop_loop)(p, vel, mom_buf, avg, grad, n, c, 1, 0);
    else if (mom_buf)
        FN(rmsprop_loop)(p, vel, mom_buf, avg, grad, n, c, 0, 1);
    else
        FN(rmsprop_loop)(p, vel, mom_buf, avg, grad, n, c, 0, 0);
}

/* Sum of squares of x[lo, hi) in double. Sixteen independent accumulators let the compiler
 * vectorize without reassociating one running sum (no -ffast-math), and keep the result identical
 * for a given block whatever the thread count. */
TARGET static double FN(sum_squares)(const void *xv, int64_t lo, int64_t hi) {
    // x: [n]
    const T *TK_RESTRICT x = (const T *)xv + lo;
    const int64_t n = hi - lo;
    double acc[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += (double)x[i + j] * (double)x[i + j];
    for (; i < n; i++) acc[i & 15] += (double)x[i] * (double)x[i];
    for (int width = 8; width > 0; width /= 2)
        for (int j = 0; j < width; j++) acc[j] += acc[j + width];
    return acc[0];
}

#undef TK_OPT_PREAMBLE
