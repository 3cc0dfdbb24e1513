//===- CarrierTiles.h - the carrier at tile granularity ----------*- C++ -*-===//
//
// For a query tile [i0, i0 + BM) and key tiles [j0, j0 + BN), which key tiles
// a kernel must visit and which of those need the element mask, as IR that
// the kernel evaluates at run time (lengths, cu_seqlens and block lists are
// run-time values). Every family contributes a key-tile range; the ranges are
// intersected (lo = max, hi = min). A window with sinks contributes two
// ranges (the sink tiles, then the band), so tiles in the gap are never
// visited. A block list turns the schedule into the query block's CSR row
// (each listed block expanded to k_block / BN tiles), filtered by the other
// families' ranges. A visited tile is "full" when every (i, j) in it (rows
// clipped to Lq, columns to Lk) is kept by every family; the mask region is
// never full. Bounds (j >= Lk) are not part of the classification: the
// kernel masks a tile crossing Lk in any case.
//
// Exact (every visited tile is non-empty, every all-kept tile is full):
// causal, window (with or without sinks), prefix, document, block_list, and
// 1-D neighborhoods with dilation 1. Bounding: neighborhoods of 2-3 axes
// (the range of the outermost axis; tiles always partial), dilated
// neighborhoods (all tiles, partial), the mask region (partial), and
// intersections of several families (each family's range is exact, their
// intersection may contain tiles that are empty for the conjunction).
//
// Each family's part (its plan entry, key range and fullness test) is its
// CarrierLoweringAttrInterface model (CarrierLowering.h); this file combines
// them into the schedule.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_GPU_CARRIERTILES_H
#define ATTNC_PASSES_GPU_CARRIERTILES_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Dialect/Attn/IndexMath.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace attnc {

/// IndexMath's subset that GridAxis uses, on compile-time integers: the
/// planner evaluates the same formulas the kernel emits.
struct IntIndexMath {
  using Value = int64_t;
  int64_t c(int64_t v) const { return v; }
  int64_t add(int64_t x, int64_t y) const { return x + y; }
  int64_t sub(int64_t x, int64_t y) const { return x - y; }
  int64_t mul(int64_t x, int64_t y) const { return x * y; }
  int64_t fdiv(int64_t x, int64_t y) const { return x >= 0 ? x / y : -((-x + y - 1) / y); }
  int64_t min(int64_t x, int64_t y) const { return x < y ? x : y; }
  int64_t max(int64_t x, int64_t y) const { return x > y ? x : y; }
};

/// One axis of a grid whose tokens a carrier family relates by a window (a
/// neighborhood axis without dilation, or one dilation group's positions of a
/// dilated axis, docs/semantics.md): length n, window k,
/// stride s, causal along the axis. M is IndexMath (IR) or IntIndexMath.
struct GridAxis {
  int64_t n = 1, k = 1, s = 1;
  bool causal = false;
  /// The query whose window coordinate q shares (its stride group's leader).
  template <typename M>
  typename M::Value leader(M &m, typename M::Value q) const {
    auto g = m.mul(m.fdiv(q, s), s);
    return m.min(m.add(g, m.c(causal ? s - 1 : s / 2)), m.c(n - 1));
  }
  /// The first key of the border-clamped non-causal window of q.
  template <typename M>
  typename M::Value start(M &m, typename M::Value q) const {
    auto st = m.sub(leader(m, q), m.c(k / 2));
    return m.min(m.max(st, m.c(0)), m.c(std::max<int64_t>(n - k, 0)));
  }
  /// Kept key coordinates of queries with coordinates in [a0, a1]: [lo, hi).
  /// Causal: [leader(q) - k + 1, q] (never a future key, as NATTEN;
  /// leader(q) >= q). The leader and the clamped start are monotone in q, so
  /// the union over [a0, a1] is spanned by its ends; a1 may lie past the
  /// axis (a box reaching past the grid), as the clamps make it n - 1.
  template <typename M>
  std::pair<typename M::Value, typename M::Value> keys(M &m, typename M::Value a0,
                                                       typename M::Value a1) const {
    if (causal)
      return {m.max(m.sub(leader(m, a0), m.c(k - 1)), m.c(0)), m.min(m.add(a1, m.c(1)), m.c(n))};
    return {start(m, a0), m.min(m.add(start(m, a1), m.c(k)), m.c(n))};
  }
  /// The keys [lo, hi] (inclusive) that query coordinate q keeps: the
  /// family's predicate on this axis (neighborhoodAxis without dilation).
  template <typename M>
  std::pair<typename M::Value, typename M::Value> window(M &m, typename M::Value q) const {
    if (causal)
      return {m.sub(leader(m, q), m.c(k - 1)), q};
    auto st = start(m, q);
    return {st, m.add(st, m.c(k - 1))};
  }
  /// i1: every query in [a0, a1] keeps every key in [k0, k1].
  mlir::Value keepsAll(IndexMath &m, mlir::Value a0, mlir::Value a1, mlir::Value k0,
                       mlir::Value k1) const;
};

/// Queries and keys tiled as boxes of a row-major grid (last axis fastest)
/// instead of runs of consecutive tokens: a query tile is a qPatch box
/// (BM tokens), a key tile a kPatch box (BN tokens), tiles numbered
/// row-major over the grid of boxes, tokens row-major inside a box. A
/// multi-dimensional window then keeps most keys of the few key boxes it
/// touches (NATTEN's FNA/GNA tile the same way); TMA loads each box
/// straight from the row-major tensor, so nothing is gathered. Boxes need
/// not divide the grid: the last box along an axis reaches past it (TMA
/// fills those positions with zeros; no window keeps them, and such query
/// rows are not stored).
struct GridTiles {
  /// A box's TMA map has the head dim, the grid axes and the heads: rank at
  /// most 5.
  static constexpr size_t kMaxAxes = 3;
  llvm::SmallVector<GridAxis, 3> axes;
  llvm::SmallVector<int64_t, 3> qPatch, kPatch;
  /// Boxes along axis a.
  int64_t boxesAlong(size_t a, bool key) const {
    int64_t p = (key ? kPatch : qPatch)[a];
    return (axes[a].n + p - 1) / p;
  }
  /// Boxes of queries (or keys) in all.
  int64_t numBoxes(bool key) const {
    int64_t n = 1;
    for (size_t a = 0; a < axes.size(); ++a)
      n *= boxesAlong(a, key);
    return n;
  }
  /// Grid coordinates of the first token of box `tile`.
  llvm::SmallVector<mlir::Value, 3> origin(IndexMath &m, mlir::Value tile, bool key) const;
  /// Row-major token index of grid coordinates.
  mlir::Value token(IndexMath &m, llvm::ArrayRef<mlir::Value> coords) const;
  /// Token offset of box-local position `local` from the box's first token.
  int64_t localOffset(int64_t local, bool key) const;
  /// Coordinates of box-local position `local` inside its box, per axis.
  llvm::SmallVector<int64_t, 3> localCoords(int64_t local, bool key) const;
  llvm::SmallVector<mlir::Value, 3> localCoords(IndexMath &m, mlir::Value local, bool key) const;
  mlir::Value localOffset(IndexMath &m, mlir::Value local, bool key) const;
};

/// What can be decided at compile time about an attention's tile schedule.
struct CarrierTilePlan {
  int64_t BM = 0, BN = 0;
  /// Set: the schedule is the query block's CSR row (list mode).
  attn::BlockListAttr blockList;
  int64_t kTilesPerBlock = 1; // k_block / BN
  /// Set: a block_list read through its tile_mask (blocks smaller than the
  /// tiles); slots are filtered by the tile's bits.
  attn::BlockListAttr tileMask;
  /// The first causal family's alignment (reported in the manifest).
  std::optional<attn::Align> causalAlign;
  /// The window whose sinks get their own tile range (at most one).
  attn::WindowAttr sinkWindow;
  /// Families tiled exactly / by a bounding range (for reports and the
  /// manifest).
  llvm::SmallVector<std::string> exact, bounding;
  /// Set: tiles are boxes of the carrier's grid (GridTiles).
  std::optional<GridTiles> grid;

  /// Checks that the carrier can be tiled with BM x BN tiles; emits an error
  /// on `op` otherwise (block_list needs BM | q_block and BN | k_block).
  /// With patches, tiles are boxes of the carrier's grid (gridAxesOf).
  static mlir::FailureOr<CarrierTilePlan> get(attn::AttentionOp op, int64_t BM,
                                              int64_t BN,
                                              llvm::ArrayRef<int64_t> qPatch = {},
                                              llvm::ArrayRef<int64_t> kPatch = {});
};

/// The grid axes the attention's carrier can be tiled along: one family that
/// relates tokens by a window per axis (CarrierLoweringAttrInterface::
/// gridAxes), no other family, no mask region, Lq = Lk = the grid's tokens.
/// Empty otherwise.
llvm::SmallVector<GridAxis, 3> gridAxesOf(attn::AttentionOp op);

/// Run-time context: batch and output head, lengths (index values), and how
/// extras are read.
struct TileEnv {
  mlir::Value batch, head, lq, lk;
  CarrierAccess *access = nullptr;
};

/// The schedule and classification of one query tile. Built once (the
/// per-query-tile values: aligned rows, document spans, CSR row, ranges are
/// emitted at the builder's insertion point), then queried per key tile.
/// firstRow / lastRow (index values) override the rows the tile covers
/// (default [qTile * BM, min(qTile * BM + BM, Lq) - 1]): a decode tile that
/// packs several heads covers the union of their query positions.
class QueryTileCarrier {
public:
  QueryTileCarrier(mlir::OpBuilder &b, mlir::Location loc,
                   const CarrierTilePlan &plan, attn::AttentionOp op,
                   const TileEnv &env, mlir::Value qTile,
                   mlir::Value firstRow = {}, mlir::Value lastRow = {});

  /// Number of schedule slots. Slot t in [0, numSlots()) names key tile
  /// tileOfSlot(t); visit it iff slotIsValid(tile) (always true outside list
  /// mode). Tiles come in ascending order outside list mode, in CSR order in
  /// list mode; no tile appears twice (given a CSR row without duplicates).
  mlir::Value numSlots() const { return slots; }
  mlir::Value tileOfSlot(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t) const;
  /// Null when every slot is valid (no block list, no mask region).
  mlir::Value slotIsValid(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tile) const;
  bool listMode() const { return (bool)plan.blockList; }
  /// Some slots may be invalid: list mode, or a mask region whose bounds
  /// over a tile (MaskBounds.h) can rule the whole tile out.
  bool filtersSlots() const { return listMode() || hasMask || plan.tileMask; }

  /// i1: every in-bounds (i, j) of key tile `kTile` is kept.
  mlir::Value isFull(mlir::OpBuilder &b, mlir::Location loc, mlir::Value kTile) const;

  /// Every per-query-tile value the constructor emitted, in one fixed order
  /// (members it left null skipped). A persistent block's producer publishes
  /// those that take reads or loops in shared memory so that the other roles
  /// take them from there instead of recomputing them (document searches,
  /// mask bisections, list offsets: dependent global loads at the start of
  /// every item).
  llvm::SmallVector<mlir::Value> itemValues() const;
  /// Takes `vals` in place of itemValues() (same count, order and types).
  void adoptItemValues(mlir::ValueRange vals);

private:
  /// Visits the per-query-tile members in itemValues()'s order.
  void forEachItemValue(llvm::function_ref<void(mlir::Value &)> f);
  /// [t0, t1) without the leading and trailing tiles the mask rules out.
  std::pair<mlir::Value, mlir::Value> narrowToMask(mlir::OpBuilder &b, mlir::Location loc,
                                                   mlir::Value t0, mlir::Value t1) const;
  const CarrierTilePlan &plan;
  mutable attn::AttentionOp op;
  TileEnv env;
  mlir::Value i0, i1;          // first and last (clipped) row
  mlir::Value nTot;            // key tiles covering Lk
  // Visited tiles: [p0, p1) then [q0, q1) (p empty without a sink window).
  mlir::Value p0, p1, q0, q1, pCount;
  mlir::Value slots;
  bool hasMask = false;
  // List mode: the query block and its row's start in the indices.
  mlir::Value listRow, listStart;
  /// Tile-mask mode: the bits of this query tile's rows, for key tile kTile
  /// (the columns of its BN keys); the word read, the bits.
  std::pair<mlir::Value, mlir::Value> tileMaskBits(mlir::OpBuilder &b, mlir::Location loc,
                                                   mlir::Value kTile) const;
  mlir::Value maskRowRep; // i64: bit 0 of each bit row the query tile covers
  // Grid mode: the query box's first and last coordinate per axis, the
  // first key box along each axis and how many it visits.
  llvm::SmallVector<mlir::Value, 3> gridA0, gridA1, gridKLo, gridKCount;
  // Per family (in carrier order), the per query tile values its isFull
  // term reuses (CarrierLoweringAttrInterface::boundTileKeys).
  llvm::SmallVector<llvm::SmallVector<mlir::Value, 4>> rowState;
};

/// i1: the static carrier `families` (no block list, no mask region) may
/// keep a pair in query tile `qTile` (BM rows, clipped to Lq) x key tile
/// `kTile` (BN keys): the same tile ranges the kernel's schedule visits.
/// Block selection uses it for its candidate blocks.
mlir::Value familiesMayKeepTile(mlir::OpBuilder &b, mlir::Location loc,
                                llvm::ArrayRef<mlir::Attribute> families, int64_t BM,
                                int64_t BN, const TileEnv &env, mlir::Value qTile,
                                mlir::Value kTile);

} // namespace attnc

#endif // ATTNC_PASSES_GPU_CARRIERTILES_H
