//===- CarrierTiles.cpp - the carrier at tile granularity -----------------===//
#include "attnc/Analysis/CarrierTiles.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/Dialect/Attn/IndexMath.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cassert>

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

using IM = attnc::IndexMath;

//===----------------------------------------------------------------------===//
// Grid axes and boxes
//===----------------------------------------------------------------------===//

Value GridAxis::keepsAll(IM &m, Value a0, Value a1, Value k0, Value k1) const {
  if (causal)
    return m.land(m.le(m.sub(leader(m, a1), m.c(k - 1)), k0), m.le(k1, a0));
  return m.land(m.le(start(m, a1), k0), m.lt(k1, m.add(start(m, a0), k)));
}

SmallVector<Value, 3> GridTiles::origin(IM &m, Value tile, bool key) const {
  ArrayRef<int64_t> patch = key ? kPatch : qPatch;
  SmallVector<Value, 3> at(axes.size());
  for (size_t a = axes.size(); a-- > 0;) {
    int64_t nb = boxesAlong(a, key);
    at[a] = m.mul(a == 0 ? tile : m.rem(tile, nb), patch[a]);
    tile = m.fdiv(tile, nb);
  }
  return at;
}

Value GridTiles::token(IM &m, ArrayRef<Value> coords) const {
  Value t = coords[0];
  for (size_t a = 1; a < axes.size(); ++a)
    t = m.add(m.mul(t, axes[a].n), coords[a]);
  return t;
}

int64_t GridTiles::localOffset(int64_t local, bool key) const {
  ArrayRef<int64_t> patch = key ? kPatch : qPatch;
  int64_t off = 0, stride = 1;
  for (size_t a = axes.size(); a-- > 0;) {
    off += (local % patch[a]) * stride;
    local /= patch[a];
    stride *= axes[a].n;
  }
  return off;
}

SmallVector<int64_t, 3> GridTiles::localCoords(int64_t local, bool key) const {
  ArrayRef<int64_t> patch = key ? kPatch : qPatch;
  SmallVector<int64_t, 3> at(axes.size());
  for (size_t a = axes.size(); a-- > 0;) {
    at[a] = local % patch[a];
    local /= patch[a];
  }
  return at;
}

SmallVector<Value, 3> GridTiles::localCoords(IM &m, Value local, bool key) const {
  ArrayRef<int64_t> patch = key ? kPatch : qPatch;
  SmallVector<Value, 3> at(axes.size());
  for (size_t a = axes.size(); a-- > 0;) {
    at[a] = a == 0 ? local : m.rem(local, patch[a]);
    local = m.fdiv(local, patch[a]);
  }
  return at;
}

Value GridTiles::localOffset(IM &m, Value local, bool key) const {
  ArrayRef<int64_t> patch = key ? kPatch : qPatch;
  Value off = m.c(0);
  int64_t stride = 1;
  for (size_t a = axes.size(); a-- > 0;) {
    off = m.add(off, m.mul(a == 0 ? local : m.rem(local, patch[a]), stride));
    local = m.fdiv(local, patch[a]);
    stride *= axes[a].n;
  }
  return off;
}

SmallVector<GridAxis, 3> attnc::gridAxesOf(AttentionOp op) {
  if (op.getCarrier().size() != 1 || !op.getMask().empty())
    return {};
  SmallVector<GridAxis, 3> axes = getCarrierLowering(op.getCarrier()[0]).gridAxes();
  int64_t tokens = 1;
  for (const GridAxis &a : axes)
    tokens *= a.n;
  // Dynamic lengths must be the grid's at launch (a manifest constraint).
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = op.getLogicalKeyType();
  for (int64_t len : {q.getDimSize(2), k.getDimSize(2)})
    if (!ShapedType::isDynamic(len) && len != tokens)
      return {};
  return axes;
}

FailureOr<CarrierTilePlan> CarrierTilePlan::get(AttentionOp op, int64_t BM, int64_t BN,
                                                ArrayRef<int64_t> qPatch,
                                                ArrayRef<int64_t> kPatch) {
  CarrierTilePlan p;
  p.BM = BM;
  p.BN = BN;
  for (Attribute a : op.getCarrier())
    if (failed(getCarrierLowering(a).planTiles(op, p)))
      return failure();
  if (!qPatch.empty() || !kPatch.empty()) {
    GridTiles g{gridAxesOf(op), {}, {}};
    g.qPatch.assign(qPatch.begin(), qPatch.end());
    g.kPatch.assign(kPatch.begin(), kPatch.end());
    int64_t qn = 1, kn = 1;
    if (g.axes.size() > GridTiles::kMaxAxes)
      return op.emitOpError() << "GPU kernel: grid tiles need at most " << GridTiles::kMaxAxes
                              << " grid axes (a dilated axis counts two), the carrier has "
                              << g.axes.size(),
             failure();
    bool fits = !g.axes.empty() && qPatch.size() == g.axes.size() &&
                kPatch.size() == g.axes.size();
    for (size_t a = 0; fits && a < g.axes.size(); ++a) {
      fits = qPatch[a] > 0 && kPatch[a] > 0;
      qn *= qPatch[a];
      kn *= kPatch[a];
    }
    if (!fits || qn != BM || kn != BN)
      return op.emitOpError() << "GPU kernel: grid tiles need a carrier that is one "
                                 "neighborhood (dilations dividing their axes) and no mask region, and "
                                 "boxes of "
                              << BM << " query and " << BN << " key tokens, one extent per axis",
             failure();
    p.bounding.clear();
    p.exact.push_back("neighborhood (grid boxes)");
    p.grid = std::move(g);
  }
  if (op.getMask().empty())
    return p;
  if (op.getMaskClasses())
    p.bounding.push_back("mask region (classified per block before the kernel)");
  else if (maskDefeatsTileBounds(op))
    p.bounding.push_back(std::string("mask region (") + kMaskUnboundedNote + ")");
  else
    p.bounding.push_back("mask region (tiles bounded by interval evaluation)");
  return p;
}

/// The key tiles the families may keep for rows [i0, i1]: [p0, p1) then
/// [q0, q1) (ascending, disjoint; p empty without a sink window). Key (not
/// tile) bounds first, so that intersections and the clipping to [0, Lk) are
/// exact; tiles at the end.
static std::tuple<Value, Value, Value, Value>
familyTileRanges(IM &m, const CarrierTilePlan &plan, ArrayRef<Attribute> families,
                 const QueryTileRows &rows,
                 SmallVectorImpl<SmallVector<Value, 4>> *rowState) {
  const int64_t BN = plan.BN;
  TileKeyRange keys{m.c(0), rows.env.lk, {}, {}};
  for (Attribute a : families) {
    SmallVector<Value, 4> scratch;
    getCarrierLowering(a).boundTileKeys(m, rows, keys,
                                        rowState ? rowState->emplace_back() : scratch);
  }
  Value lo = keys.lo, hi = keys.hi, bandLo = keys.bandLo, bandHi = keys.bandHi;
  // Keys [kl, kh) -> tiles [floor(kl / BN), ceil(kh / BN)), [x, x) if empty.
  auto tiles = [&](Value kl, Value kh, Value emptyAt) -> std::pair<Value, Value> {
    Value ne = m.lt(kl, kh);
    return {m.sel(ne, m.fdiv(kl, BN), emptyAt), m.sel(ne, m.cdiv(kh, BN), emptyAt)};
  };
  if (!plan.sinkWindow) {
    auto [tl, th] = tiles(lo, hi, m.c(0));
    return {tl, tl, tl, th};
  }
  // Sinks A = [lo, min(hi, S)), band B = [max(lo, bandLo), min(hi, bandHi))
  // in keys; as tiles A.lo <= B.lo, so A u B = [A.lo, min(A.hi, B.lo)) u
  // [B.lo, max(A.hi, B.hi)): ascending and disjoint.
  auto [aLo, aHi] = tiles(lo, m.min(hi, m.c(plan.sinkWindow.getSinks())), m.c(0));
  auto [bLo, bHi] = tiles(m.max(lo, bandLo), m.min(hi, bandHi), aHi);
  return {aLo, m.min(aHi, bLo), bLo, m.max(aHi, bHi)};
}

Value attnc::familiesMayKeepTile(OpBuilder &b, Location loc, ArrayRef<Attribute> families,
                                 int64_t BM, int64_t BN, const TileEnv &env, Value qTile,
                                 Value kTile) {
  IM m{b, loc};
  CarrierTilePlan plan;
  plan.BM = BM;
  plan.BN = BN;
  for (Attribute a : families) {
    assert((!isa<BlockListAttr, BlockSelectAttr>(a)) && "static families only");
    (void)getCarrierLowering(a).planTiles(AttentionOp(), plan);
  }
  Value i0 = m.mul(qTile, BM);
  Value i1 = m.sub(m.min(m.add(i0, BM), env.lq), m.c(1));
  auto [p0, p1, q0, q1] = familyTileRanges(m, plan, families, {plan, env, i0, i1}, nullptr);
  return m.lor(m.land(m.le(p0, kTile), m.lt(kTile, p1)),
               m.land(m.le(q0, kTile), m.lt(kTile, q1)));
}

QueryTileCarrier::QueryTileCarrier(OpBuilder &b, Location loc,
                                   const CarrierTilePlan &plan, AttentionOp op,
                                   const TileEnv &env, Value qTile, Value firstRow,
                                   Value lastRow)
    : plan(plan), op(op), env(env) {
  hasMask = !op.getMask().empty();
  IM m{b, loc};
  CarrierAccess &ex = *env.access;
  const int64_t BN = plan.BN;
  i0 = firstRow ? firstRow : m.mul(qTile, plan.BM);
  i1 = lastRow ? lastRow : m.sub(m.min(m.add(i0, plan.BM), env.lq), m.c(1));
  nTot = m.cdiv(env.lk, BN);
  if (plan.grid) {
    // Per axis: the query box's coordinates [a0, a1], the keys they may keep
    // and the key boxes over those; slots run over the product.
    const GridTiles &g = *plan.grid;
    SmallVector<Value, 3> at = g.origin(m, qTile, /*key=*/false);
    slots = m.c(1);
    for (size_t a = 0; a < g.axes.size(); ++a) {
      Value a1 = m.add(at[a], g.qPatch[a] - 1);
      auto [klo, khi] = g.axes[a].keys(m, at[a], a1);
      Value lo = m.fdiv(klo, g.kPatch[a]);
      Value count = m.max(m.sub(m.cdiv(khi, g.kPatch[a]), lo), m.c(0));
      gridA0.push_back(at[a]);
      gridA1.push_back(a1);
      gridKLo.push_back(lo);
      gridKCount.push_back(count);
      slots = m.mul(slots, count);
    }
    return;
  }
  std::tie(p0, p1, q0, q1) =
      familyTileRanges(m, plan, op.getCarrier().getValue(), {plan, env, i0, i1}, &rowState);
  if (hasMask && !plan.blockList) {
    // The mask's bounds over a run of tiles shrink each tile range to the
    // tiles it may keep: interval bounds are inclusion-monotone, so the
    // first and last such tiles are found by bisection (O(log n) bounds per
    // query tile instead of one per key tile in the slot loop).
    std::tie(p0, p1) = narrowToMask(b, loc, p0, p1);
    std::tie(q0, q1) = narrowToMask(b, loc, q0, q1);
  }
  if (plan.tileMask) {
    // rowRep: bit 0 of each bit row r0..r1 the query tile covers.
    attn::BlockListAttr bl = plan.tileMask;
    const int64_t T = attn::BlockListAttr::kMaskTile;
    int64_t cb = T / bl.maskKeysPerBit();
    Type i64 = b.getI64Type();
    Value r0 = m.fdiv(m.rem(i0, T), bl.maskRowsPerBit());
    Value r1 = m.fdiv(m.rem(i1, T), bl.maskRowsPerBit());
    auto loop = scf::ForOp::create(
        b, loc, r0, m.add(r1, m.c(1)), m.c(1),
        ValueRange{arith::ConstantIntOp::create(b, loc, i64, 0).getResult()},
        [&](OpBuilder &nb, Location nl, Value r, ValueRange it) {
          IM im{nb, nl};
          Value sh = arith::IndexCastOp::create(nb, nl, i64, im.mul(r, im.c(cb)));
          Value bit = arith::ShLIOp::create(
              nb, nl, arith::ConstantIntOp::create(nb, nl, i64, 1), sh);
          scf::YieldOp::create(nb, nl, ValueRange{arith::OrIOp::create(nb, nl, it[0], bit)});
        });
    maskRowRep = loop.getResult(0);
  }
  pCount = m.max(m.sub(p1, p0), m.c(0));
  Value qCount = m.max(m.sub(q1, q0), m.c(0));
  if (!plan.blockList) {
    slots = m.add(pCount, qCount);
    return;
  }
  BlockListAttr bl = plan.blockList;
  listRow = m.fdiv(i0, bl.getQBlock());
  Value listEnd;
  if (bl.getCounted()) {
    // Padded rows: the row's entries are indices[.., qb, 0 : counts[qb]].
    listStart = m.c(0);
    listEnd = ex.loadIndex(b, loc, bl.getOffsets(), {env.batch, env.head, listRow});
  } else {
    listStart = ex.loadIndex(b, loc, bl.getOffsets(), {env.batch, env.head, listRow});
    listEnd = ex.loadIndex(b, loc, bl.getOffsets(), {env.batch, env.head, m.add(listRow, 1)});
  }
  slots = m.mul(m.max(m.sub(listEnd, listStart), m.c(0)), plan.kTilesPerBlock);
}

void QueryTileCarrier::forEachItemValue(function_ref<void(Value &)> f) {
  for (Value *v : {&i0, &i1, &nTot, &p0, &p1, &q0, &q1, &pCount, &slots, &listRow, &listStart,
                   &maskRowRep})
    f(*v);
  for (auto *vs : {&gridA0, &gridA1, &gridKLo, &gridKCount})
    for (Value &v : *vs)
      f(v);
  for (auto &vs : rowState)
    for (Value &v : vs)
      f(v);
}

SmallVector<Value> QueryTileCarrier::itemValues() const {
  SmallVector<Value> out;
  const_cast<QueryTileCarrier *>(this)->forEachItemValue([&](Value &v) {
    if (v)
      out.push_back(v);
  });
  return out;
}

void QueryTileCarrier::adoptItemValues(ValueRange vals) {
  size_t n = 0;
  forEachItemValue([&](Value &v) {
    if (!v)
      return;
    assert(n < vals.size() && vals[n].getType() == v.getType() && "itemValues() order");
    v = vals[n++];
  });
  assert(n == vals.size() && "itemValues() count");
}

Value QueryTileCarrier::tileOfSlot(OpBuilder &b, Location loc, Value t) const {
  IM m{b, loc};
  if (plan.grid) {
    // Slot t: key box gridKLo + (t's digits in the counts), last axis fastest.
    const GridTiles &g = *plan.grid;
    Value tile = m.c(0);
    SmallVector<Value, 3> box(g.axes.size());
    for (size_t a = g.axes.size(); a-- > 0;) {
      box[a] = m.add(gridKLo[a], a == 0 ? t : m.rem(t, gridKCount[a]));
      if (a)
        t = m.div(t, gridKCount[a]);
    }
    for (size_t a = 0; a < g.axes.size(); ++a)
      tile = m.add(m.mul(tile, g.boxesAlong(a, /*key=*/true)), box[a]);
    return tile;
  }
  if (!plan.blockList)
    return m.sel(m.lt(t, pCount), m.add(p0, t), m.add(q0, m.sub(t, pCount)));
  int64_t r = plan.kTilesPerBlock;
  Value pos = m.add(listStart, m.fdiv(t, r));
  SmallVector<Value, 4> at = {env.batch, env.head};
  if (plan.blockList.getCounted())
    at.push_back(listRow);
  at.push_back(pos);
  Value blk = env.access->loadIndex(b, loc, plan.blockList.getIndices(), at);
  return r == 1 ? blk : m.add(m.mul(blk, r), m.rem(t, r));
}

/// The mask region bounded over query rows [i0, i1] and the keys of tile
/// `kTile` (clipped to Lk).
static MaskBox maskBoxOfTile(IM &m, AttentionOp op, const CarrierTilePlan &plan,
                             const TileEnv &env, Value i0, Value i1, Value kTile) {
  // A tile that is one class block: its class says all (the interval walk
  // would read the tables' summaries again for what the class already says).
  constexpr int64_t T = AttentionOp::kMaskClassBlock;
  if (op.getMaskClasses() && plan.BM == T && plan.BN == T && !plan.grid)
    return maskClassesOfBlock(m.b, m.loc, op, *env.access, env.batch, env.head, m.fdiv(i0, T), kTile);
  Value j0 = m.mul(kTile, plan.BN);
  Value j1 = m.sub(m.min(m.add(j0, plan.BN), env.lk), m.c(1));
  return boundMaskOverBox(m.b, m.loc, op, *env.access, env.batch, env.head, i0, i1, j0, j1);
}

/// The mask's `may` over key tiles [t0, t1] (t0 <= t1).
static Value mayOverTiles(IM &m, AttentionOp op, const CarrierTilePlan &plan,
                          const TileEnv &env, Value i0, Value i1, Value t0, Value t1) {
  Value j0 = m.mul(t0, plan.BN);
  Value j1 = m.sub(m.min(m.mul(m.add(t1, 1), plan.BN), env.lk), m.c(1));
  return boundMaskOverBox(m.b, m.loc, op, *env.access, env.batch, env.head, i0, i1, j0, j1)
      .may;
}

/// Smallest t in [lo, hi] such that `pred(t)` holds, for a predicate that is
/// false then true over the range (hi when it never holds in [lo, hi)).
static Value bisect(OpBuilder &b, Location loc, Value lo, Value hi,
                    llvm::function_ref<Value(OpBuilder &, Location, Value)> pred) {
  Type it = b.getIndexType();
  auto w = scf::WhileOp::create(
      b, loc, TypeRange{it, it}, ValueRange{lo, hi},
      [&](OpBuilder &bb, Location l, ValueRange a) {
        IM m{bb, l};
        scf::ConditionOp::create(bb, l, m.lt(a[0], a[1]), a);
      },
      [&](OpBuilder &bb, Location l, ValueRange a) {
        IM m{bb, l};
        Value mid = m.fdiv(m.add(a[0], a[1]), 2);
        Value holds = pred(bb, l, mid);
        scf::YieldOp::create(bb, l, ValueRange{m.sel(holds, a[0], m.add(mid, 1)),
                                               m.sel(holds, mid, a[1])});
      });
  return w.getResult(0);
}

std::pair<Value, Value> QueryTileCarrier::narrowToMask(OpBuilder &b, Location loc, Value t0,
                                                       Value t1) const {
  IM m{b, loc};
  // First tile: the first t whose prefix [t0, t] may keep a pair.
  Value first = bisect(b, loc, t0, t1, [&](OpBuilder &bb, Location l, Value t) {
    IM im{bb, l};
    return mayOverTiles(im, op, plan, env, i0, i1, t0, t);
  });
  // End: the first t whose suffix [t, t1 - 1] keeps nothing.
  Value end = bisect(b, loc, first, t1, [&](OpBuilder &bb, Location l, Value t) {
    IM im{bb, l};
    Value may = mayOverTiles(im, op, plan, env, i0, i1, t, im.sub(t1, im.c(1)));
    return arith::XOrIOp::create(bb, l, may, im.t()).getResult();
  });
  return {first, m.max(first, end)};
}

/// The query tile's rows lie in one mask tile (BM divides it): rows
/// [i0 % T, i1 % T] are bit rows r0..r1; key tile kTile's keys (clipped to
/// Lk) are bit columns c0..c1. The sub-mask is colMask(c0..c1) repeated on
/// each bit row: rowRep * colMask (no carries: colMask < 2^CB).
std::pair<Value, Value> QueryTileCarrier::tileMaskBits(OpBuilder &b, Location loc,
                                                       Value kTile) const {
  IM m{b, loc};
  attn::BlockListAttr bl = plan.tileMask;
  const int64_t T = attn::BlockListAttr::kMaskTile, kpb = bl.maskKeysPerBit();
  Type i64 = b.getI64Type();
  auto c64 = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, i64, v).getResult(); };
  auto toI64 = [&](Value v) { return arith::IndexCastOp::create(b, loc, i64, v).getResult(); };
  Value j0 = m.mul(kTile, plan.BN);
  Value j1 = m.sub(m.min(m.add(j0, plan.BN), env.lk), m.c(1));
  Value word = toI64(env.access->loadIndex(b, loc, bl.getTileMask(),
                                           {env.batch, env.head, m.fdiv(i0, T), m.fdiv(j0, T)}));
  Value c0 = m.fdiv(m.rem(j0, T), kpb), c1 = m.fdiv(m.rem(j1, T), kpb);
  Value width = toI64(m.add(m.sub(c1, c0), m.c(1)));
  Value ones = arith::SubIOp::create(b, loc, arith::ShLIOp::create(b, loc, c64(1), width), c64(1));
  Value colMask = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, width, c64(64)), c64(-1),
      ones);
  Value sub = arith::ShLIOp::create(b, loc, arith::MulIOp::create(b, loc, maskRowRep, colMask),
                                    toI64(c0));
  return {arith::AndIOp::create(b, loc, word, sub), sub};
}

Value QueryTileCarrier::slotIsValid(OpBuilder &b, Location loc, Value tile) const {
  IM m{b, loc};
  Value valid;
  if (plan.tileMask) {
    auto [bits, sub] = tileMaskBits(b, loc, tile);
    valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, bits,
                                  arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0));
  }
  if (plan.blockList) {
    Value inP = m.land(m.le(p0, tile), m.lt(tile, p1));
    Value inQ = m.land(m.le(q0, tile), m.lt(tile, q1));
    valid = m.lor(inP, inQ);
  }
  if (hasMask) {
    Value may = maskBoxOfTile(m, op, plan, env, i0, i1, tile).may;
    valid = valid ? m.land(valid, may) : may;
  }
  return valid;
}

Value QueryTileCarrier::isFull(OpBuilder &b, Location loc, Value kTile) const {
  IM m{b, loc};
  if (plan.grid) {
    // A box of the product window is full when it is on every axis.
    const GridTiles &g = *plan.grid;
    SmallVector<Value, 3> k0 = g.origin(m, kTile, /*key=*/true);
    Value full = m.t();
    for (size_t a = 0; a < g.axes.size(); ++a)
      full = m.land(full, g.axes[a].keepsAll(m, gridA0[a], gridA1[a], k0[a],
                                             m.add(k0[a], g.kPatch[a] - 1)));
    return full;
  }
  Value j0 = m.mul(kTile, plan.BN);
  Value j1 = m.sub(m.min(m.add(j0, plan.BN), env.lk), m.c(1));
  Value full = m.t();
  QueryTileRows rows{plan, env, i0, i1};
  for (auto [a, state] : llvm::zip_equal(op.getCarrier(), rowState))
    if (Value term = getCarrierLowering(a).buildTileIsFull(m, rows, j0, j1, state))
      full = m.land(full, term);
  if (hasMask)
    full = m.land(full, maskBoxOfTile(m, op, plan, env, i0, i1, kTile).must);
  if (plan.tileMask) {
    auto [bits, sub] = tileMaskBits(b, loc, kTile);
    full = m.land(full, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, bits, sub));
  }
  return full;
}
