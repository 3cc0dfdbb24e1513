//===- FuzzSpecJson.cpp - libFuzzer target: the JSON spec form -------------===//
//
// Any input: parse as JSON; an accepted spec is checked, written as JSON and
// as text, and both must read back to the same canonical text.
//
//===----------------------------------------------------------------------===//
#include "FuzzSpecCommon.h"

#include "llvm/Support/Error.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::optional<attnc::spec::Spec> spec = parseAndCheck(data, size, /*json=*/true);
  if (!spec)
    return 0;
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
