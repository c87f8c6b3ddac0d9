/* runtime.c: CPU-feature detection (once, at load), the SIMD level kernels dispatch on,
 * the thread count every OpenMP region uses, and the allocator policy set at load. */
#include "tk_internal.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

int tk_simd_active = TK_SIMD_GENERIC;
int tk_threads = 1;

static int detected_level(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return TK_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return TK_SIMD_AVX2;
#endif
    return TK_SIMD_GENERIC;
}

/* A training step allocates and frees the same megabytes-large NumPy arrays every step. By default
 * glibc maps blocks above a (dynamic) threshold fresh and returns free heap top to the OS beyond
 * twice that, so each step page-faults its activations in again, page by page: 10-15% of a toy-CNN
 * step on the VM we measure on. Keep blocks up to 32 MiB (glibc's maximum) on the heap and keep up
 * to 256 MiB of freed heap top for reuse. */
static void keep_freed_memory_for_reuse(void) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

__attribute__((constructor)) static void tk_runtime_init(void) {
    tk_simd_active = detected_level();
    keep_freed_memory_for_reuse();
#ifdef _OPENMP
    tk_threads = omp_get_num_procs();
#endif
}

int tk_simd_level(void) { return tk_simd_active; }

const char *tk_simd_name(void) {
    static const char *const names[] = {"generic", "avx2", "avx512"};
    return names[tk_simd_active];
}

int tk_select_simd(int level) {
    int best = detected_level();
    tk_simd_active = level < 0 ? TK_SIMD_GENERIC : TK_MIN(level, best);
    return tk_simd_active;
}

int tk_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int tk_get_num_threads(void) { return tk_threads; }

void tk_set_num_threads(int n) { tk_threads = n < 1 ? 1 : n; }
