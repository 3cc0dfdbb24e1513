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

// A pool becomes a map whose element loops over its group's tokens: the
// group starts at g * stride, holds min(size, L - start) tokens (none: 0),
// and a mean divides by that count.
// CHECK-LABEL: func.func @pool_mean
// CHECK: attn.map {{.*}} -> tensor<1x2x6x8xf32>
// CHECK:   %[[START:.*]] = arith.muli %{{.*}}, %c16
// CHECK:   %[[LEFT:.*]] = arith.subi %c100, %[[START]]
// CHECK:   %[[N:.*]] = arith.minsi %c32, %[[LEFT]]
// CHECK:   %[[COUNT:.*]] = arith.maxsi %[[N]], %c0
// CHECK:   %[[SUM:.*]] = scf.for %[[T:.*]] = %{{.*}} to %[[COUNT]] step %c1 iter_args(%[[ACC:.*]] = %cst
// CHECK:     %[[TOK:.*]] = arith.addi %[[START]], %[[T]]
// CHECK:     %[[E:.*]] = tensor.extract %arg0[%{{.*}}, %{{.*}}, %[[TOK]], %{{.*}}]
// CHECK:     arith.addf %[[ACC]], %[[E]]
// CHECK:   arith.divf %[[SUM]]
// CHECK:   arith.select
// CHECK-NOT: attn.pool
func.func @pool_mean(%x: tensor<1x2x100x8xf32>) -> tensor<1x2x6x8xf32> {
  %r = attn.pool <mean> %x {size = 32 : i64, stride = 16 : i64} : tensor<1x2x100x8xf32> -> tensor<1x2x6x8xf32>
  return %r : tensor<1x2x6x8xf32>
}

// A max starts from -inf; a dynamic length gives the group count from the
// input's length, ceildiv(max(L - size, 0), stride) + 1.
// CHECK-LABEL: func.func @pool_max_dynamic
// CHECK: %[[L:.*]] = tensor.dim %arg0, %c2
// CHECK: arith.subi %[[L]], %c64
// CHECK: arith.maxsi
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %cst
// CHECK:   arith.maximumf
// CHECK-NOT: arith.divf
// CHECK-NOT: attn.pool
func.func @pool_max_dynamic(%x: tensor<?x?x?x8xf32>) -> tensor<?x?x?x8xf32> {
  %r = attn.pool <max> %x {size = 64 : i64, stride = 64 : i64} : tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
  return %r : tensor<?x?x?x8xf32>
}
