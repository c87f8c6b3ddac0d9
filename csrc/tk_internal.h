/* tk_internal.h: private helpers shared by the kernel files; never seen by cffi. */
#ifndef TK_INTERNAL_H
#define TK_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "tk.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define TK_RESTRICT __restrict__
#define TK_CACHE_LINE 64
#define TK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define TK_ROUND_UP(x, m) ((((x) + (m) - 1) / (m)) * (m))

enum { TK_SIMD_GENERIC = 0, TK_SIMD_AVX2 = 1, TK_SIMD_AVX512 = 2 };

/* Set once at load (and by tk_select_simd); kernels read it to pick their SIMD body. */
extern int tk_simd_active;
/* The thread count kernels use in `num_threads(...)` clauses. */
extern int tk_threads;

#endif
