/* conv2d_ukernel_avx512.c: the conv2d tile kernels for AVX-512: 7 x 4 and 6 x 4 tiles, 28 and 24 of
 * the 32 zmm registers (7 rows measured 2-6% faster than 6; with 4 operand vectors and a broadcast
 * that is 33 registers, so the 4th operand vector is an FMA memory operand). 7 rows divide
 * 14 * 14 and 28 * 28 pixels. The weight gradient stays at 6 rows: 7 (no spill either) measured
 * 4% slower on K = 288, which 7 rows do not divide. The body is conv2d_ukernel.h, instantiated per
 * dtype by conv2d_ukernel_dtypes.h. */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "conv2d_internal.h"

#define CK_ISA avx512
#define CK_VREGS 32
#define CK_VBYTES 64
#define CK_IG_ROWS 7
#define CK_IG_VECS 4
#define CK_WG_ROWS 6
#define CK_WG_VECS 4
#define CK_WG_KC_BYTES 32768 /* measured 2% faster weight gradient than 36 KiB */
#define CK_KC_BYTES 36864 /* two blocks of 3x3x32x64: forward measured 2-5% faster than */
                          /* 32 KiB (three blocks) and than no blocking */

/* acc += a * the vector at bp, the vector as the FMA's memory operand: GCC would load it into a
 * register (there is none left at 7 x 4) and spill an accumulator instead. The operand is one of
 * the tile's 4 vectors, an L1 hit (an embedded-broadcast source operand instead would need 28
 * loads per k step: the two load ports then bound the loop, measured 17% slower). */
#define CK_MADD_MEM(acc, bp, a)                                                                   \
    do {                                                                                          \
        if (sizeof(*(bp)) == 4)                                                                   \
            __asm__("vfmadd231ps %1, %2, %0" : "+v"(acc) : "m"(*(const CK_VEC *)(bp)), "v"(a));   \
        else                                                                                      \
            __asm__("vfmadd231pd %1, %2, %0" : "+v"(acc) : "m"(*(const CK_VEC *)(bp)), "v"(a));   \
    } while (0)

#include "conv2d_ukernel_dtypes.h"
