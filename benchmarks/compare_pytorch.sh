#!/usr/bin/env bash
# Runs claimmatch's transformer encoder and PyTorch's (Debian's python3-torch, installed here on
# demand: it is a benchmark-only dependency) at the same MiniLM-L12 shape, on the same CPU, one
# after the other, and prints sentences/s side by side.
# Usage: benchmarks/compare_pytorch.sh [BUILD_DIR]   (default build/)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
cmake --build "$build" --target encode_benchmark >/dev/null
ours=$(mktemp)
"$build/benchmarks/encode_benchmark" --benchmark_filter='BM_Transformer' \
  --benchmark_min_time=1 --benchmark_format=csv 2>/dev/null > "$ours"
theirs=$(mktemp)
for t in 1 2; do
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 benchmarks/pytorch_encoder.py \
    --threads "$t" --seconds 2 >> "$theirs"
done
python3 - "$ours" "$theirs" <<'PY'
import csv, sys
ours = {}
for row in csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith('"')):
    pass
rows = list(csv.reader(open(sys.argv[1])))
header = rows[0]
for r in rows[1:]:
    name = r[0].strip('"').split('/')
    ips = float(r[header.index('items_per_second')])
    threads = 2 if name[0] == 'BM_TransformerTwoThreads' else 1
    ours[(int(name[1]), int(name[2]), threads)] = ips
torch = {}
for line in open(sys.argv[2]):
    l, b, t, s = line.split()
    torch[(int(l), int(b), int(t))] = float(s)
print("| tokens | batch | threads | claimmatch sent/s | PyTorch sent/s | ratio |")
print("| ---: | ---: | ---: | ---: | ---: | ---: |")
for key in sorted(ours):
    if key in torch:
        print(f"| {key[0]} | {key[1]} | {key[2]} | {ours[key]:.1f} | {torch[key]:.1f} | {ours[key]/torch[key]:.2f}x |")
PY
