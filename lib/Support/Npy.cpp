//===- Npy.cpp - .npy files: llvm::Error wrappers and file I/O ------------===//
#include "attnc/Support/Npy.h"
#include "attnc/Support/Files.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace attnc;
using llvm::StringRef;

static llvm::Error npyError(std::string msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<NpyArray> attnc::parseNpy(llvm::ArrayRef<char> bytes, StringRef name) {
  NpyArray a;
  std::string err;
  if (!parseNpyImage(bytes.data(), bytes.size(), name.str(), a, err))
    return npyError(std::move(err));
  return a;
}

llvm::Expected<NpyArray> attnc::readNpy(StringRef path) {
  auto buf = readCappedFile(path, kMaxNpyFileBytes, /*isText=*/false);
  if (!buf)
    return npyError(path.str() + ": " + llvm::toString(buf.takeError()));
  StringRef b = (*buf)->getBuffer();
  return parseNpy(llvm::ArrayRef<char>(b.data(), b.size()), path);
}

llvm::Expected<std::vector<char>> attnc::serializeNpy(const NpyArray &a, StringRef name) {
  std::vector<char> out;
  std::string err;
  if (!serializeNpyImage(a, name.str(), out, err))
    return npyError(std::move(err));
  return out;
}

llvm::Error attnc::writeNpy(StringRef path, const NpyArray &a) {
  auto bytes = serializeNpy(a, path);
  if (!bytes)
    return bytes.takeError();
  return writeFileAtomic(path, llvm::StringRef(bytes->data(), bytes->size()));
}
