#!/usr/bin/env bash
# Trains the bundled default model (models/default) from the shared data: the one training command,
# kept here so that the README, the model card and scripts/fit_reranker.sh use the same flags.
# Usage: scripts/train_default_model.sh [DATA_DIR [OUT_DIR]]   (defaults: ../shared/data, models/default)
# Deterministic (seed 42); about 1.5 minutes on 2 cores. Needs a built build/tools/claimmatch.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
out="${2:-models/default}"
exec build/tools/claimmatch train --out "$out" --data "$data" --preset shared \
  --lowercase --vocab-size 32000 --dim 512 --epochs 3 --subtitle \
  --in-domain-weight 16 --stsb-weight 10 --seed 42 --threads 2 --keep-best --fp16
