//===- Passes.td - attnc GPU (Hopper) passes ---------------*- tablegen -*-===//
#ifndef ATTNC_GPU_PASSES
#define ATTNC_GPU_PASSES

include "mlir/Pass/PassBase.td"

def AttnGPUPlanKernel : Pass<"attn-gpu-plan-kernel", "mlir::ModuleOp"> {
  let summary = "Choose the Hopper kernel plan of each attn.attention (attn.kernel_plan)";
  let description = [{
    The first stage of the GPU pipeline: checks that the kernel can compute
    the attention (dtypes, head dims, links, anchors; a refusal names the
    reason) and records its plan as `attn.kernel_plan` =
    #attn.kernel_plan<...>: block_m x block_n tiles (128 x 128; 64 keys for
    padded head dims above 128; 64 x 64 for split_kv), the deepest K/V ring
    of 2-4 stages (2-8, even, for split_kv) that fits 227 KiB of shared
    memory, three warpgroups (a producer with 24 registers, two consumers
    with 240 after setmaxnreg), and the schedule: pingpong, ws, or split_kv
    for the decode schedule (`decode` or the spec's `schedule split_kv`),
    which packs the query heads of a KV head into one tile where the tile
    schedule does not depend on the head. attn-gpu-build-kernel follows the
    plan.
  }];
  let options = [
    Option<"blockN", "block-n", "int64_t", /*default=*/"0",
           "KV tile (64 or 128; 0 picks 128 for padded head dims up to 128, 64 "
           "above and for the decode schedule)">,
    Option<"schedule", "schedule", "std::string", /*default=*/"\"pingpong\"",
           "Consumer schedule: pingpong (the two consumer warpgroups take turns "
           "issuing GEMMs, FlashAttention-3) or ws (warp-specialized, no turns); "
           "the decode schedule (decode, or the spec's split_kv) is split_kv whatever this says">,
    Option<"stages", "stages", "int64_t", /*default=*/"0",
           "K/V ring depth (0: the deepest that fits shared memory)">,
    Option<"decode", "decode", "bool", /*default=*/"false",
           "Decode schedule (split_kv: few queries, long keys)">,
  ];
  let dependentDialects = ["attnc::attn::AttnDialect"];
}

def AttnGPUPartitionProgram : Pass<"attn-gpu-partition-program", "mlir::ModuleOp"> {
  let summary = "Split each variant function into a program of kernel and generic steps";
  let description = [{
    The first stage of the GPU path. Every tensor-valued attn op of a variant
    function moves into a private step function, and the variant function
    becomes the program: calls in order, marked `attnc.gpu.program`. An
    attention the Hopper kernel computes is a step with
    `attnc.gpu.step = "kernel"` and its kernel's name on the attention
    (`attnc.kernel_name`: <fn>_kernel, or <fn>_kernel<k> by position among
    the attentions). Lets, output expressions and attentions the kernel
    refuses are `attnc.gpu.step = "generic"` steps with the reason in
    `attnc.gpu.reason`; they compute in f32 (16-bit tensors are extended on
    entry and truncated on return, as the CPU reference computes), and
    attnc-gpu-generic-pipeline lowers them. The kernel's plan is chosen as
    attn-gpu-plan-kernel chooses it, under the same decode and block-n.
  }];
  let options = [
    Option<"decode", "decode", "bool", /*default=*/"false",
           "Plan with the decode schedule (as attn-gpu-plan-kernel's decode)">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"0", "KV tile, as attn-gpu-plan-kernel's block-n">,
  ];
  let dependentDialects = ["attnc::attn::AttnDialect", "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect"];
}

def AttnGPUUnrollHostLoops : Pass<"attn-gpu-unroll-host-loops", "mlir::func::FuncOp"> {
  let summary = "Fully unroll the static scf.for loops of a host function (generic GPU path)";
  let description = [{
    Before bufferization on the generic GPU path: a top-level scf.for with
    static bounds (Sinkhorn's iterations) is unrolled, so that the host side
    is a straight sequence of launches. Loops of more than 256 iterations
    are refused.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect"];
}

def AttnGPUFuseCasts : Pass<"attn-gpu-fuse-casts", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into their consumers, casts even when several read them";
  let description = [{
    Elementwise linalg fusion for the generic GPU path, as
    linalg-fuse-elementwise-ops does for single-use producers, and also for a
    producer that only converts its operand (the f32 extension of a 16-bit
    input a generic step starts with) whatever its number of users: each
    consumer converts on its own load instead of every step writing and
    re-reading an f32 copy of its inputs.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttnGPULaunchLoops : Pass<"attn-gpu-launch-loops", "mlir::func::FuncOp"> {
  let summary = "Turn the loop nests of a host function into gpu.launch, a thread per iteration";
  let description = [{
    For the generic GPU path: each top-level scf.parallel nest (as
    convert-linalg-to-parallel-loops leaves it, reductions as sequential
    inner loops) and each memref.copy becomes a gpu.launch on a 1-D grid of
    256-thread blocks; thread t runs iteration t of the row-major iteration
    space (static bounds), so neighbouring threads touch neighbouring
    elements. Any other control flow on the host side is refused.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect"];
}

def AttnGPUBuildKernel : Pass<"attn-gpu-build-kernel", "mlir::ModuleOp"> {
  let summary = "Build a Hopper flash-attention kernel (gpu.module) for each attn.attention";
  let description = [{
    For each func.func holding attn.attention ops planned by
    attn-gpu-plan-kernel (attn.kernel_plan; the plan is checked against what
    the emitter implements), emits
    a gpu.func kernel in gpu.module @attnc_gpu following docs/gpu-abi.md:
    384 threads in three warpgroups. Warpgroup 0 produces: one thread loads Q
    and walks the carrier's tile schedule (passes/Analysis/CarrierTiles; tiles
    outside it are never loaded), loading K and V tiles with TMA into a
    multi-stage ring guarded by full/empty mbarriers. Warpgroups 1 and 2
    consume 64 query rows each (setmaxnreg moves registers to them): S = Q K^T
    with nvvm.wgmma.mma_async, the score region inlined in f32, the mask only
    on partial tiles, online softmax in registers (exp2, scale folded in),
    O += P V with P kept in registers (register-A wgmma), issued with the next
    tile's S so the softmax overlaps tensor-core work; with schedule=pingpong
    the two consumers take turns issuing. LSE is a
    second output. The kernel carries its manifest (the schema of
    attnc/Runtime/KernelManifest.h, as nested dictionaries) in `attnc.manifest`;
    the module gets `attnc.gpu.manifests` (kernel name -> manifest). The host
    functions are erased unless keep-host is set.
  }];
  let options = [
    Option<"keepHost", "keep-host", "bool", /*default=*/"false",
           "Keep the host functions that held the attentions">,
  ];
  let dependentDialects = [
    "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect", "mlir::NVVM::NVVMDialect",
    "mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect"];
}

def AttnGPUGridConstantArgs : Pass<"attn-gpu-grid-constant-args"> {
  let summary = "Pass the kernels' TMA descriptors as __grid_constant__ parameters";
  let description = [{
    After the gpu-to-NVVM conversion: each llvm.func kernel argument listed
    in `attnc.grid_constant_args` (set by attn-gpu-build-kernel) becomes a
    128-byte byval parameter, 64-byte aligned, with nvvm.grid_constant, so
    that the runtime passes the CUtensorMap itself and uploads nothing per
    launch (docs/gpu-abi.md, "by_value").
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
}

#endif // ATTNC_GPU_PASSES
