//===- LinearForms.cpp - shared pieces of the linear-attention rewrites --===//
#include "LinearForms.h"

#include "attnc/Dialect/Attn/CascadeBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

double LowerBounds::of(Value v) {
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

static std::optional<int64_t> integerConstant(Value v) {
  while (Operation *op = v.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::ExtSIOp>(op))
      break;
    v = op->getOperand(0);
  }
  return getConstantIntValue(v);
}

double LowerBounds::compute(Value v) {
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
  // A power of a nonnegative base (a decay) is nonnegative.
  if (auto p = dyn_cast<math::PowFOp>(op))
    return of(p.getLhs()) >= 0 ? 0 : kUnbounded;
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

/// select(x > c, x, f) (elu, a clamp): on its true side x exceeds c.
double LowerBounds::selectBound(arith::SelectOp s) {
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

std::string attnc::linearAttentionRefusal(AttentionOp op) {
  if (op.getLinkKind() != Link::identity)
    return "the link is not identity";
  Anchor anchor = op.getAnchorKind();
  AnchorAttr a = op.getAnchor();
  if ((anchor != Anchor::none && anchor != Anchor::row_abs) || a.getNullLogit() || a.getNullExtra())
    return "the anchor is not none or row_abs without a null key";
  return "";
}

std::string attnc::nonnegativeWeightsRefusal(AttentionOp op) {
  LowerBounds lb;
  std::optional<APFloat> scale = op.getScale();
  if ((scale && scale->isNegative()) || lb.of(op.getQuery()) < 0 || lb.of(op.getKey()) < 0)
    return "the weights are not provably nonnegative (row_abs needs them so)";
  if (!op.getScore().empty()) {
    // s * f with f >= 0: the factor's sign is the score's.
    auto yield = cast<YieldOp>(op.getScore().front().getTerminator());
    auto mul = yield.getValues()[0].getDefiningOp<arith::MulFOp>();
    Value s = op.getScore().front().getArgument(0);
    Value factor = !mul ? Value() : mul.getLhs() == s ? mul.getRhs() : mul.getRhs() == s ? mul.getLhs() : Value();
    if (!factor || lb.of(factor) < 0)
      return "the score's factor is not provably nonnegative (row_abs needs nonnegative weights)";
  }
  return "";
}

AttentionOp attnc::buildLinearProducts(OpBuilder &b, Location loc, RankedTensorType resultTy, Value q, Value k,
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

void attnc::nameLinearStep(Value v, StringRef why) {
  v.getDefiningOp()->setAttr(kStepReasonAttr, StringAttr::get(v.getContext(), why));
}

Value attnc::divideByRowSums(OpBuilder &b, Location loc, Value num, Value den, StringRef why) {
  CascadeBuilder cb(b, loc);
  Type elem = cast<RankedTensorType>(num.getType()).getElementType();
  AffineMap all = AffineMap::getMultiDimIdentityMap(4, b.getContext());
  AffineMap first = AffineMap::get(4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1), b.getAffineDimExpr(2),
                                          b.getAffineConstantExpr(0)}, b.getContext());
  SmallVector<OpFoldResult> sizes;
  for (int64_t n = 0; n < 4; ++n)
    sizes.push_back(cb.dim(num, n));
  Value result = cb.map(sizes, elem, {num, den}, {all, first},
                        [&](OpBuilder &nb, Location nl, ValueRange, ValueRange e) -> Value {
    // In f32 at least: the quotient of two rounded sums.
    Type wide = elem.getIntOrFloatBitWidth() < 32 ? nb.getF32Type() : elem;
    auto widen = [&](Value x) {
      return x.getType() == wide ? x : arith::ExtFOp::create(nb, nl, wide, x).getResult();
    };
    Value x = widen(e[0]), d = widen(e[1]);
    CascadeBuilder nc(nb, nl);
    Value zero = nc.f(wide, 0.0);
    Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, d, zero);
    Value r = arith::SelectOp::create(nb, nl, empty, zero, arith::DivFOp::create(nb, nl, x, d));
    return r.getType() == elem ? r : arith::TruncFOp::create(nb, nl, elem, r).getResult();
  });
  nameLinearStep(result, why);
  return result;
}
