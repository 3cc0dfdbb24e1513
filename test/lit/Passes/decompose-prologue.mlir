// RUN: attnc-opt %s --attn-decompose | FileCheck %s
// RoPE and row normalisation become maps (and a reduction) in the cascade.

// CHECK-LABEL: func.func @rope
// CHECK: attn.map ins(%arg0 : tensor<1x2x5x8xf32>)
// CHECK:   arith.divui %c8, %c2
// CHECK:   tensor.extract %arg0
// CHECK:   math.exp2
// CHECK:   math.cos
// CHECK:   math.sin
// CHECK-NOT: attn.rope
func.func @rope(%x: tensor<1x2x5x8xf32>) -> tensor<1x2x5x8xf32> {
  %r = attn.rope %x {theta = 10000.0 : f64} : tensor<1x2x5x8xf32>
  return %r : tensor<1x2x5x8xf32>
}

// CHECK-LABEL: func.func @rms
// CHECK: %[[SQ:.*]] = attn.map ins(%arg0
// CHECK:   arith.mulf
// CHECK: %[[SS:.*]] = attn.reduce <sum> %[[SQ]] : tensor<1x2x5x8xf32> -> tensor<1x2x5xf32>
// CHECK: attn.map ins(%arg0, %[[SS]]
// CHECK:   arith.divf
// CHECK:   math.sqrt
func.func @rms(%x: tensor<1x2x5x8xf32>) -> tensor<1x2x5x8xf32> {
  %r = attn.row_norm %x {kind = #attn.row_norm_kind<rms>} : tensor<1x2x5x8xf32>
  return %r : tensor<1x2x5x8xf32>
}
