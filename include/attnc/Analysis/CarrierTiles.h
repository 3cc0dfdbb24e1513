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
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>

namespace attnc {

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

  /// Checks that the carrier can be tiled with BM x BN tiles; emits an error
  /// on `op` otherwise (block_list needs BM | q_block and BN | k_block).
  static mlir::FailureOr<CarrierTilePlan> get(attn::AttentionOp op, int64_t BM,
                                              int64_t BN);
};

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

private:
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
