//===- Npy.h - .npy array files: reading and writing ------------*- C++ -*-===//
//
// .npy reading and writing for the compiler side: llvm::Error wrappers over
// the LLVM-free format code (NpyFormat.h), plus the file I/O (size-capped
// reads, atomic writes).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SUPPORT_NPY_H
#define ATTNC_SUPPORT_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include "attnc/Support/NpyFormat.h"

#include <vector>

namespace attnc {

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
