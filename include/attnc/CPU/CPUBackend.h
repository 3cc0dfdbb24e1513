//===- CPUBackend.h - JIT-run attn modules on the host ------------*- C++ -*-===//
#ifndef ATTNC_CPU_CPUBACKEND_H
#define ATTNC_CPU_CPUBACKEND_H

#include "attnc/Support/Npy.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace attnc {

struct CPURunResult {
  std::vector<NpyArray> outputs;
  double compileMs = 0;  // lowering + JIT
  double runMs = 0;      // the call itself
};

/// Lowers `module` (attn level, static shapes) with the CPU pipeline, JITs it
/// and calls `funcName` on `inputs` (the function's arguments in order).
/// Inputs are checked against the signature; errors name the argument.
llvm::Expected<CPURunResult> runOnCPU(mlir::ModuleOp module, llvm::StringRef funcName,
                                      llvm::ArrayRef<std::string> inputNames,
                                      llvm::ArrayRef<const NpyArray *> inputs);

/// The CPU pipeline applied in place (for `attnc compile --emit=llvm`).
mlir::LogicalResult lowerToLLVMDialect(mlir::ModuleOp module);

} // namespace attnc

#endif // ATTNC_CPU_CPUBACKEND_H
