// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=CAUSAL
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false v-scanner=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=NOSCAN
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=REGIONS
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=PADDED
// RUN: attnc-opt --attn-gpu-plan-kernel="schedule=ws stages=2 persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=WS
// RUN: not attnc-opt --attn-gpu-plan-kernel="schedule=v3" %s 2>&1 | FileCheck %s --check-prefix=BADSCHED
// RUN: not attnc-opt --attn-gpu-plan-kernel="stages=4 persistent=false" --attn-gpu-build-kernel %s 2>&1 | FileCheck %s --check-prefix=BADSTAGES
// BADSCHED: schedule must be pingpong or ws, got 'v3'
// BADSTAGES: GPU kernel: 4 stages need 296976 bytes of shared memory (max 232448)

// Warp roles: warpgroup 0 produces (setmaxnreg down; thread 0 loads Q, then
// K and V of every scheduled tile into a 3-stage ring: wait for the slot's
// empty barrier, expect the bytes on its full barrier, TMA); warpgroups 1-2
// consume (setmaxnreg up; consumer 1 lets consumer 0 issue first).
// CHECK: module attributes {attnc.gpu.manifests = {{.*}}gpu.container_module
// CHECK-NOT: func.func
// CHECK: gpu.module @attnc_gpu
// CHECK-LABEL: gpu.func @full_d128_kernel(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32) kernel
// CHECK-SAME: attnc.manifest = {abi_version = 1 : i64, {{.*}}block = [384, 1, 1]{{.*}}shared_bytes = 231436 : i64, stages = 3 : i64
// CHECK-SAME: known_block_size = array<i32: 384, 1, 1>
// CHECK-SAME: nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<1x128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK: gpu.dynamic_shared_memory
// CHECK: %[[QB:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>>
// CHECK: %[[KF:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
// CHECK: %[[KE:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
// CHECK: %[[VF:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
// CHECK: %[[VE:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 3>
// CHECK: nvgpu.mbarrier.init %[[KE]][%{{.*}}], %c2 :
// CHECK: gpu.barrier
// CHECK: nvvm.setmaxregister  decrease 24
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[QB]][%{{.*}}], %c32768
// CHECK-COUNT-2: nvgpu.tma.async.load
// CHECK: scf.for {{.*}} iter_args
// CHECK: nvgpu.mbarrier.try_wait.parity %[[KE]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[KF]][%{{.*}}], %c32768
// CHECK-COUNT-2: nvgpu.tma.async.load
// CHECK: nvgpu.mbarrier.try_wait.parity %[[VE]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[VF]][%{{.*}}], %c32768
// CHECK-COUNT-2: nvgpu.tma.async.load
// CHECK: } else {
// CHECK: nvvm.setmaxregister  increase 240
// CHECK: nvgpu.mbarrier.try_wait.parity %[[QB]]
// CHECK: nvvm.barrier.arrive id = %c1_i32{{.*}} number_of_threads = %c256_i32
// Tile 0, peeled: its turn, S = Q K^T (8 x m64n128k16, K-major B), the
// other consumer's turn, release K, softmax.
// CHECK: scf.if %{{.*}} -> (f32, f32, f32, f32, i32,
// CHECK: nvgpu.mbarrier.try_wait.parity %[[KF]]
// CHECK: nvvm.barrier id = %{{.*}} number_of_threads = %c256_i32
// CHECK: nvvm.wgmma.fence.aligned
// CHECK: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7: nvvm.wgmma.mma_async {{.*}}D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.barrier.arrive id = %{{.*}} number_of_threads = %c256_i32
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvgpu.mbarrier.arrive %[[KE]]
// Mask only on partial tiles and the tile crossing Lk.
// CHECK: arith.cmpi sgt
// CHECK: scf.if %{{.*}} -> (f32,
// CHECK: arith.select
// CHECK: } else {
// Softmax: raw-score row max (scale folded into one FMA per element).
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: math.fma
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: llvm.fptrunc %{{.*}} : vector<2xf32> to vector<2xbf16>
// Tiles 1..: S_n and P_{n-1} V_{n-1} issued in one turn; wait for S only,
// softmax under the PV, then wait for the PV, release V, rescale O.
// CHECK: scf.for {{.*}} iter_args
// CHECK: nvgpu.mbarrier.try_wait.parity %[[KF]]
// CHECK: nvgpu.mbarrier.try_wait.parity %[[VF]]
// CHECK: nvvm.barrier id
// CHECK-COUNT-8: nvvm.wgmma.mma_async {{.*}}B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, p, 1, 1, 1;
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.barrier.arrive
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvgpu.mbarrier.arrive %[[KE]]
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: nvgpu.mbarrier.arrive %[[VE]]
// CHECK: arith.mulf
// CHECK: scf.yield
// Drain: the last P V.
// CHECK: nvgpu.mbarrier.try_wait.parity %[[VF]]
// CHECK-COUNT-8: llvm.inline_asm
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// Epilogue: O / l and the LSE.
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// CHECK: llvm.store {{.*}} : f32, !llvm.ptr
// CHECK: gpu.return

// schedule=ws: no turns (no named-barrier arrivals; the one named barrier
// is the V scanner's, id 5 over its 96 threads); stages fixed at 2.
// WS-LABEL: gpu.func @full_d128_kernel
// WS-SAME: stages = 2 : i64
// WS-NOT: nvvm.barrier.arrive
// WS: nvvm.barrier id = %c5_i32{{.*}} number_of_threads = %c96_i32
// WS-NOT: nvvm.barrier.arrive
// WS: gpu.return

func.func @full_d128(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// Causal (bottom-right): the visited tiles stop at the diagonal of the
// block's last row (CarrierTiles: key bound min(Lk, i1 + (Lk - Lq) + 1), then
// tiles); tiles crossing the diagonal are masked with j <= i + (Lk - Lq).
// CAUSAL-LABEL: gpu.func @causal_d64_kernel
// CAUSAL-SAME: shared_bytes = 149520 : i64
// CAUSAL: arith.subi %{{.*}}, %{{.*}} : index
// CAUSAL: arith.minsi %{{.*}}, %{{.*}} : index
// CAUSAL: arith.floordivsi
// CAUSAL: scf.for
// CAUSAL-COUNT-4: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>, D[<f32>, <{{zero|one}}>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CAUSAL: scf.if %{{.*}} -> (f32,
// CAUSAL: arith.cmpi sle
// CAUSAL: arith.select
// CAUSAL-COUNT-8: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// v-scanner=false (A/B; slower on every prefill kernel measured, bench/NOTES.md):
// the plan says so, V slots have the two consumers as readers, and each
// consumer scans its tiles with dropped pairs over its own 128 threads.
// NOSCAN-LABEL: gpu.func @causal_d64_kernel
// NOSCAN: nvgpu.mbarrier.create
// NOSCAN-NEXT: nvgpu.mbarrier.create
// NOSCAN-NEXT: nvgpu.mbarrier.create
// NOSCAN-NEXT: nvgpu.mbarrier.create
// NOSCAN-NEXT: %[[VE:.*]] = nvgpu.mbarrier.create
// NOSCAN: nvgpu.mbarrier.init %[[VE]][%{{.*}}], %c2{{(_[0-9]+)?}} :
// NOSCAN-NOT: bar.red.or.pred q, $2, 96
// NOSCAN: bar.red.or.pred q, $2, 128, p
func.func @causal_d64(%q: tensor<2x4x?x64xf16>, %k: tensor<2x4x?x64xf16>, %v: tensor<2x4x?x64xf16>) -> tensor<2x4x?x64xf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16>, tensor<2x4x?x64xf16> -> tensor<2x4x?x64xf16>
  return %o : tensor<2x4x?x64xf16>
}

// Score and mask regions are inlined per accumulator element, in f32.
// REGIONS-LABEL: gpu.func @regions_d256_kernel
// REGIONS-SAME: block_n = 64 : i64
// REGIONS: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 64, k = 16>
// REGIONS: arith.sitofp %{{.*}} : i64 to f32
// REGIONS: arith.mulf %{{.*}}, %{{.*}} : f32
// A mask region is bounded per tile (MaskBounds.h); partial tiles apply it
// per element, in 32 bits (j + 256 with Lk at most kRegionMaxExtent).
// REGIONS: scf.if %{{.*}} -> (f32,
// REGIONS: arith.cmpi sge, %{{.*}}, %{{.*}} : i32
// REGIONS: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
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

// Head dims that are not multiples of 64 run in 64-column chunks: D = 96 is
// loaded as two 64-column TMA boxes (the second zero-filled past column 96),
// S takes 8 k16 steps, O has 128 columns and the epilogue stores 96 of them
// (12 groups of 8 columns per accumulator row instead of 16).
// PADDED-LABEL: gpu.func @d96_kernel
// PADDED-SAME: head_dim = 96 : i64
// PADDED-SAME: shared_bytes = 231436 : i64
// PADDED-COUNT-8: nvvm.wgmma.mma_async {{.*}}<m = 64, n = 128, k = 16>
// PADDED: llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n128k16
// PADDED: llvm.call_intrinsic "llvm.nvvm.lg2.approx.f"
// PADDED-COUNT-12: llvm.store {{.*}} : i32, !llvm.ptr
// PADDED-NOT: llvm.store {{.*}} : i32, !llvm.ptr
// PADDED: llvm.store {{.*}} : f32, !llvm.ptr
// PADDED-COUNT-12: llvm.store {{.*}} : i32, !llvm.ptr
// PADDED-NOT: llvm.store {{.*}} : i32, !llvm.ptr
// PADDED: gpu.return
func.func @d96(%q: tensor<?x?x?x96xbf16>, %k: tensor<?x?x?x96xbf16>, %v: tensor<?x?x?x96xbf16>) -> tensor<?x?x?x96xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.10206207261596575 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x96xbf16>, tensor<?x?x?x96xbf16>, tensor<?x?x?x96xbf16> -> tensor<?x?x?x96xbf16>
  return %o : tensor<?x?x?x96xbf16>
}
