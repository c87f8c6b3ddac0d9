#!/usr/bin/env bash
# Builds the C core with AddressSanitizer + UBSan in a scratch copy of the tree and runs the kernel
# tests against it, so every kernel is exercised under the sanitizers. Needs gcc's libasan.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch"
cd "$scratch"
TINYGRAD_KO_SANITIZE=1 python setup.py -q build_ext --inplace >build.log 2>&1 || { cat build.log; exit 1; }
# Python itself is not built with ASan: preload the runtime, and skip leak checks (the interpreter
# keeps its arenas to exit). torch's own libraries do not run under ASan, so the oracle is off here.
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
TINYGRAD_KO_NO_TORCH=1 TINYGRAD_KO_REQUIRE_C=1 \
    python -m pytest -q -p no:cacheprovider -m kernel tests
