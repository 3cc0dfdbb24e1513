// RUN: attnc-opt %s --attnc-cpu-pipeline | FileCheck %s
// The whole CPU pipeline ends in the LLVM dialect with a C interface.

// CHECK: llvm.func @f(
// CHECK: llvm.func @_mlir_ciface_f(
// CHECK-NOT: attn.
// CHECK-NOT: linalg.
func.func @f(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x4xf32>) -> tensor<1x2x5x4xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x5x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32> -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}
