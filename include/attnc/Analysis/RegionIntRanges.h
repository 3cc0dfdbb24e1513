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

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Region.h"
#include "mlir/Interfaces/InferIntRangeInterface.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace attnc {

/// index or a signless integer wider than 32 bits.
bool isWideInt(mlir::Type t);

/// What a value of a score or mask region depends on: the positions i or j
/// (entry-block arguments from `firstPositionArg`, a nested block's
/// arguments, anything computed by an op with regions) and table reads
/// (tensor.extract). Values from above depend on neither.
struct RegionDeps {
  bool position = false, table = false;
};
RegionDeps regionDepsOf(mlir::Region &region, unsigned firstPositionArg, mlir::Value v,
                        llvm::DenseMap<mlir::Value, RegionDeps> &memo);

/// The divisor d when `sub` is the floor modulus x - (x // d) * d as the
/// frontend spells `%` (either order of the product; with d a value, the
/// zero divisor guarded by selects); null otherwise. The caller checks that
/// d > 0 and that the product cannot wrap.
mlir::Value floorModulusDivisor(mlir::arith::SubIOp sub);

/// The largest B, H, Lq and Lk a kernel with a score or mask region is
/// launched with when they are not static (its manifest refuses more): with
/// positions and sizes below 2^29, sums such as `i + L - s` keep to 32 bits.
/// 2^29 keys of one head are 128 GiB of bf16 K at D = 128.
constexpr int64_t kRegionMaxExtent = int64_t(1) << 29;

class RegionIntRanges {
public:
  /// `firstIndexArg`: the position of b among the region's arguments (the
  /// arguments b, h, i, j follow in that order: 0 for a mask, 1 for a score).
  /// `largest`: for b, h, i and j, the largest value the caller passes where
  /// it knows one (static extents), else -1 for the size cap.
  /// `outerLargest`: for a size the region reads from above (a launch
  /// refuses sizes below 1), its largest value; nullopt for anything else.
  RegionIntRanges(mlir::Region &region, unsigned firstIndexArg,
                  llvm::ArrayRef<int64_t> largest = {},
                  llvm::function_ref<std::optional<int64_t>(mlir::Value)> outerLargest = nullptr);

  /// The range of an integer value (the full range of its type when unknown).
  mlir::ConstantIntRanges rangeOf(mlir::Value v) const;
  /// What `v` depends on (regionDepsOf): a value on neither position is the
  /// same for every pair of a tile (a size, a per-head value).
  RegionDeps depsOf(mlir::Value v) const;
  /// Whether every value `v` can take fits a signed 32-bit integer.
  bool fitsI32(mlir::Value v) const;
  /// Whether `op` computes on integers wider than 32 bits whose operands and
  /// results all fit 32 bits, with the same result in 32-bit arithmetic.
  bool narrowable(mlir::Operation &op) const;

private:
  void visit(mlir::Operation &op);
  llvm::DenseMap<mlir::Value, mlir::ConstantIntRanges> ranges;
  mlir::Region *region;
  unsigned firstIndexArg;
  mutable llvm::DenseMap<mlir::Value, RegionDeps> depsMemo;
};

} // namespace attnc

#endif // ATTNC_ANALYSIS_REGIONINTRANGES_H
