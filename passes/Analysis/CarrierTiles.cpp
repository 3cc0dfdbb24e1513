//===- CarrierTiles.cpp - the carrier at tile granularity -----------------===//
#include "attnc/Analysis/CarrierTiles.h"
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/Dialect/Attn/IndexMath.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {
using IM = attnc::IndexMath;

Value alignOffset(IM &m, Align a, Value lq, Value lk) {
  return a == Align::top_left ? m.c(0) : m.sub(lk, lq);
}

/// Neighborhood window of the outermost axis for coordinate q (dilation 1):
/// the leader of q's stride group, and the clamped non-causal start.
struct NbAxis {
  int64_t n, k, s;
  bool causal;
  Value leader(IM &m, Value q) const {
    Value g = m.mul(m.fdiv(q, s), s);
    return m.min(m.add(g, causal ? s - 1 : (s - 1) / 2), m.c(n - 1));
  }
  Value start(IM &m, Value q) const {
    Value st = m.sub(leader(m, q), m.c(k / 2));
    return m.min(m.max(st, m.c(0)), m.c(std::max<int64_t>(n - k, 0)));
  }
  /// Kept key coordinates of queries with coordinates in [a0, a1]: [lo, hi).
  /// Causal: [leader(q) - k + 1, q] (the predicate of passes/Analysis/Carrier.cpp:
  /// never a future key, as NATTEN; leader(q) >= q).
  std::pair<Value, Value> keys(IM &m, Value a0, Value a1) const {
    if (causal)
      return {m.max(m.sub(leader(m, a0), m.c(k - 1)), m.c(0)), m.add(a1, 1)};
    return {start(m, a0), m.min(m.add(start(m, a1), k), m.c(n))};
  }
};

NbAxis outerAxis(NeighborhoodAttr n) {
  return NbAxis{n.getGrid()[0], n.getWindow()[0], n.getStride()[0], n.getCausal()[0]};
}
int64_t innerSize(NeighborhoodAttr n) {
  int64_t inner = 1;
  for (size_t a = 1; a < n.getGrid().size(); ++a)
    inner *= n.getGrid()[a];
  return inner;
}
} // namespace

FailureOr<CarrierTilePlan> CarrierTilePlan::get(AttentionOp op, int64_t BM, int64_t BN) {
  CarrierTilePlan p;
  p.BM = BM;
  p.BN = BN;
  for (Attribute a : op.getCarrier()) {
    if (isa<CausalAttr>(a)) {
      p.exact.push_back("causal");
    } else if (auto w = dyn_cast<WindowAttr>(a)) {
      if (w.getSinks() > 0 && !p.sinkWindow) {
        p.sinkWindow = w;
        p.exact.push_back("window+sinks");
      } else if (w.getSinks() > 0) {
        p.bounding.push_back("window+sinks (second window with sinks: sinks..band hull)");
      } else {
        p.exact.push_back("window");
      }
    } else if (isa<PrefixAttr>(a)) {
      p.exact.push_back("prefix");
    } else if (isa<DocumentAttr>(a)) {
      p.exact.push_back("document");
    } else if (auto n = dyn_cast<NeighborhoodAttr>(a)) {
      if (n.getDilation()[0] != 1)
        p.bounding.push_back("neighborhood (dilated outer axis: every tile, partial)");
      else if (n.getGrid().size() > 1)
        p.bounding.push_back("neighborhood (outer-axis range, tiles partial)");
      else
        p.exact.push_back("neighborhood-1d");
    } else if (auto bl = dyn_cast<BlockListAttr>(a)) {
      if (p.blockList)
        return op.emitOpError("GPU kernel: at most one block_list carrier"), failure();
      if (bl.getQBlock() % BM != 0 || bl.getKBlock() % BN != 0)
        return op.emitOpError()
                   << "GPU kernel: block_list(q_block = " << bl.getQBlock()
                   << ", k_block = " << bl.getKBlock()
                   << ") needs BLOCK_M = " << BM << " to divide q_block and BLOCK_N = "
                   << BN << " to divide k_block (try block-n=64, or blocks that are "
                   << "multiples of " << BM << " x " << BN << ")",
               failure();
      p.blockList = bl;
      p.kTilesPerBlock = bl.getKBlock() / BN;
      p.exact.push_back("block_list");
    } else {
      return op.emitOpError() << "GPU kernel: carrier " << a << " not supported",
             failure();
    }
  }
  if (!op.getMask().empty())
    p.bounding.push_back("mask region (tiles bounded by interval evaluation)");
  return p;
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
  // Key (not tile) bounds first, so that intersections and the clipping to
  // [0, Lk) are exact; tiles at the end.
  Value lo = m.c(0), hi = env.lk;
  Value bandLo, bandHi;
  for (Attribute a : op.getCarrier()) {
    if (auto c = dyn_cast<CausalAttr>(a)) {
      Value off = alignOffset(m, c.getAlign(), env.lq, env.lk);
      hi = m.min(hi, m.add(m.add(i1, off), 1));
    } else if (auto w = dyn_cast<WindowAttr>(a)) {
      Value off = alignOffset(m, w.getAlign(), env.lq, env.lk);
      Value wlo = m.sub(m.add(i0, off), m.c(w.getLeft()));
      Value whi = w.getRight() < 0 ? env.lk
                                   : m.add(m.add(i1, off), w.getRight() + 1);
      if (w == plan.sinkWindow) {
        bandLo = wlo;
        bandHi = whi;
      } else if (w.getSinks() > 0) {
        hi = m.min(hi, m.max(whi, m.c(w.getSinks())));
      } else {
        lo = m.max(lo, wlo);
        hi = m.min(hi, whi);
      }
    } else if (auto p = dyn_cast<PrefixAttr>(a)) {
      hi = m.min(hi, m.max(m.c(p.getLength()), m.add(i1, 1)));
    } else if (auto d = dyn_cast<DocumentAttr>(a)) {
      unsigned n = d.getSeqlens();
      auto [s0, e0] = ex.documentSpan(b, loc, n, i0);
      auto [s1, e1] = ex.documentSpan(b, loc, n, i1);
      docs.push_back({s0, e0, s1, e1});
      Value total = ex.loadIndex(b, loc, n, {m.sub(ex.dim(b, loc, n, 0), m.c(1))});
      Value valid0 = m.lt(s0, e0);
      Value endKey = m.sel(m.lt(s1, e1), e1, total);
      lo = m.max(lo, s0);
      hi = m.min(hi, m.sel(valid0, endKey, m.c(0)));
    } else if (auto nb = dyn_cast<NeighborhoodAttr>(a)) {
      if (nb.getDilation()[0] != 1)
        continue;
      int64_t inner = innerSize(nb);
      NbAxis ax = outerAxis(nb);
      auto [klo, khi] = ax.keys(m, m.fdiv(i0, inner), m.fdiv(i1, inner));
      lo = m.max(lo, m.mul(klo, inner));
      hi = m.min(hi, m.mul(khi, inner));
    }
  }
  // Keys [kl, kh) -> tiles [floor(kl / BN), ceil(kh / BN)), [x, x) if empty.
  auto tiles = [&](Value kl, Value kh, Value emptyAt) -> std::pair<Value, Value> {
    Value ne = m.lt(kl, kh);
    Value tl = m.sel(ne, m.fdiv(kl, BN), emptyAt);
    Value th = m.sel(ne, m.cdiv(kh, BN), emptyAt);
    return {tl, th};
  };
  if (plan.sinkWindow) {
    // Sinks A = [lo, min(hi, S)), band B = [max(lo, bandLo), min(hi,
    // bandHi)) in keys; as tiles A.lo <= B.lo, so A u B = [A.lo, min(A.hi,
    // B.lo)) u [B.lo, max(A.hi, B.hi)): ascending and disjoint.
    auto [aLo, aHi] = tiles(lo, m.min(hi, m.c(plan.sinkWindow.getSinks())), m.c(0));
    auto [bLo, bHi] = tiles(m.max(lo, bandLo), m.min(hi, bandHi), aHi);
    p0 = aLo;
    p1 = m.min(aHi, bLo);
    q0 = bLo;
    q1 = m.max(aHi, bHi);
  } else {
    auto [tl, th] = tiles(lo, hi, m.c(0));
    p0 = tl;
    p1 = tl;
    q0 = tl;
    q1 = th;
  }
  if (hasMask && !plan.blockList) {
    // The mask's bounds over a run of tiles shrink each tile range to the
    // tiles it may keep: interval bounds are inclusion-monotone, so the
    // first and last such tiles are found by bisection (O(log n) bounds per
    // query tile instead of one per key tile in the slot loop).
    std::tie(p0, p1) = narrowToMask(b, loc, p0, p1);
    std::tie(q0, q1) = narrowToMask(b, loc, q0, q1);
  }
  pCount = m.max(m.sub(p1, p0), m.c(0));
  Value qCount = m.max(m.sub(q1, q0), m.c(0));
  if (!plan.blockList) {
    slots = m.add(pCount, qCount);
    return;
  }
  BlockListAttr bl = plan.blockList;
  Value qb = m.fdiv(i0, bl.getQBlock());
  listStart = ex.loadIndex(b, loc, bl.getOffsets(), {env.batch, env.head, qb});
  Value listEnd = ex.loadIndex(b, loc, bl.getOffsets(), {env.batch, env.head, m.add(qb, 1)});
  slots = m.mul(m.max(m.sub(listEnd, listStart), m.c(0)), plan.kTilesPerBlock);
}

Value QueryTileCarrier::tileOfSlot(OpBuilder &b, Location loc, Value t) const {
  IM m{b, loc};
  if (!plan.blockList)
    return m.sel(m.lt(t, pCount), m.add(p0, t), m.add(q0, m.sub(t, pCount)));
  int64_t r = plan.kTilesPerBlock;
  Value pos = m.add(listStart, m.fdiv(t, r));
  Value blk = env.access->loadIndex(b, loc, plan.blockList.getIndices(),
                                    {env.batch, env.head, pos});
  return r == 1 ? blk : m.add(m.mul(blk, r), m.rem(t, r));
}

/// The mask region bounded over query rows [i0, i1] and the keys of tile
/// `kTile` (clipped to Lk).
static MaskBox maskBoxOfTile(IM &m, AttentionOp op, const CarrierTilePlan &plan,
                             const TileEnv &env, Value i0, Value i1, Value kTile) {
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

Value QueryTileCarrier::slotIsValid(OpBuilder &b, Location loc, Value tile) const {
  IM m{b, loc};
  Value valid;
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
  Value j0 = m.mul(kTile, plan.BN);
  Value j1 = m.sub(m.min(m.add(j0, plan.BN), env.lk), m.c(1));
  Value full = m.t();
  unsigned docIdx = 0;
  for (Attribute a : op.getCarrier()) {
    Value term;
    if (auto c = dyn_cast<CausalAttr>(a)) {
      term = m.le(j1, m.add(i0, alignOffset(m, c.getAlign(), env.lq, env.lk)));
    } else if (auto w = dyn_cast<WindowAttr>(a)) {
      Value off = alignOffset(m, w.getAlign(), env.lq, env.lk);
      // Columns below `sinks` are kept for every row; the band must keep
      // the others, [max(j0, sinks), j1], for every row.
      Value jb = w.getSinks() > 0 ? m.max(j0, m.c(w.getSinks())) : j0;
      Value band = m.le(m.sub(m.add(i1, off), m.c(w.getLeft())), jb);
      if (w.getRight() >= 0)
        band = m.land(band, m.le(j1, m.add(m.add(i0, off), w.getRight())));
      term = w.getSinks() > 0 ? m.lor(band, m.lt(j1, m.c(w.getSinks()))) : band;
    } else if (auto p = dyn_cast<PrefixAttr>(a)) {
      term = m.lor(m.lt(j1, m.c(p.getLength())), m.le(j1, i0));
    } else if (isa<DocumentAttr>(a)) {
      const DocRows &d = docs[docIdx++];
      term = m.land(m.land(m.lt(d.start0, d.end0), m.eq(d.start0, d.start1)),
                    m.land(m.le(d.start0, j0), m.lt(j1, d.end0)));
    } else if (auto nb = dyn_cast<NeighborhoodAttr>(a)) {
      if (nb.getGrid().size() != 1 || nb.getDilation()[0] != 1) {
        term = m.f();
      } else {
        NbAxis ax = outerAxis(nb);
        if (ax.causal)
          term = m.land(m.le(m.sub(ax.leader(m, i1), m.c(ax.k - 1)), j0),
                        m.le(j1, i0));
        else
          term = m.land(m.le(ax.start(m, i1), j0),
                        m.lt(j1, m.add(ax.start(m, i0), ax.k)));
      }
    } else if (isa<BlockListAttr>(a)) {
      continue; // list mode visits listed tiles only: kept by construction
    }
    if (term)
      full = m.land(full, term);
  }
  if (hasMask)
    full = m.land(full, maskBoxOfTile(m, op, plan, env, i0, i1, kTile).must);
  return full;
}
