//===- GPUArtifacts.h - ahead-of-time GPU artifacts --------------*- C++ -*-===//
#ifndef ATTNC_GPU_GPUARTIFACTS_H
#define ATTNC_GPU_GPUARTIFACTS_H

#include "attnc/GPU/GPUProgram.h"
#include "attnc/Support/Npy.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attnc {

/// Kernel choices that the spec does not make.
struct GPUKernelOptions {
  /// The decode schedule (attn-gpu-plan-kernel{decode}): 64-row tiles with
  /// the query heads of a KV head packed together, key tiles split across
  /// the grid, partials merged in the kernel (docs/gpu-abi.md).
  bool decode = false;
  /// KV tile rows (64 or 128); 0: the kernel's choice.
  int64_t blockN = 0;
  /// Plan a persistent kernel that ptxas reports spilling again without
  /// persistence, keeping whichever spills less (off: the plan as first
  /// chosen; for A/B measurements).
  bool replanSpills = true;
  /// Tile a multi-dimensional neighborhood as boxes of its grid where it
  /// admits them (attn-gpu-plan-kernel{grid-tiles}; off: runs of tokens, for
  /// A/B measurements).
  bool gridTiles = true;
  /// Q slots of a persistent kernel (attn-gpu-plan-kernel{q-slots}; 0: the
  /// planner's choice; 1 or 2 for A/B measurements).
  int64_t qSlots = 0;
  /// Persistent blocks where the planner admits them
  /// (attn-gpu-plan-kernel{persistent}; off for A/B measurements).
  bool persistent = true;
  /// O through shared memory and TMA where the plan admits it
  /// (attn-gpu-plan-kernel{o-tma-store}; off for A/B measurements).
  bool oTmaStore = true;
  /// The plan's V scanner (A/B; attn-gpu-plan-kernel's v-scanner).
  bool vScanner = true;
  /// Where the stages report their time (`attnc compile --time`); not a
  /// kernel choice, so not part of the cache key.
  mlir::TimingScope *timing = nullptr;
};

/// Compiles `module` (attn level, 16-bit tensors, static head dims; the
/// names from its variant function, VariantSignature.h) for `chip` to a
/// program: a Hopper kernel per attention it computes, generic kernels for
/// lets, output expressions and the attentions it refuses (these need every
/// dim bound), each as cubin and PTX, and the steps that run them.
llvm::Expected<GPUProgram>
compileForGPU(mlir::ModuleOp module, llvm::StringRef chip, const GPUKernelOptions &options = {});

/// compileForGPU through the on-disk kernel cache in `cacheDir` (empty: no
/// cache). The key hashes the attn-level module text (spec, dims, dtype), the
/// chip, the options, and the compiler version; `status` says "hit" or
/// "compiled".
llvm::Expected<GPUProgram>
compileForGPUCached(mlir::ModuleOp module, llvm::StringRef chip, llvm::StringRef cacheDir,
                    std::string *status = nullptr,
                    const GPUKernelOptions &options = {});

/// Writes DIR/<kernel>.{cubin,ptx,json} per kernel, DIR/<variant>.program.json
/// (the steps), and DIR/<variant>.h, a C header with a load and a typed
/// launch function per attention kernel that reads spec inputs only, over the
/// attnc runtime's C API.
llvm::Error writeGPUArtifacts(const GPUProgram &program, llvm::StringRef variant, llvm::StringRef dir);

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
