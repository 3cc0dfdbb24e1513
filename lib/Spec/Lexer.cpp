//===- Lexer.cpp - Tokens of the spec text form ---------------------------===//

#include "Lexer.h"

#include "llvm/ADT/StringExtras.h"

using namespace attnc::spec::detail;
using Kind = Token::Kind;

std::string Token::describe() const {
  switch (kind) {
  case Kind::Eof:
    return "end of file";
  case Kind::Newline:
    return "end of line";
  default:
    break;
  }
  std::string out = "'";
  for (char c : text)
    if (llvm::isPrint(c))
      out += c;
    else
      out += "\\x" + llvm::utohexstr((unsigned char)c, /*LowerCase=*/true, 2);
  return out + "'";
}

namespace {
bool isIdentStart(char c) { return llvm::isAlpha(c) || c == '_'; }
bool isIdentChar(char c) { return llvm::isAlnum(c) || c == '_'; }

class Lexer {
public:
  Lexer(llvm::StringRef buf, bool newlinesAreSpace, unsigned line, unsigned col)
      : buf(buf), newlinesAreSpace(newlinesAreSpace), line(line), col(col) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    while (true) {
      Token t = next();
      bool eof = t.is(Kind::Eof);
      out.push_back(std::move(t));
      if (eof)
        return out;
    }
  }

private:
  llvm::StringRef buf;
  size_t pos = 0;
  bool newlinesAreSpace;
  unsigned line, col;
  // Depth of open ( and [: newlines inside them do not end a statement.
  unsigned nesting = 0;

  char peek(size_t ahead = 0) const {
    return pos + ahead < buf.size() ? buf[pos + ahead] : '\0';
  }
  bool atEnd() const { return pos >= buf.size(); }
  void advance() {
    if (buf[pos] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    ++pos;
  }

  Token make(Kind k, size_t start, unsigned l, unsigned c) {
    Token t;
    t.kind = k;
    t.text = buf.slice(start, pos);
    t.line = l;
    t.col = c;
    return t;
  }

  Token next() {
    while (!atEnd()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        advance();
      } else if (c == '#') {
        while (!atEnd() && peek() != '\n')
          advance();
      } else if (c == '\n' && (newlinesAreSpace || nesting > 0)) {
        advance();
      } else {
        break;
      }
    }
    size_t start = pos;
    unsigned l = line, c0 = col;
    if (atEnd())
      return make(Kind::Eof, start, l, c0);
    char c = peek();
    if (c == '\n') {
      advance();
      return make(Kind::Newline, start, l, c0);
    }
    if (isIdentStart(c)) {
      while (!atEnd() && isIdentChar(peek()))
        advance();
      return make(Kind::Ident, start, l, c0);
    }
    if (llvm::isDigit(c))
      return lexNumber(start, l, c0);

    // Two-character operators first so that `//` is not two divisions.
    static const char *const twoChar[] = {"//", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>"};
    for (const char *op : twoChar)
      if (c == op[0] && peek(1) == op[1]) {
        advance();
        advance();
        return make(Kind::Punct, start, l, c0);
      }
    if (llvm::StringRef("()[]{},:=+-*/%^!<>&|").contains(c)) {
      if (c == '(' || c == '[')
        ++nesting;
      else if ((c == ')' || c == ']') && nesting > 0)
        --nesting;
      advance();
      return make(Kind::Punct, start, l, c0);
    }
    advance();
    Token t = make(Kind::Error, start, l, c0);
    if (c == '.')
      t.message = "unexpected character '.'; numbers start with a digit (0.5, not .5)";
    else
      t.message = "unexpected character " + t.describe();
    return t;
  }

  // NUMBER := DIGITS ['.' DIGITS] [('e'|'E') ['+'|'-'] DIGITS]. A number that
  // runs straight into letters (2x, 1e, 1.5.2) is one malformed token rather
  // than a number followed by something, which would give a confusing error.
  Token lexNumber(size_t start, unsigned l, unsigned c0) {
    bool ok = true;
    while (llvm::isDigit(peek()))
      advance();
    if (peek() == '.') {
      advance();
      if (!llvm::isDigit(peek()))
        ok = false;
      while (llvm::isDigit(peek()))
        advance();
    }
    if (peek() == 'e' || peek() == 'E') {
      advance();
      if (peek() == '+' || peek() == '-')
        advance();
      if (!llvm::isDigit(peek()))
        ok = false;
      while (llvm::isDigit(peek()))
        advance();
    }
    if (isIdentChar(peek()) || peek() == '.') {
      ok = false;
      while (isIdentChar(peek()) || peek() == '.')
        advance();
    }
    Token t = make(ok ? Kind::Number : Kind::Error, start, l, c0);
    if (!ok)
      t.message = "malformed number " + t.describe() +
                  "; expected digits with an optional fraction and exponent (2, 0.5, 1e-3)";
    return t;
  }
};
} // namespace

std::vector<Token> attnc::spec::detail::lex(llvm::StringRef buffer, bool newlinesAreSpace,
                                            unsigned startLine, unsigned startCol) {
  return Lexer(buffer, newlinesAreSpace, startLine, startCol).run();
}
