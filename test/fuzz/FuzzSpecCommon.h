//===- FuzzSpecCommon.h - shared steps of the spec fuzz targets ---*- C++ -*-===//
#ifndef ATTNC_TEST_FUZZ_FUZZSPECCOMMON_H
#define ATTNC_TEST_FUZZ_FUZZSPECCOMMON_H

#include "attnc/Spec/Parser.h"

#include "llvm/Support/Error.h"

#include <optional>

/// The spec the fuzz input spells, if it parses (text or JSON form) and
/// checks; errors are expected outcomes and are dropped.
inline std::optional<attnc::spec::Spec> parseAndCheck(const uint8_t *data, size_t size,
                                                      bool json) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  auto spec = json ? attnc::spec::parseSpecJson(text, "fuzz.json")
                   : attnc::spec::parseSpecText(text, "fuzz.attn");
  if (!spec) {
    llvm::consumeError(spec.takeError());
    return std::nullopt;
  }
  if (llvm::Error e = attnc::spec::checkSpec(*spec)) {
    llvm::consumeError(std::move(e));
    return std::nullopt;
  }
  return std::move(*spec);
}

#endif // ATTNC_TEST_FUZZ_FUZZSPECCOMMON_H
