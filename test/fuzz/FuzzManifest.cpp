//===- FuzzManifest.cpp - libFuzzer target: the runtime's manifest path ----===//
//
// Any text: the runtime's manifest reader (JSON, schema, size expressions)
// accepts it or says why not; an accepted manifest then validates tensors
// built from the input bytes, passing or failing without a crash (no driver
// is needed).
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/attnc_runtime.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  attnc_kernel *k = nullptr;
  // No image: the kernel validates but cannot launch (no driver needed).
  if (attnc_kernel_load_memory(text.data(), text.size(), nullptr, 0, &k) != ATTNC_OK || !k)
    return 0;
  // Tensors shaped from the input's first bytes, so that validation sees
  // consistent and inconsistent shapes alike.
  int64_t shape[4];
  for (int d = 0; d < 4; ++d)
    shape[d] = 1 + (size > (size_t)d ? data[d] % 8 : 0);
  attnc_tensor args[8];
  for (attnc_tensor &t : args)
    t = attnc_tensor_contiguous((void *)0x100000, ATTNC_DTYPE_BF16, 4, shape, 0);
  int64_t resolved[64];
  (void)attnc_kernel_validate(k, args, 8, nullptr, nullptr);
  (void)resolved;
  attnc_kernel_free(k);
  return 0;
}
