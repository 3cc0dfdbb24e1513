//===- ReductionsInner.cpp - parallel loops outside, reductions inside ----===//
//
// linalg's conversion to parallel loops makes only the outermost run of
// parallel loops parallel: a reduction loop ahead of a parallel one (a sum
// down the columns, [b, h, i (sum), j]) turns every loop after it
// sequential, so that Sinkhorn's column sums ran a thread per head. Moving
// the reduction loops inside, in their order, makes every parallel loop a
// thread dimension; the innermost parallel loop stays the innermost of them,
// so neighbouring threads still read neighbouring elements.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUREDUCTIONSINNER
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;

namespace {
struct AttnGPUReductionsInnerPass : public attnc::impl::AttnGPUReductionsInnerBase<AttnGPUReductionsInnerPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp g) { ops.push_back(g); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp g : ops) {
      SmallVector<utils::IteratorType> iters = g.getIteratorTypesArray();
      SmallVector<unsigned> order;
      for (unsigned d = 0; d < iters.size(); ++d)
        if (iters[d] == utils::IteratorType::parallel)
          order.push_back(d);
      for (unsigned d = 0; d < iters.size(); ++d)
        if (iters[d] != utils::IteratorType::parallel)
          order.push_back(d);
      if (llvm::equal(order, llvm::seq<unsigned>(0, iters.size())))
        continue;
      rewriter.setInsertionPoint(g);
      if (failed(linalg::interchangeGenericOp(rewriter, g, order))) {
        g.emitOpError("generic GPU path: cannot move the reduction loops inside");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
