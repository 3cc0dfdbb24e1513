//===- FloatMath.h - scalar float helpers for cascade bodies -----*- C++ -*-===//
#ifndef ATTNC_PASSES_ATTNTOCASCADE_FLOATMATH_H
#define ATTNC_PASSES_ATTNTOCASCADE_FLOATMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"

#include <limits>

namespace attnc {

/// Scalar float helpers for bodies.
struct FMath {
  using Value = mlir::Value;
  using Location = mlir::Location;
  using Type = mlir::Type;
  using OpBuilder = mlir::OpBuilder;
  OpBuilder &b;
  Location loc;
  Type ty;
  Value c(double v) { return mlir::arith::ConstantOp::create(b, loc, b.getFloatAttr(ty, v)); }
  Value add(Value x, Value y) { return mlir::arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return mlir::arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return mlir::arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return mlir::arith::DivFOp::create(b, loc, x, y); }
  Value max(Value x, Value y) { return mlir::arith::MaximumFOp::create(b, loc, x, y); }
  Value exp(Value x) { return mlir::math::ExpOp::create(b, loc, x); }
  Value abs(Value x) { return mlir::math::AbsFOp::create(b, loc, x); }
  Value select(Value c, Value x, Value y) { return mlir::arith::SelectOp::create(b, loc, c, x, y); }
  Value oeq(Value x, Value y) {
    return mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OEQ, x, y);
  }
  Value ninf() { return c(-std::numeric_limits<double>::infinity()); }
  Value fromIndex(Value i) {
    Value i64 = mlir::arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
    return mlir::arith::SIToFPOp::create(b, loc, ty, i64);
  }
};

} // namespace attnc

#endif // ATTNC_PASSES_ATTNTOCASCADE_FLOATMATH_H
