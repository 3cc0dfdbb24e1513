//===- ExpandFloat8.cpp - decode f8E4M3FN elements with integer ops ------===//
//
// Neither the CPU nor the NVVM lowering of arith knows an 8-bit float: the
// type converter makes f8E4M3FN an i8, and an extf from it has no pattern.
// The decode is exact in f32 (every e4m3 value is a float with a 4-bit
// significand): magnitude = (e == 0 ? m : 8 + m) * 2^(max(e, 1) - 10), NaN
// for the bytes 0x7f and 0xff, and the sign applied last (so -0 stays -0).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNEXPANDFLOAT8
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// f32 of the e4m3 byte `x` (an f8E4M3FN value).
Value decodeE4M3(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, i32, v).getResult(); };
  Value byte = arith::BitcastOp::create(b, loc, b.getI8Type(), x);
  Value bits = arith::ExtUIOp::create(b, loc, i32, byte);
  Value e = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, bits, c(3)), c(15));
  Value m = arith::AndIOp::create(b, loc, bits, c(7));
  Value isSub = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, e, c(0));
  Value sig = arith::SelectOp::create(b, loc, isSub, m, arith::OrIOp::create(b, loc, m, c(8)));
  // 2^(max(e, 1) - 10) as f32 bits: biased exponent max(e, 1) - 10 + 127.
  Value eUse = arith::MaxUIOp::create(b, loc, e, c(1));
  Value scaleBits =
      arith::ShLIOp::create(b, loc, arith::AddIOp::create(b, loc, eUse, c(117)), c(23));
  Value scale = arith::BitcastOp::create(b, loc, f32, scaleBits);
  Value mag = arith::MulFOp::create(b, loc, arith::UIToFPOp::create(b, loc, f32, sig), scale);
  Value isNaN = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                      arith::AndIOp::create(b, loc, bits, c(0x7f)), c(0x7f));
  Value nan = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(std::nanf("")));
  mag = arith::SelectOp::create(b, loc, isNaN, nan, mag);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                    arith::AndIOp::create(b, loc, bits, c(0x80)), c(0));
  return arith::SelectOp::create(b, loc, neg, arith::NegFOp::create(b, loc, mag), mag);
}

struct ExpandExtF : OpRewritePattern<arith::ExtFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::ExtFOp op, PatternRewriter &rw) const override {
    if (!isa<Float8E4M3FNType>(op.getIn().getType()))
      return failure();
    Value f = decodeE4M3(rw, op.getLoc(), op.getIn());
    auto to = cast<FloatType>(op.getType());
    // Wider than f32: exact extension; bf16 / f16 hold every e4m3 value
    // (at most 4 significant bits, exponents -9..8), so the truncation is exact.
    if (to.getWidth() > 32)
      f = arith::ExtFOp::create(rw, op.getLoc(), to, f);
    else if (to.getWidth() < 32)
      f = arith::TruncFOp::create(rw, op.getLoc(), to, f);
    rw.replaceOp(op, f);
    return success();
  }
};

struct AttnExpandFloat8Pass : public attnc::impl::AttnExpandFloat8Base<AttnExpandFloat8Pass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandExtF>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult r = getOperation()->walk([](arith::ExtFOp op) {
      if (isa<Float8E4M3FNType>(getElementTypeOrSelf(op.getIn().getType()))) {
        op.emitOpError("attn-expand-float8: an f8E4M3FN extension on ")
            << op.getIn().getType() << " (only scalars are decoded; lower tensors first)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
