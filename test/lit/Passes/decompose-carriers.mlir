// RUN: attnc-opt %s --attn-decompose --split-input-file | FileCheck %s
// The carrier predicate of each static family, built inside the keep map.

// Sliding window with sinks, bottom-right aligned: i' = i + (Lk - Lq);
// keep = (i' - 4 <= j && j <= i') || j < 2.
// CHECK-LABEL: func.func @window_sinks
// CHECK: attn.map {{.*}} -> tensor<1x1x6x10xi1>
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK:   %[[OFF:.*]] = arith.subi %c10, %c6
// CHECK:   %[[QI:.*]] = arith.addi %[[I]], %[[OFF]]
// CHECK:   %[[LO:.*]] = arith.subi %[[QI]], %c4
// CHECK:   arith.cmpi sle, %[[LO]], %[[J]]
// CHECK:   arith.cmpi sle, %[[J]], %{{.*}}
// CHECK:   arith.cmpi slt, %[[J]], %c2
// CHECK:   arith.ori
func.func @window_sinks(%q: tensor<1x1x6x4xf32>, %k: tensor<1x1x10x4xf32>, %v: tensor<1x1x10x4xf32>) -> tensor<1x1x6x4xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.window<left = 4, right = 0, sinks = 2, align = bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x6x4xf32>, tensor<1x1x10x4xf32>, tensor<1x1x10x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

// -----

// Documents from cumulative lengths: a loop counts the boundaries at or
// below i (its document), whose span [cu[doc], cu[doc+1]) must hold j.
// CHECK-LABEL: func.func @document
// CHECK: attn.map {{.*}} -> tensor<1x1x8x8xi1>
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK: scf.for
// CHECK:   tensor.extract %arg3
// CHECK:   arith.cmpi sle, %{{.*}}, %[[I]]
// CHECK: arith.cmpi sle, %{{.*}}, %[[J]]
// CHECK: arith.cmpi slt, %[[J]], %{{.*}}
func.func @document(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>, %cu: tensor<3xi32>) -> tensor<1x1x8x4xf32> {
  %o = attn.attention %q, %k, %v extras(%cu : tensor<3xi32>) {carrier = [#attn.document<seqlens = 0>, #attn.causal<top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  return %o : tensor<1x1x8x4xf32>
}

// -----

// A 2-D neighborhood splits positions into row-major coordinates (last axis
// first), then tests each axis: dilation group, clamped window start.
// CHECK-LABEL: func.func @neighborhood
// CHECK: attn.map {{.*}} -> tensor<1x1x24x24xi1>
// CHECK: arith.remsi %{{.*}}, %c6
// CHECK: arith.floordivsi %{{.*}}, %c6
// CHECK: arith.remsi %{{.*}}, %c2
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: arith.remsi %{{.*}}, %c4
func.func @neighborhood(%q: tensor<1x1x24x4xf32>, %k: tensor<1x1x24x4xf32>, %v: tensor<1x1x24x4xf32>) -> tensor<1x1x24x4xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.neighborhood<grid = [4, 6], window = [3, 3], dilation = [1, 2], stride = [1, 1], causal = [true, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x24x4xf32>, tensor<1x1x24x4xf32>, tensor<1x1x24x4xf32> -> tensor<1x1x24x4xf32>
  return %o : tensor<1x1x24x4xf32>
}

// -----

// Block list: the query block's CSR row is scanned for the key block.
// CHECK-LABEL: func.func @block_list
// CHECK: attn.map {{.*}} -> tensor<1x1x8x8xi1>
// CHECK: arith.floordivsi %{{.*}}, %c4
// CHECK: tensor.extract %arg3
// CHECK: scf.for
// CHECK:   tensor.extract %arg4
// CHECK:   arith.cmpi eq
func.func @block_list(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>, %off: tensor<1x1x3xi32>, %idx: tensor<1x1x3xi32>) -> tensor<1x1x8x4xf32> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<1x1x3xi32>, tensor<1x1x3xi32>) {carrier = [#attn.block_list<q_block = 4, k_block = 4, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  return %o : tensor<1x1x8x4xf32>
}

// -----

// Prefix-LM and a user mask region are intersected.
// CHECK-LABEL: func.func @prefix_mask
// CHECK: attn.map {{.*}} -> tensor<1x1x8x8xi1>
// CHECK: arith.cmpi slt, %{{.*}}, %c3
// CHECK: arith.ori
// CHECK: arith.remsi
// CHECK: arith.andi
func.func @prefix_mask(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.prefix<length = 3>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c2 = arith.constant 2 : index
    %r = arith.remsi %j, %c2 : index
    %c0 = arith.constant 0 : index
    %e = arith.cmpi eq, %r, %c0 : index
    attn.yield %e : i1
  }
  return %o : tensor<1x1x8x4xf32>
}
