// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" --attn-gpu-build-kernel %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=MANIFEST
// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=UNPACKED
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=SPLITKV
// RUN: not attnc-opt --attn-gpu-plan-kernel="decode=true stages=3" --attn-gpu-build-kernel %s 2>&1 | FileCheck %s --check-prefix=ODD
// RUN: not attnc-opt --attn-gpu-plan-kernel="decode=true stages=8" --attn-gpu-build-kernel %s 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: the decode schedule takes at most 6 stages, got 8
// ODD: the decode schedule needs an even number of stages (the two consumers own alternate slots), got 3

// The decode schedule: 64-row tiles whose rows may span heads (q through a
// 2-D map over its [B*Hq*Lq, D] rows), the split s = blockIdx.z % S and the
// batch blockIdx.z / S, both consumers read the same Q rows, each ring slot
// has one reader (the consumer whose tile it holds), and the consumers take
// alternate tiles (ordinal % 2 == consumer).
// CHECK-LABEL: gpu.func @gqa_decode_kernel(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %[[S:.*]]: i32) kernel
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<1x64x64xbf16
// CHECK: %[[Z:.*]] = gpu.block_id  z
// CHECK: arith.remui %{{.*}}, %[[S]] : i32
// CHECK: arith.divui %{{.*}}, %[[S]] : i32
// CHECK: gpu.grid_dim  y
// One reader per slot under split_kv, V slots too: the decode schedule has no
// V scanner (its release would add to the ring's round trip); a consumer
// scans the V tiles with dropped pairs itself, over its 128 threads.
// CHECK: %[[KE:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 6>
// CHECK-NEXT: nvgpu.mbarrier.create
// CHECK-NEXT: nvgpu.mbarrier.create
// CHECK-NEXT: %[[VE:.*]] = nvgpu.mbarrier.create
// CHECK: nvgpu.mbarrier.init %[[KE]][%{{.*}}], %c1{{(_[0-9]+)?}} :
// CHECK: nvgpu.mbarrier.init %[[VE]][%{{.*}}], %c1{{(_[0-9]+)?}} :
// CHECK-NOT: bar.red.or.pred q, $2, 96
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvgpu.tma.async.load %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}[%{{.*}}] to %{{.*}} : <tensor = memref<64x64xbf16
// CHECK: nvvm.setmaxregister  increase 240
// CHECK-NOT: bar.red.or.pred q, $2, 96
// CHECK: bar.red.or.pred q, $2, 128, p
// CHECK: arith.remui %{{.*}}, %c2 : index
// CHECK: nvvm.wgmma.mma_async
// Partials: stored, released, counted; the last one merges and normalises.
// CHECK: llvm.store %{{.*}} {alignment = 8 : i64} : vector<2xf32>, !llvm.ptr
// CHECK: llvm.inline_asm has_side_effects "fence.acq_rel.gpu;"
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c128
// CHECK: llvm.inline_asm has_side_effects "atom.acq_rel.gpu.add.u32 $0, [$1], 1;", "=r,l,~{memory}"
// CHECK: memref.load
// CHECK: scf.for
// CHECK: llvm.nvvm.ex2.approx.ftz.f32
// CHECK: llvm.store %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr
// CHECK: llvm.store %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr
// MANIFEST-LABEL: gpu.func @gqa_decode_kernel
// MANIFEST-SAME: constraints = ["H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0", "B*Hq*Lq <= 2147483647"], decode = true,
// MANIFEST-SAME: grid = ["ceildiv((H/(Hk*(Hq/H)+H*(1-Hq/H)))*Lq,64)", "Hk*(Hq/H)+H*(1-Hq/H)", "B*S"]
// MANIFEST-SAME: pack_heads = true
// MANIFEST-SAME: kind = "workspace"
// MANIFEST-SAME: split_kv = {dim = "S", key_tiles = "ceildiv(Lk,64)", max_splits = 64 : i64}
func.func @gqa_decode(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// A mask region that reads the head: the tile schedule is per head, so the
// heads are not packed (one head per tile row block; grid.y = H).
// UNPACKED-LABEL: gpu.func @head_mask_kernel
// UNPACKED-SAME: grid = ["ceildiv(Lq,64)", "H", "B*S"]
// UNPACKED-SAME: pack_heads = false
func.func @head_mask(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c2 = arith.constant 2 : index
    %r = arith.remui %h, %c2 : index
    %c0 = arith.constant 0 : index
    %keep = arith.cmpi eq, %r, %c0 : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}

// `schedule split_kv(C)` selects the decode schedule without the option (the
// split count is the runtime's; the chunk is the CPU schedule's).
// SPLITKV-LABEL: gpu.func @split_kv_kernel
// SPLITKV-SAME: block_m = 64 : i64{{.*}}decode = true
func.func @split_kv(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, split_kv = 256 : i64} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}
