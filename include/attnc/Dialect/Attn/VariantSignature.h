//===- VariantSignature.h - a variant's names, carried in the IR -*- C++ -*-===//
//
// The front end names what a variant's function takes and returns, so that
// backends (lib/CPU, lib/GPU) bind tensors by the spec's names without the
// spec's AST:
//   func.func @<variant>(... {attnc.name = "q", attnc.shape = ["B", "H", "L", "D"]})
//       -> (... {attnc.name = "o", attnc.shape = [...], attnc.attention = "a"})
//       attributes {attnc.dims = ["B", "H", "L", "D"]}
// attnc.attention names the attention an output is, when it is a bare
// attention result.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_DIALECT_ATTN_VARIANTSIGNATURE_H
#define ATTNC_DIALECT_ATTN_VARIANTSIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attnc::attn {

struct VariantSignature {
  struct Tensor {
    std::string name;
    std::vector<std::string> shape; ///< dim names and literals, outermost first
    std::string attention;          ///< outputs: the bare attention, or empty
  };
  std::string name; ///< the variant (the function's symbol)
  std::vector<std::string> dims;
  std::vector<Tensor> inputs, outputs;
};

/// Records SIG on FN (argument, result and function attributes).
void setVariantSignature(mlir::func::FuncOp fn, const VariantSignature &sig);

/// The module's variant function (the one carrying attnc.dims) and its names.
llvm::Expected<std::pair<mlir::func::FuncOp, VariantSignature>>
readVariantSignature(mlir::ModuleOp module);

} // namespace attnc::attn

#endif // ATTNC_DIALECT_ATTN_VARIANTSIGNATURE_H
