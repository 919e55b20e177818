#!/usr/bin/env bash
# In-process A/B of the BM25 search (engine/bm25_index.cc): compiles the index, with the two files
# it needs (engine/text_analysis.cc, embeddings/file_util.cc), once from git revision $AB_BASE
# (side A, default HEAD) and once from the working tree (side B), each in its own namespace, into
# one program that runs the same queries through both in alternation. On a shared host a core's
# speed can change 2x within seconds (a fixed loop timed here varied from 0.095 to 0.22 s), which
# makes binaries run one after the other hard to compare below ~10%; alternating query by query
# in one process puts the drift on both sides alike. Functions and loops are aligned to 64 bytes
# on both sides: without that, where the linker happened to place a side's hot loops moved it by
# up to 25% (the same source on both sides read B/A 0.72-0.91 linked one way, 0.98-1.00 the
# other); with it, the same source reads 0.985-0.996 in either order. Effects under ~2% are
# noise. Also reports results that differ (hits hashed per query, or per 64-query batch); the
# environment variable AB_LOAD=BA loads side B's index first.
#
# Usage: benchmarks/bm25_ab.sh INDEX_FILE QUERIES [search|batch] [ROUNDS] [K] [MAX_QUERIES]
#   INDEX_FILE   a database's bm25.cmbi (e.g. /tmp/claimmatch-bench-pol/bm25.cmbi)
#   QUERIES      one query per line, or id<TAB>text (e.g. tests/data/claims-dev/tweets-dev.tsv)
#   search       Bm25Index::Search, top K, one query at a time (lookups; default)
#   batch        SearchAnalyzedBatch, 64 queries per call (what `score` runs)
#   defaults: 5 rounds, K 60, the first 4,096 queries
# Environment: AB_BASE (revision for side A), AB_OUT (build directory, default
# /tmp/claimmatch-bm25-ab). Needs what the project builds with (g++, Abseil, ICU).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 2 ]] || { sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//' | head -n -1; exit 2; }
base=${AB_BASE:-HEAD}
out=${AB_OUT:-/tmp/claimmatch-bm25-ab}
rm -rf "$out" && mkdir -p "$out/A"
git archive "$base" engine embeddings | tar -x -C "$out/A"
flags=(-O3 -march=native -DNDEBUG -std=c++17 -w -falign-functions=64 -falign-loops=64)
objects=()
for side in A B; do
  root=$([[ $side == A ]] && echo "$out/A" || pwd)
  for f in engine/bm25_index.cc engine/text_analysis.cc embeddings/file_util.cc \
           benchmarks/bm25_ab/side.cc; do
    src=$root/$f
    [[ $f == benchmarks/* ]] && src=$PWD/$f
    obj=$out/${side}_$(basename "$f" .cc).o
    g++ "${flags[@]}" -I"$root" -Dclaimmatch="claimmatch_ab_$side" -DCLAIMMATCH_AB_SIDE="$side" \
      -c "$src" -o "$obj" &
    objects+=("$obj")
  done
  wait
done
g++ "${flags[@]}" benchmarks/bm25_ab/main.cc "${objects[@]}" -o "$out/bm25_ab" \
  $(pkg-config --libs absl_statusor absl_strings absl_str_format absl_synchronization \
    absl_flat_hash_map icu-i18n icu-uc) -lpthread
echo "A: $(git rev-parse --short "$base") ($base), B: the working tree" >&2
"$out/bm25_ab" "$@"
