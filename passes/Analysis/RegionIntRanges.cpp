//===- RegionIntRanges.cpp - static integer ranges of an attn region ------===//
#include "attnc/Analysis/RegionIntRanges.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace attnc;

namespace {
/// Sizes are capped at 2^31 - 1 (dims, --dim, literal shapes), so every
/// position and batch or head number is below it.
constexpr int64_t kMaxPosition = (int64_t(1) << 31) - 2;

unsigned widthOf(Type t) { return ConstantIntRanges::getStorageBitwidth(t); }

} // namespace

// The frontend guards a zero divisor as x - select(d == 0, 0, x //
// select(d == 0, 1, d)) * d.
Value attnc::floorModulusDivisor(arith::SubIOp sub) {
  auto mul = sub.getRhs().getDefiningOp<arith::MulIOp>();
  if (!mul)
    return {};
  // `c` when `v` is select(d == 0, c, other), else null; `other` is set.
  auto unguard = [](Value v, Value d, Value &other) -> Value {
    auto sel = v.getDefiningOp<arith::SelectOp>();
    auto cmp = sel ? sel.getCondition().getDefiningOp<arith::CmpIOp>() : arith::CmpIOp();
    if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::eq || cmp.getLhs() != d ||
        !matchPattern(cmp.getRhs(), m_Zero()))
      return {};
    other = sel.getFalseValue();
    return sel.getTrueValue();
  };
  for (int k = 0; k < 2; ++k) {
    Value quotient = mul->getOperand(k), d = mul->getOperand(1 - k), inner;
    if (Value onZero = unguard(quotient, d, inner)) {
      if (!matchPattern(onZero, m_Zero()))
        continue;
      quotient = inner;
    }
    auto div = quotient.getDefiningOp<arith::FloorDivSIOp>();
    if (!div || div.getLhs() != sub.getLhs())
      continue;
    Value divisor = div.getRhs(), unguarded;
    if (Value onZero = unguard(divisor, d, unguarded)) {
      if (!matchPattern(onZero, m_One()))
        continue;
      divisor = unguarded;
    }
    APInt c, c2;
    if (divisor == d || (matchPattern(divisor, m_ConstantInt(&c)) && matchPattern(d, m_ConstantInt(&c2)) &&
                         c == c2))
      return d;
  }
  return {};
}

RegionIntRanges::RegionIntRanges(Region &region, unsigned firstIndexArg,
                                 ArrayRef<int64_t> largest,
                                 function_ref<std::optional<int64_t>(Value)> outerLargest)
    : region(&region), firstIndexArg(firstIndexArg) {
  Block &entry = region.front();
  for (BlockArgument a : entry.getArguments()) {
    unsigned k = a.getArgNumber() - firstIndexArg;
    if (a.getArgNumber() < firstIndexArg || k >= 4 || !a.getType().isIntOrIndex())
      continue;
    int64_t hi = k < largest.size() && largest[k] >= 0 ? std::min(largest[k], kMaxPosition)
                                                      : kMaxPosition;
    unsigned w = widthOf(a.getType());
    ranges.try_emplace(a, ConstantIntRanges::fromSigned(APInt(w, 0), APInt(w, hi, true)));
  }
  if (outerLargest)
    region.walk([&](Operation *op) {
      for (Value v : op->getOperands()) {
        if (!v.getType().isIntOrIndex() || region.isAncestor(v.getParentRegion()) || ranges.count(v))
          continue;
        if (std::optional<int64_t> hi = outerLargest(v)) {
          unsigned w = widthOf(v.getType());
          ranges.try_emplace(v, ConstantIntRanges::fromSigned(APInt(w, 1), APInt(w, *hi, true)));
        }
      }
    });
  region.walk([&](Operation *op) { visit(*op); });
}

ConstantIntRanges RegionIntRanges::rangeOf(Value v) const {
  auto it = ranges.find(v);
  if (it != ranges.end())
    return it->second;
  return ConstantIntRanges::maxRange(widthOf(v.getType()));
}

void RegionIntRanges::visit(Operation &op) {
  auto set = [&](Value v, const ConstantIntRanges &r) { ranges.insert_or_assign(v, r); };
  // A table entry: any value of its element type (the tensor's own type).
  if (isa<tensor::ExtractOp>(op))
    return;
  if (auto abs = dyn_cast<math::AbsIOp>(op)) {
    ConstantIntRanges x = rangeOf(abs.getOperand());
    unsigned w = x.smin().getBitWidth();
    if (w == 0 || x.smin().isMinSignedValue())
      return;
    APInt lo = x.smin().isNonNegative() ? x.smin()
               : x.smax().isNonPositive() ? -x.smax()
                                          : APInt(w, 0);
    APInt hi = llvm::APIntOps::smax(-x.smin(), x.smax());
    set(abs.getResult(), ConstantIntRanges::fromSigned(lo, hi));
    return;
  }
  // Floor modulo as the frontend spells it, x - (x // c) * c with c > 0, is
  // in [0, c - 1]; interval arithmetic alone would see two unrelated terms.
  if (auto sub = dyn_cast<arith::SubIOp>(op))
    if (Value d = floorModulusDivisor(sub)) {
      // (x // d) * d wraps only for |x| near the type's limit.
      ConstantIntRanges x = rangeOf(sub.getLhs()), dr = rangeOf(d);
      unsigned w = x.smin().getBitWidth();
      APInt limit = APInt::getSignedMaxValue(w).ashr(1);
      if (dr.smin().isStrictlyPositive() && x.smin().sgt(-limit) && x.smax().slt(limit)) {
        set(sub.getResult(), ConstantIntRanges::fromSigned(APInt(w, 0), dr.smax() - 1));
        return;
      }
    }
  auto infer = dyn_cast<InferIntRangeInterface>(op);
  if (!infer)
    return;
  SmallVector<ConstantIntRanges> args;
  for (Value v : op.getOperands())
    args.push_back(rangeOf(v));
  infer.inferResultRanges(args, set);
}

RegionDeps attnc::regionDepsOf(Region &region, unsigned firstPositionArg, Value v,
                               llvm::DenseMap<Value, RegionDeps> &memo) {
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  RegionDeps r;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    r.position = arg.getOwner() == &region.front() ? arg.getArgNumber() >= firstPositionArg
                                                   : region.isAncestor(arg.getParentRegion());
  } else if (Operation *def = v.getDefiningOp(); def && region.isAncestor(def->getParentRegion())) {
    r.position = def->getNumRegions() != 0;
    r.table = isa<tensor::ExtractOp>(def);
    for (Value x : def->getOperands()) {
      RegionDeps d = regionDepsOf(region, firstPositionArg, x, memo);
      r.position |= d.position;
      r.table |= d.table;
    }
  }
  memo[v] = r;
  return r;
}

RegionDeps RegionIntRanges::depsOf(Value v) const {
  return regionDepsOf(*region, firstIndexArg + 2, v, depsMemo);
}

bool RegionIntRanges::fitsI32(Value v) const {
  if (!v.getType().isIntOrIndex() || v.getType().isInteger(1))
    return false;
  ConstantIntRanges r = rangeOf(v);
  if (r.smin().getBitWidth() <= 32)
    return true;
  return r.smin().sge(APInt(r.smin().getBitWidth(), INT32_MIN, true)) &&
         r.smax().sle(APInt(r.smax().getBitWidth(), INT32_MAX, true));
}

bool attnc::isWideInt(Type t) { return t.isIntOrIndex() && widthOf(t) > 32; }

bool RegionIntRanges::narrowable(Operation &op) const {
  auto operandsFit = [&](ValueRange vs) {
    return llvm::all_of(vs, [&](Value v) { return isWideInt(v.getType()) && fitsI32(v); });
  };
  if (isa<arith::CmpIOp>(op))
    return operandsFit(op.getOperands());
  if (auto s = dyn_cast<arith::SelectOp>(op))
    return isWideInt(s.getType()) && fitsI32(s.getResult()) &&
           operandsFit({s.getTrueValue(), s.getFalseValue()});
  if (isa<arith::ShLIOp, arith::ShRSIOp>(op)) {
    // A 32-bit shift by 32 or more is poison where the wide one is not.
    ConstantIntRanges n = rangeOf(op.getOperand(1));
    if (!n.smin().isNonNegative() || n.smax().sgt(APInt(n.smax().getBitWidth(), 31)))
      return false;
  } else if (isa<arith::DivSIOp, arith::RemSIOp, arith::FloorDivSIOp, arith::CeilDivSIOp>(op)) {
    // INT32_MIN / -1 overflows (undefined) in 32 bits, not in 64.
    ConstantIntRanges x = rangeOf(op.getOperand(0)), y = rangeOf(op.getOperand(1));
    unsigned w = x.smin().getBitWidth();
    if (x.smin().sle(APInt(w, INT32_MIN, true)) && y.smin().sle(APInt(w, -1, true)) &&
        y.smax().sge(APInt(w, -1, true)))
      return false;
  } else if (!isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp, arith::MaxSIOp, arith::AndIOp,
                  arith::OrIOp, arith::XOrIOp, math::AbsIOp>(op)) {
    return false;
  }
  return op.getNumResults() == 1 && isWideInt(op.getResult(0).getType()) &&
         fitsI32(op.getResult(0)) && operandsFit(op.getOperands());
}
