/* softmax.c: row-wise log-sum-exp, softmax and log-softmax over the last axis of a contiguous
 * [rows, cols] array, forward and backward, float32 and float64. Each entry point forwards to the
 * row kernels of rows_body.h for the active SIMD level (float64 always takes the scalar body:
 * libm's exp is the accurate path there). See rows_body.h for the one-pass "online" algorithm. */
#include "rows.h"

/* out: [rows]   x: [rows, cols] */
void tk_logsumexp_forward_f32(float *out, const float *x, int64_t rows, int64_t cols) {
    TK_ROWS_F32(logsumexp, out, x, rows, cols);
}
void tk_logsumexp_forward_f64(double *out, const double *x, int64_t rows, int64_t cols) {
    tk_rows_logsumexp_generic_f64(out, x, rows, cols);
}

/* dx, x: [rows, cols]   dy, lse: [rows];  dx = dy * softmax(x) */
void tk_logsumexp_backward_f32(float *dx, const float *dy, const float *x, const float *lse,
                               int64_t rows, int64_t cols) {
    TK_ROWS_F32(logsumexp_backward, dx, dy, x, lse, rows, cols);
}
void tk_logsumexp_backward_f64(double *dx, const double *dy, const double *x, const double *lse,
                               int64_t rows, int64_t cols) {
    tk_rows_logsumexp_backward_generic_f64(dx, dy, x, lse, rows, cols);
}

/* y, x: [rows, cols] */
void tk_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols) {
    TK_ROWS_F32(softmax, y, x, rows, cols, 0);
}
void tk_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols) {
    tk_rows_softmax_generic_f64(y, x, rows, cols, 0);
}

/* dx, dy, y: [rows, cols] with y = softmax(x);  dx = y * (dy - sum(dy * y)) */
void tk_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows,
                             int64_t cols) {
    TK_ROWS_F32(softmax_backward, dx, dy, y, rows, cols, 0);
}
void tk_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                             int64_t cols) {
    tk_rows_softmax_backward_generic_f64(dx, dy, y, rows, cols, 0);
}

/* y, x: [rows, cols] */
void tk_log_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols) {
    TK_ROWS_F32(softmax, y, x, rows, cols, 1);
}
void tk_log_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols) {
    tk_rows_softmax_generic_f64(y, x, rows, cols, 1);
}

/* dx, dy, y: [rows, cols] with y = log_softmax(x);  dx = dy - exp(y) * sum(dy) */
void tk_log_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows,
                                 int64_t cols) {
    TK_ROWS_F32(softmax_backward, dx, dy, y, rows, cols, 1);
}
void tk_log_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                                 int64_t cols) {
    tk_rows_softmax_backward_generic_f64(dx, dy, y, rows, cols, 1);
}
