//===- Ptxas.cpp - the Hopper kernels' PTX to a cubin, with ptxas's report ===//
#include "Ptxas.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <optional>

using namespace attnc;

namespace {
std::optional<std::string> findPtxas() {
  for (const char *root : {static_cast<const char *>(std::getenv("CUDA_HOME")), "/usr/local/cuda"}) {
    if (!root || !*root)
      continue;
    llvm::SmallString<128> p(root);
    llvm::sys::path::append(p, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(p))
      return std::string(p);
  }
  if (llvm::ErrorOr<std::string> p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  return std::nullopt;
}

llvm::Expected<std::string> readAll(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return llvm::createStringError(buf.getError(), "ptxas: cannot read %s", path.str().c_str());
  return (*buf)->getBuffer().str();
}
} // namespace

std::map<std::string, int64_t> attnc::parsePtxasSpills(llvm::StringRef report) {
  // "Function properties for NAME", then "N bytes stack frame, S bytes spill stores, ...".
  std::map<std::string, int64_t> out;
  std::string current;
  llvm::SmallVector<llvm::StringRef> lines;
  report.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    size_t at = line.find("Function properties for ");
    if (at != llvm::StringRef::npos) {
      current = line.substr(at + 24).trim().str();
      continue;
    }
    size_t spill = line.find(" bytes spill stores");
    if (spill == llvm::StringRef::npos || current.empty())
      continue;
    llvm::StringRef head = line.substr(0, spill);
    size_t comma = head.rfind(',');
    int64_t n = 0;
    if (!head.substr(comma == llvm::StringRef::npos ? 0 : comma + 1).trim().getAsInteger(10, n))
      out[current] = n;
    current.clear();
  }
  return out;
}

llvm::Expected<PtxasResult> attnc::assembleWithPtxas(llvm::StringRef ptx, llvm::StringRef chip) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas)
    return llvm::createStringError("ptxas not found (set CUDA_HOME, or put the CUDA toolkit's bin on PATH)");
  llvm::SmallString<128> in, out, log;
  llvm::scope_exit cleanup([&] {
    for (const auto &p : {in, out, log})
      if (!p.empty())
        llvm::sys::fs::remove(p);
  });
  for (auto [path, ext] : {std::pair{&in, "ptx"}, {&out, "cubin"}, {&log, "log"}})
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("attnc-kernels", ext, *path))
      return llvm::createStringError(ec, "ptxas: cannot create a temporary file");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec)
      return llvm::createStringError(ec, "ptxas: cannot write %s", in.c_str());
    os << ptx;
  }
  std::string arch = ("-arch=" + chip).str();
  llvm::SmallVector<llvm::StringRef> args = {*ptxas, arch, "-O3", "-v", in, "-o", out};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log), llvm::StringRef(log)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects, 0, 0, &err);
  llvm::Expected<std::string> report = readAll(log);
  if (!report)
    return report.takeError();
  if (rc != 0)
    return llvm::createStringError("ptxas failed (%s): %s", err.empty() ? "exit status" : err.c_str(),
                                   report->c_str());
  llvm::Expected<std::string> cubin = readAll(out);
  if (!cubin)
    return cubin.takeError();
  return PtxasResult{std::move(*cubin), parsePtxasSpills(*report)};
}
