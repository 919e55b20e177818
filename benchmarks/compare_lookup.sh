#!/bin/bash
# Lookup latency of two or more builds, measured in the same minutes: runs each match_benchmark
# binary in turn, ROUNDS times, against the claim database $CLAIMMATCH_BENCH_DB, and prints per
# binary and benchmark the median and best p50 and the median p99 over the rounds. Absolute
# times on a shared machine drift from minute to minute; alternating the binaries lets their
# ratio be quoted.
#
#   CLAIMMATCH_BENCH_DB=db-1m ROUNDS=5 benchmarks/compare_lookup.sh \
#       main-build/benchmarks/match_benchmark build/benchmarks/match_benchmark
#
# FILTER (default BM_Lookup/2/1: hybrid, parallel channels, as `claimmatch lookup` runs) selects
# the benchmarks.
set -euo pipefail
if [[ $# -lt 1 || -z ${CLAIMMATCH_BENCH_DB:-} ]]; then
  echo "usage: CLAIMMATCH_BENCH_DB=DIR [ROUNDS=5] [FILTER=...] $0 MATCH_BENCHMARK..." >&2
  exit 2
fi
rounds=${ROUNDS:-5}
filter=${FILTER:-BM_Lookup/2/1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; ++r)); do
  for b in "$@"; do
    OMP_WAIT_POLICY=passive "$b" --benchmark_filter="$filter" 2>/dev/null |
      grep -E '^BM_' | sed "s|^|$b |" >> "$out"
  done
done
python3 - "$out" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    binary, name = line.split()[:2]
    p50 = float(re.search(r"p50_ms=([0-9.]+)", line).group(1))
    p99 = float(re.search(r"p99_ms=([0-9.]+)", line).group(1))
    runs.setdefault((name, binary), []).append((p50, p99))
print("| benchmark | binary | p50 median | p50 best | p99 median | runs |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for (name, binary), v in runs.items():
    p50s = [x[0] for x in v]
    print(f"| {name} | {binary} | {statistics.median(p50s):.2f} ms | {min(p50s):.2f} ms "
          f"| {statistics.median(x[1] for x in v):.2f} ms | {len(v)} |")
PY
