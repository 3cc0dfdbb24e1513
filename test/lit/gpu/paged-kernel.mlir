// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" --attn-gpu-build-kernel %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=MANIFEST
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=PREFILL
// RUN: not attnc-opt --attn-gpu-plan-kernel %S/Inputs/bad-page-size.mlir 2>&1 | FileCheck %S/Inputs/bad-page-size.mlir

// Paged K/V (kv_pages): the k and v maps cover the nhd pool [P, 16, Hk, D] as
// [D, Hk, P*16] with [64, 1, 16] boxes; a 64-key tile is four page loads,
// each at the pool page the table names (clamped to this sequence's last
// page), coordinates (column, KV head, page * 16 + row in page), for each of
// the two 64-column blocks of D = 128. The lengths family narrows the key
// length from its table.
// CHECK-LABEL: gpu.func @paged_kernel(
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<16x1x64xbf16
// CHECK: nvvm.setmaxregister  decrease 24
// The producer reads a tile's four page ids, then pulls the table line of the
// tile four ahead (key 4 * 64 further on, clamped like the reads) into L1,
// before the copies.
// CHECK-COUNT-4: llvm.load %{{.*}} invariant {alignment = 4 : i64} : !llvm.ptr -> i32
// CHECK: %[[AHEAD:.*]] = arith.constant 256 : index
// CHECK-NEXT: arith.addi %{{.*}}, %[[AHEAD]] : index
// CHECK: %[[TP:.*]] = llvm.getelementptr
// CHECK-NEXT: %[[TA:.*]] = llvm.ptrtoint %[[TP]]
// CHECK-NEXT: llvm.inline_asm has_side_effects "prefetch.L1 [$0];", "l" %[[TA]]
// A page id from the table is clamped to [-1, cap] before its copy, so that an
// unchecked id outside the pool cannot wrap the 32-bit coordinate into it.
// CHECK: %[[M1:.*]] = arith.constant -1 : index
// CHECK-NEXT: arith.maxsi %{{.*}}, %[[M1]] : index
// CHECK-COUNT-8: nvgpu.tma.async.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}], %{{.*}}[%{{.*}}] to %{{.*}} : <tensor = memref<16x1x64xbf16
// MANIFEST: attnc.manifest
// MANIFEST-SAME: constraints = ["H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0", "B*Hq*Lq <= 2147483647", "extra_1.dim0 == B", "P*16 <= 2147483647", "extra_0.dim0 == B"]
// MANIFEST-SAME: box = [64, 1, 16]
// MANIFEST-SAME: global_dims = [128, "Hk", "P*16"], global_strides_bytes = [256, "Hk*256"]
// MANIFEST-SAME: {kind = "i32", name = "Lk", value = "(extra_1.dim1*16)"}
// MANIFEST-SAME: split_kv = {dim = "S", key_tiles = "ceildiv((extra_1.dim1*16),64)", max_splits = 64 : i64}

// The prefill kernel (128-key tiles): eight page loads per tile and column block.
// PREFILL-LABEL: gpu.func @paged_kernel(
// PREFILL: nvvm.setmaxregister  decrease 56
// PREFILL-COUNT-16: nvgpu.tma.async.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}], %{{.*}}[%{{.*}}] to %{{.*}} : <tensor = memref<16x1x64xbf16
func.func @paged(%q: tensor<?x?x?x128xbf16>, %kp: tensor<?x16x?x128xbf16>, %vp: tensor<?x16x?x128xbf16>,
                 %len: tensor<?xi32>, %table: tensor<?x?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %kp, %vp extras(%len, %table : tensor<?xi32>, tensor<?x?xi32>) {carrier = [#attn.lengths<kv = 0>, #attn.causal<bottom_right>], kv_pages = #attn.kv_pages<table = 1, layout = nhd>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x16x?x128xbf16>, tensor<?x16x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
