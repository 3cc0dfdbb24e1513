//===- RegionIntRanges.h - static integer ranges of an attn region -*- C++ -*-===//
//
// The signed range of every integer value of a score or mask region, from
// the caps the compiler enforces on sizes (b, h, i and j in [0, 2^31 - 1)),
// the element types of the tables it reads and arith's own range inference
// (InferIntRangeInterface). A backend computes index math in 32 bits where a
// value's every possible value fits: the frontend types it `index` (64 bits),
// which costs two instructions per operation on a GPU.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_ANALYSIS_REGIONINTRANGES_H
#define ATTNC_ANALYSIS_REGIONINTRANGES_H

#include "mlir/IR/Region.h"
#include "mlir/Interfaces/InferIntRangeInterface.h"

#include "llvm/ADT/DenseMap.h"

namespace attnc {

/// index or a signless integer wider than 32 bits.
bool isWideInt(mlir::Type t);

class RegionIntRanges {
public:
  /// `firstIndexArg`: the position of b among the region's arguments (the
  /// arguments b, h, i, j follow in that order: 0 for a mask, 1 for a score).
  /// `largest`: for b, h, i and j, the largest value the caller passes where
  /// it knows one (static extents), else -1 for the size cap.
  RegionIntRanges(mlir::Region &region, unsigned firstIndexArg,
                  llvm::ArrayRef<int64_t> largest = {});

  /// The range of an integer value (the full range of its type when unknown).
  mlir::ConstantIntRanges rangeOf(mlir::Value v) const;
  /// Whether every value `v` can take fits a signed 32-bit integer.
  bool fitsI32(mlir::Value v) const;
  /// Whether `op` computes on integers wider than 32 bits whose operands and
  /// results all fit 32 bits, with the same result in 32-bit arithmetic.
  bool narrowable(mlir::Operation &op) const;

private:
  void visit(mlir::Operation &op);
  llvm::DenseMap<mlir::Value, mlir::ConstantIntRanges> ranges;
};

} // namespace attnc

#endif // ATTNC_ANALYSIS_REGIONINTRANGES_H
