//===- Diagnostics.cpp - Errors and notes of the spec front end -----------===//

#include "Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace attnc::spec;
using namespace attnc::spec::detail;

namespace {

/// Line LINE (1-based) of TEXT without its newline; empty if out of range.
llvm::StringRef lineOf(llvm::StringRef text, unsigned line) {
  if (line == 0)
    return {};
  size_t start = 0;
  for (unsigned l = 1; l < line; ++l) {
    size_t nl = text.find('\n', start);
    if (nl == llvm::StringRef::npos)
      return {};
    start = nl + 1;
  }
  llvm::StringRef rest = text.substr(start);
  return rest.take_until([](char c) { return c == '\n'; }).rtrim("\r");
}

} // namespace

bool DiagnosticSink::quotedLine(const SourceLoc &l, std::string &line) const {
  if (!hasSource || l.line < firstLine || l.col == 0)
    return false;
  llvm::StringRef f = l.file;
  if (f != file && !(pointerFiles && f.starts_with(file + ":/")))
    return false;
  unsigned rel = l.line - firstLine + 1;
  if (rel > 1 + (unsigned)text.count('\n'))
    return false;
  line = lineOf(text, rel).str();
  // The text's first line starts at firstCol: indent it to line up.
  if (rel == 1 && firstCol > 1)
    line.insert(0, firstCol - 1, ' ');
  return true;
}

void DiagnosticSink::report(llvm::SourceMgr::DiagKind kind, const SourceLoc &l,
                            const llvm::Twine &msg) {
  if (kind == llvm::SourceMgr::DK_Error)
    ++errors;
  llvm::raw_string_ostream os(kind == llvm::SourceMgr::DK_Warning ? warnings : printed);
  std::string line;
  if (l.line == 0 || !quotedLine(l, line)) {
    // Nothing to quote. SMDiagnostic prints a (blank) source line for every
    // diagnostic with a column, so the position goes into the file name.
    llvm::SMDiagnostic(l.str(), kind, msg.str()).print(nullptr, os, /*ShowColors=*/false);
    return;
  }
  unsigned col = l.col - 1;
  std::vector<std::pair<unsigned, unsigned>> ranges;
  // A range under a token or expression longer than the caret itself,
  // clipped to the line (SMDiagnostic does not clip).
  if (l.len > 1 && col < line.size())
    ranges.push_back({col, std::min<unsigned>(col + l.len, line.size())});
  llvm::SMDiagnostic(sm, llvm::SMLoc(), l.file, l.line, col, kind, msg.str(), line, ranges)
      .print(nullptr, os, /*ShowColors=*/false);
}

void DiagnosticSink::append(llvm::Error err) {
  if (!err)
    return;
  ++errors;
  printed += llvm::toString(std::move(err));
  printed += "\n";
}

llvm::Error DiagnosticSink::takeError() {
  if (printed.empty())
    return llvm::Error::success();
  // The message ends without a newline, as llvm::Error messages do.
  std::string msg = llvm::StringRef(printed).rtrim('\n').str();
  printed.clear();
  errors = 0;
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Error detail::makeError(const SourceLoc &loc, const llvm::Twine &message) {
  DiagnosticSink diags;
  diags.error(loc, message);
  return diags.takeError();
}
