//===- GPUProgram.cpp - a compiled program into the runtime --------------===//
#include "attnc/GPU/GPUProgram.h"

using namespace attnc;

llvm::Expected<attnc_gpu_program *> attnc::loadGPUProgram(const GPUProgram &p) {
  std::vector<attnc_kernel *> kernels;
  std::vector<const char *> names;
  for (const GPUKernelArtifact &a : p.kernels) {
    attnc_kernel *k = nullptr;
    if (attnc_kernel_load_memory(a.manifest.data(), a.manifest.size(), a.cubin.data(), a.cubin.size(), &k) !=
        ATTNC_OK) {
      std::string err = std::string("kernel ") + a.kernel + ": " + attnc_last_error();
      for (attnc_kernel *loaded : kernels)
        attnc_kernel_free(loaded);
      return llvm::createStringError("%s", err.c_str());
    }
    kernels.push_back(k);
    names.push_back(a.kernel.c_str());
  }
  std::string json = manifest::printProgram(p.program);
  attnc_gpu_program *out = nullptr;
  if (attnc_gpu_program_load_memory(json.data(), json.size(), kernels.data(), names.data(), (int)kernels.size(),
                                    &out) != ATTNC_OK)
    return llvm::createStringError("%s", attnc_last_error());
  return out;
}
