//===- CascadeBuilder.h - helpers that emit einsum-cascade ops --*- C++ -*-===//
//
// Small builder shared by the decomposition and the lowerings: sizes are
// OpFoldResults so that static shapes stay static and dynamic ones are read
// with tensor.dim once.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_CASCADEBUILDER_H
#define ATTNC_PASSES_CASCADEBUILDER_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

namespace attnc {

using BodyFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::ValueRange indices,
    mlir::ValueRange elements)>;

class CascadeBuilder {
public:
  CascadeBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() { return loc; }

  /// Extent `d` of a ranked tensor: a constant when static.
  mlir::OpFoldResult dim(mlir::Value tensor, int64_t d);
  mlir::Value value(mlir::OpFoldResult ofr);
  mlir::RankedTensorType tensorType(llvm::ArrayRef<mlir::OpFoldResult> sizes,
                                    mlir::Type elem);
  llvm::SmallVector<mlir::Value> dynamicSizes(llvm::ArrayRef<mlir::OpFoldResult> sizes);

  /// attn.map over `sizes`; `maps` give each input's element per index.
  mlir::Value map(llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elem,
                  mlir::ValueRange inputs, llvm::ArrayRef<mlir::AffineMap> maps,
                  BodyFn body);
  /// attn.map whose inputs are read at the identity index (same shape).
  mlir::Value mapSame(mlir::ValueRange inputs, mlir::Type elem, BodyFn body);
  /// attn.einsum; `maps` are the inputs' then the output's.
  mlir::Value einsum(mlir::ValueRange inputs, llvm::ArrayRef<mlir::AffineMap> maps,
                     llvm::ArrayRef<mlir::OpFoldResult> outSizes, mlir::Type elem);
  /// attn.reduce over the trailing `count` axes.
  mlir::Value reduce(mlir::Value input, attn::ReduceKind kind, int64_t count = 1);

  // Scalar helpers used inside bodies.
  mlir::Value f(mlir::Type ty, double v);
  mlir::Value idx(int64_t v);

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
};

/// The affine map (d0..dn-1) -> (d_k for k in `dims`).
mlir::AffineMap projection(mlir::MLIRContext *ctx, unsigned numDims,
                           llvm::ArrayRef<unsigned> dims);

/// Clones the single block of `region` at the builder's insertion point with
/// its arguments bound to `args`; returns the yielded value.
mlir::Value inlineRegion(mlir::OpBuilder &b, mlir::Region &region,
                         mlir::ValueRange args);

} // namespace attnc

#endif // ATTNC_PASSES_CASCADEBUILDER_H
