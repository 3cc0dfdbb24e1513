// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel --canonicalize %s | FileCheck %s --check-prefix=SINKS
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel --canonicalize %s | FileCheck %s --check-prefix=DOC
// RUN: attnc-opt --attn-gpu-plan-kernel="persistent=false o-tma-store=false" --attn-gpu-build-kernel --canonicalize %s | FileCheck %s --check-prefix=LIST
// The tile schedule/classification IR (passes/Analysis/CarrierTiles) in the kernel.
// Behaviour is checked by brute force in carrier-tiles-exec.mlir.

// Window with sinks: two tile ranges (sinks, then the band), so the gap is
// never loaded; slot t maps to a sink tile while t < |sinks|, else to the
// band. The manifest lists the family as exactly tiled.
// SINKS-LABEL: gpu.func @sinks_kernel
// SINKS-SAME: tiles_exact = ["window+sinks"]
// SINKS: scf.for %[[T:.*]] = %c0 to %{{.*}} step
// SINKS-NEXT: %[[IN:.*]] = arith.cmpi slt, %[[T]], %[[NSINK:.*]] : index
// SINKS-NEXT: %[[OFF:.*]] = arith.subi %[[T]], %[[NSINK]] : index
// SINKS-NEXT: %[[BAND:.*]] = arith.addi %{{.*}}, %[[OFF]] : index
// SINKS-NEXT: arith.select %[[IN]], %[[T]], %[[BAND]] : index
// SINKS: nvvm.wgmma.mma_async
func.func @sinks(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.window<left = 1024, right = 0, sinks = 64, align = bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// Documents: cu_seqlens is a trailing device pointer (extra_0) plus its
// length (extra_0_dim0); the spans of the tile's first and last rows come
// from a binary search over cu (scf.while + global loads).
// DOC-LABEL: gpu.func @doc_kernel
// DOC-SAME: %[[CU:[a-z0-9]+]]: !llvm.ptr, %[[N:[a-z0-9]+]]: i32) kernel
// DOC-SAME: name = "extra_0_dim0"
// DOC: scf.while
// DOC: llvm.getelementptr %[[CU]][%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, i32
// DOC: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr -> i32
// A thread's rows take the tile's span when its first and last rows share
// one document (the tile schedule's searches), else search themselves.
// DOC: scf.if %{{.*}} -> (index, index) {
// DOC-NEXT: scf.yield %[[S0:[0-9]+]], %[[E0:[0-9]+]] : index, index
// DOC-NEXT: } else {
// DOC: scf.while
// DOC: scf.if %{{.*}} -> (index, index) {
// DOC-NEXT: scf.yield %[[S0]], %[[E0]] : index, index
// DOC: scf.for
func.func @doc(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %cu: tensor<?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%cu : tensor<?xi32>) {carrier = [#attn.document<seqlens = 0>, #attn.causal<top_left>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// Block list: the schedule is the query block's CSR row (offsets, indices).
// The producer and the consumers skip invalid slots (scf.if around the
// tile); the consumers find the first valid slot (scf.while) to peel it.
// LIST-LABEL: gpu.func @list_kernel
// LIST: scf.for
// LIST: scf.if %{{.*}} -> (index)
// LIST: nvgpu.tma.async.load
// LIST: scf.while
// LIST: scf.for
// LIST: scf.if %{{.*}} -> (!llvm.struct
func.func @list(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %off: tensor<?x?x?xi32>, %idx: tensor<?x?x?xi32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<?x?x?xi32>, tensor<?x?x?xi32>) {carrier = [#attn.block_list<q_block = 256, k_block = 128, offsets = 0, indices = 1>, #attn.causal<bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
