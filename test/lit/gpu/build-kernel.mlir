// RUN: attnc-opt --attn-gpu-build-kernel="schedule=v1" %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-build-kernel="schedule=v1" %s | FileCheck %s --check-prefix=CAUSAL
// RUN: attnc-opt --attn-gpu-build-kernel="schedule=v1" %s | FileCheck %s --check-prefix=REGIONS
// RUN: attnc-opt --attn-gpu-build-kernel="schedule=v2" %s | FileCheck %s --check-prefix=V2
// RUN: attnc-opt --attn-gpu-build-kernel="schedule=v2" %s | FileCheck %s --check-prefix=REGIONS
// RUN: not attnc-opt --attn-gpu-build-kernel="schedule=v3" %s 2>&1 | FileCheck %s --check-prefix=BADSCHED
// BADSCHED: schedule must be v1 or v2, got 'v3'

// Schedule v2: separate K and V rings (two full barriers each); prologue
// loads Q, K_0, V_0 and K_1; iteration 0 is peeled (S_0 + softmax, P_0 to
// smem, bar.sync, then V_1 and K_2); each later iteration issues S_k and
// P_{k-1} V_{k-1} back to back, waits for S_k only (wait_group 1), runs the
// softmax under the PV, then waits for everything (wait_group 0), rescales
// O and stores P_k; the last PV drains after the loop.
// V2-LABEL: gpu.func @full_d128_kernel
// V2: %[[KB:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// V2-NEXT: %[[VB:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// V2: nvgpu.mbarrier.arrive.expect_tx %[[KB]][%{{.*}}], %c32768
// V2-COUNT-2: nvgpu.tma.async.load %{{.*}}, %[[KB]]
// V2: nvgpu.mbarrier.arrive.expect_tx %[[VB]][%{{.*}}], %c32768
// V2-COUNT-2: nvgpu.tma.async.load %{{.*}}, %[[VB]]
// V2: nvgpu.mbarrier.arrive.expect_tx %[[KB]][%{{.*}}], %c32768
// V2-COUNT-2: nvgpu.tma.async.load %{{.*}}, %[[KB]]
// V2: scf.if %{{.*}} -> (f32, f32, f32, f32) {
// V2: nvgpu.mbarrier.try_wait.parity %[[KB]]
// V2-NEXT: nvvm.wgmma.fence.aligned
// V2-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, {{.*}}B[<bf16>, <one>, <col>]
// V2-NEXT: nvvm.wgmma.commit.group.sync.aligned
// V2-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// V2: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// V2: memref.store %{{.*}} : memref<8192xi32, #gpu.address_space<workgroup>>
// V2: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// V2-NEXT: gpu.barrier
// V2: nvgpu.tma.async.load %{{.*}}, %[[VB]]
// V2: nvgpu.tma.async.load %{{.*}}, %[[KB]]
// V2: scf.for {{.*}} iter_args
// V2: nvgpu.mbarrier.try_wait.parity %[[KB]]
// V2: nvgpu.mbarrier.try_wait.parity %[[VB]]
// V2-NEXT: nvvm.wgmma.fence.aligned
// V2-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, {{.*}}B[<bf16>, <one>, <col>]
// V2-NEXT: nvvm.wgmma.commit.group.sync.aligned
// V2-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// V2-NEXT: nvvm.wgmma.commit.group.sync.aligned
// V2-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// Masked and unmasked copies of softmax + wait_group 0 + rescale + P store
// (no control-flow merge while the PV is in flight).
// V2: scf.if %{{.*}} -> (!llvm.struct<(f32, {{.*}}, f32, f32, f32, f32) {
// V2: arith.select %{{.*}}, %{{.*}}, %cst
// V2: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// V2: nvvm.wgmma.wait.group.sync.aligned 0
// V2: arith.mulf
// V2: memref.store %{{.*}} : memref<8192xi32, #gpu.address_space<workgroup>>
// V2: nvvm.fence.proxy
// V2-NEXT: scf.yield
// V2-NEXT: } else {
// V2-NOT: arith.select %{{.*}}, %{{.*}}, %cst
// V2: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// V2: nvvm.wgmma.wait.group.sync.aligned 0
// V2: memref.store %{{.*}} : memref<8192xi32, #gpu.address_space<workgroup>>
// V2: nvvm.fence.proxy
// V2-NEXT: scf.yield
// V2-NEXT: }
// V2-NEXT: gpu.barrier
// V2: nvgpu.tma.async.load %{{.*}}, %[[VB]]
// V2: nvgpu.tma.async.load %{{.*}}, %[[KB]]
// V2: scf.yield
// V2: scf.if %{{.*}} -> (!llvm.struct
// V2: nvgpu.mbarrier.try_wait.parity %[[VB]]
// V2-NEXT: nvvm.wgmma.fence.aligned
// V2-COUNT-8: nvvm.wgmma.mma_async {{.*}}B[<bf16>, <one>, <row>]
// V2-NEXT: nvvm.wgmma.commit.group.sync.aligned
// V2-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// V2: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// V2: gpu.return

// The host functions are replaced by one gpu.module; manifests ride on the module.
// CHECK: module attributes {attnc.gpu.manifests = {{.*}}gpu.container_module
// CHECK-NOT: func.func
// CHECK: gpu.module @attnc_gpu

// CHECK-LABEL: gpu.func @full_d128_kernel(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32) kernel
// CHECK-SAME: attnc.manifest = "{{.*}}shared_bytes\22: 197632
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<1x128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK: gpu.dynamic_shared_memory
// CHECK: nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// Prologue: Q (2 boxes of 128x64) and KV tile 0 (2 K + 2 V boxes) by thread 0.
// CHECK: nvgpu.mbarrier.arrive.expect_tx %{{.*}}, %c32768
// CHECK-COUNT-2: nvgpu.tma.async.load
// CHECK: nvgpu.mbarrier.arrive.expect_tx %{{.*}}, %c65536
// CHECK-COUNT-4: nvgpu.tma.async.load
// CHECK: nvgpu.mbarrier.try_wait.parity
// The KV loop: prefetch the next tile, wait for this one.
// CHECK: scf.for {{.*}} iter_args
// CHECK: scf.if
// CHECK-COUNT-4: nvgpu.tma.async.load
// CHECK: nvgpu.mbarrier.try_wait.parity
// S = Q K^T: D/16 = 8 wgmma m64n128k16, K-major B, the first one zeroes the accumulator.
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}}D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// The mask only runs on partial tiles (here: the tile crossing Lk).
// CHECK: arith.cmpi sgt
// CHECK: scf.if %{{.*}} -> (f32,
// CHECK: arith.select
// CHECK: } else {
// Online softmax: quad max with shuffles, exp2.
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// P through shared memory, then the async-proxy fence and a warpgroup barrier.
// CHECK: memref.store %{{.*}} : memref<8192xi32, #gpu.address_space<workgroup>>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// O = alpha O + P V: 8 wgmma m64n128k16 with MN-major V (layout row = transposed B).
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: gpu.barrier
// CHECK: scf.yield
// Epilogue: LSE = (m + lg2 l) ln 2, O and LSE stores.
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK: llvm.store {{.*}} : f32, !llvm.ptr
// CHECK: gpu.return
func.func @full_d128(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// Causal (bottom-right): the visited tiles stop at the diagonal of the
// block's last row (CarrierTiles: key bound min(Lk, i1 + (Lk - Lq) + 1), then
// tiles); tiles crossing the diagonal are masked with j <= i + (Lk - Lq).
// CAUSAL-LABEL: gpu.func @causal_d64_kernel
// CAUSAL-SAME: shared_bytes\22: 115712
// CAUSAL: arith.subi %{{.*}}, %{{.*}} : index
// CAUSAL: arith.minsi %{{.*}}, %{{.*}} : index
// CAUSAL: arith.floordivsi
// CAUSAL: scf.for
// CAUSAL-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <{{zero|one}}>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CAUSAL: scf.if %{{.*}} -> (f32,
// CAUSAL: arith.cmpi sle
// CAUSAL: arith.select
// CAUSAL-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <row>]
func.func @causal_d64(%q: tensor<2x4x?x64xf16>, %k: tensor<2x4x?x64xf16>, %v: tensor<2x4x?x64xf16>) -> tensor<2x4x?x64xf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16> -> tensor<2x4x?x64xf16>
  return %o : tensor<2x4x?x64xf16>
}

// Score and mask regions are inlined per accumulator element, in f32.
// REGIONS-LABEL: gpu.func @regions_d256_kernel
// REGIONS-SAME: block_n\22: 64
// REGIONS: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// REGIONS: arith.sitofp %{{.*}} : i64 to f32
// REGIONS: arith.mulf %{{.*}}, %{{.*}} : f32
// A mask region makes every tile partial (the classification folds to true).
// REGIONS: scf.if %{{.*}} -> (f32,
// REGIONS: arith.cmpi sge, %{{.*}}, %{{.*}} : index
// REGIONS: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 256, k = 16>
func.func @regions_d256(%q: tensor<?x?x?x256xbf16>, %k: tensor<?x?x?x256xbf16>, %v: tensor<?x?x?x256xbf16>) -> tensor<?x?x?x256xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.0625 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x256xbf16>, tensor<?x?x?x256xbf16>, tensor<?x?x?x256xbf16> -> tensor<?x?x?x256xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c256 = arith.constant 256 : index
    %jw = arith.addi %j, %c256 : index
    %keep = arith.cmpi sge, %jw, %i : index
    attn.yield %keep : i1
  }
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %j, %i : index
    %d64 = arith.index_cast %d : index to i64
    %df = arith.sitofp %d64 : i64 to f32
    %c = arith.constant 7.812500e-03 : f32
    %bias = arith.mulf %df, %c : f32
    %r = arith.addf %s, %bias : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x256xbf16>
}
