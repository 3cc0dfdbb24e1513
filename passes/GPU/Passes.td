//===- Passes.td - attnc GPU (Hopper) passes ---------------*- tablegen -*-===//
#ifndef ATTNC_GPU_PASSES
#define ATTNC_GPU_PASSES

include "mlir/Pass/PassBase.td"

def AttnGPUBuildKernel : Pass<"attn-gpu-build-kernel", "mlir::ModuleOp"> {
  let summary = "Build a Hopper flash-attention kernel (gpu.module) for each attn.attention";
  let description = [{
    For each func.func holding attn.attention ops (softmax: link exp, anchor
    row; carriers: none or causal; bf16/f16; D = Dv in {64, 128, 256}), emits
    a gpu.func kernel in gpu.module @attnc_gpu following docs/gpu-abi.md:
    TMA (nvgpu.tma.async.load) loads of Q and of K/V tiles into a two-stage
    shared-memory ring completed on mbarriers, nvvm.wgmma.mma_async for
    S = Q K^T and O += P V (P through 128B-swizzled shared memory), online
    softmax in registers (row max across the quad with shuffles), the score
    region inlined (promoted to f32), the mask applied only on partial or
    diagonal tiles, causal tiles above the diagonal never loaded, and LSE as a
    second output. The kernel carries its JSON manifest in `attnc.manifest`;
    the module gets `attnc.gpu.manifests` (kernel name -> JSON). The host
    functions are erased unless keep-host is set.
  }];
  let options = [
    Option<"keepHost", "keep-host", "bool", /*default=*/"false",
           "Keep the host functions that held the attentions">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"0",
           "KV tile (64 or 128; 0 picks 128 for D <= 128, 64 for D = 256)">,
  ];
  let dependentDialects = [
    "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect", "mlir::NVVM::NVVMDialect",
    "mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect"];
}

#endif // ATTNC_GPU_PASSES
