// REQUIRES: mlir-runner
// Grid boxes over three axes (see grid-tiles-exec.mlir for the counts): a
// causal time axis and two spatial ones, boxes of 2 x 2 x 4 queries and
// 1 x 2 x 8 keys.
// DEFINE: %{lower} = --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(attn-test-carrier-tiles{bm=16 bn=16 q-patch=2,2,4 k-patch=1,2,8}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s

// CHECK-DAG: tilecheck nb3d: 256, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, 0{{$}}
// A 2-D neighborhood whose first axis is dilated: grid axes [4, 2, 32].
// CHECK-DAG: tilecheck nb2d_dilated_outer: 256, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck nb3d_stride: 256, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, 0{{$}}
func.func @nb3d() {
  %q = tensor.empty() : tensor<1x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [4, 8, 8], window = [2, 3, 5], dilation = [1, 1, 1], stride = [1, 1, 1], causal = [true, false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32> -> tensor<1x1x256x4xf32>
  return
}
func.func @nb3d_stride() {
  %q = tensor.empty() : tensor<1x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [4, 8, 8], window = [3, 4, 3], dilation = [1, 1, 1], stride = [1, 2, 3], causal = [false, false, true]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32> -> tensor<1x1x256x4xf32>
  return
}
func.func @nb2d_dilated_outer() {
  %q = tensor.empty() : tensor<1x1x256x4xf32>
  %o = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [8, 32], window = [3, 5], dilation = [2, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32>, tensor<1x1x256x4xf32> -> tensor<1x1x256x4xf32>
  return
}
func.func @main() {
  call @nb2d_dilated_outer() : () -> ()
  call @nb3d() : () -> ()
  call @nb3d_stride() : () -> ()
  return
}
