//===- NpyFormat.h - the .npy format, free of LLVM --------------*- C++ -*-===//
//
// The NumPy .npy format (versions 1.0, 2.0 and 3.0 read; 1.0 written, 2.0 only
// when the header does not fit in 64 KiB), restricted to what attnc exchanges:
// C-order, little-endian arrays of float16/32/64, int32/64 and uint8 (the bytes
// of FP8 inputs).
//
// Plain C++ so that programs built without LLVM (the device test driver in
// test/device, which runs where no LLVM exists) share the one reader; the
// compiler side uses the llvm::Error wrappers of Npy.h.
//
// Every malformed image gives "NAME: problem" and never a crash: the header
// dictionary is parsed by a small bounds-checked recursive parser, the shape
// product is overflow-checked, and the data length must match the shape
// exactly (no truncated data, no trailing bytes).
//
// bfloat16 exists in memory (DType::BF16) but numpy has no bfloat16 dtype, so
// serializing it is refused rather than writing a file numpy cannot read.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SUPPORT_NPYFORMAT_H
#define ATTNC_SUPPORT_NPYFORMAT_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

/// U8: bytes, as FP8 (e4m3) data travels in .npy files (numpy has no FP8).
enum class DType { F32, F64, I32, I64, F16, BF16, U8 };

/// "float32", "float64", "int32", "int64", "float16", "bfloat16", "uint8".
std::string dtypeName(DType t);
/// Size of one element in bytes.
size_t dtypeSize(DType t);
/// The .npy descr of a dtype ("<f4", ...); empty for BF16 (no numpy dtype).
std::string npyDescr(DType t);
/// "(2, 3)", "(5,)", "()": the shape as Python prints a tuple.
std::string npyShapeString(const std::vector<int64_t> &shape);

/// A dense array: C order, little endian, `data.size()` ==
/// numElements() * elementSize().
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape; // empty: a 0-d array (one element)
  std::vector<char> data;

  /// Product of the shape (1 for a 0-d array, 0 if some dim is 0).
  size_t numElements() const;
  size_t elementSize() const { return dtypeSize(dtype); }
  size_t numBytes() const { return numElements() * elementSize(); }
  /// Element pointer of the given C++ type. The caller picks the type that
  /// matches `dtype` (float for F32, double for F64, int32_t, int64_t,
  /// uint16_t for the 16-bit float types); the storage is aligned for all.
  template <class T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <class T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
  /// A zero-filled array of the given dtype and shape.
  static NpyArray zeros(DType dtype, const std::vector<int64_t> &shape);
};

/// Parses a whole .npy file image. On failure returns false and sets ERR to
/// "NAME: problem".
bool parseNpyImage(const char *bytes, size_t size, const std::string &name,
                   NpyArray &out, std::string &err);
/// The bytes of a .npy file holding `a` (version 1.0, header padded so the
/// data starts at a multiple of 64 bytes). On failure returns false and sets
/// ERR to "NAME: problem".
bool serializeNpyImage(const NpyArray &a, const std::string &name,
                       std::vector<char> &out, std::string &err);

} // namespace attnc

#endif // ATTNC_SUPPORT_NPYFORMAT_H
