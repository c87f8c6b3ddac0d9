/* tk.h: the C core's whole public ABI. build_ffi.py feeds this file (minus # lines) to cffi's cdef
 * and #includes it in the generated module, so every prototype is written exactly once.
 * Conventions: outputs first, then const inputs, then sizes and hyper-parameters; 64-bit sizes;
 * every symbol starts with tk_ and ends with its dtype; kernels never allocate: scratch comes
 * from the caller, sized by the matching *_workspace_size query. */
#ifndef TK_H
#define TK_H
#include <stdint.h>

/* ---- runtime ---- */
const char *tk_simd_name(void);      /* micro-kernel ISA chosen at load: "avx512", "avx2" or "generic" */
int tk_simd_level(void);             /* 0 generic, 1 avx2+fma, 2 avx512 */
int tk_select_simd(int level);       /* use at most this level (tests run every kernel body); returns the level now in use */
int tk_openmp_enabled(void);
int tk_get_num_threads(void);
void tk_set_num_threads(int n);

/* ---- gemm ---- */
/* Bytes of scratch tk_gemm_* needs for these sizes at the current thread count (packed panels,
   per-thread, cache-line padded). The batched forms need the same as one GEMM of M, N, K. */
int64_t tk_gemm_workspace_size_f32(int64_t M, int64_t N, int64_t K);
int64_t tk_gemm_workspace_size_f64(int64_t M, int64_t N, int64_t K);
/* C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C;  trans_a/trans_b: 0 or 1; lda/ldb/ldc in
   elements, row-major. workspace: at least tk_gemm_workspace_size_*(M, N, K) bytes, 64-byte
   aligned. beta == 0 never reads C. */
void tk_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                 void *workspace);
void tk_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, double alpha,
                 const double *A, int64_t lda, const double *B, int64_t ldb, double beta, double *C,
                 int64_t ldc, void *workspace);
/* batch independent GEMMs; operand i starts at A + i*stride_a (stride 0 broadcasts one operand
   over the batch). Strides in elements. Called from inside an active OpenMP parallel region, every
   tk_gemm_* runs on the calling thread. Results are bitwise identical for any thread count. */
void tk_gemm_batched_f32(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, int64_t stride_a, const float *B,
                         int64_t ldb, int64_t stride_b, float beta, float *C, int64_t ldc,
                         int64_t stride_c, void *workspace);
void tk_gemm_batched_f64(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         double alpha, const double *A, int64_t lda, int64_t stride_a,
                         const double *B, int64_t ldb, int64_t stride_b, double beta, double *C,
                         int64_t ldc, int64_t stride_c, void *workspace);
/* Benchmark helper: runs iters rounds of independent FMA chains on the calling thread with the
   active ISA's widest vectors; returns the FLOP/s it achieved per second of the thread's CPU time
   (the core's peak, undisturbed by other jobs sharing the machine). */
double tk_peak_flops_probe_f32(int64_t iters);

/* ---- conv2d ---- */
/* Cross-correlation (no kernel flip, as in every DL framework) over NHWC images with HWIO kernels:
 *   x [n, h, w, c]   w [kh, kw, c, o]   bias [o]   y [n, out_h, out_w, o]
 *   out_h = (h + pad_top + pad_bottom - (kh - 1) * dilation_h - 1) / stride_h + 1, likewise out_w.
 * Callers validate the geometry (positive sizes, strides and dilations, pads >= 0, out_h/out_w >= 1).
 * Backward kernels write their result (never accumulate). Each kernel takes a workspace of at least
 * tk_conv2d_workspace_size_<kernel>_<dtype>(g) bytes, 64-byte aligned, sized for the current thread
 * count. backward_input is also conv_transpose2d: dy plays the input, dx the output. */
typedef struct {
    int64_t n, h, w, c, kh, kw, o, out_h, out_w;
    int64_t stride_h, stride_w, dilation_h, dilation_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
} tk_conv2d_geometry;
int64_t tk_conv2d_workspace_size_forward_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_forward_f64(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_input_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_input_f64(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_weight_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_weight_f64(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_bias_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_bias_f64(const tk_conv2d_geometry *g);
/* y = conv(x, w) + bias (bias may be NULL) */
void tk_conv2d_forward_f32(float *y, const float *x, const float *w, const float *bias,
                           const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_forward_f64(double *y, const double *x, const double *w, const double *bias,
                           const tk_conv2d_geometry *g, void *workspace);
/* dx = d(sum y * dy)/dx */
void tk_conv2d_backward_input_f32(float *dx, const float *dy, const float *w,
                                  const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_backward_input_f64(double *dx, const double *dy, const double *w,
                                  const tk_conv2d_geometry *g, void *workspace);
/* dw = d(sum y * dy)/dw; also dbias (as backward_bias) on the same pass over dy unless NULL */
void tk_conv2d_backward_weight_f32(float *dw, float *dbias, const float *x, const float *dy,
                                   const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_backward_weight_f64(double *dw, double *dbias, const double *x, const double *dy,
                                   const tk_conv2d_geometry *g, void *workspace);
/* dbias = dy summed over n, out_h, out_w */
void tk_conv2d_backward_bias_f32(float *dbias, const float *dy, const tk_conv2d_geometry *g,
                                 void *workspace);
void tk_conv2d_backward_bias_f64(double *dbias, const double *dy, const tk_conv2d_geometry *g,
                                 void *workspace);
/* Fused conv2d + ReLU: y = max(conv(x, w) + bias, 0), written once (tk_relu_forward's semantics:
 * NaN stays, -0.0 -> +0.0). Its gradients take that y and read dz = dy * (y > 0) (a product, as
 * tk_relu_backward) wherever the plain kernels read dy: dz is never stored. Workspaces: the
 * matching *_relu size queries. */
int64_t tk_conv2d_workspace_size_forward_relu_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_forward_relu_f64(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_input_relu_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_input_relu_f64(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_weight_relu_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_weight_relu_f64(const tk_conv2d_geometry *g);
void tk_conv2d_forward_relu_f32(float *y, const float *x, const float *w, const float *bias,
                                const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_forward_relu_f64(double *y, const double *x, const double *w, const double *bias,
                                const tk_conv2d_geometry *g, void *workspace);
/* dx = backward_input(dy * (y > 0), w);  dy, y: [n, out_h, out_w, o] */
void tk_conv2d_backward_input_relu_f32(float *dx, const float *dy, const float *y, const float *w,
                                       const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_backward_input_relu_f64(double *dx, const double *dy, const double *y,
                                       const double *w, const tk_conv2d_geometry *g,
                                       void *workspace);
/* dw (and dbias unless NULL) = backward_weight(x, dy * (y > 0)) */
void tk_conv2d_backward_weight_relu_f32(float *dw, float *dbias, const float *x, const float *dy,
                                        const float *y, const tk_conv2d_geometry *g,
                                        void *workspace);
void tk_conv2d_backward_weight_relu_f64(double *dw, double *dbias, const double *x,
                                        const double *dy, const double *y,
                                        const tk_conv2d_geometry *g, void *workspace);
/* The weight (and bias) gradient of y = relu(conv2d(x, w, b)) followed by 2x2 / stride-2 'valid'
 * max pooling, from the pooling's dp, output p and argmax, all [n, out_h / 2, out_w / 2, o]
 * (argmax as tk_maxpool2d_forward makes it, over the out_h x out_w image): each image's dy is
 * rebuilt in the workspace (dp at the argmax where p > 0) and never stored whole. dbias may be
 * NULL. Runs the direct kernels (never Winograd). */
int64_t tk_conv2d_workspace_size_backward_weight_pooled_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_workspace_size_backward_weight_pooled_f64(const tk_conv2d_geometry *g);
void tk_conv2d_backward_weight_pooled_f32(float *dw, float *dbias, const float *x, const float *dp,
                                          const float *p, const int32_t *argmax,
                                          const tk_conv2d_geometry *g, void *workspace);
void tk_conv2d_backward_weight_pooled_f64(double *dw, double *dbias, const double *x,
                                          const double *dp, const double *p,
                                          const int32_t *argmax, const tk_conv2d_geometry *g,
                                          void *workspace);
/* Which of the kernels above run this geometry as Winograd F(2x2, 3x3) (16 multiplies per 2x2
 * output tile instead of 36; 3x3 kernel, stride 1, dilation 1, enough channels for the pass and
 * at most 1 MiB of transformed kernel: 16 * c * o elements),
 * the others running as the direct implicit GEMM: a bit set, 1 forward, 2 grad-input,
 * 4 grad-weight (the fused-ReLU variants follow their plain kernels). */
int64_t tk_conv2d_winograd_passes_f32(const tk_conv2d_geometry *g);
int64_t tk_conv2d_winograd_passes_f64(const tk_conv2d_geometry *g);

/* ---- pooling ---- */
/* NHWC pooling. x, dx: [n, h, w, c]; y, dy, argmax, ddy: [n, oh, ow, c]; window kh x kw, strides
 * (sh, sw), pt/pl rows/columns of padding on top/left. Padding never wins a max and never counts in an
 * average. argmax = iy * w + ix of each window's first maximum (row-major). Backward overwrites dx. */
void tk_maxpool2d_forward_f32(float *y, int32_t *argmax, const float *x, int64_t n, int64_t h,
                              int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_maxpool2d_forward_f64(double *y, int32_t *argmax, const double *x, int64_t n, int64_t h,
                              int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_maxpool2d_backward_f32(float *dx, const float *dy, const int32_t *argmax, int64_t n,
                               int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                               int64_t sw, int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_maxpool2d_backward_f64(double *dx, const double *dy, const int32_t *argmax, int64_t n,
                               int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                               int64_t sw, int64_t pt, int64_t pl, int64_t oh, int64_t ow);
/* the gradient of max_pool2d(relu(z)) w.r.t. z from the pooled output y: backward's scatter of dy
 * where y > 0, zeros elsewhere */
void tk_maxpool2d_backward_relu_f32(float *dx, const float *dy, const float *y,
                                    const int32_t *argmax, int64_t n, int64_t h, int64_t w,
                                    int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                    int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_maxpool2d_backward_relu_f64(double *dx, const double *dy, const double *y,
                                    const int32_t *argmax, int64_t n, int64_t h, int64_t w,
                                    int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                                    int64_t pt, int64_t pl, int64_t oh, int64_t ow);
/* gradient of max-pool backward w.r.t. dy: ddy = ddx gathered at argmax */
void tk_maxpool2d_gather_f32(float *ddy, const float *ddx, const int32_t *argmax, int64_t n,
                             int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow);
void tk_maxpool2d_gather_f64(double *ddy, const double *ddx, const int32_t *argmax, int64_t n,
                             int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow);
void tk_avgpool2d_forward_f32(float *y, const float *x, int64_t n, int64_t h, int64_t w, int64_t c,
                              int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt,
                              int64_t pl, int64_t oh, int64_t ow);
void tk_avgpool2d_forward_f64(double *y, const double *x, int64_t n, int64_t h, int64_t w,
                              int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                              int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_avgpool2d_backward_f32(float *dx, const float *dy, int64_t n, int64_t h, int64_t w,
                               int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               int64_t pt, int64_t pl, int64_t oh, int64_t ow);
void tk_avgpool2d_backward_f64(double *dx, const double *dy, int64_t n, int64_t h, int64_t w,
                               int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               int64_t pt, int64_t pl, int64_t oh, int64_t ow);

/* ---- softmax / log-sum-exp ---- */
/* Row-wise over the last axis of a contiguous [rows, cols] array; lse, dy of logsumexp: [rows].
 * One pass per row (running max and sum); our SIMD exp for float32. */
void tk_logsumexp_forward_f32(float *out, const float *x, int64_t rows, int64_t cols);
void tk_logsumexp_forward_f64(double *out, const double *x, int64_t rows, int64_t cols);
void tk_logsumexp_backward_f32(float *dx, const float *dy, const float *x, const float *lse,
                               int64_t rows, int64_t cols);
void tk_logsumexp_backward_f64(double *dx, const double *dy, const double *x, const double *lse,
                               int64_t rows, int64_t cols);
void tk_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols);
void tk_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols);
void tk_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols);
void tk_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                             int64_t cols);
void tk_log_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols);
void tk_log_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols);
void tk_log_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows,
                                 int64_t cols);
void tk_log_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                                 int64_t cols);

/* ---- cross-entropy ---- */
/* Fused softmax cross-entropy: per-row loss (unweighted) and dlogits = d(sum_r row_scale[r] *
 * loss[r]) / dlogits in one pass; backward is grad * dlogits, so there is no backward kernel.
 * logits, dlogits, target: [rows, cols]; loss, labels, row_scale: [rows]; labels in [0, cols). */
void tk_xent_sparse_forward_f32(float *loss, float *dlogits, const float *logits,
                                const int64_t *labels, const float *row_scale, int64_t rows,
                                int64_t cols, float smoothing);
void tk_xent_sparse_forward_f64(double *loss, double *dlogits, const double *logits,
                                const int64_t *labels, const double *row_scale, int64_t rows,
                                int64_t cols, double smoothing);
void tk_xent_dense_forward_f32(float *loss, float *dlogits, const float *logits,
                               const float *target, const float *row_scale, int64_t rows,
                               int64_t cols, float smoothing);
void tk_xent_dense_forward_f64(double *loss, double *dlogits, const double *logits,
                               const double *target, const double *row_scale, int64_t rows,
                               int64_t cols, double smoothing);

/* ---- optimizers ---- */
/* Fused in-place updates, one pass per parameter tensor (Keras 3 rules; see tinygrad_ko/optim.py).
 * Every update first forms g = clip(grad * grad_scale, -clipvalue, clipvalue) (clipvalue = +inf
 * disables clipping; grad_scale carries clipnorm / global_clipnorm) and applies the decoupled
 * weight decay param -= param * decay (decay = learning_rate * weight_decay, 0 = none).
 * param, the state buffers and grad: [n], same dtype, contiguous, non-overlapping.
 * SGD:     velocity (NULL when momentum == 0): v = momentum*v - lr*g; p += v, or with nesterov
 *          p += momentum*v - lr*g; without velocity p -= lr*g.
 * Adam:    m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); v_hat = max(v_hat, v) when v_hat
 *          is not NULL (AMSGrad); p -= alpha*m / (sqrt(v or v_hat) + epsilon), where the caller
 *          passes alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t).
 * RMSprop: v = rho*v + (1 - rho) g^2; average_grad (NULL unless centered) a = rho*a + (1 - rho) g;
 *          inc = lr*g / sqrt(v [- a^2] + epsilon); momentum_buf (NULL when momentum == 0)
 *          mb = momentum*mb + inc, p -= mb; else p -= inc. */
void tk_sgd_update_f32(float *param, float *velocity, const float *grad, int64_t n,
                       double learning_rate, double momentum, int nesterov,
                       double grad_scale, double clipvalue, double decay);
void tk_sgd_update_f64(double *param, double *velocity, const double *grad, int64_t n,
                       double learning_rate, double momentum, int nesterov,
                       double grad_scale, double clipvalue, double decay);
void tk_adam_update_f32(float *param, float *m, float *v, float *v_hat, const float *grad, int64_t n,
                        double alpha, double beta_1, double beta_2, double epsilon,
                        double grad_scale, double clipvalue, double decay);
void tk_adam_update_f64(double *param, double *m, double *v, double *v_hat, const double *grad,
                        int64_t n, double alpha, double beta_1, double beta_2, double epsilon,
                        double grad_scale, double clipvalue, double decay);
void tk_rmsprop_update_f32(float *param, float *velocity, float *momentum_buf, float *average_grad,
                           const float *grad, int64_t n, double learning_rate, double rho,
                           double momentum, double epsilon, double grad_scale, double clipvalue,
                           double decay);
void tk_rmsprop_update_f64(double *param, double *velocity, double *momentum_buf,
                           double *average_grad, const double *grad, int64_t n,
                           double learning_rate, double rho, double momentum, double epsilon,
                           double grad_scale, double clipvalue, double decay);
/* Adam on `count` tensors in one call: tensor i is param[i], m[i], v[i], v_hat[i] (v_hat NULL
 * unless AMSGrad) and grad[i], of n[i] elements, with its own grad_scale[i] and decay[i]; the
 * rest as tk_adam_update. One OpenMP region shares all tensors' blocks between the threads (small
 * tensors no longer run one by one on the calling thread). No two tensors may overlap. */
void tk_adam_update_many_f32(float *const *param, float *const *m, float *const *v,
                             float *const *v_hat, const float *const *grad, const int64_t *n,
                             const double *grad_scale, const double *decay, int64_t count,
                             double alpha, double beta_1, double beta_2, double epsilon,
                             double clipvalue);
void tk_adam_update_many_f64(double *const *param, double *const *m, double *const *v,
                             double *const *v_hat, const double *const *grad, const int64_t *n,
                             const double *grad_scale, const double *decay, int64_t count,
                             double alpha, double beta_1, double beta_2, double epsilon,
                             double clipvalue);
/* sum(x^2) in double (for clipnorm / global_clipnorm). workspace: tk_sum_squares_workspace_size(n)
 * bytes of per-block partial sums, so the result does not depend on the thread count. */
int64_t tk_sum_squares_workspace_size(int64_t n);
double tk_sum_squares_f32(double *workspace, const float *x, int64_t n);
double tk_sum_squares_f64(double *workspace, const double *x, int64_t n);

/* ---- elementwise ---- */
/* ReLU, NumPy semantics bit for bit: forward out = max(x, 0) with NaN propagated and -0.0 -> +0.0;
 * backward dx = dy * (x > 0) (a product: dy = inf/NaN where x <= 0 gives NaN, as in NumPy).
 * out, dx, dy, x: [n], contiguous; out/dx may alias neither input. */
void tk_relu_forward_f32(float *out, const float *x, int64_t n);
void tk_relu_forward_f64(double *out, const double *x, int64_t n);
void tk_relu_backward_f32(float *dx, const float *dy, const float *x, int64_t n);
void tk_relu_backward_f64(double *dx, const double *dy, const double *x, int64_t n);

#endif
