/* rows_generic.c: rows_body.h compiled as plain scalar C (V = T, one lane) for float32 (the
 * portable fallback, with libm's expf) and for float64 (every SIMD level: exp() is the accurate
 * path). */
#include <float.h>
#include <math.h>
#include "rows.h"

/* NaN in the second operand wins, as with the SIMD max instructions, so a NaN entry propagates. */
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define V_SET1(a) (a)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_HMAX(v) (v)
#define V_HSUM(v) (v)
#define VL 1
/* With one lane a row never has a partial vector: the tail operations are never reached. */
#define V_LOAD_TAIL(p, n, fill) (*(p))
#define V_STORE_TAIL(p, n, v) (*(p) = (v))
#define V_ANY_GT(a, b) ((a) > (b))
#define VI int
#define V_LANE_ROWS(cols) 0
#define V_GATHER(p, vi, n) (*(p))
#define V_LSE(m, s) ((m) == T_INF ? (m) : (m) + LOG_S(s))

#define T float
#define V float
#define T_BIG FLT_MAX
#define T_INF INFINITY
#define LOG_S logf
#define V_EXP expf
#define V_EXP_SUM expf
#define ROWS_SUFFIX generic_f32
#include "rows_body.h"
#undef T
#undef V
#undef T_BIG
#undef LOG_S
#undef V_EXP
#undef V_EXP_SUM
#undef ROWS_SUFFIX

#define T double
#define V double
#define T_BIG DBL_MAX
#define LOG_S log
#define V_EXP exp
#define V_EXP_SUM exp
#define ROWS_SUFFIX generic_f64
#include "rows_body.h"
