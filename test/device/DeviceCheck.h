//===- DeviceCheck.h - the device test driver's shared pieces ---*- C++ -*-===//
//
// attnc-device-check runs attnc kernels on a GPU through the project's
// runtime (attnc_runtime.h) and checks them: the runtime's fixture kernel
// (Fixture.cpp) and the case folders that test/device/make-cases writes
// (Cases.cpp), whose references come from the CPU backend. It uses only the
// runtime's API (no CUDA headers), so it builds with or without LLVM and a
// GPU; --dry-run checks the reading and mapping paths without a device.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TEST_DEVICE_DEVICECHECK_H
#define ATTNC_TEST_DEVICE_DEVICECHECK_H

#include "attnc/Runtime/attnc_runtime.h"
#include "attnc/Support/NpyFormat.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnc::device {

struct Options {
  bool dryRun = false;   ///< no GPU: validate launches, o := the reference
  std::string attncPath; ///< also check `attnc run --backend=gpu` per case
};

/// Prints one result line ending in PASS or FAIL and counts it.
void report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int numPassed();
int numFailed();

/// A buffer on device 0 through the runtime, or in host memory under
/// --dry-run. Errors are reported through ok() and error().
class Buffer {
public:
  Buffer(size_t bytes, bool dryRun);
  ~Buffer();
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  bool ok() const { return ptr_ != nullptr; }
  const std::string &error() const { return error_; }
  void *ptr() const { return ptr_; }
  bool upload(const void *src, size_t bytes);
  bool download(void *dst, size_t bytes) const;
  /// Fills COUNT elements of ELEM_BYTES bytes with PATTERN (poisoning).
  bool fill(const void *pattern, size_t elemBytes, size_t count);

private:
  void *ptr_ = nullptr;
  size_t bytes_;
  bool dryRun_;
  std::string error_;
};

bool readFile(const std::string &path, std::string &out);
/// Reads a .npy file with the project's reader (NpyFormat.h).
bool readNpyFile(const std::string &path, NpyArray &out, std::string &err);
/// Element I of a numeric array as a double (any NpyArray dtype).
double npyValue(const NpyArray &a, size_t i);
bool npyIsFloat(const NpyArray &a);

/// The runtime's fixture kernel (test/Inputs/scaled-copy): exact results at
/// several shapes and the refusals of the runtime's launch validation.
void runFixture(attnc_kernel *k, uint64_t seed);

/// Every case folder under the given paths (case.json), run in order.
void runCases(const std::vector<std::string> &caseDirs, const Options &opts);

} // namespace attnc::device

#endif // ATTNC_TEST_DEVICE_DEVICECHECK_H
