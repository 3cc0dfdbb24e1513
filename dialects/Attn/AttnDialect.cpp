//===- AttnDialect.cpp - dialect registration and attributes -------------===//
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace attnc::attn;

#include "attnc/Dialect/Attn/AttnDialect.cpp.inc"
#include "attnc/Dialect/Attn/AttnEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/AttnAttrs.cpp.inc"

void AttnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attnc/Dialect/Attn/AttnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "attnc/Dialect/Attn/AttnOps.cpp.inc"
      >();
  // Regions are built from these; loading them with the dialect lets
  // attnc-opt parse attn IR without extra flags.
  getContext()->loadDialect<arith::ArithDialect, math::MathDialect,
                            tensor::TensorDialect, scf::SCFDialect>();
}

LogicalResult NeighborhoodAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> grid,
    ArrayRef<int64_t> window, ArrayRef<int64_t> dilation,
    ArrayRef<int64_t> stride, ArrayRef<bool> causal) {
  size_t n = grid.size();
  if (n < 1 || n > 3)
    return emitError() << "neighborhood needs 1 to 3 axes, got " << n;
  if (window.size() != n || dilation.size() != n || stride.size() != n ||
      causal.size() != n)
    return emitError() << "neighborhood: grid, window, dilation, stride and "
                          "causal must all have "
                       << n << " entries";
  for (size_t a = 0; a < n; ++a) {
    if (grid[a] < 1 || window[a] < 1 || dilation[a] < 1 || stride[a] < 1)
      return emitError() << "neighborhood axis " << a
                         << ": sizes must be positive";
    if (window[a] * dilation[a] > grid[a])
      return emitError() << "neighborhood axis " << a << ": window "
                         << window[a] << " x dilation " << dilation[a]
                         << " is larger than the axis (" << grid[a] << ")";
    if (stride[a] > window[a])
      return emitError() << "neighborhood axis " << a << ": stride "
                         << stride[a] << " is larger than the window "
                         << window[a];
  }
  return success();
}
