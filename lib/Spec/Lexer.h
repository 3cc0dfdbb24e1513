//===- Lexer.h - Tokens of the spec text form ---------------------*- C++ -*-===//
//
// Private to lib/Spec. The lexer turns a buffer into tokens with 1-based
// line/column positions. Newlines are tokens (they end statements) except
// inside () and [], where the lexer drops them so that long argument lists and
// expressions may wrap; the JSON form's expression strings use a mode where
// newlines are always whitespace.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_SPEC_LEXER_H
#define ATTNC_LIB_SPEC_LEXER_H

#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace attnc::spec::detail {

struct Token {
  enum class Kind {
    Eof,
    Newline,
    Ident,
    Number,
    Punct, // ( ) [ ] { } , : = + - * / // % ^ ! == != < <= > >= && ||
    Error, // a malformed token; `message` says why
  };
  Kind kind = Kind::Eof;
  llvm::StringRef text; // the spelling (empty for Eof, "\n" for Newline)
  unsigned line = 1, col = 1;
  std::string message; // Error only

  bool is(Kind k) const { return kind == k; }
  bool isPunct(llvm::StringRef p) const { return kind == Kind::Punct && text == p; }
  bool isIdent(llvm::StringRef w) const { return kind == Kind::Ident && text == w; }
  /// Column just past the token (tokens never span lines).
  unsigned endCol() const { return col + (unsigned)text.size(); }
  /// How the token reads in a message: 'foo', end of line, end of file.
  std::string describe() const;
};

/// Splits BUFFER into tokens, ending with one Eof token. START_LINE/START_COL
/// give the position of the buffer's first character.
std::vector<Token> lex(llvm::StringRef buffer, bool newlinesAreSpace,
                       unsigned startLine = 1, unsigned startCol = 1);

} // namespace attnc::spec::detail

#endif // ATTNC_LIB_SPEC_LEXER_H
