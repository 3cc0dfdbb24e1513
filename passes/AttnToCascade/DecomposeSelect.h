//===- DecomposeSelect.h - attn.select_blocks to the cascade ----*- C++ -*-===//
#ifndef ATTNC_PASSES_ATTNTOCASCADE_DECOMPOSESELECT_H
#define ATTNC_PASSES_ATTNTOCASCADE_DECOMPOSESELECT_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "mlir/IR/Builders.h"

namespace attnc {

/// The estimation stage as cascade ops at b's insertion point; returns the
/// values replacing the op's counts and indices.
std::pair<mlir::Value, mlir::Value> decomposeSelectBlocks(mlir::OpBuilder &b,
                                                          attn::SelectBlocksOp op);

} // namespace attnc

#endif // ATTNC_PASSES_ATTNTOCASCADE_DECOMPOSESELECT_H
