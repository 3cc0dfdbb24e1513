//===- ExprToMLIR.cpp - spec expressions as scalar IR -----------------------===//
//
// The expressions of masks, scores, scales, maps and outputs, emitted inside
// a region body as index (integers), float or i1 values (ModuleBuilder.h).
//
//===----------------------------------------------------------------------===//
#include "ModuleBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace attnc::spec;

namespace attnc::frontend {

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
  forEachNode(e.args[1], [&](const Expr &x) {
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
  case Expr::Kind::Index:
    return emitIndex(eb, e, scope);
  case Expr::Kind::Unary:
    return emitUnary(eb, e, scope);
  case Expr::Kind::Binary:
    return emitBinary(eb, e, scope);
  case Expr::Kind::Call:
    return emitCall(eb, e, scope);
  }
  return std::nullopt;
}

std::optional<TV> ModuleBuilder::emitIndex(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
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
      forEachNode(a, [&](const Expr &x) {
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

std::optional<TV> ModuleBuilder::emitUnary(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
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

std::optional<TV> ModuleBuilder::emitBinary(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
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

std::optional<TV> ModuleBuilder::emitCall(OpBuilder &eb, const Expr &e, const Scope &scope) {
  Location l = loc(e.loc);
  auto fconst = [&](double v) { return arith::ConstantOp::create(eb, l, eb.getFloatAttr(scalar, v)).getResult(); };
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

} // namespace attnc::frontend
