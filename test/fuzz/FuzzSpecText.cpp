//===- FuzzSpecText.cpp - libFuzzer target: the .attn text form ------------===//
//
// Any input: parse; an accepted spec is checked, printed in canonical form,
// and the canonical form must parse, check and print to itself (a fixed
// point). A crash, a sanitizer report or a broken round trip is a finding.
//
//===----------------------------------------------------------------------===//
#include "FuzzSpecCommon.h"

#include "llvm/Support/Error.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::optional<attnc::spec::Spec> spec = parseAndCheck(data, size, /*json=*/false);
  if (!spec)
    return 0;
  std::string printed = attnc::spec::printSpec(*spec);
  auto again = attnc::spec::parseSpecText(printed, "printed.attn");
  if (!again) {
    fprintf(stderr, "canonical form does not parse: %s\n--\n%s\n",
            llvm::toString(again.takeError()).c_str(), printed.c_str());
    abort();
  }
  if (llvm::Error e = attnc::spec::checkSpec(*again)) {
    fprintf(stderr, "canonical form does not check: %s\n--\n%s\n",
            llvm::toString(std::move(e)).c_str(), printed.c_str());
    abort();
  }
  if (attnc::spec::printSpec(*again) != printed) {
    fprintf(stderr, "canonical form is not a fixed point:\n%s\n", printed.c_str());
    abort();
  }
  return 0;
}
