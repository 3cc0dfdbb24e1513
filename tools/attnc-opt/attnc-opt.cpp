//===- attnc-opt.cpp - the attnc pass driver (for lit tests) -------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#ifdef ATTNC_HAVE_GPU_PASSES
#include "attnc/Passes/GPUPasses.h"
#endif
#ifdef ATTNC_HAVE_TEST_PASSES
#include "test/lib/Analysis/TestPasses.h"
#endif

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  attnc::registerAttncPasses();
  mlir::PassPipelineRegistration<>(
      "attnc-cpu-pipeline", "attn to the LLVM dialect for the CPU reference",
      [](mlir::OpPassManager &pm) { attnc::buildCPULoweringPipeline(pm); });
#ifdef ATTNC_HAVE_GPU_PASSES
  attnc::registerGPUPasses();
#endif
#ifdef ATTNC_HAVE_TEST_PASSES
  attnc::registerAttncTestPasses();
#endif
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<attnc::attn::AttnDialect>();
#ifdef ATTNC_HAVE_GPU_PASSES
  registry.insert<attnc::tile::AttnTileDialect>();
#endif
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "attnc pass driver\n", registry));
}
