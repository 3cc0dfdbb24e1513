// REQUIRES: mlir-runner
// Grid boxes (CarrierTiles.h, GridTiles): queries and keys of a
// multi-dimensional neighborhood tiled as boxes of its grid. The brute-force
// check of attn-test-carrier-tiles over every (query box, key box) pair of
// every batch and head: counts are
//   tiles, visited, visited-and-full, violations, visited-but-empty,
//   all-kept-but-called-partial.
// No violation (a kept pair in a box pair the schedule skips, a pair visited
// twice, a box called full that drops a pair), and fullness exact (a box pair
// is full when it is on every axis). The visited set is the product of the
// axes' key ranges, so a corner box may be visited and empty.
// DEFINE: %{lower} = --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=4,4 k-patch=2,8}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=TWO
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=8,2 k-patch=4,4}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=TWO
// The check can fail: a schedule that drops its last slot, or calls every
// box full, is caught.
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=4,4 k-patch=2,8 inject-bug=1}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=BUG
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=4,4 k-patch=2,8 inject-bug=2}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=BUG
// Boxes that do not hold BM / BN tokens are refused.
// RUN: not attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=4,2 k-patch=2,8}))" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REFUSED
// REFUSED: error: 'attn.attention' op GPU kernel: grid tiles need a carrier that is one neighborhood (dilations dividing their axes) and no mask region, and boxes of 16 query and 16 key tokens, one extent per axis

// BUG: tilecheck nb2d: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, {{[1-9][0-9]*}},
// TWO-DAG: tilecheck nb2d: 512, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, 0{{$}}
// TWO-DAG: tilecheck nb2d_causal_stride: 512, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, 0{{$}}
// TWO-DAG: tilecheck nb2d_even_stride: 512, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, 0{{$}}
// TWO-DAG: tilecheck nb2d_window_covers: 512, 512, 512, 0, 0, 0{{$}}
// Grids the boxes do not divide: the last boxes reach past the grid, where
// positions are neither kept nor dropped (so a box pair there may be kept
// whole and still called partial: the last count is not 0).
// TWO-DAG: tilecheck nb2d_ragged: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// TWO-DAG: tilecheck nb2d_ragged_causal_stride: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// A dilated 1-D axis is two grid axes, positions and dilation group (64 =
// 16 x 4; the 8-wide key boxes reach past the 4 groups).
// TWO-DAG: tilecheck nb1d_dilated: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// TWO-DAG: tilecheck nb1d_dilated_causal_stride: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// TWO-DAG: tilecheck nb2d_ragged_covers: [[T:[0-9]+]], [[T]], {{[1-9][0-9]*}}, 0, 0, {{[0-9]+}}{{$}}
func.func @nb2d() {
  %q = tensor.empty() : tensor<2x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [16, 16], window = [5, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32> -> tensor<2x1x256x4xf32>
  return
}
func.func @nb2d_causal_stride() {
  %q = tensor.empty() : tensor<2x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [16, 16], window = [5, 3], dilation = [1, 1], stride = [2, 3], causal = [true, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32> -> tensor<2x1x256x4xf32>
  return
}
func.func @nb2d_even_stride() {
  %q = tensor.empty() : tensor<2x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [16, 16], window = [6, 3], dilation = [1, 1], stride = [2, 2], causal = [false, true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32> -> tensor<2x1x256x4xf32>
  return
}
// A window as large as the grid keeps every pair: every box pair is full.
func.func @nb2d_window_covers() {
  %q = tensor.empty() : tensor<2x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [16, 16], window = [16, 16], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32>, tensor<2x1x256x4xf32> -> tensor<2x1x256x4xf32>
  return
}
// 14 x 10 tokens (4 x 4 query boxes: 4 x 3 of them, the last row and
// column of boxes partly past the grid).
func.func @nb2d_ragged() {
  %q = tensor.empty() : tensor<1x2x140x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [14, 10], window = [5, 3], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32> -> tensor<1x2x140x4xf32>
  return
}
func.func @nb2d_ragged_causal_stride() {
  %q = tensor.empty() : tensor<1x2x140x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [14, 10], window = [4, 5], dilation = [1, 1], stride = [3, 2], causal = [true, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32> -> tensor<1x2x140x4xf32>
  return
}
func.func @nb2d_ragged_covers() {
  %q = tensor.empty() : tensor<1x2x140x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [14, 10], window = [14, 10], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32>, tensor<1x2x140x4xf32> -> tensor<1x2x140x4xf32>
  return
}
func.func @nb1d_dilated() {
  %q = tensor.empty() : tensor<1x2x64x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [64], window = [5], dilation = [4], stride = [1], causal = [false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x64x4xf32>, tensor<1x2x64x4xf32>, tensor<1x2x64x4xf32> -> tensor<1x2x64x4xf32>
  return
}
func.func @nb1d_dilated_causal_stride() {
  %q = tensor.empty() : tensor<1x2x64x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [64], window = [4], dilation = [2], stride = [2], causal = [true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x64x4xf32>, tensor<1x2x64x4xf32>, tensor<1x2x64x4xf32> -> tensor<1x2x64x4xf32>
  return
}
func.func @main() {
  call @nb1d_dilated() : () -> ()
  call @nb1d_dilated_causal_stride() : () -> ()
  call @nb2d_ragged() : () -> ()
  call @nb2d_ragged_causal_stride() : () -> ()
  call @nb2d_ragged_covers() : () -> ()
  call @nb2d() : () -> ()
  call @nb2d_causal_stride() : () -> ()
  call @nb2d_even_stride() : () -> ()
  call @nb2d_window_covers() : () -> ()
  return
}
