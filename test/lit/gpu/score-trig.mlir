// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s
// sin, cos and tan in a score region on the Hopper kernel: the argument
// reduced by 2 pi in three FMA steps (k = rint(x / 2 pi)), then the hardware
// approximations; tan as sin / cos. No math library call (its full-range
// reduction walks a table in local memory). erf as Abramowitz and Stegun
// 7.1.26: t = rcp(1 + p |x|), a degree-5 polynomial in t times e^(-x^2), x's
// sign.

// CHECK-LABEL: gpu.func @periodic_kernel
// CHECK: arith.constant 0.159154937 : f32
// CHECK-NEXT: %[[Q:.*]] = arith.mulf %[[X:.*]], %{{.*}} : f32
// CHECK-NEXT: %[[K:.*]] = math.roundeven %[[Q]] : f32
// CHECK-NEXT: %[[NK:.*]] = arith.negf %[[K]] : f32
// CHECK-NEXT: arith.constant 6.281250e+00 : f32
// CHECK-NEXT: %[[R1:.*]] = math.fma %[[NK]], %{{.*}}, %[[X]] : f32
// CHECK-NEXT: arith.constant 0.00193500519 : f32
// CHECK-NEXT: %[[R2:.*]] = math.fma %[[NK]], %{{.*}}, %[[R1]] : f32
// CHECK-NEXT: arith.constant 3.01991605E-7 : f32
// CHECK-NEXT: %[[R3:.*]] = math.fma %[[NK]], %{{.*}}, %[[R2]] : f32
// CHECK: %[[K0:.*]] = arith.cmpf oeq, %[[K]], %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.select %[[K0]], %[[X]], %[[R3]] : f32
// CHECK-NEXT: llvm.inline_asm "sin.approx.f32 $0, $1;", "=f,f" %[[R]]
// CHECK: llvm.inline_asm "cos.approx.f32 $0, $1;"
// CHECK: %[[S:.*]] = llvm.inline_asm "sin.approx.f32
// CHECK: %[[C:.*]] = llvm.inline_asm "cos.approx.f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.div.full"(%[[S]], %[[C]])
// CHECK: %[[AX:.*]] = math.absf %[[E:.*]] : f32
// CHECK: %[[D:.*]] = math.fma %[[AX]], %{{.*}}, %{{.*}} : f32
// CHECK: %[[T:.*]] = llvm.inline_asm "rcp.approx.ftz.f32 $0, $1;", "=f,f" %[[D]]
// CHECK-COUNT-4: math.fma %{{.*}}, %[[T]], %{{.*}} : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: math.copysign %{{.*}}, %[[E]] : f32
// CHECK-NOT: math.erf
// CHECK-NOT: math.sin
// CHECK-NOT: math.cos
// CHECK-NOT: math.tan
// CHECK: gpu.return
func.func @periodic(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %n = arith.sitofp %di : i64 to f32
    %c8 = arith.constant 0.125 : f32
    %x = arith.mulf %n, %c8 : f32
    %sn = math.sin %x : f32
    %cs = math.cos %x : f32
    %tn = math.tan %x : f32
    %ef = math.erf %x : f32
    %a = arith.addf %s, %sn : f32
    %b2 = arith.addf %a, %cs : f32
    %b3 = arith.addf %b2, %tn : f32
    %r = arith.addf %b3, %ef : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}

// log and log2 as the hardware's lg2 (log: times ln 2); no libdevice call.
// CHECK-LABEL: gpu.func @logs_kernel
// CHECK: %[[L:.*]] = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"(%[[Y:.*]]) : (f32) -> f32
// CHECK: arith.constant 0.693147182 : f32
// CHECK-NEXT: arith.mulf %[[L]], %{{.*}} : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"(%[[Y]]) : (f32) -> f32
// CHECK-NOT: math.log
// CHECK: gpu.return
func.func @logs(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %n = arith.sitofp %di : i64 to f32
    %c1 = arith.constant 1.0 : f32
    %y = arith.addf %n, %c1 : f32
    %l = math.log %y : f32
    %l2 = math.log2 %y : f32
    %a = arith.addf %s, %l : f32
    %r = arith.addf %a, %l2 : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x64xbf16>
}
