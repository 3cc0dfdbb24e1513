//===- CarrierLowering.h - a carrier family as IR ----------------*- C++ -*-===//
//
// The interface every carrier family implements for the analyses of
// Carrier.h and CarrierTiles.h (ODS: passes/Analysis/CarrierLowering.td),
// attached to the attn dialect's attributes as external models.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_ANALYSIS_CARRIERLOWERING_H
#define ATTNC_ANALYSIS_CARRIERLOWERING_H

#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierTiles.h"
#include "attnc/Dialect/Attn/IndexMath.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace attnc {

/// A query tile as the families see it: its rows [i0, i1] (clipped to Lq),
/// the run-time context and the compile-time plan.
struct QueryTileRows {
  const CarrierTilePlan &plan;
  const TileEnv &env;
  mlir::Value i0, i1;
};

/// The keys [lo, hi) a query tile may keep, intersected family by family.
/// The plan's sink window puts its band in [bandLo, bandHi) instead (null
/// without one): its sinks are a range of their own.
struct TileKeyRange {
  mlir::Value lo, hi;
  mlir::Value bandLo, bandHi;
};

} // namespace attnc

#include "attnc/Analysis/CarrierLowering.h.inc"

namespace attnc {

/// One axis of a neighborhood (docs/semantics.md): whether key coordinate
/// kj is in the window of query coordinate qi on an axis of length n
/// (window k, dilation d, stride s). The neighborhood family ANDs it over
/// its axes (without dilation, GridAxis::window is the same window as a
/// range).
mlir::Value neighborhoodAxis(IndexMath &m, mlir::Value qi, mlir::Value kj, int64_t n, int64_t k,
                             int64_t d, int64_t s, bool causal);

/// Attaches the lowering of every attn carrier family. The passes that use
/// the analyses register it in getDependentDialects, so a driver needs no
/// extra registration.
void registerCarrierLoweringExternalModels(mlir::DialectRegistry &registry);

/// The lowering of a carrier family; a fatal error when the family has none
/// (a family whose model is missing from the registration above).
CarrierLoweringAttrInterface getCarrierLowering(mlir::Attribute family);

} // namespace attnc

#endif // ATTNC_ANALYSIS_CARRIERLOWERING_H
