//===- RuntimeCacheTest.cpp - attnc kernel cache --------------------------===//
//
// SHA-256, cache keys, hit/miss, atomic writes (a crash between write and
// rename leaves no entry), corrupt and truncated entries (detected, never
// loaded, recompiled), lookup-only use, and loading a kernel from an entry.
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/KernelCache.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace attnc::rt;

namespace {

class TempDir {
public:
  TempDir() {
    char t[] = "/tmp/attnc-cache-test-XXXXXX";
    char *p = mkdtemp(t);
    Path = p ? p : "";
  }
  ~TempDir() {
    if (!Path.empty()) {
      std::string cmd = "chmod -R u+w '" + Path + "' 2>/dev/null; rm -rf '" + Path + "'";
      if (system(cmd.c_str()) != 0) {
      }
    }
  }
  std::string Path;
};

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> r;
  if (DIR *d = opendir(dir.c_str())) {
    while (struct dirent *e = readdir(d))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
        r.push_back(e->d_name);
    closedir(d);
  }
  return r;
}

std::string readAll(const std::string &p) {
  std::string s;
  if (FILE *f = fopen(p.c_str(), "rb")) {
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof b, f)) > 0)
      s.append(b, n);
    fclose(f);
  }
  return s;
}
void writeAll(const std::string &p, const std::string &s) {
  FILE *f = fopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  fwrite(s.data(), 1, s.size(), f);
  fclose(f);
}

CacheKey sampleKey() {
  CacheKey k;
  k.specText = "attention q k v -> o { scale = 0.125; causal = bottom_right }";
  k.target = "sm_90a";
  k.options = "-O3";
  k.compilerVersion = "attnc 0.1.0 (abc123)";
  return k;
}

CacheArtifact sampleArtifact(const std::string &tag = "") {
  CacheArtifact a;
  a.add("manifest.json", std::string("{\"abi_version\": 1, \"note\": \"") + tag + "\"}");
  std::string bin(70000, '\0');
  for (size_t i = 0; i < bin.size(); ++i)
    bin[i] = (char)(i * 131 + 7);
  a.add("kernel.cubin", bin);
  return a;
}

// A compiler callback that counts its calls.
struct CountingCompiler {
  int calls = 0;
  bool fail = false;
  KernelCache::Compiler fn() {
    return [this](const CacheKey &key, CacheArtifact &out, std::string &err) {
      ++calls;
      if (fail) {
        err = "ptxas exploded";
        return false;
      }
      out = sampleArtifact(key.target);
      return true;
    };
  }
};

TEST(RuntimeSha256, KnownVectors) {
  EXPECT_EQ(sha256Hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string a55(55, 'a'), a56(56, 'a'), a64(64, 'a'), m(1000000, 'a');
  EXPECT_EQ(sha256Hex(a55.data(), a55.size()), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256Hex(a56.data(), a56.size()), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256Hex(a64.data(), a64.size()), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  EXPECT_EQ(sha256Hex(m.data(), m.size()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(sha256Hex(two, strlen(two)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(RuntimeCacheKey, ChangesWithEachComponent) {
  CacheKey k = sampleKey();
  std::string h = k.hex();
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(sampleKey().hex(), h) << "the key is deterministic";
  CacheKey k2 = k;
  k2.specText += " ";
  EXPECT_NE(k2.hex(), h);
  k2 = k;
  k2.target = "sm_100a";
  EXPECT_NE(k2.hex(), h);
  k2 = k;
  k2.options = "-O2";
  EXPECT_NE(k2.hex(), h);
  k2 = k;
  k2.compilerVersion = "attnc 0.1.1";
  EXPECT_NE(k2.hex(), h);
  // Fields are length-prefixed: moving a character between fields changes the key.
  CacheKey a, b;
  a.specText = "ab";
  a.target = "c";
  b.specText = "a";
  b.target = "bc";
  EXPECT_NE(a.hex(), b.hex());
}

TEST(RuntimeCache, MissStoreHit) {
  TempDir td;
  KernelCache cache(td.Path + "/nested/cache");
  std::string key = sampleKey().hex(), diag;
  CacheArtifact out;
  EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Miss);
  EXPECT_TRUE(diag.empty()) << diag;
  std::string err;
  ASSERT_TRUE(cache.store(key, sampleArtifact("x"), err)) << err;
  EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Hit) << diag;
  CacheArtifact want = sampleArtifact("x");
  ASSERT_EQ(out.files.size(), want.files.size());
  for (size_t i = 0; i < out.files.size(); ++i) {
    EXPECT_EQ(out.files[i].first, want.files[i].first);
    EXPECT_EQ(out.files[i].second, want.files[i].second);
  }
  // Only the entry remains in the directory: no temporaries.
  std::vector<std::string> files = listDir(cache.dir());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], key + ".entry");
  // A different key misses.
  CacheKey other = sampleKey();
  other.options = "-O0";
  EXPECT_EQ(cache.lookup(other.hex(), out, diag), CacheStatus::Miss);
  // Bad keys and file names are refused.
  EXPECT_FALSE(cache.store("../etc", sampleArtifact(), err));
  CacheArtifact bad;
  bad.add("../x", "y");
  EXPECT_FALSE(cache.store(key, bad, err));
  EXPECT_NE(err.find("invalid artifact file name"), std::string::npos) << err;
}

TEST(RuntimeCache, GetOrCompileCompilesOnceThenHits) {
  TempDir td;
  KernelCache cache(td.Path);
  CountingCompiler cc;
  CacheArtifact out;
  std::string diag;
  EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Compiled) << diag;
  EXPECT_EQ(cc.calls, 1);
  EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Hit) << diag;
  EXPECT_EQ(cc.calls, 1);
  ASSERT_NE(out.find("kernel.cubin"), nullptr);
  // Another target is another entry.
  CacheKey k = sampleKey();
  k.target = "sm_100a";
  EXPECT_EQ(cache.getOrCompile(k, cc.fn(), out, diag), CacheStatus::Compiled);
  EXPECT_EQ(cc.calls, 2);
  EXPECT_EQ(listDir(td.Path).size(), 2u);
}

TEST(RuntimeCache, CompileFailureIsReported) {
  TempDir td;
  KernelCache cache(td.Path);
  CountingCompiler cc;
  cc.fail = true;
  CacheArtifact out;
  std::string diag;
  EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Error);
  EXPECT_NE(diag.find("compiling kernel " + sampleKey().hex() + " failed: ptxas exploded"), std::string::npos) << diag;
  EXPECT_TRUE(out.files.empty());
  EXPECT_TRUE(listDir(td.Path).empty());
}

TEST(RuntimeCache, CorruptEntryIsDetectedAndRecompiled) {
  TempDir td;
  KernelCache cache(td.Path);
  CountingCompiler cc;
  CacheArtifact out;
  std::string diag, key = sampleKey().hex();
  ASSERT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Compiled);
  std::string path = cache.entryPath(key), good = readAll(path);
  ASSERT_GT(good.size(), 1000u);

  struct Damage {
    const char *what;
    std::string bytes;
    const char *reason;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  std::string badMagic = good;
  badMagic[0] = 'X';
  std::vector<Damage> damages = {
      {"a flipped payload byte", flipped, "checksum mismatch"},
      {"truncated", good.substr(0, good.size() - 100), "checksum mismatch"},
      {"truncated to a few bytes", good.substr(0, 10), "truncated"},
      {"empty", "", "truncated"},
      {"bad magic", badMagic, "bad magic"},
  };
  for (const Damage &d : damages) {
    writeAll(path, d.bytes);
    diag.clear();
    EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Corrupt) << d.what;
    EXPECT_TRUE(out.files.empty()) << d.what << ": a corrupt entry must never be returned";
    EXPECT_NE(diag.find("is corrupt (" + std::string(d.reason)), std::string::npos) << d.what << ": " << diag;
    int before = cc.calls;
    diag.clear();
    EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Compiled) << d.what;
    EXPECT_EQ(cc.calls, before + 1) << d.what;
    EXPECT_NE(diag.find("is corrupt"), std::string::npos) << diag;
    EXPECT_EQ(readAll(path), good) << d.what << ": the recompiled entry replaces the corrupt one";
    EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Hit);
  }
  // An entry copied under another key's name is not that key's entry.
  CacheKey other = sampleKey();
  other.options = "-O1";
  writeAll(cache.entryPath(other.hex()), good);
  diag.clear();
  EXPECT_EQ(cache.lookup(other.hex(), out, diag), CacheStatus::Corrupt);
  EXPECT_NE(diag.find("belongs to another key"), std::string::npos) << diag;
}

TEST(RuntimeCache, CrashBetweenWriteAndRenameLeavesNoEntry) {
  TempDir td;
  KernelCache cache(td.Path);
  std::string key = sampleKey().hex();
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    KernelCache::setCrashBeforeRenameForTesting(77);
    std::string err;
    cache.store(key, sampleArtifact(), err);
    _exit(0); // not reached: store() "crashes" first
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 77) << "store() did not stop at the crash point";
  // The child wrote a complete temporary file and died before the rename.
  std::vector<std::string> files = listDir(td.Path);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].compare(0, 5, ".tmp-"), 0) << files[0];
  CacheArtifact out;
  std::string diag;
  EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Miss) << diag;
  // The next getOrCompile compiles and stores a proper entry; stale
  // temporaries are cleaned up.
  CountingCompiler cc;
  EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Compiled);
  EXPECT_EQ(cache.removeStaleTemps(0), 1u);
  files = listDir(td.Path);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], key + ".entry");
  EXPECT_EQ(cache.lookup(key, out, diag), CacheStatus::Hit);
}

TEST(RuntimeCache, LookupOnlyWithoutCompiler) {
  TempDir td;
  std::string err, diag;
  // Filled ahead of time (as on a build machine)...
  {
    KernelCache writer(td.Path);
    ASSERT_TRUE(writer.store(sampleKey().hex(), sampleArtifact("aot"), err)) << err;
  }
  // ...then used where there is no compiler.
  KernelCache reader(td.Path);
  CacheArtifact out;
  EXPECT_EQ(reader.getOrCompile(sampleKey(), KernelCache::Compiler(), out, diag), CacheStatus::Hit) << diag;
  CacheKey k = sampleKey();
  k.target = "sm_80";
  EXPECT_EQ(reader.getOrCompile(k, KernelCache::Compiler(), out, diag), CacheStatus::Error);
  EXPECT_NE(diag.find("no compiler is available (lookup-only mode)"), std::string::npos) << diag;
}

TEST(RuntimeCache, UnwritableCacheStillCompiles) {
  if (geteuid() == 0)
    GTEST_SKIP() << "running as root: directory permissions do not apply";
  TempDir td;
  ASSERT_EQ(chmod(td.Path.c_str(), 0555), 0);
  KernelCache cache(td.Path);
  CountingCompiler cc;
  CacheArtifact out;
  std::string diag;
  EXPECT_EQ(cache.getOrCompile(sampleKey(), cc.fn(), out, diag), CacheStatus::Compiled);
  EXPECT_NE(diag.find("warning: could not store kernel"), std::string::npos) << diag;
  EXPECT_NE(out.find("kernel.cubin"), nullptr);
}

TEST(RuntimeCache, LoadKernelFromArtifact) {
  const char *manifest = R"json({"abi_version": 1, "kernel": "fx", "params": [
      {"name": "y", "kind": "ptr", "tensor": "y", "dtype": "f32", "shape": ["N"]},
      {"name": "N", "kind": "i32", "value": "N"}],
    "grid": ["ceildiv(N,256)", 1, 1], "block": [256, 1, 1]})json";
  CacheArtifact a;
  a.add("manifest.json", manifest);
  attnc_kernel *k = nullptr;
  EXPECT_EQ(loadKernelFromArtifact(a, &k), ATTNC_ERR_IO);
  EXPECT_NE(std::string(attnc_last_error()).find("no .cubin or .ptx"), std::string::npos) << attnc_last_error();
  a.add("fx.cubin", "\x7f" "ELF....");
  ASSERT_EQ(loadKernelFromArtifact(a, &k), ATTNC_OK) << attnc_last_error();
  EXPECT_STREQ(attnc_kernel_name(k), "fx");
  EXPECT_EQ(attnc_kernel_num_dims(k), 1);
  attnc_kernel_free(k);
  CacheArtifact none;
  none.add("fx.cubin", "x");
  EXPECT_EQ(loadKernelFromArtifact(none, &k), ATTNC_ERR_MANIFEST);
  CacheArtifact badJson;
  badJson.add("manifest.json", "{");
  badJson.add("fx.cubin", "x");
  EXPECT_EQ(loadKernelFromArtifact(badJson, &k), ATTNC_ERR_MANIFEST);
  EXPECT_EQ(k, nullptr);
}

} // namespace
