//===- Parser.h - Reading, checking and printing specs ----------*- C++ -*-===//
//
// The public entry points of the spec language front end. Specs come in two
// interchangeable forms, the text form (.attn) and the JSON form (.json); both
// produce the AST of SpecAST.h and both print back canonically.
//
// Every error is an llvm::StringError holding every diagnostic of the run,
// printed in order by llvm::SMDiagnostic: each error, and each note that
// follows it (e.g. where a duplicated name was first declared), is a line
//   FILE:LINE:COL: error: MESSAGE      (or "note:")
// followed, where the source is at hand, by the source line and a caret with
// a range under the offending token or expression. The message's first line
// is therefore always the first error. For the JSON form FILE is
// "PATH:/json/pointer" (see SourceLoc). Parsing stops at the first syntax
// error; the semantic checks report every independent error.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SPEC_PARSER_H
#define ATTNC_SPEC_PARSER_H

#include "attnc/Spec/SpecAST.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace attnc::spec {

/// Parses the text form. Syntax only: call checkSpec for the semantic checks.
llvm::Expected<Spec> parseSpecText(llvm::StringRef text, llvm::StringRef filename);

/// Parses the JSON form. Syntax and JSON structure only (unknown keys and
/// wrongly typed values are errors); call checkSpec for the semantic checks.
llvm::Expected<Spec> parseSpecJson(llvm::StringRef text, llvm::StringRef filename);

/// Reads PATH, parses it as JSON if it ends in ".json" and as text otherwise,
/// then runs checkSpec.
llvm::Expected<Spec> parseSpecFile(llvm::StringRef path);

/// parseSpecFile on text already in memory; NAME stands for the path (its
/// ".json" suffix selects the JSON form).
llvm::Expected<Spec> parseSpecBuffer(llvm::StringRef text, llvm::StringRef name);

/// Parses one scalar expression spanning all of TEXT; START is the location
/// of TEXT's first character (newlines inside TEXT are whitespace).
llvm::Expected<ExprPtr> parseExpr(llvm::StringRef text, SourceLoc start);

/// Semantic checks: names, shapes, carriers, links, anchors, expression
/// scoping, arities and boolean/number typing. Returns all errors (without
/// source lines: the AST does not keep its text; parseSpecFile quotes them).
llvm::Error checkSpec(const Spec &spec);

/// The canonical text form: one statement per line, clauses in a fixed order,
/// default link and anchor written out. Parsing it yields the same spec.
std::string printSpec(const Spec &spec);

/// The canonical JSON form (same information as printSpec).
std::string printSpecJson(const Spec &spec);

/// An expression with the parentheses that its structure needs; re-parseable.
std::string printExpr(const Expr &e);

} // namespace attnc::spec

#endif // ATTNC_SPEC_PARSER_H
