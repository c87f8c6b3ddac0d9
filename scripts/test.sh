#!/usr/bin/env bash
# The test command: sets everything up, runs the whole suite on the normal build, then the
# C-kernel tests again on a sanitizer build. Exits non-zero on any failure or on no tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
TINYGRAD_KO_REQUIRE_C=1 python -m pytest -q
bash scripts/sanitize.sh
