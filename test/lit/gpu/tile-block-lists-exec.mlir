// REQUIRES: mlir-runner
// attn-gpu-tile-block-lists: a block list of 16 x 32 blocks read through the
// per-128 x 128-tile mask the pass computes gives the same attention as the
// CSR itself (both through the CPU lowering of the shared predicate): rows
// with no block, a full row, a partial last query and key block.
// DEFINE: %{lower} = --attn-lower-cascade-to-linalg --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// RUN: attnc-opt %s --attn-gpu-tile-block-lists --attn-decompose | FileCheck %s --check-prefix=MASK
// RUN: attnc-opt %s --attn-gpu-tile-block-lists --attn-decompose | attnc-opt %{lower} \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.mask
// RUN: attnc-opt %s --attn-decompose | attnc-opt %{lower} \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils > %t.csr
// RUN: diff %t.mask %t.csr
// RUN: FileCheck %s --input-file=%t.mask

// The mask is a [1, 2, 3, 4] i64 step; the predicate reads it, not the CSR.
// MASK: %[[M:.*]] = attn.map {attnc.gpu.step_reason = "the per-tile mask of a block list"{{.*}}-> tensor<1x2x3x4xi64>
// MASK: tensor.extract %[[M]]
// MASK-NEXT: arith.index_cast
// MASK: arith.shrui
// The same list with every size a run-time value: the mask is sized from them.
// MASK: %[[MD:.*]] = attn.map sizes({{.*}}) {attnc.gpu.step_reason = "the per-tile mask of a block list"{{.*}}-> tensor<?x?x?x?xi64>
// MASK: tensor.extract %[[MD]]
// CHECK: rows 600
// CHECK-NEXT: checksum
func.func @main() {
  %off = arith.constant dense<[[[0, 1, 3, 7, 9, 12, 13, 14, 14, 14, 15, 17, 19, 22, 26, 26, 26, 27, 28, 31], [0, 3, 6, 6, 8, 10, 26, 29, 33, 35, 36, 38, 38, 42, 46, 48, 49, 52, 55, 59]]]> : tensor<1x2x20xi32>
  %idx = arith.constant dense<[[[4, 10, 15, 0, 2, 7, 9, 3, 7, 6, 10, 15, 7, 12, 1, 0, 13, 9, 15, 6, 11, 13, 2, 5, 14, 15, 15, 8, 6, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [8, 9, 11, 5, 7, 14, 5, 11, 3, 11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 3, 9, 1, 6, 9, 11, 8, 15, 1, 0, 1, 1, 3, 4, 6, 0, 2, 8, 11, 5, 10, 12, 8, 13, 14, 3, 9, 12, 6, 8, 10, 11]]]> : tensor<1x2x59xi32>
  %q = tensor.generate {
  ^bb0(%b: index, %h: index, %i: index, %d: index):
    %x = arith.addi %i, %d : index
    %y = arith.muli %x, %h : index
    %z = arith.addi %x, %y : index
    %zi = arith.index_cast %z : index to i64
    %f = arith.sitofp %zi : i64 to f32
    %c = arith.constant 0.37 : f32
    %a = arith.mulf %f, %c : f32
    %s = math.sin %a : f32
    tensor.yield %s : f32
  } : tensor<1x2x300x4xf32>
  %k = tensor.generate {
  ^bb0(%b: index, %h: index, %j: index, %d: index):
    %x = arith.addi %j, %d : index
    %xi = arith.index_cast %x : index to i64
    %f = arith.sitofp %xi : i64 to f32
    %c = arith.constant 0.71 : f32
    %a = arith.mulf %f, %c : f32
    %s = math.cos %a : f32
    tensor.yield %s : f32
  } : tensor<1x2x500x4xf32>
  %o = attn.attention %q, %k, %k extras(%off, %idx : tensor<1x2x20xi32>, tensor<1x2x59xi32>) {carrier = [#attn.block_list<q_block = 16, k_block = 32, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x4xf32>, tensor<1x2x500x4xf32>, tensor<1x2x500x4xf32> -> tensor<1x2x300x4xf32>
  // A counted list (FlexAttention's layout) of 256-row query blocks: one bit
  // row per 128-row tile.
  %cnt = arith.constant dense<[[[3, 0], [6, 6]]]> : tensor<1x2x2xi32>
  %cidx = arith.constant dense<[[[[5, 8, 11, 0, 0, 0], [0, 0, 0, 0, 0, 0]], [[0, 1, 2, 5, 7, 10], [1, 3, 6, 7, 8, 9]]]]> : tensor<1x2x2x6xi32>
  %o2 = attn.attention %q, %k, %k extras(%cnt, %cidx : tensor<1x2x2xi32>, tensor<1x2x2x6xi32>) {carrier = [#attn.block_list<q_block = 256, k_block = 32, offsets = 0, indices = 1, counted = true>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x4xf32>, tensor<1x2x500x4xf32>, tensor<1x2x500x4xf32> -> tensor<1x2x300x4xf32>
  // The first list again, its sizes known only at run time.
  %qd = tensor.cast %q : tensor<1x2x300x4xf32> to tensor<?x?x?x4xf32>
  %kd = tensor.cast %k : tensor<1x2x500x4xf32> to tensor<?x?x?x4xf32>
  %offd = tensor.cast %off : tensor<1x2x20xi32> to tensor<?x?x?xi32>
  %idxd = tensor.cast %idx : tensor<1x2x59xi32> to tensor<?x?x?xi32>
  %o3d = attn.attention %qd, %kd, %kd extras(%offd, %idxd : tensor<?x?x?xi32>, tensor<?x?x?xi32>) {carrier = [#attn.block_list<q_block = 16, k_block = 32, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32>, tensor<?x?x?x4xf32> -> tensor<?x?x?x4xf32>
  %o3 = tensor.cast %o3d : tensor<?x?x?x4xf32> to tensor<1x2x300x4xf32>
  // Every output element, then a count of rows and a checksum line.
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c300 = arith.constant 300 : index
  scf.for %h = %c0 to %c2 step %c1 {
    scf.for %i = %c0 to %c300 step %c1 {
      scf.for %d = %c0 to %c4 step %c1 {
        %x = tensor.extract %o[%c0, %h, %i, %d] : tensor<1x2x300x4xf32>
        vector.print %x : f32
        %y = tensor.extract %o2[%c0, %h, %i, %d] : tensor<1x2x300x4xf32>
        vector.print %y : f32
        %w = tensor.extract %o3[%c0, %h, %i, %d] : tensor<1x2x300x4xf32>
        vector.print %w : f32
      }
    }
  }
  %rows = arith.muli %c2, %c300 : index
  vector.print str "rows "
  vector.print %rows : index
  vector.print str "checksum\n"
  return
}
