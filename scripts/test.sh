#!/usr/bin/env bash
# Set up, build, and run the whole test suite (lit, GoogleTest, numerics).
# GPU-only tests report themselves as skipped on machines without a GPU.
# The parser and .npy tests also run under AddressSanitizer +
# UndefinedBehaviorSanitizer from a second build in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j 2

cmake -G Ninja -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_USE_LINKER=lld \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
  -DMLIR_LINK_MLIR_DYLIB=ON -DATTNC_ENABLE_SANITIZERS=ON -DATTNC_ENABLE_GPU=OFF >/dev/null
cmake --build build-asan -j "$(nproc)" --target attnc-spec-tests attnc-npy-tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -R 'attnc-(spec|npy)-tests'
