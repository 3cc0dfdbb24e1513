// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s
// pow in a score region on the Hopper kernel: an integer exponent (a decay
// lambda^(i - j)) as 2^(n log2|x|) with x's sign where n is odd; a literal
// small integer exponent as products.

// CHECK-LABEL: gpu.func @decay_kernel
// The exponent i - j is affine: its parity comes from the row's (bit 31),
// flipped for the columns at odd offsets; no float-to-int per score.
// CHECK: %[[ROW:.*]] = arith.shli %{{.*}}, %c31{{.*}} : i32
// CHECK: %[[LG:.*]] = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK: %[[LO:.*]] = arith.minimumf %[[LG]]
// CHECK: %[[L:.*]] = arith.maximumf %[[LO]]
// CHECK: %[[E:.*]] = arith.mulf %[[N:.*]], %[[L]] : f32
// CHECK: %[[MAG:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%[[E]])
// CHECK: %[[XB:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[SIGN:.*]] = arith.andi %[[XB]], %[[ROW]] : i32
// CHECK: %[[MB:.*]] = arith.bitcast %[[MAG]] : f32 to i32
// CHECK: arith.xori %[[MB]], %[[SIGN]] : i32
// CHECK: arith.xori %[[ROW]], %c-2147483648_i32
// CHECK-NOT: arith.fptosi
// CHECK-NOT: math.powf
// CHECK: gpu.return
func.func @decay(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>, %decay: tensor<?xf32>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%decay : tensor<?xf32>) {scale = 0.125 : f64, link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<?xf32>
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %n = arith.sitofp %di : i64 to f32
    %p = math.powf %x, %n : f32
    %r = arith.mulf %s, %p : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// An exponent that is not affine in i and j ((i - j) // 2): its parity from
// the float, per score.
// CHECK-LABEL: gpu.func @decay_halves_kernel
// CHECK: %[[MAG:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: %[[NI:.*]] = arith.fptosi %{{.*}} : f32 to i32
// CHECK: %[[ODD:.*]] = arith.shli %[[NI]]
// CHECK: %[[SIGN:.*]] = arith.andi %{{.*}}, %[[ODD]] : i32
// CHECK-NOT: math.powf
// CHECK: gpu.return
func.func @decay_halves(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>, %decay: tensor<?xf32>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%decay : tensor<?xf32>) {scale = 0.125 : f64, link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<?xf32>
    %d = arith.subi %i, %j : index
    %c2 = arith.constant 2 : index
    %d2 = arith.floordivsi %d, %c2 : index
    %di = arith.index_cast %d2 : index to i64
    %n = arith.sitofp %di : i64 to f32
    %p = math.powf %x, %n : f32
    %r = arith.mulf %s, %p : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// CHECK-LABEL: gpu.func @square_kernel
// CHECK-NOT: math.powf
// CHECK-NOT: llvm.nvvm.lg2
// CHECK: %[[SQ:.*]] = arith.mulf %[[D:[0-9]+]], %[[D]] : f32
// CHECK: arith.mulf %[[SQ]], %{{.*}} : f32
// CHECK: gpu.return
func.func @square(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %two = arith.constant 2.0 : f32
    %p = math.powf %df, %two : f32
    %c = arith.constant 0.01 : f32
    %t = arith.mulf %p, %c : f32
    %r = arith.subf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// A positive literal base as the frontend writes an integer (sitofp of an
// index_cast): one ex2, no sign or integer tests (ALiBi's 2 ^ (-8 (h + 1) / H)).
// CHECK-LABEL: gpu.func @alibi_slope_kernel
// CHECK-NOT: math.powf
// CHECK-NOT: math.floor
// The literal divisor 16 as a multiply by 1/16, not a division.
// CHECK-NOT: arith.divf
// CHECK: %[[SIXTEENTH:.*]] = arith.constant 6.250000e-02 : f32
// CHECK-NEXT: %[[Y:.*]] = arith.mulf %{{.*}}, %[[SIXTEENTH]] : f32
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[E:.*]] = arith.mulf %[[Y]], %{{.*}} : f32
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%[[E]])
// CHECK-NOT: math.floor
// CHECK: gpu.return
func.func @alibi_slope(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c2 = arith.constant 2 : index
    %c8 = arith.constant -8 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %h1 = arith.addi %h, %c1 : index
    %n = arith.muli %c8, %h1 : index
    %ni = arith.index_cast %n : index to i64
    %nf = arith.sitofp %ni : i64 to f32
    %hi = arith.index_cast %c16 : index to i64
    %hf = arith.sitofp %hi : i64 to f32
    %y = arith.divf %nf, %hf : f32
    %twoi = arith.index_cast %c2 : index to i64
    %two = arith.sitofp %twoi : i64 to f32
    %slope = math.powf %two, %y : f32
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %t = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// Divisions in a score: by a literal that has no exact reciprocal (softcap's
// 30), a multiply by its rounded reciprocal; by a run-time value (the table's
// entry), the hardware's full-range division. Neither is the IEEE div.rn
// sequence that arith.divf becomes (a dozen instructions per score).
// CHECK-LABEL: gpu.func @divisions_kernel
// CHECK-NOT: arith.divf
// CHECK: %[[THIRTIETH:.*]] = arith.constant 0.0333333351 : f32
// CHECK-NEXT: %[[X:.*]] = arith.mulf %{{.*}}, %[[THIRTIETH]] : f32
// CHECK-NEXT: llvm.inline_asm "tanh.approx.f32 $0, $1;", "=f,f" %[[X]]
// CHECK: llvm.call_intrinsic "llvm.nvvm.div.full"(%{{.*}}, %{{.*}}) : (f32, f32) -> f32
// CHECK: gpu.return
func.func @divisions(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>, %t: tensor<?xf32>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%t : tensor<?xf32>) {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c30 = arith.constant 30.0 : f32
    %x = arith.divf %s, %c30 : f32
    %th = math.tanh %x : f32
    %cap = arith.mulf %c30, %th : f32
    %w = tensor.extract %t[%h] : tensor<?xf32>
    %r = arith.divf %cap, %w : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// A mask's division stays IEEE (arith.divf, as the CPU reference and the block
// classification compute it): an approximate quotient could flip the predicate.
// CHECK-LABEL: gpu.func @mask_division_kernel
// CHECK-NOT: llvm.nvvm.div.full
// CHECK: %[[THREE:.*]] = arith.constant 3.000000e+00 : f32
// CHECK: arith.divf %{{.*}}, %[[THREE]] : f32
// CHECK-NOT: llvm.nvvm.div.full
// CHECK: gpu.return
func.func @mask_division(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = []} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c3 = arith.constant 3.0 : f32
    %ii = arith.index_cast %i : index to i64
    %if = arith.sitofp %ii : i64 to f32
    %ji = arith.index_cast %j : index to i64
    %jf = arith.sitofp %ji : i64 to f32
    %x = arith.divf %if, %c3 : f32
    %keep = arith.cmpf oge, %x, %jf : f32
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x64xbf16>
}

// A score s + t with t free of s (a bias) is one FMA of the raw score, the
// scale and t (the region's own add is left dead); log2(e) is folded into
// the exponent's FMA with the row maximum, as without a score region.
// CHECK-LABEL: gpu.func @additive_bias_kernel
// CHECK: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[T:.*]] = llvm.load %{{.*}} invariant {alignment = 4 : i64} : !llvm.ptr -> f32
// CHECK-NEXT: arith.addf
// CHECK-NEXT: %{{.*}} = math.fma %{{.*}}, %[[SCALE]], %[[T]] : f32
// CHECK: %[[NEG:.*]] = arith.negf
// CHECK-NEXT: arith.negf
// CHECK-NEXT: %[[E:.*]] = math.fma %{{.*}}, %{{.*}}, %[[NEG]] : f32
// CHECK-NEXT: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%[[E]])
// CHECK: gpu.return
func.func @additive_bias(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>, %t: tensor<?xf32>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%t : tensor<?xf32>) {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %w = tensor.extract %t[%h] : tensor<?xf32>
    %r = arith.addf %s, %w : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}
