#!/usr/bin/env bash
# On the device machine (one call): build the harness; check every kernel in
# $NEW (all shapes); time $OLD against $NEW twice, alternating (D=64/128/256
# full and causal, S=4096 and 16384); SASS counts of the D=128 kernels.
# Logs under $OUT; a short table last. Here, first:
#   scripts/gpu-harness/gen-cubins.sh build-perf gpu-artifacts        (default schedule)
#   ATTNC_SCHEDULE=v2 scripts/gpu-harness/gen-cubins.sh build-perf gpu-artifacts-v2
# then run it with carry = [gpu-artifacts, gpu-artifacts-v2].
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/v2-out}; mkdir -p "$OUT"
cmake -S scripts/gpu-harness -B /tmp/hb -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null &&
  ninja -C /tmp/hb >/dev/null || { echo "harness build failed"; exit 1; }
H=/tmp/hb/harness
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader
NEW=${NEW:-gpu-artifacts-v2} OLD=${OLD:-gpu-artifacts}
T="attn_bf16_d128_full attn_bf16_d128_causal attn_bf16_d64_full attn_bf16_d64_causal attn_bf16_d256_full attn_bf16_d256_causal"
list() { for k in $T; do echo "$1/${k}_kernel.json"; done; }
start=$(date +%s)
timeout 240 $H "$NEW"/*.json > "$OUT/check.log" 2>&1; echo "check rc=$? ($(( $(date +%s) - start )) s)"
grep -E " FAIL|^FAIL|^PASS" "$OUT/check.log" | tail -8
for rep in 1 2; do
  for s in old new; do
    d=$NEW; [ $s = old ] && d=$OLD
    timeout 75 $H --time --quick --long $(list "$d") > "$OUT/time-$s-$rep.log" 2>&1
    echo "time $s rep$rep rc=$?"
  done
done
for s in old new; do
  d=$NEW; [ $s = old ] && d=$OLD
  for k in attn_bf16_d128_full attn_bf16_d128_causal; do
    cuobjdump -sass "$d/${k}_kernel.cubin" > "/tmp/sass-$s-$k.txt" 2>&1
    printf '%s %-24s HGMMA=%s BAR.SYNC=%s WARPGROUP.DEPBAR=%s WARPGROUP.ARRIVE=%s SYNCS=%s LDL/STL=%s MUFU.EX2=%s STS=%s\n' $s $k \
      "$(grep -c HGMMA /tmp/sass-$s-$k.txt)" "$(grep -cE 'BAR\.SYNC' /tmp/sass-$s-$k.txt)" \
      "$(grep -c 'WARPGROUP.DEPBAR' /tmp/sass-$s-$k.txt)" "$(grep -c 'WARPGROUP.ARRIVE' /tmp/sass-$s-$k.txt)" \
      "$(grep -c 'SYNCS' /tmp/sass-$s-$k.txt)" "$(grep -cE 'LDL|STL' /tmp/sass-$s-$k.txt)" \
      "$(grep -c 'MUFU.EX2' /tmp/sass-$s-$k.txt)" "$(grep -c 'STS' /tmp/sass-$s-$k.txt)"
  done
done | tee "$OUT/sass-counts.txt"
cp /tmp/sass-new-attn_bf16_d128_full.txt "$OUT/sass-new-d128-full.txt"
echo "new d128 full, order of waits/shuffles/barriers (SASS line: op):"
grep -nE "WARPGROUP.DEPBAR|SHFL.BFLY|BAR.SYNC|HGMMA.*gsb0" /tmp/sass-new-attn_bf16_d128_full.txt |
  sed -E 's/^([0-9]+):.*\*\/ *([A-Z.]+[^;]*);.*/\1:\2/' | tr '\n' ' '; echo
echo "== timings (old = $OLD, new = $NEW) =="
for f in "$OUT"/time-*.log; do
  b=$(basename "$f" .log)
  grep '^TIME' "$f" | sed -E "s/^TIME (attn_[a-z0-9_]+)_kernel +B=([0-9]+) H=([0-9]+).*Lq=([0-9]+).*median ([0-9.]+) ms.*-> ([0-9.]+) TFLOP.*/$b \1 B\2 H\3 S\4 \5ms \6TF/"
done | sort -k2,2 -k4,4 -k1,1
grep -h "regs=" "$OUT"/time-old-1.log "$OUT"/time-new-1.log | sed 's/^# //' | awk '{print $1, $NF}'
