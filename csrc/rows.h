/* rows.h: the per-ISA row kernels of rows_body.h, dispatched on tk_simd_active by softmax.c and
 * xent.c. Private to csrc/ (not part of the cffi ABI). */
#ifndef TK_ROWS_H
#define TK_ROWS_H
#include "tk_internal.h"

#define TK_ROWS_DECLARE(T, SFX)                                                                    \
    void tk_rows_logsumexp_##SFX(T *out, const T *x, int64_t rows, int64_t cols);                \
    void tk_rows_softmax_##SFX(T *y, const T *x, int64_t rows, int64_t cols, int log_space);     \
    void tk_rows_logsumexp_backward_##SFX(T *dx, const T *dy, const T *x, const T *lse,          \
                                          int64_t rows, int64_t cols);                           \
    void tk_rows_softmax_backward_##SFX(T *dx, const T *dy, const T *y, int64_t rows,            \
                                        int64_t cols, int log_space);                            \
    void tk_rows_xent_sparse_##SFX(T *loss, T *dlogits, const T *logits, const int64_t *labels,  \
                                   const T *row_scale, int64_t rows, int64_t cols, T smoothing); \
    void tk_rows_xent_dense_##SFX(T *loss, T *dlogits, const T *logits, const T *target,         \
                                  const T *row_scale, int64_t rows, int64_t cols, T smoothing);

TK_ROWS_DECLARE(float, avx512)
TK_ROWS_DECLARE(float, avx2)
TK_ROWS_DECLARE(float, generic_f32)
TK_ROWS_DECLARE(double, generic_f64)

/* Calls the f32 row kernel `name` compiled for the active SIMD level. */
#if defined(__x86_64__)
#define TK_ROWS_F32(name, ...)                                                      \
    do {                                                                            \
        if (tk_simd_active == TK_SIMD_AVX512) tk_rows_##name##_avx512(__VA_ARGS__); \
        else if (tk_simd_active == TK_SIMD_AVX2) tk_rows_##name##_avx2(__VA_ARGS__); \
        else tk_rows_##name##_generic_f32(__VA_ARGS__);                             \
    } while (0)
#else
#define TK_ROWS_F32(name, ...) tk_rows_##name##_generic_f32(__VA_ARGS__)
#endif

#endif
