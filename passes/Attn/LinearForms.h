//===- LinearForms.h - shared pieces of the linear-attention rewrites -*- C++ -*-===//
//
// attn-reassociate-linear and attn-chunk-causal-linear both rewrite an
// identity-link attention into attentions against identity matrices (the
// Hopper kernel's tensor cores do the contractions), and both need a proof
// that the weights are nonnegative before row_abs can use plain sums.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_ATTN_LINEARFORMS_H
#define ATTNC_PASSES_ATTN_LINEARFORMS_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/DenseMap.h"

#include <limits>

namespace attnc {

/// A lower bound of every non-NaN value `v` takes, from the feature maps
/// the front end writes (elu(x) + 1, relu, exp, sigmoid, softplus, squares,
/// abs, pow of a nonnegative base ...); kUnbounded where it cannot tell.
/// Intervals suffice: a proof that weights are nonnegative needs only the
/// sign of each factor.
class LowerBounds {
public:
  static constexpr double kUnbounded = -std::numeric_limits<double>::infinity();
  double of(mlir::Value v);

private:
  double compute(mlir::Value v);
  double selectBound(mlir::arith::SelectOp s);

  llvm::DenseMap<mlir::Value, double> memo;
  int depth = 0;
};

/// Why `op` is not a linear attention the rewrites take (link identity,
/// anchor none or row_abs, no null key), or "".
std::string linearAttentionRefusal(attn::AttentionOp op);

/// Why the weights of `op` (identity link) are not provably nonnegative for
/// a row_abs anchor to sum them as they are, or "" when they are.
std::string nonnegativeWeightsRefusal(attn::AttentionOp op);

/// Width of the ones whose products are row sums: the narrowest value head
/// dim the kernel takes (16; TMA rows of 32 bytes).
inline constexpr int64_t kSumColumns = 16;

/// An identity-link, anchor-none attention (weights signed) with no score
/// region: `scale` (null: the default 1/sqrt(D)), the given carrier and
/// extras, keys split in chunks of `splitKV` (0: none).
attn::AttentionOp buildLinearProducts(mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultTy,
                                      mlir::Value q, mlir::Value k, mlir::Value v, mlir::ValueRange extras,
                                      mlir::ArrayAttr carrier, mlir::FloatAttr scale, int64_t splitKV);

/// Names the step that computes `v` for the GPU partition's report.
void nameLinearStep(mlir::Value v, llvm::StringRef why);

/// num / den[..., 0] per row in f32 at least, 0 where den is 0: the row_abs
/// normalisation of sums kept apart from the products. `num` has the
/// result's shape; `den` its leading three dims and a column of sums.
mlir::Value divideByRowSums(mlir::OpBuilder &b, mlir::Location loc, mlir::Value num, mlir::Value den,
                            llvm::StringRef why);

} // namespace attnc

#endif // ATTNC_PASSES_ATTN_LINEARFORMS_H
