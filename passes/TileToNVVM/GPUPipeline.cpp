//===- GPUPipeline.cpp - attn -> cubin/PTX for Hopper ---------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

namespace {
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{*this, "chip", llvm::cl::desc("sm_90a"),
                                        llvm::cl::init("sm_90a")};
  PassOptions::Option<std::string> format{
      *this, "format", llvm::cl::desc("isa (PTX), bin (cubin) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<std::string> schedule{
      *this, "schedule", llvm::cl::desc("consumer schedule pingpong or ws (empty: pass default)"),
      llvm::cl::init("")};
  PassOptions::Option<bool> decode{*this, "decode",
                                   llvm::cl::desc("decode schedule (split-KV, packed heads)"),
                                   llvm::cl::init(false)};
  PassOptions::Option<int64_t> blockN{*this, "block-n",
                                      llvm::cl::desc("KV tile (64 or 128; 0: the kernel's choice)"),
                                      llvm::cl::init(0)};
};
} // namespace

void attnc::addKernelStages(OpPassManager &pm, bool keepHost) {
  pm.addPass(createAttnGPUBuildTileKernel(AttnGPUBuildTileKernelOptions{keepHost}));
  pm.addPass(createAttnTileWarpSpecialize());
  pm.addPass(createAttnTilePipeline());
  pm.addPass(createAttnTilePingPong());
  pm.addPass(createAttnTilePersistent());
  pm.addPass(createAttnTileToNVVM());
}

LogicalResult attnc::buildGPUPipeline(OpPassManager &pm, StringRef chip,
                                      StringRef format,
                                      const AttnGPUPlanKernelOptions &kopts) {
  if (chip != "sm_90a") {
    llvm::errs() << "attnc GPU pipeline: chip '" << chip
                 << "' not supported (the kernel uses wgmma: sm_90a only)\n";
    return failure();
  }
  if (format != "isa" && format != "bin" && format != "fatbin") {
    llvm::errs() << "attnc GPU pipeline: format must be isa, bin or fatbin\n";
    return failure();
  }
  pm.addPass(createAttnGPUPlanKernel(kopts));
  addKernelStages(pm);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  addNVVMTarget(pm, chip);
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  OpPassManager &gpm = pm.nest<gpu::GPUModuleOp>();
  gpm.addPass(createConvertGpuOpsToNVVMOps());
  gpm.addPass(createAttnGPUGridConstantArgs());
  gpm.addPass(createCanonicalizerPass());
  gpm.addPass(createCSEPass());
  gpm.addPass(createReconcileUnrealizedCastsPass());

  addGPUModuleToBinary(pm, format);
  return success();
}

namespace {
struct KernelStagesOptions : public PassPipelineOptions<KernelStagesOptions> {
  PassOptions::Option<bool> keepHost{*this, "keep-host",
                                     llvm::cl::desc("Keep the host functions"),
                                     llvm::cl::init(false)};
};
} // namespace

void attnc::registerGPUPasses() {
  registerAttncGPUPasses();
  PassPipelineRegistration<KernelStagesOptions>(
      "attn-gpu-build-kernel",
      "planned attn.attention -> Hopper kernel in nvgpu/nvvm: the tile kernel, warp "
      "specialization, pipelining, ping-pong turns, and the lowering",
      [](OpPassManager &pm, const KernelStagesOptions &o) { addKernelStages(pm, o.keepHost); });
  PassPipelineRegistration<GPUPipelineOptions>(
      "attnc-gpu-pipeline",
      "attn.attention -> Hopper kernel -> gpu.binary (cubin/PTX); options chip, format",
      [](OpPassManager &pm, const GPUPipelineOptions &o) {
        AttnGPUPlanKernelOptions k;
        if (!o.schedule.empty())
          k.schedule = o.schedule;
        k.decode = o.decode;
        k.blockN = o.blockN;
        if (failed(buildGPUPipeline(pm, o.chip, o.format, k)))
          llvm::report_fatal_error("attnc-gpu-pipeline: bad options");
      });
  PassPipelineRegistration<GPUPipelineOptions>(
      "attnc-gpu-generic-pipeline",
      "generic GPU steps -> linalg -> loops -> gpu.launch -> gpu.binary; options chip, format",
      [](OpPassManager &pm, const GPUPipelineOptions &o) {
        if (failed(buildGPUGenericPipeline(pm, o.chip, o.format)))
          llvm::report_fatal_error("attnc-gpu-generic-pipeline: bad options");
      });
}
