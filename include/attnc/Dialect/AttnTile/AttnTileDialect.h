//===- AttnTileDialect.h - the attn_tile dialect ------------------*- C++ -*-===//
#ifndef ATTNC_DIALECT_ATTNTILE_ATTNTILEDIALECT_H
#define ATTNC_DIALECT_ATTNTILE_ATTNTILEDIALECT_H

#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "attnc/Dialect/AttnTile/AttnTileDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "attnc/Dialect/AttnTile/AttnTileTypes.h.inc"

#define GET_OP_CLASSES
#include "attnc/Dialect/AttnTile/AttnTileOps.h.inc"

#endif // ATTNC_DIALECT_ATTNTILE_ATTNTILEDIALECT_H
