//===- Fixture.cpp - the runtime's fixture kernel on the device -----------===//
//
// test/Inputs/scaled-copy: y = x * K through a TMA map, a pointer and i32
// params (one given only through dims[]). Exact results at several shapes
// prove the runtime's loading, map encoding and launching; then launches the
// runtime must refuse before they run.
//
//===----------------------------------------------------------------------===//
#include "DeviceCheck.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace attnc::device;

namespace {
void runShape(attnc_kernel *k, int64_t R, int64_t C, int64_t K, uint64_t seed) {
  size_t n = (size_t)R * C;
  std::vector<float> x(n), y(n);
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd;
  for (float &v : x)
    v = nd(g);
  Buffer dx(n * 4, false), dy(n * 4, false);
  float nan = std::nanf("");
  if (!dx.ok() || !dy.ok() || !dx.upload(x.data(), n * 4) || !dy.fill(&nan, 4, n))
    return report(false, "fixture R=%lld C=%lld: %s%s", (long long)R, (long long)C,
                  dx.error().c_str(), dy.error().c_str());
  int64_t shape[2] = {R, C}, dims[3] = {-1, -1, K};
  attnc_tensor t[2] = {attnc_tensor_contiguous(dx.ptr(), ATTNC_DTYPE_F32, 2, shape, 0),
                       attnc_tensor_contiguous(dy.ptr(), ATTNC_DTYPE_F32, 2, shape, 0)};
  attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
  if (s == ATTNC_OK)
    s = attnc_stream_synchronize(nullptr);
  if (s != ATTNC_OK || !dy.download(y.data(), n * 4))
    return report(false, "fixture R=%lld C=%lld K=%lld: %s: %s", (long long)R, (long long)C,
                  (long long)K, attnc_status_name(s), attnc_last_error());
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i)
    bad += !(y[i] == x[i] * (float)K); // the kernel's float multiply: exact
  report(bad == 0, "fixture R=%lld C=%lld K=%lld  mismatches=%zu (exact check)", (long long)R,
         (long long)C, (long long)K, bad);
}
} // namespace

void attnc::device::runFixture(attnc_kernel *k, uint64_t seed) {
  const int64_t shapes[][3] = {{1, 4, 1}, {8, 32, 3}, {33, 100, 2}, {1000, 1028, 5}, {4097, 64, 7}};
  for (const auto &s : shapes)
    runShape(k, s[0], s[1], s[2], seed++);

  // Each launch below must be refused before it runs.
  int64_t shape[2] = {64, 64}, dims[3] = {-1, -1, 2};
  Buffer dx(64 * 64 * 4 + 256, false), dy(64 * 64 * 4, false), small(64 * 64 * 4 / 2, false);
  if (!dx.ok() || !dy.ok() || !small.ok())
    return report(false, "fixture: cannot allocate: %s", dx.error().c_str());
  auto refuse = [&](const char *what, attnc_tensor t0, attnc_tensor t1, attnc_status want,
                    const char *substr) {
    attnc_tensor t[2] = {t0, t1};
    attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
    bool ok = s == want && strstr(attnc_last_error(), substr) != nullptr;
    report(ok, "fixture refuses %-26s -> %s: %s", what, attnc_status_name(s), attnc_last_error());
  };
  std::vector<float> host(64 * 64 + 16);
  void *hostAligned = (void *)(((uintptr_t)host.data() + 15) & ~(uintptr_t)15);
  attnc_tensor gx = attnc_tensor_contiguous(dx.ptr(), ATTNC_DTYPE_F32, 2, shape, 0);
  attnc_tensor gy = attnc_tensor_contiguous(dy.ptr(), ATTNC_DTYPE_F32, 2, shape, 0);
  refuse("a host pointer", attnc_tensor_contiguous(hostAligned, ATTNC_DTYPE_F32, 2, shape, 0), gy,
         ATTNC_ERR_POINTER, "argument 0 (x)");
  refuse("a too-small allocation", gx,
         attnc_tensor_contiguous(small.ptr(), ATTNC_DTYPE_F32, 2, shape, 0), ATTNC_ERR_POINTER,
         "argument 1 (y): the allocation at");
  attnc_tensor other = gx;
  other.device = 1;
  refuse("another device's tensor", other, gy, ATTNC_ERR_POINTER, "device 1");
  refuse("a misaligned TMA base",
         attnc_tensor_contiguous((char *)dx.ptr() + 4, ATTNC_DTYPE_F32, 2, shape, 0), gy,
         ATTNC_ERR_ALIGNMENT, "16-byte");
  // A tensor that starts inside an allocation and fits is accepted.
  attnc_tensor t[2] = {attnc_tensor_contiguous((char *)dx.ptr() + 256, ATTNC_DTYPE_F32, 2, shape, 0),
                       gy};
  attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
  if (s == ATTNC_OK)
    s = attnc_stream_synchronize(nullptr);
  report(s == ATTNC_OK, "fixture accepts an interior pointer -> %s %s", attnc_status_name(s),
         s ? attnc_last_error() : "");
}
