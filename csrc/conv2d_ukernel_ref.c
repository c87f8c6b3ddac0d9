/* conv2d_ukernel_ref.c: the conv2d tile kernels in portable C with 16-byte vectors (SSE2 on x86-64,
 * whatever the target has elsewhere); always built, the fallback.
 * The body is conv2d_ukernel.h, instantiated per dtype by conv2d_ukernel_dtypes.h. */
#include "conv2d_internal.h"

#define CK_ISA ref
#define CK_VREGS 16
#define CK_VBYTES 16
#define CK_IG_ROWS 4
#define CK_IG_VECS 2
#define CK_WG_ROWS 4
#define CK_WG_VECS 2
#define CK_WG_KC_BYTES 16384
#define CK_KC_BYTES 16384

#include "conv2d_ukernel_dtypes.h"
