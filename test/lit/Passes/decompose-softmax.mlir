// RUN: attnc-opt %s --attn-decompose | FileCheck %s
// Softmax with GQA (4 query heads, 2 KV heads), a causal carrier and an
// ALiBi score region becomes: head gathers, the score einsum, the score map,
// the carrier mask, row max, exp, row sum, the PV einsum and the row anchor.

// CHECK-LABEL: func.func @gqa_alibi
// CHECK: %[[KX:.*]] = attn.map {{.*}} -> tensor<2x4x40x16xf32>
// CHECK: arith.divui
// CHECK: tensor.extract %arg1
// CHECK: %[[VX:.*]] = attn.map {{.*}} -> tensor<2x4x40x8xf32>
// CHECK: %[[S:.*]] = attn.einsum %arg0, %[[KX]] {{.*}} -> tensor<2x4x33x40xf32>
// CHECK: %[[SM:.*]] = attn.map ins(%[[S]] : {{.*}}) {{.*}} -> tensor<2x4x33x40xf32>
// CHECK:   math.sqrt
// CHECK:   tensor.extract %arg3
// CHECK: %[[KEEP:.*]] = attn.map {{.*}} -> tensor<2x4x33x40xi1>
// CHECK:   arith.cmpi sle
// CHECK: %[[MASKED:.*]] = attn.map ins(%[[SM]], %[[KEEP]] : {{.*}}) {{.*}} -> tensor<2x4x33x40xf32>
// CHECK:   arith.select %{{.*}}, %{{.*}}, %cst
// CHECK: %[[MAX:.*]] = attn.reduce <max> %[[MASKED]] : tensor<2x4x33x40xf32> -> tensor<2x4x33xf32>
// CHECK: %[[W:.*]] = attn.map ins(%[[SM]], %[[KEEP]], %[[MAX]] : {{.*}})
// CHECK:   math.exp
// A NaN row max (a NaN score) propagates: unordered not-equal.
// CHECK:   arith.cmpf une
// CHECK: %[[L:.*]] = attn.reduce <sum> %[[W]]
// A zero weight (a masked key) adds nothing to P V, even against a NaN in v.
// CHECK: %[[PV:.*]] = attn.einsum %[[W]], %[[VX]] {{.*}}zero_weights{{.*}} -> tensor<2x4x33x8xf32>
// CHECK: %[[O:.*]] = attn.row_normalize %[[PV]] by %[[L]]
// CHECK: return %[[O]]
// CHECK-NOT: attn.attention
func.func @gqa_alibi(%q: tensor<2x4x33x16xf32>, %k: tensor<2x2x40x16xf32>, %v: tensor<2x2x40x8xf32>, %slopes: tensor<4xf32>) -> tensor<2x4x33x8xf32> {
  %o = attn.attention %q, %k, %v extras(%slopes : tensor<4xf32>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x33x16xf32>, tensor<2x2x40x16xf32>, tensor<2x2x40x8xf32> -> tensor<2x4x33x8xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %sl = tensor.extract %slopes[%h] : tensor<4xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %t = arith.mulf %sl, %df : f32
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<2x4x33x8xf32>
}

// Dynamic lengths: extents are read with tensor.dim and passed as sizes.
// CHECK-LABEL: func.func @dynamic
// CHECK-DAG: %[[LQ:.*]] = tensor.dim %arg0, %c2
// CHECK-DAG: %[[LK:.*]] = tensor.dim %arg1, %c2
// CHECK: attn.einsum {{.*}} -> tensor<1x2x?x?xf64>
// CHECK: attn.map sizes(%[[LQ]], %[[LK]]) {{.*}} -> tensor<1x2x?x?xi1>
func.func @dynamic(%q: tensor<1x2x?x8xf64>, %k: tensor<1x2x?x8xf64>, %v: tensor<1x2x?x8xf64>) -> tensor<1x2x?x8xf64> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>, scale = 0.5 : f64} : tensor<1x2x?x8xf64>, tensor<1x2x?x8xf64>, tensor<1x2x?x8xf64> -> tensor<1x2x?x8xf64>
  return %o : tensor<1x2x?x8xf64>
}
