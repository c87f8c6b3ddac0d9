/* conv2d_winograd_ref.c: the Winograd kernels (conv2d_winograd_body.h) in portable C with 16-byte
 * vectors; always built, the fallback. */
#include "conv2d_winograd.h"

#define WB_ISA ref
#define WB_VBYTES 16
#define WB_ROWS 4
#define WB_VECS 2
#define WB_WG_ROWS 4
#define WB_WG_VECS 2
#include "conv2d_winograd_dtypes.h"
