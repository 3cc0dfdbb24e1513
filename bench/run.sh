#!/usr/bin/env bash
# On the device machine: build the runtime + bench_attnc, time attnc's kernels
# (bench-artifacts/, compiled here by bench/prepare.sh) and the PyTorch anchors
# (SDPA cuDNN and flash, FlexAttention) in the same run on the same shapes,
# then print one table with ratios (bench/ratios.py).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S bench -B /tmp/bench-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C /tmp/bench-build >/dev/null
A=bench-artifacts
LOG=${OUT:-/tmp}/bench.log
: > "$LOG"
# case: artifact-dir manifest mask B Hq Hk S
CASES=(
  "d128/full dense_full_kernel full 8 16 16 4096"
  "d128/causal causal_self_kernel causal 8 16 16 4096"
  "d128/full dense_full_kernel full 2 16 16 16384"
  "d128/causal causal_self_kernel causal 2 16 16 16384"
  "d64/full dense_full_kernel full 4 16 16 8192"
  "d64/causal causal_self_kernel causal 4 16 16 8192"
  "d256/full dense_full_kernel full 4 8 8 8192"
  "d256/causal causal_self_kernel causal 4 8 8 8192"
  "gqa/causal gqa_causal_kernel causal 4 32 8 8192"
  "swa swa_causal_kernel window=1024 4 16 16 4096"
  "swa swa_causal_kernel window=1024 1 16 16 16384"
  "alibi alibi_causal_kernel causal 4 16 16 4096"
  "alibi alibi_causal_kernel causal 1 16 16 16384"
  "softcap softcap_causal_kernel causal 4 16 16 4096"
  "softcap softcap_causal_kernel causal 1 16 16 16384"
)
# Decode (GQA 32/8, 32k cached keys): bench_attnc prints TB/s.
for lq in 1 4 16; do
  CASES+=("decode decode_gqa_kernel decode 8 32 8 $lq 32768")
done
for m in mask_causal mask_dilated mask_block_causal mask_head mask_prefix mask_band; do
  CASES+=("$m ${m}_kernel mask 4 16 16 4096" "$m ${m}_kernel mask 1 16 16 16384")
done
# 2-D neighborhood (128 x 128 grid, 17 x 17 window): kept pairs counted by the Flex anchor.
CASES+=("neighborhood_2d neighborhood_2d_kernel mask 2 16 16 16384")
CASES+=("varlen_packed varlen_packed_kernel doc8 8 16 16 4096" "varlen_packed varlen_packed_kernel doc8 2 16 16 16384")
# BENCH_ONLY=REGEX restricts the run to the cases (and anchors) whose
# artifact name matches.
ONLY=${BENCH_ONLY:-.}
for c in "${CASES[@]}"; do
  set -- $c
  [[ $1 =~ $ONLY ]] || continue
  if [ $# -ge 8 ]; then  # decode: Lq and Lk
    /tmp/bench-build/bench_attnc "$A/$1/$2.json" "$3" "$4" "$5" "$6" "$7" "$8" 100 | tee -a "$LOG"
  else
    /tmp/bench-build/bench_attnc "$A/$1/$2.json" "$3" "$4" "$5" "$6" "$7" "$7" | tee -a "$LOG"
  fi
done
# Programs (generic steps before the kernel): a mask over positions only,
# classified per block once per size (the steps read no input, so the
# runtime keeps their results across the timed runs).
for c in "4 4096" "1 16384"; do
  set -- $c
  [[ shifted_chunks =~ $ONLY ]] || continue
  /tmp/bench-build/bench_program "$A/shifted_chunks/shifted_chunks.program.json" "B=$1,H=16,L=$2,D=128" 20 \
    shifted_chunks_kernel | tee -a "$LOG"
done
python3 bench/anchors_same_run.py | tee -a "$LOG"
python3 bench/ratios.py "$LOG"
