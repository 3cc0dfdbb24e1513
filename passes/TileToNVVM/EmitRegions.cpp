//===- EmitRegions.cpp - extras, score/mask regions and links in the kernel ===//
#include "KernelEmitter.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <functional>
#include <limits>
#include <optional>

using namespace mlir;
using namespace attnc::gpu;

Value KernelAccess::loadIndex(OpBuilder &ob, Location loc, unsigned n, ValueRange idx) {
  Value v = e.loadExtra(ob, n, idx);
  return arith::IndexCastOp::create(ob, loc, ob.getIndexType(), v);
}
Value KernelAccess::tileMaskBit(OpBuilder &ob, Location loc, attnc::attn::BlockListAttr bl,
                                Value batch, Value head, Value i, Value j) {
  const int64_t T = attnc::attn::BlockListAttr::kMaskTile;
  Type i32 = ob.getI32Type(), i64 = ob.getI64Type();
  auto c32 = [&](int64_t v) { return arith::ConstantIntOp::create(ob, loc, i32, v).getResult(); };
  // Positions are non-negative and below 2^31: (x % T) / P = (x & (T - 1)) >> log2 P
  // (the block sizes per bit divide T, so they are powers of two).
  auto bitsOf = [&](Value x, int64_t perBit) {
    Value x32 = arith::IndexCastOp::create(ob, loc, i32, x);
    return arith::ShRUIOp::create(ob, loc, arith::AndIOp::create(ob, loc, x32, c32(T - 1)),
                                  c32(llvm::Log2_64(perBit)))
        .getResult();
  };
  Value &row = tileMaskRows[{i.getAsOpaquePointer(), ob.getInsertionBlock()}];
  if (!row) {
    attnc::IndexMath m{ob, loc};
    Value word = arith::IndexCastOp::create(
        ob, loc, i64, loadIndex(ob, loc, bl.getTileMask(), {batch, head, m.fdiv(i, T), m.fdiv(j, T)}));
    Value shift = arith::MulIOp::create(ob, loc, bitsOf(i, bl.maskRowsPerBit()),
                                        c32(T / bl.maskKeysPerBit()));
    row = arith::ShRUIOp::create(ob, loc, word, arith::ExtUIOp::create(ob, loc, i64, shift));
  }
  Value col = arith::ExtUIOp::create(ob, loc, i64, bitsOf(j, bl.maskKeysPerBit()));
  Value one = arith::ConstantIntOp::create(ob, loc, i64, 1);
  return arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::ne,
                               arith::AndIOp::create(ob, loc, arith::ShRUIOp::create(ob, loc, row, col), one),
                               arith::ConstantIntOp::create(ob, loc, i64, 0));
}
Value KernelAccess::dim(OpBuilder &ob, Location, unsigned n, unsigned d) {
  return e.extraDim(ob, n, d);
}
Value KernelAccess::inlineMask(OpBuilder &ob, Location loc, Region &mask, ValueRange args) {
  FailureOr<Value> v = e.inlineRegion(mask, SmallVector<Value>(args));
  if (failed(v)) {
    e.regionFailed = true;
    return arith::ConstantIntOp::create(ob, loc, 1, 1);
  }
  return *v;
}
std::pair<Value, Value> KernelAccess::documentSpan(OpBuilder &ob, Location, unsigned n,
                                                   Value t) {
  auto it = memo.find({n, t.getAsOpaquePointer()});
  if (it != memo.end())
    return it->second;
  return e.documentSpan(ob, n, t);
}
Value KernelAccess::outerValue(OpBuilder &ob, Location loc, Value v) {
  FailureOr<Value> mv = e.materializeOuter(v);
  return succeeded(mv) ? *mv : Value();
}
void KernelAccess::remapTileDocuments(const IRMapping &map) {
  for (auto &[n, vals] : tileDocs)
    for (Value &v : vals)
      v = map.lookupOrDefault(v);
}
void KernelAccess::prepareDocumentSpan(OpBuilder &ob, unsigned n, Value t) {
  auto tile = tileDocs.find(n);
  if (tile == tileDocs.end()) {
    memo[{n, t.getAsOpaquePointer()}] = e.documentSpan(ob, n, t);
    return;
  }
  // A row of a tile whose first and last rows share one (non-empty)
  // document lies in it too: no search (rows past the tile are not stored).
  auto [s0, e0, s1, e1] = tile->second;
  Location loc = t.getLoc();
  attnc::IndexMath m{ob, loc};
  Value one = m.land(m.land(m.eq(s0, s1), m.eq(e0, e1)), m.lt(s0, e0));
  Type it = ob.getIndexType();
  auto ifOne = scf::IfOp::create(ob, loc, TypeRange{it, it}, one, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard g(ob);
    ob.setInsertionPointToStart(ifOne.thenBlock());
    scf::YieldOp::create(ob, loc, ValueRange{s0, e0});
    ob.setInsertionPointToStart(ifOne.elseBlock());
    auto [s, en] = e.documentSpan(ob, n, t);
    scf::YieldOp::create(ob, loc, ValueRange{s, en});
  }
  memo[{n, t.getAsOpaquePointer()}] = {ifOne.getResult(0), ifOne.getResult(1)};
}

Value KernelEmitter::extraDim(OpBuilder &ob, unsigned n, unsigned d) {
  const KernelConfig::Extra &e = c.extras[n];
  if (e.dimParam[d] < 0)
    return arith::ConstantIndexOp::create(ob, loc, e.type.getDimSize(d));
  Value v = fnArgs[e.dimParam[d]];
  return arith::IndexCastOp::create(ob, loc, ob.getIndexType(), v);
}

Value KernelEmitter::loadExtra(OpBuilder &ob, unsigned n, ValueRange indices) {
  const KernelConfig::Extra &e = c.extras[n];
  Value ptr = extraAddress(ob, n, indices);
  // Extras are inputs no thread writes during the kernel: invariant loads
  // (ld.global.nc) that LLVM may hoist out of the tile loop and share
  // across the per-element copies of a region.
  return LLVM::LoadOp::create(ob, loc, e.elem, ptr, /*alignment=*/e.elem.isInteger(64) ? 8 : 4,
                              /*isVolatile=*/false, /*isNonTemporal=*/false, /*isInvariant=*/true);
}

Value KernelEmitter::extraAddress(OpBuilder &ob, unsigned n, ValueRange indices) {
  const KernelConfig::Extra &e = c.extras[n];
  Value lin;
  for (auto [d, ix] : llvm::enumerate(indices)) {
    Value i = ix;
    if (!i.getType().isIndex())
      i = arith::IndexCastOp::create(ob, loc, ob.getIndexType(), i);
    // Scores and masks are evaluated on whole tiles, including rows past Lq
    // and columns past Lk that are dropped afterwards; their table indices
    // (e.g. rel[h, i - j + Lk - 1]) may fall outside the table, so every
    // index is clamped into it: a read stays in bounds whatever the position.
    Value zero = arith::ConstantIndexOp::create(ob, loc, 0);
    Value last = arith::SubIOp::create(ob, loc, extraDim(ob, n, d),
                                       arith::ConstantIndexOp::create(ob, loc, 1));
    i = arith::MinSIOp::create(ob, loc, arith::MaxSIOp::create(ob, loc, i, zero), last);
    lin = lin ? arith::AddIOp::create(
                    ob, loc, arith::MulIOp::create(ob, loc, lin, extraDim(ob, n, d)), i)
              : i;
  }
  Value off = arith::IndexCastOp::create(ob, loc, ob.getI64Type(), lin);
  return LLVM::GEPOp::create(ob, loc, ptrTy, e.elem, extraArgs[n], ValueRange{off});
}

std::pair<Value, Value> KernelEmitter::documentSpan(OpBuilder &ob, unsigned n, Value t) {
  Type it = ob.getIndexType();
  auto ci = [&](int64_t v) { return arith::ConstantIndexOp::create(ob, loc, v).getResult(); };
  auto ld = [&](OpBuilder &bb, Value k) {
    return arith::IndexCastOp::create(bb, loc, it, loadExtra(bb, n, {k})).getResult();
  };
  Value len = extraDim(ob, n, 0); // N + 1
  // First k in [1, N] with cu[k] > t (N + 1 if none): doc = k - 1.
  auto w = scf::WhileOp::create(
      ob, loc, TypeRange{it, it}, ValueRange{ci(1), len},
      [&](OpBuilder &bb, Location l, ValueRange a) {
        Value go = arith::CmpIOp::create(bb, l, arith::CmpIPredicate::slt, a[0], a[1]);
        scf::ConditionOp::create(bb, l, go, a);
      },
      [&](OpBuilder &bb, Location l, ValueRange a) {
        Value mid = arith::ShRUIOp::create(bb, l, arith::AddIOp::create(bb, l, a[0], a[1]),
                                           arith::ConstantIndexOp::create(bb, l, 1));
        Value le = arith::CmpIOp::create(bb, l, arith::CmpIPredicate::sle, ld(bb, mid), t);
        Value lo = arith::SelectOp::create(
            bb, l, le, arith::AddIOp::create(bb, l, mid, arith::ConstantIndexOp::create(bb, l, 1)),
            a[0]);
        Value hi = arith::SelectOp::create(bb, l, le, a[1], mid);
        scf::YieldOp::create(bb, l, ValueRange{lo, hi});
      });
  Value doc = arith::SubIOp::create(ob, loc, w.getResult(0), ci(1));
  Value total = ld(ob, arith::SubIOp::create(ob, loc, len, ci(1)));
  Value inDoc = arith::AndIOp::create(
      ob, loc, arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::sle, ci(0), t),
      arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::slt, t, total));
  Value dc = arith::SelectOp::create(ob, loc, inDoc, doc, ci(0));
  Value st = ld(ob, dc), en = ld(ob, arith::AddIOp::create(ob, loc, dc, ci(1)));
  return {arith::SelectOp::create(ob, loc, inDoc, st, ci(0)),
          arith::SelectOp::create(ob, loc, inDoc, en, ci(0))};
}

/// A value a region reads from above: a constant, or a tensor.dim of q, k,
/// v or an extra (how the frontend passes dims).
FailureOr<Value> KernelEmitter::materializeOuter(Value v) {
  Operation *def = v.getDefiningOp();
  if (auto cst = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto fa = dyn_cast<FloatAttr>(cst.getValue()))
      return cf32(fa.getValueAsDouble());
    return b.clone(*def)->getResult(0);
  }
  if (auto dimOp = dyn_cast_or_null<tensor::DimOp>(def)) {
    std::optional<int64_t> d = dimOp.getConstantIndex();
    auto ty = cast<RankedTensorType>(dimOp.getSource().getType());
    if (d) {
      if (!ty.isDynamicDim(*d))
        return cidx(ty.getDimSize(*d));
      Value src = dimOp.getSource();
      Value q = c.op.getQuery(), k = c.op.getKey(), vv = c.op.getValue();
      // A paged key or value operand is a pool: its extents are not the
      // attention's (the refusal below names the value).
      bool pool = c.pageSize && (src == k || src == vv);
      if (!pool && (src == q || src == k || src == vv)) {
        Value r;
        if (*d == 0) r = argB;
        else if (*d == 1) r = src == q ? argHq : argHk;
        else if (*d == 2) r = src == q ? argLq : argLk;
        if (r)
          return toIdx(r);
      }
      for (auto [n, e] : llvm::enumerate(c.op.getExtras()))
        if (e == src)
          return extraDim(b, n, *d);
    }
  }
  return emitError(v.getLoc(), "GPU kernel: a score/mask region reads a value "
                               "from above that is neither a constant nor a "
                               "dim of q, k, v or an extra"),
         failure();
}

/// A float literal of a region, also as the frontend writes integer ones
/// (sitofp of an index_cast of a constant).
static std::optional<double> literalOf(Value v) {
  FloatAttr f;
  if (matchPattern(v, m_Constant(&f)))
    return f.getValueAsDouble();
  auto cv = v.getDefiningOp<arith::SIToFPOp>();
  if (!cv)
    return std::nullopt;
  Value x = cv.getIn();
  if (auto ic = x.getDefiningOp<arith::IndexCastOp>())
    x = ic.getIn();
  APInt a;
  if (matchPattern(x, m_ConstantInt(&a)))
    return (double)a.getSExtValue();
  return std::nullopt;
}

/// Whether `v` (a value of a region) is computed from `arg`.
static bool computedFrom(Value v, Value arg) {
  SmallVector<Value> work{v};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    Value x = work.pop_back_val();
    if (x == arg)
      return true;
    Operation *d = x.getDefiningOp();
    if (!d || !seen.insert(x).second)
      continue;
    if (d->getNumRegions() &&
        d->walk([&](Operation *in) {
           return llvm::is_contained(in->getOperands(), arg) ? WalkResult::interrupt()
                                                             : WalkResult::advance();
         }).wasInterrupted())
      return true;
    llvm::append_range(work, d->getOperands());
  }
  return false;
}

FailureOr<Value> KernelEmitter::inlineRegion(Region &r, ArrayRef<Value> args,
                                             Value *additiveTerm) {
  Block &blk = r.front();
  IRMapping map;
  for (auto [a, v] : llvm::zip(blk.getArguments(), args))
    map.map(a, v);
  std::unique_ptr<attnc::RegionIntRanges> &ranges = intRanges[&r];
  if (!ranges) {
    // Static extents bound the positions: rows and columns of edge tiles
    // run up to a tile past Lq and Lk.
    auto q = cast<RankedTensorType>(c.op.getQuery().getType());
    auto o = cast<RankedTensorType>(c.op.getResult().getType());
    auto k = c.op.getLogicalKeyType();
    // The manifest refuses dynamic extents past kRegionMaxExtent.
    auto extentOf = [](int64_t extent) {
      return ShapedType::isDynamic(extent) ? attnc::kRegionMaxExtent : extent;
    };
    auto largest = [&](int64_t extent, int64_t slack) { return extentOf(extent) - 1 + slack; };
    int64_t bounds[4] = {largest(q.getDimSize(0), 0), largest(o.getDimSize(1), 0),
                         largest(q.getDimSize(2), c.BM), largest(k.getDimSize(2), c.BN)};
    // Sizes of q, k and v read from above (B, the heads, Lq, Lk): as bounded.
    auto sizeLargest = [&](Value v) -> std::optional<int64_t> {
      auto dim = v.getDefiningOp<tensor::DimOp>();
      std::optional<int64_t> d = dim ? dim.getConstantIndex() : std::nullopt;
      Value src = dim ? dim.getSource() : Value();
      bool pool = c.pageSize && (src == c.op.getKey() || src == c.op.getValue());
      if (!d || *d > 2 || pool ||
          (src != c.op.getQuery() && src != c.op.getKey() && src != c.op.getValue()))
        return std::nullopt;
      return extentOf(cast<RankedTensorType>(src.getType()).getDimSize(*d));
    };
    // A score region's (b, h, i, j) follow the score, a mask's come first.
    ranges = std::make_unique<attnc::RegionIntRanges>(r, &r == c.score ? 1 : 0, bounds, sizeLargest);
  }
  llvm::DenseMap<Value, Value> narrowed;
  NarrowScope scope{ranges.get(), &narrowed};
  std::swap(scope, narrow);
  LogicalResult inlined = inlineOps(r, blk, map);
  std::swap(scope, narrow);
  if (failed(inlined))
    return failure();
  auto y = cast<attnc::attn::YieldOp>(blk.getTerminator());
  // A result s + t with t free of s (a bias): t, for the caller to fuse
  // the add with the scale into one FMA.
  if (additiveTerm) {
    *additiveTerm = Value();
    Value s = blk.getArgument(0);
    if (auto add = y.getValues()[0].getDefiningOp<arith::AddFOp>())
      for (int k = 0; k < 2; ++k)
        if (add.getOperand(k) == s && !computedFrom(add.getOperand(1 - k), s))
          *additiveTerm = map.lookupOrDefault(add.getOperand(1 - k));
  }
  return map.lookupOrDefault(y.getValues()[0]);
}

Value KernelEmitter::absInt(Value x) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(x.getType()));
  return select(cmp(arith::CmpIPredicate::slt, x, zero), sub(zero, x), x);
}

Value KernelEmitter::divideByInvariant(Operation &op, Value x, Value d) {
  // Granlund and Montgomery (Hacker's Delight 10-8): for d >= 1 and l =
  // ceil(log2 d), m = floor(2^32 (2^l - d) / d) + 1 and t = umulhi(m, u),
  // u / d = (t + ((u - t) >> min(l, 1))) >> max(l - 1, 0) for every u < 2^32.
  Type i64 = b.getI64Type();
  Value one = ci32(1), zero = ci32(0);
  Value dd = arith::MaxUIOp::create(b, loc, d, one); // nonzero: the setup may leave the loop
  Value clz = LLVM::CountLeadingZerosOp::create(b, loc, i32, sub(dd, one), /*is_zero_poison=*/false);
  Value l = sub(ci32(32), clz);
  Value l64 = arith::ExtUIOp::create(b, loc, i64, l);
  Value d64 = arith::ExtUIOp::create(b, loc, i64, dd);
  Value pow = arith::ShLIOp::create(b, loc, arith::ConstantIntOp::create(b, loc, i64, 1), l64);
  Value num = arith::ShLIOp::create(b, loc, arith::SubIOp::create(b, loc, pow, d64),
                                    arith::ConstantIntOp::create(b, loc, i64, 32));
  Value m = add(arith::TruncIOp::create(b, loc, i32, arith::DivUIOp::create(b, loc, num, d64)), one);
  Value sh1 = arith::MinUIOp::create(b, loc, l, one);
  Value sh2 = sub(arith::MaxUIOp::create(b, loc, l, one), one);
  auto udiv = [&](Value u) -> Value {
    Value t = arith::MulUIExtendedOp::create(b, loc, m, u).getHigh();
    Value half = arith::ShRUIOp::create(b, loc, sub(u, t), sh1);
    return arith::ShRUIOp::create(b, loc, add(t, half), sh2);
  };
  Value neg = cmp(arith::CmpIPredicate::slt, x, zero);
  Value allOnes = ci32(-1);
  if (isa<arith::FloorDivSIOp>(op)) {
    // floor(x / d) = ~floor(~x / d) for x < 0 (~x = -x - 1 >= 0).
    Value notX = arith::XOrIOp::create(b, loc, x, allOnes);
    Value q = udiv(select(neg, notX, x));
    return select(neg, arith::XOrIOp::create(b, loc, q, allOnes), q);
  }
  // Truncation: the quotient of |x|, negated back (|x| <= 2^31 as unsigned).
  Value mag = select(neg, sub(zero, x), x);
  Value q = udiv(mag);
  Value tq = select(neg, sub(zero, q), q);
  if (isa<arith::DivSIOp>(op))
    return tq;
  return sub(x, arith::MulIOp::create(b, loc, tq, d));
}

Value KernelEmitter::narrowOf(Value orig, IRMapping &map) {
  if (Value n = narrow.values->lookup(orig))
    return n;
  Value w = map.lookupOrDefault(orig);
  Operation *def = w.getDefiningOp();
  if (isa_and_nonnull<arith::IndexCastOp, arith::ExtSIOp>(def) &&
      def->getOperand(0).getType() == i32)
    return def->getOperand(0);
  APInt cst;
  if (matchPattern(w, m_ConstantInt(&cst)))
    return ci32(cst.getSExtValue());
  if (w.getType().isIndex())
    return toI32(w);
  return arith::TruncIOp::create(b, loc, i32, w);
}

bool KernelEmitter::inlineNarrow(Operation &op, IRMapping &map) {
  const attnc::RegionIntRanges &ranges = *narrow.ranges;
  auto widen = [&](Value orig, Value n) {
    narrow.values->try_emplace(orig, n);
    Type t = orig.getType();
    map.map(orig, t.isIndex() ? toIdx(n) : arith::ExtSIOp::create(b, loc, t, n).getResult());
  };
  // A cast between wide types keeps the value; from i32 narrowOf looks through.
  if (isa<arith::IndexCastOp, arith::ExtSIOp>(op) && attnc::isWideInt(op.getOperand(0).getType()) &&
      attnc::isWideInt(op.getResult(0).getType()) && ranges.fitsI32(op.getOperand(0))) {
    widen(op.getResult(0), narrowOf(op.getOperand(0), map));
    return true;
  }
  if (auto cv = dyn_cast<arith::SIToFPOp>(op);
      cv && attnc::isWideInt(cv.getIn().getType()) && ranges.fitsI32(cv.getIn())) {
    map.map(cv.getResult(), arith::SIToFPOp::create(b, loc, f32, narrowOf(cv.getIn(), map)));
    return true;
  }
  if (!ranges.narrowable(op))
    return false;
  if (auto ab = dyn_cast<math::AbsIOp>(op)) {
    widen(ab.getResult(), absInt(narrowOf(ab.getOperand(), map)));
    return true;
  }
  // Floor division by 2^k is an arithmetic shift (then x % 2^k folds to a mask).
  APInt d;
  if (auto fd = dyn_cast<arith::FloorDivSIOp>(op);
      fd && matchPattern(fd.getRhs(), m_ConstantInt(&d)) && d.isStrictlyPositive() && d.isPowerOf2()) {
    widen(fd.getResult(), arith::ShRSIOp::create(b, loc, narrowOf(fd.getLhs(), map),
                                                 ci32(d.logBase2())));
    return true;
  }
  // A division by a run-time divisor that does not vary over the tile (a
  // size, a per-head value): by a multiplier, not by ptxas's division per
  // element. Not for a divisor read from a table: its load may stay in the
  // loop, and the multiplier's setup (a 64-bit division) with it.
  if (isa<arith::FloorDivSIOp, arith::DivSIOp, arith::RemSIOp>(op) &&
      !matchPattern(op.getOperand(1), m_Constant())) {
    attnc::RegionDeps deps = ranges.depsOf(op.getOperand(1));
    if (!deps.position && !deps.table && ranges.rangeOf(op.getOperand(1)).smin().isStrictlyPositive()) {
      widen(op.getResult(0),
            divideByInvariant(op, narrowOf(op.getOperand(0), map), narrowOf(op.getOperand(1), map)));
      return true;
    }
  }
  IRMapping operands;
  for (Value v : op.getOperands())
    operands.map(v, attnc::isWideInt(v.getType()) ? narrowOf(v, map) : map.lookup(v));
  Operation *cl = b.clone(op, operands);
  for (auto [orig, res] : llvm::zip(op.getResults(), cl->getResults())) {
    if (!attnc::isWideInt(orig.getType())) {
      map.map(orig, res); // a comparison's i1
      continue;
    }
    res.setType(i32);
    widen(orig, res);
  }
  return true;
}

/// A loop of a region (a `sum(r, ...)` reduction): the same loop in the
/// kernel, its body inlined like the region's own ops.
LogicalResult KernelEmitter::inlineLoop(Region &r, scf::ForOp loop, IRMapping &map) {
  SmallVector<Value> inits;
  for (Value v : loop.getInitArgs())
    inits.push_back(map.lookup(v));
  auto nf = scf::ForOp::create(b, loc, map.lookup(loop.getLowerBound()),
                               map.lookup(loop.getUpperBound()), map.lookup(loop.getStep()),
                               inits);
  map.map(loop.getInductionVar(), nf.getInductionVar());
  for (auto [a, n] : llvm::zip(loop.getRegionIterArgs(), nf.getRegionIterArgs()))
    map.map(a, n);
  {
    OpBuilder::InsertionGuard guard(b);
    Block *body = nf.getBody();
    if (body->mightHaveTerminator())
      b.setInsertionPoint(body->getTerminator());
    else
      b.setInsertionPointToEnd(body);
    if (failed(inlineOps(r, *loop.getBody(), map)))
      return failure();
    if (!body->mightHaveTerminator()) {
      SmallVector<Value> yields;
      for (Value v : loop.getBody()->getTerminator()->getOperands())
        yields.push_back(map.lookupOrDefault(v));
      scf::YieldOp::create(b, loc, yields);
    }
  }
  for (auto [o, n] : llvm::zip(loop.getResults(), nf.getResults()))
    map.map(o, n);
  return success();
}

LogicalResult KernelEmitter::inlineOps(Region &r, Block &blk, IRMapping &map) {
  for (Operation &op : blk.without_terminator()) {
    for (Value v : op.getOperands())
      if (!map.contains(v) && !r.isAncestor(v.getParentRegion()) &&
          !(isa<tensor::ExtractOp>(op) && v == op.getOperand(0))) {
        FailureOr<Value> mv = materializeOuter(v);
        if (failed(mv))
          return failure();
        map.map(v, *mv);
      }
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      if (auto fa = dyn_cast<FloatAttr>(cst.getValue())) {
        map.map(cst.getResult(), cf32(fa.getValueAsDouble()));
        continue;
      }
    }
    if (auto ex = dyn_cast<tensor::ExtractOp>(op)) {
      auto extras = c.op.getExtras();
      auto it = llvm::find(extras, ex.getTensor());
      if (it == extras.end())
        return op.emitOpError("GPU kernel: tensor.extract in a region must read "
                              "an extras operand");
      SmallVector<Value> idx;
      for (Value i : ex.getIndices())
        idx.push_back(map.lookup(i));
      map.map(ex.getResult(), loadExtra(b, it - extras.begin(), idx));
      continue;
    }
    // tanh (softcap) as the hardware approximation (MUFU.TANH, relative error
    // about 2^-11), as FlashAttention-3 does: the libm-style expansion is a
    // dozen dependent instructions per score.
    if (auto th = dyn_cast<math::TanhOp>(op); th && th.getType().isF32()) {
      // LLVM 22's NVPTX has no intrinsic for it: one line of PTX.
      map.map(th.getResult(), inlinePtx(f32, ValueRange{map.lookup(th.getOperand())},
                                        "tanh.approx.f32 $0, $1;", "=f,f",
                                        /*sideEffects=*/false));
      continue;
    }
    // A score's division as fdiv; a mask's stays IEEE, as the CPU reference
    // and the block classification divide (a predicate must not flip).
    if (auto dv = dyn_cast<arith::DivFOp>(op); dv && dv.getType().isF32() && &r == c.score) {
      map.map(dv.getResult(), fdiv(map.lookup(dv.getLhs()), map.lookup(dv.getRhs()),
                                   literalOf(dv.getRhs())));
      continue;
    }
    // sin, cos and tan as a reduction and the hardware's approximations:
    // the math library's full-range reduction (a Payne-Hanek table walk in
    // local memory), unrolled over a thread's scores, spilled 16 KB.
    if (isa<math::SinOp, math::CosOp, math::TanOp>(op) && op.getResult(0).getType().isF32()) {
      Value x = map.lookup(op.getOperand(0));
      Value r;
      if (isa<math::TanOp>(op))
        r = fdiv(trigApprox(x, false), trigApprox(x, true));
      else
        r = trigApprox(x, isa<math::CosOp>(op));
      map.map(op.getResult(0), r);
      continue;
    }
    // log and log2 as the hardware's lg2 (relative error about 2^-22,
    // subnormal inputs kept): libdevice's logf is a ~20-instruction
    // expansion per score (the log-distance bias spent most of its time there).
    if (isa<math::LogOp, math::Log2Op>(op) && op.getResult(0).getType().isF32()) {
      Value l = lg2(map.lookup(op.getOperand(0)));
      map.map(op.getResult(0), isa<math::LogOp>(op) ? fmul(l, cf32(0.6931471805599453)) : l);
      continue;
    }
    if (auto ef = dyn_cast<math::ErfOp>(op); ef && ef.getType().isF32()) {
      map.map(ef.getResult(), erfApprox(map.lookup(ef.getOperand())));
      continue;
    }
    if (auto pw = dyn_cast<math::PowFOp>(op); pw && pw.getType().isF32()) {
      // A literal exponent: small integers as products (x^2 exact, as the CPU
      // computes it), other literals through the math library below.
      if (std::optional<double> lit = literalOf(pw.getRhs())) {
        double n = *lit;
        if (n >= 1 && n <= 4 && n == std::floor(n)) {
          Value x = map.lookup(pw.getLhs()), r = x;
          for (int t = 1; t < int(n); ++t)
            r = fmul(r, x);
          map.map(pw.getResult(), r);
          continue;
        }
      } else if (std::optional<double> base = literalOf(pw.getLhs()); base && *base > 0) {
        // A positive literal base (ALiBi's 2 ^ (-8 (h + 1) / H)): 2^(y log2 c).
        map.map(pw.getResult(), ex2(fmul(map.lookup(pw.getRhs()), cf32(std::log2(*base)))));
        continue;
      } else {
        auto cv = pw.getRhs().getDefiningOp<arith::SIToFPOp>();
        // A decay's exponent i - j: its parity per row, not a conversion per score.
        Value odd = cv && scoreElement && &blk == &r.front() ? affineOddBit(blk, cv) : Value();
        map.map(pw.getResult(),
                powApprox(map.lookup(pw.getLhs()), map.lookup(pw.getRhs()), cv != nullptr, odd));
        continue;
      }
    }
    // Only in the region's own block: i and j are its arguments, and the
    // per-row base the rewrite caches must not be defined inside a loop.
    if (auto cv = dyn_cast<arith::SIToFPOp>(op); cv && scoreElement && &blk == &r.front())
      if (Value f = affineToFloat(blk, cv)) {
        map.map(cv.getResult(), f);
        continue;
      }
    // Index math whose values fit 32 bits runs in i32 (RegionIntRanges).
    if (narrow.ranges && inlineNarrow(op, map))
      continue;
    // Integer abs as compare + select: math.absi on index has no lowering in
    // the NVVM pipeline.
    if (auto ab = dyn_cast<math::AbsIOp>(op)) {
      map.map(ab.getResult(), absInt(map.lookup(ab.getOperand())));
      continue;
    }
    if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
      Value in = map.lookup(op.getOperand(0));
      Type out = op.getResult(0).getType();
      if (out == c.elemTy || isa<FloatType>(out))
        if (in.getType() == f32 && (out == c.elemTy || out == f32 ||
                                    out.getIntOrFloatBitWidth() < 32)) {
          map.map(op.getResult(0), in);
          continue;
        }
    }
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      if (failed(inlineLoop(r, loop, map)))
        return failure();
      continue;
    }
    if (op.getNumRegions() != 0 || !isa<arith::ArithDialect, math::MathDialect>(op.getDialect()))
      return op.emitOpError("GPU kernel: only arith/math ops, scf.for and tensor.extract of "
                            "extras are supported in score/mask regions");
    Operation *cl = b.clone(op, map);
    for (Value res : cl->getResults())
      if (isa<FloatType>(res.getType()) && res.getType() != f32)
        res.setType(f32);
  }
  return success();
}

namespace {
/// a*j + b*i + c over a score region's arguments (s, b, h, i, j).
struct Affine {
  int64_t a = 0, b = 0, c = 0;
};

std::optional<Affine> affineOf(Block &blk, Value v, int depth = 0) {
  // Only 64-bit (index or i64) values: a narrower type wraps, which exact
  // arithmetic would not reproduce.
  if (depth > 16 || !(v.getType().isIndex() || v.getType().isInteger(64)))
    return std::nullopt;
  if (v == blk.getArgument(4))
    return Affine{1, 0, 0};
  if (v == blk.getArgument(3))
    return Affine{0, 1, 0};
  Operation *d = v.getDefiningOp();
  if (!d)
    return std::nullopt;
  auto bounded = [](Affine x) -> std::optional<Affine> {
    constexpr int64_t kMax = int64_t(1) << 20; // keeps every term far from overflow
    if (std::abs(x.a) > kMax || std::abs(x.b) > kMax || std::abs(x.c) > kMax)
      return std::nullopt;
    return x;
  };
  if (auto cst = dyn_cast<arith::ConstantOp>(d)) {
    if (auto ia = dyn_cast<IntegerAttr>(cst.getValue()))
      return bounded(Affine{0, 0, ia.getInt()});
    return std::nullopt;
  }
  if (isa<arith::IndexCastOp, arith::ExtSIOp>(d))
    return affineOf(blk, d->getOperand(0), depth + 1);
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(d)) {
    auto x = affineOf(blk, d->getOperand(0), depth + 1);
    auto y = affineOf(blk, d->getOperand(1), depth + 1);
    if (!x || !y)
      return std::nullopt;
    if (isa<arith::AddIOp>(d))
      return bounded(Affine{x->a + y->a, x->b + y->b, x->c + y->c});
    if (isa<arith::SubIOp>(d))
      return bounded(Affine{x->a - y->a, x->b - y->b, x->c - y->c});
    // A product stays affine when one side is a constant.
    if (x->a == 0 && x->b == 0)
      return bounded(Affine{x->c * y->a, x->c * y->b, x->c * y->c});
    if (y->a == 0 && y->b == 0)
      return bounded(Affine{y->c * x->a, y->c * x->b, y->c * x->c});
  }
  return std::nullopt;
}
/// The f32 conversion of an expression affine in i and j (not a constant)
/// that affineToFloat builds per row and tile.
std::optional<Affine> affineFloatOf(Block &blk, arith::SIToFPOp cv) {
  if (!cv.getType().isF32())
    return std::nullopt;
  std::optional<Affine> af = affineOf(blk, cv.getIn());
  if (!af || (af->a == 0 && af->b == 0))
    return std::nullopt; // constants fold anyway
  return af;
}
/// a*jBase + b*i of a score element's row, in `ty` (i32 or i64; jBase is i32).
Value rowAffineSum(OpBuilder &b, Location loc, const KernelEmitter::ScoreElement &el, int64_t a, int64_t bi,
                   Type ty) {
  Value j = ty == el.jBase.getType() ? el.jBase : arith::ExtSIOp::create(b, loc, ty, el.jBase).getResult();
  Value i = arith::IndexCastOp::create(b, loc, ty, el.row);
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, ty, v).getResult(); };
  return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, j, c(a)), arith::MulIOp::create(b, loc, i, c(bi)));
}
} // namespace

Value KernelEmitter::affineToFloat(Block &blk, arith::SIToFPOp cv) {
  std::optional<Affine> af = affineFloatOf(blk, cv);
  if (!af)
    return nullptr;
  const ScoreElement &el = *scoreElement;
  Value &base = affineBases[{el.rowKey, af->a, af->b}];
  if (!base) // in 64 bits, converted once per row and tile
    base = arith::SIToFPOp::create(b, loc, f32, rowAffineSum(b, loc, el, af->a, af->b, i64));
  return fadd(base, cf32(double(af->a * el.jOff + af->c)));
}


bool attnc::gpu::scoreNeedsRegisters(Region *score) {
  if (!score)
    return false;
  Block &blk = score->front();
  // Every use of i and j must lead, through integer +, -, * and casts, to a
  // float conversion of an expression affine in them.
  std::function<bool(Value)> affineUses = [&](Value v) {
    for (Operation *user : v.getUsers()) {
      // A use inside a loop (`sum(r, ...)`) is computed per element.
      if (user->getBlock() != &blk)
        return false;
      if (auto cv = dyn_cast<arith::SIToFPOp>(user); cv && affineFloatOf(blk, cv))
        continue;
      if (!isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::IndexCastOp, arith::ExtSIOp>(user) ||
          !affineUses(user->getResult(0)))
        return false;
    }
    return true;
  };
  return !affineUses(blk.getArgument(3)) || !affineUses(blk.getArgument(4));
}

Value KernelEmitter::affineOddBit(Block &blk, arith::SIToFPOp cv) {
  std::optional<Affine> af = affineFloatOf(blk, cv);
  if (!af)
    return nullptr;
  const ScoreElement &el = *scoreElement;
  Value &rowBit = affineParities[{el.rowKey, af->a, af->b}];
  if (!rowBit) // its low bit (wrapping keeps it) in bit 31
    rowBit = arith::ShLIOp::create(b, loc, rowAffineSum(b, loc, el, af->a, af->b, i32), ci32(31));
  if ((af->a * el.jOff + af->c) % 2 == 0)
    return rowBit;
  return arith::XOrIOp::create(b, loc, rowBit, ci32(int32_t(0x80000000u)));
}

/// x^y as 2^(y log2|x|) on the hardware approximations (MUFU.LG2/EX2, about
/// 2^-22 relative in the exponent), with C's signs: a negative x gives
/// -|x|^y for an odd integer y, NaN for a non-integer y; y = 0 gives 1
/// (also for x = 0 or inf: log2|x| is clamped to a finite range, so 0 times
/// it is 0; a NaN x gives NaN, where C gives pow(NaN, 0) = 1). The libm-style expansion is some forty instructions per score;
/// with an integer exponent (a decay pow(lambda, i - j)) this is six.
Value KernelEmitter::powApprox(Value x, Value y, bool intExponent, Value oddBit) {
  Value l = lg2(math::AbsFOp::create(b, loc, x));
  // minimumf/maximumf propagate a NaN x (minnum would clamp it away).
  l = arith::MaximumFOp::create(b, loc, arith::MinimumFOp::create(b, loc, l, cf32(1e30)),
                                cf32(-1e30));
  Value mag = ex2(fmul(y, l));
  if (intExponent) {
    // The sign bit of x where y is odd: y's low bit shifted into bit 31.
    // (fptosi saturates past 2^31 to an odd value; the result there is 0 or
    // inf, and a clamp costs this kernel's registers: documented instead.)
    if (!oddBit)
      oddBit = arith::ShLIOp::create(b, loc, arith::FPToSIOp::create(b, loc, i32, y), ci32(31));
    Value signBit = arith::AndIOp::create(b, loc, arith::BitcastOp::create(b, loc, i32, x), oddBit);
    Value bits = arith::XOrIOp::create(b, loc, arith::BitcastOp::create(b, loc, i32, mag), signBit);
    return arith::BitcastOp::create(b, loc, f32, bits);
  }
  Value isInt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                      math::FloorOp::create(b, loc, y), y);
  Value half = fmul(y, cf32(0.5));
  Value odd = andI(isInt, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE,
                                                math::FloorOp::create(b, loc, half), half));
  Value negX = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, cf32(0.0));
  Value nan = cf32(std::numeric_limits<double>::quiet_NaN());
  Value negative = select(odd, arith::NegFOp::create(b, loc, mag), select(isInt, mag, nan));
  return select(negX, negative, mag);
}

/// Weight of a (masked: -inf) score in natural units for the links outside
/// the exp family; every one weighs a masked score 0.
Value KernelEmitter::linkWeight(Value sc) {
  using attnc::attn::Link;
  const double log2e = 1.4426950408889634;
  if (c.link == Link::sigmoid) {
    Value e = ex2(fmul(sc, cf32(-log2e))); // exp(-s): +inf for a masked score
    return fdiv(cf32(1.0), fadd(cf32(1.0), e));
  }
  Value ninf = negInf();
  if (c.link == Link::identity) // a masked (or -inf) score weighs 0
    return select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sc, ninf), cf32(0.0),
                  sc);
  if (c.link == Link::softplus) {
    // log(1 + exp(s)) = max(s, 0) + log1p(exp(-|s|)), with log1p(x) as
    // x (1 - x / 2) below 2^-10 where log2(1 + x) loses the low bits of x.
    Value e = ex2(fmul(math::AbsFOp::create(b, loc, sc), cf32(-log2e)));
    Value small = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, e,
                                        cf32(1.0 / 1024.0));
    Value series = fmul(e, fsub(cf32(1.0), fmul(e, cf32(0.5))));
    Value full = fmul(lg2(fadd(cf32(1.0), e)), cf32(1.0 / log2e));
    return fadd(fmax(sc, cf32(0.0)), select(small, series, full));
  }
  // relu(power = p): max(s, 0)^p.
  Value r = fmax(sc, cf32(0.0));
  double p = c.power;
  if (p == 1.0)
    return r;
  if (p == 2.0)
    return fmul(r, r);
  if (p == 3.0)
    return fmul(fmul(r, r), r);
  if (p == 4.0) {
    Value r2 = fmul(r, r);
    return fmul(r2, r2);
  }
  // r^p = 2^(p lg2 r); lg2(0) = -inf gives 0 for p > 0.
  return ex2(fmul(lg2(r), cf32(p)));
}


/// x - k 2 pi with k = rint(x / 2 pi), 2 pi split in three constants and
/// each step an FMA: the reduced argument is good to about 1e-7 absolute up
/// to |x| of about 2^28 (docs/semantics.md). sin.approx / cos.approx then
/// have an absolute error of about 2^-20.5 on [-pi, pi].
Value KernelEmitter::trigApprox(Value x, bool cosine) {
  Type f32 = b.getF32Type();
  Value k = math::RoundEvenOp::create(b, loc, fmul(x, cf32(0.15915493667125702)));
  Value r = x, negK = arith::NegFOp::create(b, loc, k);
  for (double c : {6.28125, 0.0019350051879882812, 3.019916050561733e-07})
    r = math::FmaOp::create(b, loc, negK, cf32(c), r);
  // k = 0: x itself (+0 - 0 would turn sin(-0) into +0).
  r = arith::SelectOp::create(
      b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, k, cf32(0.0)), x, r);
  return inlinePtx(f32, ValueRange{r}, cosine ? "cos.approx.f32 $0, $1;" : "sin.approx.f32 $0, $1;",
                   "=f,f", /*sideEffects=*/false);
}

/// erf(x) = sign(x) (1 - poly(t) e^(-x^2)), t = 1 / (1 + p |x|) (Abramowitz
/// and Stegun 7.1.26), branch-free: one reciprocal, one ex2 and five FMAs,
/// where libdevice's erff keeps two polynomials live. Its error is absolute
/// (about 1e-6), which is what a score term needs; a Maclaurin branch for
/// small |x| (relative accuracy there) cost periodic bias 20% (4.8 -> 5.8 ms).
Value KernelEmitter::erfApprox(Value x) {
  Type f32 = b.getF32Type();
  Value ax = math::AbsFOp::create(b, loc, x);
  Value t = inlinePtx(f32, ValueRange{math::FmaOp::create(b, loc, ax, cf32(0.3275911), cf32(1.0))},
                      "rcp.approx.ftz.f32 $0, $1;", "=f,f", /*sideEffects=*/false);
  Value poly = cf32(1.061405429);
  for (double a : {-1.453152027, 1.421413741, -0.284496736, 0.254829592})
    poly = math::FmaOp::create(b, loc, poly, t, cf32(a));
  poly = fmul(poly, t);
  Value e = ex2(fmul(fmul(ax, ax), cf32(-1.4426950408889634)));
  Value y = math::FmaOp::create(b, loc, arith::NegFOp::create(b, loc, poly), e, cf32(1.0));
  return math::CopySignOp::create(b, loc, y, x);
}
