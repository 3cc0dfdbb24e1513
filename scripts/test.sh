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
  -DMLIR_LINK_MLIR_DYLIB=ON -DATTNC_ENABLE_SANITIZERS=ON -DATTNC_ENABLE_GPU=OFF \
  -DATTNC_ENABLE_FUZZERS=ON >/dev/null
FUZZERS=(spec-text spec-json npy manifest)
cmake --build build-asan -j "$(nproc)" --target attnc-spec-tests attnc-npy-tests attnc-runtime-tests \
  "${FUZZERS[@]/#/attnc-fuzz-}"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -R 'attnc-(spec|npy)-tests|runtime\.'

# Fuzzing (libFuzzer, ASan + UBSan), FUZZ_SECONDS each (default 45) from seed
# corpora built from examples/ and the runtime fixture; any finding fails the
# run and leaves its input in build-asan/fuzz/. Found inputs become
# regression seeds under test/fuzz/regressions/<target>/.
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
corpus=build-asan/fuzz
rm -rf "$corpus" && mkdir -p "$corpus"/{spec-text,spec-json,npy,manifest}
cp examples/*.attn "$corpus/spec-text/"
cp examples/*.json "$corpus/spec-json/"
cp test/Inputs/scaled-copy/*.json "$corpus/manifest/"
# Debian's python3 (python3-numpy), as the numerics test uses.
/usr/bin/python3 -c "
import numpy as np, sys
d = sys.argv[1]
np.save(d + '/f32.npy', np.arange(12, dtype=np.float32).reshape(3, 4))
np.save(d + '/i32.npy', np.arange(6, dtype=np.int32))
np.save(d + '/f64.npy', np.zeros((2, 1, 3)))
np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))" "$corpus/npy"
for f in "${FUZZERS[@]}"; do
  seeds=("$corpus/$f")
  [ -d "test/fuzz/regressions/$f" ] && seeds+=("test/fuzz/regressions/$f")
  echo "fuzz $f: ${FUZZ_SECONDS} s"
  ASAN_OPTIONS=detect_leaks=1 build-asan/test/fuzz/attnc-fuzz-$f -max_total_time="$FUZZ_SECONDS" \
    -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$corpus/finding-$f-" \
    "${seeds[@]}" 2>&1 | grep -E "^stat::number_of_executed_units|ERROR|finding|Test unit written" || true
  if ls "$corpus"/finding-"$f"-* >/dev/null 2>&1; then
    echo "fuzz $f: FOUND an input that fails (see $corpus)"
    exit 1
  fi
done
