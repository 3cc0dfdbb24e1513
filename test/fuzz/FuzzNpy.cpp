//===- FuzzNpy.cpp - libFuzzer target: the .npy reader ---------------------===//
//
// Any bytes: the reader accepts them as an array whose data size matches its
// shape and dtype, or refuses them with an error; never a crash or a read
// outside the buffer. An accepted array must write back and re-read to the
// same shape and bytes.
//
//===----------------------------------------------------------------------===//
#include "attnc/Support/Npy.h"

#include "llvm/Support/Error.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::ArrayRef<char> bytes(reinterpret_cast<const char *>(data), size);
  auto a = attnc::parseNpy(bytes, "fuzz.npy");
  if (!a) {
    llvm::consumeError(a.takeError());
    return 0;
  }
  auto out = attnc::serializeNpy(*a, "fuzz.npy");
  if (!out) { // e.g. a dtype the writer does not produce
    llvm::consumeError(out.takeError());
    return 0;
  }
  auto b = attnc::parseNpy(*out, "rewritten.npy");
  if (!b || b->shape != a->shape || b->data != a->data)
    abort();
  return 0;
}
