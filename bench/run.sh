#!/usr/bin/env bash
# On the device machine: build the runtime + bench_attnc, time attnc's kernels
# (bench-artifacts/, compiled here by bench/prepare.sh) and the PyTorch anchors
# in the same run. Prints one line per (implementation, mask, shape).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S bench -B /tmp/bench-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C /tmp/bench-build >/dev/null
A=bench-artifacts
for S in 4096 16384; do
  B=$((32768 / S / 1)); [ $S = 4096 ] && B=8
  /tmp/bench-build/bench_attnc $A/full/dense_full_kernel.json full $B 16 16 $S $S
  /tmp/bench-build/bench_attnc $A/causal/causal_self_kernel.json causal $B 16 16 $S $S
done
python3 bench/anchors_same_run.py
