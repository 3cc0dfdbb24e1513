// Persistent blocks share the costly part of each item's tile schedule: the
// producer computes the values that take reads or loops (here the document
// searches over cu) and writes them to shared memory before Q's arrival
// announces the item; the scanner and the consumers read them with the
// item's word instead of searching again. Values of a few integer ops (the
// rows, the key tile count) every role computes; a causal schedule has only
// those, so it shares nothing.
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false" --attn-gpu-build-kernel %s | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: gpu.func @doc_kernel
// The producer: the search of the first row's document (a loop of global
// loads), the 10 values that depend on it (the key tile ranges, the slot
// count, both rows' document spans), after item n - 2's release (its area
// is this item's), then Q.
// CHECK: nvvm.setmaxregister  decrease
// CHECK: scf.while
// CHECK: llvm.load
// CHECK: nvgpu.mbarrier.try_wait.parity
// CHECK-COUNT-10: "st.shared.b64 [$0], $1;", "r,l"
// CHECK-NOT: ld.shared.b64
// CHECK: nvgpu.mbarrier.arrive.expect_tx
// CHECK: nvgpu.tma.async.load
// The scanner, after the item's word: the values, then no search of its
// own before its rows (whose spans search only when the tile's first and
// last rows lie in different documents).
// CHECK: "ld.shared.b32 $0, [$1];"
// CHECK-COUNT-10: "ld.shared.b64 $0, [$1];", "=l,r"
// CHECK-NOT: llvm.load
// CHECK: scf.if %{{.*}} -> (index, index) {
// The consumers: the same.
// CHECK: nvvm.setmaxregister  increase
// CHECK: "ld.shared.b32 $0, [$1];"
// CHECK-COUNT-10: "ld.shared.b64 $0, [$1];", "=l,r"
// CHECK-NOT: llvm.load
// CHECK: scf.if %{{.*}} -> (index, index) {
// CHECK: gpu.return

// Without persistence every block computes its own schedule.
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel %S/tile-persistent.mlir | FileCheck %s --check-prefix=CAUSAL
// CAUSAL-LABEL: gpu.func @causal_kernel
// CAUSAL-NOT: shared.b64
// CAUSAL: gpu.return
// OFF-LABEL: gpu.func @doc_kernel
// OFF-NOT: st.shared.b64
// OFF-NOT: ld.shared.b64
// OFF: gpu.return
func.func @doc(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%cu : tensor<?xi32>) {carrier = [#attn.document<seqlens = 0>, #attn.causal<top_left>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// A block list: the row's start in the indices and its slot count come
// from the offsets table (two reads); the producer shares both.
// CHECK-LABEL: gpu.func @bl_kernel
// CHECK: nvvm.setmaxregister  decrease
// CHECK: llvm.load
// CHECK-COUNT-2: "st.shared.b64 [$0], $1;", "r,l"
// CHECK-NOT: "st.shared.b64
// CHECK: nvvm.setmaxregister  increase
// CHECK: "ld.shared.b32 $0, [$1];"
// CHECK-COUNT-2: "ld.shared.b64 $0, [$1];", "=l,r"
// CHECK-NOT: "ld.shared.b64
// CHECK: gpu.return
func.func @bl(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %off: tensor<?x?x?xi32>, %idx: tensor<?x?x?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<?x?x?xi32>, tensor<?x?x?xi32>) {carrier = [#attn.block_list<q_block = 128, k_block = 128, offsets = 0, indices = 1>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
