//===- Float16.h - bfloat16 and IEEE half conversions -----------*- C++ -*-===//
//
// Round-to-nearest-even conversions between float and the 16-bit float
// types the GPU kernels take, as bit patterns. Plain C++ (no _Float16, which
// older host compilers lack in C++) so the device test driver, built where
// no LLVM or recent compiler may exist, shares them with lib/GPU.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SUPPORT_FLOAT16_H
#define ATTNC_SUPPORT_FLOAT16_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace attnc {

/// float -> bfloat16 bits (NaN stays a quiet NaN).
inline uint16_t toBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000)
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

inline float fromBF16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// float -> IEEE half bits (overflow to infinity, subnormals kept).
inline uint16_t toF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, absx = x & 0x7fffffff;
  if (absx > 0x7f800000)
    return (uint16_t)(sign | 0x7e00);
  if (absx >= 0x477ff000) // rounds to >= 65520: infinity
    return (uint16_t)(sign | 0x7c00);
  if (absx < 0x38800000) { // a subnormal half (or zero)
    float a;
    std::memcpy(&a, &absx, 4);
    return (uint16_t)(sign | (uint32_t)std::nearbyint(a * 16777216.0f)); // units of 2^-24
  }
  uint32_t e = (absx >> 23) - 127 + 15, m = absx & 0x7fffff;
  uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return (uint16_t)(sign | h);
}

inline float fromF16(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float f;
  if (e == 0) {
    f = std::ldexp((float)m, -24);
    return sign ? -f : f;
  }
  uint32_t u = e == 31 ? sign | 0x7f800000 | (m << 13) : sign | ((e - 15 + 127) << 23) | (m << 13);
  std::memcpy(&f, &u, 4);
  return f;
}

} // namespace attnc

#endif // ATTNC_SUPPORT_FLOAT16_H
