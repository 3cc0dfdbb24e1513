//===- SpecToMLIR.cpp - build attn IR from a checked spec ----------------===//
//
// One func per spec: inputs are its arguments, outputs its results. Each
// `let` becomes a prologue op, each `attention` an attn.attention whose
// mask and score regions hold the spec's expressions, each `output` an
// attn.map. Expressions are typed as index (integers), float or i1.
//
//===----------------------------------------------------------------------===//
#include "attnc/Frontend/SpecToMLIR.h"
#include "Signature.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace attnc;
using namespace attnc::spec;

void attnc::registerAttncDialects(DialectRegistry &registry) {
  registry.insert<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect,
                  linalg::LinalgDialect, memref::MemRefDialect,
                  bufferization::BufferizationDialect, LLVM::LLVMDialect,
                  affine::AffineDialect, index::IndexDialect,
                  cf::ControlFlowDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // The GPU pipeline lowers through gpu/nvgpu/nvvm with the dialects'
  // to-LLVM interfaces and translates NVVM to LLVM IR.
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}

namespace {

std::string argWord(const std::vector<Arg> &args, llvm::StringRef key) {
  for (const Arg &a : args)
    if (a.key == key && a.kind == Arg::Kind::Word)
      return a.word;
  return "";
}
const Arg *findArg(const std::vector<Arg> &args, llvm::StringRef key) {
  for (const Arg &a : args)
    if (a.key == key)
      return &a;
  return nullptr;
}
double argNumber(const std::vector<Arg> &args, llvm::StringRef key, double dflt) {
  const Arg *a = findArg(args, key);
  return a && a->kind == Arg::Kind::Number ? a->number : dflt;
}
std::vector<int64_t> argList(const std::vector<Arg> &args, llvm::StringRef key,
                             size_t n, int64_t dflt) {
  const Arg *a = findArg(args, key);
  std::vector<int64_t> out;
  if (!a) {
    out.assign(n, dflt);
    return out;
  }
  auto one = [](const Arg &x) -> int64_t {
    if (x.kind == Arg::Kind::Word)
      return x.word == "true" ? 1 : 0;
    return (int64_t)x.number;
  };
  if (a->kind == Arg::Kind::List)
    for (const Arg &x : a->list)
      out.push_back(one(x));
  else
    out.push_back(one(*a));
  return out;
}

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
  std::optional<TV> emitSum(OpBuilder &eb, const Expr &e, const Scope &scope);
  Value toFloat(OpBuilder &eb, Location l, TV x);
  Value dimValue(OpBuilder &eb, Location l, llvm::StringRef name);
  std::optional<double> foldConstant(const Expr &e);

  Value emitLet(const LetDecl &let);
  Value emitAttention(const AttentionDecl &a);
  Value emitOutput(const OutputDecl &o);
  RankedTensorType inputType(const InputDecl &in);

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

RankedTensorType ModuleBuilder::inputType(const InputDecl &in) {
  SmallVector<int64_t> shape;
  for (const std::string &d : in.shape) {
    int64_t lit;
    if (!llvm::StringRef(d).getAsInteger(10, lit))
      shape.push_back(lit);
    else if (auto it = opts.dims.find(d); it != opts.dims.end())
      shape.push_back(it->second);
    else
      shape.push_back(ShapedType::kDynamic);
  }
  Type et = integerInputs.lookup(in.name)      ? (Type)b.getI32Type()
            : attentionOperands.lookup(in.name) ? elem
                                                : scalar;
  return RankedTensorType::get(shape, et);
}

/// A dim as an index value: a constant when bound, else read once at entry
/// from the first input that has it in its shape.
Value ModuleBuilder::dimValue(OpBuilder &eb, Location l, llvm::StringRef name) {
  if (auto it = opts.dims.find(name); it != opts.dims.end())
    return arith::ConstantIndexOp::create(eb, l, it->second);
  if (auto it = dimCache.find(name); it != dimCache.end())
    return it->second;
  for (const InputDecl &in : spec.inputs)
    for (auto [pos, d] : llvm::enumerate(in.shape))
      if (d == name) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(entry);
        Value v = tensor::DimOp::create(b, l, tensors.lookup(in.name), pos);
        dimCache[name] = v;
        return v;
      }
  return nullptr;
}

Value ModuleBuilder::toFloat(OpBuilder &eb, Location l, TV x) {
  if (x.k == Kind::Float)
    return x.v;
  if (x.k == Kind::Bool)
    return arith::UIToFPOp::create(eb, l, scalar, x.v);
  Value i64 = arith::IndexCastOp::create(eb, l, eb.getI64Type(), x.v);
  return arith::SIToFPOp::create(eb, l, scalar, i64);
}

std::optional<double> ModuleBuilder::foldConstant(const Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Number:
    return e.number;
  case Expr::Kind::Ident:
    if (auto it = opts.dims.find(e.name); it != opts.dims.end())
      return (double)it->second;
    return std::nullopt;
  case Expr::Kind::Unary:
    if (e.name == "-")
      if (auto x = foldConstant(*e.args[0]))
        return -*x;
    return std::nullopt;
  case Expr::Kind::Binary: {
    auto x = foldConstant(*e.args[0]), y = foldConstant(*e.args[1]);
    if (!x || !y)
      return std::nullopt;
    if (e.name == "+") return *x + *y;
    if (e.name == "-") return *x - *y;
    if (e.name == "*") return *x * *y;
    if (e.name == "/") return *x / *y;
    if (e.name == "^") return std::pow(*x, *y);
    return std::nullopt;
  }
  case Expr::Kind::Call: {
    std::vector<double> a;
    for (const ExprPtr &x : e.args) {
      auto v = foldConstant(*x);
      if (!v)
        return std::nullopt;
      a.push_back(*v);
    }
    if (e.name == "sqrt" && a.size() == 1) return std::sqrt(a[0]);
    if (e.name == "exp" && a.size() == 1) return std::exp(a[0]);
    if (e.name == "log" && a.size() == 1) return std::log(a[0]);
    if (e.name == "pow" && a.size() == 2) return std::pow(a[0], a[1]);
    if (e.name == "exp2" && a.size() == 1) return std::exp2(a[0]);
    if (e.name == "log2" && a.size() == 1) return std::log2(a[0]);
    return std::nullopt;
  }
  default:
    return std::nullopt;
  }
}

/// sum(r, EXPR) as a loop over the extent of the first axis r subscripts
/// alone (Sema checked that there is one), accumulating in the float type.
std::optional<TV> ModuleBuilder::emitSum(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
  const std::string &var = e.args[0]->name;
  Value table;
  unsigned axis = 0;
  forEachName(e.args[1], [&](const Expr &x) {
    if (table || x.kind != Expr::Kind::Index)
      return;
    for (auto [n, a] : llvm::enumerate(x.args))
      if (a->kind == Expr::Kind::Ident && a->name == var && !table) {
        table = tensors.lookup(x.name);
        axis = n;
      }
  });
  if (!table) {
    error(e.loc) << "cannot tell the range of '" << var << "'";
    return std::nullopt;
  }
  Value extent = tableExtent(eb, l, table, axis);
  Type ft = scalar; // the regions' float type (f32 at least)
  Value zero = arith::ConstantOp::create(eb, l, eb.getFloatAttr(ft, 0.0));
  auto loop = scf::ForOp::create(eb, l, arith::ConstantIndexOp::create(eb, l, 0), extent,
                                 arith::ConstantIndexOp::create(eb, l, 1), ValueRange{zero});
  OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
  Scope inner = scope;
  inner.vars[var] = TV{loop.getInductionVar(), Kind::Int};
  auto body = emit(lb, *e.args[1], inner);
  if (!body)
    return std::nullopt;
  Value term = toFloat(lb, l, *body);
  scf::YieldOp::create(lb, l, ValueRange{arith::AddFOp::create(lb, l, loop.getRegionIterArg(0), term)});
  Value r = loop.getResult(0);
  return TV{r, Kind::Float};
}

std::optional<TV> ModuleBuilder::emit(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
  auto fconst = [&](double v) { return arith::ConstantOp::create(eb, l, eb.getFloatAttr(scalar, v)).getResult(); };
  switch (e.kind) {
  case Expr::Kind::Number:
    if (e.isInteger)
      return TV{arith::ConstantIndexOp::create(eb, l, (int64_t)e.number), Kind::Int};
    return TV{fconst(e.number), Kind::Float};
  case Expr::Kind::Ident: {
    if (auto it = scope.vars.find(e.name); it != scope.vars.end())
      return it->second;
    if (auto it = scope.tensors.find(e.name); it != scope.tensors.end())
      return TV{toScalar(eb, l, tensor::ExtractOp::create(eb, l, it->second, scope.indices)),
                Kind::Float};
    if (Value d = dimValue(eb, l, e.name))
      return TV{d, Kind::Int};
    if (llvm::is_contained(spec.dims, e.name))
      error(e.loc) << "dim '" << e.name << "' is not the extent of any input, so its value "
                   << "must be given: bind it with --dim " << e.name << "=VALUE";
    else
      error(e.loc) << "'" << e.name << "' is not available here";
    return std::nullopt;
  }
  case Expr::Kind::Index: {
    Value t = tensors.lookup(e.name);
    if (!t || !inputDecls.count(e.name)) {
      error(e.loc) << "'" << e.name << "' is not an input tensor";
      return std::nullopt;
    }
    SmallVector<Value> idx;
    for (const ExprPtr &a : e.args) {
      auto x = emit(eb, *a, scope);
      if (!x)
        return std::nullopt;
      if (x->k != Kind::Int) {
        auto diag = error(a->loc);
        diag << "subscripts of '" << e.name << "' must be integers";
        // Where a float subscript most often comes from: a table whose type
        // was inferred as float because a score line reads it.
        std::string table;
        forEachName(a, [&](const Expr &x) {
          if (auto it = inputDecls.find(x.name); table.empty() && x.kind == Expr::Kind::Index &&
                                                 it != inputDecls.end() && it->second->dtype.empty() &&
                                                 !integerInputs.lookup(x.name))
            table = x.name;
        });
        if (!table.empty())
          diag << "; '" << table << "' is a float input because a score line, let or output reads "
               << "it (inputs read only by mask lines and carriers are integers): declare it `input "
               << table << " : [...] i32`";
        return std::nullopt;
      }
      // Out-of-range subscripts are clamped to the table's edge
      // (docs/semantics.md): no backend reads out of bounds, and a relative
      // position table extends its edge values, as T5's clipped buckets do.
      Value last = arith::SubIOp::create(eb, l, tableExtent(eb, l, t, idx.size()),
                                         arith::ConstantIndexOp::create(eb, l, 1));
      Value lo = arith::MaxSIOp::create(eb, l, x->v, arith::ConstantIndexOp::create(eb, l, 0));
      idx.push_back(arith::MinSIOp::create(eb, l, lo, last));
    }
    Value v = tensor::ExtractOp::create(eb, l, t, idx);
    if (v.getType().isInteger(32))
      return TV{arith::IndexCastOp::create(eb, l, eb.getIndexType(), v), Kind::Int};
    return TV{toScalar(eb, l, v), Kind::Float};
  }
  case Expr::Kind::Unary: {
    auto x = emit(eb, *e.args[0], scope);
    if (!x)
      return std::nullopt;
    if (e.name == "!") {
      Value t = arith::ConstantIntOp::create(eb, l, 1, 1);
      return TV{arith::XOrIOp::create(eb, l, x->v, t), Kind::Bool};
    }
    if (x->k == Kind::Int)
      return TV{arith::SubIOp::create(eb, l, arith::ConstantIndexOp::create(eb, l, 0), x->v), Kind::Int};
    return TV{arith::NegFOp::create(eb, l, toFloat(eb, l, *x)), Kind::Float};
  }
  case Expr::Kind::Binary: {
    auto x = emit(eb, *e.args[0], scope);
    auto y = x ? emit(eb, *e.args[1], scope) : std::nullopt;
    if (!x || !y)
      return std::nullopt;
    const std::string &op = e.name;
    if (op == "&&" || op == "||") {
      if (x->k != Kind::Bool || y->k != Kind::Bool) {
        error(e.loc) << "'" << op << "' needs two conditions";
        return std::nullopt;
      }
      Value r = op == "&&" ? arith::AndIOp::create(eb, l, x->v, y->v).getResult()
                           : arith::OrIOp::create(eb, l, x->v, y->v).getResult();
      return TV{r, Kind::Bool};
    }
    if (x->k == Kind::Bool || y->k == Kind::Bool) {
      error(e.loc) << "'" << op << "' cannot take a condition";
      return std::nullopt;
    }
    bool ints = x->k == Kind::Int && y->k == Kind::Int;
    static const llvm::StringMap<std::pair<arith::CmpIPredicate, arith::CmpFPredicate>> cmps = {
        {"==", {arith::CmpIPredicate::eq, arith::CmpFPredicate::OEQ}},
        {"!=", {arith::CmpIPredicate::ne, arith::CmpFPredicate::UNE}},
        {"<", {arith::CmpIPredicate::slt, arith::CmpFPredicate::OLT}},
        {"<=", {arith::CmpIPredicate::sle, arith::CmpFPredicate::OLE}},
        {">", {arith::CmpIPredicate::sgt, arith::CmpFPredicate::OGT}},
        {">=", {arith::CmpIPredicate::sge, arith::CmpFPredicate::OGE}}};
    if (auto it = cmps.find(op); it != cmps.end()) {
      if (ints)
        return TV{arith::CmpIOp::create(eb, l, it->second.first, x->v, y->v), Kind::Bool};
      return TV{arith::CmpFOp::create(eb, l, it->second.second, toFloat(eb, l, *x),
                                      toFloat(eb, l, *y)),
                Kind::Bool};
    }
    bool bitwise = op == "&" || op == "|" || op == "<<" || op == ">>";
    if (bitwise && !ints) {
      error(e.loc) << "bitwise '" << op << "' needs integers (index variables, dims, integer "
                   << "inputs, whole numbers), but its " << (x->k == Kind::Int ? "right" : "left")
                   << " operand is a float";
      return std::nullopt;
    }
    if (ints && op != "/" && op != "^") {
      Value r;
      if (op == "&") r = arith::AndIOp::create(eb, l, x->v, y->v);
      else if (op == "|") r = arith::OrIOp::create(eb, l, x->v, y->v);
      else if (op == "<<" || op == ">>") {
        // Counts outside [0, 63] are clamped (docs/semantics.md): a shift by
        // the width or more is poison in LLVM.
        Type t = x->v.getType();
        Value n = arith::MinSIOp::create(
            eb, l, arith::MaxSIOp::create(eb, l, y->v, arith::ConstantOp::create(eb, l, eb.getZeroAttr(t))),
            arith::ConstantOp::create(eb, l, eb.getIntegerAttr(t, 63)));
        r = op == "<<" ? arith::ShLIOp::create(eb, l, x->v, n).getResult()
                       : arith::ShRSIOp::create(eb, l, x->v, n).getResult();
      }
      else if (op == "+") r = arith::AddIOp::create(eb, l, x->v, y->v);
      else if (op == "-") r = arith::SubIOp::create(eb, l, x->v, y->v);
      else if (op == "*") r = arith::MulIOp::create(eb, l, x->v, y->v);
      else if (op == "//" || op == "%") {
        // Floor division; by zero it is 0 (docs/semantics.md), so that the
        // identity x == (x // y) * y + x % y gives x % 0 == x. The divisor is
        // replaced by 1 before dividing: division by zero is undefined
        // behaviour in LLVM and gave arbitrary results.
        // A nonzero constant divisor needs no guard (and keeps the plain
        // form that the GPU's mask bounds and LLVM's strength reduction
        // understand).
        Type t = x->v.getType();
        APInt divisor;
        Value q;
        if (matchPattern(y->v, m_ConstantInt(&divisor)) && !divisor.isZero()) {
          q = arith::FloorDivSIOp::create(eb, l, x->v, y->v);
        } else {
          Value zero = arith::ConstantOp::create(eb, l, eb.getZeroAttr(t));
          Value one = arith::ConstantOp::create(eb, l, eb.getIntegerAttr(t, 1));
          Value isZero = arith::CmpIOp::create(eb, l, arith::CmpIPredicate::eq, y->v, zero);
          Value safe = arith::SelectOp::create(eb, l, isZero, one, y->v);
          q = arith::SelectOp::create(eb, l, isZero, zero,
                                      arith::FloorDivSIOp::create(eb, l, x->v, safe));
        }
        // Python-style modulo: the result takes the divisor's sign.
        r = op == "//" ? q
                       : arith::SubIOp::create(eb, l, x->v, arith::MulIOp::create(eb, l, q, y->v))
                             .getResult();
      }
      if (r)
        return TV{r, Kind::Int};
    }
    Value fx = toFloat(eb, l, *x), fy = toFloat(eb, l, *y);
    Value r;
    if (op == "+") r = arith::AddFOp::create(eb, l, fx, fy);
    else if (op == "-") r = arith::SubFOp::create(eb, l, fx, fy);
    else if (op == "*") r = arith::MulFOp::create(eb, l, fx, fy);
    else if (op == "/") r = arith::DivFOp::create(eb, l, fx, fy);
    else if (op == "^") r = math::PowFOp::create(eb, l, fx, fy);
    else if (op == "//") r = math::FloorOp::create(eb, l, arith::DivFOp::create(eb, l, fx, fy));
    else if (op == "%") r = arith::RemFOp::create(eb, l, fx, fy);
    if (!r) {
      error(e.loc) << "unknown operator '" << op << "'";
      return std::nullopt;
    }
    return TV{r, Kind::Float};
  }
  case Expr::Kind::Call: {
    if (e.name == "sum")
      return emitSum(eb, e, scope);
    SmallVector<TV> a;
    for (const ExprPtr &x : e.args) {
      auto v = emit(eb, *x, scope);
      if (!v)
        return std::nullopt;
      a.push_back(*v);
    }
    const std::string &fn = e.name;
    auto arity = [&](size_t n) {
      if (a.size() == n)
        return true;
      error(e.loc) << "'" << fn << "' takes " << n << " argument" << (n == 1 ? "" : "s");
      return false;
    };
    if (fn == "select") {
      if (!arity(3))
        return std::nullopt;
      if (a[0].k != Kind::Bool) {
        error(e.args[0]->loc) << "select's first argument must be a condition";
        return std::nullopt;
      }
      if (a[1].k == Kind::Int && a[2].k == Kind::Int)
        return TV{arith::SelectOp::create(eb, l, a[0].v, a[1].v, a[2].v), Kind::Int};
      return TV{arith::SelectOp::create(eb, l, a[0].v, toFloat(eb, l, a[1]), toFloat(eb, l, a[2])),
                Kind::Float};
    }
    for (const TV &x : a)
      if (x.k == Kind::Bool) {
        error(e.loc) << "'" << fn << "' cannot take a condition";
        return std::nullopt;
      }
    if ((fn == "min" || fn == "max") && arity(2)) {
      if (a[0].k == Kind::Int && a[1].k == Kind::Int)
        return TV{fn == "min" ? arith::MinSIOp::create(eb, l, a[0].v, a[1].v).getResult()
                              : arith::MaxSIOp::create(eb, l, a[0].v, a[1].v).getResult(),
                  Kind::Int};
      Value x = toFloat(eb, l, a[0]), y = toFloat(eb, l, a[1]);
      return TV{fn == "min" ? arith::MinimumFOp::create(eb, l, x, y).getResult()
                            : arith::MaximumFOp::create(eb, l, x, y).getResult(),
                Kind::Float};
    }
    if (fn == "min" || fn == "max")
      return std::nullopt;
    if (fn == "xor") {
      if (!arity(2))
        return std::nullopt;
      if (a[0].k != Kind::Int || a[1].k != Kind::Int) {
        error(e.loc) << "'xor' needs integers (index variables, dims, integer inputs, whole "
                        "numbers); '^' is the power";
        return std::nullopt;
      }
      return TV{arith::XOrIOp::create(eb, l, a[0].v, a[1].v), Kind::Int};
    }
    if ((fn == "pow" || fn == "softcap") && !arity(2))
      return std::nullopt;
    if (fn != "pow" && fn != "softcap" && !arity(1))
      return std::nullopt;
    if (fn == "abs" && a[0].k == Kind::Int)
      return TV{math::AbsIOp::create(eb, l, a[0].v), Kind::Int};
    if (fn == "floor" && a[0].k == Kind::Int)
      return a[0];
    Value x = toFloat(eb, l, a[0]);
    auto one = [&] { return fconst(1.0); };
    Value r;
    if (fn == "exp") r = math::ExpOp::create(eb, l, x);
    else if (fn == "log") r = math::LogOp::create(eb, l, x);
    else if (fn == "tanh") r = math::TanhOp::create(eb, l, x);
    else if (fn == "sin") r = math::SinOp::create(eb, l, x);
    else if (fn == "cos") r = math::CosOp::create(eb, l, x);
    else if (fn == "tan") r = math::TanOp::create(eb, l, x);
    else if (fn == "erf") r = math::ErfOp::create(eb, l, x);
    else if (fn == "log2") r = math::Log2Op::create(eb, l, x);
    else if (fn == "exp2") r = math::Exp2Op::create(eb, l, x);
    else if (fn == "gelu") // exact form: x / 2 * (1 + erf(x / sqrt(2)))
      r = arith::MulFOp::create(
          eb, l, arith::MulFOp::create(eb, l, fconst(0.5), x),
          arith::AddFOp::create(eb, l, one(),
                                math::ErfOp::create(eb, l, arith::MulFOp::create(eb, l, x, fconst(0.7071067811865476)))));
    else if (fn == "sqrt") r = math::SqrtOp::create(eb, l, x);
    else if (fn == "abs") r = math::AbsFOp::create(eb, l, x);
    else if (fn == "floor") r = math::FloorOp::create(eb, l, x);
    else if (fn == "sigmoid")
      r = arith::DivFOp::create(eb, l, one(),
                                arith::AddFOp::create(eb, l, one(), math::ExpOp::create(eb, l, arith::NegFOp::create(eb, l, x))));
    else if (fn == "relu") r = arith::MaximumFOp::create(eb, l, x, fconst(0.0));
    else if (fn == "elu") {
      Value pos = arith::CmpFOp::create(eb, l, arith::CmpFPredicate::OGT, x, fconst(0.0));
      r = arith::SelectOp::create(eb, l, pos, x, math::ExpM1Op::create(eb, l, x));
    } else if (fn == "silu")
      r = arith::DivFOp::create(eb, l, x,
                                arith::AddFOp::create(eb, l, one(), math::ExpOp::create(eb, l, arith::NegFOp::create(eb, l, x))));
    else if (fn == "sign") {
      Value pos = arith::CmpFOp::create(eb, l, arith::CmpFPredicate::OGT, x, fconst(0.0));
      Value neg = arith::CmpFOp::create(eb, l, arith::CmpFPredicate::OLT, x, fconst(0.0));
      r = arith::SelectOp::create(eb, l, pos, one(),
                                  arith::SelectOp::create(eb, l, neg, fconst(-1.0), fconst(0.0)));
    } else if (fn == "softplus") r = math::Log1pOp::create(eb, l, math::ExpOp::create(eb, l, x));
    else if (fn == "pow") r = math::PowFOp::create(eb, l, x, toFloat(eb, l, a[1]));
    else if (fn == "softcap") {
      Value c = toFloat(eb, l, a[1]);
      r = arith::MulFOp::create(eb, l, c, math::TanhOp::create(eb, l, arith::DivFOp::create(eb, l, x, c)));
    }
    if (!r) {
      error(e.loc) << "unknown function '" << fn << "'";
      return std::nullopt;
    }
    return TV{r, Kind::Float};
  }
  }
  return std::nullopt;
}

Value ModuleBuilder::emitLet(const LetDecl &let) {
  Location l = loc(let.loc);
  Value src = tensors.lookup(let.source);
  if (!src) {
    error(let.loc) << "unknown tensor '" << let.source << "'";
    return nullptr;
  }
  auto ty = cast<RankedTensorType>(src.getType());
  if (let.fn == "rope")
    return attn::RopeOp::create(b, l, ty, src,
                                b.getF64FloatAttr(argNumber(let.args, "theta", 10000.0)),
                                b.getI64IntegerAttr((int64_t)argNumber(let.args, "offset", 0)));
  if (let.fn == "l2norm" || let.fn == "rmsnorm")
    return attn::RowNormOp::create(
        b, l, ty, src,
        attn::RowNormKindAttr::get(&ctx, let.fn == "l2norm" ? attn::RowNormKind::l2
                                                            : attn::RowNormKind::rms),
        b.getF64FloatAttr(argNumber(let.args, "eps", 1e-6)));
  if (let.fn == "map") {
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < ty.getRank(); ++d)
      if (ty.isDynamicDim(d))
        sizes.push_back(tensor::DimOp::create(b, l, src, d));
    auto op = attn::MapOp::create(b, l, ty, ValueRange{src},
                                  b.getAffineMapArrayAttr({b.getMultiDimIdentityMap(ty.getRank())}),
                                  sizes);
    Block *blk = new Block();
    op.getBody().push_back(blk);
    Scope scope;
    static const char *names[] = {"b", "h", "i", "d"};
    for (int64_t d = 0; d < ty.getRank(); ++d) {
      Value a = blk->addArgument(b.getIndexType(), l);
      if (ty.getRank() == 4)
        scope.vars[names[d]] = TV{a, Kind::Int};
    }
    Value x = blk->addArgument(ty.getElementType(), l);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    scope.vars["x"] = TV{toScalar(eb, l, x), Kind::Float};
    auto v = emit(eb, *let.expr, scope);
    if (!v)
      return nullptr;
    if (v->k == Kind::Bool) {
      error(let.expr->loc) << "map expression must be a number, not a condition";
      return nullptr;
    }
    attn::YieldOp::create(eb, l, toElem(eb, l, toFloat(eb, l, *v)));
    return op.getResult();
  }
  error(let.loc) << "unknown transform '" << let.fn << "'";
  return nullptr;
}

Value ModuleBuilder::emitAttention(const AttentionDecl &a) {
  // The name travels with the op so that tools can report per attention.
  Location l = NameLoc::get(b.getStringAttr(a.name), loc(a.loc));
  Value q = tensors.lookup(a.q), k = tensors.lookup(a.k), v = tensors.lookup(a.v);
  for (auto [name, t] : {std::pair<const std::string &, Value>{a.q, q}, {a.k, k}, {a.v, v}})
    if (!t || cast<RankedTensorType>(t.getType()).getRank() != 4 ||
        !isa<FloatType>(cast<RankedTensorType>(t.getType()).getElementType())) {
      error(a.loc) << "'" << name << "' must be a float tensor [B, H, L, D]";
      return nullptr;
    }
  auto qt = cast<RankedTensorType>(q.getType()), kt = cast<RankedTensorType>(k.getType()),
       vt = cast<RankedTensorType>(v.getType());
  int64_t h = ShapedType::kDynamic;
  if (!qt.isDynamicDim(1) && !kt.isDynamicDim(1))
    h = std::max(qt.getDimSize(1), kt.getDimSize(1));
  auto resultTy = RankedTensorType::get({qt.getDimSize(0), h, qt.getDimSize(2), vt.getDimSize(3)}, elem);

  // Extras: every input tensor the variant reads besides Q, K, V.
  llvm::SetVector<Value> extras;
  auto extraIndex = [&](const std::string &name, const SourceLoc &where) -> int64_t {
    Value t = tensors.lookup(name);
    if (!t || !inputDecls.count(name)) {
      error(where) << "'" << name << "' is not an input tensor";
      return -1;
    }
    extras.insert(t);
    return std::find(extras.begin(), extras.end(), t) - extras.begin();
  };
  auto collect = [&](const ExprPtr &e) {
    forEachName(e, [&](const Expr &x) {
      if (x.kind == Expr::Kind::Index)
        extraIndex(x.name, x.loc);
    });
  };
  for (const ExprPtr &m : a.masks) collect(m);
  for (const ExprPtr &s : a.scores) collect(s);

  SmallVector<Attribute> carrier;
  for (const CarrierDecl &c : a.carriers) {
    auto align = argWord(c.args, "align") == "top_left" ? attn::Align::top_left
                                                          : attn::Align::bottom_right;
    if (c.kind == "causal") {
      carrier.push_back(attn::CausalAttr::get(&ctx, align));
    } else if (c.kind == "window") {
      carrier.push_back(attn::WindowAttr::get(&ctx, (int64_t)argNumber(c.args, "left", 0),
                                              (int64_t)argNumber(c.args, "right", 0),
                                              (int64_t)argNumber(c.args, "sinks", 0), align));
    } else if (c.kind == "document") {
      int64_t idx = extraIndex(argWord(c.args, "seqlens"), c.loc);
      carrier.push_back(attn::DocumentAttr::get(&ctx, idx));
    } else if (c.kind == "prefix") {
      carrier.push_back(attn::PrefixAttr::get(&ctx, (int64_t)argNumber(c.args, "length", 0)));
    } else if (c.kind == "neighborhood") {
      std::vector<int64_t> grid = argList(c.args, "grid", 0, 0);
      size_t n = grid.size();
      std::vector<int64_t> causal = argList(c.args, "causal", n, 0);
      SmallVector<bool> causalB(causal.begin(), causal.end());
      std::vector<int64_t> window = argList(c.args, "window", n, 1),
                           dilation = argList(c.args, "dilation", n, 1),
                           stride = argList(c.args, "stride", n, 1);
      if (failed(attn::NeighborhoodAttr::verify([&] { return error(c.loc); }, grid, window,
                                                 dilation, stride, causalB)))
        return nullptr;
      carrier.push_back(attn::NeighborhoodAttr::get(&ctx, grid, window, dilation, stride, causalB));
    } else if (c.kind == "block_list") {
      int64_t off = extraIndex(argWord(c.args, "offsets"), c.loc);
      int64_t idx = extraIndex(argWord(c.args, "indices"), c.loc);
      carrier.push_back(attn::BlockListAttr::get(&ctx, (int64_t)argNumber(c.args, "q_block", 64),
                                                 (int64_t)argNumber(c.args, "k_block", 64), off, idx));
    } else if (c.kind == "block_select") {
      std::string pool = argWord(c.args, "pool"), force = argWord(c.args, "force");
      const Arg *thr = findArg(c.args, "threshold");
      carrier.push_back(attn::BlockSelectAttr::get(
          &ctx, (int64_t)argNumber(c.args, "q_block", 64), (int64_t)argNumber(c.args, "k_block", 64),
          pool == "antidiagonal" ? attn::BlockPool::antidiagonal : attn::BlockPool::mean,
          (int64_t)argNumber(c.args, "stride", pool == "antidiagonal" ? 8 : 1),
          (int64_t)argNumber(c.args, "top_k", 0),
          thr ? b.getF64FloatAttr(thr->number) : FloatAttr(), force == "first" || force == "both",
          force == "last" || force == "both"));
    } else {
      error(c.loc) << "unknown carrier '" << c.kind << "'";
      return nullptr;
    }
  }
  attn::ScoreConvAttr conv;
  if (a.scoreConv) {
    int64_t w = extraIndex(a.scoreConv->weight, a.scoreConv->loc);
    conv = attn::ScoreConvAttr::get(&ctx, a.scoreConv->queries, a.scoreConv->keys, w);
  }
  // Anchor and link.
  auto link = attn::symbolizeLink(a.link);
  auto anchor = attn::symbolizeAnchor(a.anchor);
  if (!link) {
    error(a.linkLoc) << "unknown link '" << a.link << "'";
    return nullptr;
  }
  if (!anchor) {
    error(a.anchorLoc) << "unknown anchor '" << a.anchor << "'";
    return nullptr;
  }
  std::optional<double> power, nullLogit;
  std::optional<int64_t> nullExtra, iterations;
  if (const Arg *p = findArg(a.linkArgs, "power"))
    power = p->number;
  if (const Arg *n = findArg(a.anchorArgs, "null")) {
    if (n->kind == Arg::Kind::Number)
      nullLogit = n->number;
    else
      nullExtra = extraIndex(n->word, n->loc);
  }
  if (const Arg *it = findArg(a.anchorArgs, "iterations"))
    iterations = (int64_t)it->number;
  // scale: a constant folds into the op; anything else becomes the first
  // score modification (after a unit scale).
  FloatAttr scale;
  const Expr *dynamicScale = nullptr;
  if (a.scale) {
    if (auto c = foldConstant(**a.scale))
      scale = b.getF64FloatAttr(*c);
    else {
      scale = b.getF64FloatAttr(1.0);
      dynamicScale = a.scale->get();
      collect(*a.scale);
    }
  }
  if (failedFlag)
    return nullptr;
  // Sema has checked the parameters; getChecked reports at the spec's
  // location should the attributes' rules ever be stricter.
  auto linkAttr = attn::LinkAttr::getChecked([&] { return error(a.linkLoc); }, &ctx,
                                             *link, power);
  auto anchorAttr = attn::AnchorAttr::getChecked([&] { return error(a.anchorLoc); }, &ctx,
                                                 *anchor, nullLogit, nullExtra, iterations);
  if (!linkAttr || !anchorAttr)
    return nullptr;

  SmallVector<Value> extraVals(extras.begin(), extras.end());
  OperationState state(l, attn::AttentionOp::getOperationName());
  attn::AttentionOp::build(b, state, resultTy, q, k, v, extraVals, b.getArrayAttr(carrier),
                           scale, linkAttr, anchorAttr, conv, a.signedWeights ? b.getUnitAttr() : UnitAttr(),
                           b.getI64IntegerAttr(a.splitKV));
  auto op = cast<attn::AttentionOp>(b.create(state));
  Type indexTy = b.getIndexType();
  auto indexScope = [&](Block *blk, unsigned first) {
    Scope scope;
    const char *names[] = {"b", "h", "i", "j"};
    for (unsigned n = 0; n < 4; ++n)
      scope.vars[names[n]] = TV{blk->getArgument(first + n), Kind::Int};
    return scope;
  };
  if (!a.masks.empty()) {
    Block *blk = new Block();
    op.getMask().push_back(blk);
    for (int n = 0; n < 4; ++n)
      blk->addArgument(indexTy, l);
    Scope scope = indexScope(blk, 0);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    Value all = arith::ConstantIntOp::create(eb, l, 1, 1);
    for (const ExprPtr &m : a.masks) {
      auto x = emit(eb, *m, scope);
      if (!x)
        return nullptr;
      if (x->k != Kind::Bool) {
        error(m->loc) << "a mask must be a condition (a comparison), not a number";
        return nullptr;
      }
      all = arith::AndIOp::create(eb, l, all, x->v);
    }
    attn::YieldOp::create(eb, l, all);
  }
  if (!a.scores.empty() || dynamicScale) {
    Block *blk = new Block();
    op.getScore().push_back(blk);
    Value s = blk->addArgument(scalar, l);
    for (int n = 0; n < 4; ++n)
      blk->addArgument(indexTy, l);
    Scope scope = indexScope(blk, 1);
    OpBuilder eb = OpBuilder::atBlockEnd(blk);
    if (dynamicScale) {
      auto x = emit(eb, *dynamicScale, scope);
      if (!x || x->k == Kind::Bool)
        return error(dynamicScale->loc) << "scale must be a number", nullptr;
      s = arith::MulFOp::create(eb, l, s, toFloat(eb, l, *x));
    }
    for (const ExprPtr &e : a.scores) {
      scope.vars["s"] = TV{s, Kind::Float};
      auto x = emit(eb, *e, scope);
      if (!x)
        return nullptr;
      if (x->k == Kind::Bool) {
        error(e->loc) << "a score modification must be a number; use `mask` for conditions";
        return nullptr;
      }
      s = toFloat(eb, l, *x);
    }
    attn::YieldOp::create(eb, l, s);
  }
  return op.getResult();
}

Value ModuleBuilder::emitOutput(const OutputDecl &o) {
  Location l = loc(o.loc);
  // A bare attention name needs no map.
  if (o.expr->kind == Expr::Kind::Ident) {
    Value t = tensors.lookup(o.expr->name);
    if (t && !inputDecls.count(o.expr->name))
      return t;
  }
  Value shapeOf;
  forEachName(o.expr, [&](const Expr &x) {
    if (!shapeOf && x.kind == Expr::Kind::Ident)
      for (const AttentionDecl &a : spec.attentions)
        if (a.name == x.name)
          shapeOf = tensors.lookup(a.name);
  });
  if (!shapeOf) {
    error(o.loc) << "an output must use at least one attention result";
    return nullptr;
  }
  auto ty = cast<RankedTensorType>(shapeOf.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < ty.getRank(); ++d)
    if (ty.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, l, shapeOf, d));
  auto op = attn::MapOp::create(b, l, ty, ValueRange{}, b.getAffineMapArrayAttr({}), sizes);
  Block *blk = new Block();
  op.getBody().push_back(blk);
  Scope scope;
  const char *names[] = {"b", "h", "i", "d"};
  for (int n = 0; n < 4; ++n) {
    Value a = blk->addArgument(b.getIndexType(), l);
    scope.vars[names[n]] = TV{a, Kind::Int};
    scope.indices.push_back(a);
  }
  for (const AttentionDecl &a : spec.attentions) {
    Value t = tensors.lookup(a.name);
    if (t && t.getType() == ty)
      scope.tensors[a.name] = t;
  }
  OpBuilder eb = OpBuilder::atBlockEnd(blk);
  auto v = emit(eb, *o.expr, scope);
  if (!v)
    return nullptr;
  if (v->k == Kind::Bool) {
    error(o.expr->loc) << "an output must be a number, not a condition";
    return nullptr;
  }
  attn::YieldOp::create(eb, l, toElem(eb, l, toFloat(eb, l, *v)));
  return op.getResult();
}

OwningOpRef<ModuleOp> ModuleBuilder::build() {
  Location l = loc(spec.loc);
  OwningOpRef<ModuleOp> module = ModuleOp::create(l);
  integerInputs = inferIntegerInputs(spec);
  // q/k/v (and the inputs their lets transform) take the tensor element type.
  llvm::StringMap<std::string> letSource;
  for (const LetDecl &let : spec.lets)
    letSource[let.name] = let.source;
  for (const AttentionDecl &a : spec.attentions)
    for (std::string name : {a.q, a.k, a.v}) {
      while (letSource.count(name))
        name = letSource[name];
      attentionOperands[name] = true;
    }
  SmallVector<Type> argTypes;
  for (const InputDecl &in : spec.inputs) {
    argTypes.push_back(inputType(in));
    inputDecls[in.name] = &in;
  }
  b.setInsertionPointToEnd(module->getBody());
  auto fn = func::FuncOp::create(b, l, spec.name, b.getFunctionType(argTypes, {}));
  entry = fn.addEntryBlock();
  for (auto [in, arg] : llvm::zip(spec.inputs, entry->getArguments()))
    tensors[in.name] = arg;
  b.setInsertionPointToEnd(entry);
  for (const LetDecl &let : spec.lets) {
    Value v = emitLet(let);
    if (!v)
      return nullptr;
    tensors[let.name] = v;
  }
  for (const AttentionDecl &a : spec.attentions) {
    Value v = emitAttention(a);
    if (!v)
      return nullptr;
    tensors[a.name] = v;
  }
  SmallVector<Value> results;
  for (const OutputDecl &o : spec.outputs) {
    Value v = emitOutput(o);
    if (!v)
      return nullptr;
    results.push_back(v);
  }
  func::ReturnOp::create(b, l, results);
  SmallVector<Type> resultTypes;
  for (Value r : results)
    resultTypes.push_back(r.getType());
  fn.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  attn::setVariantSignature(fn, variantSignature(spec));
  if (failedFlag || failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

llvm::StringMap<bool> attnc::inferIntegerInputs(const Spec &spec) {
  llvm::StringMap<bool> inMask, elsewhere;
  auto mark = [](llvm::StringMap<bool> &m, const ExprPtr &e) {
    forEachName(e, [&](const Expr &x) {
      if (x.kind == Expr::Kind::Index || x.kind == Expr::Kind::Ident)
        m[x.name] = true;
    });
  };
  llvm::StringMap<bool> carrierArgs;
  for (const AttentionDecl &a : spec.attentions) {
    for (const ExprPtr &m : a.masks) mark(inMask, m);
    for (const ExprPtr &s : a.scores) mark(elsewhere, s);
    if (a.scale) mark(elsewhere, *a.scale);
    for (const CarrierDecl &c : a.carriers)
      for (const Arg &arg : c.args)
        if (arg.kind == Arg::Kind::Word)
          carrierArgs[arg.word] = true;
    elsewhere[a.q] = elsewhere[a.k] = elsewhere[a.v] = true;
  }
  for (const LetDecl &l : spec.lets) {
    mark(elsewhere, l.expr);
    elsewhere[l.source] = true;
  }
  for (const OutputDecl &o : spec.outputs) mark(elsewhere, o.expr);
  llvm::StringMap<bool> result;
  for (const InputDecl &in : spec.inputs)
    result[in.name] = !in.dtype.empty() ? in.dtype == "i32"
                                        : carrierArgs.count(in.name) ||
                                              (inMask.count(in.name) && !elsewhere.count(in.name));
  return result;
}

OwningOpRef<ModuleOp> attnc::buildModule(MLIRContext &ctx, const Spec &spec,
                                         const LoweringOptions &options) {
  ctx.loadDialect<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                  math::MathDialect, tensor::TensorDialect, scf::SCFDialect>();
  return ModuleBuilder(ctx, spec, options).build();
}
