// RUN: attnc-opt --attn-classify-mask-blocks --attn-gpu-partition-program -split-input-file %s | FileCheck %s
// A variant function becomes a program of calls: the attention the Hopper
// kernel plans is a "kernel" step named after its kernel; lets, output
// expressions and attentions the kernel refuses are "generic" steps that
// compute in f32 (16-bit in, 16-bit out), with the refusal as the reason.

// CHECK-LABEL: func.func private @rope_step0(
// CHECK-SAME: %[[Q:.*]]: tensor<1x2x64x64xbf16>) -> tensor<1x2x64x64xbf16>
// CHECK-SAME: attnc.gpu.reason = "a let or an output expression", attnc.gpu.step = "generic"
// CHECK: %[[X:.*]] = arith.extf %[[Q]] : tensor<1x2x64x64xbf16> to tensor<1x2x64x64xf32>
// CHECK: %[[R:.*]] = attn.rope %[[X]] {{.*}} : tensor<1x2x64x64xf32>
// CHECK: arith.truncf %[[R]] : tensor<1x2x64x64xf32> to tensor<1x2x64x64xbf16>
// CHECK-LABEL: func.func private @rope_kernel0_host(
// CHECK-SAME: attnc.gpu.step = "kernel"
// CHECK: attn.attention {{.*}}attnc.kernel_name = "rope_kernel0"{{.*}} -> tensor<1x2x64x64xbf16>
// CHECK-LABEL: func.func private @rope_step1(
// CHECK-SAME: attnc.gpu.reason = "anchor sinkhorn needs the whole weight matrix (column normalisation) and cannot run online"
// CHECK: attn.attention {{.*}} : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32> -> tensor<1x2x64x64xf32>
// CHECK-LABEL: func.func @rope(
// CHECK-SAME: attributes {attnc.gpu.program}
// CHECK: %[[QR:.*]] = call @rope_step0(%arg0)
// CHECK: %[[A:.*]] = call @rope_kernel0_host(%[[QR]], %arg1, %arg2)
// CHECK: %[[S:.*]] = call @rope_step1(%[[QR]], %arg1, %arg2)
// CHECK: return %[[A]], %[[S]]
func.func @rope(%q: tensor<1x2x64x64xbf16>, %k: tensor<1x2x64x64xbf16>, %v: tensor<1x2x64x64xbf16>)
    -> (tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>) {
  %qr = attn.rope %q {theta = 1.000000e+04 : f64} : tensor<1x2x64x64xbf16>
  %a = attn.attention %qr, %k, %v {anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>} : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  %s = attn.attention %qr, %k, %v {anchor = #attn.anchor<sinkhorn, iterations = 2>, link = #attn.link<exp>} : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>
  return %a, %s : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>
}

// -----

// An output expression reads attention results captured by its region and
// an extent of a tensor it does not otherwise read; an unused let is dropped.
// CHECK-LABEL: func.func private @diff_step0(
// CHECK-SAME: %{{.*}}: tensor<1x2x8x16xbf16>, %{{.*}}: tensor<1x2x8x16xbf16>, %{{.*}}: tensor<2xf32>, %{{.*}}: tensor<1x2x8x16xbf16>)
// CHECK: arith.constant 8 : index
// CHECK: attn.map {{.*}} -> tensor<1x2x8x16xf32>
// CHECK-NOT: attn.rope
// CHECK-LABEL: func.func @diff(
// CHECK: %[[A1:.*]] = call @diff_kernel0_host(
// CHECK: %[[A2:.*]] = call @diff_kernel1_host(
// CHECK: call @diff_step0(%[[A1]], %[[A2]], %arg3, %arg1)
func.func @diff(%q: tensor<1x2x8x16xbf16>, %k: tensor<1x2x8x16xbf16>, %v: tensor<1x2x8x16xbf16>, %lam: tensor<2xf32>)
    -> tensor<1x2x8x16xbf16> {
  %unused = attn.rope %q {theta = 1.000000e+04 : f64} : tensor<1x2x8x16xbf16>
  %a1 = attn.attention %q, %k, %v {anchor = #attn.anchor<row>, link = #attn.link<exp>} : tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16> -> tensor<1x2x8x16xbf16>
  %a2 = attn.attention %k, %q, %v {anchor = #attn.anchor<row>, link = #attn.link<exp>} : tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16> -> tensor<1x2x8x16xbf16>
  %c2 = arith.constant 2 : index
  %lk = tensor.dim %k, %c2 : tensor<1x2x8x16xbf16>
  %lki = arith.index_cast %lk : index to i64
  %lkf = arith.sitofp %lki : i64 to f32
  %o = attn.map {indexing_maps = []} -> tensor<1x2x8x16xbf16> {
  ^bb0(%b: index, %h: index, %i: index, %d: index):
    %x = tensor.extract %a1[%b, %h, %i, %d] : tensor<1x2x8x16xbf16>
    %y = tensor.extract %a2[%b, %h, %i, %d] : tensor<1x2x8x16xbf16>
    %l = tensor.extract %lam[%h] : tensor<2xf32>
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %m = arith.mulf %l, %yf : f32
    %r = arith.subf %xf, %m : f32
    %rn = arith.divf %r, %lkf : f32
    %rt = arith.truncf %rn : f32 to bf16
    attn.yield %rt : bf16
  }
  return %o : tensor<1x2x8x16xbf16>
}

// -----

// A block_select carrier after attn-expand-block-select: the estimation stage
// is a generic step that reads q and k as they are (it extends elements
// itself: no f32 copy) and returns the counted list, which the kernel step
// reads as two extras.
// CHECK-LABEL: func.func private @sel_step0(
// CHECK-SAME: %[[Q:.*]]: tensor<1x2x256x64xbf16>, %[[K:.*]]: tensor<1x2x256x64xbf16>) -> (tensor<1x2x2xi32>, tensor<1x2x2x2xi32>)
// CHECK-SAME: attnc.gpu.reason = "the estimation stage of a block_select carrier", attnc.gpu.step = "generic"
// CHECK-NOT: arith.extf
// CHECK: attn.select_blocks %[[Q]], %[[K]]
// CHECK-LABEL: func.func private @sel_kernel_host(
// CHECK: attn.attention {{.*}}extras({{.*}} : tensor<1x2x2xi32>, tensor<1x2x2x2xi32>){{.*}}attnc.kernel_name = "sel_kernel"
// CHECK-LABEL: func.func @sel(
// CHECK: %[[L:.*]]:2 = call @sel_step0(%arg0, %arg1)
// CHECK: call @sel_kernel_host(%arg0, %arg1, %arg2, %[[L]]#0, %[[L]]#1)
func.func @sel(%q: tensor<1x2x256x64xbf16>, %k: tensor<1x2x256x64xbf16>, %v: tensor<1x2x256x64xbf16>) -> tensor<1x2x256x64xbf16> {
  %c, %i = attn.select_blocks %q, %k {carrier = [#attn.causal<bottom_right>], select = #attn.block_select<q_block = 128, k_block = 128, pool = mean, stride = 1, top_k = 1, force_first = false, force_last = true>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x2xi32>, tensor<1x2x2x2xi32>
  %a = attn.attention %q, %k, %v extras(%c, %i : tensor<1x2x2xi32>, tensor<1x2x2x2xi32>) {anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>, #attn.block_list<q_block = 128, k_block = 128, offsets = 0, indices = 1, counted = true>], link = #attn.link<exp>} : tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16>, tensor<1x2x256x64xbf16> -> tensor<1x2x256x64xbf16>
  return %a : tensor<1x2x256x64xbf16>
}

// -----

// Steps that read only an input's sizes (a mask's classification over
// positions, sized from the run-time length of q) mark those arguments
// shape-only: the runtime keeps such steps' results per dims.
// CHECK-LABEL: func.func private @wrap_step0(
// CHECK-SAME: %arg0: tensor<1x2x?x64xbf16>
// CHECK-SAME: attnc.gpu.shape_only = array<i64: 0>
// CHECK-LABEL: func.func private @wrap_step1(
// CHECK-SAME: attnc.gpu.shape_only = array<i64: 1>
// CHECK-LABEL: func.func private @wrap_step2(
// CHECK-NOT: shape_only
// CHECK-SAME: attnc.gpu.step = "generic"
// CHECK-LABEL: func.func private @wrap_kernel_host(
// CHECK-NOT: shape_only
// CHECK-SAME: attnc.gpu.step = "kernel"
func.func @wrap(%q: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  %c2 = arith.constant 2 : index
  %len = tensor.dim %q, %c2 : tensor<1x2x?x64xbf16>
  %a = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
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
  return %a : tensor<1x2x?x64xbf16>
}
