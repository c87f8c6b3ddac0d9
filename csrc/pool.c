/* pool.c: 2-D max and average pooling over NHWC, forward and backward, float32 and float64. The
 * bodies live in pool_body.h (one source for both dtypes); see it for the loop structure. Max
 * pooling saves the argmax (row-major offset iy * w + ix inside the image, int32: the caller checks
 * h * w fits) so backward is a scatter and its own gradient a gather. Backward kernels overwrite
 * dx; the only accumulation is between overlapping windows, inside the image a thread owns. */
#include <string.h>
#include "tk_internal.h"

#define T float
#define SFX f32
#include "pool_body.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool_body.h"
