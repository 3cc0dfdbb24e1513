//===- Files.h - reading input files with a size cap --------------*- C++ -*-===//
//
// One way for the compiler side to read a user's file (spec, .npy): it must
// be a regular file (not /dev/zero or a FIFO, which would be read until
// memory runs out, or block) no larger than a documented cap, checked
// before anything is read.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SUPPORT_FILES_H
#define ATTNC_SUPPORT_FILES_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

namespace attnc {

/// Writes an artifact atomically (a temporary file renamed into place, so a
/// reader never sees half a file): the one way the compiler writes outputs.
inline llvm::Error writeFileAtomic(llvm::StringRef path,
                                   llvm::function_ref<void(llvm::raw_ostream &)> write) {
  llvm::Error err = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    write(os);
    return llvm::Error::success();
  });
  if (err)
    return llvm::createStringError(std::errc::io_error, "%s: cannot write: %s",
                                   path.str().c_str(), llvm::toString(std::move(err)).c_str());
  return llvm::Error::success();
}
inline llvm::Error writeFileAtomic(llvm::StringRef path, llvm::StringRef data) {
  return writeFileAtomic(path, [&](llvm::raw_ostream &os) { os << data; });
}

/// Spec files (text or JSON) are at most this.
constexpr uint64_t kMaxSpecFileBytes = 16ull << 20;
/// A .npy input is at most this (the run guard's 16 GiB plus the header).
constexpr uint64_t kMaxNpyFileBytes = (16ull << 30) + (1ull << 20);

/// The contents of `path`, or an error saying why it is refused.
inline llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readCappedFile(const llvm::Twine &path, uint64_t cap, bool isText) {
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return llvm::createStringError(ec, "cannot read: %s", ec.message().c_str());
  if (!llvm::sys::fs::is_regular_file(st))
    return llvm::createStringError(std::errc::invalid_argument,
                                   "not a regular file (devices and pipes are refused)");
  if (st.getSize() > cap)
    return llvm::createStringError(std::errc::file_too_large,
                                   "the file has %llu bytes; the limit is %llu",
                                   (unsigned long long)st.getSize(),
                                   (unsigned long long)cap);
  auto buf = llvm::MemoryBuffer::getFile(path, isText, /*RequiresNullTerminator=*/false);
  if (!buf)
    return llvm::createStringError(buf.getError(), "cannot read: %s",
                                   buf.getError().message().c_str());
  return std::move(*buf);
}

} // namespace attnc

#endif // ATTNC_SUPPORT_FILES_H
