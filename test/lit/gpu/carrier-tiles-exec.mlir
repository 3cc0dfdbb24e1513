// REQUIRES: mlir-runner
// Brute-force check of the GPU tile schedule and classification
// (passes/Analysis/CarrierTiles) against the shared carrier predicate
// (passes/Analysis/Carrier.cpp, buildKeepPredicate): for every Lq, Lk in [1, 40] (Lq =
// Lk = prod(grid) for neighborhoods), batch, head and BLOCK_M x BLOCK_N tile,
// the loops count
//   tiles, visited, visited-and-full, violations, visited-but-empty,
//   all-kept-but-called-partial.
// A violation (a kept pair in a tile the schedule skips, a tile visited twice,
// a tile called full that drops a pair) must never happen; the last two
// measure exactness: 0 for the exact families, > 0 where the tiling is a
// bounding range (intersections of row-dependent families, dilation, masks).
// DEFINE: %{lower} = --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=8 bn=4}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=4 bn=8}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=8 bn=8}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s
// The check can fail: a schedule that drops its last slot, or calls every
// tile full, is caught.
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=8 bn=4 inject-bug=1}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=BUG
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=8 bn=4 inject-bug=2}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=BUG
// BUG: tilecheck causal_br: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, {{[1-9][0-9]*}},


// CHECK-DAG: tilecheck causal_br: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck causal_tl: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck window_br: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck window_tl_right: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck window_sinks_unbounded: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck window_sinks: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck window_sinks_causal: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck two_sink_windows: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck prefix: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck prefix_causal: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck document: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck document_causal_window: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck block_list: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck block_list_causal: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck block_list_sinks: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d_causal_stride: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d_stride3: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// An even stride: the leader is the group's start + s // 2, as in the predicate.
// CHECK-DAG: tilecheck nb1d_stride2: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d_bigwindow: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d_dilated: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck nb2d: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb3d: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_region: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// Mask regions are bounded per tile by interval evaluation (MaskBounds.h):
// never a violation; exact (nothing visited empty, nothing kept left
// partial) for block-causal, the head-dependent mask, the band and padding.
// CHECK-DAG: tilecheck mask_block_causal: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_dilated_window: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck mask_head_or_causal: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_select_band: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck mask_float_unknown: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// Casts: i * 2^32 truncated to i32 is always 0, so every pair is kept; a
// bound that ignored the wrap-around skipped tiles (a violation).
// CHECK-DAG: tilecheck mask_truncation: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck mask_padding: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// Division by a value known only at run time (a size, a head-dependent
// width of either sign, a key-dependent divisor whose range holds 0): the
// corners of the quotient bound it, exactly here.
// CHECK-DAG: tilecheck mask_mod_by_size: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_div_by_head: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_div_straddle: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// Shifts by a head-dependent count (clamped as the frontend clamps it) are
// bounded at the corners, exactly here; integer | and ^ soundly.
// CHECK-DAG: tilecheck mask_shift_blocks: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck mask_bitwise_or: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck nb1d_causal_full: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck nb1d_full: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, 0, 0{{$}}

func.func @causal_br() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @causal_tl() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.causal<top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @window_br() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 5, right = 0, sinks = 0, align = bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @window_tl_right() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 3, right = 2, sinks = 0, align = top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @window_sinks_unbounded() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 6, right = -1, sinks = 3, align = bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @window_sinks() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 2, right = 0, sinks = 9, align = bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @window_sinks_causal() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 4, right = 3, sinks = 5, align = top_left>, #attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @two_sink_windows() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.window<left = 4, right = 0, sinks = 2, align = bottom_right>, #attn.window<left = 7, right = 1, sinks = 6, align = top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @prefix() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.prefix<length = 5>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @prefix_causal() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.prefix<length = 13>, #attn.causal<top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @document() {
  %c8 = arith.constant 8 : index
  %cu = arith.constant dense<[0, 3, 3, 10, 17, 30]> : tensor<6xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%cu : tensor<6xi32>) {carrier = [#attn.document<seqlens = 0>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @document_causal_window() {
  %c8 = arith.constant 8 : index
  %cu = arith.constant dense<[0, 3, 3, 10, 17, 30]> : tensor<6xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%cu : tensor<6xi32>) {carrier = [#attn.document<seqlens = 0>, #attn.causal<top_left>, #attn.window<left = 6, right = 0, sinks = 2, align = top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @block_list() {
  %c8 = arith.constant 8 : index
  %off = arith.constant dense<[[[0, 1, 3, 5, 5, 8], [0, 1, 1, 3, 4, 6]]]> : tensor<1x2x6xi32>
  %idx = arith.constant dense<[[[0, 0, 1, 2, 0, 4, 1, 3], [1, 0, 2, 3, 0, 4, 0, 0]]]> : tensor<1x2x8xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%off, %idx : tensor<1x2x6xi32>, tensor<1x2x8xi32>) {carrier = [#attn.block_list<q_block = 8, k_block = 8, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @block_list_causal() {
  %c8 = arith.constant 8 : index
  %off = arith.constant dense<[[[0, 1, 3, 5, 5, 8], [0, 1, 1, 3, 4, 6]]]> : tensor<1x2x6xi32>
  %idx = arith.constant dense<[[[0, 0, 1, 2, 0, 4, 1, 3], [1, 0, 2, 3, 0, 4, 0, 0]]]> : tensor<1x2x8xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%off, %idx : tensor<1x2x6xi32>, tensor<1x2x8xi32>) {carrier = [#attn.block_list<q_block = 8, k_block = 8, offsets = 0, indices = 1>, #attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @block_list_sinks() {
  %c8 = arith.constant 8 : index
  %off = arith.constant dense<[[[0, 1, 3, 5, 5, 8], [0, 1, 1, 3, 4, 6]]]> : tensor<1x2x6xi32>
  %idx = arith.constant dense<[[[0, 0, 1, 2, 0, 4, 1, 3], [1, 0, 2, 3, 0, 4, 0, 0]]]> : tensor<1x2x8xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%off, %idx : tensor<1x2x6xi32>, tensor<1x2x8xi32>) {carrier = [#attn.block_list<q_block = 8, k_block = 8, offsets = 0, indices = 1>, #attn.window<left = 3, right = 0, sinks = 4, align = top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [30], window = [7], dilation = [1], stride = [1], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_causal_stride() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [30], window = [5], dilation = [1], stride = [2], causal = [true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_stride3() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [31], window = [9], dilation = [1], stride = [3], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_stride2() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [40], window = [11], dilation = [1], stride = [2], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_bigwindow() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [7], window = [7], dilation = [1], stride = [1], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_dilated() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [30], window = [3], dilation = [2], stride = [1], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb2d() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [5, 6], window = [3, 3], dilation = [1, 2], stride = [1, 1], causal = [true, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb3d() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [3, 4, 3], window = [3, 3, 2], dilation = [1, 1, 1], stride = [1, 2, 1], causal = [false, false, true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @mask_region() {
  %c8 = arith.constant 8 : index
  %win = arith.constant dense<[3, 6]> : tensor<2xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%win : tensor<2xi32>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %win[%h] : tensor<2xi32>
    %wi = arith.index_cast %w : i32 to index
    %d = arith.subi %i, %j : index
    %keep = arith.cmpi slt, %d, %wi : index
    attn.yield %keep : i1
  }
  return
}
func.func @nb1d_causal_full() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [40], window = [20], dilation = [1], stride = [2], causal = [true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @nb1d_full() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [40], window = [21], dilation = [1], stride = [3], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return
}
func.func @mask_block_causal() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c4 = arith.constant 4 : index
    %qi = arith.floordivsi %i, %c4 : index
    %kj = arith.floordivsi %j, %c4 : index
    %keep = arith.cmpi sle, %kj, %qi : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_dilated_window() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c3 = arith.constant 3 : index
    %c9 = arith.constant 9 : index
    %c0 = arith.constant 0 : index
    %d = arith.subi %i, %j : index
    %fq = arith.floordivsi %d, %c3 : index
    %fm = arith.muli %fq, %c3 : index
    %md = arith.subi %d, %fm : index
    %on = arith.cmpi eq, %md, %c0 : index
    %ad = math.absi %d : index
    %near = arith.cmpi sle, %ad, %c9 : index
    %keep = arith.andi %on, %near : i1
    attn.yield %keep : i1
  }
  return
}
func.func @mask_head_or_causal() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %h0 = arith.cmpi eq, %h, %c0 : index
    %causal = arith.cmpi sle, %j, %i : index
    %keep = arith.ori %h0, %causal : i1
    attn.yield %keep : i1
  }
  return
}
func.func @mask_select_band() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c5 = arith.constant 5 : index
    %gt = arith.cmpi sgt, %i, %j : index
    %a = arith.subi %i, %j : index
    %n = arith.subi %j, %i : index
    %d = arith.select %gt, %a, %n : index
    %in = arith.cmpi slt, %d, %c5 : index
    %true = arith.constant true
    %out = arith.xori %in, %true : i1
    %keep = arith.xori %out, %true : i1
    attn.yield %keep : i1
  }
  return
}
func.func @mask_float_unknown() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %fj = arith.sitofp %jj : i64 to f32
    %half = arith.constant 0.5 : f32
    %hi = arith.mulf %fi, %half : f32
    %keep = arith.cmpf oge, %hi, %fj : f32
    attn.yield %keep : i1
  }
  return
}
func.func @mask_padding() {
  %c8 = arith.constant 8 : index
  %len = arith.constant dense<[5, 13]> : tensor<2xi32>
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%len : tensor<2xi32>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %l = tensor.extract %len[%h] : tensor<2xi32>
    %li = arith.index_cast %l : i32 to index
    %keep = arith.cmpi slt, %j, %li : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_truncation() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %ii = arith.index_cast %i : index to i64
    %big = arith.constant 4294967296 : i64
    %p = arith.muli %ii, %big : i64
    %t = arith.trunci %p : i64 to i32
    %zero = arith.constant 0 : i32
    %wrapped = arith.cmpi eq, %t, %zero : i32
    %jj = arith.index_castui %j : index to i64
    %mj = arith.constant -1 : i64
    %nonneg = arith.cmpi sgt, %jj, %mj : i64
    %keep = arith.andi %wrapped, %nonneg : i1
    attn.yield %keep : i1
  }
  return
}
func.func @mask_mod_by_size() {
  %c8 = arith.constant 8 : index
  %c2 = arith.constant 2 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %L = tensor.dim %q, %c2 : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %sh = arith.muli %h, %c3 : index
    %z = arith.cmpi eq, %L, %c0 : index
    %d = arith.select %z, %c1, %L : index
    %xi = arith.subi %i, %sh : index
    %qi0 = arith.floordivsi %xi, %d : index
    %qi = arith.select %z, %c0, %qi0 : index
    %pi = arith.muli %qi, %L : index
    %mi = arith.subi %xi, %pi : index
    %ci = arith.floordivsi %mi, %c3 : index
    %xj = arith.subi %j, %sh : index
    %qj0 = arith.floordivsi %xj, %d : index
    %qj = arith.select %z, %c0, %qj0 : index
    %pj = arith.muli %qj, %L : index
    %mj = arith.subi %xj, %pj : index
    %cj = arith.floordivsi %mj, %c3 : index
    %keep = arith.cmpi eq, %ci, %cj : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_div_by_head() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c5 = arith.constant 5 : index
    %h2 = arith.muli %h, %c2 : index
    %sgn = arith.subi %h2, %c1 : index
    %w = arith.muli %sgn, %c5 : index
    %qi = arith.floordivsi %i, %w : index
    %qj = arith.divsi %j, %w : index
    %keep = arith.cmpi eq, %qi, %qj : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_div_straddle() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c9 = arith.constant 9 : index
    %d0 = arith.subi %j, %c9 : index
    %z = arith.cmpi eq, %d0, %c0 : index
    %d = arith.select %z, %c1, %d0 : index
    %q1 = arith.floordivsi %i, %d : index
    %keep = arith.cmpi sle, %q1, %c1 : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_shift_blocks() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c63 = arith.constant 63 : index
    %n0 = arith.addi %h, %c1 : index
    %n1 = arith.maxsi %n0, %c0 : index
    %n = arith.minsi %n1, %c63 : index
    %qi = arith.shrsi %i, %n : index
    %kj = arith.shrsi %j, %n : index
    %up = arith.shli %kj, %c1 : index
    %keep = arith.cmpi sle, %up, %qi : index
    attn.yield %keep : i1
  }
  return
}
func.func @mask_bitwise_or() {
  %c8 = arith.constant 8 : index
  %q = tensor.empty(%c8) : tensor<1x2x?x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %c9 = arith.constant 9 : index
    %d = arith.subi %i, %j : index
    %a = arith.ori %d, %c3 : index
    %x = arith.xori %j, %c5 : index
    %s = arith.addi %a, %x : index
    %keep = arith.cmpi slt, %s, %c9 : index
    attn.yield %keep : i1
  }
  return
}
func.func @main() {
  call @nb1d_stride2() : () -> ()
  call @nb1d_causal_full() : () -> ()
  call @nb1d_full() : () -> ()
  call @causal_br() : () -> ()
  call @causal_tl() : () -> ()
  call @window_br() : () -> ()
  call @window_tl_right() : () -> ()
  call @window_sinks_unbounded() : () -> ()
  call @window_sinks() : () -> ()
  call @window_sinks_causal() : () -> ()
  call @two_sink_windows() : () -> ()
  call @prefix() : () -> ()
  call @prefix_causal() : () -> ()
  call @document() : () -> ()
  call @document_causal_window() : () -> ()
  call @block_list() : () -> ()
  call @block_list_causal() : () -> ()
  call @block_list_sinks() : () -> ()
  call @nb1d() : () -> ()
  call @nb1d_causal_stride() : () -> ()
  call @nb1d_stride3() : () -> ()
  call @nb1d_bigwindow() : () -> ()
  call @nb1d_dilated() : () -> ()
  call @nb2d() : () -> ()
  call @nb3d() : () -> ()
  call @mask_region() : () -> ()
  call @mask_block_causal() : () -> ()
  call @mask_dilated_window() : () -> ()
  call @mask_head_or_causal() : () -> ()
  call @mask_select_band() : () -> ()
  call @mask_float_unknown() : () -> ()
  call @mask_padding() : () -> ()
  call @mask_truncation() : () -> ()
  call @mask_mod_by_size() : () -> ()
  call @mask_div_by_head() : () -> ()
  call @mask_div_straddle() : () -> ()
  call @mask_shift_blocks() : () -> ()
  call @mask_bitwise_or() : () -> ()
  return
}
