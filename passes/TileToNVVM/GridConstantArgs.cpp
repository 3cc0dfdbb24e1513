//===- GridConstantArgs.cpp - tensor maps as __grid_constant__ parameters -===//
//
// attn-gpu-grid-constant-args: the kernel's TMA descriptors are passed by
// value, as CUDA's __grid_constant__ parameters (128 bytes each), so that a
// launch uploads nothing (a map in device memory would be copied per launch
// whenever the tensors move, and would pin a buffer that CUDA graphs keep).
// attn-gpu-build-tile-kernel marks the parameters on the gpu.func (the NVVM
// dialect accepts nvvm.grid_constant only on an llvm.func kernel); after the
// gpu-to-NVVM conversion this pass turns the mark into byval + align 64 +
// nvvm.grid_constant, which NVPTX lowers to `.param .align 64 .b8 x[128]`
// whose address the TMA instructions take.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUGRIDCONSTANTARGS
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;

namespace {
struct AttnGPUGridConstantArgsPass
    : public attnc::impl::AttnGPUGridConstantArgsBase<AttnGPUGridConstantArgsPass> {
  void runOnOperation() override {
    getOperation()->walk([&](LLVM::LLVMFuncOp fn) {
      auto marked = fn->getAttrOfType<DenseI64ArrayAttr>(attnc::kGridConstantArgsAttr);
      if (!marked)
        return;
      MLIRContext *ctx = fn.getContext();
      auto bytes = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), 128);
      for (int64_t a : marked.asArrayRef()) {
        if (a < 0 || a >= (int64_t)fn.getNumArguments() ||
            !isa<LLVM::LLVMPointerType>(fn.getArgument(a).getType())) {
          fn.emitOpError() << "grid-constant argument " << a << " is not a pointer argument";
          return signalPassFailure();
        }
        fn.setArgAttr(a, LLVM::LLVMDialect::getByValAttrName(), TypeAttr::get(bytes));
        fn.setArgAttr(a, LLVM::LLVMDialect::getAlignAttrName(),
                      IntegerAttr::get(IntegerType::get(ctx, 64), 64));
        fn.setArgAttr(a, NVVM::NVVMDialect::getGridConstantAttrName(), UnitAttr::get(ctx));
      }
      fn->removeAttr(attnc::kGridConstantArgsAttr);
    });
  }
};
} // namespace
