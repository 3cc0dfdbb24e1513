//===- GPUArtifacts.h - ahead-of-time GPU artifacts --------------*- C++ -*-===//
#ifndef ATTNC_GPU_GPUARTIFACTS_H
#define ATTNC_GPU_GPUARTIFACTS_H

#include "attnc/Support/Npy.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attnc {

/// One compiled kernel: its name, the cubin and PTX, and its manifest (JSON
/// per docs/gpu-abi.md, with the spec's input names added).
struct GPUKernelArtifact {
  std::string kernel;
  std::string attention;  // the spec's attention name
  std::string cubin, ptx, manifest;
};

/// Kernel choices that the spec does not make.
struct GPUKernelOptions {
  /// The decode schedule (attn-gpu-build-kernel{decode}): 64-row tiles with
  /// the query heads of a KV head packed together, key tiles split across
  /// the grid, partials merged in the kernel (docs/gpu-abi.md).
  bool decode = false;
  /// KV tile rows (64 or 128); 0: the kernel's choice.
  int64_t blockN = 0;
  /// Where the stages report their time (`attnc compile --time`); not a
  /// kernel choice, so not part of the cache key.
  mlir::TimingScope *timing = nullptr;
};

/// Compiles every attention of `module` (attn level, 16-bit tensors, static
/// head dims; the names from its variant function, VariantSignature.h) for
/// `chip` to cubin and PTX.
llvm::Expected<std::vector<GPUKernelArtifact>>
compileForGPU(mlir::ModuleOp module, llvm::StringRef chip, const GPUKernelOptions &options = {});

/// compileForGPU through the on-disk kernel cache in `cacheDir` (empty: no
/// cache). The key hashes the attn-level module text (spec, dims, dtype), the
/// chip, the options, and the compiler version; `status` says "hit" or
/// "compiled".
llvm::Expected<std::vector<GPUKernelArtifact>>
compileForGPUCached(mlir::ModuleOp module, llvm::StringRef chip, llvm::StringRef cacheDir,
                    std::string *status = nullptr,
                    const GPUKernelOptions &options = {});

/// Writes DIR/<kernel>.{cubin,ptx,json} per attention and DIR/<variant>.h, a
/// C header with a load and a typed launch function per kernel over the
/// attnc runtime's C API.
llvm::Error writeGPUArtifacts(llvm::ArrayRef<GPUKernelArtifact> kernels, llvm::StringRef variant,
                              llvm::StringRef dir);

struct GPURunResult {
  std::vector<NpyArray> outputs;  // float32, one per spec output
  double compileMs = 0, runMs = 0;
};

/// JIT path of `attnc run --backend=gpu`: compiles `module` (attn level,
/// 16-bit q/k/v, every dim bound) for `chip`, loads the kernels through the
/// attnc runtime, uploads `inputs` (float32 .npy for float tensors: q/k/v are
/// rounded to the 16-bit type; int32 for index tensors), launches every
/// attention and returns the outputs as float32.
llvm::Expected<GPURunResult> runOnGPU(mlir::ModuleOp module, llvm::StringRef chip,
                                      llvm::ArrayRef<const NpyArray *> inputs,
                                      llvm::StringRef cacheDir = "",
                                      const GPUKernelOptions &options = {});

} // namespace attnc

#endif // ATTNC_GPU_GPUARTIFACTS_H
