//===- KernelCache.cpp - Disk cache of compiled attnc kernels -------------===//
//
// Entry file layout (little-endian):
//   "ATTNCKC1"                      8 bytes
//   u32 format version (1)
//   u32 key length, key bytes       (the 64-hex-digit key; must match the name)
//   u32 file count
//   per file: u32 name length, name, u64 size, bytes
//   SHA-256 of all bytes above      32 bytes
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/KernelCache.h"

#include "Manifest.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace attnc {
namespace rt {

namespace {

std::atomic<int> CrashBeforeRename{0};
const char Magic[8] = {'A', 'T', 'T', 'N', 'C', 'K', 'C', '1'};
const uint32_t FormatVersion = 1;
const uint64_t MaxEntryBytes = uint64_t(1) << 32; // 4 GiB: anything larger is not ours

void putU32(std::string &s, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s += (char)(v >> (8 * i));
}
void putU64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    s += (char)(v >> (8 * i));
}

struct Reader {
  const std::string &S;
  size_t P = 0;
  bool u32(uint32_t &v) {
    if (S.size() - P < 4)
      return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v |= (uint32_t)(unsigned char)S[P + i] << (8 * i);
    P += 4;
    return true;
  }
  bool u64(uint64_t &v) {
    if (S.size() - P < 8)
      return false;
    v = 0;
    for (int i = 0; i < 8; ++i)
      v |= (uint64_t)(unsigned char)S[P + i] << (8 * i);
    P += 8;
    return true;
  }
  bool bytes(uint64_t n, std::string &out) {
    if (S.size() - P < n)
      return false;
    out.assign(S, P, (size_t)n);
    P += (size_t)n;
    return true;
  }
};

bool validKey(const std::string &k) {
  if (k.size() < 16 || k.size() > 128)
    return false;
  for (char c : k)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool validFileName(const std::string &n) {
  return !n.empty() && n.size() <= 255 && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

bool writeAll(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

bool mkdirs(const std::string &dir, std::string &err) {
  if (dir.empty())
    return true;
  std::string cur;
  size_t i = 0;
  while (i <= dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos)
      j = dir.size();
    cur = dir.substr(0, j);
    // The cache directory itself is private to the user; parents as usual.
    mode_t mode = j == dir.size() ? 0700 : 0755;
    if (!cur.empty() && ::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      err = "cannot create directory '" + cur + "': " + strerror(errno);
      return false;
    }
    i = j + 1;
  }
  return true;
}

/// Entries are trusted once their checksum verifies, so the directory must
/// be one nobody else can write to (as ssh treats its keys): an existing
/// directory owned by another user, or writable by group or others, is
/// refused.
bool checkPrivateDir(const std::string &dir, std::string &err) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return true; // created private by mkdirs
  if (!S_ISDIR(st.st_mode)) {
    err = "kernel cache '" + dir + "' is not a directory";
    return false;
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
    err = "kernel cache directory '" + dir + "' (mode " + mode +
          ") can be written by another user; use a directory only you can write (chmod 700)";
    return false;
  }
  return true;
}

} // namespace

const std::string *CacheArtifact::find(const std::string &name) const {
  for (const auto &f : files)
    if (f.first == name)
      return &f.second;
  return nullptr;
}

std::string defaultCacheDir() {
  if (const char *env = getenv("ATTNC_CACHE_DIR"))
    return env;
  if (const char *xdg = getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/attnc";
  if (const char *home = getenv("HOME"); home && *home == '/')
    return std::string(home) + "/.cache/attnc";
  return "";
}

const char *cacheStatusName(CacheStatus s) {
  switch (s) {
  case CacheStatus::Hit: return "hit";
  case CacheStatus::Miss: return "miss";
  case CacheStatus::Corrupt: return "corrupt";
  case CacheStatus::Compiled: return "compiled";
  case CacheStatus::Error: return "error";
  }
  return "?";
}

std::string CacheKey::hex() const {
  std::string buf = "attnc-kernel-cache-key-v1";
  for (const std::string *f : {&specText, &target, &options, &compilerVersion}) {
    putU64(buf, f->size());
    buf += *f;
  }
  return sha256Hex(buf.data(), buf.size());
}

std::string KernelCache::entryPath(const std::string &keyHex) const {
  return (Dir.empty() ? std::string(".") : Dir) + "/" + keyHex + ".entry";
}

void KernelCache::setCrashBeforeRenameForTesting(int exitCode) { CrashBeforeRename = exitCode; }

CacheStatus KernelCache::lookup(const std::string &keyHex, CacheArtifact &out, std::string &diag) const {
  out.files.clear();
  if (!validKey(keyHex)) {
    diag = "invalid cache key '" + keyHex + "'";
    return CacheStatus::Miss;
  }
  std::string path = entryPath(keyHex);
  // O_NONBLOCK: a FIFO planted as an entry must not block open().
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT)
      diag = "cannot read cache entry '" + path + "': " + strerror(errno);
    return CacheStatus::Miss;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MaxEntryBytes) {
    ::close(fd);
    diag = "cache entry '" + path + "' is not a regular file of a sane size";
    return CacheStatus::Corrupt;
  }
  std::string s;
  s.resize((size_t)st.st_size);
  size_t got = 0;
  while (got < s.size()) {
    ssize_t r = ::read(fd, &s[got], s.size() - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  ::close(fd);
  auto corrupt = [&](const std::string &why) {
    diag = "cache entry '" + path + "' is corrupt (" + why + "); ignoring it";
    out.files.clear();
    return CacheStatus::Corrupt;
  };
  if (got != s.size())
    return corrupt("short read");
  if (s.size() < sizeof Magic + 4 + 32)
    return corrupt("truncated: " + std::to_string(s.size()) + " bytes");
  if (memcmp(s.data(), Magic, sizeof Magic) != 0)
    return corrupt("bad magic");
  unsigned char sum[32];
  sha256(s.data(), s.size() - 32, sum);
  if (memcmp(sum, s.data() + s.size() - 32, 32) != 0)
    return corrupt("checksum mismatch (truncated or modified)");
  std::string body = s.substr(0, s.size() - 32);
  Reader r{body};
  r.P = sizeof Magic;
  uint32_t ver, klen, nfiles;
  std::string key;
  if (!r.u32(ver) || ver != FormatVersion)
    return corrupt("unknown format version");
  if (!r.u32(klen) || !r.bytes(klen, key) || key != keyHex)
    return corrupt("the entry belongs to another key");
  if (!r.u32(nfiles) || nfiles > 4096)
    return corrupt("bad file count");
  for (uint32_t i = 0; i < nfiles; ++i) {
    uint32_t nlen;
    uint64_t size;
    std::string name, data;
    if (!r.u32(nlen) || !r.bytes(nlen, name) || !validFileName(name) || !r.u64(size) || !r.bytes(size, data))
      return corrupt("bad file record " + std::to_string(i));
    out.files.emplace_back(std::move(name), std::move(data));
  }
  if (r.P != body.size())
    return corrupt("trailing bytes");
  return CacheStatus::Hit;
}

bool KernelCache::store(const std::string &keyHex, const CacheArtifact &a, std::string &err) const {
  if (!validKey(keyHex)) {
    err = "invalid cache key '" + keyHex + "'";
    return false;
  }
  std::string s(Magic, sizeof Magic);
  putU32(s, FormatVersion);
  putU32(s, (uint32_t)keyHex.size());
  s += keyHex;
  putU32(s, (uint32_t)a.files.size());
  for (const auto &f : a.files) {
    if (!validFileName(f.first)) {
      err = "invalid artifact file name '" + f.first + "'";
      return false;
    }
    putU32(s, (uint32_t)f.first.size());
    s += f.first;
    putU64(s, f.second.size());
    s += f.second;
  }
  unsigned char sum[32];
  sha256(s.data(), s.size(), sum);
  s.append((const char *)sum, 32);
  if (s.size() > MaxEntryBytes) {
    err = "artifact too large for the cache";
    return false;
  }

  if (!mkdirs(Dir, err))
    return false;
  std::string dir = Dir.empty() ? "." : Dir;
  // Unique temporary name in the same directory (same file system: rename is atomic).
  char tmpName[96];
  static std::atomic<unsigned> counter{0};
  snprintf(tmpName, sizeof tmpName, "/.tmp-%.16s-%ld-%u-%ld", keyHex.c_str(), (long)getpid(), counter++,
           (long)time(nullptr));
  std::string tmp = dir + tmpName;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = "cannot create '" + tmp + "': " + strerror(errno);
    return false;
  }
  if (!writeAll(fd, s.data(), s.size()) || ::fsync(fd) != 0) {
    err = "cannot write '" + tmp + "': " + strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::close(fd) != 0) {
    err = "cannot write '" + tmp + "': " + strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (int code = CrashBeforeRename.load())
    _exit(code);
  std::string path = entryPath(keyHex);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = "cannot rename '" + tmp + "' to '" + path + "': " + strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd); // make the rename durable; failure here loses nothing but durability
    ::close(dfd);
  }
  return true;
}

CacheStatus KernelCache::getOrCompile(const CacheKey &key, const Compiler &compile, CacheArtifact &out,
                                      std::string &diag) const {
  std::string k = key.hex(), d;
  if (!checkPrivateDir(Dir, d)) {
    diag += d;
    return CacheStatus::Error;
  }
  CacheStatus st = lookup(k, out, d);
  if (st == CacheStatus::Hit)
    return st;
  if (!d.empty())
    diag += d + "\n";
  if (!compile) {
    diag += "kernel " + k + " is not in the cache '" + Dir + "' and no compiler is available (lookup-only mode)";
    return CacheStatus::Error;
  }
  std::string err;
  out.files.clear();
  if (!compile(key, out, err)) {
    diag += "compiling kernel " + k + " failed: " + err;
    out.files.clear();
    return CacheStatus::Error;
  }
  if (!store(k, out, err))
    diag += "warning: could not store kernel " + k + " in the cache: " + err + "\n";
  return CacheStatus::Compiled;
}

size_t KernelCache::removeStaleTemps(long maxAgeSeconds) const {
  std::string dir = Dir.empty() ? "." : Dir;
  DIR *d = opendir(dir.c_str());
  if (!d)
    return 0;
  size_t n = 0;
  time_t now = time(nullptr);
  while (struct dirent *e = readdir(d)) {
    if (strncmp(e->d_name, ".tmp-", 5) != 0)
      continue;
    std::string p = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= maxAgeSeconds &&
        ::unlink(p.c_str()) == 0)
      ++n;
  }
  closedir(d);
  return n;
}

attnc_status loadKernelFromArtifact(const CacheArtifact &a, attnc_kernel **out) {
  if (!out)
    return setLastError(ATTNC_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  auto endsWith = [](const std::string &s, const char *suf) {
    size_t n = strlen(suf);
    return s.size() > n && s.compare(s.size() - n, n, suf) == 0;
  };
  const std::string *manifest = a.find("manifest.json");
  int njson = 0;
  if (!manifest)
    for (const auto &f : a.files)
      if (endsWith(f.first, ".json")) {
        manifest = &f.second;
        ++njson;
      }
  if (!manifest || njson > 1)
    return setLastError(ATTNC_ERR_MANIFEST, njson > 1 ? "the artifact has several .json files and no manifest.json"
                                                      : "the artifact has no manifest (.json file)");
  attnc_kernel *probe = nullptr;
  if (attnc_status s = attnc_kernel_load_memory(manifest->data(), manifest->size(), nullptr, 0, &probe))
    return s;
  const char *binName = attnc_kernel_info_string(probe, "binary");
  std::string want = binName ? binName : "";
  attnc_kernel_free(probe);
  const std::string *image = nullptr;
  int nbin = 0;
  if (!want.empty()) {
    image = a.find(want);
    if (!image)
      return setLastError(ATTNC_ERR_IO, "the artifact has no file '" + want + "' (the manifest's \"binary\")");
  } else {
    for (const auto &f : a.files)
      if (endsWith(f.first, ".cubin") || endsWith(f.first, ".ptx")) {
        image = &f.second;
        ++nbin;
      }
    if (!image || nbin > 1)
      return setLastError(ATTNC_ERR_IO, nbin > 1 ? "the artifact has several binaries and the manifest names none"
                                                 : "the artifact has no .cubin or .ptx file");
  }
  return attnc_kernel_load_memory(manifest->data(), manifest->size(), image->data(), image->size(), out);
}

} // namespace rt
} // namespace attnc
