#!/usr/bin/env bash
# IVF-PQ against flat on the real claims (benchmarks/README.md, "Scale"): ingests the Snopes +
# PolitiFact claims of claims-dev into a flat and an ivfpq database, ranks the tweets-train +
# debates-train queries densely (top 10) in both, and prints recall@10 (mean overlap of the top 10s),
# dense MAP@5 of each and the vector file's bytes per claim.
# Usage: benchmarks/ivfpq_recall.sh [DATA_DIR [WORK_DIR]]   (defaults: ../shared/data, a temp dir)
# Extra ingest options for the ivfpq database come from $IVFPQ_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
data="$(cd "${1:-../shared/data}" && pwd)/claims-dev"
work="${2:-$(mktemp -d)}"
bin="${CLAIMMATCH_BIN:-build/tools/claimmatch}"  # or another build, to compare
mkdir -p "$work"
cat "$data/tweets-train.tsv" "$data/debates-train.tsv" > "$work/q.tsv"
cat "$data/tweets-train.qrels" "$data/debates-train.qrels" > "$work/q.qrels"
for index in flat ivfpq; do
  rm -rf "$work/$index"
  # shellcheck disable=SC2086
  "$bin" ingest -q --db "$work/$index" --index "$index" ${IVFPQ_OPTS:-} \
    "$data/snopes-claims.jsonl" "$data/politifact-claims.jsonl"
  "$bin" eval --db "$work/$index" --queries "$work/q.tsv" --qrels "$work/q.qrels" --mode dense \
    -k 10 --run-out "$work/$index.run" --json > "$work/$index.json"
done
"$bin" info --db "$work/ivfpq" --json > "$work/info.json"
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def top(path):
    runs = {}
    for line in open(path):
        q, _, d, rank, _, _ = line.split()
        runs.setdefault(q, []).append((int(rank), d))
    return {q: {d for _, d in sorted(v)[:10]} for q, v in runs.items()}
flat, ivf = top(f"{work}/flat.run"), top(f"{work}/ivfpq.run")
recall = sum(len(flat[q] & ivf.get(q, set())) / max(1, len(flat[q])) for q in flat) / len(flat)
m = {i: json.load(open(f"{work}/{i}.json")) for i in ("flat", "ivfpq")}
info = json.load(open(f"{work}/info.json"))
claims = info.get("claims", 0)
size = os.path.getsize(f"{work}/ivfpq/vectors.cmvi")
print(f"queries {len(flat)}  claims {claims}")
print(f"recall@10 vs flat {recall:.3f}  dense MAP@5 flat {m['flat']['MAP@5']:.4f} "
      f"ivfpq {m['ivfpq']['MAP@5']:.4f}  vectors.cmvi {size / max(1, claims):.0f} B/claim")
PY
