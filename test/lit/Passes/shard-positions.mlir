// RUN: attnc-opt %s --attn-shard-positions --split-input-file --verify-diagnostics | FileCheck %s
// A context shard's attention rewritten into its own rows: i and j become
// global positions (i * stride + cp_offsets[n]), and the carrier families
// join the mask as their keep predicates at the global positions and lengths.

// Striped over 4 ranks, causal top-left, an ALiBi-like score and a mask line.
// CHECK-LABEL: func.func @striped_causal
// CHECK: attn.attention
// CHECK-NOT: carrier = [#attn
// CHECK-NOT: context_shard
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK:   %[[SI:.*]] = arith.muli %[[I]], %c4
// CHECK:   %[[OQ:.*]] = tensor.extract %arg3[%c0]
// CHECK:   %[[OQI:.*]] = arith.index_cast %[[OQ]]
// CHECK:   %[[GI:.*]] = arith.addi %[[SI]], %[[OQI]]
// CHECK:   %[[SJ:.*]] = arith.muli %[[J]], %c4
// CHECK:   %[[OK:.*]] = tensor.extract %arg3[%c1]
// CHECK:   %[[OKI:.*]] = arith.index_cast %[[OK]]
// CHECK:   %[[GJ:.*]] = arith.addi %[[SJ]], %[[OKI]]
// The causal family at (GI, GJ), then the old mask line at the same.
// CHECK:   arith.cmpi sle, %[[GJ]], %[[GI]]
// CHECK:   arith.subi %[[GI]], %[[GJ]]
// CHECK:   attn.yield
// CHECK: } score {
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: index, %{{.*}}: index, %[[SI2:.*]]: index, %[[SJ2:.*]]: index):
// CHECK:   %[[A:.*]] = arith.muli %[[SI2]], %c4
// CHECK:   %[[GI2:.*]] = arith.addi %[[A]],
// CHECK:   %[[B:.*]] = arith.muli %[[SJ2]], %c4
// CHECK:   %[[GJ2:.*]] = arith.addi %[[B]],
// CHECK:   arith.subi %[[GJ2]], %[[GI2]]
func.func @striped_causal(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %off: tensor<2xi32>) -> tensor<1x2x8x16xf32> {
  %o = attn.attention %q, %k, %v extras(%off : tensor<2xi32>) {carrier = [#attn.causal<top_left>], context_shard = #attn.context_shard<q_stride = 4, k_stride = 4, q_parts = 4, k_parts = 4, offsets = 0>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x2x8x16xf32> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c9 = arith.constant 9 : index
    %d = arith.subi %i, %j : index
    %ok = arith.cmpi sle, %d, %c9 : index
    attn.yield %ok : i1
  } score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %r = arith.addf %s, %df : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x8x16xf32>
}

// -----

// Tree (decode): queries whole (stride 1, one part), keys split in 4; the
// bottom-right alignment uses the global key length 4 * Lk.
// CHECK-LABEL: func.func @tree_bottom_right
// CHECK: %[[LQ:.*]] = tensor.dim %arg0
// CHECK: %[[LK0:.*]] = tensor.dim %arg1
// CHECK: attn.attention
// CHECK: ^bb0(%{{.*}}: index, %{{.*}}: index, %[[I:.*]]: index, %[[J:.*]]: index):
// CHECK:   %[[GI:.*]] = arith.addi %[[I]],
// CHECK:   %[[GJ:.*]] = arith.addi %[[J]],
// CHECK:   %[[LK:.*]] = arith.muli %[[LK0]], %c4
// CHECK:   %[[OFF:.*]] = arith.subi %[[LK]], %[[LQ]]
// CHECK:   %[[QI:.*]] = arith.addi %[[GI]], %[[OFF]]
// CHECK:   arith.cmpi sle, %[[GJ]], %[[QI]]
func.func @tree_bottom_right(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x16xf32>, %off: tensor<2xi32>) -> tensor<1x2x3x16xf32> {
  %o = attn.attention %q, %k, %v extras(%off : tensor<2xi32>) {carrier = [#attn.causal<bottom_right>], context_shard = #attn.context_shard<q_stride = 1, k_stride = 1, q_parts = 1, k_parts = 4, offsets = 0>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x3x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32> -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

func.func @sinkhorn(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %off: tensor<2xi32>) -> tensor<1x1x8x16xf32> {
  // expected-error @+1 {{cannot be computed in shards (context parallelism): a Sinkhorn anchor}}
  %o = attn.attention %q, %k, %v extras(%off : tensor<2xi32>) {context_shard = #attn.context_shard<q_stride = 1, k_stride = 1, q_parts = 2, k_parts = 2, offsets = 0>, link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 2>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

func.func @bad_offsets(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>, %off: tensor<3xi32>) -> tensor<1x1x8x16xf32> {
  // expected-error @+1 {{context_shard offsets must be [2]}}
  %o = attn.attention %q, %k, %v extras(%off : tensor<3xi32>) {context_shard = #attn.context_shard<q_stride = 1, k_stride = 1, q_parts = 2, k_parts = 2, offsets = 0>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32> -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}
