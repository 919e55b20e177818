#!/usr/bin/env bash
# Trains the bundled default model (models/default) from the shared data: the one training command,
# kept here so that the README, the model card and scripts/fit_reranker.sh use the same flags.
# Usage: scripts/train_default_model.sh [DATA_DIR [OUT_DIR [EXTRA FLAGS...]]]
#        (defaults: ../shared/data, models/default; e.g. --tokenizer FILE reuses a tokenizer)
# Deterministic (seed 42) given the tokenizer; about 30 minutes wall on a busy 2-core VM, most of
# it sentencepiece training (about 3 minutes with --tokenizer). Needs build/tools/claimmatch.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
out="${2:-models/default}"
shift $(($# < 2 ? $# : 2))
exec build/tools/claimmatch train --out "$out" --data "$data" --preset shared \
  --lowercase --vocab-size 48000 --dim 400 --epochs 3 --subtitle \
  --in-domain-weight 16 --stsb-weight 10 --wmt-xl-weight 0.15 --ntrex-weight 0.1 \
  --tatoeba-weight 0.5 --stsb-xl-weight 0.1 --stsb-multi-weight 1 --cosent-weight 0.05 \
  --texts-per-language 3000 --fix-english --eval-every 400 --seed 42 --threads 2 \
  --keep-best --fp16 --whiten 0.5 --remove-mean "$@"
