//===- Runtime.cpp - errors, loading and introspection of attnc kernels ---===//
//
// The C API of attnc_runtime.h, part 1: per-thread errors, dtypes, loading a
// manifest and its binary, and the introspection calls. Validate.cpp holds
// the host-side checks of a launch, Launch.cpp the launch, DeviceMemory.cpp
// the driver helpers for hosts without a CUDA runtime.
//
//===----------------------------------------------------------------------===//
#include "RuntimeInternal.h"

#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

using namespace attnc::rt;

namespace {
thread_local std::string LastError;
thread_local attnc_status LastStatus = ATTNC_OK;
} // namespace

namespace attnc {
namespace rt {

attnc_status lastStatus() { return LastStatus; }

int cuStatus(int r) { return r == cu::ERROR_OUT_OF_MEMORY ? ATTNC_ERR_OUT_OF_MEMORY : ATTNC_ERR_CUDA; }

attnc_status fail(attnc_status s, const std::string &msg) {
  LastError = msg;
  LastStatus = s;
  return s;
}

std::string hex(const void *p) {
  char b[32];
  snprintf(b, sizeof b, "0x%" PRIxPTR, (uintptr_t)p);
  return b;
}

std::string argName(const attnc_kernel *k, int i) {
  return "argument " + std::to_string(i) + " (" + k->m.tensors[i].name + ")";
}

std::string shapeText(const std::vector<Expr> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + s[i].text();
  return r + "]";
}
std::string shapeText(const attnc_tensor &t) {
  std::string r = "[";
  for (int i = 0; i < t.rank && i < ATTNC_MAX_RANK; ++i)
    r += (i ? ", " : "") + std::to_string(t.shape[i]);
  return r + "]";
}

bool validDtype(int32_t d) { return d >= ATTNC_DTYPE_F32 && d <= ATTNC_DTYPE_F8E4M3; }

} // namespace rt
} // namespace attnc

namespace {

/// Manifests and kernel images are small: a larger file, or one that is not
/// a regular file (/dev/zero, a FIFO), is refused before reading. O_NONBLOCK
/// keeps open() from waiting for a FIFO's writer.
constexpr uint64_t kMaxArtifactBytes = 256ull << 20;

bool readFile(const std::string &path, std::string &out, std::string &err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    err = "cannot read '" + path + "': " + strerror(errno);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > kMaxArtifactBytes) {
    ::close(fd);
    err = "cannot read '" + path + "': not a regular file of at most " +
          std::to_string(kMaxArtifactBytes >> 20) + " MiB";
    return false;
  }
  out.assign((size_t)st.st_size, '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd, &out[got], out.size() - got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  ::close(fd);
  if (got != out.size()) {
    err = "cannot read '" + path + "': read error";
    return false;
  }
  return true;
}

bool fileExists(const std::string &p) {
  FILE *f = fopen(p.c_str(), "rb");
  if (!f)
    return false;
  fclose(f);
  return true;
}

attnc_status makeKernel(const std::string &json, const void *image, size_t imageSize, const std::string &origin,
                        attnc_kernel **out) {
  attnc_kernel *k = new attnc_kernel;
  std::string err;
  if (!Manifest::parse(json, k->m, err)) {
    delete k;
    return fail(ATTNC_ERR_MANIFEST, "manifest " + origin + ": " + err);
  }
  if (image && imageSize) {
    k->image.assign((const char *)image, imageSize);
    k->hasImage = true;
  }
  k->image.push_back('\0');
  k->origin = origin;
  *out = k;
  return ATTNC_OK;
}

} // namespace

attnc_status attnc::rt::setLastError(attnc_status s, const std::string &msg) { return fail(s, msg); }

extern "C" {

const char *attnc_last_error(void) { return LastError.c_str(); }

const char *attnc_status_name(attnc_status s) {
  switch (s) {
  case ATTNC_OK: return "ATTNC_OK";
  case ATTNC_ERR_INVALID_ARGUMENT: return "ATTNC_ERR_INVALID_ARGUMENT";
  case ATTNC_ERR_IO: return "ATTNC_ERR_IO";
  case ATTNC_ERR_MANIFEST: return "ATTNC_ERR_MANIFEST";
  case ATTNC_ERR_ARG_COUNT: return "ATTNC_ERR_ARG_COUNT";
  case ATTNC_ERR_DTYPE: return "ATTNC_ERR_DTYPE";
  case ATTNC_ERR_RANK: return "ATTNC_ERR_RANK";
  case ATTNC_ERR_SHAPE: return "ATTNC_ERR_SHAPE";
  case ATTNC_ERR_STRIDE: return "ATTNC_ERR_STRIDE";
  case ATTNC_ERR_ALIGNMENT: return "ATTNC_ERR_ALIGNMENT";
  case ATTNC_ERR_LIMIT: return "ATTNC_ERR_LIMIT";
  case ATTNC_ERR_POINTER: return "ATTNC_ERR_POINTER";
  case ATTNC_ERR_NO_DRIVER: return "ATTNC_ERR_NO_DRIVER";
  case ATTNC_ERR_CUDA: return "ATTNC_ERR_CUDA";
  case ATTNC_ERR_UNSUPPORTED_DEVICE: return "ATTNC_ERR_UNSUPPORTED_DEVICE";
  case ATTNC_ERR_OUT_OF_MEMORY: return "ATTNC_ERR_OUT_OF_MEMORY";
  }
  return "ATTNC_ERR_UNKNOWN";
}

size_t attnc_dtype_size(attnc_dtype d) {
  switch (d) {
  case ATTNC_DTYPE_F32: case ATTNC_DTYPE_I32: return 4;
  case ATTNC_DTYPE_F16: case ATTNC_DTYPE_BF16: return 2;
  case ATTNC_DTYPE_F64: case ATTNC_DTYPE_I64: return 8;
  case ATTNC_DTYPE_I8: case ATTNC_DTYPE_U8: case ATTNC_DTYPE_BOOL: case ATTNC_DTYPE_F8E4M3:
    return 1;
  default: return 0;
  }
}

const char *attnc_dtype_name(attnc_dtype d) {
  switch (d) {
  case ATTNC_DTYPE_F32: return "f32";
  case ATTNC_DTYPE_F16: return "f16";
  case ATTNC_DTYPE_BF16: return "bf16";
  case ATTNC_DTYPE_F64: return "f64";
  case ATTNC_DTYPE_I32: return "i32";
  case ATTNC_DTYPE_I64: return "i64";
  case ATTNC_DTYPE_I8: return "i8";
  case ATTNC_DTYPE_U8: return "u8";
  case ATTNC_DTYPE_BOOL: return "bool";
  case ATTNC_DTYPE_F8E4M3: return "f8e4m3";
  default: return "invalid";
  }
}

attnc_tensor attnc_tensor_contiguous(void *data, attnc_dtype dtype, int rank, const int64_t *shape, int device) {
  attnc_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = dtype;
  t.rank = rank < 0 ? 0 : rank > ATTNC_MAX_RANK ? ATTNC_MAX_RANK : rank;
  t.device = device;
  if (!shape)
    t.rank = 0;
  int64_t s = 1;
  for (int i = t.rank - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = s;
    int64_t next;
    if (shape[i] > 0 && !__builtin_mul_overflow(s, shape[i], &next))
      s = next;
  }
  return t;
}

attnc_status attnc_kernel_load(const char *path, attnc_kernel **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (!path)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "manifest path is NULL");
  std::string p = path, json, err;
  if (!readFile(p, json, err))
    return fail(ATTNC_ERR_IO, err);
  attnc_kernel *k = nullptr;
  if (attnc_status s = makeKernel(json, nullptr, 0, p, &k))
    return s;
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "" : p.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  std::string stem = base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0
                         ? base.substr(0, base.size() - 5)
                         : base;
  std::vector<std::string> cands;
  if (!k->m.binary.empty())
    cands.push_back(dir + k->m.binary);
  else
    cands = {dir + stem + ".cubin", dir + stem + ".ptx", dir + k->m.kernel + ".cubin", dir + k->m.kernel + ".ptx"};
  std::string found;
  for (const std::string &c : cands)
    if (fileExists(c)) {
      found = c;
      break;
    }
  if (found.empty()) {
    std::string list;
    for (const std::string &c : cands)
      list += (list.empty() ? "" : ", ") + c;
    attnc_kernel_free(k);
    return fail(ATTNC_ERR_IO, "no kernel binary beside manifest " + p + " (looked for " + list + ")");
  }
  std::string img;
  if (!readFile(found, img, err)) {
    attnc_kernel_free(k);
    return fail(ATTNC_ERR_IO, err);
  }
  if (img.empty()) {
    attnc_kernel_free(k);
    return fail(ATTNC_ERR_IO, "kernel binary " + found + " is empty");
  }
  k->image = img;
  k->image.push_back('\0');
  k->hasImage = true;
  *out = k;
  return ATTNC_OK;
}

attnc_status attnc_kernel_load_memory(const char *json, size_t size, const void *image, size_t imageSize,
                                      attnc_kernel **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "out is NULL");
  *out = nullptr;
  if (!json)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "manifest text is NULL");
  if (!image && imageSize)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "image is NULL but image_size is " + std::to_string(imageSize));
  return makeKernel(std::string(json, size), image, imageSize, "<memory>", out);
}

void attnc_kernel_free(attnc_kernel *k) {
  if (!k)
    return;
  if (!k->loaded.empty()) {
    std::string why;
    if (const cu::Api *api = cu::driver(why)) {
      // Each context's buffers and module are released in that context.
      cu::Context prev = nullptr;
      api->CtxGetCurrent(&prev);
      for (auto &e : k->loaded) {
        api->CtxSetCurrent(e.ctx);
        for (auto &sb : e.buffers)
          freeStreamBuffer(*api, sb);
        for (cu::DevicePtr g : e.graphBuffers)
          api->MemFree(g);
        if (e.upload)
          api->StreamDestroy(e.upload);
        api->ModuleUnload(e.mod);
      }
      api->CtxSetCurrent(prev);
    }
  }
  delete k;
}

const char *attnc_kernel_name(const attnc_kernel *k) { return k ? k->m.kernel.c_str() : nullptr; }
int attnc_kernel_num_tensors(const attnc_kernel *k) { return k ? (int)k->m.tensors.size() : 0; }
const char *attnc_kernel_tensor_name(const attnc_kernel *k, int i) {
  return k && i >= 0 && i < (int)k->m.tensors.size() ? k->m.tensors[i].name.c_str() : nullptr;
}
attnc_dtype attnc_kernel_tensor_dtype(const attnc_kernel *k, int i) {
  return k && i >= 0 && i < (int)k->m.tensors.size() ? k->m.tensors[i].dtype : ATTNC_DTYPE_INVALID;
}
int attnc_kernel_tensor_rank(const attnc_kernel *k, int i) {
  return k && i >= 0 && i < (int)k->m.tensors.size() ? (int)k->m.tensors[i].shape.size() : -1;
}
int attnc_kernel_num_dims(const attnc_kernel *k) { return k ? (int)k->m.dims.size() : 0; }
const char *attnc_kernel_dim_name(const attnc_kernel *k, int i) {
  return k && i >= 0 && i < (int)k->m.dims.size() ? k->m.dims[i].c_str() : nullptr;
}
int64_t attnc_kernel_info_int(const attnc_kernel *k, const char *key, int64_t dflt) {
  const JsonValue *v = k && key ? k->m.root.get(key) : nullptr;
  return v && v->isInteger() ? v->integer() : dflt;
}
double attnc_kernel_info_number(const attnc_kernel *k, const char *key, double dflt) {
  const JsonValue *v = k && key ? k->m.root.get(key) : nullptr;
  return v && v->isNumber() ? v->number() : dflt;
}
const char *attnc_kernel_info_string(const attnc_kernel *k, const char *key) {
  const JsonValue *v = k && key ? k->m.root.get(key) : nullptr;
  return v && v->isString() ? v->str().c_str() : nullptr;
}

int attnc_kernel_info_bool(const attnc_kernel *k, const char *key, int dflt) {
  const JsonValue *v = k && key ? k->m.root.get(key) : nullptr;
  return v && v->isBool() ? (int)v->boolean() : dflt;
}

} // extern "C"

bool attnc::rt::readArtifact(const std::string &path, std::string &out, std::string &err) {
  return readFile(path, out, err);
}
