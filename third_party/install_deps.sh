#!/usr/bin/env bash
# Installs everything claimmatch needs to build, run and test, from Debian 12 packages only.
# Idempotent: packages already present are left as they are. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libeigen3-dev                      # dense linear algebra for the encoders
  libsentencepiece-dev sentencepiece # tokenizer library (+ spm_* tools)
  libfaiss-dev                       # vector index
  libopenblas-dev                    # fast BLAS for FAISS and Eigen
  libabsl-dev                        # absl::Status, strings, flags
  nlohmann-json3-dev                 # JSON (configs, safetensors headers, JSONL)
  libsqlite3-dev                     # the claim store
  libicu-dev                         # sentence segmentation, Unicode
  libedit-dev                        # line editing + history of the interactive lookup (BSD)
  libgoogle-perftools-dev            # tcmalloc_minimal: the claimmatch command's allocator
  libgtest-dev libgmock-dev          # tests
  libbenchmark-dev                   # benchmarks
  clang-format                       # the format check CI runs first
  python3                            # the reference BM25 / metric scripts used by tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
