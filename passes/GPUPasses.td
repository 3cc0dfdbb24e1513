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
    schedule does not depend on the head. attn-gpu-build-tile-kernel follows
    the plan.
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
    Option<"persistent", "persistent", "bool", /*default=*/"true",
           "Persistent blocks (one per SM, taking work items from a counter); "
           "never under split_kv">,
    Option<"gridTiles", "grid-tiles", "bool", /*default=*/"true",
           "Tiles as boxes of a multi-dimensional neighborhood's grid (q_patch, "
           "k_patch) where the grid admits them; never under split_kv">,
    Option<"qSlots", "q-slots", "int64_t", /*default=*/"0",
           "Shared-memory slots for Q in a persistent kernel (2: the next item's Q "
           "loads under the current item; 0: two where two ring stages still fit; "
           "plans that are not persistent have one)">,
    Option<"vScanner", "v-scanner", "bool", /*default=*/"true",
           "Producer warps 1-3 scan V tiles for NaN and Inf (v_scanner; not "
           "split_kv); off: the consumers scan their own tiles">,
    Option<"oTmaStore", "o-tma-store", "bool", /*default=*/"true",
           "Store O through shared memory (the item's Q slot) and TMA where the "
           "plan admits it (o_tma_store); off: each thread stores its O values">,
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
    re-reading an f32 copy of its inputs. A gather of a cast's result
    (tensor.extract at computed indices, as RoPE's partner channel) reads the
    cast's operand and converts the one element.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttnGPUHoistInvariants : Pass<"attn-gpu-hoist-invariants", "mlir::func::FuncOp"> {
  let summary = "Compute the costly part of an elementwise step once per point of the loops it depends on";
  let description = [{
    In a parallel linalg.generic, a scalar whose computation involves a
    math-dialect function and depends on fewer loops than the op's (RoPE's
    cosine and sine: position and channel, not batch and head) is computed
    by a generic op over those loops only, into a table that the step then
    reads as an input broadcast over the other loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect"];
}

def AttnGPUReductionsInner : Pass<"attn-gpu-reductions-inner", "mlir::func::FuncOp"> {
  let summary = "Move the reduction loops of a linalg.generic inside its parallel loops";
  let description = [{
    The conversion to parallel loops makes only the outermost run of
    parallel loops parallel; a reduction loop ahead of a parallel one (a
    column sum, [b, h, i (sum), j]) would make the loops after it
    sequential. The reduction loops move inside, in their order, so that
    every parallel loop becomes a thread dimension.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def AttnGPUExpandIntMath : Pass<"attn-gpu-expand-int-math"> {
  let summary = "Expand integer math ops (math.absi) into arith for the generic GPU path";
  let description = [{
    convert-gpu-to-nvvm has no pattern for math.absi; mask and score regions
    evaluated by generic steps use it (`abs(i - j)`). Rewrites it to a
    compare and a select.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
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

def AttnGPUBuildTileKernel : Pass<"attn-gpu-build-tile-kernel", "mlir::ModuleOp"> {
  let summary = "Write each planned attn.attention as a tile-level kernel (attn_tile) in gpu.module @attnc_gpu";
  let description = [{
    For each func.func holding attn.attention ops planned by
    attn-gpu-plan-kernel (attn.kernel_plan; the plan is checked against what
    the lowering implements), creates a gpu.func kernel following
    docs/gpu-abi.md (parameters, 384 threads, its manifest in
    `attnc.manifest`; the module gets `attnc.gpu.manifests`) whose body is
    an `attn_tile.kernel`: the attention itself in its `spec` region, and
    the tile program in its sequential form: load Q, then for each key tile
    of the carrier's tile schedule load K, S = Q K^T, softmax (score
    region, mask on partial tiles, online update), rescale O, load V,
    O += P V; then the epilogue. The host functions are erased unless
    keep-host is set.
  }];
  let options = [
    Option<"keepHost", "keep-host", "bool", /*default=*/"false",
           "Keep the host functions that held the attentions">,
  ];
  let dependentDialects = [
    "attnc::tile::AttnTileDialect", "mlir::gpu::GPUDialect", "mlir::LLVM::LLVMDialect"];
}

def AttnTileWarpSpecialize : Pass<"attn-tile-warp-specialize"> {
  let summary = "Split a tile kernel into a TMA producer warpgroup and consumer warpgroups";
  let description = [{
    The kernel's loads move to a producer (warpgroup 0, producer_regs of
    the plan): load_q issued asynchronously, and a tile loop that puts
    every K and V tile into the ring (ring_put: wait for a free slot, TMA).
    The rest runs on the consumers (consumer_regs): wait_q for Q, and in
    the tile loop each load_kv becomes ring_get of the tile's ordinal, with
    a ring_release after the last use of the slot. Under the split_kv plan
    the consumers take alternate tiles.
  }];
  let dependentDialects = ["attnc::tile::AttnTileDialect"];
}

def AttnTilePipeline : Pass<"attn-tile-pipeline"> {
  let summary = "Software-pipeline the consumers' tile loop: PV of tile n-1 overlaps the softmax of tile n";
  let description = [{
    A two-stage modulo schedule of the consumers' for_tiles (the
    FlashAttention-3 intra-warpgroup overlap): the second stage is the
    work on the V slot (ring_get, pv, ring_release), the first everything
    else. The result is an attn_tile.pipelined_for: the first tile runs the
    first stage; each later tile n issues QK^T of n and PV of n-1
    back to back (async), waits for QK^T only, runs the softmax of n while
    PV runs, then waits for PV before O is rescaled; the drain runs the
    last PV. Values of the first stage that the second reads (P, the
    rescaled O) and the ordinal of the V slot are carried. A score region
    whose per-score index work needs registers waits for PV before the
    softmax (it would spill with P and O pinned by the PV in flight).
  }];
  let dependentDialects = ["attnc::tile::AttnTileDialect"];
}

def AttnTilePingPong : Pass<"attn-tile-pingpong"> {
  let summary = "Consumers take turns issuing tensor-core work (named barriers)";
  let description = [{
    Under the pingpong plan: each run of async qk / pv issues in a
    pipelined loop is bracketed by turn_begin / turn_end, and the loop is
    marked `turns`, so that one consumer's softmax runs under the other's
    GEMMs.
  }];
  let dependentDialects = ["attnc::tile::AttnTileDialect"];
}

def AttnTilePersistent : Pass<"attn-tile-persistent"> {
  let summary = "Persistent blocks: each warp role loops over the work items its block takes";
  let description = [{
    Under a plan marked `persistent`: the body of each role of
    warp_specialize moves into an attn_tile.for_work, and each consumer
    releases its Q tile (release_q) once its last QK^T is done (at the start
    of a pipelined loop's drain, else after the last op holding a QK^T), so
    that the producer can load the next item's Q; under `o_tma_store` after
    the store, which stages O in the Q slot. Other plans are left as they
    are.
  }];
  let dependentDialects = ["attnc::tile::AttnTileDialect"];
}

def AttnTileToNVVM : Pass<"attn-tile-to-nvvm", "mlir::ModuleOp"> {
  let summary = "Lower attn_tile kernels to gpu/nvgpu/nvvm";
  let description = [{
    Each attn_tile.kernel becomes the body of its gpu.func: kernel-wide
    set-up (thread roles, the block's rows and heads, the carrier's tile
    schedule of this query tile, shared memory and mbarriers), then each
    tile op by family: TMA and ring barriers (load_q, ring_put, ring_get,
    ring_release), wgmma (qk, pv, mma_wait, turns), the softmax of a tile
    (score and mask regions inlined in f32, 32-bit index math where it
    fits), the epilogue (store; split_kv partials and their merge). Tile
    values lower to register fragments (1:N), loops to scf.for over the
    schedule's slots.
  }];
  let dependentDialects = [
    "mlir::gpu::GPUDialect", "mlir::nvgpu::NVGPUDialect", "mlir::NVVM::NVVMDialect",
    "mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect"];
}

def AttnGPUGridConstantArgs : Pass<"attn-gpu-grid-constant-args"> {
  let summary = "Pass the kernels' TMA descriptors as __grid_constant__ parameters";
  let description = [{
    After the gpu-to-NVVM conversion: each llvm.func kernel argument listed
    in `attnc.grid_constant_args` (set by attn-gpu-build-tile-kernel) becomes a
    128-byte byval parameter, 64-byte aligned, with nvvm.grid_constant, so
    that the runtime passes the CUtensorMap itself and uploads nothing per
    launch (docs/gpu-abi.md, "by_value").
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::NVVM::NVVMDialect"];
}

#endif // ATTNC_GPU_PASSES
