// RUN: attnc-opt --attn-classify-mask-blocks -split-input-file %s | FileCheck %s
// Running it twice changes nothing more:
// RUN: attnc-opt --attn-classify-mask-blocks --attn-classify-mask-blocks -split-input-file %s | FileCheck %s
// RUN: attnc-opt --attn-summarize-mask-tables --attn-classify-mask-blocks -split-input-file %s | FileCheck %s --check-prefix=SUM
// A mask interval evaluation cannot bound (here a table read at i and j)
// gets its 128 x 128 block classes computed by generic steps (per row of a
// block, as a box gives no decision for it: the row's keys scanned; then
// the union per block, eight rows a step), a counted block list of
// the blocks with a kept pair (each slot's scan stops at its block), and
// mask_classes naming the class table. Masks it can bound, dynamic shapes
// and attentions that already have a block list are left alone.

// CHECK-LABEL: func.func @block_table
// CHECK: %[[ROWS:.*]] = attn.map {attnc.gpu.step_reason = "the kept / dropped bits of a mask per group of query rows and key block", indexing_maps = []} -> tensor<1x1x3x3x128xi32>
// CHECK: scf.if
// CHECK: } else {
// CHECK: scf.while
// CHECK-COUNT-4: tensor.extract %{{.*}} : tensor<5x5xi32>
// CHECK: %[[CLS:.*]] = attn.map {attnc.gpu.step_reason = "the block classes of a mask (kept / dropped bits per block)", indexing_maps = []} -> tensor<1x1x3x3xi32>
// CHECK-COUNT-8: tensor.extract %[[ROWS]]
// CHECK: arith.ori
// CHECK: %[[N:.*]] = attn.map {{.*}}(count){{.*}} -> tensor<1x2x3xi32>
// CHECK: %[[IDX:.*]] = attn.map {{.*}}(list){{.*}} -> tensor<1x2x3x3xi32>
// CHECK: tensor.extract %[[N]]
// CHECK: scf.if
// CHECK: scf.while
// CHECK-COUNT-8: tensor.extract %[[CLS]]
// CHECK: attn.attention {{.*}} extras(%{{.*}}, %[[CLS]], %[[N]], %[[IDX]] : tensor<5x5xi32>, tensor<1x1x3x3xi32>, tensor<1x2x3xi32>, tensor<1x2x3x3xi32>)
// CHECK-SAME: carrier = [#attn.block_list<q_block = 128, k_block = 128, offsets = 2, indices = 3, counted = true>]
// CHECK-SAME: mask_classes = 1 : i64
func.func @block_table(%q: tensor<1x2x300x64xf32>, %t: tensor<5x5xi32>) -> tensor<1x2x300x64xf32> {
  %o = attn.attention %q, %q, %q extras(%t : tensor<5x5xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32> -> tensor<1x2x300x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c64 = arith.constant 64 : index
    %qb = arith.floordivsi %i, %c64 : index
    %kb = arith.floordivsi %j, %c64 : index
    %x = tensor.extract %t[%qb, %kb] : tensor<5x5xi32>
    %c0 = arith.constant 0 : i32
    %keep = arith.cmpi ne, %x, %c0 : i32
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x300x64xf32>
}

// -----

// A predicate that reads h (and a float of the positions) is classified
// per head; the causal carrier stays beside the block list.
// CHECK-LABEL: func.func @per_head_float
// CHECK: attn.map {{.*}} -> tensor<1x2x2x2x128xi32>
// CHECK: attn.map {{.*}} -> tensor<1x2x2x2xi32>
// CHECK: carrier = [#attn.causal<bottom_right>, #attn.block_list<q_block = 128, k_block = 128, offsets = 1, indices = 2, counted = true>]
// CHECK-SAME: mask_classes = 0 : i64
func.func @per_head_float(%q: tensor<1x2x200x64xf32>) -> tensor<1x2x200x64xf32> {
  %o = attn.attention %q, %q, %q {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %s = arith.addi %d, %h : index
    %di = arith.index_cast %s : index to i64
    %f = arith.sitofp %di : i64 to f32
    %r = math.sqrt %f : f32
    %w = arith.constant 8.0 : f32
    %keep = arith.cmpf olt, %r, %w : f32
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x200x64xf32>
}

// -----

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: attn.map
// CHECK-NOT: mask_classes
// CHECK: return
func.func @left_alone(%q: tensor<1x2x300x64xf32>, %t: tensor<5x5xi32>, %off: tensor<1x2x3xi32>, %idx: tensor<1x2x3x3xi32>) -> (tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>) {
  // Bounded by interval evaluation: a band and a table read at b only.
  %a = attn.attention %q, %q, %q extras(%t : tensor<5x5xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32> -> tensor<1x2x300x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %abs = math.absi %d : index
    %x = tensor.extract %t[%b, %b] : tensor<5x5xi32>
    %w = arith.index_cast %x : i32 to index
    %keep = arith.cmpi sle, %abs, %w : index
    attn.yield %keep : i1
  }
  // A block list already schedules the tiles.
  %c = attn.attention %q, %q, %q extras(%t, %off, %idx : tensor<5x5xi32>, tensor<1x2x3xi32>, tensor<1x2x3x3xi32>) {carrier = [#attn.block_list<q_block = 128, k_block = 128, offsets = 1, indices = 2, counted = true>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32> -> tensor<1x2x300x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %t[%i, %j] : tensor<5x5xi32>
    %c0 = arith.constant 0 : i32
    %keep = arith.cmpi ne, %x, %c0 : i32
    attn.yield %keep : i1
  }
  return %a, %c : tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>
}

// -----

// A dynamic query length: the steps are sized at run time (ceil(L / 128)
// blocks), the list over the output heads max(Hq, Hk).
// CHECK-LABEL: func.func @dynamic_length
// CHECK: %[[L:.*]] = tensor.dim %arg0, %c2
// CHECK: %[[NQB:.*]] = arith.ceildivsi %[[L]], %c128
// CHECK: %[[NKB:.*]] = arith.ceildivsi %{{.*}}, %c128
// CHECK: attn.map sizes(%[[NQB]], %[[NKB]]) {attnc.gpu.step_reason = "the kept / dropped bits of a mask per group of query rows and key block"
// CHECK-SAME: -> tensor<1x1x?x?x128xi32>
// CHECK: attn.map sizes({{.*}}) {attnc.gpu.step_reason = "the block classes of a mask
// CHECK: attn.attention
// CHECK-SAME: tensor<1x1x?x?xi32>, tensor<1x2x?xi32>, tensor<1x2x?x?xi32>
// CHECK-SAME: mask_classes = 1 : i64
func.func @dynamic_length(%dq: tensor<1x2x?x64xf32>, %t: tensor<5x5xi32>) -> tensor<1x2x?x64xf32> {
  %bd = attn.attention %dq, %dq, %dq extras(%t : tensor<5x5xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %t[%i, %j] : tensor<5x5xi32>
    %c0 = arith.constant 0 : i32
    %keep = arith.cmpi ne, %x, %c0 : i32
    attn.yield %keep : i1
  }
  return %bd : tensor<1x2x?x64xf32>
}

// -----

// Document ids compared at i and j: interval evaluation bounds it through
// the table's block summaries (attn-summarize-mask-tables), which the
// kernel would read for every key tile of a row's range; it is classified
// all the same, and each group of rows of a block is decided by interval
// evaluation first (scf.if), row by row and then key by key only where
// that leaves it undecided.
// SUM-LABEL: func.func @document_ids
// SUM: attn.map {attnc.gpu.step_reason = "the per-block bounds of a table a mask reads"
// SUM: attn.map {attnc.gpu.step_reason = "the kept / dropped bits of a mask per group of query rows and key block"{{.*}} -> tensor<1x1x3x3x32xi32>
// SUM: scf.if
// SUM: } else {
// SUM: scf.while
// SUM: scf.if
// SUM: } else {
// SUM: scf.while
// SUM: attn.attention
// SUM-SAME: carrier = [#attn.block_list<q_block = 128, k_block = 128, offsets = 3, indices = 4, counted = true>]
// SUM-SAME: mask_classes = 2 : i64
// SUM-SAME: table_bounds = array<i64: 0, 1>
func.func @document_ids(%q: tensor<1x2x300x64xf32>, %doc: tensor<300xi32>) -> tensor<1x2x300x64xf32> {
  %o = attn.attention %q, %q, %q extras(%doc : tensor<300xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32>, tensor<1x2x300x64xf32> -> tensor<1x2x300x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %di = tensor.extract %doc[%i] : tensor<300xi32>
    %dj = tensor.extract %doc[%j] : tensor<300xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    %causal = arith.cmpi sle, %j, %i : index
    %keep = arith.andi %same, %causal : i1
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x300x64xf32>
}

// -----

// A floor modulus of a position by a run-time size (a shifted window that
// wraps around the sequence, as LongLoRA's shifted chunks) or by a constant
// of at least a block is classified: a tile across the wrap bounds to the
// divisor's whole range. A remainder by a small constant repeats inside
// every tile (partial either way) and is left to the kernel's bounds.
// CHECK-LABEL: func.func @wraps
// CHECK: attn.map {{.*}} -> tensor<1x1x?x?x32xi32>
// CHECK: attn.attention
// CHECK-SAME: mask_classes = 0 : i64
// CHECK: attn.attention
// CHECK-SAME: mask_classes = 0 : i64
// CHECK: attn.attention
// CHECK-NOT: mask_classes
// CHECK: return
func.func @wraps(%q: tensor<1x2x?x64xf32>) -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %c2 = arith.constant 2 : index
  %len = tensor.dim %q, %c2 : tensor<1x2x?x64xf32>
  %a = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %x = arith.addi %i, %c32 : index
    %z = arith.cmpi eq, %len, %c0 : index
    %d = arith.select %z, %c1, %len : index
    %f = arith.floordivsi %x, %d : index
    %fq = arith.select %z, %c0, %f : index
    %m = arith.muli %fq, %len : index
    %r = arith.subi %x, %m : index
    %qc = arith.floordivsi %r, %c64 : index
    %kc = arith.floordivsi %j, %c64 : index
    %keep = arith.cmpi eq, %qc, %kc : index
    attn.yield %keep : i1
  }
  %b2 = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c256 = arith.constant 256 : index
    %c64 = arith.constant 64 : index
    %x = arith.addi %j, %c64 : index
    %f = arith.floordivsi %x, %c256 : index
    %m = arith.muli %f, %c256 : index
    %r = arith.subi %x, %m : index
    %keep = arith.cmpi sle, %r, %i : index
    attn.yield %keep : i1
  }
  %c = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c4 = arith.constant 4 : index
    %c0 = arith.constant 0 : index
    %d = arith.subi %i, %j : index
    %f = arith.floordivsi %d, %c4 : index
    %m = arith.muli %f, %c4 : index
    %r = arith.subi %d, %m : index
    %keep = arith.cmpi eq, %r, %c0 : index
    attn.yield %keep : i1
  }
  return %a, %b2, %c : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}
