/* xent.c: fused softmax cross-entropy. One call computes each row's loss AND the gradient of the
 * (weighted, reduced) loss w.r.t. the logits, in the same pass over the row (rows_body.h), so
 * backward is a single multiply by the incoming gradient and never re-reads the logits.
 * row_scale[r] carries the sample weight times the reduction's 1/denominator (0 for an ignored
 * class); the loss itself is returned unweighted, per row. */
#include "rows.h"

/* loss: [rows]   dlogits, logits: [rows, cols]   labels, row_scale: [rows]; labels in [0, cols) */
void tk_xent_sparse_forward_f32(float *loss, float *dlogits, const float *logits,
                                const int64_t *labels, const float *row_scale, int64_t rows,
                                int64_t cols, float smoothing) {
    TK_ROWS_F32(xent_sparse, loss, dlogits, logits, labels, row_scale, rows, cols, smoothing);
}
void tk_xent_sparse_forward_f64(double *loss, double *dlogits, const double *logits,
                                const int64_t *labels, const double *row_scale, int64_t rows,
                                int64_t cols, double smoothing) {
    tk_rows_xent_sparse_generic_f64(loss, dlogits, logits, labels, row_scale, rows, cols,
                                    smoothing);
}

/* loss: [rows]   dlogits, logits, target: [rows, cols]   row_scale: [rows] */
void tk_xent_dense_forward_f32(float *loss, float *dlogits, const float *logits,
                               const float *target, const float *row_scale, int64_t rows,
                               int64_t cols, float smoothing) {
    TK_ROWS_F32(xent_dense, loss, dlogits, logits, target, row_scale, rows, cols, smoothing);
}
void tk_xent_dense_forward_f64(double *loss, double *dlogits, const double *logits,
                               const double *target, const double *row_scale, int64_t rows,
                               int64_t cols, double smoothing) {
    tk_rows_xent_dense_generic_f64(loss, dlogits, logits, target, row_scale, rows, cols, smoothing);
}
