//===- ParseExpr.cpp - The spec text form's expression grammar ------------===//
//
// Precedence climbing over the tokens of Lexer.h, lowest to highest: || &&,
// comparisons, | & << >>, + -, * / // %, unary, ^ and primaries (numbers,
// names, calls, subscripts, brackets). Depth and nesting are bounded so that
// every later recursive walk over the tree stays far from the stack limit.
//
//===----------------------------------------------------------------------===//

#include "ParserImpl.h"

using namespace attnc::spec;
using namespace attnc::spec::detail;

namespace {
bool isComparison(const Token &t) {
  return t.is(TK::Punct) && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                             t.text == "<=" || t.text == ">" || t.text == ">=");
}
} // namespace

Parsed Parser::makeBinary(const Token &op, Parsed lhs, Parsed rhs) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::Binary;
  e->loc = loc(op);
  e->name = op.text.str();
  unsigned depth = std::max(lhs.depth, rhs.depth) + 1;
  e->args = {std::move(lhs.e), std::move(rhs.e)};
  if (depth > kMaxExprDepth) {
    fail(loc(op), "expression is too deeply nested (more than " +
                      std::to_string(kMaxExprDepth) + " levels)");
    return {};
  }
  return {std::move(e), depth};
}

/// OPERAND (OP OPERAND)*, left-associative: the shape of every binary level.
Parsed Parser::parseLeftAssoc(std::initializer_list<llvm::StringRef> ops, Parsed (Parser::*operand)()) {
  Parsed lhs = (this->*operand)();
  while (lhs && llvm::any_of(ops, [&](llvm::StringRef o) { return tok().isPunct(o); })) {
    Token op = tok();
    consume();
    Parsed rhs = (this->*operand)();
    if (!rhs)
      return {};
    lhs = makeBinary(op, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

Parsed Parser::parseOr() { return parseLeftAssoc({"||"}, &Parser::parseAnd); }

Parsed Parser::parseAnd() { return parseLeftAssoc({"&&"}, &Parser::parseComparison); }

Parsed Parser::parseComparison() {
  Parsed lhs = parseBitOr();
  if (!lhs || !isComparison(tok()))
    return lhs;
  Token op = tok();
  consume();
  Parsed rhs = parseBitOr();
  if (!rhs)
    return {};
  // `a < b < c` reads like a range test but would compare a boolean with c.
  if (isComparison(tok())) {
    failAt(tok(), "comparisons cannot be chained; combine them with '&&' (a < b && b < c)");
    return {};
  }
  return makeBinary(op, std::move(lhs), std::move(rhs));
}

// Bitwise operators bind tighter than comparisons, as in Python (where
// FlexAttention's mask_mods come from): `i & 7 == 0` is `(i & 7) == 0`.
Parsed Parser::parseBitOr() { return parseLeftAssoc({"|"}, &Parser::parseBitAnd); }

Parsed Parser::parseBitAnd() { return parseLeftAssoc({"&"}, &Parser::parseShift); }

Parsed Parser::parseShift() { return parseLeftAssoc({"<<", ">>"}, &Parser::parseAdditive); }

Parsed Parser::parseAdditive() { return parseLeftAssoc({"+", "-"}, &Parser::parseMultiplicative); }

Parsed Parser::parseMultiplicative() { return parseLeftAssoc({"*", "/", "//", "%"}, &Parser::parseUnary); }

Parsed Parser::parseUnary() {
  if (nesting >= kMaxNesting) {
    failAt(tok(), "expression is too deeply nested (more than " + std::to_string(kMaxNesting) +
                      " levels of brackets or unary operators)");
    return {};
  }
  if (!tok().isPunct("-") && !tok().isPunct("!"))
    return parsePower();
  Token op = tok();
  consume();
  Parsed operand = parseNestedUnary();
  if (!operand)
    return {};
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::Unary;
  e->loc = loc(op);
  e->name = op.text.str();
  e->args = {std::move(operand.e)};
  return {std::move(e), operand.depth + 1};
}

Parsed Parser::parseNestedUnary() {
  ++nesting;
  Parsed operand = parseUnary();
  --nesting;
  return operand;
}

Parsed Parser::parsePower() {
  Parsed base = parsePrimary();
  if (!base || !tok().isPunct("^"))
    return base;
  Token op = tok();
  consume();
  // The exponent is a unary expression: right associative (2^3^2 = 2^9) and
  // allows a sign (2^-1).
  Parsed exponent = parseNestedUnary();
  if (!exponent)
    return {};
  return makeBinary(op, std::move(base), std::move(exponent));
}

Parsed Parser::parsePrimary() {
  const Token t = tok();
  auto e = std::make_shared<Expr>();
  e->loc = loc(t);
  if (t.is(TK::Number)) {
    e->kind = Expr::Kind::Number;
    if (!numberValue(t, e->number, e->isInteger))
      return {};
    consume();
    return {std::move(e), 1};
  }
  if (t.isPunct("(")) {
    consume();
    OpenScope scope(*this, t);
    ++nesting;
    Parsed inner = parseExpression();
    --nesting;
    if (!inner)
      return {};
    if (!tok().isPunct(")")) {
      failUnclosed(t, ")", "')' to close the parenthesis");
      return {};
    }
    consume();
    return inner;
  }
  if (!t.is(TK::Ident)) {
    failAt(t, "expected an expression, got " + t.describe());
    return {};
  }
  consume();
  if (t.text == "inf") {
    e->kind = Expr::Kind::Number;
    e->number = INFINITY;
    return {std::move(e), 1};
  }
  e->name = t.text.str();
  bool call = tok().isPunct("(");
  if (!call && !tok().isPunct("[")) {
    e->kind = Expr::Kind::Ident;
    return {std::move(e), 1};
  }
  // f(args...) or name[subscripts...]
  e->kind = call ? Expr::Kind::Call : Expr::Kind::Index;
  const Token open = tok();
  llvm::StringRef closer = call ? ")" : "]";
  consume();
  OpenScope scope(*this, open);
  unsigned depth = 1;
  if (call && tok().isPunct(")")) {
    consume();
    return {std::move(e), depth};
  }
  ++nesting;
  while (true) {
    Parsed arg = parseExpression();
    if (!arg) {
      --nesting;
      return {};
    }
    depth = std::max(depth, arg.depth + 1);
    e->args.push_back(std::move(arg.e));
    if (tok().isPunct(",")) {
      consume();
      continue;
    }
    if (tok().isPunct(closer)) {
      consume();
      break;
    }
    --nesting;
    failUnclosed(open, closer,
                 "',' or '" + closer + "' in the " +
                     (call ? "arguments of '" + e->name + "'" : "subscripts of '" + e->name + "'"));
    return {};
  }
  --nesting;
  if (depth > kMaxExprDepth) {
    fail(e->loc, "expression is too deeply nested");
    return {};
  }
  return {std::move(e), depth};
}

ExprPtr Parser::parseWholeExpr() {
  Parsed p = parseExpression();
  if (!p)
    return nullptr;
  if (!tok().is(TK::Eof)) {
    std::string hint = tok().isPunct("=") ? "; did you mean '=='?" : "";
    failAt(tok(), "unexpected " + tok().describe() + " after the expression" + hint);
    return nullptr;
  }
  return p.e;
}
