/* conv2d_ukernel_avx512.c: the conv2d tile kernels for AVX-512: 7 x 4 and 6 x 4 tiles, 28 and 24 of
 * the 32 zmm registers (7 rows measured 2-6% faster than 6; the broadcasts then come straight
 * from memory). The body is conv2d_ukernel.h, instantiated per dtype by conv2d_ukernel_dtypes.h.
 */
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#include "conv2d_internal.h"

#define CK_ISA avx512
#define CK_VREGS 32
#define CK_VBYTES 64
#define CK_IG_ROWS 7
#define CK_IG_VECS 4
#define CK_WG_ROWS 6
#define CK_WG_VECS 4
#define CK_KC_BYTES 36864 /* measured: 4-6% faster forward than 16 KiB, 8 KiB slower */

/* acc += a * the vector at bp, the vector as the FMA's memory operand: GCC would load it into a
 * register (there is none left at 7 x 4) and spill an accumulator instead. */
#define CK_MADD_MEM(acc, bp, a)                                                                   \
    do {                                                                                          \
        if (sizeof(*(bp)) == 4)                                                                   \
            __asm__("vfmadd231ps %1, %2, %0" : "+v"(acc) : "m"(*(const CK_VEC *)(bp)), "v"(a));   \
        else                                                                                      \
            __asm__("vfmadd231pd %1, %2, %0" : "+v"(acc) : "m"(*(const CK_VEC *)(bp)), "v"(a));   \
    } while (0)

#include "conv2d_ukernel_dtypes.h"
