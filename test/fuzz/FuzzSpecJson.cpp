//===- FuzzSpecJson.cpp - libFuzzer target: the JSON spec form -------------===//
//
// Any input: parse as JSON; an accepted spec is checked, written as JSON and
// as text, and both must read back to the same canonical text.
//
//===----------------------------------------------------------------------===//
#include "attnc/Spec/Parser.h"

#include "llvm/Support/Error.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto spec = attnc::spec::parseSpecJson(text, "fuzz.json");
  if (!spec) {
    llvm::consumeError(spec.takeError());
    return 0;
  }
  if (llvm::Error e = attnc::spec::checkSpec(*spec)) {
    llvm::consumeError(std::move(e));
    return 0;
  }
  std::string canonical = attnc::spec::printSpec(*spec);
  std::string json = attnc::spec::printSpecJson(*spec);
  auto fromJson = attnc::spec::parseSpecJson(json, "printed.json");
  auto fromText = attnc::spec::parseSpecText(canonical, "printed.attn");
  if (!fromJson || !fromText) {
    fprintf(stderr, "a printed form does not parse:\n%s\n--\n%s\n", json.c_str(),
            canonical.c_str());
    if (!fromJson)
      fprintf(stderr, "json: %s\n", llvm::toString(fromJson.takeError()).c_str());
    if (!fromText)
      fprintf(stderr, "text: %s\n", llvm::toString(fromText.takeError()).c_str());
    abort();
  }
  if (attnc::spec::printSpec(*fromJson) != canonical ||
      attnc::spec::printSpec(*fromText) != canonical) {
    fprintf(stderr, "JSON -> text -> JSON is not exact:\n%s\n--\n%s\n", canonical.c_str(),
            json.c_str());
    abort();
  }
  return 0;
}
