//===- GenericManifest.h - generic GPU steps' manifests and sizes -*- C++ -*-===//
//
// The generic path's launches as the runtime reads them: a kernel manifest
// per gpu.launch_func (memref descriptors, a grid over the buffers' sizes)
// and the host's index arithmetic as the runtime's size expressions
// (lib/Runtime/Expr.h), which also size a program's temporaries.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_GPU_GENERICMANIFEST_H
#define ATTNC_LIB_GPU_GENERICMANIFEST_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Value.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>

namespace attnc {

/// The runtime's dtype name of an element type ("bf16", "i32", ...), or "".
std::string dtypeName(mlir::Type t);

/// What an axis of a shaped value is called in a size expression, or nullopt.
using AxisName = std::function<std::optional<std::string>(mlir::Value shaped, int64_t axis)>;

/// The index arithmetic defining `v` (constants, + - * / %, ceildiv, max,
/// min, memref.dim and tensor.dim, the sizes of allocations and
/// tensor.empty) as a size expression, its other sizes named by `axisName`;
/// nullopt for anything else. Sizes are non-negative, so unsigned and
/// signed division agree with the expression's floor division.
std::optional<std::string> sizeExprOf(mlir::Value v, const AxisName &axisName);

/// max(a, b) as a size expression (a when both are one expression).
std::optional<std::string> maxOf(const std::optional<std::string> &a, const std::optional<std::string> &b);

/// The manifest (JSON text) of the generic kernel `launch` runs.
llvm::Expected<std::string> genericManifest(mlir::gpu::LaunchFuncOp launch, llvm::StringRef chip);

} // namespace attnc

#endif // ATTNC_LIB_GPU_GENERICMANIFEST_H
