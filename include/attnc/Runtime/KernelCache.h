//===- KernelCache.h - Disk cache of compiled attnc kernels ----*- C++ -*-===//
//
// A directory of compiled artifacts (a manifest plus a cubin/PTX, or any set
// of named files), keyed by the SHA-256 of (spec text, target, options,
// compiler version).
//
// - One entry = one file <dir>/<key>.entry holding the artifact's files and a
//   SHA-256 of everything before it. Written atomically: a uniquely named
//   temporary file in the same directory, fsync, rename, fsync of the
//   directory. A crash before the rename leaves only a ".tmp-*" file, which
//   lookups ignore (removeStaleTemps() deletes old ones).
// - Verified when read: bad magic, wrong key, truncation or a checksum
//   mismatch is reported (CacheStatus::Corrupt) and treated as a miss; such an
//   entry is never returned. getOrCompile() then recompiles and replaces it.
// - Lookups need only read access and no compiler, so a directory filled
//   ahead of time works on a machine without attnc (lookup-only mode: pass
//   no compile callback).
// - No LLVM, no exceptions; errors are returned as text.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_KERNELCACHE_H
#define ATTNC_RUNTIME_KERNELCACHE_H

#include "attnc/Runtime/attnc_runtime.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace attnc {
namespace rt {

/// The kernel cache folder shared by the CLI, libattnc and Python:
/// $ATTNC_CACHE_DIR when set (set but empty: no cache), else
/// $XDG_CACHE_HOME/attnc, else $HOME/.cache/attnc, else "" (no cache).
std::string defaultCacheDir();

/// SHA-256 of data, as 64 lowercase hex digits.
std::string sha256Hex(const void *data, size_t size);
/// SHA-256 of data, 32 bytes.
void sha256(const void *data, size_t size, unsigned char out[32]);

/// Everything a compiled kernel depends on.
struct CacheKey {
  std::string specText;        ///< the attention spec (canonical text or MLIR)
  std::string target;          ///< e.g. "sm_90a"
  std::string options;         ///< compiler options that change the output
  std::string compilerVersion; ///< attnc version / build id
  /// 64 hex digits: SHA-256 over the four fields, each length-prefixed (so
  /// no two different keys hash the same bytes), with a format tag.
  std::string hex() const;
};

/// A compiled artifact: named files (names without '/').
struct CacheArtifact {
  std::vector<std::pair<std::string, std::string>> files;
  const std::string *find(const std::string &name) const;
  void add(std::string name, std::string bytes) { files.emplace_back(std::move(name), std::move(bytes)); }
};

enum class CacheStatus {
  Hit,      ///< found and verified
  Miss,     ///< no entry
  Corrupt,  ///< an entry exists but failed verification (treated as a miss)
  Compiled, ///< getOrCompile: not usable in the cache, compiled by the callback
  Error,    ///< getOrCompile: no usable entry and compiling failed or was impossible
};
const char *cacheStatusName(CacheStatus s);

class KernelCache {
public:
  /// Compiles key into out; false (and err) on failure.
  using Compiler = std::function<bool(const CacheKey &key, CacheArtifact &out, std::string &err)>;

  explicit KernelCache(std::string dir) : Dir(std::move(dir)) {}
  const std::string &dir() const { return Dir; }
  std::string entryPath(const std::string &keyHex) const;

  /// Hit (out filled), Miss, or Corrupt (diag says why; out left empty).
  CacheStatus lookup(const std::string &keyHex, CacheArtifact &out, std::string &diag) const;
  /// Writes an entry atomically (creating the directory if needed).
  bool store(const std::string &keyHex, const CacheArtifact &artifact, std::string &err) const;
  /// lookup; on a miss or a corrupt entry, compile (if a compiler is given)
  /// and store. Returns Hit, Compiled or Error. diag collects what happened
  /// (a corrupt entry, a failed store: the artifact is still returned).
  CacheStatus getOrCompile(const CacheKey &key, const Compiler &compile, CacheArtifact &out,
                           std::string &diag) const;
  /// Deletes ".tmp-*" files older than maxAgeSeconds; returns how many.
  size_t removeStaleTemps(long maxAgeSeconds) const;

  /// Test hook: store() calls _exit(code) after the temporary file is written
  /// and synced but before the rename, as a crash there would. 0 = off.
  static void setCrashBeforeRenameForTesting(int exitCode);

private:
  std::string Dir;
};

/// Loads a kernel from an artifact: the file "manifest.json" (or the only
/// "*.json") plus the binary it names ("binary") or the only "*.cubin" /
/// "*.ptx". See attnc_kernel_load_memory.
attnc_status loadKernelFromArtifact(const CacheArtifact &artifact, attnc_kernel **out);

} // namespace rt
} // namespace attnc

#endif
