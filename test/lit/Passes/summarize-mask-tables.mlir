// RUN: attnc-opt --attn-summarize-mask-tables -split-input-file %s | FileCheck %s
// Running it twice changes nothing more:
// RUN: attnc-opt --attn-summarize-mask-tables --attn-summarize-mask-tables -split-input-file %s | FileCheck %s
// A static i32 table read at a position in a mask gets the [min, max] of
// its 64-entry blocks as a sparse table, a new extra (table_bounds pairs the
// two); reads at b or h
// only, dynamic tables, i64 tables and score regions are left alone.

// CHECK-LABEL: func.func @documents
// CHECK: %[[L0:.*]] = attn.map {attnc.gpu.step_reason = "the per-block bounds of a table a mask reads", indexing_maps = []} -> tensor<4x2xi32>
// CHECK: scf.for
// CHECK: tensor.extract %{{.*}} : tensor<200xi32>
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: %[[B:.*]] = attn.map {attnc.gpu.step_reason = "the per-block bounds of a table a mask reads", indexing_maps = []} -> tensor<3x4x2xi32>
// CHECK: arith.shli
// CHECK: scf.for
// CHECK: tensor.extract %[[L0]]
// CHECK: attn.attention {{.*}} extras(%{{.*}}, %[[B]] : tensor<200xi32>, tensor<3x4x2xi32>) {{.*}}table_bounds = array<i64: 0, 1>
func.func @documents(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xi32>) -> tensor<1x2x200x64xf32> {
  %o = attn.attention %q, %q, %q extras(%seq : tensor<200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seq[%i] : tensor<200xi32>
    %sj = tensor.extract %seq[%j] : tensor<200xi32>
    %keep = arith.cmpi eq, %sj, %si : i32
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x200x64xf32>
}

// -----

// Per-batch tables [B, L]: one row of bounds per batch.
// CHECK-LABEL: func.func @per_batch
// CHECK: attn.map {{.*}} -> tensor<3x1x2xi32>
// CHECK: attn.map {{.*}} -> tensor<3x1x1x2xi32>
// CHECK: table_bounds = array<i64: 0, 1>
func.func @per_batch(%q: tensor<3x2x50x64xf32>, %seg: tensor<3x50xi32>) -> tensor<3x2x50x64xf32> {
  %o = attn.attention %q, %q, %q extras(%seg : tensor<3x50xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<3x2x50x64xf32>, tensor<3x2x50x64xf32>, tensor<3x2x50x64xf32> -> tensor<3x2x50x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seg[%b, %i] : tensor<3x50xi32>
    %sj = tensor.extract %seg[%b, %j] : tensor<3x50xi32>
    %keep = arith.cmpi eq, %sj, %si : i32
    attn.yield %keep : i1
  }
  return %o : tensor<3x2x50x64xf32>
}

// -----

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: attn.map
// CHECK-NOT: table_bounds
func.func @left_alone(%q: tensor<1x2x200x64xf32>, %len: tensor<2xi32>, %dyn: tensor<?xi32>, %wide: tensor<200xi64>, %pos: tensor<200x200xi32>) -> tensor<1x2x200x64xf32> {
  %o = attn.attention %q, %q, %q extras(%len, %dyn, %wide, %pos : tensor<2xi32>, tensor<?xi32>, tensor<200xi64>, tensor<200x200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %l = tensor.extract %len[%h] : tensor<2xi32>
    %d = tensor.extract %dyn[%j] : tensor<?xi32>
    %w = tensor.extract %wide[%j] : tensor<200xi64>
    %p = tensor.extract %pos[%i, %j] : tensor<200x200xi32>
    %w32 = arith.trunci %w : i64 to i32
    %a = arith.cmpi slt, %d, %l : i32
    %c = arith.cmpi slt, %w32, %p : i32
    %keep = arith.andi %a, %c : i1
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x200x64xf32>
}

// -----

// A score region's table reads, and mask reads inside a loop (`sum`), which
// MaskBounds does not evaluate, get no bounds.
// CHECK-LABEL: func.func @score_and_loop
// CHECK-NOT: attn.map
// CHECK-NOT: table_bounds
func.func @score_and_loop(%q: tensor<1x2x200x64xf32>, %bias: tensor<200xi32>, %seq: tensor<200xi32>) -> tensor<1x2x200x64xf32> {
  %o = attn.attention %q, %q, %q extras(%bias, %seq : tensor<200xi32>, tensor<200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %z = arith.constant 0 : i32
    %sum = scf.for %r = %c0 to %c4 step %c1 iter_args(%acc = %z) -> (i32) {
      %x = arith.addi %j, %r : index
      %t = tensor.extract %seq[%x] : tensor<200xi32>
      %n = arith.addi %acc, %t : i32
      scf.yield %n : i32
    }
    %keep = arith.cmpi sgt, %sum, %z : i32
    attn.yield %keep : i1
  }
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = tensor.extract %bias[%j] : tensor<200xi32>
    %f = arith.sitofp %t : i32 to f32
    %r = arith.addf %s, %f : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x200x64xf32>
}
