//===- Npy.h - .npy array files: reading and writing ------------*- C++ -*-===//
//
// The NumPy .npy format (versions 1.0, 2.0 and 3.0 read; 1.0 written, 2.0 only
// when the header does not fit in 64 KiB), restricted to what attnc exchanges:
// C-order, little-endian arrays of float16/32/64 and int32/64.
//
// Every malformed file gives an llvm::Error "FILE: problem" and never a crash:
// the header dictionary is parsed by a small bounds-checked recursive parser,
// the shape product is overflow-checked, and the data length must match the
// shape exactly (no truncated data, no trailing bytes).
//
// bfloat16 exists in memory (DType::BF16) but numpy has no bfloat16 dtype, so
// writeNpy rejects it rather than writing a file numpy cannot read.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SUPPORT_NPY_H
#define ATTNC_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnc {

enum class DType { F32, F64, I32, I64, F16, BF16 };

/// "float32", "float64", "int32", "int64", "float16", "bfloat16".
llvm::StringRef dtypeName(DType t);

/// Size of one element in bytes.
size_t dtypeSize(DType t);

/// The .npy descr of a dtype ("<f4", ...); empty for BF16 (no numpy dtype).
llvm::StringRef npyDescr(DType t);

/// "(2, 3)", "(5,)", "()": the shape as Python prints a tuple.
std::string npyShapeString(llvm::ArrayRef<int64_t> shape);

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
  static NpyArray zeros(DType dtype, llvm::ArrayRef<int64_t> shape);
};

/// Parses a whole .npy file image. Errors are "NAME: problem".
llvm::Expected<NpyArray> parseNpy(llvm::ArrayRef<char> bytes,
                                  llvm::StringRef nameForErrors);

/// Reads and parses a .npy file. Errors are "PATH: problem".
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// The bytes of a .npy file holding `a` (version 1.0, header padded so the
/// data starts at a multiple of 64 bytes). Errors name `nameForErrors`.
llvm::Expected<std::vector<char>> serializeNpy(const NpyArray &a,
                                               llvm::StringRef nameForErrors);

/// Writes `a` to `path` (through a temporary file, renamed into place).
llvm::Error writeNpy(llvm::StringRef path, const NpyArray &a);

} // namespace attnc

#endif // ATTNC_SUPPORT_NPY_H
