#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages (if missing), configures, builds, runs
# CTest. Usage: scripts/test.sh            (Release build in build/)
#        CLAIMMATCH_SANITIZE=ON scripts/test.sh   (ASan+UBSan build in build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
./third_party/install_deps.sh
sanitize="${CLAIMMATCH_SANITIZE:-OFF}"
if [[ "$sanitize" == "ON" ]]; then
  build_dir="${BUILD_DIR:-build-asan}"
  build_type=Debug
else
  build_dir="${BUILD_DIR:-build}"
  build_type=Release
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" \
  -DCLAIMMATCH_SANITIZE="$sanitize" -DCLAIMMATCH_WERROR=ON >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
