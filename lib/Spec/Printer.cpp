//===- Printer.cpp - Canonical text form of a spec ------------------------===//
//
// The canonical form is what `attnc check` shows and what round-trip tests
// compare: one statement per line, a fixed clause order, the default link and
// anchor written out, keyword arguments in table order, and expressions with
// only the parentheses their structure needs. Parsing it gives back the same
// spec, so printing is idempotent.
//
//===----------------------------------------------------------------------===//

#include "attnc/Spec/Parser.h"

#include "SpecUtil.h"

#include "llvm/ADT/StringRef.h"

using namespace attnc::spec;
using namespace attnc::spec::detail;

namespace {

// Binding strength, mirroring the parser (higher binds tighter).
enum Prec : int {
  PrecOr = 1,
  PrecAnd,
  PrecCompare,
  PrecBitOr,
  PrecBitAnd,
  PrecShift,
  PrecAdd,
  PrecMul,
  PrecUnary,
  PrecPower,
  PrecPrimary,
};

int binaryPrec(llvm::StringRef op) {
  if (op == "||")
    return PrecOr;
  if (op == "&&")
    return PrecAnd;
  if (op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=")
    return PrecCompare;
  if (op == "|")
    return PrecBitOr;
  if (op == "&")
    return PrecBitAnd;
  if (op == "<<" || op == ">>")
    return PrecShift;
  if (op == "+" || op == "-")
    return PrecAdd;
  if (op == "*" || op == "/" || op == "//" || op == "%")
    return PrecMul;
  if (op == "^")
    return PrecPower;
  return PrecOr; // unknown operators: parenthesise generously
}

int precOf(const Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Binary:
    return binaryPrec(e.name);
  case Expr::Kind::Unary:
    return PrecUnary;
  case Expr::Kind::Number:
    // A negative literal (only built programmatically) prints with its sign.
    return e.number < 0 ? PrecUnary : PrecPrimary;
  default:
    return PrecPrimary;
  }
}

void print(const Expr *e, std::string &out);

void printChild(const Expr *e, bool parens, std::string &out) {
  if (parens)
    out += "(";
  print(e, out);
  if (parens)
    out += ")";
}

void print(const Expr *e, std::string &out) {
  if (!e) {
    out += "<null>";
    return;
  }
  auto arg = [&](size_t n) -> const Expr * {
    return n < e->args.size() ? e->args[n].get() : nullptr;
  };
  switch (e->kind) {
  case Expr::Kind::Number: {
    bool integral = e->isInteger && isIntegral(e->number) && e->number >= 0 && e->number < 1e18;
    if (integral) {
      out += std::to_string((long long)e->number);
      return;
    }
    std::string s = formatDouble(e->number);
    // Keep floats floats: `2.0` must not read back as the integer 2.
    if (llvm::StringRef(s).find_first_of(".ein") == llvm::StringRef::npos)
      s += ".0";
    out += s;
    return;
  }
  case Expr::Kind::Ident:
    out += e->name;
    return;
  case Expr::Kind::Index:
  case Expr::Kind::Call: {
    out += e->name;
    out += e->kind == Expr::Kind::Call ? "(" : "[";
    for (size_t n = 0; n < e->args.size(); ++n) {
      if (n)
        out += ", ";
      print(e->args[n].get(), out);
    }
    out += e->kind == Expr::Kind::Call ? ")" : "]";
    return;
  }
  case Expr::Kind::Unary: {
    out += e->name;
    const Expr *x = arg(0);
    // -(a + b) needs them; --x is legal but -(-x) reads better.
    printChild(x, x && precOf(*x) < PrecPower, out);
    return;
  }
  case Expr::Kind::Binary: {
    int p = binaryPrec(e->name);
    const Expr *l = arg(0), *r = arg(1);
    bool lp, rp;
    if (p == PrecPower) {
      // Right associative; the base must be a primary, the exponent may be
      // a unary or another power.
      lp = l && precOf(*l) < PrecPrimary;
      rp = r && precOf(*r) < PrecUnary;
    } else if (p == PrecCompare) {
      // Comparisons do not chain; bitwise operands get parentheses too,
      // since C binds `==` tighter than `&` and Python the other way.
      lp = l && precOf(*l) < PrecAdd;
      rp = r && precOf(*r) < PrecAdd;
    } else {
      // Left associative.
      lp = l && precOf(*l) < p;
      rp = r && precOf(*r) <= p;
    }
    printChild(l, lp, out);
    out += " " + e->name + " ";
    printChild(r, rp, out);
    return;
  }
  }
}

std::string printArg(const Arg &a) {
  std::string out = a.key.empty() ? "" : a.key + "=";
  switch (a.kind) {
  case Arg::Kind::Number:
    return out + formatArgNumber(a.number);
  case Arg::Kind::Word:
    return out + a.word;
  case Arg::Kind::List: {
    out += "[";
    for (size_t n = 0; n < a.list.size(); ++n) {
      if (n)
        out += ", ";
      out += printArg(a.list[n]);
    }
    return out + "]";
  }
  }
  return out;
}

/// "(k=v, ...)" in canonical order, or "" when there are no arguments.
std::string printArgs(const std::vector<Arg> &args, const FamilyInfo *family) {
  if (args.empty())
    return "";
  std::string out = "(";
  bool first = true;
  for (const Arg *a : canonicalArgOrder(args, family)) {
    if (!first)
      out += ", ";
    first = false;
    out += printArg(*a);
  }
  return out + ")";
}

} // namespace

std::string attnc::spec::printExpr(const Expr &e) {
  std::string out;
  print(&e, out);
  return out;
}

std::string attnc::spec::printSpec(const Spec &spec) {
  std::string out;
  auto expr = [](const ExprPtr &e) { return e ? printExpr(*e) : std::string("<null>"); };
  out += "variant " + spec.name + "\n";
  if (!spec.dims.empty())
    out += "dims " + joinNames(spec.dims) + "\n";
  for (const InputDecl &in : spec.inputs)
    out += "input " + in.name + " : [" + joinNames(in.shape) + "]" +
           (in.dtype.empty() ? "" : " " + in.dtype) + "\n";
  for (const LetDecl &let : spec.lets) {
    out += "let " + let.name + " = " + let.fn + "(" + let.source;
    if (let.expr)
      out += ", " + printExpr(*let.expr);
    for (const Arg *a : canonicalArgOrder(let.args, findFamily(letFamilies(), let.fn)))
      out += ", " + printArg(*a);
    out += ")\n";
  }
  for (const AttentionDecl &a : spec.attentions) {
    out += "attention " + a.name + "(" + a.q + ", " + a.k + ", " + a.v + ") {\n";
    for (const CarrierDecl &c : a.carriers)
      out += "  carrier " + c.kind + printArgs(c.args, findFamily(carrierFamilies(), c.kind)) +
             "\n";
    for (const ExprPtr &m : a.masks)
      out += "  mask " + expr(m) + "\n";
    if (a.scale)
      out += "  scale " + expr(*a.scale) + "\n";
    for (const ExprPtr &s : a.scores)
      out += "  score " + expr(s) + "\n";
    if (a.scoreConv)
      out += "  score_conv(weight=" + a.scoreConv->weight +
             ", queries=" + std::to_string(a.scoreConv->queries) +
             ", keys=" + std::to_string(a.scoreConv->keys) + ")\n";
    out += "  link " + a.link + printArgs(a.linkArgs, findFamily(linkFamilies(), a.link)) + "\n";
    out += "  anchor " + a.anchor +
           printArgs(a.anchorArgs, findFamily(anchorFamilies(), a.anchor)) + "\n";
    if (a.signedWeights)
      out += "  weights signed\n";
    if (a.splitKV)
      out += "  schedule split_kv(" + std::to_string(a.splitKV) + ")\n";
    if (a.featureAxis)
      out += "  axis features\n";
    out += "}\n";
  }
  for (const OutputDecl &o : spec.outputs)
    out += "output " + o.name + " = " + expr(o.expr) + "\n";
  return out;
}
