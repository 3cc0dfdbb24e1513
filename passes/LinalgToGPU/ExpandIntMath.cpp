//===- ExpandIntMath.cpp - integer math ops as arith for the generic path -===//
//
// convert-gpu-to-nvvm maps float math to libdevice but has no pattern for
// integer math.absi (on index it is left behind an unrealized cast that the
// LLVM translation refuses). Mask and score regions use it (`abs(i - j)`),
// and the generic steps evaluate those regions (attn-classify-mask-blocks),
// so it is expanded to compare and select first. The Hopper kernel's
// emitter lowers the same op itself.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUEXPANDINTMATH
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

struct ExpandAbsI : OpRewritePattern<math::AbsIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::AbsIOp op, PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value x = op.getOperand();
    Value zero = arith::ConstantOp::create(rw, loc, rw.getZeroAttr(x.getType()));
    Value neg = arith::CmpIOp::create(rw, loc, arith::CmpIPredicate::slt, x, zero);
    Value flipped = arith::SubIOp::create(rw, loc, zero, x);
    rw.replaceOpWithNewOp<arith::SelectOp>(op, neg, flipped, x);
    return success();
  }
};

struct AttnGPUExpandIntMathPass
    : public attnc::impl::AttnGPUExpandIntMathBase<AttnGPUExpandIntMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandAbsI>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
