// REQUIRES: mlir-runner
// The tile schedule of a mask that interval evaluation cannot bound, with
// the block classes of attn-classify-mask-blocks (computed here on the
// host by the same generic steps the GPU runs): brute force as in
// carrier-tiles-exec.mlir, L = 300 (ragged last blocks). At 128 x 128
// tiles (the classes' blocks) the schedule is exact: no empty tile visited,
// no whole tile left partial; at 64 x 64, sound.
// DEFINE: %{lower} = --attn-lower-cascade-to-linalg --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// DEFINE: %{check} = attn-test-carrier-tiles{bm=128 bn=128 min-lq=300 max-lq=300 min-lk=300 max-lk=300}
// DEFINE: %{check64} = attn-test-carrier-tiles{bm=64 bn=64 min-lq=300 max-lq=300 min-lk=300 max-lk=300}
// RUN: attnc-opt %s --pass-pipeline="builtin.module(attn-summarize-mask-tables, attn-classify-mask-blocks, func.func(%{check}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s
// RUN: attnc-opt %s --pass-pipeline="builtin.module(attn-classify-mask-blocks, func.func(%{check64}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=SOUND
// Without the classes every tile the other terms keep is visited and none
// is full:
// RUN: attnc-opt %s --pass-pipeline="builtin.module(func.func(%{check}))" \
// RUN:   | attnc-opt %{lower} | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils \
// RUN:   | FileCheck %s --check-prefix=NONE

// Counters: tiles, visited, full, violations, visited empty, full missed.
// The tiles with a kept pair and those with every pair kept, counted by
// hand (a Python loop over the pairs): 5 and 1, 5 and 0, 8 and 4.
// CHECK-DAG: tilecheck block_table: 9, 5, 1, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck unsigned_band: 9, 5, 0, 0, 0, 0{{$}}
// CHECK-DAG: tilecheck per_head_table: 18, 8, 4, 0, 0, 0{{$}}
// Document ids compared at i and j (documents [0, 100) and [100, 300)),
// causal: bounded through the table's block summaries, and classified too
// (each block decided by interval evaluation where it can be, by its keys
// where not): 6 tiles with a kept pair, 1 with all kept.
// CHECK-DAG: tilecheck document_ids: 9, 6, 1, 0, 0, 0{{$}}
// Shifted chunks (64 tokens, odd heads shifted by 32 with wrap-around,
// a floor modulus by the length): classified because the remainder wraps;
// per head 3 and 9 tiles with a kept pair, 1 and 0 with all kept.
// CHECK-DAG: tilecheck shifted_chunks: 18, 12, 1, 0, 0, 0{{$}}
// NONE-DAG: tilecheck shifted_chunks: 18, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// SOUND-DAG: tilecheck block_table: 25, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// SOUND-DAG: tilecheck unsigned_band: 25, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// SOUND-DAG: tilecheck per_head_table: 50, {{[0-9]+}}, {{[0-9]+}}, 0, {{[0-9]+}}, {{[0-9]+}}{{$}}
// (the causal half of block_table is bounded, its table read is not)
// NONE-DAG: tilecheck block_table: 9, 6, 0, 0, 1, 1{{$}}
// NONE-DAG: tilecheck unsigned_band: 9, 9, 0, 0, 4, 0{{$}}
// NONE-DAG: tilecheck per_head_table: 18, 18, 0, 0, 10, 4{{$}}
// NONE-DAG: tilecheck document_ids: 9, 6, 0, 0, 0, 1{{$}}

func.func @block_table() {
  %t = arith.constant dense<[[1,0,0,0,0],[1,1,0,0,0],[0,1,1,0,0],[1,0,0,1,0],[0,0,1,1,1]]> : tensor<5x5xi32>
  %q = tensor.empty() : tensor<1x1x300x4xf32>
  %o = attn.attention %q, %q, %q extras(%t : tensor<5x5xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32> -> tensor<1x1x300x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c64 = arith.constant 64 : index
    %qb = arith.floordivsi %i, %c64 : index
    %kb = arith.floordivsi %j, %c64 : index
    %x = tensor.extract %t[%qb, %kb] : tensor<5x5xi32>
    %c0 = arith.constant 0 : i32
    %on = arith.cmpi ne, %x, %c0 : i32
    %causal = arith.cmpi sle, %j, %i : index
    %keep = arith.andi %on, %causal : i1
    attn.yield %keep : i1
  }
  return
}
func.func @unsigned_band() {
  %q = tensor.empty() : tensor<1x1x300x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32> -> tensor<1x1x300x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %w = arith.constant 100 : index
    %keep = arith.cmpi ult, %d, %w : index
    attn.yield %keep : i1
  }
  return
}
func.func @per_head_table() {
  %t = arith.constant dense<[[[1,1,0,0,0],[1,1,0,0,0],[0,0,1,1,0],[0,0,1,1,0],[0,0,0,0,1]],[[1,0,0,0,0],[0,1,0,0,0],[1,1,1,0,0],[0,0,0,1,0],[1,0,0,0,1]]]> : tensor<2x5x5xi32>
  %q = tensor.empty() : tensor<1x2x300x4xf32>
  %o = attn.attention %q, %q, %q extras(%t : tensor<2x5x5xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x4xf32>, tensor<1x2x300x4xf32>, tensor<1x2x300x4xf32> -> tensor<1x2x300x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c64 = arith.constant 64 : index
    %qb = arith.floordivsi %i, %c64 : index
    %kb = arith.floordivsi %j, %c64 : index
    %x = tensor.extract %t[%h, %qb, %kb] : tensor<2x5x5xi32>
    %c0 = arith.constant 0 : i32
    %keep = arith.cmpi ne, %x, %c0 : i32
    attn.yield %keep : i1
  }
  return
}
func.func @document_ids() {
  %doc = arith.constant dense<[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]> : tensor<300xi32>
  %q = tensor.empty() : tensor<1x1x300x4xf32>
  %o = attn.attention %q, %q, %q extras(%doc : tensor<300xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32>, tensor<1x1x300x4xf32> -> tensor<1x1x300x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %di = tensor.extract %doc[%i] : tensor<300xi32>
    %dj = tensor.extract %doc[%j] : tensor<300xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    %causal = arith.cmpi sle, %j, %i : index
    %keep = arith.andi %same, %causal : i1
    attn.yield %keep : i1
  }
  return
}
func.func @shifted_chunks() {
  %q = tensor.empty() : tensor<1x2x300x4xf32>
  %c2 = arith.constant 2 : index
  %len = tensor.dim %q, %c2 : tensor<1x2x300x4xf32>
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x4xf32>, tensor<1x2x300x4xf32>, tensor<1x2x300x4xf32> -> tensor<1x2x300x4xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %hf = arith.floordivsi %h, %c2 : index
    %hm = arith.muli %hf, %c2 : index
    %odd = arith.subi %h, %hm : index
    %sh = arith.muli %odd, %c32 : index
    %z = arith.cmpi eq, %len, %c0 : index
    %d = arith.select %z, %c1, %len : index
    %xi0 = arith.addi %i, %len : index
    %xi = arith.subi %xi0, %sh : index
    %fi = arith.floordivsi %xi, %d : index
    %fqi = arith.select %z, %c0, %fi : index
    %mi = arith.muli %fqi, %len : index
    %ri = arith.subi %xi, %mi : index
    %ci = arith.floordivsi %ri, %c64 : index
    %xj0 = arith.addi %j, %len : index
    %xj = arith.subi %xj0, %sh : index
    %fj = arith.floordivsi %xj, %d : index
    %fqj = arith.select %z, %c0, %fj : index
    %mj = arith.muli %fqj, %len : index
    %rj = arith.subi %xj, %mj : index
    %cj = arith.floordivsi %rj, %c64 : index
    %keep = arith.cmpi eq, %ci, %cj : index
    attn.yield %keep : i1
  }
  return
}
func.func @main() {
  call @shifted_chunks() : () -> ()
  call @block_table() : () -> ()
  call @document_ids() : () -> ()
  call @unsigned_band() : () -> ()
  call @per_head_table() : () -> ()
  return
}
