//===- GPUProgram.h - a spec as kernels launched in order ---------*- C++ -*-===//
//
// What compileForGPU produces: the kernels of a spec (Hopper attention
// kernels and the generic kernels of lets, output expressions and attentions
// the Hopper kernel refuses) and the program that runs them: buffers (the
// spec's inputs and outputs, temporaries, LSEs) and steps, each a kernel with
// a buffer bound to every tensor it takes. attn-gpu-partition-program makes
// the program; GPUProgramRunner is the one way hosts run it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_GPU_GPUPROGRAM_H
#define ATTNC_GPU_GPUPROGRAM_H

#include "attnc/Runtime/attnc_runtime.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace attnc {

/// One compiled kernel: its name (the file stem of its artifacts), the
/// spec's attention it computes ("" for a generic kernel), the cubin and
/// PTX, and its manifest (JSON per docs/gpu-abi.md).
struct GPUKernelArtifact {
  std::string kernel;
  std::string attention;
  std::string cubin, ptx, manifest;
};

struct GPUProgram {
  struct Buffer {
    enum class Kind { Input, Output, Temp, Lse };
    std::string name;
    Kind kind = Kind::Temp;
    /// Input: the spec input; Output: the spec output; Lse: the output whose
    /// LSE this is (-1: none, a temporary).
    int index = -1;
    std::string dtype; ///< "bf16", "f32", "i32", "i1", ...
    std::vector<int64_t> shape; ///< -1: dynamic (an output's LSE follows the output)
  };
  struct Step {
    std::string kernel; ///< a GPUKernelArtifact's name
    /// Kernel tensor name ("q", "o", "t0", ...) -> buffer index.
    std::map<std::string, int> bind;
    /// Generic steps: why the Hopper kernel does not compute this.
    std::string reason;
  };
  std::vector<GPUKernelArtifact> kernels;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;

  /// The buffers and steps as JSON (the kernels travel as their own files).
  std::string printJSON() const;
  /// Reads printJSON's text into buffers and steps, checking every index.
  llvm::Error parseJSON(llvm::StringRef text);
  const GPUKernelArtifact *findKernel(llvm::StringRef name) const;
};

/// Runs a program on the GPU through the runtime: loads its kernels once,
/// keeps the temporaries per (device, stream), launches the steps in order.
class GPUProgramRunner {
public:
  static llvm::Expected<std::unique_ptr<GPUProgramRunner>> create(const GPUProgram &program);
  ~GPUProgramRunner();
  GPUProgramRunner(const GPUProgramRunner &) = delete;
  GPUProgramRunner &operator=(const GPUProgramRunner &) = delete;

  /// inputs and outputs: one device tensor per spec input and output; lse:
  /// null, or one f32 [B, H, Lq] tensor per output (each output must then
  /// have an LSE: outputHasLse). Errors: attnc_last_error().
  attnc_status run(const attnc_tensor *inputs, const attnc_tensor *outputs, const attnc_tensor *lse,
                   void *stream);
  /// Whether a kernel of the program writes output n's LSE.
  bool outputHasLse(int n) const;

  /// The loaded kernels, in step order (a kernel run by several steps once).
  const std::vector<attnc_kernel *> &kernels() const { return loaded; }
  /// Per loaded kernel: the spec output its attention writes, or -1.
  int kernelOutput(size_t k) const { return k < outputOf.size() ? outputOf[k] : -1; }

private:
  GPUProgramRunner() = default;
  attnc_status arenaFor(int device, void *stream, size_t bytes, char *&base);

  GPUProgram program;
  std::vector<attnc_kernel *> loaded;
  std::vector<int> outputOf;
  struct StepPlan {
    attnc_kernel *kernel;
    std::vector<int> bufferOf; ///< per kernel tensor, in launch order
  };
  std::vector<StepPlan> plan;
  std::mutex mu;
  /// (device, stream) -> the temporaries' arena and its size.
  std::map<std::pair<int, void *>, std::pair<void *, size_t>> arenas;
  std::vector<void *> retired;
};

} // namespace attnc

#endif // ATTNC_GPU_GPUPROGRAM_H
