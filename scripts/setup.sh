#!/usr/bin/env bash
# Installs everything tinygrad_ko's tests, benchmarks and examples need, on a fresh machine:
# the package itself (compiling the C core), its dev extras, PyTorch as a test oracle, and the
# Fashion-MNIST data set from Debian. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet -e ".[dev]"
# The CPU build of torch 2.13.0 is the only one to ask for: other specs pull GBs of CUDA packages.
python -c "import torch" 2>/dev/null || python -m pip install --quiet "torch==2.13.0" \
    || echo "setup: torch unavailable; its oracle tests and benchmark columns will be skipped" >&2

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
    as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq dataset-fashion-mnist \
        || echo "setup: could not install dataset-fashion-mnist; see README (Data)" >&2
fi
