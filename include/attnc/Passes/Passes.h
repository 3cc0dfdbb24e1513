//===- Passes.h - attnc passes ----------------------------------*- C++ -*-===//
#ifndef ATTNC_PASSES_PASSES_H
#define ATTNC_PASSES_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace attnc {

#define GEN_PASS_DECL
#include "attnc/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "attnc/Passes/Passes.h.inc"

/// attn (tensors) -> LLVM dialect, ready for the ExecutionEngine or for
/// translation to an object file.
void buildCPULoweringPipeline(mlir::OpPassManager &pm);

} // namespace attnc

#endif // ATTNC_PASSES_PASSES_H
