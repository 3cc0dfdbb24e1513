//===- MaskBounds.h - a mask region bounded over a tile of (i, j) -*- C++ -*-===//
//
// Interval evaluation of an attention's mask region over a box of index
// values: b and h single values, i in [i0, i1], j in [j0, j1]. The result
// says whether some pair of the box may be kept (`may`) and whether every
// pair is kept (`must`), so that a tile can be skipped (may = false) or run
// without the per-element mask (must = true).
//
// Sound for any region: an op it cannot bound (float arithmetic, lookups
// indexed by i or j, unsigned compares) gives "unknown" (may = true,
// must = false), never a wrong answer. Exact for comparisons of expressions
// monotone in i or j (+, -, *, // and % by constants, min, max, abs, and
// lookups indexed by b and h only, which are loaded).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_GPU_MASKBOUNDS_H
#define ATTNC_PASSES_GPU_MASKBOUNDS_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Analysis/Carrier.h"

#include "mlir/IR/Builders.h"

namespace attnc {

struct MaskBox {
  mlir::Value may, must; // i1
};

/// Emits IR at b's insertion point bounding `op`'s mask region over the box;
/// every bound is an index value (i0 <= i1, j0 <= j1).
MaskBox boundMaskOverBox(mlir::OpBuilder &b, mlir::Location loc, attn::AttentionOp op,
                         CarrierAccess &access, mlir::Value batch, mlir::Value head,
                         mlir::Value i0, mlir::Value i1, mlir::Value j0, mlir::Value j1);

/// The mask over the block pair (qb, kb) of its classes (the op's
/// mask_classes, which it must have): exact, one table read, for a tile that
/// is one class block.
MaskBox maskClassesOfBlock(mlir::OpBuilder &b, mlir::Location loc, attn::AttentionOp op,
                           CarrierAccess &access, mlir::Value batch, mlir::Value head,
                           mlir::Value qb, mlir::Value kb);

/// Whether boundMaskOverBox leaves `op`'s mask unknown over some box (an op
/// it cannot bound lies on the path to the yielded value): then no tile is
/// skipped or run without the mask, and a block classification computed
/// from the predicate itself (attn-classify-mask-blocks) is what can.
bool maskDefeatsTileBounds(attn::AttentionOp op);

/// Whether `op`'s mask takes a floor modulus of a position expression by a
/// run-time divisor or a constant of at least a class block (a shifted
/// window wrapping around the sequence, `(i + s) % L`). Such a remainder
/// restarts once per divisor: a tile across the restart bounds to the
/// divisor's whole range, so the in-kernel key range of every query tile
/// widens to it, and each tile's bounds divide by the divisor. Classified
/// per block before the kernel, the kernel visits the kept blocks only.
/// (Smaller constant divisors repeat within every tile, where bounds and
/// classes both say "partial".)
bool maskWrapsOverTiles(attn::AttentionOp op);

/// How a kernel manifest's tiles_bounding describes such a mask left
/// unclassified (attn-classify-mask-blocks leaves paged, sharded and split
/// keys and block lists to their own schedules); the CLI points users at it.
inline constexpr const char *kMaskUnboundedNote =
    "not bounded per tile: every tile runs the predicate (no block classification before a kernel "
    "over paged, sharded or split keys or a block list)";

} // namespace attnc

#endif // ATTNC_PASSES_GPU_MASKBOUNDS_H
