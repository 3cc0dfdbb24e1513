// REQUIRES: mlir-runner
// The tile schedule with per-block bounds of a mask's tables
// (attn-summarize-mask-tables): tiles of other documents are skipped and
// tiles inside one document run without the per-element mask. Brute force
// as in carrier-tiles-exec.mlir, for Lq, Lk in [190, 200] and 64 x 64 tiles.
// DEFINE: %{lower} = --attn-lower-cascade-to-linalg --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// DEFINE: %{check} = func.func(attn-test-carrier-tiles{bm=64 bn=64 min-lq=190 max-lq=200 min-lk=190 max-lk=200})
// RUN: attnc-opt %s --pass-pipeline="builtin.module(attn-summarize-mask-tables, %{check})" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s
// Without the bounds the same masks visit empty tiles and call no tile full:
// RUN: attnc-opt %s --pass-pipeline="builtin.module(%{check})" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=NONE

// Documents aligned to the 64-entry blocks: exact (no empty tile visited, no
// whole tile left partial). Unaligned ones: sound (no violation).
// CHECK-DAG: tilecheck aligned_documents: {{[0-9]+}}, {{[0-9]+}}, {{[1-9][0-9]*}}, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck unaligned_documents: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// NONE-DAG: tilecheck aligned_documents: {{[0-9]+}}, {{[0-9]+}}, 0, 0, {{[1-9][0-9]*}}, {{[1-9][0-9]*}}{{$}}

func.func @aligned_documents() {
  %c8 = arith.constant 8 : index
  %seq = arith.constant dense<[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]> : tensor<200xi32>
  %q = tensor.empty(%c8) : tensor<1x1x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%seq : tensor<200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<1x1x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seq[%i] : tensor<200xi32>
    %sj = tensor.extract %seq[%j] : tensor<200xi32>
    %c0 = arith.constant 0 : i32
    %causal = arith.cmpi sle, %j, %i : index
    %same = arith.cmpi eq, %sj, %si : i32
    %prefix = arith.cmpi eq, %sj, %c0 : i32
    %doc = arith.ori %same, %prefix : i1
    %keep = arith.andi %causal, %doc : i1
    attn.yield %keep : i1
  }
  return
}
func.func @unaligned_documents() {
  %c8 = arith.constant 8 : index
  %seq = arith.constant dense<[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]> : tensor<200xi32>
  %q = tensor.empty(%c8) : tensor<1x1x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%seq : tensor<200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<1x1x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seq[%i] : tensor<200xi32>
    %sj = tensor.extract %seq[%j] : tensor<200xi32>
    %keep = arith.cmpi eq, %sj, %si : i32
    attn.yield %keep : i1
  }
  return
}
// Per-batch tables, a shifted read (ranges of up to 3 blocks) and a table
// shorter than the keys (reads clamped to its last entry, as the frontend
// writes them): sound.
// CHECK-DAG: tilecheck per_batch_shifted: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// CHECK-DAG: tilecheck short_table: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
func.func @per_batch_shifted() {
  %c8 = arith.constant 8 : index
  %seg = arith.constant dense<[[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]]> : tensor<2x200xi32>
  %q = tensor.empty(%c8) : tensor<2x1x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%seg : tensor<2x200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32> -> tensor<2x1x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c70 = arith.constant 70 : index
    %c199 = arith.constant 199 : index
    %js = arith.addi %j, %c70 : index
    %jc = arith.minsi %js, %c199 : index
    %si = tensor.extract %seg[%b, %i] : tensor<2x200xi32>
    %sj = tensor.extract %seg[%b, %jc] : tensor<2x200xi32>
    %keep = arith.cmpi sle, %sj, %si : i32
    attn.yield %keep : i1
  }
  return
}
func.func @short_table() {
  %c8 = arith.constant 8 : index
  %t = arith.constant dense<[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]> : tensor<100xi32>
  %q = tensor.empty(%c8) : tensor<1x1x?x4xf32>
  %o = attn.attention %q, %q, %q extras(%t : tensor<100xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<1x1x?x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c99 = arith.constant 99 : index
    %ic = arith.minsi %i, %c99 : index
    %jc = arith.minsi %j, %c99 : index
    %si = tensor.extract %t[%ic] : tensor<100xi32>
    %sj = tensor.extract %t[%jc] : tensor<100xi32>
    %keep = arith.cmpi eq, %sj, %si : i32
    attn.yield %keep : i1
  }
  return
}
func.func @main() {
  call @per_batch_shifted() : () -> ()
  call @short_table() : () -> ()
  call @aligned_documents() : () -> ()
  call @unaligned_documents() : () -> ()
  return
}
