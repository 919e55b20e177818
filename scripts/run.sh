#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build) and runs claimmatch on the bundled
# defaults. Usage: scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./third_party/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target claimmatch
bin=build/tools/claimmatch
model=models/default
[[ -d "$model" ]] || model=tests/data/xlmr-tiny/model
echo "== claimmatch embed --model $model (first 8 dimensions shown)"
"$bin" embed --model "$model" \
  "Russia did not meddle in the 2016 election." \
  "Die Wahl wurde nicht manipuliert." |
  sed -E 's/("vector":\[([^,]*,){8})[^]]*/\1 …/'
