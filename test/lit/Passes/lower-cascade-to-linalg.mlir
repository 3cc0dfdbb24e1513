// RUN: attnc-opt %s --attn-lower-cascade-to-linalg --split-input-file | FileCheck %s
// Each cascade op becomes linalg.generic on tensors.

// The einsum's iteration dims absent from the output map are reductions.
// CHECK-LABEL: func.func @einsum
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8x5xf32>) outs(%[[Z]] : tensor<4x5xf32>)
// CHECK:   arith.mulf
// CHECK:   arith.addf
func.func @einsum(%a: tensor<4x8xf32>, %b: tensor<8x5xf32>) -> tensor<4x5xf32> {
  %r = attn.einsum %a, %b {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>]} : tensor<4x8xf32>, tensor<8x5xf32> -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// zero_weights: a term whose first factor is 0 leaves the sum as it was (a
// masked key's 0 x NaN adds nothing).
// CHECK-LABEL: func.func @einsum_zero_weights
// CHECK: linalg.generic
// CHECK: ^bb0(%[[W:.*]]: f32, %[[V:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK:   %[[P:.*]] = arith.mulf %[[W]], %[[V]]
// CHECK:   %[[S:.*]] = arith.addf %[[ACC]], %[[P]]
// CHECK:   %[[Z:.*]] = arith.cmpf oeq, %[[W]], %{{.*}}
// CHECK:   %[[R:.*]] = arith.select %[[Z]], %[[ACC]], %[[S]]
// CHECK:   linalg.yield %[[R]]
func.func @einsum_zero_weights(%a: tensor<4x8xf32>, %b: tensor<8x5xf32>) -> tensor<4x5xf32> {
  %r = attn.einsum %a, %b {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>], zero_weights} : tensor<4x8xf32>, tensor<8x5xf32> -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

// Index arguments of a map become linalg.index; dynamic sizes feed
// tensor.empty.
// CHECK-LABEL: func.func @map
// CHECK: %[[E:.*]] = tensor.empty(%arg0) : tensor<?x3xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?x3xf32>)
// CHECK:   linalg.index 0
// CHECK:   linalg.index 1
// CHECK:   arith.addi
func.func @map(%n: index) -> tensor<?x3xf32> {
  %r = attn.map sizes(%n) {indexing_maps = []} -> tensor<?x3xf32> {
  ^bb0(%i: index, %j: index):
    %s = arith.addi %i, %j : index
    %c = arith.index_cast %s : index to i64
    %f = arith.sitofp %c : i64 to f32
    attn.yield %f : f32
  }
  return %r : tensor<?x3xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_max
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NINF]]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK:   arith.maximumf
func.func @reduce_max(%a: tensor<4x8xf32>) -> tensor<4xf32> {
  %r = attn.reduce <max> %a : tensor<4x8xf32> -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// The row anchor's empty-row guard: 0 where the denominator is 0.
// CHECK-LABEL: func.func @row_normalize
// CHECK: linalg.generic
// CHECK:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:   %[[C:.*]] = arith.cmpf oeq, %{{.*}}, %[[Z]]
// CHECK:   %[[Q:.*]] = arith.divf
// CHECK:   arith.select %[[C]], %[[Z]], %[[Q]]
func.func @row_normalize(%a: tensor<4x8x2xf32>, %d: tensor<4x8xf32>) -> tensor<4x8x2xf32> {
  %r = attn.row_normalize %a by %d : tensor<4x8x2xf32>, tensor<4x8xf32> -> tensor<4x8x2xf32>
  return %r : tensor<4x8x2xf32>
}

// -----

// Sinkhorn: a loop over the iterations (2 here) whose body computes row sums,
// divides, computes column sums and divides, yielding the new plan.
// CHECK-LABEL: func.func @sinkhorn
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C2]] step %{{.*}} iter_args(%[[W:.*]] = %arg0) -> (tensor<2x4x4xf32>)
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[W]]
// CHECK: iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: %[[NEW:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: scf.yield %[[NEW]]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @sinkhorn(%w: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %r = attn.sinkhorn %w {iterations = 2 : i64} : tensor<2x4x4xf32>
  return %r : tensor<2x4x4xf32>
}

// -----

// The softmax combine rule: global max, per-split factors, merged sum and
// accumulator, guarded division.
// CHECK-LABEL: func.func @merge
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK: arith.select
func.func @merge(%m: tensor<1x2x3x4xf32>, %l: tensor<1x2x3x4xf32>, %acc: tensor<1x2x3x4x8xf32>) -> tensor<1x2x3x8xf32> {
  %r = attn.merge_partials %m, %l, %acc : tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>, tensor<1x2x3x4x8xf32> -> tensor<1x2x3x8xf32>
  return %r : tensor<1x2x3x8xf32>
}
