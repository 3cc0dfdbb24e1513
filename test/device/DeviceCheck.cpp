//===- DeviceCheck.cpp - attnc-device-check: checks kernels on a GPU ------===//
//
//   attnc-device-check [--dry-run] [--attnc PATH] [--seed N] PATH...
//
// Each PATH is a fixture manifest (test/Inputs/scaled-copy/manifest.json), a
// case folder (holding case.json), or a folder searched for case folders, as
// test/device/make-cases writes them. Per case: the inputs and the float64
// CPU-backend reference come from the case, o and lse are poisoned with NaN,
// the kernel runs through the runtime, and o passes if rel_l2 <= 1e-2,
// max_abs <= 2e-2 * max(1, max|ref|), o holds a NaN or Inf only where the
// reference does (a NaN in v reaches the rows that keep its key), o has no
// entry left with the poison's payload (never written), and lse no NaN.
// --attnc PATH runs `attnc run --backend=gpu` on the case as well (the CLI's
// in-process path). The last line is "N passed, N failed"; the exit status
// is 1 if any check failed, 2 if the driver could not start.
//
//===----------------------------------------------------------------------===//
#include "DeviceCheck.h"

#include "attnc/Support/Float16.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>

using namespace attnc;
using namespace attnc::device;

namespace {
int Passed = 0, Failed = 0;

bool isDir(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool isFile(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// Case folders under DIR (DIR itself if it holds case.json), sorted so that
/// "10" follows "9".
void findCases(const std::string &dir, std::vector<std::string> &out) {
  if (isFile(dir + "/case.json")) {
    out.push_back(dir);
    return;
  }
  DIR *d = opendir(dir.c_str());
  if (!d)
    return;
  std::vector<std::string> names;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.')
      names.push_back(e->d_name);
  closedir(d);
  auto numeric = [](const std::string &n) {
    return n.find_first_not_of("0123456789") == std::string::npos;
  };
  // Numeric names first, by value ("9" before "10"), then the others.
  std::sort(names.begin(), names.end(), [&](const std::string &a, const std::string &b) {
    bool na = numeric(a), nb = numeric(b);
    if (na != nb)
      return na;
    return na && a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  for (const std::string &n : names)
    if (isDir(dir + "/" + n))
      findCases(dir + "/" + n, out);
}

int usage(const char *argv0) {
  fprintf(stderr, "usage: %s [--dry-run] [--attnc PATH] [--seed N] (MANIFEST.json | CASE_DIR | DIR)...\n",
          argv0);
  return 2;
}
} // namespace

void attnc::device::report(bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("  %s\n", ok ? "PASS" : "FAIL");
  fflush(stdout);
  (ok ? Passed : Failed)++;
}
int attnc::device::numPassed() { return Passed; }
int attnc::device::numFailed() { return Failed; }

Buffer::Buffer(size_t bytes, bool dryRun) : bytes_(bytes ? bytes : 1), dryRun_(dryRun) {
  if (dryRun_) {
    ptr_ = aligned_alloc(256, (bytes_ + 255) / 256 * 256);
    if (!ptr_)
      error_ = "out of host memory";
  } else if (attnc_device_alloc(0, bytes_, &ptr_) != ATTNC_OK) {
    ptr_ = nullptr;
    error_ = attnc_last_error();
  }
}
Buffer::~Buffer() {
  if (!ptr_)
    return;
  if (dryRun_)
    free(ptr_);
  else
    attnc_device_free(ptr_);
}
bool Buffer::upload(const void *src, size_t bytes) {
  if (dryRun_) {
    memcpy(ptr_, src, bytes);
    return true;
  }
  if (attnc_copy_to_device(ptr_, src, bytes) == ATTNC_OK)
    return true;
  error_ = attnc_last_error();
  return false;
}
bool Buffer::download(void *dst, size_t bytes) const {
  if (dryRun_) {
    memcpy(dst, ptr_, bytes);
    return true;
  }
  return attnc_copy_to_host(dst, ptr_, bytes) == ATTNC_OK;
}
bool Buffer::fill(const void *pattern, size_t elemBytes, size_t count) {
  std::vector<char> host(elemBytes * count);
  for (size_t i = 0; i < count; ++i)
    memcpy(&host[i * elemBytes], pattern, elemBytes);
  return upload(host.data(), host.size());
}

bool attnc::device::readFile(const std::string &path, std::string &out) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f)
    return false;
  char buf[65536];
  size_t n;
  out.clear();
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  bool ok = !ferror(f);
  fclose(f);
  return ok;
}

bool attnc::device::readNpyFile(const std::string &path, NpyArray &out, std::string &err) {
  std::string raw;
  if (!readFile(path, raw)) {
    err = "cannot read " + path;
    return false;
  }
  return parseNpyImage(raw.data(), raw.size(), path, out, err);
}

double attnc::device::npyValue(const NpyArray &a, size_t i) {
  switch (a.dtype) {
  case DType::F32:
    return a.as<float>()[i];
  case DType::F64:
    return a.as<double>()[i];
  case DType::I32:
    return a.as<int32_t>()[i];
  case DType::I64:
    return (double)a.as<int64_t>()[i];
  case DType::F16:
    return fromF16(a.as<uint16_t>()[i]);
  case DType::BF16:
    return fromBF16(a.as<uint16_t>()[i]);
  case DType::U8:
    return a.as<uint8_t>()[i];
  }
  return 0;
}

bool attnc::device::npyIsFloat(const NpyArray &a) {
  return a.dtype != DType::I32 && a.dtype != DType::I64 && a.dtype != DType::U8;
}

int main(int argc, char **argv) {
  Options opts;
  uint64_t seed = 20251122;
  std::vector<std::string> fixtures, cases;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--dry-run")
      opts.dryRun = true;
    else if (s == "--attnc" && i + 1 < argc)
      opts.attncPath = argv[++i];
    else if (s == "--seed" && i + 1 < argc)
      seed = strtoull(argv[++i], nullptr, 10);
    else if (s == "-h" || s == "--help" || s[0] == '-')
      return usage(argv[0]);
    else if (isDir(s))
      findCases(s, cases);
    else if (isFile(s) && s.size() >= 9 && s.compare(s.size() - 9, 9, "case.json") == 0)
      findCases(s.size() == 9 ? "." : s.substr(0, s.size() - 10), cases);
    else if (isFile(s))
      fixtures.push_back(s);
    else {
      fprintf(stderr, "attnc-device-check: no such file or folder: %s\n", s.c_str());
      return 2;
    }
  }
  if (fixtures.empty() && cases.empty())
    return usage(argv[0]);
  if (opts.dryRun) {
    printf("# dry run: no GPU; launches are only validated and o is the reference rounded to 16 bits\n");
    if (!fixtures.empty())
      printf("# dry run: the fixture needs a GPU; skipped\n");
    fixtures.clear();
  } else if (attnc_driver_available() != ATTNC_OK) {
    fprintf(stderr, "attnc-device-check: %s\n", attnc_last_error());
    return 2;
  }
  for (const std::string &m : fixtures) {
    attnc_kernel *k = nullptr;
    if (attnc_kernel_load(m.c_str(), &k) != ATTNC_OK) {
      report(false, "load %s: %s", m.c_str(), attnc_last_error());
      continue;
    }
    const char *fixture = attnc_kernel_info_string(k, "fixture");
    if (fixture && !strcmp(fixture, "scaled_copy"))
      runFixture(k, seed);
    else
      report(false, "%s: not the runtime fixture; attention kernels run from case folders (make-cases)",
             m.c_str());
    attnc_kernel_free(k);
  }
  runCases(cases, opts);
  if (Passed + Failed == 0) { // e.g. an empty case folder: nothing was checked
    printf("FAIL: no checks ran\n");
    return 1;
  }
  printf("%s: %d passed, %d failed\n", Failed ? "FAIL" : "PASS", Passed, Failed);
  return Failed ? 1 : 0;
}
