//===- DestinationABI.cpp - tensor functions to memref in/out functions --===//
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNDESTINATIONABI
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {
MemRefType bufferType(Type t) {
  auto tt = cast<RankedTensorType>(t);
  return MemRefType::get(tt.getShape(), tt.getElementType());
}

struct AttnDestinationABIPass
    : public attnc::impl::AttnDestinationABIBase<AttnDestinationABIPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      FunctionType ft = fn.getFunctionType();
      auto isRankedTensor = [](Type t) { return isa<RankedTensorType>(t); };
      if (!llvm::all_of(ft.getInputs(), isRankedTensor) ||
          !llvm::all_of(ft.getResults(), isRankedTensor)) {
        fn.emitError("the destination ABI needs ranked tensor arguments and results");
        return signalPassFailure();
      }
      Block &entry = fn.getBody().front();
      OpBuilder b(&entry, entry.begin());
      Location loc = fn.getLoc();
      SmallVector<Type> args;
      // Inputs: each tensor argument is read from a caller's buffer.
      for (BlockArgument arg : entry.getArguments()) {
        MemRefType mt = bufferType(arg.getType());
        args.push_back(mt);
        Type tensorTy = arg.getType();
        arg.setType(mt);
        auto t = bufferization::ToTensorOp::create(b, loc, tensorTy, arg,
                                                   /*restrict=*/true, /*writable=*/false);
        arg.replaceAllUsesExcept(t.getResult(), t);
      }
      // Outputs: one more buffer argument per result, written in place.
      SmallVector<BlockArgument> outs;
      for (Type r : ft.getResults()) {
        args.push_back(bufferType(r));
        outs.push_back(entry.addArgument(bufferType(r), loc));
      }
      fn.walk([&](func::ReturnOp ret) {
        OpBuilder rb(ret);
        for (auto [v, out] : llvm::zip(ret.getOperands(), outs))
          bufferization::MaterializeInDestinationOp::create(
              rb, ret.getLoc(), TypeRange{}, v, out, /*restrict=*/true, /*writable=*/true);
        func::ReturnOp::create(rb, ret.getLoc());
        ret.erase();
      });
      // The results' attributes (their names) move to their buffers.
      SmallVector<DictionaryAttr> argAttrs, resultAttrs;
      fn.getAllArgAttrs(argAttrs);
      fn.getAllResultAttrs(resultAttrs);
      argAttrs.append(resultAttrs.begin(), resultAttrs.end());
      fn.setFunctionType(FunctionType::get(&getContext(), args, {}));
      fn.setAllArgAttrs(argAttrs);
      fn.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
      fn->setAttr("llvm.emit_c_interface", UnitAttr::get(&getContext()));
    }
  }
};
} // namespace
