//===- SpecFile.cpp - Reading and checking a spec file --------------------===//

#include "attnc/Spec/Parser.h"

#include "SpecUtil.h"

#include "attnc/Support/Files.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace attnc::spec;
using namespace attnc::spec::detail;

llvm::Expected<Spec> attnc::spec::parseSpecFile(llvm::StringRef path) {
  auto buf = readCappedFile(path, kMaxSpecFileBytes, /*isText=*/true);
  if (!buf)
    return makeError(SourceLoc{path.str(), 1, 1},
                     "cannot read the spec file: " + llvm::toString(buf.takeError()));
  return parseSpecBuffer((*buf)->getBuffer(), path);
}

llvm::Expected<Spec> attnc::spec::parseSpecBuffer(llvm::StringRef text, llvm::StringRef path) {
  // A UTF-8 byte order mark is accepted and skipped in both forms (the JSON
  // reader skipped it, the text lexer refused it).
  text.consume_front("\xEF\xBB\xBF");
  bool json = path.ends_with_insensitive(".json");
  auto spec = json ? parseSpecJson(text, path) : parseSpecText(text, path);
  if (!spec)
    return spec.takeError();
  // Quote the offending lines for text specs; JSON locations mix file and
  // expression-string positions, so those errors stand alone.
  DiagnosticSink diags = json ? DiagnosticSink() : DiagnosticSink(text, path);
  if (!checkSpecImpl(*spec, diags))
    return diags.takeError();
  spec->warnings = diags.takeWarnings();
  return spec;
}
