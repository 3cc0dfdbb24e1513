// attn-gpu-build-tile-kernel: a planned attention becomes a gpu.func whose
// body is an attn_tile.kernel: the attention itself (over block arguments
// standing for q, k, v and the extras) and the sequential tile program (a
// plan that is not persistent: attn-tile-persistent adds the work loop).
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-tile-kernel %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-tile-kernel=keep-host %s | FileCheck %s --check-prefix=KEEP
// RUN: not attnc-opt --attn-gpu-build-tile-kernel %s 2>&1 | FileCheck %s --check-prefix=NOPLAN

// The host function is erased (it would print before the gpu.module).
// CHECK-NOT: func.func @scored
// CHECK-LABEL: gpu.func @scored_kernel(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr, %{{.*}}: i32) kernel
// CHECK-SAME: attnc.manifest =
// CHECK: attn_tile.kernel "scored_kernel" {plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false>} spec {
// CHECK-NEXT: ^bb0(%[[Q:.*]]: tensor<?x?x?x128xbf16>, %[[K:.*]]: tensor<?x?x?x128xbf16>, %[[V:.*]]: tensor<?x?x?x128xbf16>, %[[E:.*]]: tensor<?xf32>):
// The region's values from above are cloned into the spec (a dim of the
// extra, a constant); the plan is the kernel's, not the attention's.
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[E]], %[[C0]]
// CHECK: attn.attention %[[Q]], %[[K]], %[[V]] extras(%[[E]] : tensor<?xf32>)
// CHECK-NOT: attn.kernel_plan
// CHECK: arith.remsi %{{.*}}, %[[N]]
// CHECK: } body {
// CHECK-NEXT: %[[TQ:.*]] = attn_tile.load_q : !attn_tile.smem<"q">
// CHECK-NEXT: %[[O0:.*]] = attn_tile.zero_acc : !attn_tile.acc<64, 128>
// CHECK-NEXT: %[[S0:.*]] = attn_tile.init_stats : !attn_tile.stats
// CHECK-NEXT: %[[R:.*]]:2 = attn_tile.for_tiles iter_args(%[[O0]], %[[S0]] : !attn_tile.acc<64, 128>, !attn_tile.stats) {
// CHECK-NEXT: ^bb0(%[[T:.*]]: index, %{{.*}}: index, %[[O:.*]]: !attn_tile.acc<64, 128>, %[[ST:.*]]: !attn_tile.stats):
// CHECK-NEXT: %[[TK:.*]] = attn_tile.load_kv %[[T]] : !attn_tile.smem<"k">
// CHECK-NEXT: %[[S:.*]] = attn_tile.qk %[[TQ]], %[[TK]] : !attn_tile.smem<"q">, !attn_tile.smem<"k"> -> !attn_tile.acc<64, 128>
// CHECK-NEXT: %[[P:.*]], %[[ST1:.*]], %[[F:.*]] = attn_tile.softmax %[[S]], %[[T]], %[[ST]]
// CHECK-NEXT: %[[O1:.*]] = attn_tile.rescale %[[O]], %[[F]]
// CHECK-NEXT: %[[TV:.*]] = attn_tile.load_kv %[[T]] : !attn_tile.smem<"v">
// CHECK-NEXT: %[[O2:.*]] = attn_tile.pv %[[P]], %[[TV]], %[[O1]]
// CHECK-NEXT: attn_tile.yield %[[O2]], %[[ST1]]
// CHECK: attn_tile.store %[[R]]#0, %[[R]]#1
// CHECK-NEXT: }
// CHECK-NEXT: gpu.return

// KEEP: func.func @scored
// KEEP: gpu.func @scored_kernel

// NOPLAN: error: 'attn.attention' op GPU kernel: no kernel plan (attn.kernel_plan); run attn-gpu-plan-kernel first

// A per-head bias table of dynamic length, indexed modulo its length.
func.func @scored(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %bias: tensor<?xf32>) -> tensor<?x?x?x128xbf16> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %bias, %c0 : tensor<?xf32>
  %o = attn.attention %q, %k, %v extras(%bias : tensor<?xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %hh = arith.remsi %h, %n : index
    %t = tensor.extract %bias[%hh] : tensor<?xf32>
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x128xbf16>
}
