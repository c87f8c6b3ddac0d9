/* conv2d_winograd_dtypes.h: conv2d_winograd_body.h instantiated for float32 and float64. Included
 * by each per-ISA file after it has set the target, WB_ISA and the tile macros. */
#define WB_T float
#define WB_SUF f32
#include "conv2d_winograd_body.h"
#undef WB_T
#undef WB_SUF

#define WB_T double
#define WB_SUF f64
#include "conv2d_winograd_body.h"
#undef WB_T
#undef WB_SUF
