// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel -split-input-file %s | FileCheck %s
// Index math of a mask or score region runs in i32 where every value it can
// take fits (positions and table entries bounded by the size caps: see
// RegionIntRanges.h); floor division by 2^k is a shift. What may leave the
// 32-bit range (a product of two positions) stays 64-bit.

// CHECK-LABEL: gpu.func @dilated_kernel
// CHECK: %[[Q:.*]] = arith.shrsi %[[D:.*]], %{{.*}} : i32
// CHECK: %[[M:.*]] = arith.muli %[[Q]], %{{.*}} : i32
// CHECK: %[[R:.*]] = arith.subi %[[D]], %[[M]] : i32
// CHECK: arith.cmpi eq, %[[R]], %{{.*}} : i32
func.func @dilated(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %c4 = arith.constant 4 : index
    %q4 = arith.floordivsi %d, %c4 : index
    %m = arith.muli %q4, %c4 : index
    %r = arith.subi %d, %m : index
    %c0 = arith.constant 0 : index
    %keep = arith.cmpi eq, %r, %c0 : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// Table entries are i32: comparing two of them needs no widening.
// CHECK-LABEL: gpu.func @table_kernel
// CHECK: %[[A:.*]] = llvm.load %{{.*}} -> i32
// CHECK: %[[B:.*]] = llvm.load %{{.*}} -> i32
// CHECK: arith.cmpi eq, %[[B]], %[[A]] : i32
func.func @table(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %seq: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%seq : tensor<?xi32>) {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seq[%i] : tensor<?xi32>
    %sj = tensor.extract %seq[%j] : tensor<?xi32>
    %a = arith.index_cast %si : i32 to index
    %c = arith.index_cast %sj : i32 to index
    %keep = arith.cmpi eq, %c, %a : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// i * j may pass 2^31: the product and what uses it stay 64-bit.
// CHECK-LABEL: gpu.func @product_kernel
// CHECK: arith.muli %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi slt, %{{.*}}, %c1000000{{(_[0-9]+)?}} : index
// CHECK-NOT: %c1000000_i32
func.func @product(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %p = arith.muli %i, %j : index
    %c = arith.constant 1000000 : index
    %keep = arith.cmpi slt, %p, %c : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// Static lengths bound the positions (a tile past each length to spare):
// with Lq = Lk = 1000 the same product fits 32 bits, and the manifest
// refuses launches past the extents the kernel was built for.
// CHECK-LABEL: gpu.func @product_static_kernel
// CHECK-SAME: "B <= 1", "H <= 2", "Lq <= 1000", "Lk <= 1000"
// CHECK: arith.cmpi slt, %{{.*}}, %c1000000_i32 : i32
func.func @product_static(%q: tensor<1x2x1000x128xbf16>, %k: tensor<1x2x1000x128xbf16>, %v: tensor<1x2x1000x128xbf16>) -> tensor<1x2x1000x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x1000x128xbf16>, tensor<1x2x1000x128xbf16>, tensor<1x2x1000x128xbf16> -> tensor<1x2x1000x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %p = arith.muli %i, %j : index
    %c = arith.constant 1000000 : index
    %keep = arith.cmpi slt, %p, %c : index
    attn.yield %keep : i1
  }
  return %o : tensor<1x2x1000x128xbf16>
}

// -----

// A score region (its positions follow the score): (i - j) % 8 in i32 and
// its float from i32; a remainder of two table entries (INT32_MIN % -1 is
// undefined in 32 bits) stays 64-bit.
// CHECK-LABEL: gpu.func @score_kernel
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.remsi %{{.*}}, %{{.*}} : index
func.func @score(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %t: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%t : tensor<?xi32>) {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %c8 = arith.constant 8 : index
    %c0 = arith.constant 0 : index
    %r = arith.remsi %d, %c8 : index
    %r64 = arith.index_cast %r : index to i64
    %f = arith.sitofp %r64 : i64 to f32
    %x = tensor.extract %t[%h] : tensor<?xi32>
    %y = tensor.extract %t[%c0] : tensor<?xi32>
    %xi = arith.index_cast %x : i32 to index
    %yi = arith.index_cast %y : i32 to index
    %m = arith.remsi %xi, %yi : index
    %m64 = arith.index_cast %m : index to i64
    %mf = arith.sitofp %m64 : i64 to f32
    %a = arith.addf %s, %f : f32
    %z = arith.addf %a, %mf : f32
    attn.yield %z : f32
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// A modulus by a length the kernel reads at launch, as the frontend spells
// it ((i + L - 32 * (h % 2)) % L, its zero divisor guarded): the result is
// in [0, L), and with lengths at most 2^29 at launch (the manifest's
// constraints) the whole computation runs in i32. The divisor is the same
// for the whole tile: the division is a high multiply by a multiplier
// computed from it (its 64-bit division leaves the loop), no floordivsi.
// CHECK-LABEL: gpu.func @mod_by_length_kernel
// CHECK-SAME: "B <= 536870912", "H <= 536870912", "Lq <= 536870912", "Lk <= 536870912"
// CHECK-NOT: arith.floordivsi %{{.*}}, %{{.*}} : i32
// CHECK: llvm.intr.ctlz
// CHECK: arith.divui %{{.*}}, %{{.*}} : i64
// CHECK: arith.mului_extended %{{.*}}, %{{.*}} : i32
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK: arith.shrsi %{{.*}}, %{{.*}} : i32
func.func @mod_by_length(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %c2 = arith.constant 2 : index
  %L = tensor.dim %q, %c2 : tensor<?x?x?x128xbf16>
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %c2h = arith.constant 2 : index
    %hq = arith.floordivsi %h, %c2h : index
    %hm = arith.muli %hq, %c2h : index
    %hr = arith.subi %h, %hm : index
    %sh = arith.muli %hr, %c32 : index
    %z = arith.cmpi eq, %L, %c0 : index
    %d = arith.select %z, %c1, %L : index
    %a = arith.addi %i, %L : index
    %xi = arith.subi %a, %sh : index
    %qi0 = arith.floordivsi %xi, %d : index
    %qi = arith.select %z, %c0, %qi0 : index
    %pi = arith.muli %qi, %L : index
    %mi = arith.subi %xi, %pi : index
    %ci = arith.floordivsi %mi, %c64 : index
    %keep = arith.cmpi eq, %ci, %c0 : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// A positive divisor read from a table (per head) keeps ptxas's division:
// the multiplier's setup would follow the table's load into the loop.
// CHECK-LABEL: gpu.func @div_by_table_kernel
// CHECK-NOT: arith.mului_extended
// CHECK: arith.floordivsi %{{.*}}, %{{.*}} : i32
func.func @div_by_table(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %t: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%t : tensor<?xi32>) {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %t[%h] : tensor<?xi32>
    %wi = arith.index_cast %w : i32 to index
    %c1 = arith.constant 1 : index
    %d = arith.maxsi %wi, %c1 : index
    %qi = arith.floordivsi %i, %d : index
    %qj = arith.floordivsi %j, %d : index
    %keep = arith.cmpi eq, %qi, %qj : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}
