#!/usr/bin/env bash
# Regenerates the Hopper attention cubins (+ PTX and manifests) under gpu-artifacts/.
# Usage: [ATTNC_SCHEDULE=v1|v2] scripts/gpu-harness/gen-cubins.sh [BUILD_DIR] [OUT_DIR]
# ATTNC_SCHEDULE picks attn-gpu-build-kernel's schedule (default: the pass default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-gpu}
OUT=${2:-$ROOT/gpu-artifacts}
TOOL_BIN=$BUILD/bin/attnc-gpu-compile
tool() { "$TOOL_BIN" ${ATTNC_SCHEDULE:+--schedule=$ATTNC_SCHEDULE} "$@"; }
TOOL=tool
SRC=$OUT/src
mkdir -p "$SRC"
gen() { # name dtype D causal(none|bottom_right|top_left)
  local name=$1 dt=$2 d=$3 causal=$4
  local t="tensor<?x?x?x${d}x${dt}>"
  local carrier=""
  [ "$causal" != none ] && carrier="carrier = [#attn.causal<${causal}>], "
  local scale
  scale=$(python3 -c "print(repr(1/$d**0.5))")
  cat > "$SRC/$name.mlir" <<MLIR
func.func @$name(%q: $t, %k: $t, %v: $t) -> $t {
  %o = attn.attention %q, %k, %v {${carrier}scale = $scale : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : $t, $t, $t -> $t
  return %o : $t
}
MLIR
  $TOOL "$SRC/$name.mlir" -o "$OUT" --format=bin
  $TOOL "$SRC/$name.mlir" -o "$OUT" --format=isa
}
gen attn_bf16_d64_full   bf16 64  none
gen attn_bf16_d64_causal bf16 64  bottom_right
gen attn_bf16_d128_full   bf16 128 none
gen attn_bf16_d128_causal bf16 128 bottom_right
gen attn_bf16_d128_causaltl bf16 128 top_left
gen attn_bf16_d256_full   bf16 256 none
gen attn_bf16_d256_causal bf16 256 bottom_right
gen attn_f16_d128_full    f16 128 none
gen attn_f16_d128_causal  f16 128 bottom_right
# Score + mask regions inlined: s + (j - i) / 128 (relative bias), keep j + 256 >= i, causal.
T="tensor<?x?x?x128xbf16>"
cat > "$SRC/attn_bf16_d128_biaswin.mlir" <<MLIR
func.func @attn_bf16_d128_biaswin(%q: $T, %k: $T, %v: $T) -> $T {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : $T, $T, $T -> $T
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c256 = arith.constant 256 : index
    %jw = arith.addi %j, %c256 : index
    %keep = arith.cmpi sge, %jw, %i : index
    attn.yield %keep : i1
  }
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %j, %i : index
    %d64 = arith.index_cast %d : index to i64
    %df = arith.sitofp %d64 : i64 to f32
    %c = arith.constant 7.812500e-03 : f32
    %bias = arith.mulf %df, %c : f32
    %r = arith.addf %s, %bias : f32
    attn.yield %r : f32
  }
  return %o : $T
}
MLIR
$TOOL "$SRC/attn_bf16_d128_biaswin.mlir" -o "$OUT" --format=bin
$TOOL "$SRC/attn_bf16_d128_biaswin.mlir" -o "$OUT" --format=isa

# ---- GPU backend v1, item 2: carriers at tile granularity, extras, links ----
# compile NAME: writes the cubin, the PTX and the manifest of $SRC/NAME.mlir.
compile() { $TOOL "$SRC/$1.mlir" -o "$OUT" --format=bin && $TOOL "$SRC/$1.mlir" -o "$OUT" --format=isa; }
# attn NAME D CARRIER ATTRS [EXTRA_ARGS EXTRAS_CLAUSE] [REGIONS]: one attention.
attn() {
  local name=$1 d=$2 carrier=$3 attrs=$4 eargs=${5:-} eclause=${6:-} regions=${7:-}
  local t="tensor<?x?x?x${d}xbf16>"
  local scale
  scale=$(python3 -c "print(repr(1/$d**0.5))")
  cat > "$SRC/$name.mlir" <<MLIR
func.func @$name(%q: $t, %k: $t, %v: $t$eargs) -> $t {
  %c2 = arith.constant 2 : index
  %lk = tensor.dim %k, %c2 : $t
  %o = attn.attention %q, %k, %v$eclause {carrier = [$carrier], scale = $scale : f64, $attrs} : $t, $t, $t -> $t
$regions
  return %o : $t
}
MLIR
  compile "$name"
}
SOFTMAX="link = #attn.link<exp>, anchor = #attn.anchor<row>"
CAUSAL="#attn.causal<bottom_right>"
attn attn_bf16_d128_swasinks 128 "#attn.window<left = 300, right = 0, sinks = 64, align = bottom_right>" "$SOFTMAX" &
attn attn_bf16_d64_swasinks 64 "#attn.window<left = 300, right = 0, sinks = 64, align = bottom_right>" "$SOFTMAX"
wait
attn attn_bf16_d128_swa1024 128 "$CAUSAL, #attn.window<left = 1024, right = 0, sinks = 0, align = bottom_right>" "$SOFTMAX" &
attn attn_bf16_d128_prefix 128 "#attn.prefix<length = 300>" "$SOFTMAX"
wait
CU=", %cu: tensor<?xi32>"; CUX=" extras(%cu : tensor<?xi32>)"
attn attn_bf16_d128_doc 128 "#attn.document<seqlens = 0>" "$SOFTMAX" "$CU" "$CUX" &
attn attn_bf16_d128_doccausal 128 "#attn.document<seqlens = 0>, #attn.causal<top_left>" "$SOFTMAX" "$CU" "$CUX"
wait
attn attn_bf16_d64_doccausal 64 "#attn.document<seqlens = 0>, #attn.causal<top_left>" "$SOFTMAX" "$CU" "$CUX" &
BL=", %off: tensor<?x?x?xi32>, %idx: tensor<?x?x?xi32>"; BLX=" extras(%off, %idx : tensor<?x?x?xi32>, tensor<?x?x?xi32>)"
attn attn_bf16_d128_bl128 128 "#attn.block_list<q_block = 128, k_block = 128, offsets = 0, indices = 1>" "$SOFTMAX" "$BL" "$BLX"
wait
attn attn_bf16_d128_bl256 128 "#attn.block_list<q_block = 256, k_block = 256, offsets = 0, indices = 1>, $CAUSAL" "$SOFTMAX" "$BL" "$BLX" &
attn attn_bf16_d128_nb1d 128 "#attn.neighborhood<grid = [2000], window = [255], dilation = [1], stride = [1], causal = [false]>" "$SOFTMAX"
wait
attn attn_bf16_d128_nb1dcs 128 "#attn.neighborhood<grid = [1500], window = [129], dilation = [1], stride = [4], causal = [true]>" "$SOFTMAX" &
attn attn_bf16_d128_alibi 128 "$CAUSAL" "$SOFTMAX" ", %slopes: tensor<?xf32>" " extras(%slopes : tensor<?xf32>)" "  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %sl = tensor.extract %slopes[%h] : tensor<?xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %t = arith.mulf %sl, %df : f32
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }"
wait
attn attn_bf16_d128_relbias 128 "" "$SOFTMAX" ", %rel: tensor<?x?xf32>" " extras(%rel : tensor<?x?xf32>)" "  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c1 = arith.constant 1 : index
    %d = arith.subi %i, %j : index
    %e = arith.addi %d, %lk : index
    %x = arith.subi %e, %c1 : index
    %r = tensor.extract %rel[%h, %x] : tensor<?x?xf32>
    %y = arith.addf %s, %r : f32
    attn.yield %y : f32
  }" &
attn attn_bf16_d128_softcap 128 "$CAUSAL" "$SOFTMAX" "" "" "  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 3.0e+00 : f32
    %x = arith.divf %s, %c : f32
    %t = math.tanh %x : f32
    %y = arith.mulf %t, %c : f32
    attn.yield %y : f32
  }"
wait
attn attn_bf16_d128_headwin 128 "" "$SOFTMAX" ", %win: tensor<?xi32>" " extras(%win : tensor<?xi32>)" "  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %win[%h] : tensor<?xi32>
    %wi = arith.index_cast %w : i32 to index
    %d = arith.subi %i, %j : index
    %in = arith.cmpi slt, %d, %wi : index
    %c = arith.cmpi sle, %j, %i : index
    %keep = arith.andi %in, %c : i1
    attn.yield %keep : i1
  }" &
attn attn_bf16_d128_sigmoid 128 "$CAUSAL" "link = #attn.link<sigmoid>, anchor = #attn.anchor<none>"
wait
attn attn_bf16_d128_relu2 128 "" "link = #attn.link<relu>, link_power = 2.0 : f64, anchor = #attn.anchor<none>" &
attn attn_bf16_d128_sigmoidrow 128 "#attn.window<left = 200, right = 50, sinks = 0, align = top_left>" "link = #attn.link<sigmoid>, anchor = #attn.anchor<row>"
wait
attn attn_bf16_d128_relurow 128 "$CAUSAL" "link = #attn.link<relu>, anchor = #attn.anchor<row>" &
attn attn_bf16_d128_nullsink 128 "$CAUSAL" "$SOFTMAX, null_logit_extra = 0 : i64" ", %sinks: tensor<?xf32>" " extras(%sinks : tensor<?xf32>)"
wait
attn attn_bf16_d128_nullc 128 "" "$SOFTMAX, null_logit = 1.5 : f64"
for p in "$OUT"/*.ptx; do
  echo "== $(basename "$p")"; /usr/local/cuda/bin/ptxas -arch=sm_90a -v "$p" -o /dev/null 2>&1 | grep -E "registers|spill"
done
