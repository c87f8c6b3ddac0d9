#!/usr/bin/env bash
# The project's main job in one command: sets everything up (package + C core, dev extras, torch,
# Debian's Fashion-MNIST) and trains the study notes' CNN on Fashion-MNIST (3 epochs by default).
# Extra arguments go to examples/train_cnn.py, e.g. `bash scripts/train.sh --epochs 10`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python examples/train_cnn.py "$@"
