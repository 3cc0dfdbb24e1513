//===- ReassociateLinear.cpp - linear attention in time linear in L ------===//
//
// With the identity link the weights are bilinear, so
// sum_j (q_i . k_j) v_j = q_i . (sum_j k_j v_j^T): a [D, Dv] state per head
// replaces the [Lq, Lk] weight matrix. The two contractions are written as
// attentions against identity matrices (I . k^T = k^T, q . I^T = q), so the
// GPU runs both on the Hopper kernel's tensor cores and the CPU through the
// same cascade as every other attention. The row_abs denominator is the
// same product with ones for v: q_i . (sum_j k_j) = sum_j |w_ij| once the
// weights are known to be nonnegative.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/Support/Debug.h"

#include <cmath>
#include <limits>

namespace attnc {
#define GEN_PASS_DEF_ATTNREASSOCIATELINEAR
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

#define DEBUG_TYPE "attn-reassociate-linear"

namespace {

constexpr double kUnbounded = -std::numeric_limits<double>::infinity();
/// Width of the ones whose products are the row sums: the narrowest value
/// head dim the kernel takes (16; TMA rows of 32 bytes).
constexpr int64_t kSumColumns = 16;
/// Keys per partial sum of the state on the CPU (the GPU picks its split).
constexpr int64_t kStateChunk = 1024;

/// A lower bound of every non-NaN value `v` takes, from the feature maps
/// the front end writes (elu(x) + 1, relu, exp, sigmoid, softplus, squares,
/// abs, ...); kUnbounded where it cannot tell. Intervals suffice: a proof
/// that weights are nonnegative needs only the sign of each factor.
class LowerBounds {
public:
  double of(Value v) {
    auto [it, fresh] = memo.try_emplace(v, kUnbounded);
    if (!fresh || depth > 64)
      return it->second;
    ++depth;
    double r = compute(v);
    if (std::isnan(r)) // inf + -inf: no bound
      r = kUnbounded;
    --depth;
    memo[v] = r;
    return r;
  }

private:
  double compute(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      // An element argument of an attn.map body: the input's elements.
      auto map = dyn_cast_or_null<MapOp>(arg.getOwner()->getParentOp());
      int64_t rank = map ? map.getResult().getType().getRank() : 0;
      if (!map || arg.getArgNumber() < rank)
        return kUnbounded;
      return of(map.getInputs()[arg.getArgNumber() - rank]);
    }
    Operation *op = v.getDefiningOp();
    if (auto map = dyn_cast<MapOp>(op))
      return of(cast<YieldOp>(map.getBody().front().getTerminator()).getValues()[0]);
    if (auto c = dyn_cast<arith::ConstantOp>(op))
      if (auto f = dyn_cast<FloatAttr>(c.getValue()))
        return f.getValueAsDouble();
    // Integer literals in float expressions (`elu(x) + 1`) arrive as casts.
    if (isa<arith::UIToFPOp>(op))
      return 0;
    if (isa<arith::SIToFPOp>(op)) {
      std::optional<int64_t> c = integerConstant(op->getOperand(0));
      return c ? double(*c) : kUnbounded;
    }
    if (isa<math::ExpOp, math::Exp2Op, math::SqrtOp, math::AbsFOp>(op))
      return 0;
    if (isa<math::ExpM1Op>(op))
      return -1;
    // Rounding is monotone and the bounds met here are representable.
    if (isa<arith::ExtFOp, arith::TruncFOp>(op))
      return of(op->getOperand(0));
    if (auto l = dyn_cast<math::Log1pOp>(op)) {
      double x = of(l.getOperand());
      return x > -1 ? std::log1p(x) : kUnbounded;
    }
    if (isa<arith::AddFOp>(op))
      return of(op->getOperand(0)) + of(op->getOperand(1));
    if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
      return std::max(of(op->getOperand(0)), of(op->getOperand(1)));
    if (isa<arith::MinimumFOp, arith::MinNumFOp>(op))
      return std::min(of(op->getOperand(0)), of(op->getOperand(1)));
    if (auto m = dyn_cast<arith::MulFOp>(op)) {
      if (m.getLhs() == m.getRhs())
        return 0;
      double a = of(m.getLhs()), b = of(m.getRhs());
      return a >= 0 && b >= 0 ? a * b : kUnbounded;
    }
    if (auto d = dyn_cast<arith::DivFOp>(op)) {
      // A divisor that may be 0 may give NaN (0 / 0): only a positive one.
      return of(d.getLhs()) >= 0 && of(d.getRhs()) > 0 ? 0 : kUnbounded;
    }
    if (auto s = dyn_cast<arith::SelectOp>(op))
      return selectBound(s);
    return kUnbounded;
  }

  static std::optional<int64_t> integerConstant(Value v) {
    while (Operation *op = v.getDefiningOp()) {
      if (!isa<arith::IndexCastOp, arith::ExtSIOp>(op))
        break;
      v = op->getOperand(0);
    }
    return getConstantIntValue(v);
  }

  /// select(x > c, x, f) (elu, a clamp): on its true side x exceeds c.
  double selectBound(arith::SelectOp s) {
    double t = of(s.getTrueValue()), f = of(s.getFalseValue());
    if (auto cmp = s.getCondition().getDefiningOp<arith::CmpFOp>()) {
      using P = arith::CmpFPredicate;
      P p = cmp.getPredicate();
      Value x, c;
      if ((p == P::OGT || p == P::OGE) && cmp.getLhs() == s.getTrueValue())
        x = cmp.getLhs(), c = cmp.getRhs();
      else if ((p == P::OLT || p == P::OLE) && cmp.getRhs() == s.getTrueValue())
        x = cmp.getRhs(), c = cmp.getLhs();
      if (x)
        if (auto k = c.getDefiningOp<arith::ConstantOp>())
          if (auto fa = dyn_cast<FloatAttr>(k.getValue()))
            t = std::max(t, fa.getValueAsDouble());
    }
    return std::min(t, f);
  }

  llvm::DenseMap<Value, double> memo;
  int depth = 0;
};

/// Why `op` is not rewritten, or "" when it is.
std::string refusal(AttentionOp op, double minWorkRatio) {
  if (op.getLinkKind() != Link::identity)
    return "the link is not identity";
  Anchor anchor = op.getAnchorKind();
  AnchorAttr a = op.getAnchor();
  if ((anchor != Anchor::none && anchor != Anchor::row_abs) || a.getNullLogit() || a.getNullExtra())
    return "the anchor is not none or row_abs without a null key";
  if (!op.getScore().empty() || op.getScoreConv() || op.getLse() || op.getSplitKv() != 0 ||
      op.getKvPagesAttr() || op.getContextShardAttr() || op.getTableBounds() || op.getMaskClasses())
    return "scores are modified, or the op is already scheduled";
  for (Attribute family : op.getCarrier())
    if (!isa<LengthsAttr>(family))
      return "a carrier family depends on the query row";
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  auto o = cast<RankedTensorType>(op.getResult().getType());
  if (!op.getMask().empty()) {
    Block &mask = op.getMask().front();
    // The state sums over keys for all rows at once; in GQA a query head
    // shares its KV head's state, so the mask may read h only without it.
    if (!mask.getArgument(2).use_empty())
      return "the mask depends on the query row";
    if (!mask.getArgument(1).use_empty() &&
        (o.isDynamicDim(1) || k.isDynamicDim(1) || o.getDimSize(1) != k.getDimSize(1)))
      return "the mask depends on the head, which KV heads share";
  }
  int64_t lq = q.getDimSize(2), lk = k.getDimSize(2), d = q.getDimSize(3), dv = v.getDimSize(3);
  if (ShapedType::isDynamic(lq) || ShapedType::isDynamic(lk) || ShapedType::isDynamic(d) ||
      ShapedType::isDynamic(dv))
    return "a length or head dim is dynamic";
  bool sums = anchor == Anchor::row_abs;
  if (sums) {
    LowerBounds lb;
    std::optional<APFloat> scale = op.getScale();
    if ((scale && scale->isNegative()) || lb.of(op.getQuery()) < 0 || lb.of(op.getKey()) < 0)
      return "the weights are not provably nonnegative (row_abs needs them so)";
  }
  double quadratic = double(lq) * lk * (d + dv);
  double linear = double(lq + lk) * d * (d + dv + (sums ? kSumColumns + d : 0));
  if (quadratic <= minWorkRatio * linear)
    return "the quadratic form is cheaper at these sizes";
  return "";
}

void nameStep(Value v, StringRef why) {
  v.getDefiningOp()->setAttr(kStepReasonAttr, StringAttr::get(v.getContext(), why));
}

/// An identity-link attention with no score region, `scale`, the given
/// carrier and extras, weights signed, keys split in chunks of `splitKV`.
AttentionOp buildProducts(OpBuilder &b, Location loc, RankedTensorType resultTy, Value q, Value k,
                          Value v, ValueRange extras, ArrayAttr carrier, FloatAttr scale,
                          int64_t splitKV) {
  MLIRContext *ctx = b.getContext();
  OperationState state(loc, AttentionOp::getOperationName());
  AttentionOp::build(b, state, resultTy, Type(), q, k, v, extras, carrier, scale,
                     LinkAttr::get(ctx, Link::identity), AnchorAttr::get(ctx, Anchor::none), ScoreConvAttr(),
                     b.getUnitAttr(), b.getI64IntegerAttr(splitKV), KVPagesAttr(), DenseI64ArrayAttr(),
                     IntegerAttr(), ContextShardAttr());
  return cast<AttentionOp>(b.create(state));
}

void reassociate(AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  CascadeBuilder cb(b, loc);
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  auto resultTy = cast<RankedTensorType>(op.getResult().getType());
  Type elem = resultTy.getElementType();
  int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
  OpFoldResult batch = cb.dim(k, 0), kvHeads = cb.dim(k, 1), lk = cb.dim(k, 2);
  OpFoldResult dSize = b.getIndexAttr(d);

  auto constant = [&](ArrayRef<OpFoldResult> sizes, bool eye, StringRef why) {
    Value x = cb.map(sizes, elem, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) -> Value {
      IndexMath m{nb, nl};
      CascadeBuilder nc(nb, nl);
      return eye ? m.sel(m.eq(idx[2], idx[3]), nc.f(elem, 1.0), nc.f(elem, 0.0)) : nc.f(elem, 1.0);
    });
    nameStep(x, why);
    return x;
  };
  StringRef eyeWhy = "an identity matrix (linear attention reassociated)";
  Value eyeQ = constant({batch, b.getIndexAttr(1), dSize, dSize}, true, eyeWhy);
  Value eyeK = constant({batch, kvHeads, dSize, dSize}, true, eyeWhy);
  // `values` [.., Lk, n] -> q . (k^T values) [B, H, Lq, n]: the keys' state,
  // one per KV head (the carrier only ever names keys), then the rows. The
  // state's D rows are one or two tiles per head: its keys are split (plain
  // sums under anchor none) so that the GPU spreads them over its SMs (the
  // runtime picks the count; the CPU sums chunks of kStateChunk).
  auto throughState = [&](Value values, bool moveMask) {
    OpFoldResult n = cb.dim(values, 3);
    AttentionOp state = buildProducts(b, loc, cb.tensorType({batch, kvHeads, dSize, n}, elem), eyeQ, k,
                                      values, op.getExtras(), op.getCarrier(), b.getF64FloatAttr(1.0),
                                      kStateChunk);
    IRMapping none;
    if (moveMask)
      state.getMask().takeBody(op.getMask());
    else
      op.getMask().cloneInto(&state.getMask(), none);
    auto rowsTy = RankedTensorType::get({resultTy.getDimSize(0), resultTy.getDimSize(1), resultTy.getDimSize(2),
                                         cast<RankedTensorType>(values.getType()).getDimSize(3)}, elem);
    return buildProducts(b, loc, rowsTy, q, eyeK, state.getResult(), {}, b.getArrayAttr({}),
                         op.getScaleAttr(), /*splitKV=*/0)
        .getResult();
  };
  Value result;
  if (op.getAnchorKind() == Anchor::row_abs) {
    // The row sums sum_j w_ij through their own state of kSumColumns ones
    // (the narrowest value the kernel takes), not as a column beside v:
    // v's head dim stays the kernel's (128, not 192 with the column).
    Value ones = constant({batch, kvHeads, lk, b.getIndexAttr(kSumColumns)}, false,
                          "ones (linear attention's row sums)");
    Value sums = throughState(ones, /*moveMask=*/false);
    Value num = throughState(v, /*moveMask=*/true);
    AffineMap all = AffineMap::getMultiDimIdentityMap(4, b.getContext());
    AffineMap first = AffineMap::get(4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1), b.getAffineDimExpr(2),
                                            b.getAffineConstantExpr(0)}, b.getContext());
    SmallVector<OpFoldResult> sizes;
    for (int64_t n = 0; n < 4; ++n)
      sizes.push_back(cb.dim(op.getResult(), n));
    result = cb.map(sizes, elem, {num, sums}, {all, first},
                    [&](OpBuilder &nb, Location nl, ValueRange, ValueRange e) -> Value {
      // In f32 at least: the quotient of two rounded sums.
      Type wide = elem.getIntOrFloatBitWidth() < 32 ? nb.getF32Type() : elem;
      auto widen = [&](Value x) {
        return x.getType() == wide ? x : arith::ExtFOp::create(nb, nl, wide, x).getResult();
      };
      Value x = widen(e[0]), den = widen(e[1]);
      CascadeBuilder nc(nb, nl);
      Value zero = nc.f(wide, 0.0);
      Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, den, zero);
      Value r = arith::SelectOp::create(nb, nl, empty, zero, arith::DivFOp::create(nb, nl, x, den));
      return r.getType() == elem ? r : arith::TruncFOp::create(nb, nl, elem, r).getResult();
    });
    nameStep(result, "the row_abs normalisation of the reassociated linear attention");
  } else {
    result = throughState(v, /*moveMask=*/true);
  }
  op.getResult().replaceAllUsesWith(result);
  op.erase();
}

struct AttnReassociateLinearPass
    : public attnc::impl::AttnReassociateLinearBase<AttnReassociateLinearPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) {
      std::string why = refusal(op, minWorkRatio);
      LLVM_DEBUG(llvm::dbgs() << "attn-reassociate-linear: " << op.getLoc() << ": "
                              << (why.empty() ? "reassociated" : why) << "\n");
      if (why.empty())
        ops.push_back(op);
    });
    for (AttentionOp op : ops)
      reassociate(op);
  }
};

} // namespace
