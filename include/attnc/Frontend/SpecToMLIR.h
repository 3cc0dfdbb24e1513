//===- SpecToMLIR.h - build attn IR from a checked spec ----------*- C++ -*-===//
#ifndef ATTNC_FRONTEND_SPECTOMLIR_H
#define ATTNC_FRONTEND_SPECTOMLIR_H

#include "attnc/Spec/ContextParallel.h"
#include "attnc/Spec/SpecAST.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

namespace attnc {

struct LoweringOptions {
  /// Sizes bound on the command line; unbound dims stay dynamic.
  llvm::StringMap<int64_t> dims;
  /// Element type of q, k, v and the results: 64, 32, or 16 (bf16 when
  /// `bfloat`, else f16). Other float inputs and scalar arithmetic use f64
  /// for 64 and f32 otherwise.
  unsigned floatBits = 32;
  bool bfloat = true;
  /// Context parallelism: each attention is one shard of itself, reading
  /// the `cp_offsets` input (spec::prepareContextParallel declares it).
  std::optional<spec::ContextShard> contextShard;
  /// The function also returns, after the outputs, the LSE (f32 [B, H, Lq])
  /// of each output that is an attention, in output order (the CPU target's
  /// counterpart of the GPU kernels' lse argument).
  bool returnLse = false;
};

/// Whether each input is read as integers (i32): carrier arguments
/// (seqlens, block lists) and inputs read only by masks; all else is float.
llvm::StringMap<bool> inferIntegerInputs(const spec::Spec &spec);

/// Builds `func @<variant>(inputs...) -> (outputs...)` holding attn ops.
/// Errors are reported through the context's diagnostics with the spec's
/// locations; returns null on error.
mlir::OwningOpRef<mlir::ModuleOp> buildModule(mlir::MLIRContext &ctx,
                                              const spec::Spec &spec,
                                              const LoweringOptions &options);

/// Loads the dialects the frontend and the CPU pipeline need.
void registerAttncDialects(mlir::DialectRegistry &registry);

} // namespace attnc

#endif // ATTNC_FRONTEND_SPECTOMLIR_H
