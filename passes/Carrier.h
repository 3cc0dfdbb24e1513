//===- Carrier.h - the carrier predicate of an attention ---------*- C++ -*-===//
//
// keep(b, h, i, j) as scalar IR: the AND of the static carrier families, the
// user mask region and nothing else (bounds come from the iteration space).
// Shared by the CPU cascade and the GPU partial-tile mask.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_CARRIER_H
#define ATTNC_PASSES_CARRIER_H

#include "dialects/Attn/AttnDialect.h"
#include "mlir/IR/Builders.h"

namespace attnc {

/// Emits the i1 `keep` for query i and key j of output head h in batch b.
/// `lq` and `lk` are the sequence lengths (index values).
mlir::Value buildKeepPredicate(mlir::OpBuilder &b, mlir::Location loc,
                               attn::AttentionOp op, mlir::Value batch,
                               mlir::Value head, mlir::Value i, mlir::Value j,
                               mlir::Value lq, mlir::Value lk);

/// True when the carrier keeps every (i, j) in bounds (no family, no mask).
bool isFullCarrier(attn::AttentionOp op);

} // namespace attnc

#endif // ATTNC_PASSES_CARRIER_H
