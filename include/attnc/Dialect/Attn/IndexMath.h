//===- IndexMath.h - compact signed index arithmetic for builders -*- C++ -*-===//
//
// Carrier predicates and tile ranges are integer formulas over positions;
// this spells them as in the docs (floor division, signed comparisons).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_INDEXMATH_H
#define ATTNC_PASSES_INDEXMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"

namespace attnc {

struct IndexMath {
  mlir::OpBuilder &b;
  mlir::Location loc;
  using Value = mlir::Value;
  using Pred = mlir::arith::CmpIPredicate;

  Value c(int64_t v) { return mlir::arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return mlir::arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, c(y)) : x; }
  Value sub(Value x, Value y) { return mlir::arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return mlir::arith::MulIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) { return y == 1 ? x : mul(x, c(y)); }
  /// Floor division and remainder (positions may be negative).
  Value div(Value x, Value y) { return mlir::arith::FloorDivSIOp::create(b, loc, x, y); }
  Value fdiv(Value x, int64_t y) { return y == 1 ? x : div(x, c(y)); }
  Value cdiv(Value x, int64_t y) { return fdiv(add(x, y - 1), y); }
  Value rem(Value x, Value y) { return mlir::arith::RemSIOp::create(b, loc, x, y); }
  Value rem(Value x, int64_t y) { return rem(x, c(y)); }
  Value min(Value x, Value y) { return mlir::arith::MinSIOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return mlir::arith::MaxSIOp::create(b, loc, x, y); }
  Value cmp(Pred p, Value x, Value y) { return mlir::arith::CmpIOp::create(b, loc, p, x, y); }
  Value le(Value x, Value y) { return cmp(Pred::sle, x, y); }
  Value lt(Value x, Value y) { return cmp(Pred::slt, x, y); }
  Value eq(Value x, Value y) { return cmp(Pred::eq, x, y); }
  Value land(Value x, Value y) { return mlir::arith::AndIOp::create(b, loc, x, y); }
  Value lor(Value x, Value y) { return mlir::arith::OrIOp::create(b, loc, x, y); }
  Value sel(Value p, Value x, Value y) { return mlir::arith::SelectOp::create(b, loc, p, x, y); }
  Value t() { return mlir::arith::ConstantIntOp::create(b, loc, 1, 1); }
  Value f() { return mlir::arith::ConstantIntOp::create(b, loc, 0, 1); }
  /// Element of an integer tensor as an index.
  Value load(Value tensor, mlir::ValueRange indices) {
    Value v = mlir::tensor::ExtractOp::create(b, loc, tensor, indices);
    if (v.getType().isIndex())
      return v;
    return mlir::arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
};

/// ceil(n / d) of a size: a constant where n is one (static shapes stay
/// static), else index arithmetic.
inline mlir::OpFoldResult ceilDivSize(mlir::OpBuilder &b, mlir::Location loc, mlir::OpFoldResult n,
                                      int64_t d) {
  if (std::optional<int64_t> c = mlir::getConstantIntValue(n))
    return b.getIndexAttr((*c + d - 1) / d);
  return mlir::arith::CeilDivSIOp::create(b, loc, mlir::cast<mlir::Value>(n),
                                          mlir::arith::ConstantIndexOp::create(b, loc, d))
      .getResult();
}

} // namespace attnc

#endif // ATTNC_PASSES_INDEXMATH_H
