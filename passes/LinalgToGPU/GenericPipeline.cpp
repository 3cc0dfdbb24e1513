//===- GenericPipeline.cpp - generic GPU steps -> loops -> cubin/PTX -----===//
//
// What the Hopper kernel does not compute runs as plain GPU code from the
// same cascade as the CPU reference: attn -> einsum cascade -> linalg on
// tensors -> buffers -> parallel loops -> a launch per loop nest (a thread per
// output element) -> NVVM. Correct for anything the CPU backend runs, not
// fast: lets and output expressions are memory-bound elementwise work;
// attentions here materialise their score matrix.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

void attnc::addNVVMTarget(OpPassManager &pm, StringRef chip) {
  GpuNVVMAttachTargetOptions target;
  target.chip = chip.str();
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
}

void attnc::addGPUModuleToBinary(OpPassManager &pm, StringRef format) {
  GpuModuleToBinaryPassOptions bin;
  const char *cuda = std::getenv("CUDA_HOME");
  bin.toolkitPath = cuda && *cuda ? cuda : "/usr/local/cuda";
  bin.compilationTarget = format.str();
  pm.addPass(createGpuModuleToBinaryPass(bin));
}

LogicalResult attnc::buildGPUGenericPipeline(OpPassManager &pm, StringRef chip, StringRef format) {
  if (format != "isa" && format != "bin" && format != "fatbin")
    return failure();
  pm.addPass(createAttnDecompose());
  pm.addPass(createAttnLowerCascadeToLinalg());
  pm.addNestedPass<func::FuncOp>(createAttnGPUUnrollHostLoops());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  // One tensor.dim per size first: with dynamic sizes, fusion needs the
  // consumer's and producer's sizes to be the same values.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createAttnGPUFuseCasts());
  pm.addNestedPass<func::FuncOp>(createAttnGPUHoistInvariants());
  pm.addNestedPass<func::FuncOp>(createAttnGPUReductionsInner());
  pm.addPass(createAttnExpandFloat8());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createAttnDestinationABI());
  // Results computed straight into the output buffers (no copy launch).
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = false;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createAttnGPULaunchLoops());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  addNVVMTarget(pm, chip);
  OpPassManager &gpm = pm.nest<gpu::GPUModuleOp>();
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  // Each buffer is passed as its descriptor (pointers, offset, sizes,
  // strides: the manifest's ptr and i64 parameters), so that sizes may be
  // run-time values.
  gpm.addPass(createAttnGPUExpandIntMath());
  gpm.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  gpm.addPass(createCanonicalizerPass());
  gpm.addPass(createCSEPass());
  gpm.addPass(createReconcileUnrealizedCastsPass());
  addGPUModuleToBinary(pm, format);
  return success();
}
