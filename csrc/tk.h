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

/* ---- conv2d ---- */

/* ---- pooling ---- */

/* ---- softmax / log-sum-exp ---- */

/* ---- cross-entropy ---- */

/* ---- optimizers ---- */

#endif
