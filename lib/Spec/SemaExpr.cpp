//===- SemaExpr.cpp - Semantic checks of spec expressions -----------------===//
//
// Names in expressions resolve in their context (Scope), functions get their
// arity, and conditions are kept apart from numbers. Both operands of an
// operator and every argument of a call are checked, so that independent
// errors in one expression are reported together.
//
//===----------------------------------------------------------------------===//

#include "Checker.h"

using namespace attnc::spec;
using namespace attnc::spec::detail;

namespace {

/// Leftmost position of an expression (binary nodes sit at their operator).
const SourceLoc &startLoc(const Expr &e) {
  if (e.kind == Expr::Kind::Binary && !e.args.empty() && e.args[0])
    return startLoc(*e.args[0]);
  return e.loc;
}

/// The whole expression where the parser recorded it, else its start.
const SourceLoc &rangeOf(const Expr &e) { return e.extent.line ? e.extent : startLoc(e); }

bool isComparisonOp(llvm::StringRef op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

} // namespace

bool Checker::checkTopExpr(const ExprPtr &e, const Scope &scope, const SourceLoc &owner) {
  if (!e)
    return fail(owner, std::string("missing expression for ") + scope.what);
  std::optional<Ty> ty = checkExpr(*e, scope);
  if (!ty)
    return false;
  if (*ty == scope.result)
    return true;
  if (scope.result == Ty::Condition)
    return fail(rangeOf(*e), std::string(scope.what) +
                                 " must be a condition (a comparison such as i >= j, "
                                  "combined with &&, || and !), not a number");
  std::string hint = llvm::StringRef(scope.what) == "a score"
                         ? "; use 'mask' for conditions or select(cond, a, b)"
                         : "; use select(cond, a, b) to pick between numbers";
  return fail(rangeOf(*e), std::string(scope.what) + " must be a number, not a condition" + hint);
}

bool Checker::unknownName(const Expr &e, const Scope &scope) {
  const std::string &n = e.name;
  auto varList = [&] {
    if (scope.vars.empty() && !scope.inputs)
      return std::string("numbers, dims and functions");
    std::vector<std::string> parts = scope.vars;
    if (scope.dims)
      parts.push_back("dims");
    if (scope.inputs)
      parts.push_back("indexed inputs");
    if (scope.attentions)
      parts.push_back("attention results");
    return joinNames(parts);
  };
  if (isReservedName(n))
    return fail(e.loc, "'" + n + "' is not available in " + scope.what + "; " + scope.what +
                           " may use " + varList());
  if (dims.contains(n))
    return fail(e.loc, "dims are not available in " + std::string(scope.what));
  if (inputs.count(n)) {
    if (!scope.inputs)
      return fail(e.loc, "inputs cannot be used in " + std::string(scope.what) + "; " +
                             scope.what + " may use " + varList());
    size_t r = inputs.lookup(n)->shape.size();
    std::string subs;
    for (size_t k = 0; k < r; ++k)
      subs += k ? ", ..." : "...";
    return fail(e.loc, "input '" + n + "' must be indexed: " + n + "[" + subs + "] (rank " +
                           std::to_string(r) + ")");
  }
  if (lets.count(n))
    return fail(e.loc, "'" + n + "' is a let; lets can only be the q, k or v of an attention");
  if (attentions.count(n) || llvm::any_of(spec.attentions, [&](const AttentionDecl &a) {
        return a.name == n;
      }))
    return fail(e.loc, "attention result '" + n + "' can only be used in an output expression");
  std::vector<std::string> candidates = scope.vars;
  if (scope.dims)
    for (const auto &d : dims)
      candidates.push_back(d.getKey().str());
  if (scope.inputs)
    for (const auto &in : inputs)
      candidates.push_back(in.getKey().str());
  if (scope.attentions)
    for (const auto &a : attentions)
      candidates.push_back(a.getKey().str());
  std::string hint = didYouMean(n, candidates);
  if (hint.empty())
    hint = "; " + std::string(scope.what) + " may use " + varList();
  return fail(e.loc, "unknown identifier '" + n + "'" + hint);
}

// sum(r, EXPR): EXPR summed over a new index variable r, whose range is
// the axis it subscripts (SpecToMLIR takes the extent there).
std::optional<Ty> Checker::checkSum(const Expr &e, const Scope &scope) {
  if (e.args.size() != 2 || e.args[0]->kind != Expr::Kind::Ident) {
    fail(e.loc, "sum takes an index variable and an expression: sum(r, x[b, h, i, r] * y[r])");
    return std::nullopt;
  }
  const std::string &var = e.args[0]->name;
  if (llvm::is_contained(scope.vars, var) || names.count(var) || isReservedName(var)) {
    fail(e.args[0]->loc, "sum's variable '" + var + "' is already a name here; pick a new one");
    return std::nullopt;
  }
  // The range is the extent of the axes r subscripts alone: they must agree
  // (a shorter table would be read clamped, not summed over its own extent).
  std::string extent;
  const Expr *first = nullptr;
  bool agree = true;
  forEachNode(e.args[1], [&](const Expr &x) {
    auto in = x.kind == Expr::Kind::Index ? inputs.find(x.name) : inputs.end();
    if (in == inputs.end())
      return;
    for (auto [n, a] : llvm::enumerate(x.args))
      if (a->kind == Expr::Kind::Ident && a->name == var && n < in->second->shape.size()) {
        const std::string &d = in->second->shape[n];
        if (!first)
          first = &x, extent = d;
        else if (d != extent && agree)
          agree = fail(x.loc, "sum's variable '" + var + "' runs over '" + extent + "' in '" +
                                  first->name + "' but over '" + d + "' in '" + x.name +
                                  "'; the axes it subscripts must have one extent");
      }
  });
  if (!agree)
    return std::nullopt;
  if (!first) {
    fail(e.args[0]->loc, "sum's variable '" + var + "' must appear alone as a subscript of an "
                         "input (its range is that axis), e.g. sum(" + var + ", x[b, h, i, " +
                         var + "])");
    return std::nullopt;
  }
  Scope inner = scope;
  inner.vars.push_back(var);
  std::optional<Ty> t = checkExpr(*e.args[1], inner);
  if (t && *t != Ty::Number) {
    fail(rangeOf(*e.args[1]), "sum needs a number, not a condition");
    return std::nullopt;
  }
  return t;
}

/// An integer-valued expression that is not a literal: positions (b, h, i,
/// j), dims, and integer operators over them. `i ^ j` between two such is
/// more likely a Python user's exclusive or than a power (`2 ^ h` and
/// `d ^ 2` are powers with a literal side).
static bool integerLooking(const Expr &e, const Scope &scope, const llvm::StringSet<> &dims) {
  switch (e.kind) {
  case Expr::Kind::Ident:
    return (llvm::is_contained(scope.vars, e.name) && e.name != "s" && e.name != "x") ||
           (scope.dims && dims.contains(e.name));
  case Expr::Kind::Unary:
    return e.name == "-" && e.args.size() == 1 && integerLooking(*e.args[0], scope, dims);
  case Expr::Kind::Binary: {
    static const char *intOps[] = {"+", "-", "*", "//", "%", "&", "|", "<<", ">>"};
    if (e.args.size() != 2 || !llvm::is_contained(intOps, e.name))
      return false;
    auto part = [&](const Expr &a) {
      return (a.kind == Expr::Kind::Number && isIntegral(a.number)) ||
             integerLooking(a, scope, dims);
    };
    return part(*e.args[0]) && part(*e.args[1]) &&
           (integerLooking(*e.args[0], scope, dims) || integerLooking(*e.args[1], scope, dims));
  }
  default:
    return false;
  }
}

std::optional<Ty> Checker::checkExpr(const Expr &e, const Scope &scope) {
  auto sub = [&](const ExprPtr &x) -> std::optional<Ty> {
    if (!x) {
      fail(e.loc, "malformed expression (missing operand)");
      return std::nullopt;
    }
    return checkExpr(*x, scope);
  };
  switch (e.kind) {
  case Expr::Kind::Number:
    return Ty::Number;

  case Expr::Kind::Ident: {
    if (llvm::is_contained(scope.vars, e.name) || (scope.dims && dims.contains(e.name)) ||
        (scope.attentions && attentions.count(e.name)))
      return Ty::Number;
    if (!poisoned.contains(e.name))
      unknownName(e, scope);
    return std::nullopt;
  }

  case Expr::Kind::Index: {
    auto it = inputs.find(e.name);
    if (it == inputs.end() && poisoned.contains(e.name))
      return std::nullopt;
    if (it == inputs.end() || !scope.inputs) {
      if (it != inputs.end()) {
        fail(e.loc, "inputs cannot be used in " + std::string(scope.what));
      } else if (lets.count(e.name)) {
        fail(e.loc, "'" + e.name + "' is a let and cannot be indexed; index an input");
      } else if (attentions.count(e.name)) {
        fail(e.loc, "attention result '" + e.name + "' is used bare: write '" + e.name +
                        "', not '" + e.name + "[...]'");
      } else if (llvm::is_contained(scope.vars, e.name) || dims.contains(e.name) ||
                 isReservedName(e.name)) {
        fail(e.loc, "'" + e.name + "' is not a tensor and cannot be indexed");
      } else {
        std::string hint = didYouMean(e.name, keysOf(inputs));
        fail(e.loc, "unknown input '" + e.name + "'" +
                        (hint.empty() ? "; only inputs can be indexed" : hint));
      }
      return std::nullopt;
    }
    size_t rank = it->second->shape.size();
    if (e.args.size() != rank) {
      fail(e.loc, "input '" + e.name + "' has rank " + std::to_string(rank) + " but " +
                      std::to_string(e.args.size()) + " subscript" +
                      (e.args.size() == 1 ? " is" : "s are") + " given");
      return std::nullopt;
    }
    bool ok = true; // subscripts are checked independently
    for (const ExprPtr &x : e.args) {
      std::optional<Ty> t = sub(x);
      if (t && *t != Ty::Number)
        fail(rangeOf(*x), "a subscript must be a number, not a condition");
      ok &= t == Ty::Number;
    }
    return ok ? std::optional<Ty>(Ty::Number) : std::nullopt;
  }

  case Expr::Kind::Unary: {
    if (e.args.size() != 1) {
      fail(e.loc, "malformed unary expression");
      return std::nullopt;
    }
    std::optional<Ty> t = sub(e.args[0]);
    if (!t)
      return std::nullopt;
    if (e.name == "!") {
      if (*t != Ty::Condition) {
        fail(e.loc, "'!' needs a condition, but its operand is a number");
        return std::nullopt;
      }
      return Ty::Condition;
    }
    if (e.name != "-") {
      fail(e.loc, "unknown unary operator '" + e.name + "'");
      return std::nullopt;
    }
    if (*t != Ty::Number) {
      fail(e.loc, "'-' needs a number, but its operand is a condition; use '!' to negate "
                  "a condition");
      return std::nullopt;
    }
    return Ty::Number;
  }

  case Expr::Kind::Binary: {
    if (e.args.size() != 2) {
      fail(e.loc, "malformed binary expression");
      return std::nullopt;
    }
    // Both operands, so that an error in each is reported.
    std::optional<Ty> l = sub(e.args[0]);
    std::optional<Ty> r = sub(e.args[1]);
    if (!l || !r)
      return std::nullopt;
    const std::string &op = e.name;
    bool logical = op == "&&" || op == "||";
    bool cmp = isComparisonOp(op);
    bool bitwise = op == "&" || op == "|" || op == "<<" || op == ">>";
    bool arith = op == "+" || op == "-" || op == "*" || op == "/" || op == "//" ||
                 op == "%" || op == "^" || bitwise;
    if (!logical && !cmp && !arith) {
      fail(e.loc, "unknown operator '" + op + "'");
      return std::nullopt;
    }
    Ty want = logical ? Ty::Condition : Ty::Number;
    for (int side = 0; side < 2; ++side) {
      if ((side == 0 ? *l : *r) == want)
        continue;
      const char *which = side == 0 ? "left" : "right";
      if (logical)
        fail(e.loc, "'" + op + "' needs conditions, but its " + which +
                        " operand is a number; compare it (e.g. x != 0)");
      else if (bitwise)
        fail(e.loc, "bitwise '" + op + "' works on integers, but its " + which +
                        " operand is a condition; combine conditions with '" +
                        (op == "|" ? "||" : "&&") + "'");
      else if (cmp)
        fail(e.loc, "'" + op + "' compares numbers, but its " + which +
                        " operand is a condition; combine conditions with '&&' and '||'");
      else
        fail(e.loc, "arithmetic '" + op + "' needs numbers, but its " + which +
                        " operand is a condition; use select(cond, a, b)");
      return std::nullopt;
    }
    if (op == "^" && integerLooking(*e.args[0], scope, dims) &&
        integerLooking(*e.args[1], scope, dims))
      warn(e.loc, "'^' is the power here; for the bitwise exclusive or of integers write "
                  "xor(a, b)");
    return logical || cmp ? Ty::Condition : Ty::Number;
  }

  case Expr::Kind::Call: {
    if (e.name == "sum")
      return checkSum(e, scope);
    int arity = functionArity(e.name);
    if (arity < 0) {
      std::vector<std::string> fns = functionNames();
      std::string hint = inputs.count(e.name)
                             ? "; '" + e.name + "' is an input: index it with [ ]"
                             : didYouMean(e.name, fns);
      fail(e.loc, "unknown function '" + e.name + "'; expected one of " + joinNames(fns) + hint);
      return std::nullopt;
    }
    if ((int)e.args.size() != arity) {
      fail(e.loc, "function '" + e.name + "' takes " + std::to_string(arity) + " argument" +
                      (arity == 1 ? "" : "s") + ", got " + std::to_string(e.args.size()));
      return std::nullopt;
    }
    std::vector<Ty> tys;
    bool ok = true; // every argument, so that an error in each is reported
    for (const ExprPtr &x : e.args) {
      std::optional<Ty> t = sub(x);
      ok &= t.has_value();
      tys.push_back(t.value_or(Ty::Number));
    }
    if (!ok)
      return std::nullopt;
    if (e.name == "select") {
      if (tys[0] != Ty::Condition) {
        fail(rangeOf(*e.args[0]), "select's first argument must be a condition");
        return std::nullopt;
      }
      for (size_t k = 1; k < 3; ++k)
        if (tys[k] != Ty::Number) {
          fail(rangeOf(*e.args[k]), "select's branches must be numbers; combine conditions "
                                    "with '&&' and '||' instead");
          return std::nullopt;
        }
      return Ty::Number;
    }
    for (size_t k = 0; k < tys.size(); ++k)
      if (tys[k] != Ty::Number) {
        fail(rangeOf(*e.args[k]), "function '" + e.name + "' needs numbers, but argument " +
                                      std::to_string(k + 1) + " is a condition");
        return std::nullopt;
      }
    return Ty::Number;
  }
  }
  return std::nullopt;
}
