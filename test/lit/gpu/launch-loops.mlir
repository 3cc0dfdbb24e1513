// RUN: attnc-opt --pass-pipeline='builtin.module(func.func(attn-gpu-launch-loops))' -split-input-file -verify-diagnostics %s | FileCheck %s
// Each loop nest of a host function becomes a launch of 256-thread blocks
// over the inner loops (row-major, a grid-stride loop: an elementwise nest
// takes up to 4 iterations per thread, unrolled with its loads first where
// every block has 1024; a nest with inner loops one) and the
// outer one or two loops on the grid's y and z, with the scalars recomputed
// inside; a copy becomes such a launch too.

// 3 x 500 with an inner loop: the rows on y (3 blocks), 500 columns on x
// (2 blocks of 256); a thread has no index to divide.
// CHECK-LABEL: func.func @nest
// CHECK: gpu.launch blocks(%{{.*}}, %[[BY:.*]], %{{.*}}) in (%[[NX:.*]] = %c2{{(_[0-9]+)?}}, %{{.*}} = %c3{{(_[0-9]+)?}}, %{{.*}} = %c1{{(_[0-9]+)?}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{(_[0-9]+)?}},
// CHECK: %[[M:.*]] = arith.muli %[[BY]]
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %[[M]]
// CHECK: %[[B0:.*]] = arith.muli %{{.*}}, %c256
// CHECK: %[[ID:.*]] = arith.addi %[[B0]], %[[TX]]
// CHECK: %[[STRIDE:.*]] = arith.muli %[[NX]], %c256
// CHECK: scf.for %{{.*}} = %[[ID]] to %c500{{(_[0-9]+)?}} step %[[STRIDE]] {
// CHECK-NOT: arith.divui
// CHECK: memref.store %{{.*}}, %arg0[%[[ROW]], %{{.*}}]
// CHECK: scf.for
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %arg1
// CHECK: memref.store {{.*}}, %arg2
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.copy
func.func @nest(%a: memref<3x500xf32>, %b: memref<3x500xf32>, %c: memref<3x500xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c500 = arith.constant 500 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c500) step (%c1, %c1) {
    memref.store %zero, %a[%i, %j] : memref<3x500xf32>
    scf.for %k = %c0 to %c4 step %c1 {
      %x = memref.load %a[%i, %j] : memref<3x500xf32>
      %y = arith.addf %x, %x : f32
      memref.store %y, %a[%i, %j] : memref<3x500xf32>
    }
    scf.reduce
  }
  memref.copy %b, %c : memref<3x500xf32> to memref<3x500xf32>
  return
}

// -----

// A dynamic iteration space: the grid is computed on the host from the
// buffer's size, and the kernel reads the size again (sunk into the launch),
// also of a buffer the body does not otherwise touch.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[N:.*]] = memref.dim %arg1, %c0
// CHECK: %[[T:.*]] = arith.addi %[[N]], %c1023
// CHECK: %[[G:.*]] = arith.divui %[[T]], %c1024
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[G]],
// CHECK: %[[NK:.*]] = memref.dim %arg1
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NK]] step
// CHECK: memref.store {{.*}}, %arg0
func.func @dynamic(%a: memref<?xf32>, %sized: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %sized, %c0 : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// Run-time batch and heads with 64 channels: 64 columns do not fill a block,
// so the heads stay in x (divided by the constant 64) and the batch goes to
// y, at most 65535 blocks that step over the batch.
// CHECK-LABEL: func.func @dynamic_outer
// CHECK: %[[B:.*]] = memref.dim %arg0, %c0
// CHECK: %[[MIN:.*]] = arith.minui %[[B]], %c65535
// CHECK: %[[GY:.*]] = arith.maxui %[[MIN]], %c1
// CHECK: gpu.launch blocks(%{{.*}}, %[[BY:.*]], %{{.*}}) in (%{{.*}} = %{{.*}}, %[[NY:.*]] = %[[GY]],
// CHECK: scf.for %[[IB:.*]] = %[[BY]] to %{{.*}} step %[[NY]]
// CHECK: %[[M:.*]] = arith.muli %[[IB]]
// CHECK: %[[BATCH:.*]] = arith.addi %{{.*}}, %[[M]]
// CHECK: scf.for
// CHECK: arith.remui %{{.*}}, %c64
// CHECK: arith.divui %{{.*}}, %c64
// CHECK: memref.store {{.*}}, %arg0[%[[BATCH]],
func.func @dynamic_outer(%a: memref<?x?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %b = memref.dim %a, %c0 : memref<?x?x64xf32>
  %h = memref.dim %a, %c1 : memref<?x?x64xf32>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%b, %h, %c64) step (%c1, %c1, %c1) {
    memref.store %zero, %a[%i, %j, %k] : memref<?x?x64xf32>
    scf.reduce
  }
  return
}

// -----

func.func @dynamic_start(%a: memref<?xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{generic GPU path: loop lower bounds and steps must be constants}}
  scf.parallel (%i) = (%n) to (%c4) step (%c1) {
    memref.store %zero, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

func.func @host_loop(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{host code must be straight-line allocations and loop nests}}
  scf.for %i = %c0 to %c1 step %c1 {
  }
  return
}

// -----

// A sum along rows, as linalg lowers rmsnorm's sum of squares (the
// accumulator in memory): a warp per row, lane l takes columns l, l + 32,
// ..., the lanes combine by a butterfly of shuffles and lane 0 adds the
// total to the output. Rows are read together by a warp's lanes instead of
// a thread per row striding by a row.
// CHECK-LABEL: func.func @row_sum
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK: %[[T:.*]] = arith.muli %[[N]], %c32
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK: arith.divui %{{.*}}, %c32
// CHECK: %[[P:.*]] = scf.for %[[D:.*]] = %{{.*}} to %c128{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %cst) -> (f32) {
// CHECK-NOT: memref.load %arg1
// CHECK: %[[V:.*]] = memref.load %arg0[%[[ROW:.*]], %[[D]]]
// CHECK: %[[SQ:.*]] = arith.mulf %[[V]], %[[V]]
// CHECK: %[[S:.*]] = arith.addf %[[A]], %[[SQ]]
// CHECK-NOT: memref.store
// CHECK: scf.yield %[[S]]
// CHECK: %[[X16:.*]], %{{.*}} = gpu.shuffle  xor %[[P]], %c16_i32, %c32_i32 : f32
// CHECK: %[[R16:.*]] = arith.addf %[[P]], %[[X16]]
// CHECK: gpu.shuffle  xor %[[R16]], %c8_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: %[[X1:.*]], %{{.*}} = gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: %[[TOT:.*]] = arith.addf %{{.*}}, %[[X1]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: %[[OLD:.*]] = memref.load %arg1[%[[ROW]]]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOT]]
// CHECK: memref.store %[[NEW]], %arg1[%[[ROW]]]
func.func @row_sum(%x: memref<?x128xf32>, %s: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %n = memref.dim %x, %c0 : memref<?x128xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %d = %c0 to %c128 step %c1 {
      %v = memref.load %x[%i, %d] : memref<?x128xf32>
      %a = memref.load %s[%i] : memref<?xf32>
      %sq = arith.mulf %v, %v : f32
      %r = arith.addf %a, %sq : f32
      memref.store %r, %s[%i] : memref<?xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A maximum along rows uses the maximum's neutral element (-inf). A sum down
// columns is already read together by neighbouring threads: a thread per
// column, its sum in a register and the output written once. A reduction
// that reads its output elsewhere in the loop keeps it in memory.
// CHECK-LABEL: func.func @row_max
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %cst) -> (f32)
// CHECK: arith.maxnumf
// CHECK: gpu.shuffle
// CHECK-LABEL: func.func @column_sum
// CHECK-NOT: gpu.shuffle
// CHECK: %[[S:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %cst) -> (f32) {
// CHECK-NOT: memref.store
// CHECK: scf.yield
// CHECK: %[[OLD:.*]] = memref.load %arg1
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[S]]
// CHECK: memref.store %[[NEW]], %arg1
// CHECK-LABEL: func.func @row_difference
// CHECK-NOT: gpu.shuffle
// CHECK-NOT: iter_args
// CHECK: arith.subf
// CHECK: memref.store
// CHECK-LABEL: func.func @weights_times_values
// CHECK-NOT: gpu.shuffle
// CHECK: scf.for {{.*}} iter_args
// CHECK-LABEL: func.func @reads_output
// CHECK-NOT: gpu.shuffle
// CHECK-NOT: iter_args
// CHECK: scf.for
// CHECK: memref.store
// CHECK: return
func.func @row_max(%x: memref<4x100xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %d = %c0 to %c100 step %c1 {
      %v = memref.load %x[%i, %d] : memref<4x100xf32>
      %a = memref.load %s[%i] : memref<4xf32>
      %r = arith.maxnumf %v, %a : f32
      memref.store %r, %s[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}
func.func @column_sum(%x: memref<100x512xf32>, %s: memref<512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c100 = arith.constant 100 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%j) = (%c0) to (%c512) step (%c1) {
    scf.for %d = %c0 to %c100 step %c1 {
      %v = memref.load %x[%d, %j] : memref<100x512xf32>
      %a = memref.load %s[%j] : memref<512xf32>
      %r = arith.addf %a, %v : f32
      memref.store %r, %s[%j] : memref<512xf32>
    }
    scf.reduce
  }
  return
}
// A subtraction has no neutral element (nor is it associative): its
// running value stays in memory, in order.
func.func @row_difference(%x: memref<4x100xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %d = %c0 to %c100 step %c1 {
      %v = memref.load %x[%i, %d] : memref<4x100xf32>
      %a = memref.load %s[%i] : memref<4xf32>
      %r = arith.subf %a, %v : f32
      memref.store %r, %s[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}
// o[i, e] = sum_j w[i, j] v[j, e]: neighbouring threads (e) read one w
// element and neighbouring v elements, so a thread per output stays.
func.func @weights_times_values(%w: memref<64x100xf32>, %v: memref<100x64xf32>, %o: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i, %e) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    scf.for %j = %c0 to %c100 step %c1 {
      %a = memref.load %w[%i, %j] : memref<64x100xf32>
      %b = memref.load %v[%j, %e] : memref<100x64xf32>
      %acc = memref.load %o[%i, %e] : memref<64x64xf32>
      %p = arith.mulf %a, %b : f32
      %r = arith.addf %acc, %p : f32
      memref.store %r, %o[%i, %e] : memref<64x64xf32>
    }
    scf.reduce
  }
  return
}
func.func @reads_output(%x: memref<4x100xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %d = %c0 to %c100 step %c1 {
      %v = memref.load %x[%i, %d] : memref<4x100xf32>
      %a = memref.load %s[%i] : memref<4xf32>
      %b = memref.load %s[%c0] : memref<4xf32>
      %w = arith.mulf %v, %b : f32
      %r = arith.addf %a, %w : f32
      memref.store %r, %s[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}

// -----

// An elementwise nest whose inner volume is a multiple of a block's 1024
// iterations (2 x 4096: the rows on y, 4 blocks on x): no loop and no
// bounds; each thread issues its four loads (256 apart) before its stores.
// CHECK-LABEL: func.func @unrolled
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c4{{(_[0-9]+)?}}, %{{.*}} = %c2{{(_[0-9]+)?}},
// CHECK-NOT: scf.for
// CHECK: %[[FIRST:.*]] = arith.addi %{{.*}}, %arg5
// CHECK: arith.addi %[[FIRST]], %c256
// CHECK: arith.addi %[[FIRST]], %c512
// CHECK: arith.addi %[[FIRST]], %c768
// CHECK-COUNT-4: memref.load %arg0
// CHECK-NOT: memref.load
// CHECK-COUNT-4: memref.store {{.*}}, %arg1
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
func.func @unrolled(%a: memref<2x4096xbf16>, %b: memref<2x4096xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c4096) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<2x4096xbf16>
    %y = arith.addf %x, %x : bf16
    memref.store %y, %b[%i, %j] : memref<2x4096xbf16>
    scf.reduce
  }
  return
}

// -----

// A body that reads back what it stored keeps the grid-stride loop.
// CHECK-LABEL: func.func @store_then_load
// CHECK: scf.for
// CHECK: memref.store
// CHECK: memref.load %arg1
func.func @store_then_load(%a: memref<2x4096xf32>, %b: memref<2x4096xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4096 = arith.constant 4096 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c2, %c4096) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<2x4096xf32>
    memref.store %x, %b[%i, %j] : memref<2x4096xf32>
    %y = memref.load %b[%i, %j] : memref<2x4096xf32>
    %z = arith.addf %y, %x : f32
    memref.store %z, %a[%i, %j] : memref<2x4096xf32>
    scf.reduce
  }
  return
}
