#!/usr/bin/env bash
# Fits and calibrates the bundled re-ranker (models/default/reranker.json) with cross-fitting.
#
# The default model was trained on the CheckThat! *-train queries, so its cosine on them is
# optimistic: a re-ranker fitted there learns to over-trust the dense channel. Instead, the
# training queries are split in two halves (CRC-32 of the query id, mod 2); the default model's
# recipe (scripts/train_default_model.sh, reusing the bundled model's tokenizer) is trained twice,
# each time without one half, and each half's candidates are featurised by the model that did not
# see it. The re-ranker is fitted on those honest features, selected and calibrated on tweets-dev /
# debates-dev with the bundled model. Each training query also counts once without its date
# (`--undated-copies`), so that undated texts, most of what lookup and score see, rank well too.
# About 10 minutes on 2 cores; deterministic.
# Usage: scripts/fit_reranker.sh [DATA_DIR [WORK_DIR]]   (defaults: ../shared/data, a temp dir)
# Fold models already in WORK_DIR (foldN/model) are reused: delete them after retraining the model.
set -euo pipefail
cd "$(dirname "$0")/.."
data="$(cd "${1:-../shared/data}" && pwd)"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
bin=build/tools/claimmatch
dev="$data/claims-dev"

for f in 0 1; do
  d="$work/fold$f/data"
  rm -rf "$d" && mkdir -p "$d/claims-dev"
  ln -s "$data/train" "$d/train"
  for x in "$dev"/*; do
    case "$(basename "$x")" in *-train.*) ;; *) ln -s "$x" "$d/claims-dev/" ;; esac
  done
  # Half f trains fold f's model; the other half is fold f's held-out set.
  python3 - "$dev" "$work/fold$f" "$f" <<'PY'
import sys, zlib
dev, fold, f = sys.argv[1], sys.argv[2], int(sys.argv[3])
for s in ("tweets", "debates"):
    for ext in ("tsv", "qrels"):
        with open(f"{dev}/{s}-train.{ext}") as i, \
             open(f"{fold}/data/claims-dev/{s}-train.{ext}", "w") as kept, \
             open(f"{fold}/heldout-{s}.{ext}", "w") as held:
            for line in i:
                qid = line.split("\t" if ext == "tsv" else None)[0]
                (kept if zlib.crc32(qid.encode()) % 2 == f else held).write(line)
PY
  if [[ -f "$work/fold$f/model/model.safetensors" ]]; then
    echo "fit_reranker: reusing $work/fold$f/model"
    continue
  fi
  echo "fit_reranker: training fold $f model (without half $((1 - f)) of the training queries)"
  scripts/train_default_model.sh "$d" "$work/fold$f/model" \
    --tokenizer models/default/sentencepiece.bpe.model > "$work/fold$f/train.log" 2>&1
done

ingest() {  # DB MODEL CLAIMS
  rm -rf "$1" && "$bin" ingest -q --db "$1" --model "$2" "$3"
}
train_sets=()
for f in 0 1; do
  ingest "$work/f${f}sno" "$work/fold$f/model" "$dev/snopes-claims.jsonl"
  ingest "$work/f${f}pol" "$work/fold$f/model" "$dev/politifact-claims.jsonl"
  train_sets+=("$work/f${f}sno:$work/fold$f/heldout-tweets.tsv:$work/fold$f/heldout-tweets.qrels")
  train_sets+=("$work/f${f}pol:$work/fold$f/heldout-debates.tsv:$work/fold$f/heldout-debates.qrels")
done
ingest "$work/sno" models/default "$dev/snopes-claims.jsonl"
ingest "$work/pol" models/default "$dev/politifact-claims.jsonl"
"$bin" train reranker --out models/default/reranker.json --undated-copies --no-claim-weight 2 \
  --train "$(IFS=,; echo "${train_sets[*]}")" \
  --dev "$work/sno:$dev/tweets-dev.tsv:$dev/tweets-dev.qrels,$work/pol:$dev/debates-dev.tsv:$dev/debates-dev.qrels" \
  --provenance "train: the claims-dev tweets-train and debates-train queries, cross-fitted (each half featurised by a fold model trained without it; scripts/fit_reranker.sh); selected and calibrated on: claims-dev tweets-dev and debates-dev"
for s in "sno tweets" "pol debates"; do
  set -- $s
  echo "$2-dev hybrid: $("$bin" eval --db "$work/$1" --queries "$dev/$2-dev.tsv" --qrels "$dev/$2-dev.qrels")"
done
