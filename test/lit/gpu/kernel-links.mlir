// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s
// The links and anchors beyond softmax on the Hopper kernel. The exp family
// (exp, signed_exp) runs with a running row maximum; identity, softplus,
// sigmoid and relu are plain sums. row_abs and the signed links sum |w|.

// identity + row_abs: no exponentials at all (no running max), a masked
// score (-inf) weighs 0, the mass sums |w|, the epilogue divides by it.
// CHECK-LABEL: gpu.func @identity_row_abs_kernel
// CHECK-NOT: llvm.nvvm.ex2
// CHECK: %[[EQ:.*]] = arith.cmpf oeq, %[[S:.*]], %{{.*}} : f32
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[W:.*]] = arith.select %[[EQ]], %[[ZERO]], %[[S]] : f32
// CHECK: math.absf %[[W]] : f32
// CHECK-NOT: llvm.nvvm.ex2
// CHECK: arith.divf
// CHECK-NOT: llvm.nvvm.ex2
// CHECK: gpu.return
func.func @identity_row_abs(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// signed_exp: the maximum runs over |s| and a weight is negative where its
// score is (s < 0, as on the CPU; a masked score gives -0).
// CHECK-LABEL: gpu.func @signed_exp_none_kernel
// CHECK: math.absf
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: %[[NEG:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[NP:.*]] = arith.negf %[[P:.*]] : f32
// CHECK-NEXT: arith.select %[[NEG]], %[[NP]], %[[P]] : f32
// CHECK: gpu.return
func.func @signed_exp_none(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<signed_exp>, anchor = #attn.anchor<none>, weights_signed} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// exp under anchor none: the shift is put back (O = 2^m O'), nothing is
// divided.
// CHECK-LABEL: gpu.func @exp_none_kernel
// CHECK-NOT: arith.divf
// CHECK: arith.cmpf ugt, %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: %[[INV:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK-NOT: arith.divf
// CHECK: arith.mulf %{{.*}}, %[[INV]] : f32
// CHECK-NOT: arith.divf
// CHECK: gpu.return
func.func @exp_none(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<none>} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// softplus: max(s, 0) + log1p(exp(-|s|)), log1p as a series below 2^-10.
// CHECK-LABEL: gpu.func @softplus_row_kernel
// CHECK: math.absf
// CHECK: llvm.nvvm.ex2.approx.ftz.f32
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.subf
// CHECK-NEXT: %[[SERIES:.*]] = arith.mulf
// CHECK: %[[LG:.*]] = llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK-NEXT: arith.constant 0.693147182 : f32
// CHECK-NEXT: %[[FULL:.*]] = arith.mulf %[[LG]]
// CHECK: %[[POS:.*]] = arith.maxnumf
// CHECK-NEXT: %[[L1P:.*]] = arith.select %{{.*}}, %[[SERIES]], %[[FULL]] : f32
// CHECK-NEXT: arith.addf %[[POS]], %[[L1P]] : f32
// CHECK: arith.divf
// CHECK: gpu.return
func.func @softplus_row(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<softplus>, anchor = #attn.anchor<row>} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}
