#!/usr/bin/env bash
# Here (with MLIR): compile the benchmarked kernels into bench-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
ATTNC=${ATTNC:-build/bin/attnc}
rm -rf bench-artifacts
for D in 64 128 256; do
  $ATTNC compile bench/dense_full.attn --target=sm_90a --dim D=$D -o bench-artifacts/d$D/full
  $ATTNC compile examples/02_causal_self.attn --target=sm_90a --dim D=$D -o bench-artifacts/d$D/causal
done
$ATTNC compile bench/gqa_causal.attn --target=sm_90a --dim D=128 -o bench-artifacts/gqa/causal
for v in swa alibi softcap; do
  $ATTNC compile bench/${v}_causal.attn --target=sm_90a --dim D=128 -o bench-artifacts/$v
done
$ATTNC compile bench/decode_gqa.attn --target=sm_90a --dim D=128 --decode -o bench-artifacts/decode
for v in mask_causal mask_dilated mask_block_causal mask_head mask_prefix mask_band; do
  $ATTNC compile bench/$v.attn --target=sm_90a --dim D=128 -o bench-artifacts/$v
done
# A mask dividing by the run-time L (chunks of 64, shifted by 32 on odd heads, wrapping around).
$ATTNC compile examples/08_shifted_chunks.attn --target=sm_90a --dim D=128 -o bench-artifacts/shifted_chunks
$ATTNC compile bench/neighborhood_2d.attn --target=sm_90a --dim D=128 -o bench-artifacts/neighborhood_2d
$ATTNC compile examples/02_varlen_packed.attn --target=sm_90a --dim D=128 -o bench-artifacts/varlen_packed
