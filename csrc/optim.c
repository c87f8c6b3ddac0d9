/* optim.c: fused optimizer updates (SGD with momentum/Nesterov, Adam/AdamW with AMSGrad, RMSprop
 * with momentum/centering) and the sum of squares that gradient clipping by norm needs.
 *
 * Each update is ONE pass over a parameter tensor: it reads the gradient and the optimizer state,
 * applies clipping and Keras' decoupled weight decay on the fly, and writes the parameter and the
 * state in place. The update is memory-bound (Adam moves 28 bytes per float32 element), so the aim
 * is to touch each byte once and to keep the loop vectorized; the element loops live in
 * optim_body.h and are compiled per ISA (portable, AVX2+FMA, AVX-512), picked by tk_simd_active.
 * Large tensors are split into fixed blocks shared among OpenMP threads; small ones (most biases)
 * stay on the calling thread, where a parallel region would cost more than the work. Adam also
 * takes a whole list of tensors (tk_adam_update_many): their blocks, numbered one tensor after the
 * other, are split between the threads in one region.
 * Nothing is allocated here: the sum of squares takes a caller-sized workspace of per-block
 * partial sums, which also makes its result independent of the thread count. */
#include <math.h>

#include "tk_internal.h"

/* Everything a body needs, so that one driver and one function-pointer type serve all updates. */
typedef struct {
    void *param;
    void *state[3];        /* optimizer slots; NULL where the variant does not use one */
    const void *grad;
    double hp[4];          /* per-optimizer hyper-parameters, in the order of the tk_* arguments */
    int flags[1];          /* SGD: nesterov */
    double grad_scale, clipvalue, decay;
} tk_update_call;

typedef void (*update_fn)(const tk_update_call *c, int64_t lo, int64_t hi);
typedef double (*sumsq_fn)(const void *x, int64_t lo, int64_t hi);

/* Elements per OpenMP work item: big enough to amortize scheduling, small enough to balance. */
#define OPTIM_BLOCK ((int64_t)1 << 14)
/* Below this many elements (256 KiB of float32 per buffer) the update runs on the calling thread:
 * waking the team costs more than it saves. The toy CNN's 0.3 M-element Dense kernel is above it:
 * its state does not fit one core's L2, and two cores update it in 0.39 ms instead of 0.56 per step
 * (bench_train.py --profile, batch 32). */
#define OPTIM_PARALLEL_MIN ((int64_t)1 << 16)

#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))

#define T float
#define SQRT sqrtf
#define TARGET
#define FN(x) x##_f32_generic
#include "optim_body.h"
#undef TARGET
#undef FN
#define TARGET TARGET_AVX2
#define FN(x) x##_f32_avx2
#include "optim_body.h"
#undef TARGET
#undef FN
#define TARGET TARGET_AVX512
#define FN(x) x##_f32_avx512
#include "optim_body.h"
#undef TARGET
#undef FN
#undef T
#undef SQRT

#define T double
#define SQRT sqrt
#define TARGET
#define FN(x) x##_f64_generic
#include "optim_body.h"
#undef TARGET
#undef FN
#define TARGET TARGET_AVX2
#define FN(x) x##_f64_avx2
#include "optim_body.h"
#undef TARGET
#undef FN
#define TARGET TARGET_AVX512
#define FN(x) x##_f64_avx512
#include "optim_body.h"
#undef TARGET
#undef FN
#undef T
#undef SQRT

/* Tables indexed by tk_simd_active (generic, avx2, avx512). */
#define ISA_TABLE(name, sfx) {name##_##sfx##_generic, name##_##sfx##_avx2, name##_##sfx##_avx512}
static const update_fn sgd_f32[3] = ISA_TABLE(sgd, f32), sgd_f64[3] = ISA_TABLE(sgd, f64);
static const update_fn adam_f32[3] = ISA_TABLE(adam, f32), adam_f64[3] = ISA_TABLE(adam, f64);
static const update_fn rmsprop_f32[3] = ISA_TABLE(rmsprop, f32);
static const update_fn rmsprop_f64[3] = ISA_TABLE(rmsprop, f64);
static const sumsq_fn sumsq_f32[3] = ISA_TABLE(sum_squares, f32);
static const sumsq_fn sumsq_f64[3] = ISA_TABLE(sum_squares, f64);

static void run_update(update_fn fn, const tk_update_call *c, int64_t n) {
    const int64_t blocks = (n + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
    // Static schedule: equal blocks cost the same, and each thread keeps a contiguous range.
#pragma omp parallel for num_threads(tk_threads) schedule(static) if (n >= OPTIM_PARALLEL_MIN)
    for (int64_t b = 0; b < blocks; b++)
        fn(c, b * OPTIM_BLOCK, TK_MIN(n, (b + 1) * OPTIM_BLOCK));
}

/* The blocks of several tensors' updates, numbered tensor after tensor, split into one contiguous
 * range per thread; fill(args, i, &c) sets tensor i's arguments. */
typedef void (*fill_call_fn)(const void *args, int64_t i, tk_update_call *c);

static void run_update_many(update_fn fn, fill_call_fn fill, const void *args, const int64_t *n,
                            int64_t count) {
    int64_t blocks = 0, total = 0;
    for (int64_t i = 0; i < count; i++) {
        blocks += (n[i] + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
        total += n[i];
    }
#pragma omp parallel num_threads(tk_threads) if (total >= OPTIM_PARALLEL_MIN)
    {
        int64_t t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        const int64_t lo = blocks * t / nt, hi = blocks * (t + 1) / nt;
        int64_t first = 0; /* number of tensor i's first block */
        for (int64_t i = 0; i < count && first < hi; i++) {
            const int64_t nb = (n[i] + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
            if (first + nb > lo) {
                tk_update_call c;
                fill(args, i, &c);
                for (int64_t b = TK_MAX(lo, first); b < TK_MIN(hi, first + nb); b++)
                    fn(&c, (b - first) * OPTIM_BLOCK, TK_MIN(n[i], (b - first + 1) * OPTIM_BLOCK));
            }
            first += nb;
        }
    }
}

static double run_sum_squares(sumsq_fn fn, double *partial, const void *x, int64_t n) {
    const int64_t blocks = (n + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
#pragma omp parallel for num_threads(tk_threads) schedule(static) if (n >= OPTIM_PARALLEL_MIN)
    for (int64_t b = 0; b < blocks; b++)
        partial[b] = fn(x, b * OPTIM_BLOCK, TK_MIN(n, (b + 1) * OPTIM_BLOCK));
    double total = 0.0;
    for (int64_t b = 0; b < blocks; b++) total += partial[b];
    return total;
}

/* ---- public entry points (argument meaning in tk.h) ---- */

#define DEFINE_SGD(sfx, T_)                                                                    \
    void tk_sgd_update_##sfx(T_ *param, T_ *velocity, const T_ *grad, int64_t n,               \
                             double learning_rate, double momentum, int nesterov,              \
                             double grad_scale, double clipvalue, double decay) {              \
        tk_update_call c = {param, {velocity, NULL, NULL}, grad, {learning_rate, momentum},    \
                            {nesterov}, grad_scale, clipvalue, decay};                         \
        run_update(sgd_##sfx[tk_simd_active], &c, n);                                          \
    }
DEFINE_SGD(f32, float)
DEFINE_SGD(f64, double)

#define DEFINE_ADAM(sfx, T_)                                                                   \
    void tk_adam_update_##sfx(T_ *param, T_ *m, T_ *v, T_ *v_hat, const T_ *grad, int64_t n,   \
                              double alpha, double beta_1, double beta_2, double epsilon,      \
                              double grad_scale, double clipvalue, double decay) {             \
        tk_update_call c = {param, {m, v, v_hat}, grad, {alpha, beta_1, beta_2, epsilon},      \
                            {0}, grad_scale, clipvalue, decay};                                \
        run_update(adam_##sfx[tk_simd_active], &c, n);                                         \
    }
DEFINE_ADAM(f32, float)
DEFINE_ADAM(f64, double)

typedef struct {
    void *const *param, *const *m, *const *v, *const *v_hat;
    const void *const *grad;
    const double *grad_scale, *decay;
    double alpha, beta_1, beta_2, epsilon, clipvalue;
} adam_many_args;

static void fill_adam_call(const void *args, int64_t i, tk_update_call *c) {
    const adam_many_args *a = args;
    *c = (tk_update_call){a->param[i], {a->m[i], a->v[i], a->v_hat ? a->v_hat[i] : NULL},
                          a->grad[i], {a->alpha, a->beta_1, a->beta_2, a->epsilon}, {0},
                          a->grad_scale[i], a->clipvalue, a->decay[i]};
}

#define DEFINE_ADAM_MANY(sfx, T_)                                                              \
    void tk_adam_update_many_##sfx(T_ *const *param, T_ *const *m, T_ *const *v,               \
                                   T_ *const *v_hat, const T_ *const *grad, const int64_t *n,  \
                                   const double *grad_scale, const double *decay,              \
                                   int64_t count, double alpha, double beta_1, double beta_2,  \
                                   double epsilon, double clipvalue) {                         \
        adam_many_args a = {(void *const *)param, (void *const *)m, (void *const *)v,          \
                            (void *const *)v_hat, (const void *const *)grad, grad_scale,       \
                            decay, alpha, beta_1, beta_2, epsilon, clipvalue};                 \
        run_update_many(adam_##sfx[tk_simd_active], fill_adam_call, &a, n, count);             \
    }
DEFINE_ADAM_MANY(f32, float)
DEFINE_ADAM_MANY(f64, double)

#define DEFINE_RMSPROP(sfx, T_)                                                                \
    void tk_rmsprop_update_##sfx(T_ *param, T_ *velocity, T_ *momentum_buf, T_ *average_grad,  \
                                 const T_ *grad, int64_t n, double learning_rate, double rho,  \
                                 double momentum, double epsilon, double grad_scale,           \
                                 double clipvalue, double decay) {                             \
        tk_update_call c = {param, {velocity, momentum_buf, average_grad}, grad,               \
                            {learning_rate, rho, momentum, epsilon}, {0},                      \
                            grad_scale, clipvalue, decay};                                     \
        run_update(rmsprop_##sfx[tk_simd_active], &c, n);                                      \
    }
DEFINE_RMSPROP(f32, float)
DEFINE_RMSPROP(f64, double)

int64_t tk_sum_squares_workspace_size(int64_t n) {
    return TK_MAX((int64_t)1, (n + OPTIM_BLOCK - 1) / OPTIM_BLOCK) * (int64_t)sizeof(double);
}

double tk_sum_squares_f32(double *workspace, const float *x, int64_t n) {
    return run_sum_squares(sumsq_f32[tk_simd_active], workspace, x, n);
}

double tk_sum_squares_f64(double *workspace, const double *x, int64_t n) {
    return run_sum_squares(sumsq_f64[tk_simd_active], workspace, x, n);
}
