// Persistent blocks (the plan's `persistent`, the default outside split_kv).
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-tile-kernel --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-persistent %s | FileCheck %s --check-prefix=TILE
// RUN: attnc-opt --attn-gpu-plan-kernel="o-tma-store=false" --attn-gpu-build-tile-kernel --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-persistent %s | FileCheck %s --check-prefix=DRAIN
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=NVVM
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=OFF
// RUN: attnc-opt --attn-gpu-plan-kernel="q-slots=1" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=Q1
// RUN: attnc-opt --attn-gpu-plan-kernel="o-tma-store=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=DIRECT
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-tile-kernel --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-persistent %s | sed -e '/attn_tile.release_q/d' | not attnc-opt --attn-tile-to-nvvm 2>&1 | FileCheck %s --check-prefix=NORELEASE

// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-tile-kernel --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-persistent %s | sed -e '/attn_tile.release_q/d' -e '/attn_tile.wait_q/a attn_tile.release_q' | not attnc-opt --attn-tile-to-nvvm 2>&1 | FileCheck %s --check-prefix=NORELEASE

// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-tile-kernel --attn-tile-warp-specialize --attn-tile-pipeline --attn-tile-pingpong --attn-tile-persistent %s | sed -e '/attn_tile.release_q/d' -e '/attn_tile.store/i attn_tile.release_q' | not attnc-opt --attn-tile-to-nvvm 2>&1 | FileCheck %s --check-prefix=NORELEASE

// Without its release the producer would wait for the next item forever;
// released before a QK^T, the next item's Q would overwrite the tile it reads.
// released before the store of O staged in the Q slot (o_tma_store), the
// next item's Q would overwrite it.
// NORELEASE: error: 'attn_tile.for_work' op attn-tile-to-nvvm: the consumers' for_work must release Q exactly once, after their last QK^T

// attn-tile-persistent: each role's body runs per work item. The plan
// stores O through the Q slot (o_tma_store), so the consumers release Q
// after the store; without that, when their last QK^T is done: at the
// start of the pipelined loop's drain (which runs only the last P V),
// before the epilogue.
// TILE: attn_tile.warp_specialize
// TILE-SAME: producer {
// TILE-NEXT: attn_tile.for_work {
// TILE-NEXT: attn_tile.load_q {async}
// TILE-NEXT: attn_tile.for_tiles {
// TILE: } consumer {
// TILE-NEXT: attn_tile.for_work {
// TILE-NEXT: attn_tile.wait_q
// TILE: attn_tile.pipelined_for
// TILE: } drain {
// TILE-NEXT: ^bb0(
// TILE-NEXT: attn_tile.ring_get
// TILE: } -> !attn_tile.acc<64, 128>, !attn_tile.stats
// TILE-NEXT: attn_tile.store
// TILE-NEXT: attn_tile.release_q
// DRAIN: } drain {
// DRAIN-NEXT: ^bb0(
// DRAIN-NEXT: attn_tile.release_q
// DRAIN-NEXT: attn_tile.ring_get
// DRAIN: } -> !attn_tile.acc<64, 128>, !attn_tile.stats
// DRAIN-NEXT: attn_tile.store
// DRAIN-NOT: attn_tile.release_q

// The lowering: a workspace parameter (the counter) and `persistent` in the
// manifest; a Q empty barrier counting both consumers and the scanner. The
// producer thread takes items with an atomic add, waits until the previous
// item is released, writes the item to the word of its parity and loads Q
// (or, past the last item, only arrives). The scanner and the consumers
// wait for Q's phase and read the word; each group meets on its named
// barrier before its leader releases Q. Ring ordinals run on across items:
// each role's loop carries them.
// NVVM-LABEL: gpu.func @causal_kernel(
// NVVM-SAME: %{{.*}}: i32, %[[WS:.*]]: !llvm.ptr, %[[OMAP:.*]]: !llvm.ptr) kernel
// The O map is a pointer parameter, not a grid constant (only q, k, v's).
// NVVM-SAME: attnc.grid_constant_args = array<i64: 0, 1, 2>
// NVVM-SAME: {bytes = 256 : i64, kind = "workspace", name = "workspace", zero_bytes = 256 : i64}
// NVVM-SAME: persistent = true
// Two Q slots (the next item's Q loads while the current one runs): Q's
// full and empty barriers have one per slot, and the K/V ring two stages.
// NVVM-SAME: shared_bytes = 199184 : i64, stages = 2 : i64
// NVVM: %[[QBAR:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// NVVM-COUNT-5: nvgpu.mbarrier.create
// NVVM-NEXT: %[[QEMPTY:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 2>
// NVVM: nvgpu.mbarrier.init %[[QBAR]][%c0{{.*}}], %c1
// NVVM: nvgpu.mbarrier.init %[[QEMPTY]][%c0{{.*}}], %c3
// NVVM: nvgpu.mbarrier.init %[[QBAR]][%c1{{.*}}], %c1
// NVVM: nvgpu.mbarrier.init %[[QEMPTY]][%c1{{.*}}], %c3
// NVVM: nvvm.setmaxregister  decrease 56
// NVVM: scf.while (%[[CNT:.*]] = %c0, %{{.*}} = %c0) : (index, index) -> (index, index, i32)
// NVVM: %[[ITEM:.*]] = llvm.atomicrmw add %[[WS]], %{{.*}} monotonic
// NVVM: nvgpu.mbarrier.try_wait.parity %[[QEMPTY]]
// NVVM: "st.shared.b32 [$0], $1;", "r,r" %{{.*}}, %[[ITEM]]
// NVVM: nvgpu.mbarrier.arrive %[[QBAR]]
// NVVM: scf.condition
// NVVM: } do {
// NVVM: nvgpu.mbarrier.try_wait.parity %[[QEMPTY]]
// NVVM: "st.shared.b32 [$0], $1;"
// NVVM: nvgpu.mbarrier.arrive.expect_tx %[[QBAR]]
// NVVM: nvgpu.tma.async.load
// NVVM: scf.yield
// The scanner (warps 1-3 of the producer warpgroup).
// NVVM: scf.while
// NVVM: nvgpu.mbarrier.try_wait.parity %[[QBAR]]
// NVVM: "ld.shared.b32 $0, [$1];"
// NVVM: nvvm.barrier id = %c5_i32{{.*}} number_of_threads = %c96_i32
// NVVM: %{{.*}} = arith.cmpi eq
// NVVM: scf.if
// NVVM: nvgpu.mbarrier.arrive %[[QEMPTY]]
// The consumers: item n's slot is n mod 2, its phase (n / 2) mod 2 on that
// slot's barriers, and its QK^T reads Q through a descriptor 32 KiB (2048
// units of 16 bytes) further on for slot 1.
// NVVM: nvvm.setmaxregister  increase 224
// NVVM: scf.while (%[[CCNT:[^ ]*]] = %c0
// NVVM: %[[SLOT:.*]] = arith.remui %[[CCNT]], %c2
// NVVM: %[[HALF:.*]] = arith.shrui %{{.*}}, %c1_i32{{.*}}
// NVVM: %[[PAR:.*]] = arith.andi %[[HALF]], %c1_i32
// NVVM: nvgpu.mbarrier.try_wait.parity %[[QBAR]][%[[SLOT]]]
// NVVM: "ld.shared.b32 $0, [$1];"
// NVVM: } do {
// NVVM: %[[SLOT64:.*]] = arith.index_castui %{{.*}} : index to i64
// NVVM: arith.muli %[[SLOT64]], %c2048_i64
// The epilogue: O rows into the consumer's half of the item's Q slot
// (32 KiB per slot), made visible to the async proxy; the warpgroup meets;
// its leader stores two 64-column boxes by TMA and waits until they have
// been read before Q's slot is released.
// NVVM: arith.muli %{{.*}}, %c32768
// NVVM-COUNT-32: "st.shared.b32 [$0], $1;", "r,r"
// NVVM: "fence.proxy.async.shared::cta;"
// NVVM: nvvm.barrier id = %{{.*}} number_of_threads = %c128_i32
// NVVM: scf.if
// NVVM-COUNT-2: "cp.async.bulk.tensor.3d.global.shared::cta.tile.bulk_group [$0, {$1, $2, $3}], [$4];"
// NVVM: "cp.async.bulk.commit_group;"
// NVVM-NEXT: "cp.async.bulk.wait_group.read 0;"
// NVVM: nvgpu.mbarrier.arrive %[[QEMPTY]]
// NVVM: gpu.return
// DIRECT-LABEL: gpu.func @causal_kernel(
// DIRECT-SAME: %{{.*}}: i32, %{{.*}}: !llvm.ptr) kernel
// DIRECT-NOT: cp.async.bulk.tensor.3d.global.shared
// DIRECT: gpu.return

// One Q slot (q-slots=1): one Q barrier of each kind, three ring stages,
// every item a phase of slot 0.
// Q1: shared_bytes = 231960 : i64, stages = 3 : i64
// Q1: %[[QBAR:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>>
// Q1-NOT: arith.muli %{{.*}}, %c2048_i64
// Q1: gpu.return

// OFF-LABEL: gpu.func @causal_kernel(
// OFF-SAME: %{{.*}}: i32) kernel
// OFF-NOT: persistent
// OFF-NOT: scf.while
// OFF-NOT: atomicrmw
// OFF: gpu.return
func.func @causal(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
