// RUN: attnc-opt --attn-gpu-hoist-invariants --cse %s | FileCheck %s
// A transcendental part of an element's work that depends on fewer loops
// than the step's (RoPE's cosine and sine: position and channel, not batch
// and head) is computed once per point of its loops, in a generic of its own,
// and read broadcast.

// CHECK-LABEL: func.func @rope(
// CHECK-SAME: %[[X:.*]]: tensor<?x?x?x8xf32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[L:.*]] = tensor.dim %[[X]], %[[C2]]
// CHECK: %[[E:.*]] = tensor.empty(%[[L]]) : tensor<?x8xf32>
// CHECK: %[[T:.*]]:2 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: outs(%[[E]], %[[E]] : tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: math.exp2
// CHECK: %[[COS:.*]] = math.cos
// CHECK: %[[SIN:.*]] = math.sin
// CHECK: linalg.yield %[[COS]], %[[SIN]] : f32, f32
// CHECK: linalg.generic
// CHECK-SAME: indexing_maps = [#[[ID:.*]], #[[PD:.*]], #[[PD]], #[[ID]]]
// CHECK-SAME: ins(%[[X]], %[[T]]#0, %[[T]]#1 : tensor<?x?x?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[CS:.*]]: f32, %[[SN:.*]]: f32, %{{.*}}: f32):
// CHECK-NOT: math.
// CHECK: arith.mulf %[[A]], %[[CS]]
// CHECK-NOT: math.
// CHECK: arith.mulf %{{.*}}, %[[SN]]
// CHECK-NOT: math.
// CHECK: linalg.yield
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @rope(%x: tensor<?x?x?x8xf32>) -> tensor<?x?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x?x8xf32>
  %h = tensor.dim %x, %c1 : tensor<?x?x?x8xf32>
  %l = tensor.dim %x, %c2 : tensor<?x?x?x8xf32>
  %e = tensor.empty(%b, %h, %l) : tensor<?x?x?x8xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x?x8xf32>) outs(%e : tensor<?x?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %ii = arith.index_cast %i : index to i32
    %jj = arith.index_cast %j : index to i32
    %if = arith.sitofp %ii : i32 to f32
    %jf = arith.sitofp %jj : i32 to f32
    %k = arith.constant -1.5 : f32
    %p = arith.mulf %jf, %k : f32
    %freq = math.exp2 %p : f32
    %ang = arith.mulf %if, %freq : f32
    %cs = math.cos %ang : f32
    %sn = math.sin %ang : f32
    %u = arith.mulf %a, %cs : f32
    %v = arith.mulf %a, %sn : f32
    %w = arith.addf %u, %v : f32
    linalg.yield %w : f32
  } -> tensor<?x?x?x8xf32>
  return %r : tensor<?x?x?x8xf32>
}

// A square root is a few instructions: a table would cost more than it saves.
// CHECK-LABEL: func.func @cheap(
// CHECK: linalg.generic
// CHECK: math.sqrt
// CHECK-NOT: linalg.generic
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @cheap(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %j = linalg.index 1 : index
    %jj = arith.index_cast %j : index to i32
    %jf = arith.sitofp %jj : i32 to f32
    %s = math.sqrt %jf : f32
    %m = arith.mulf %a, %s : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// The cosine of an input element depends on every loop: nothing to hoist.
// Nor over loops that run once (a table would only add a launch).
// CHECK-LABEL: func.func @per_element(
// CHECK: linalg.generic
// CHECK: math.cos
// CHECK: math.cos
// CHECK-NOT: linalg.generic
#row = affine_map<(d0, d1) -> (d1)>
func.func @per_element(%x: tensor<4x8xf32>, %y: tensor<1x8xf32>) -> (tensor<4x8xf32>, tensor<1x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = math.cos %a : f32
    linalg.yield %c : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<1x8xf32>
  %r1 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<1x8xf32>) outs(%e1 : tensor<1x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %j = linalg.index 1 : index
    %jj = arith.index_cast %j : index to i32
    %jf = arith.sitofp %jj : i32 to f32
    %c = math.cos %jf : f32
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x8xf32>
  return %r, %r1 : tensor<4x8xf32>, tensor<1x8xf32>
}
