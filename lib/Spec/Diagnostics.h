//===- Diagnostics.h - Errors and notes of the spec front end ----*- C++ -*-===//
//
// Private to lib/Spec. The parsers and the checker report into a
// DiagnosticSink; the public entry points hand its contents back as one
// llvm::Error whose message is every diagnostic, printed in order:
//
//   t.attn:7:8: error: unknown identifier 'jj'; did you mean 'j'?
//     mask i >= jj
//               ^~
//   t.attn:9:8: error: duplicate name 'o'
//   output o = a
//          ^
//   t.attn:8:8: note: 'o' is first declared here
//   ...
//
// Locations are SourceLocs (line/col, optionally a length), not SMLocs: the
// AST outlives its buffer, and JSON expression strings are parsed on their
// own with positions inside the string. So each diagnostic is built as an
// llvm::SMDiagnostic from line/col plus the quoted line and printed with
// SMDiagnostic::print, rather than through SourceMgr::PrintMessage.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_SPEC_DIAGNOSTICS_H
#define ATTNC_LIB_SPEC_DIAGNOSTICS_H

#include "attnc/Spec/SpecAST.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"

#include <string>
#include <utility>
#include <vector>

namespace attnc::spec::detail {

class DiagnosticSink {
public:
  /// No source text: diagnostics print their location and message only.
  DiagnosticSink() = default;
  /// Quotes lines of TEXT (with a caret and range) for locations in FILE.
  /// TEXT starts at FIRST_LINE:FIRST_COL of FILE (an expression string
  /// parsed on its own). With POINTER_FILES, "FILE:/json/pointer" locations
  /// are positions in TEXT too (the JSON reader's).
  DiagnosticSink(llvm::StringRef text, llvm::StringRef file, unsigned firstLine = 1,
                 unsigned firstCol = 1, bool pointerFiles = false)
      : text(text), file(file.str()), firstLine(firstLine), firstCol(firstCol),
        pointerFiles(pointerFiles), hasSource(true) {}

  void error(const SourceLoc &l, const llvm::Twine &msg) {
    report(llvm::SourceMgr::DK_Error, l, msg);
  }
  void note(const SourceLoc &l, const llvm::Twine &msg) {
    report(llvm::SourceMgr::DK_Note, l, msg);
  }
  /// Kept apart from errors: a spec with warnings only is valid.
  void warning(const SourceLoc &l, const llvm::Twine &msg) {
    report(llvm::SourceMgr::DK_Warning, l, msg);
  }
  /// The warnings so far, rendered; the sink keeps none afterwards.
  std::string takeWarnings() { return std::exchange(warnings, std::string()); }
  /// Appends the diagnostics that another sink returned as ERR.
  void append(llvm::Error err);

  unsigned errorCount() const { return errors; }
  /// Every diagnostic so far as one llvm::StringError (success if there is
  /// none); the sink is empty afterwards.
  llvm::Error takeError();

private:
  void report(llvm::SourceMgr::DiagKind kind, const SourceLoc &l, const llvm::Twine &msg);
  /// The line to quote for L, shifted so that L.col indexes it; false if
  /// L is not in the text.
  bool quotedLine(const SourceLoc &l, std::string &line) const;

  llvm::StringRef text;
  std::string file;
  unsigned firstLine = 1, firstCol = 1;
  bool pointerFiles = false, hasSource = false;
  std::string printed, warnings;
  unsigned errors = 0;
  llvm::SourceMgr sm; // only so that SMDiagnostic has one to point at
};

/// One error with no quoted source, as an llvm::Error.
llvm::Error makeError(const SourceLoc &loc, const llvm::Twine &message);

} // namespace attnc::spec::detail

#endif // ATTNC_LIB_SPEC_DIAGNOSTICS_H
