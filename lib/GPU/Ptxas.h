//===- Ptxas.h - the Hopper kernels' PTX to a cubin, with ptxas's report -*- C++ -*-===//
//
// The Hopper kernels are lowered to PTX once and assembled here, rather than
// lowered a second time through gpu-module-to-binary: one LLVM codegen per
// compile, and ptxas's -v report of each entry's spills, which the kernel
// plan reads back (CompileProgram.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_GPU_PTXAS_H
#define ATTNC_LIB_GPU_PTXAS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>

namespace attnc {

struct PtxasResult {
  std::string cubin;
  /// Bytes of spill stores per entry function.
  std::map<std::string, int64_t> spillStores;
};

/// Runs ptxas (CUDA_HOME/bin, /usr/local/cuda/bin, else PATH, as
/// gpu-module-to-binary finds it) on `ptx` for `chip` at -O3 with -v.
llvm::Expected<PtxasResult> assembleWithPtxas(llvm::StringRef ptx, llvm::StringRef chip);

/// The spill stores per entry in ptxas -v output (exposed for tests).
std::map<std::string, int64_t> parsePtxasSpills(llvm::StringRef report);

} // namespace attnc

#endif // ATTNC_LIB_GPU_PTXAS_H
