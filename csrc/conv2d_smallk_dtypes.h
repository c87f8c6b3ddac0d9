/* conv2d_smallk_dtypes.h: conv2d_smallk_body.h instantiated for float32 and float64. Included by
 * each per-ISA file after it has set the target, SK_ISA, SK_VBYTES and SK_ACC. */
#define SK_T float
#define SK_SUF f32
#include "conv2d_smallk_body.h"
#undef SK_T
#undef SK_SUF

#define SK_T double
#define SK_SUF f64
#include "conv2d_smallk_body.h"
#undef SK_T
#undef SK_SUF
