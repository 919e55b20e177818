#!/usr/bin/env bash
# Sets everything up (Debian packages, configure, build), builds the demo claim database from the
# bundled PolitiFact claims with the bundled default model, then runs a lookup and flags the
# sample article. Usage: scripts/run.sh            (database: $CLAIMMATCH_DB, else
#                                                   ~/.local/share/claimmatch/default)
set -euo pipefail
cd "$(dirname "$0")/.."
./third_party/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target claimmatch
bin=build/tools/claimmatch
db="${CLAIMMATCH_DB:-${XDG_DATA_HOME:-$HOME/.local/share}/claimmatch/default}"

echo "== claimmatch ingest --db $db data/politifact/politifact-claims.jsonl"
"$bin" ingest --db "$db" data/politifact/politifact-claims.jsonl
echo
echo "== claimmatch lookup --db $db \"Windmills cause cancer because of the noise\""
"$bin" lookup --db "$db" -k 3 "Windmills cause cancer because of the noise"
echo
echo "== claimmatch flag --db $db data/sample-article.txt"
"$bin" flag --db "$db" data/sample-article.txt
