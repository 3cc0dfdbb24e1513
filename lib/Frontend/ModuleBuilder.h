//===- ModuleBuilder.h - spec to attn IR, shared by its two files -*- C++ -*-===//
//
// Private to lib/Frontend. SpecToMLIR.cpp builds the function, lets,
// attentions and outputs; ExprToMLIR.cpp the scalar expressions inside them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_FRONTEND_MODULEBUILDER_H
#define ATTNC_LIB_FRONTEND_MODULEBUILDER_H

#include "attnc/Frontend/SpecToMLIR.h"
#include "attnc/Spec/SpecAST.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc::frontend {

using namespace mlir;
using namespace attnc::spec;

std::vector<int64_t> argList(const std::vector<Arg> &args, const std::string &key, size_t n,
                             int64_t dflt);

/// A typed scalar during expression emission.
enum class Kind { Int, Float, Bool };
struct TV {
  Value v;
  Kind k;
};

class ModuleBuilder {
public:
  ModuleBuilder(MLIRContext &ctx, const Spec &spec, const LoweringOptions &opts)
      : ctx(ctx), spec(spec), opts(opts), b(&ctx) {
    switch (opts.floatBits) {
    case 64: elem = b.getF64Type(); break;
    case 16: elem = opts.bfloat ? (Type)b.getBF16Type() : (Type)b.getF16Type(); break;
    default: elem = b.getF32Type(); break;
    }
    // Scalar arithmetic (regions, maps) runs in f32 for 16-bit tensors.
    scalar = opts.floatBits == 64 ? (Type)b.getF64Type() : (Type)b.getF32Type();
  }
  OwningOpRef<ModuleOp> build();

private:
  Location loc(const SourceLoc &l) {
    return FileLineColLoc::get(&ctx, l.file, l.line, l.col);
  }
  /// Extent `d` of input table `t` for a region body: a constant when static,
  /// else a tensor.dim beside the table's definition (a region may read the
  /// dims of its extras from above; the GPU kernel takes them as arguments).
  Value tableExtent(OpBuilder &eb, Location l, Value t, unsigned d) {
    auto ty = cast<RankedTensorType>(t.getType());
    if (!ty.isDynamicDim(d))
      return arith::ConstantIndexOp::create(eb, l, ty.getDimSize(d));
    OpBuilder ob(t.getContext());
    if (auto arg = dyn_cast<BlockArgument>(t))
      ob.setInsertionPointToStart(arg.getOwner());
    else
      ob.setInsertionPointAfter(t.getDefiningOp());
    return tensor::DimOp::create(ob, l, t, d);
  }

  InFlightDiagnostic error(const SourceLoc &l) {
    failedFlag = true;
    return emitError(loc(l));
  }

  /// Scalar scope for an expression: named index/float values.
  struct Scope {
    llvm::StringMap<TV> vars;
    /// Attention results addressable by name (output expressions).
    llvm::StringMap<Value> tensors;
    llvm::SmallVector<Value> indices;  // (b, h, i, d) for output lookups
  };
  std::optional<TV> emit(OpBuilder &eb, const Expr &e, const Scope &scope);
  std::optional<TV> emitIndex(OpBuilder &eb, const Expr &e, const Scope &scope);
  std::optional<TV> emitUnary(OpBuilder &eb, const Expr &e, const Scope &scope);
  std::optional<TV> emitBinary(OpBuilder &eb, const Expr &e, const Scope &scope);
  std::optional<TV> emitCall(OpBuilder &eb, const Expr &e, const Scope &scope);
  std::optional<TV> emitSum(OpBuilder &eb, const Expr &e, const Scope &scope);
  Value toFloat(OpBuilder &eb, Location l, TV x);
  Value dimValue(OpBuilder &eb, Location l, llvm::StringRef name);
  Value localDimValue(OpBuilder &eb, Location l, llvm::StringRef name);
  std::optional<double> foldConstant(const Expr &e);

  Value emitLet(const LetDecl &let);
  Value emitAttention(const AttentionDecl &a);
  LogicalResult carrierFamilies(const AttentionDecl &a,
                                llvm::function_ref<int64_t(const std::string &, const SourceLoc &)> extraIndex,
                                SmallVectorImpl<Attribute> &out);
  Value emitOutput(const OutputDecl &o);
  /// [B, H, X, Y] -> [B, H, Y, X]: tokens and features trade places
  /// (attention and norms along the feature axis). Layouts.cpp.
  Value swapTokensFeatures(Location l, Value t);
  /// Under `axis features`, q and k share their tokens and k and v their
  /// channels; a static mismatch is reported in the spec's terms.
  LogicalResult checkFeatureAxisShapes(const AttentionDecl &a, Value q, Value k, Value v);
  RankedTensorType inputType(const InputDecl &in);
  Value widenFloat8(Value arg, Type to, llvm::StringRef name);

  MLIRContext &ctx;
  const Spec &spec;
  const LoweringOptions &opts;
  OpBuilder b;
  Type elem;    // element type of q/k/v-like tensors and results
  Type scalar;  // type of scalar arithmetic and of the other float inputs
  bool failedFlag = false;
  llvm::StringMap<bool> attentionOperands;  // inputs that feed q/k/v
  Value toElem(OpBuilder &eb, Location l, Value v) {
    return v.getType() == elem ? v : arith::TruncFOp::create(eb, l, elem, v).getResult();
  }
  Value toScalar(OpBuilder &eb, Location l, Value v) {
    return v.getType() == scalar ? v : arith::ExtFOp::create(eb, l, scalar, v).getResult();
  }
  llvm::StringMap<bool> integerInputs;
  llvm::StringMap<Value> tensors;          // inputs, lets, attentions
  llvm::StringMap<const InputDecl *> inputDecls;
  llvm::StringMap<Value> dimCache;         // dims read at function entry
  Block *entry = nullptr;
};

} // namespace attnc::frontend

#endif // ATTNC_LIB_FRONTEND_MODULEBUILDER_H
