"""tinygrad_ko.functional (imported as F): the kernel-backed differentiable ops.

Each op is a Function whose forward calls a kernel through tinygrad_ko._backend.kernels and whose backward
is itself built from differentiable ops (often another kernel-backed Function), so gradients of gradients
work. Layouts follow Keras: images NHWC, convolution kernels HWIO (kh, kw, C_in, C_out).
"""

# ---- convolution ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- losses ----
