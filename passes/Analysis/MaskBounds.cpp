//===- MaskBounds.cpp - interval evaluation of a mask region over a tile --===//
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/Analysis/RegionIntRanges.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

/// Bit 0 of a class: the block keeps some pair; bit 1: it drops some.
MaskBox attnc::maskClassesOfBlock(OpBuilder &b, Location loc, AttentionOp op, CarrierAccess &access,
                                  Value batch, Value head, Value qb, Value kb) {
  IndexMath m{b, loc};
  unsigned n = *op.getMaskClasses();
  auto ct = cast<RankedTensorType>(op.getExtras()[n].getType());
  Value cls = access.loadIndex(b, loc, n,
                               {ct.getDimSize(0) == 1 ? m.c(0) : batch, ct.getDimSize(1) == 1 ? m.c(0) : head,
                                qb, kb});
  Value dropsSome = m.le(m.c(2), cls);
  return {m.eq(m.rem(cls, 2), m.c(1)), arith::XOrIOp::create(b, loc, dropsSome, m.t())};
}

namespace {

/// What is known of one SSA value of the region over the box.
struct Bound {
  enum Kind { Unknown, Int, Bool } kind = Unknown;
  Value lo, hi;    // Int: index bounds, lo <= every value <= hi
  Value may, must; // Bool: some / every pair of the box gives true
  bool point = false; // one value over the box (depends on b, h only); a Bool's may is its must
};

class Evaluator {
public:
  Evaluator(OpBuilder &b, Location loc, AttentionOp op, CarrierAccess &access)
      : b(b), loc(loc), m{b, loc}, op(op), access(access) {}

  MaskBox run(Value batch, Value head, Value i0, Value i1, Value j0, Value j1) {
    Block &blk = op.getMask().front();
    auto args = blk.getArguments();
    vals[args[0]] = pointOf(batch);
    vals[args[1]] = pointOf(head);
    vals[args[2]] = range(i0, i1);
    vals[args[3]] = range(j0, j1);
    for (Operation &o : blk.without_terminator())
      visit(o);
    Bound r = get(cast<YieldOp>(blk.getTerminator()).getValues()[0]);
    MaskBox box = r.kind == Bound::Bool ? MaskBox{r.may, r.must} : MaskBox{m.t(), m.f()};
    return withClasses(box, batch, head, i0, i1, j0, j1);
  }

private:
  OpBuilder &b;
  Location loc;
  IndexMath m;
  AttentionOp op;
  CarrierAccess &access;
  llvm::DenseMap<Value, Bound> vals;

  static Bound range(Value lo, Value hi) { return {Bound::Int, lo, hi, {}, {}, false}; }
  static Bound pointOf(Value v) {
    Bound x = range(v, v);
    x.point = true;
    return x;
  }
  static Bound boolean(Value may, Value must) { return {Bound::Bool, {}, {}, may, must, false}; }
  Bound unknownBool() { return boolean(m.t(), m.f()); }
  Value toIndex(Value v) {
    if (v.getType().isIndex())
      return v;
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  Value lnot(Value x) { return arith::XOrIOp::create(b, loc, x, m.t()); }

  /// A value from above, or one the walk has bounded.
  Bound get(Value v) {
    auto it = vals.find(v);
    if (it != vals.end())
      return it->second;
    Bound x;
    if (v.getType().isIntOrIndex() && !v.getType().isInteger(1))
      if (Value o = access.outerValue(b, loc, v))
        x = pointOf(toIndex(o));
    vals[v] = x;
    return x;
  }
  /// `box` narrowed by the per-block classes (mask_classes) where the box
  /// lies inside one block: bit 0 clear, nothing kept; bit 1 clear, all kept.
  MaskBox withClasses(MaskBox box, Value batch, Value head, Value i0, Value i1, Value j0, Value j1) {
    std::optional<int64_t> n = op.getMaskClasses();
    if (!n)
      return box;
    constexpr int64_t T = AttentionOp::kMaskClassBlock;
    Value qb = m.fdiv(i0, T), kb = m.fdiv(j0, T);
    Value single = m.land(m.eq(qb, m.fdiv(i1, T)), m.eq(kb, m.fdiv(j1, T)));
    MaskBox cls = maskClassesOfBlock(b, loc, op, access, batch, head, qb, kb);
    return {m.land(box.may, m.lor(lnot(single), cls.may)), m.lor(box.must, m.land(single, cls.must))};
  }

  static unsigned bitWidth(Type t) { return t.isIndex() ? 64 : t.getIntOrFloatBitWidth(); }

  /// Bounds after an integer cast from `from` to `to` bits (two's
  /// complement, compared as signed afterwards). Same width: the bits and so
  /// the value are unchanged. Widening: sign extension keeps the value; zero
  /// extension turns a negative one into [2^(from-1), 2^from). Narrowing
  /// wraps values outside the target's range. Bounds pass through only when
  /// they are in range, otherwise they widen to what the result can hold.
  Bound afterIntCast(const Bound &x, unsigned from, unsigned to, bool zeroExtend) {
    if (to == from || (to > from && !zeroExtend))
      return x;
    int64_t lo, hi;
    if (to > from) { // zero extension of a `from`-bit value
      lo = 0;
      hi = from >= 63 ? INT64_MAX : (int64_t(1) << from) - 1;
    } else { // truncation to `to` bits
      lo = -(int64_t(1) << (to - 1));
      hi = (int64_t(1) << (to - 1)) - 1;
    }
    Value inRange = to > from ? m.le(m.c(0), x.lo)
                              : m.land(m.le(m.c(lo), x.lo), m.le(x.hi, m.c(hi)));
    Bound r = range(m.sel(inRange, x.lo, m.c(lo)), m.sel(inRange, x.hi, m.c(hi)));
    r.point = x.point;
    return r;
  }

  /// The positive constant a value is, or 0.
  int64_t positiveConstant(Value v) {
    APInt c;
    if (matchPattern(v, m_ConstantInt(&c)) && c.isStrictlyPositive() && c.getActiveBits() < 62)
      return c.getSExtValue();
    return 0;
  }

  void visit(Operation &o) {
    if (o.getNumResults() != 1)
      return;
    Value r = o.getResult(0);
    Bound out = eval(o);
    if (out.kind == Bound::Unknown && r.getType().isInteger(1))
      out = unknownBool();
    vals[r] = out;
  }

  Bound eval(Operation &o) {
    if (auto c = dyn_cast<arith::ConstantOp>(o)) {
      auto ia = dyn_cast<IntegerAttr>(c.getValue());
      if (!ia)
        return {};
      if (ia.getType().isInteger(1)) {
        Value v = ia.getValue().isZero() ? m.f() : m.t();
        Bound r = boolean(v, v);
        r.point = true;
        return r;
      }
      return pointOf(m.c(ia.getValue().getSExtValue()));
    }
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp, arith::ExtUIOp,
            arith::TruncIOp>(o)) {
      Bound x = get(o.getOperand(0));
      if (x.kind == Bound::Bool && isa<arith::ExtUIOp>(o)) { // a bool as 0 / 1
        if (x.point)
          return pointOf(m.sel(x.may, m.c(1), m.c(0)));
        return range(m.sel(x.must, m.c(1), m.c(0)), m.sel(x.may, m.c(1), m.c(0)));
      }
      if (x.kind != Bound::Int)
        return {};
      return afterIntCast(x, bitWidth(o.getOperand(0).getType()), bitWidth(o.getResult(0).getType()),
                  isa<arith::IndexCastUIOp, arith::ExtUIOp>(o));
    }
    if (auto c = dyn_cast<arith::CmpIOp>(o))
      return compare(c.getPredicate(), get(c.getLhs()), get(c.getRhs()));
    if (isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp>(o) && o.getResult(0).getType().isInteger(1))
      return logic(o, get(o.getOperand(0)), get(o.getOperand(1)));
    if (auto s = dyn_cast<arith::SelectOp>(o))
      return selectOf(get(s.getCondition()), get(s.getTrueValue()), get(s.getFalseValue()));
    if (auto ex = dyn_cast<tensor::ExtractOp>(o))
      return lookup(ex);
    if (o.getNumOperands() == 1 && isa<math::AbsIOp>(o)) {
      Bound x = get(o.getOperand(0));
      if (x.kind != Bound::Int)
        return {};
      Value neg = m.sub(m.c(0), x.lo);
      Bound r = range(m.sel(m.le(m.c(0), x.lo), x.lo,
                            m.sel(m.le(x.hi, m.c(0)), m.sub(m.c(0), x.hi), m.c(0))),
                      m.max(neg, x.hi));
      r.point = x.point;
      return r;
    }
    if (o.getNumOperands() != 2)
      return {};
    Bound x = get(o.getOperand(0)), y = get(o.getOperand(1));
    if (x.kind != Bound::Int || y.kind != Bound::Int)
      return {};
    Bound r = arithmetic(o, x, y);
    if (r.kind == Bound::Int)
      r.point = x.point && y.point;
    return r;
  }

  Bound arithmetic(Operation &o, const Bound &x, const Bound &y) {
    if (isa<arith::AddIOp>(o))
      return range(m.add(x.lo, y.lo), m.add(x.hi, y.hi));
    if (isa<arith::SubIOp>(o))
      return range(m.sub(x.lo, y.hi), m.sub(x.hi, y.lo));
    if (isa<arith::MulIOp>(o)) {
      Value a = m.mul(x.lo, y.lo), bb = m.mul(x.lo, y.hi), c = m.mul(x.hi, y.lo),
            d = m.mul(x.hi, y.hi);
      return range(m.min(m.min(a, bb), m.min(c, d)), m.max(m.max(a, bb), m.max(c, d)));
    }
    if (isa<arith::MinSIOp>(o))
      return range(m.min(x.lo, y.lo), m.min(x.hi, y.hi));
    if (isa<arith::MaxSIOp>(o))
      return range(m.max(x.lo, y.lo), m.max(x.hi, y.hi));
    if (isa<arith::OrIOp, arith::XOrIOp>(o)) // integers (bools go to logic())
      return bitwiseOr(isa<arith::XOrIOp>(o), x, y);
    if (isa<arith::ShRSIOp, arith::ShLIOp>(o))
      return shifted(isa<arith::ShLIOp>(o), x, y);
    // x & c with c >= 0 keeps only bits of c: in [0, c] whatever x's sign.
    if (isa<arith::AndIOp>(o))
      if (int64_t c = std::max(positiveConstant(o.getOperand(0)), positiveConstant(o.getOperand(1))))
        return range(m.c(0), m.c(c));
    int64_t c = positiveConstant(o.getOperand(1));
    if (!c && isa<arith::FloorDivSIOp, arith::DivSIOp>(o))
      return quotientOverRanges(o, x, y);
    if (!c)
      return {};
    // Division by a positive constant is monotone (floor and truncation).
    if (isa<arith::FloorDivSIOp>(o))
      return range(m.fdiv(x.lo, c), m.fdiv(x.hi, c));
    if (isa<arith::DivSIOp>(o))
      return range(arith::DivSIOp::create(b, loc, x.lo, m.c(c)),
                   arith::DivSIOp::create(b, loc, x.hi, m.c(c)));
    if (isa<arith::RemSIOp>(o)) {
      // Non-negative and within one period: exact; otherwise the remainder's
      // range for the sign of x.
      Value nonNeg = m.le(m.c(0), x.lo);
      Value onePeriod = m.land(nonNeg, m.eq(m.fdiv(x.lo, c), m.fdiv(x.hi, c)));
      Value lo = m.sel(onePeriod, m.rem(x.lo, c), m.sel(nonNeg, m.c(0), m.c(1 - c)));
      Value hi = m.sel(onePeriod, m.rem(x.hi, c), m.c(c - 1));
      return range(lo, hi);
    }
    return {};
  }

  /// x | y and x ^ y: of non-negative operands, at least the larger (or)
  /// or 0 (xor) and at most their sum; else both lie in [-2^k, 2^k) with
  /// 2^k <= 2M for M the largest magnitude, and so does the result.
  Bound bitwiseOr(bool isXor, const Bound &x, const Bound &y) {
    Value nonNeg = m.land(m.le(m.c(0), x.lo), m.le(m.c(0), y.lo));
    auto mag = [&](Value v) { return m.max(v, m.sub(m.c(0), v)); };
    Value big = m.max(m.max(mag(x.lo), mag(x.hi)), m.max(mag(y.lo), mag(y.hi)));
    Value wide = m.add(m.mul(big, 2), m.c(1));
    Value lo = isXor ? m.c(0) : m.max(x.lo, y.lo);
    return range(m.sel(nonNeg, lo, m.sub(m.c(0), wide)), m.sel(nonNeg, m.add(x.hi, y.hi), wide));
  }

  /// x >> n (arithmetic) and x << n with counts clamped to [0, 63] as the
  /// frontend clamps them: monotone in x and in n for x of one sign, so the
  /// corners bound it (a left shift that wraps, like a product that does,
  /// is not: positions stay far below it).
  Bound shifted(bool left, const Bound &x, const Bound &n) {
    auto clampCount = [&](Value c) { return m.min(m.max(c, m.c(0)), m.c(63)); };
    Value n0 = clampCount(n.lo), n1 = clampCount(n.hi);
    auto sh = [&](Value a, Value c) -> Value {
      if (left)
        return arith::ShLIOp::create(b, loc, a, c);
      return arith::ShRSIOp::create(b, loc, a, c);
    };
    Value v[4] = {sh(x.lo, n0), sh(x.lo, n1), sh(x.hi, n0), sh(x.hi, n1)};
    return range(m.min(m.min(v[0], v[1]), m.min(v[2], v[3])), m.max(m.max(v[0], v[1]), m.max(v[2], v[3])));
  }

  /// x / y for a divisor known only at run time (a size such as L in
  /// `(i + sh) % L`). With y of one sign over the box, the quotient (floor
  /// or truncation) is monotone in x and in y separately, so its extremes
  /// are at the corners. A divisor whose range holds 0 leaves |x / y| <=
  /// |x|; a divisor that is 0 at run time is never divided by (the
  /// frontend guards it), so the corners divide by 1 instead.
  Bound quotientOverRanges(Operation &o, const Bound &x, const Bound &y) {
    bool floor = isa<arith::FloorDivSIOp>(o);
    auto quotient = [&](Value a, Value d) -> Value {
      Value safe = m.sel(m.eq(d, m.c(0)), m.c(1), d);
      return floor ? m.div(a, safe) : arith::DivSIOp::create(b, loc, a, safe).getResult();
    };
    if (y.point) { // one divisor: monotone in x
      Value a = quotient(x.lo, y.lo), c = quotient(x.hi, y.lo);
      return range(m.min(a, c), m.max(a, c));
    }
    Value q[4] = {quotient(x.lo, y.lo), quotient(x.lo, y.hi), quotient(x.hi, y.lo), quotient(x.hi, y.hi)};
    Value lo = m.min(m.min(q[0], q[1]), m.min(q[2], q[3]));
    Value hi = m.max(m.max(q[0], q[1]), m.max(q[2], q[3]));
    Value oneSign = m.lor(m.lt(m.c(0), y.lo), m.lt(y.hi, m.c(0)));
    Value mag = m.max(m.max(x.lo, m.sub(m.c(0), x.lo)), m.max(x.hi, m.sub(m.c(0), x.hi)));
    return range(m.sel(oneSign, lo, m.sub(m.c(0), mag)), m.sel(oneSign, hi, mag));
  }

  Bound compare(arith::CmpIPredicate p, const Bound &x, const Bound &y) {
    using P = arith::CmpIPredicate;
    if (x.kind != Bound::Int || y.kind != Bound::Int)
      return unknownBool();
    if (x.point && y.point) {
      Value v = m.cmp(p, x.lo, y.lo);
      Bound r = boolean(v, v);
      r.point = true;
      return r;
    }
    switch (p) {
    case P::slt: return boolean(m.lt(x.lo, y.hi), m.lt(x.hi, y.lo));
    case P::sle: return boolean(m.le(x.lo, y.hi), m.le(x.hi, y.lo));
    case P::sgt: return boolean(m.lt(y.lo, x.hi), m.lt(y.hi, x.lo));
    case P::sge: return boolean(m.le(y.lo, x.hi), m.le(y.hi, x.lo));
    case P::eq: {
      Value overlap = m.land(m.le(x.lo, y.hi), m.le(y.lo, x.hi));
      Value same = m.land(m.land(m.eq(x.lo, x.hi), m.eq(y.lo, y.hi)), m.eq(x.lo, y.lo));
      return boolean(overlap, same);
    }
    case P::ne: {
      Value overlap = m.land(m.le(x.lo, y.hi), m.le(y.lo, x.hi));
      Value same = m.land(m.land(m.eq(x.lo, x.hi), m.eq(y.lo, y.hi)), m.eq(x.lo, y.lo));
      return boolean(lnot(same), lnot(overlap));
    }
    default: // unsigned: negative bounds would wrap
      return unknownBool();
    }
  }

  Bound logic(Operation &o, const Bound &x, const Bound &y) {
    if (x.kind != Bound::Bool || y.kind != Bound::Bool)
      return unknownBool();
    if (x.point && y.point) {
      Value v = isa<arith::AndIOp>(o)  ? m.land(x.may, y.may)
                : isa<arith::OrIOp>(o) ? m.lor(x.may, y.may)
                                       : arith::XOrIOp::create(b, loc, x.may, y.may).getResult();
      Bound r = boolean(v, v);
      r.point = true;
      return r;
    }
    if (isa<arith::AndIOp>(o))
      return boolean(m.land(x.may, y.may), m.land(x.must, y.must));
    if (isa<arith::OrIOp>(o))
      return boolean(m.lor(x.may, y.may), m.lor(x.must, y.must));
    // xor: true somewhere iff one side can be true while the other can be
    // false; everywhere iff the sides are constant and differ.
    Value may = m.lor(m.land(x.may, lnot(y.must)), m.land(lnot(x.must), y.may));
    Value must = m.lor(m.land(x.must, lnot(y.may)), m.land(lnot(x.may), y.must));
    return boolean(may, must);
  }

  Bound selectOf(const Bound &c, const Bound &x, const Bound &y) {
    if (c.kind != Bound::Bool || x.kind != y.kind || x.kind == Bound::Unknown)
      return {};
    if (c.point && x.point && y.point) {
      Bound r = x.kind == Bound::Int ? pointOf(m.sel(c.may, x.lo, y.lo)) : Bound{};
      if (x.kind == Bound::Bool) {
        Value v = m.sel(c.may, x.may, y.may);
        r = boolean(v, v);
        r.point = true;
      }
      return r;
    }
    if (x.kind == Bound::Bool) {
      Value may = m.lor(m.land(c.may, x.may), m.land(lnot(c.must), y.may));
      Value must = m.land(m.lor(lnot(c.may), x.must), m.lor(c.must, y.must));
      return boolean(may, must);
    }
    // Only the true side when c always holds, only the false side when it
    // never does, else the hull.
    Value lo = m.sel(c.must, x.lo, m.sel(c.may, m.min(x.lo, y.lo), y.lo));
    Value hi = m.sel(c.must, x.hi, m.sel(c.may, m.max(x.hi, y.hi), y.hi));
    return range(lo, hi);
  }

  /// An integer table read at indices that are single values over the box
  /// (they depend on b and h only): loaded. Read at a range of its last
  /// index, with per-block bounds (table_bounds): the bounds of the blocks
  /// the range covers. Anything else is unknown.
  Bound lookup(tensor::ExtractOp ex) {
    if (!ex.getType().isIntOrIndex())
      return {};
    auto extras = op.getExtras();
    auto it = llvm::find(extras, ex.getTensor());
    if (it == extras.end())
      return {};
    unsigned n = it - extras.begin();
    SmallVector<Value> idx;
    for (Value i : ex.getIndices()) {
      Bound x = get(i);
      if (x.kind != Bound::Int || (!x.point && idx.size() + 1 < ex.getIndices().size()))
        return {};
      if (!x.point)
        return rangeLookup(n, idx, x);
      idx.push_back(x.lo);
    }
    return pointOf(access.loadIndex(b, loc, n, idx));
  }

  /// Table `n` read at [lead..., r] for r in `last`, bounded by the
  /// [min, max] of the blocks (of kTableBoundsBlock entries) that the
  /// clamped range covers (the kernel clamps every index into its table):
  /// the union of the two sparse-table entries of level k = floor(log2
  /// count) that start at the first block and end at the last.
  Bound rangeLookup(unsigned n, SmallVector<Value> lead, const Bound &last) {
    std::optional<unsigned> bounds = op.getTableBoundsOf(n);
    if (!bounds)
      return {};
    auto st = cast<RankedTensorType>(op.getExtras()[*bounds].getType());
    int64_t levels = st.getDimSize(st.getRank() - 3);
    constexpr int64_t block = AttentionOp::kTableBoundsBlock;
    unsigned rank = lead.size();
    Value lastEntry = m.max(m.sub(access.dim(b, loc, n, rank), m.c(1)), m.c(0));
    auto clampTo = [&](Value x) { return m.min(m.max(x, m.c(0)), lastEntry); };
    Value first = m.fdiv(clampTo(last.lo), block), final = m.fdiv(clampTo(last.hi), block);
    Value count = m.add(m.sub(final, first), m.c(1));
    // k = floor(log2 count) and 2^k, unrolled over the static levels.
    Value k = m.c(0), span = m.c(1);
    for (int64_t l = 1; l < levels; ++l) {
      Value reaches = m.le(m.c(int64_t(1) << l), count);
      k = m.sel(reaches, m.c(l), k);
      span = m.sel(reaches, m.c(int64_t(1) << l), span);
    }
    Value mn, mx;
    for (Value at : {first, m.add(m.sub(final, span), m.c(1))}) {
      lead.resize(rank);
      lead.append({k, at, m.c(0)});
      Value lo = access.loadIndex(b, loc, *bounds, lead);
      lead.back() = m.c(1);
      Value hi = access.loadIndex(b, loc, *bounds, lead);
      mn = mn ? m.min(mn, lo) : lo;
      mx = mx ? m.max(mx, hi) : hi;
    }
    return range(mn, mx);
  }
};

/// Whether the evaluator above bounds value `v` of the mask region (an
/// unknown, in its terms, is never produced for it). Mirrors eval().
class Coverage {
public:
  explicit Coverage(AttentionOp op) : op(op), mask(op.getMask()) {}

  bool bounded(Value v) {
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    bool r = false;
    Operation *def = v.getDefiningOp();
    if (isa<BlockArgument>(v) || !def || !mask.isAncestor(def->getParentRegion()))
      r = v.getType().isIntOrIndex() && !v.getType().isInteger(1); // b, h, i, j and integers from above
    else if (def->getParentRegion() == &mask && def->getNumResults() == 1)
      r = boundedOp(*def);
    memo[v] = r;
    return r;
  }

private:
  AttentionOp op;
  Region &mask;
  llvm::DenseMap<Value, bool> memo;

  bool operandsBounded(Operation &o) {
    return llvm::all_of(o.getOperands(), [&](Value x) { return bounded(x); });
  }
  static bool positiveConstant(Value v) {
    APInt c;
    return matchPattern(v, m_ConstantInt(&c)) && c.isStrictlyPositive() && c.getActiveBits() < 62;
  }

  bool boundedOp(Operation &o) {
    using P = arith::CmpIPredicate;
    if (auto c = dyn_cast<arith::ConstantOp>(o))
      return isa<IntegerAttr>(c.getValue());
    auto isBool = [](Value x) { return x.getType().isInteger(1); };
    if (auto c = dyn_cast<arith::CmpIOp>(o))
      return c.getPredicate() != P::ult && c.getPredicate() != P::ule && c.getPredicate() != P::ugt &&
             c.getPredicate() != P::uge && !isBool(c.getLhs()) && operandsBounded(o);
    // Casts bound integers (and a bool widened to 0 / 1), not bools made of them.
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp>(o))
      return !isBool(o.getResult(0)) && (!isBool(o.getOperand(0)) || isa<arith::ExtUIOp>(o)) &&
             operandsBounded(o);
    if (isa<arith::SelectOp, arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::MinSIOp, arith::MaxSIOp,
            math::AbsIOp, arith::OrIOp, arith::XOrIOp, arith::ShRSIOp, arith::ShLIOp>(o))
      return operandsBounded(o);
    if (isa<arith::AndIOp>(o))
      return (o.getResult(0).getType().isInteger(1) || positiveConstant(o.getOperand(0)) ||
              positiveConstant(o.getOperand(1))) &&
             operandsBounded(o);
    if (isa<arith::FloorDivSIOp, arith::DivSIOp>(o))
      return operandsBounded(o);
    if (isa<arith::RemSIOp>(o))
      return positiveConstant(o.getOperand(1)) && operandsBounded(o);
    if (auto ex = dyn_cast<tensor::ExtractOp>(o))
      return lookupBounded(ex);
    return false;
  }

  /// Lookup(): indices before the last single values over a tile (they do
  /// not depend on i or j), the last one too or the table summarized.
  bool lookupBounded(tensor::ExtractOp ex) {
    auto extras = op.getExtras();
    auto it = llvm::find(extras, ex.getTensor());
    auto idx = ex.getIndices();
    if (!ex.getType().isIntOrIndex() || it == extras.end() ||
        !llvm::all_of(idx, [&](Value x) { return bounded(x); }))
      return false;
    for (size_t d = 0; d + 1 < idx.size(); ++d)
      if (onPosition(idx[d]))
        return false;
    return idx.empty() || !onPosition(idx.back()) || op.getTableBoundsOf(it - extras.begin());
  }

  /// Whether `v` depends on i or j (mask arguments 2 and 3).
  bool onPosition(Value v) { return regionDepsOf(mask, 2, v, depsMemo).position; }
  llvm::DenseMap<Value, RegionDeps> depsMemo;
};

} // namespace

bool attnc::maskDefeatsTileBounds(AttentionOp op) {
  if (op.getMask().empty())
    return false;
  Value keep = cast<YieldOp>(op.getMask().front().getTerminator()).getValues()[0];
  return !Coverage(op).bounded(keep);
}

bool attnc::maskWrapsOverTiles(AttentionOp op) {
  if (op.getMask().empty())
    return false;
  Region &mask = op.getMask();
  llvm::DenseMap<Value, RegionDeps> memo;
  bool wraps = false;
  mask.walk([&](arith::SubIOp sub) {
    Value d = floorModulusDivisor(sub);
    if (!d || !regionDepsOf(mask, 2, sub.getLhs(), memo).position)
      return;
    APInt c;
    wraps |= !matchPattern(d, m_ConstantInt(&c)) || c.sge(AttentionOp::kMaskClassBlock);
  });
  return wraps;
}

MaskBox attnc::boundMaskOverBox(OpBuilder &b, Location loc, AttentionOp op,
                                CarrierAccess &access, Value batch, Value head, Value i0,
                                Value i1, Value j0, Value j1) {
  return Evaluator(b, loc, op, access).run(batch, head, i0, i1, j0, j1);
}
