#!/usr/bin/env bash
# Installs what attnc needs on Debian 12 (as root) and builds it into build/.
# Idempotent: packages already present are skipped by apt, the build is
# incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build clang-22 libclang-rt-22-dev lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev
          mlir-22-tools nlohmann-json3-dev libgtest-dev python3 python3-numpy python3-dev
          python3-pybind11 python3-pytest python3-torch pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -G Ninja -S . -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
  -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
  -DMLIR_LINK_MLIR_DYLIB=ON "$@"
cmake --build "$BUILD_DIR" -j "$(nproc)"
