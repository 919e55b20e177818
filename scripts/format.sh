#!/usr/bin/env bash
# Formats every tracked C++ file in place with the root .clang-format (CI checks the same set).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.h' '*.cc' | xargs clang-format -i
