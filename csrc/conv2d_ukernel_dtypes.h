/* conv2d_ukernel_dtypes.h: conv2d_ukernel.h instantiated for float32 and float64. Included by each
 * per-ISA file after it has set the target and CK_ISA / the tile macros. */
#define CK_T float
#define CK_SUF f32
#include "conv2d_ukernel.h"
#undef CK_T
#undef CK_SUF

#define CK_T double
#define CK_SUF f64
#include "conv2d_ukernel.h"
