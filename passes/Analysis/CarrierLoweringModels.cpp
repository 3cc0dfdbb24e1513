//===- CarrierLoweringModels.cpp - each carrier family as IR -------------===//
//
// One CarrierLoweringAttrInterface model per attn carrier family: its term
// of the element predicate and its behaviour at tile granularity, side by
// side, so that a family's formulas can be checked against each other (the
// brute-force test test/lit/gpu/carrier-tiles-exec.mlir does it at run time).
//
//===----------------------------------------------------------------------===//
#include "attnc/Analysis/CarrierLowering.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

#include "attnc/Analysis/CarrierLowering.cpp.inc"

namespace {
using IM = attnc::IndexMath;

/// Shorthand for a model of family `Attr`.
template <typename Model, typename Attr>
using LoweringModel = CarrierLoweringAttrInterface::ExternalModel<Model, Attr>;

/// Query position aligned to the key axis: bottom-right alignment puts the
/// last query on the last key.
Value alignedQuery(IM &m, Align align, Value i, Value lq, Value lk) {
  if (align == Align::top_left)
    return i;
  return m.add(i, m.sub(lk, lq));
}

/// The same alignment as an offset added to query rows.
Value alignOffset(IM &m, Align a, Value lq, Value lk) {
  return a == Align::top_left ? m.c(0) : m.sub(lk, lq);
}

//===----------------------------------------------------------------------===//
// causal: j <= i (aligned)
//===----------------------------------------------------------------------===//

struct CausalLowering : LoweringModel<CausalLowering, CausalAttr> {
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &, Value, Value, Value i,
                  Value j, Value lq, Value lk) const {
    return m.le(j, alignedQuery(m, cast<CausalAttr>(attr).getAlign(), i, lq, lk));
  }
  LogicalResult planTiles(Attribute attr, AttentionOp, CarrierTilePlan &plan) const {
    plan.exact.push_back("causal");
    if (!plan.causalAlign)
      plan.causalAlign = cast<CausalAttr>(attr).getAlign();
    return success();
  }
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &) const {
    Value off = alignOffset(m, cast<CausalAttr>(attr).getAlign(), tile.env.lq, tile.env.lk);
    keys.hi = m.min(keys.hi, m.add(m.add(tile.i1, off), 1));
  }
  Value buildTileIsFull(Attribute attr, IM &m, const QueryTileRows &tile, Value,
                        Value j1, ArrayRef<Value>) const {
    return m.le(j1, m.add(tile.i0, alignOffset(m, cast<CausalAttr>(attr).getAlign(),
                                               tile.env.lq, tile.env.lk)));
  }
};

//===----------------------------------------------------------------------===//
// window: i' - left <= j <= i' + right, or j < sinks
//===----------------------------------------------------------------------===//

struct WindowLowering : LoweringModel<WindowLowering, WindowAttr> {
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &, Value, Value, Value i,
                  Value j, Value lq, Value lk) const {
    auto w = cast<WindowAttr>(attr);
    Value qi = alignedQuery(m, w.getAlign(), i, lq, lk);
    Value inWindow = m.le(m.sub(qi, m.c(w.getLeft())), j);
    if (w.getRight() >= 0)
      inWindow = m.land(inWindow, m.le(j, m.add(qi, m.c(w.getRight()))));
    return w.getSinks() > 0 ? m.lor(inWindow, m.lt(j, m.c(w.getSinks()))) : inWindow;
  }
  /// The first window with sinks gets two tile ranges (sinks, then band), so
  /// the tiles in the gap are never visited; a second one is bounded by the
  /// hull sinks..band.
  LogicalResult planTiles(Attribute attr, AttentionOp, CarrierTilePlan &plan) const {
    auto w = cast<WindowAttr>(attr);
    if (w.getSinks() > 0 && !plan.sinkWindow) {
      plan.sinkWindow = w;
      plan.exact.push_back("window+sinks");
    } else if (w.getSinks() > 0) {
      plan.bounding.push_back("window+sinks (second window with sinks: sinks..band hull)");
    } else {
      plan.exact.push_back("window");
    }
    return success();
  }
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &) const {
    auto w = cast<WindowAttr>(attr);
    const TileEnv &env = tile.env;
    Value off = alignOffset(m, w.getAlign(), env.lq, env.lk);
    Value wlo = m.sub(m.add(tile.i0, off), m.c(w.getLeft()));
    Value whi = w.getRight() < 0 ? env.lk : m.add(m.add(tile.i1, off), w.getRight() + 1);
    if (w == tile.plan.sinkWindow) {
      keys.bandLo = wlo;
      keys.bandHi = whi;
    } else if (w.getSinks() > 0) {
      keys.hi = m.min(keys.hi, m.max(whi, m.c(w.getSinks())));
    } else {
      keys.lo = m.max(keys.lo, wlo);
      keys.hi = m.min(keys.hi, whi);
    }
  }
  Value buildTileIsFull(Attribute attr, IM &m, const QueryTileRows &tile, Value j0,
                        Value j1, ArrayRef<Value>) const {
    auto w = cast<WindowAttr>(attr);
    Value off = alignOffset(m, w.getAlign(), tile.env.lq, tile.env.lk);
    // Columns below `sinks` are kept for every row; the band must keep
    // the others, [max(j0, sinks), j1], for every row.
    Value jb = w.getSinks() > 0 ? m.max(j0, m.c(w.getSinks())) : j0;
    Value band = m.le(m.sub(m.add(tile.i1, off), m.c(w.getLeft())), jb);
    if (w.getRight() >= 0)
      band = m.land(band, m.le(j1, m.add(m.add(tile.i0, off), w.getRight())));
    return w.getSinks() > 0 ? m.lor(band, m.lt(j1, m.c(w.getSinks()))) : band;
  }
};

//===----------------------------------------------------------------------===//
// document: i and j in one packed document
//===----------------------------------------------------------------------===//

struct DocumentLowering : LoweringModel<DocumentLowering, DocumentAttr> {
  void prepareRows(Attribute attr, OpBuilder &b, CarrierAccess &access, ValueRange rows) const {
    for (Value row : rows)
      access.prepareDocumentSpan(b, cast<DocumentAttr>(attr).getSeqlens(), row);
  }
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &access, Value, Value, Value i,
                  Value j, Value, Value) const {
    // doc(i) == doc(j) != none, i.e. j lies in the (non-empty) packed
    // document span [cu[doc(i)], cu[doc(i) + 1]) of i.
    auto [start, end] =
        access.documentSpan(m.b, m.loc, cast<DocumentAttr>(attr).getSeqlens(), i);
    return m.land(m.le(start, j), m.lt(j, end));
  }
  LogicalResult planTiles(Attribute, AttentionOp, CarrierTilePlan &plan) const {
    plan.exact.push_back("document");
    return success();
  }
  /// rowState: the spans of the first and the last row, {start0, end0,
  /// start1, end1}.
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &rowState) const {
    CarrierAccess &ex = *tile.env.access;
    OpBuilder &b = m.b;
    Location loc = m.loc;
    unsigned n = cast<DocumentAttr>(attr).getSeqlens();
    auto [s0, e0] = ex.documentSpan(b, loc, n, tile.i0);
    auto [s1, e1] = ex.documentSpan(b, loc, n, tile.i1);
    rowState.append({s0, e0, s1, e1});
    ex.noteTileDocument(n, s0, e0, s1, e1);
    Value total = ex.loadIndex(b, loc, n, {m.sub(ex.dim(b, loc, n, 0), m.c(1))});
    Value valid0 = m.lt(s0, e0);
    Value endKey = m.sel(m.lt(s1, e1), e1, total);
    keys.lo = m.max(keys.lo, s0);
    keys.hi = m.min(keys.hi, m.sel(valid0, endKey, m.c(0)));
  }
  /// Full when the first and the last row share one document holding the
  /// whole key tile.
  Value buildTileIsFull(Attribute, IM &m, const QueryTileRows &, Value j0, Value j1,
                        ArrayRef<Value> rowState) const {
    Value start0 = rowState[0], end0 = rowState[1], start1 = rowState[2];
    return m.land(m.land(m.lt(start0, end0), m.eq(start0, start1)),
                  m.land(m.le(start0, j0), m.lt(j1, end0)));
  }
};

//===----------------------------------------------------------------------===//
// lengths: j < Lk_b = clamp(kv[b], 0, Lk)
//===----------------------------------------------------------------------===//

struct LengthsLowering : LoweringModel<LengthsLowering, LengthsAttr> {
  static Value keyLength(Attribute attr, IM &m, CarrierAccess &access, Value batch, Value lk) {
    Value kv = access.loadIndex(m.b, m.loc, cast<LengthsAttr>(attr).getKv(), {batch});
    return m.min(lk, m.max(kv, m.c(0)));
  }
  Value narrowKeyLength(Attribute attr, IM &m, CarrierAccess &access, Value batch,
                        Value lk) const {
    return keyLength(attr, m, access, batch, lk);
  }
  /// `lk` is already narrowed (buildKeepPredicate applies narrowKeyLength).
  Value buildKeep(Attribute, IM &m, CarrierAccess &, Value, Value, Value, Value j, Value,
                  Value lk) const {
    return m.lt(j, lk);
  }
  LogicalResult planTiles(Attribute, AttentionOp, CarrierTilePlan &plan) const {
    plan.exact.push_back("lengths");
    return success();
  }
  /// rowState: {Lk_b}. Read from the table here as well, so that the range
  /// holds whether or not the caller's env.lk was narrowed.
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &rowState) const {
    Value len = keyLength(attr, m, *tile.env.access, tile.env.batch, tile.env.lk);
    rowState.push_back(len);
    keys.hi = m.min(keys.hi, len);
  }
  Value buildTileIsFull(Attribute, IM &m, const QueryTileRows &, Value, Value j1,
                        ArrayRef<Value> rowState) const {
    return m.lt(j1, rowState[0]);
  }
};

//===----------------------------------------------------------------------===//
// prefix: j < length or j <= i
//===----------------------------------------------------------------------===//

struct PrefixLowering : LoweringModel<PrefixLowering, PrefixAttr> {
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &, Value, Value, Value i,
                  Value j, Value, Value) const {
    return m.lor(m.lt(j, m.c(cast<PrefixAttr>(attr).getLength())), m.le(j, i));
  }
  LogicalResult planTiles(Attribute, AttentionOp, CarrierTilePlan &plan) const {
    plan.exact.push_back("prefix");
    return success();
  }
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &) const {
    keys.hi = m.min(keys.hi,
                    m.max(m.c(cast<PrefixAttr>(attr).getLength()), m.add(tile.i1, 1)));
  }
  Value buildTileIsFull(Attribute attr, IM &m, const QueryTileRows &tile, Value,
                        Value j1, ArrayRef<Value>) const {
    return m.lor(m.lt(j1, m.c(cast<PrefixAttr>(attr).getLength())), m.le(j1, tile.i0));
  }
};

//===----------------------------------------------------------------------===//
// neighborhood: NATTEN / GNA windows on a row-major grid
//===----------------------------------------------------------------------===//

/// One neighborhood axis of the element predicate (docs/semantics.md):
/// dilation groups, stride leaders, border-clamped or causal windows.
} // namespace

Value attnc::neighborhoodAxis(IM &m, Value qi, Value kj, int64_t n, int64_t k, int64_t d,
                              int64_t s, bool causal) {
  Value cd = m.c(d), cs = m.c(s), ck = m.c(k);
  Value qg = m.rem(qi, cd);
  Value sameGroup = m.eq(qg, m.rem(kj, cd));
  Value qq = m.div(qi, cd), kk = m.div(kj, cd);
  Value len = m.div(m.sub(m.add(m.c(n), cd), m.add(qg, m.c(1))), cd);
  Value last = m.sub(len, m.c(1));
  Value groupStart = m.mul(m.div(qq, cs), cs);
  // GNA: a stride group shares the window of its leader (the centre query,
  // or the last one when causal); a causal query still sees no later key.
  Value leader = m.min(m.add(groupStart, m.c(causal ? s - 1 : s / 2)), last);
  Value keep;
  if (causal) {
    keep = m.land(m.le(m.sub(leader, m.c(k - 1)), kk), m.le(kk, qq));
  } else {
    Value start = m.sub(leader, m.c(k / 2));
    start = m.min(m.max(start, m.c(0)), m.max(m.sub(len, ck), m.c(0)));
    keep = m.land(m.le(start, kk), m.lt(kk, m.add(start, ck)));
  }
  return m.land(sameGroup, keep);
}

namespace {

GridAxis axisOf(NeighborhoodAttr n, size_t a) {
  return GridAxis{n.getGrid()[a], n.getWindow()[a], n.getStride()[a], n.getCausal()[a]};
}
int64_t innerSize(NeighborhoodAttr n) {
  int64_t inner = 1;
  for (size_t a = 1; a < n.getGrid().size(); ++a)
    inner *= n.getGrid()[a];
  return inner;
}

/// Tiles follow the outermost axis only: exact in 1-D without dilation, a
/// bounding range with inner axes (tiles always partial), and no range at
/// all with a dilated outer axis.
struct NeighborhoodLowering : LoweringModel<NeighborhoodLowering, NeighborhoodAttr> {
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &, Value, Value, Value i,
                  Value j, Value, Value) const {
    auto n = cast<NeighborhoodAttr>(attr);
    // Row-major coordinates, last axis fastest.
    Value qi = i, kj = j;
    Value term = m.t();
    for (int64_t ax = (int64_t)n.getGrid().size() - 1; ax >= 0; --ax) {
      Value g = m.c(n.getGrid()[ax]);
      Value qc = m.rem(qi, g), kc = m.rem(kj, g);
      qi = m.div(qi, g);
      kj = m.div(kj, g);
      term = m.land(term, neighborhoodAxis(m, qc, kc, n.getGrid()[ax], n.getWindow()[ax],
                                           n.getDilation()[ax], n.getStride()[ax],
                                           n.getCausal()[ax]));
    }
    return term;
  }
  LogicalResult planTiles(Attribute attr, AttentionOp, CarrierTilePlan &plan) const {
    auto n = cast<NeighborhoodAttr>(attr);
    if (n.getDilation()[0] != 1)
      plan.bounding.push_back("neighborhood (dilated outer axis: every tile, partial)");
    else if (n.getGrid().size() > 1)
      plan.bounding.push_back("neighborhood (outer-axis range, tiles partial)");
    else
      plan.exact.push_back("neighborhood-1d");
    return success();
  }
  void boundTileKeys(Attribute attr, IM &m, const QueryTileRows &tile, TileKeyRange &keys,
                     SmallVectorImpl<Value> &) const {
    auto nb = cast<NeighborhoodAttr>(attr);
    if (nb.getDilation()[0] != 1)
      return;
    int64_t inner = innerSize(nb);
    GridAxis ax = axisOf(nb, 0);
    auto [klo, khi] = ax.keys(m, m.fdiv(tile.i0, inner), m.fdiv(tile.i1, inner));
    keys.lo = m.max(keys.lo, m.mul(klo, inner));
    keys.hi = m.min(keys.hi, m.mul(khi, inner));
  }
  Value buildTileIsFull(Attribute attr, IM &m, const QueryTileRows &tile, Value j0,
                        Value j1, ArrayRef<Value>) const {
    auto nb = cast<NeighborhoodAttr>(attr);
    if (nb.getGrid().size() != 1 || nb.getDilation()[0] != 1)
      return m.f();
    return axisOf(nb, 0).keepsAll(m, tile.i0, tile.i1, j0, j1);
  }
  /// An axis of length n with dilation d dividing n is two grid axes: x =
  /// c * d + g, the window on c (every dilation group has n / d positions)
  /// and a window of one on g (a key in the query's group only). A
  /// dilation that does not divide its axis gives groups of two lengths:
  /// no grid.
  SmallVector<GridAxis, 3> gridAxes(Attribute attr) const {
    auto nb = cast<NeighborhoodAttr>(attr);
    SmallVector<GridAxis, 3> axes;
    for (size_t a = 0; a < nb.getGrid().size(); ++a) {
      GridAxis ax = axisOf(nb, a);
      int64_t d = nb.getDilation()[a];
      if (d == 1) {
        axes.push_back(ax);
        continue;
      }
      if (ax.n % d != 0)
        return {};
      ax.n /= d;
      axes.push_back(ax);
      axes.push_back(GridAxis{d, 1, 1, false});
    }
    return axes;
  }
};

//===----------------------------------------------------------------------===//
// block_list: (query block, key block) pairs in CSR extras
//===----------------------------------------------------------------------===//

/// On the GPU the block list is the schedule itself (list mode: the query
/// block's CSR row, CarrierTiles.h), so it bounds no key range and every
/// tile it visits is kept by construction.
struct BlockListLowering : LoweringModel<BlockListLowering, BlockListAttr> {
  Value buildKeep(Attribute attr, IM &m, CarrierAccess &ex, Value batch, Value head,
                  Value i, Value j, Value, Value) const {
    auto bl = cast<BlockListAttr>(attr);
    OpBuilder &b = m.b;
    Location loc = m.loc;
    if (bl.getTileMask() >= 0)
      return ex.tileMaskBit(b, loc, bl, batch, head, i, j);
    unsigned offsets = bl.getOffsets(), indices = bl.getIndices();
    Value qb = m.div(i, m.c(bl.getQBlock()));
    Value kb = m.div(j, m.c(bl.getKBlock()));
    bool counted = bl.getCounted();
    Value start = counted ? m.c(0) : ex.loadIndex(b, loc, offsets, {batch, head, qb});
    Value end = counted ? ex.loadIndex(b, loc, offsets, {batch, head, qb})
                        : ex.loadIndex(b, loc, offsets, {batch, head, m.add(qb, m.c(1))});
    auto loop = scf::ForOp::create(
        b, loc, start, end, m.c(1), ValueRange{m.f()},
        [&](OpBuilder &nb, Location nl, Value p, ValueRange iter) {
          IM im{nb, nl};
          SmallVector<Value, 4> at = {batch, head};
          if (counted)
            at.push_back(qb);
          at.push_back(p);
          Value hit = im.eq(ex.loadIndex(nb, nl, indices, at), kb);
          scf::YieldOp::create(nb, nl, ValueRange{im.lor(iter[0], hit)});
        });
    return loop.getResult(0);
  }
  LogicalResult planTiles(Attribute attr, AttentionOp op, CarrierTilePlan &plan) const {
    auto bl = cast<BlockListAttr>(attr);
    int64_t BM = plan.BM, BN = plan.BN;
    if (plan.blockList || plan.tileMask)
      return op.emitOpError("GPU kernel: at most one block_list carrier"), failure();
    if (bl.getTileMask() >= 0) {
      // Blocks smaller than the tile: every tile is visited unless its bits
      // are all clear (QueryTileCarrier reads the mask per slot).
      if (BlockListAttr::kMaskTile % BM != 0 || BlockListAttr::kMaskTile % BN != 0)
        return op.emitOpError() << "GPU kernel: a block_list tile_mask needs tiles that divide "
                                << BlockListAttr::kMaskTile << ", got " << BM << " x " << BN,
               failure();
      plan.tileMask = bl;
      plan.exact.push_back("block_list");
      return success();
    }
    if (bl.getQBlock() % BM != 0 || bl.getKBlock() % BN != 0)
      return op.emitOpError()
                 << "GPU kernel: block_list(q_block = " << bl.getQBlock()
                 << ", k_block = " << bl.getKBlock() << ") needs BLOCK_M = " << BM
                 << " to divide q_block and BLOCK_N = " << BN
                 << " to divide k_block (try block-n=64, or blocks that are "
                 << "multiples of " << BM << " x " << BN << ")",
             failure();
    plan.blockList = bl;
    plan.kTilesPerBlock = bl.getKBlock() / BN;
    plan.exact.push_back("block_list");
    return success();
  }
  void boundTileKeys(Attribute, IM &, const QueryTileRows &, TileKeyRange &,
                     SmallVectorImpl<Value> &) const {}
  Value buildTileIsFull(Attribute, IM &, const QueryTileRows &, Value, Value,
                        ArrayRef<Value>) const {
    return {};
  }
};

//===----------------------------------------------------------------------===//
// block_select: expanded before any lowering
//===----------------------------------------------------------------------===//

/// attn-expand-block-select replaces the family by an estimation stage and a
/// counted block_list; the passes that lower carriers refuse an attention
/// that still has one, so these hooks are never reached with it.
struct BlockSelectLowering : LoweringModel<BlockSelectLowering, BlockSelectAttr> {
  Value buildKeep(Attribute, IM &, CarrierAccess &, Value, Value, Value, Value, Value,
                  Value) const {
    llvm::report_fatal_error("block_select reached a lowering; attn-expand-block-select "
                             "must run first");
  }
  LogicalResult planTiles(Attribute, AttentionOp op, CarrierTilePlan &) const {
    if (op)
      op.emitOpError("block_select must be expanded (attn-expand-block-select) before the "
                     "GPU kernel is planned");
    return failure();
  }
  void boundTileKeys(Attribute, IM &, const QueryTileRows &, TileKeyRange &,
                     SmallVectorImpl<Value> &) const {}
  Value buildTileIsFull(Attribute, IM &, const QueryTileRows &, Value, Value,
                        ArrayRef<Value>) const {
    return {};
  }
};

} // namespace

void attnc::registerCarrierLoweringExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, AttnDialect *) {
    CausalAttr::attachInterface<CausalLowering>(*ctx);
    WindowAttr::attachInterface<WindowLowering>(*ctx);
    DocumentAttr::attachInterface<DocumentLowering>(*ctx);
    PrefixAttr::attachInterface<PrefixLowering>(*ctx);
    LengthsAttr::attachInterface<LengthsLowering>(*ctx);
    NeighborhoodAttr::attachInterface<NeighborhoodLowering>(*ctx);
    BlockListAttr::attachInterface<BlockListLowering>(*ctx);
    BlockSelectAttr::attachInterface<BlockSelectLowering>(*ctx);
  });
}

CarrierLoweringAttrInterface attnc::getCarrierLowering(Attribute family) {
  auto lowering = dyn_cast<CarrierLoweringAttrInterface>(family);
  if (!lowering) {
    std::string name;
    llvm::raw_string_ostream(name) << family;
    llvm::report_fatal_error(llvm::Twine("carrier family ") + name +
                             " has no CarrierLoweringAttrInterface model (see "
                             "registerCarrierLoweringExternalModels)");
  }
  return lowering;
}
