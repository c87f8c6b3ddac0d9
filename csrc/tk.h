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
   over the batch). Strides in elements. */
void tk_gemm_batched_f32(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, int64_t stride_a, const float *B,
                         int64_t ldb, int64_t stride_b, float beta, float *C, int64_t ldc,
                         int64_t stride_c, void *workspace);
void tk_gemm_batched_f64(int trans_a, int trans_b, int64_t batch, int64_t M, int64_t N, int64_t K,
                         double alpha, const double *A, int64_t lda, int64_t stride_a,
                         const double *B, int64_t ldb, int64_t stride_b, double beta, double *C,
                         int64_t ldc, int64_t stride_c, void *workspace);
/* Benchmark helper: runs iters rounds of independent FMA chains on the calling thread with the
   active ISA's widest vectors; returns the FLOP/s it achieved (the machine's per-core peak). */
double tk_peak_flops_probe_f32(int64_t iters);

/* ---- conv2d ---- */

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
                               int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow);
void tk_maxpool2d_backward_f64(double *dx, const double *dy, const int32_t *argmax, int64_t n,
                               int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow);
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

#endif
