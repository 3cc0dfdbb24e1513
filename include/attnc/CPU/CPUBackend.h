//===- CPUBackend.h - JIT-run attn modules on the host ------------*- C++ -*-===//
#ifndef ATTNC_CPU_CPUBACKEND_H
#define ATTNC_CPU_CPUBACKEND_H

#include "attnc/Support/Npy.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace attnc {

struct CPURunResult {
  std::vector<NpyArray> outputs;
  double compileMs = 0;  // lowering + JIT
  double runMs = 0;      // the call itself
};

/// A variant function JIT-compiled for the host once, callable many times on
/// contiguous buffers of the shapes and element types it was compiled for.
class CPUKernel {
public:
  /// Lowers `funcName` of `module` (attn level, static shapes) with the CPU
  /// pipeline and JITs it.
  static llvm::Expected<std::unique_ptr<CPUKernel>> create(mlir::ModuleOp module,
                                                           llvm::StringRef funcName);
  ~CPUKernel();
  /// Calls the function: `inputs` then `outputs`, each a contiguous C-order
  /// buffer of its argument's static shape and element type.
  llvm::Error call(llvm::ArrayRef<const void *> inputs, llvm::ArrayRef<void *> outputs);
  mlir::FunctionType type() const { return funcType; }

private:
  CPUKernel() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::string name;
  mlir::FunctionType funcType;
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
