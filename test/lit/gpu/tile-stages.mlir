// The tile-level stages of the Hopper kernel, one pass at a time, from the
// sequential tile program attn-gpu-build-tile-kernel writes (tile-build.mlir).
// RUN: attnc-opt --attn-tile-warp-specialize %s | FileCheck %s --check-prefix=WS
// RUN: attnc-opt --attn-tile-warp-specialize --attn-tile-pipeline %s | FileCheck %s --check-prefix=PIPE
// RUN: attnc-opt --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong %s | FileCheck %s --check-prefix=PP
// RUN: attnc-opt --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-to-nvvm %s | FileCheck %s --check-prefix=NVVM
// RUN: attnc-opt --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-to-nvvm %s | FileCheck %s --check-prefix=EXACT
// RUN: attnc-opt --attn-tile-warp-specialize --attn-tile-to-nvvm %s | FileCheck %s --check-prefix=SYNC
// RUN: not attnc-opt --attn-tile-to-nvvm %s 2>&1 | FileCheck %s --check-prefix=NOROLES

// Warp specialization: the loads move to the producer (Q issued async, K and
// V of each tile put into the ring at the tile's ordinal); the consumers wait
// for Q, take each slot from the ring and release it after its last reader.
// WS-LABEL: gpu.func @f_kernel
// WS: attn_tile.warp_specialize {consumer_regs = 240 : i64, producer_regs = 24 : i64} producer {
// WS-NEXT: attn_tile.load_q {async}
// WS-NEXT: attn_tile.for_tiles {
// WS-NEXT: ^bb0(%[[T:.*]]: index, %[[N:.*]]: index):
// WS-NEXT: attn_tile.ring_put "k" %[[T]], %[[N]]
// WS-NEXT: attn_tile.ring_put "v" %[[T]], %[[N]]
// WS-NEXT: attn_tile.yield
// WS: } consumer {
// WS-NEXT: %[[Q:.*]] = attn_tile.wait_q
// WS: attn_tile.for_tiles iter_args
// WS-NEXT: ^bb0(%[[CT:.*]]: index, %[[CN:.*]]: index,
// WS-NEXT: %[[K:.*]] = attn_tile.ring_get %[[CN]] : !attn_tile.smem<"k">
// WS-NEXT: attn_tile.qk %[[Q]], %[[K]]
// WS-NEXT: attn_tile.ring_release %[[K]], %[[CN]]
// WS-NEXT: attn_tile.softmax
// WS-NEXT: = attn_tile.rescale
// WS-NEXT: %[[V:.*]] = attn_tile.ring_get %[[CN]] : !attn_tile.smem<"v">
// WS-NEXT: attn_tile.pv %{{.*}}, %[[V]]
// WS-NEXT: attn_tile.ring_release %[[V]], %[[CN]]
// WS: attn_tile.store
// The split_kv plan: the consumers take alternate tiles.
// WS-LABEL: gpu.func @g_kernel
// WS: attn_tile.for_tiles iter_args({{.*}}) attributes {alternate}

// Pipelining: the first tile runs stage 0 (its O rescale folds: O is zero);
// later tiles issue QK^T(n) and PV(n-1) async, wait for QK^T only, run the
// softmax, then wait for PV, release V(n-1) and rescale; the drain runs the
// last PV. Carried: the statistics, the V ordinal, P and the rescaled O.
// PIPE-LABEL: gpu.func @f_kernel
// PIPE: %[[Z:.*]] = attn_tile.zero_acc
// PIPE: attn_tile.pipelined_for iter_args({{.*}}) first {
// PIPE-NEXT: ^bb0(%{{.*}}: index, %[[N0:.*]]: index):
// PIPE-NEXT: attn_tile.ring_get %[[N0]] : !attn_tile.smem<"k">
// PIPE-NEXT: attn_tile.qk {{.*}} {async}
// PIPE-NEXT: attn_tile.mma_wait {pending = 0 : i64}
// PIPE-NEXT: attn_tile.ring_release %{{.*}}, %[[N0]]
// PIPE-NEXT: %[[P0:.*]], %[[S0:.*]], %{{.*}} = attn_tile.softmax
// PIPE-NEXT: attn_tile.yield %[[S0]], %[[N0]], %[[P0]], %[[Z]] :
// PIPE-NEXT: } steady {
// PIPE-NEXT: ^bb0(%{{.*}}: index, %[[N:.*]]: index, %{{.*}}: !attn_tile.stats, %[[NP:.*]]: index, %[[PPREV:.*]]: !attn_tile.probs<64, 128>, %[[OP:.*]]: !attn_tile.acc<64, 64>):
// PIPE-NEXT: %[[K:.*]] = attn_tile.ring_get %[[N]] : !attn_tile.smem<"k">
// PIPE-NEXT: %[[V:.*]] = attn_tile.ring_get %[[NP]] : !attn_tile.smem<"v">
// PIPE-NEXT: attn_tile.qk %{{.*}}, %[[K]] {async}
// PIPE-NEXT: %[[O1:.*]] = attn_tile.pv %[[PPREV]], %[[V]], %[[OP]] {async}
// PIPE-NEXT: attn_tile.mma_wait {pending = 1 : i64}
// PIPE-NEXT: attn_tile.ring_release %[[K]], %[[N]]
// PIPE-NEXT: %[[P:.*]], %[[S:.*]], %[[F:.*]] = attn_tile.softmax
// PIPE-NEXT: attn_tile.mma_wait {pending = 0 : i64}
// PIPE-NEXT: attn_tile.ring_release %[[V]], %[[NP]]
// PIPE-NEXT: %[[O2:.*]] = attn_tile.rescale %[[O1]], %[[F]]
// PIPE-NEXT: attn_tile.yield %[[S]], %[[N]], %[[P]], %[[O2]] :
// PIPE-NEXT: } drain {
// PIPE-NEXT: ^bb0(%[[DS:.*]]: !attn_tile.stats, %[[DN:.*]]: index, %[[DP:.*]]: !attn_tile.probs<64, 128>, %[[DO:.*]]: !attn_tile.acc<64, 64>):
// PIPE-NEXT: %[[DV:.*]] = attn_tile.ring_get %[[DN]] : !attn_tile.smem<"v">
// PIPE-NEXT: %[[DR:.*]] = attn_tile.pv %[[DP]], %[[DV]], %[[DO]] :
// PIPE-NEXT: attn_tile.ring_release %[[DV]], %[[DN]]
// PIPE-NEXT: attn_tile.yield %[[DR]], %[[DS]] :
// PIPE-LABEL: gpu.func @g_kernel
// PIPE: attn_tile.pipelined_for {{.*}} attributes {alternate} first

// Ping-pong (pingpong plan only): turns around each run of async issues.
// PP-LABEL: gpu.func @f_kernel
// PP: attn_tile.pipelined_for {{.*}} attributes {turns} first {
// PP: attn_tile.turn_begin
// PP-NEXT: attn_tile.qk
// PP-NEXT: attn_tile.turn_end
// PP: } steady {
// PP: attn_tile.turn_begin
// PP-NEXT: attn_tile.qk
// PP-NEXT: attn_tile.pv
// PP-NEXT: attn_tile.turn_end
// PP: } drain {
// PP-NOT: attn_tile.turn_begin
// PP: attn_tile.store
// PP-LABEL: gpu.func @g_kernel
// PP-NOT: turn_begin
// PP: attn_tile.store

// The lowering: no attn_tile op is left; the steady loop issues two wgmma
// groups (8 k16 steps of QK^T over D = 64 ... n = 128, then P V) between
// the turn barriers, waits for one, and later for both.
// NVVM-LABEL: gpu.func @f_kernel
// NVVM-NOT: attn_tile.
// NVVM: nvvm.setmaxregister  decrease 24
// NVVM: nvvm.setmaxregister  increase 240
// NVVM: scf.for
// NVVM: nvvm.barrier id =
// NVVM: nvvm.wgmma.commit.group.sync.aligned
// NVVM: nvvm.wgmma.commit.group.sync.aligned
// NVVM: nvvm.barrier.arrive id =
// NVVM-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// NVVM: nvvm.wgmma.wait.group.sync.aligned 0
// NVVM: nvvm.barrier id = %c1_i32{{.*}} number_of_threads = %c256_i32
// NVVM-NOT: attn_tile.
// NVVM: gpu.return

// A tile with dropped pairs (partial, or across Lk) is checked for a NaN or
// Inf in V once, by warps 1-3 of the producer warpgroup as the tile arrives:
// a packed FMA by zero per word, agreed over their 96 threads (barrier 5);
// the leader leaves (ordinal << 1) | answer in the slot's word and arrives on
// the slot's scan barrier, then on its empty barrier (V slots wait for three
// releases: both consumers and the scanner), after all 96 threads met on
// barrier 5 (a warp left behind would wait on a later phase's parity). A consumer, where V arrives and
// before the next QK^T is issued, waits for the scan barrier and reads the
// word; on a hit the exact path adds P V on the CUDA cores (one rolled loop
// over the 64 key pairs carrying O, Dv = 64: 8 words of V per key) and the
// wgmma reads the zero block (written at set-up) instead of V.
// EXACT-LABEL: gpu.func @f_kernel
// EXACT: nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
// EXACT-NEXT: nvgpu.mbarrier.create
// EXACT-NEXT: %[[VFULL:.*]] = nvgpu.mbarrier.create
// EXACT-NEXT: %[[VEMPTY:.*]] = nvgpu.mbarrier.create
// EXACT-NEXT: %[[VSCAN:.*]] = nvgpu.mbarrier.create
// EXACT: nvgpu.mbarrier.init %[[VEMPTY]][%{{.*}}], %c3
// EXACT-NEXT: %{{.*}} = arith.constant 1 : index
// EXACT-NEXT: %{{.*}} = arith.constant 0 : index
// EXACT-NEXT: nvgpu.mbarrier.init %[[VSCAN]][%{{.*}}], %{{.*}}
// EXACT: "st.shared.b32 [$0], 0;"
// EXACT: "fence.proxy.async.shared::cta;"
// EXACT: nvvm.setmaxregister  decrease 24
// EXACT: %[[SCANNER:.*]] = arith.cmpi uge, %{{.*}}, %c32_i32
// EXACT-NEXT: scf.if %[[SCANNER]] {
// EXACT: nvgpu.mbarrier.try_wait.parity %[[VFULL]][%[[SSTAGE:.*]]], %{{.*}}
// EXACT: "ld.shared.v4.b32 {$0, $1, $2, $3}, [$4];"
// EXACT-COUNT-4: "fma.rn.bf16x2 $0, $1, $2, $3;"
// EXACT: bar.red.or.pred q, $2, 96, p;\0Avote.sync.any.pred
// EXACT: } else {
// EXACT: nvvm.barrier id = %c5_i32{{.*}} number_of_threads = %c96_i32
// EXACT: "st.shared.b32 [$0], $1;"
// EXACT-NEXT: nvgpu.mbarrier.arrive %[[VSCAN]][%[[SSTAGE]]]
// EXACT-NEXT: nvgpu.mbarrier.arrive %[[VEMPTY]][%[[SSTAGE]]]
// EXACT: nvvm.setmaxregister  increase 240
// EXACT: scf.for
// EXACT: nvgpu.mbarrier.try_wait.parity
// EXACT: nvgpu.mbarrier.try_wait.parity %[[VFULL]][%[[VSTAGE:.*]]], %{{.*}} : <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
// EXACT-NEXT: %[[CHECK:.*]] = scf.if %{{.*}} -> (i1) {
// EXACT: nvgpu.mbarrier.try_wait.parity %[[VSCAN]][%[[VSTAGE]]]
// EXACT: ld.shared.b32 w, [$1];\0Aand.b32 w, w, 1;\0Asetp.ne.b32 p, w, 0;\0Avote.sync.any.pred
// EXACT-NOT: bar.red
// EXACT: } else {
// EXACT: scf.if %[[CHECK]] -> (!llvm.struct
// EXACT: scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// EXACT-NEXT: ".pragma \22nounroll\22;"
// EXACT-COUNT-16: "ld.shared.b32 $0, [$1];"
// EXACT-NOT: nvvm.wgmma.mma_async
// EXACT: } else {
// EXACT: nvvm.barrier id =
// EXACT: nvvm.wgmma.mma_async
// EXACT: arith.select %[[CHECK]], %{{.*}}, %{{.*}} : i64
// EXACT: llvm.inline_asm has_side_effects "{{.*}}wgmma.mma_async.sync.aligned.m64n64k16

// Without the pipeline pass the consumers' loop still lowers: each product
// is waited for at once.
// SYNC-LABEL: gpu.func @f_kernel
// SYNC: scf.for
// SYNC: nvvm.wgmma.commit.group.sync.aligned
// SYNC-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// SYNC-NOT: wait.group.sync.aligned 1
// SYNC: gpu.return

// NOROLES: error: 'attn_tile.kernel' op attn-tile-to-nvvm: the kernel has no warp roles (run attn-tile-warp-specialize first)
// RUN: sed -e 's/probs<64, 64>/probs<64, 128>/g' %s | not attnc-opt --attn-tile-warp-specialize --attn-tile-to-nvvm 2>&1 | FileCheck %s --check-prefix=BADTYPE
// An op of the first stage that reads the P V product of the same tile
// cannot move a tile later: the pipeliner refuses the loop.
// RUN: sed -e '/^ *attn_tile.yield %8,/s/attn_tile.yield %8, %new_stats/%9 = attn_tile.rescale %8, %rescale : !attn_tile.acc<64, 64>, !attn_tile.rescale -> !attn_tile.acc<64, 64>\n attn_tile.yield %9, %new_stats/' %s | not attnc-opt --attn-tile-warp-specialize --attn-tile-pipeline 2>&1 | FileCheck %s --check-prefix=NOPIPE
// NOPIPE: error: 'attn_tile.rescale' op pipelining: only ring_get, pv and ring_release may read the V slot or the P V product
// Under split_kv the ring's empty barriers count one release per slot: a
// consumer loop that takes every tile is refused, not lowered into a race.
// RUN: attnc-opt --attn-tile-warp-specialize %s | sed -e 's/ attributes {alternate}//' | not attnc-opt --attn-tile-to-nvvm 2>&1 | FileCheck %s --check-prefix=NOALT
// NOALT: error: 'attn_tile.for_tiles' op attn-tile-to-nvvm: under the split_kv plan the consumers take alternate tiles
// BADTYPE: error: 'attn_tile.softmax' op attn-tile-to-nvvm: '!attn_tile.probs<64, 128>' does not fit the kernel's plan (64 x 64 tiles, O of 64 x 64 per consumer)

module attributes {gpu.container_module} {
  gpu.module @attnc_gpu {
    gpu.func @f_kernel(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr, %arg3: !llvm.ptr, %arg4: !llvm.ptr, %arg5: i32, %arg6: i32, %arg7: i32, %arg8: i32, %arg9: i32, %arg10: i32) kernel {
      attn_tile.kernel "f_kernel" {plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 4, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false>} spec {
      ^bb0(%arg11: tensor<2x4x256x64xbf16>, %arg12: tensor<2x4x512x64xbf16>, %arg13: tensor<2x4x512x64xbf16>):
        %0 = attn.attention %arg11, %arg12, %arg13 {anchor = #attn.anchor<row>, link = #attn.link<exp>} : tensor<2x4x256x64xbf16>, tensor<2x4x512x64xbf16>, tensor<2x4x512x64xbf16> -> tensor<2x4x256x64xbf16>
      } body {
        %0 = attn_tile.load_q : !attn_tile.smem<"q">
        %1 = attn_tile.zero_acc : !attn_tile.acc<64, 64>
        %2 = attn_tile.init_stats : !attn_tile.stats
        %3:2 = attn_tile.for_tiles iter_args(%1, %2 : !attn_tile.acc<64, 64>, !attn_tile.stats) {
        ^bb0(%arg11: index, %arg12: index, %arg13: !attn_tile.acc<64, 64>, %arg14: !attn_tile.stats):
          %4 = attn_tile.load_kv %arg11 : !attn_tile.smem<"k">
          %5 = attn_tile.qk %0, %4 : !attn_tile.smem<"q">, !attn_tile.smem<"k"> -> !attn_tile.acc<64, 128>
          %p, %new_stats, %rescale = attn_tile.softmax %5, %arg11, %arg14 : !attn_tile.acc<64, 128>, !attn_tile.stats -> !attn_tile.probs<64, 128>, !attn_tile.stats, !attn_tile.rescale
          %6 = attn_tile.rescale %arg13, %rescale : !attn_tile.acc<64, 64>, !attn_tile.rescale -> !attn_tile.acc<64, 64>
          %7 = attn_tile.load_kv %arg11 : !attn_tile.smem<"v">
          %8 = attn_tile.pv %p, %7, %6 : !attn_tile.probs<64, 128>, !attn_tile.smem<"v">, !attn_tile.acc<64, 64> -> !attn_tile.acc<64, 64>
          attn_tile.yield %8, %new_stats : !attn_tile.acc<64, 64>, !attn_tile.stats
        } -> !attn_tile.acc<64, 64>, !attn_tile.stats
        attn_tile.store %3#0, %3#1 : !attn_tile.acc<64, 64>, !attn_tile.stats
      }
      gpu.return
    }
    gpu.func @g_kernel(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr, %arg3: !llvm.ptr, %arg4: !llvm.ptr, %arg5: i32, %arg6: i32, %arg7: i32, %arg8: i32, %arg9: i32, %arg10: i32, %ws: !llvm.ptr, %splits: i32) kernel {
      attn_tile.kernel "g_kernel" {plan = #attn.kernel_plan<block_m = 64, block_n = 64, stages = 4, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "split_kv", pack_heads = false>} spec {
      ^bb0(%arg11: tensor<2x4x256x64xbf16>, %arg12: tensor<2x4x512x64xbf16>, %arg13: tensor<2x4x512x64xbf16>):
        %0 = attn.attention %arg11, %arg12, %arg13 {anchor = #attn.anchor<row>, link = #attn.link<exp>} : tensor<2x4x256x64xbf16>, tensor<2x4x512x64xbf16>, tensor<2x4x512x64xbf16> -> tensor<2x4x256x64xbf16>
      } body {
        %0 = attn_tile.load_q : !attn_tile.smem<"q">
        %1 = attn_tile.zero_acc : !attn_tile.acc<64, 64>
        %2 = attn_tile.init_stats : !attn_tile.stats
        %3:2 = attn_tile.for_tiles iter_args(%1, %2 : !attn_tile.acc<64, 64>, !attn_tile.stats) {
        ^bb0(%arg11: index, %arg12: index, %arg13: !attn_tile.acc<64, 64>, %arg14: !attn_tile.stats):
          %4 = attn_tile.load_kv %arg11 : !attn_tile.smem<"k">
          %5 = attn_tile.qk %0, %4 : !attn_tile.smem<"q">, !attn_tile.smem<"k"> -> !attn_tile.acc<64, 64>
          %p, %new_stats, %rescale = attn_tile.softmax %5, %arg11, %arg14 : !attn_tile.acc<64, 64>, !attn_tile.stats -> !attn_tile.probs<64, 64>, !attn_tile.stats, !attn_tile.rescale
          %6 = attn_tile.rescale %arg13, %rescale : !attn_tile.acc<64, 64>, !attn_tile.rescale -> !attn_tile.acc<64, 64>
          %7 = attn_tile.load_kv %arg11 : !attn_tile.smem<"v">
          %8 = attn_tile.pv %p, %7, %6 : !attn_tile.probs<64, 64>, !attn_tile.smem<"v">, !attn_tile.acc<64, 64> -> !attn_tile.acc<64, 64>
          attn_tile.yield %8, %new_stats : !attn_tile.acc<64, 64>, !attn_tile.stats
        } -> !attn_tile.acc<64, 64>, !attn_tile.stats
        attn_tile.store %3#0, %3#1 : !attn_tile.acc<64, 64>, !attn_tile.stats
      }
      gpu.return
    }
  }
}
