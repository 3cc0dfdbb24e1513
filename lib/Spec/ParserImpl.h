//===- ParserImpl.h - The spec text form's parser, shared by its files -*- C++ -*-===//
//
// The recursive descent parser of Parser.cpp (statements, clauses, arguments)
// and ParseExpr.cpp (the expression grammar), private to lib/Spec.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_SPEC_PARSERIMPL_H
#define ATTNC_LIB_SPEC_PARSERIMPL_H

#include "Lexer.h"
#include "SpecUtil.h"

#include "attnc/Spec/SpecAST.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <optional>

namespace attnc::spec::detail {

using TK = Token::Kind;

/// Deeper expressions are rejected so that every recursive walk over the AST
/// (checker, printer, lowering, destructors) stays far from the stack limit.
constexpr unsigned kMaxExprDepth = 500;
/// Bracket/unary nesting allowed while parsing (each level costs ~10 frames).
constexpr unsigned kMaxNesting = 100;
/// Integers must be exact as doubles.
constexpr double kMaxExactInteger = 9007199254740992.0; // 2^53

/// An expression and the depth of its tree.
struct Parsed {
  ExprPtr e;
  unsigned depth = 0;
  explicit operator bool() const { return e != nullptr; }
};

class Parser {
public:
  Parser(llvm::StringRef text, std::string file, bool exprMode, unsigned firstLine = 1,
         unsigned firstCol = 1)
      : file(std::move(file)), toks(lex(text, exprMode, firstLine, firstCol)),
        diags(text, this->file, firstLine, firstCol) {}

  bool parseSpec(Spec &spec);
  ExprPtr parseWholeExpr();
  llvm::Error takeError() { return diags.takeError(); }

private:
  std::string file;
  std::vector<Token> toks;
  DiagnosticSink diags;
  size_t pos = 0;
  unsigned nesting = 0;
  // Brackets open around the current token, innermost last: hitting the end
  // of the file inside one is reported as that bracket being unterminated.
  std::vector<Token> openers;
  struct OpenScope {
    Parser &p;
    OpenScope(Parser &p, const Token &opener) : p(p) { p.openers.push_back(opener); }
    ~OpenScope() { p.openers.pop_back(); }
  };

  //===--------------------------------------------------------------------===//
  // Tokens and errors
  //===--------------------------------------------------------------------===//

  const Token &tok() const { return toks[pos]; }
  const Token &peekTok(size_t n = 1) const { return toks[std::min(pos + n, toks.size() - 1)]; }
  const Token &prevTok() const { return toks[pos ? pos - 1 : 0]; }
  void consume() {
    if (!tok().is(TK::Eof))
      ++pos;
  }
  SourceLoc loc(const Token &t) const {
    return SourceLoc{file, t.line, t.col, (unsigned)t.text.size()};
  }
  std::string pos2str(const Token &t) const {
    return std::to_string(t.line) + ":" + std::to_string(t.col);
  }

  /// Records the first error (later ones are mostly its consequences);
  /// returns false so that callers can `return fail(...)`.
  bool fail(const SourceLoc &l, const llvm::Twine &msg) {
    if (!diags.errorCount())
      diags.error(l, msg);
    return false;
  }
  /// Fails at token T; a malformed token reports its own problem instead.
  bool failAt(const Token &t, const llvm::Twine &msg) {
    if (t.is(TK::Error))
      return fail(loc(t), t.message);
    if (t.is(TK::Eof) && !openers.empty())
      return failUnterminated(openers.back());
    return fail(loc(t), msg);
  }
  bool failUnterminated(const Token &opener) {
    llvm::StringRef closer = opener.text == "(" ? ")" : "]";
    const Token &p = prevTok();
    return fail(SourceLoc{file, p.line, pos > 0 ? p.endCol() : p.col},
                "unterminated '" + opener.text + "': expected '" + closer + "' to close the '" +
                    opener.text + "' at " + pos2str(opener));
  }
  /// Fails where CLOSER was expected. When the offending token is on a later
  /// line (or is the end of file), the closer was forgotten at the end of the
  /// previous line: point there and name the unclosed opener.
  bool failUnclosed(const Token &opener, llvm::StringRef closer, const llvm::Twine &expected) {
    const Token &t = tok();
    const Token &p = prevTok();
    if (!t.is(TK::Error) && (t.is(TK::Eof) || t.line > p.line) && pos > 0)
      return failUnterminated(opener);
    return failAt(t, "expected " + expected + ", got " + t.describe());
  }

  bool expectPunct(llvm::StringRef p, const llvm::Twine &context) {
    if (tok().isPunct(p)) {
      consume();
      return true;
    }
    return failAt(tok(), "expected '" + p + "' " + context + ", got " + tok().describe());
  }
  bool expectIdent(std::string &out, const llvm::Twine &what, SourceLoc *where = nullptr) {
    if (!tok().is(TK::Ident))
      return failAt(tok(), "expected " + what + ", got " + tok().describe());
    out = tok().text.str();
    if (where)
      *where = loc(tok());
    consume();
    return true;
  }
  /// A statement (or clause) ends at a newline or at the end of the file;
  /// inside an attention block a '}' may also end the last clause.
  bool expectEndOfStatement(const llvm::Twine &what, bool allowBrace = false) {
    if (tok().is(TK::Newline)) {
      consume();
      return true;
    }
    if (tok().is(TK::Eof) || (allowBrace && tok().isPunct("}")))
      return true;
    std::string hint;
    if (tok().isPunct("="))
      hint = "; did you mean '=='?";
    return failAt(tok(), "unexpected " + tok().describe() + " after " + what +
                             "; expected end of line" + hint);
  }
  void skipNewlines() {
    while (tok().is(TK::Newline))
      consume();
  }

  bool numberValue(const Token &t, double &value, bool &isInteger) {
    isInteger = llvm::all_of(t.text, llvm::isDigit);
    if (t.text.getAsDouble(value, /*AllowInexact=*/true) || std::isinf(value))
      return failAt(t, "number " + t.describe() + " is out of range");
    if (isInteger && value > kMaxExactInteger)
      return failAt(t, "integer " + t.describe() + " is too large (at most 2^53)");
    return true;
  }

  //===--------------------------------------------------------------------===//
  // Statements
  //===--------------------------------------------------------------------===//

  bool parseStatement(Spec &spec, std::optional<SourceLoc> &variantLoc);
  bool parseInput(Spec &spec);
  bool parseLet(Spec &spec);
  bool parseAttention(Spec &spec);
  bool parseOutput(Spec &spec);

  struct SeenClauses {
    std::optional<SourceLoc> scale, scoreConv, link, anchor, weights, schedule, axis;
    /// Local bindings (`let NAME = EXPR` in the block), substituted into the
    /// clauses that follow them.
    llvm::StringMap<ExprPtr> locals;
  };
  bool parseLocal(const Spec &spec, AttentionDecl &a, SeenClauses &seen);
  /// E with the block's locals substituted, within the size limits.
  bool substituted(ExprPtr &e, const SeenClauses &seen, const SourceLoc &where);
  bool parseClause(AttentionDecl &a, SeenClauses &seen);
  bool checkUnique(std::optional<SourceLoc> &seen, const Token &kw, const AttentionDecl &a) {
    if (seen)
      return fail(loc(kw), "duplicate '" + kw.text + "' clause in attention '" + a.name +
                               "'; the first is at " + std::to_string(seen->line) + ":" +
                               std::to_string(seen->col));
    seen = loc(kw);
    return true;
  }

  bool parseArgList(std::vector<Arg> &args);
  bool parseLetCall(Spec &spec, LetDecl &let);
  bool parseArg(Arg &arg);
  bool parseValue(Arg &arg, bool allowList);

  //===--------------------------------------------------------------------===//
  // Expressions, lowest to highest precedence
  //===--------------------------------------------------------------------===//

  Parsed parseExpression() {
    const Token first = tok();
    Parsed p = parseOr();
    // The whole expression (for ranges), when it fits on one line.
    if (p && prevTok().line == first.line)
      p.e->extent = SourceLoc{file, first.line, first.col, prevTok().endCol() - first.col};
    return p;
  }
  Parsed parseOr();
  Parsed parseAnd();
  Parsed parseLeftAssoc(std::initializer_list<llvm::StringRef> ops, Parsed (Parser::*operand)());
  Parsed parseComparison();
  Parsed parseBitOr();
  Parsed parseBitAnd();
  Parsed parseShift();
  Parsed parseAdditive();
  Parsed parseMultiplicative();
  Parsed parseUnary();
  /// parseUnary one nesting level deeper (an operand of `-`, `!` or `^`).
  Parsed parseNestedUnary();
  Parsed parsePower();
  Parsed parsePrimary();
  Parsed makeBinary(const Token &op, Parsed lhs, Parsed rhs);
  /// An expression used as a clause or statement body.
  ExprPtr parseBodyExpr() {
    Parsed p = parseExpression();
    return p.e;
  }
};

} // namespace attnc::spec::detail

#endif // ATTNC_LIB_SPEC_PARSERIMPL_H
