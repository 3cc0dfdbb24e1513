//===- CPUObject.h - ahead-of-time CPU artifacts -----------------*- C++ -*-===//
#ifndef ATTNC_CPU_CPUOBJECT_H
#define ATTNC_CPU_CPUOBJECT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace attnc {

/// Writes DIR/<variant>.o (host object: `_mlir_ciface_<variant>` plus the
/// memref-ABI function), DIR/<variant>.h (C declarations and a wrapper over
/// contiguous buffers) and DIR/<variant>.json (the manifest). `module` is at
/// the attn level; unbound dims stay dynamic and are read from the buffers'
/// descriptors at run time.
/// The names come from the variant function's attributes
/// (attnc/Dialect/Attn/VariantSignature.h).
llvm::Error writeCPUArtifacts(mlir::ModuleOp module, unsigned floatBits, llvm::StringRef dir);

} // namespace attnc

#endif // ATTNC_CPU_CPUOBJECT_H
