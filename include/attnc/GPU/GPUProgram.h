//===- GPUProgram.h - a spec as kernels launched in order ---------*- C++ -*-===//
//
// What compileForGPU produces: the kernels of a spec (Hopper attention
// kernels, and the generic kernels of lets, output expressions and
// attentions the Hopper kernel refuses) and the program that runs them
// (manifest::Program, attnc/Runtime/KernelManifest.h: buffers and steps).
// attn-gpu-partition-program makes the program; the runtime runs it
// (attnc_gpu_program_*), for every host alike.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_GPU_GPUPROGRAM_H
#define ATTNC_GPU_GPUPROGRAM_H

#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Runtime/attnc_runtime.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

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
  std::vector<GPUKernelArtifact> kernels;
  manifest::Program program;
  const GPUKernelArtifact *findKernel(llvm::StringRef name) const {
    for (const GPUKernelArtifact &k : kernels)
      if (k.kernel == name)
        return &k;
    return nullptr;
  }
};

/// The program in the runtime, its kernels loaded from memory (cubins).
llvm::Expected<attnc_gpu_program *> loadGPUProgram(const GPUProgram &program);

} // namespace attnc

#endif // ATTNC_GPU_GPUPROGRAM_H
