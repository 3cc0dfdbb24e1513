//===- Manifest.h - attnc kernel manifests (docs/gpu-abi.md) ---*- C++ -*-===//
#ifndef ATTNC_LIB_RUNTIME_MANIFEST_H
#define ATTNC_LIB_RUNTIME_MANIFEST_H

#include "Expr.h"
#include "ManifestJson.h"
#include "attnc/Runtime/attnc_runtime.h"

#include <string>
#include <vector>

namespace attnc {
namespace rt {

/// A tensor that a launch takes (args[i]); several params may refer to it.
struct TensorSpec {
  std::string name;
  attnc_dtype dtype = ATTNC_DTYPE_INVALID;
  std::vector<Expr> shape; ///< logical shape, outermost first
  int64_t align = 1;       ///< bytes the data pointer must be aligned to
  bool viaMap = false;     ///< read through a tensor map (strides from the map)
  int firstParam = -1;
};

struct ParamSpec {
  enum Kind { TensorMap, Ptr, I32, I64, Workspace };
  std::string name;
  Kind kind = Ptr;
  int tensor = -1; ///< TensorMap, Ptr
  Expr value;      ///< I32, I64
  /// Workspace: device scratch the runtime allocates per launch (stream
  /// ordered); its first zeroBytes bytes are zeroed before the launch.
  Expr bytes, zeroBytes;
  // TensorMap (innermost dimension first, as cuTensorMapEncodeTiled wants):
  attnc_dtype mapDtype = ATTNC_DTYPE_INVALID;
  int rank = 0;
  std::vector<Expr> globalDims, globalStridesBytes, box, elementStrides;
  int interleave = 0, swizzle = 0, l2Promotion = 0, oobFill = 0; ///< CUtensorMap* enum values
  bool byValue = false; ///< the map itself is the parameter (__grid_constant__)
  /// For each map dimension (innermost first), how many logical tensor
  /// dimensions it merges (1 for D, 2 for B*Hq).
  std::vector<int> groupSizes;
};

struct Manifest {
  int64_t abiVersion = 0;
  std::string kernel, chip, binary;
  std::vector<std::string> dims; ///< names of the run-time sizes, dims[] order
  std::vector<TensorSpec> tensors;
  std::vector<ParamSpec> params;
  Expr grid[3], block[3], sharedBytes;
  std::vector<Expr> constraints;
  /// Split-KV: the dim (index into dims) holding the split count, chosen by
  /// the runtime from the grid, key tiles and SM count when the caller does
  /// not give it; -1 when the kernel has none.
  int splitDim = -1;
  int64_t maxSplits = 1;
  /// Persistent blocks: grid is the work-item count; the launch takes
  /// min(items, SMs) blocks on grid.x (validate).
  bool persistent = false;
  Expr keyTiles;
  JsonValue root; ///< the whole document, for informational fields

  /// Parses and checks a manifest. err names the field ("params[2].shape[1]: ...").
  static bool parse(const std::string &text, Manifest &out, std::string &err);
};

attnc_dtype dtypeFromName(const std::string &s);
/// Sets attnc_last_error() for this thread and returns s.
attnc_status setLastError(attnc_status s, const std::string &msg);

} // namespace rt
} // namespace attnc

#endif
