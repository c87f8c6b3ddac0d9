"""Builds tinygrad_ko._tk: the cdef is read from csrc/tk.h, the sources are every csrc/*.c.

Build choices are environment variables, read by the small functions below (tests call them):
  TINYGRAD_KO_PORTABLE=1   generic x86-64 binary (no -march=native); SIMD kernels are still picked at load
  TINYGRAD_KO_OPENMP=0     no OpenMP: every kernel runs on the calling thread
  TINYGRAD_KO_SANITIZE=1   AddressSanitizer + UndefinedBehaviorSanitizer build, for the kernel tests
"""
import os
import glob

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _flag(env, name):
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def cdef_from_header(text):
    """cffi's cdef rejects include guards and most #defines: drop every preprocessor line."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def compile_args(env=os.environ):
    args = ["-std=gnu11", "-Wall", "-Wno-unknown-pragmas", "-fno-math-errno"]
    args += ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=undefined"] if _flag(env, "TINYGRAD_KO_SANITIZE") else ["-O3"]
    if not _flag(env, "TINYGRAD_KO_PORTABLE"):
        args += ["-march=native", "-mtune=native"]
    if env.get("TINYGRAD_KO_OPENMP", "1").strip() != "0":
        args.append("-fopenmp")
    return args


def link_args(env=os.environ):
    args = []
    if _flag(env, "TINYGRAD_KO_SANITIZE"):
        args.append("-fsanitize=address,undefined")
    if env.get("TINYGRAD_KO_OPENMP", "1").strip() != "0":
        args.append("-fopenmp")
    return args


def _relative(path):
    # setuptools wants sources relative to the project root, where pip runs this script.
    return os.path.relpath(path, os.getcwd())


with open(os.path.join(HERE, "tk.h")) as header:
    _cdef = cdef_from_header(header.read())

_flags = " ".join(compile_args())
ffibuilder = FFI()
ffibuilder.cdef(_cdef + "\nconst char *tk_build_flags(void);\n")
ffibuilder.set_source(
    "tinygrad_ko._tk",
    '#include "tk.h"\nconst char *tk_build_flags(void) { return "%s"; }\n' % _flags,
    sources=[_relative(p) for p in sorted(glob.glob(os.path.join(HERE, "*.c")))],
    include_dirs=[_relative(HERE)],
    # Kernel bodies live in headers compiled per ISA: editing one must rebuild the module.
    depends=[_relative(p) for p in sorted(glob.glob(os.path.join(HERE, "*.h")))],
    extra_compile_args=compile_args(),
    extra_link_args=link_args(),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
