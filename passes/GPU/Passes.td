//===- Passes.td - attnc GPU (Hopper) passes ---------------*- tablegen -*-===//
#ifndef ATTNC_GPU_PASSES
#define ATTNC_GPU_PASSES

include "mlir/Pass/PassBase.td"

def AttnGPUBuildKernel : Pass<"attn-gpu-build-kernel", "mlir::ModuleOp"> {
  let summary = "Build a Hopper flash-attention kernel (gpu.module) for each attn.attention";
  let description = [{
    For each func.func holding attn.attention ops (link exp + anchor row,
    optionally with a null logit; links sigmoid / relu^p under anchors none
    or row; every carrier family (tile schedule from passes/GPU/CarrierTiles)
    and mask/score regions reading extras; bf16/f16; D = Dv in {64, 128,
    256}), emits
    a gpu.func kernel in gpu.module @attnc_gpu following docs/gpu-abi.md:
    TMA (nvgpu.tma.async.load) loads of Q and of K/V tiles into a two-stage
    shared-memory ring completed on mbarriers, nvvm.wgmma.mma_async for
    S = Q K^T and O += P V (P through 128B-swizzled shared memory), online
    softmax in registers (row max across the quad with shuffles), the score
    region inlined (promoted to f32), the mask applied only on partial or
    partial tiles, tiles outside the carrier's schedule never loaded, and LSE as a
    second output. The kernel carries its JSON manifest in `attnc.manifest`;
    the module gets `attnc.gpu.manifests` (kernel name -> JSON). The host
    functions are erased unless keep-host is set.
  }];
  let options = [
    Option<"keepHost", "keep-host", "bool", /*default=*/"false",
           "Keep the host functions that held the attentions">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"0",
           "KV tile (64 or 128; 0 picks 128 for D <= 128, 64 for D = 256)">,
    Option<"schedule", "schedule", "std::string", /*default=*/"\"v1\"",
           "Per-tile schedule: v1 (S, softmax, PV serial; CTA barrier per "
           "tile) or v2 (PV of tile n-1 issued after S of tile n, overlapping "
           "the softmax of tile n; separate K and V rings)">,
  ];
  let dependentDialects = [
    "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect", "mlir::NVVM::NVVMDialect",
    "mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect"];
}

def AttnTestCarrierTiles : Pass<"attn-test-carrier-tiles", "mlir::func::FuncOp"> {
  let summary = "Test: check the GPU tile schedule/classification against the carrier predicate";
  let description = [{
    Replaces each attn.attention (whose result must be unused; extras must be
    defined in the function, e.g. by arith.constant) with loops that, for every
    Lq in [1, max-lq] and Lk in [1, max-lk] (Lq = Lk = prod(grid) only for
    neighborhood carriers), every batch and head, every BLOCK_M x BLOCK_N tile,
    evaluate the tile schedule and classification of passes/GPU/CarrierTiles
    and the brute-force AND/OR of buildKeepPredicate over the tile, and print
    `tiles visited full violations visited_empty full_missed` with
    vector.print. A violation is a non-empty tile not visited, a tile visited
    twice, or a tile called full that has a dropped pair. `inject-bug`
    (1: drop the last slot, 2: call every tile full) shows the check fails.
  }];
  let options = [
    Option<"bm", "bm", "int64_t", /*default=*/"8", "BLOCK_M">,
    Option<"bn", "bn", "int64_t", /*default=*/"4", "BLOCK_N">,
    Option<"maxLq", "max-lq", "int64_t", /*default=*/"40", "largest Lq">,
    Option<"maxLk", "max-lk", "int64_t", /*default=*/"40", "largest Lk">,
    Option<"injectBug", "inject-bug", "int64_t", /*default=*/"0",
           "1: drop the last slot, 2: call every tile full">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect", "mlir::vector::VectorDialect",
    "mlir::tensor::TensorDialect"];
}

#endif // ATTNC_GPU_PASSES
