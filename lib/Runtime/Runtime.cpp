//===- Runtime.cpp - Load, validate and launch attnc GPU kernels ----------===//
//
// The C API of attnc_runtime.h. Host-side validation (everything a manifest
// lets us check without a GPU) is in validate(); launch() adds the device
// checks (cuPointerGetAttribute), encodes the tensor maps and launches.
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/attnc_runtime.h"

#include "CudaDriver.h"
#include "Manifest.h"

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

struct attnc_kernel {
  Manifest m;
  std::string image; // binary + a trailing NUL (PTX needs it)
  bool hasImage = false;
  std::string origin; // manifest path, for messages
  std::mutex mu;
  struct PerContext {
    cu::Context ctx;
    cu::Module mod;
    cu::Function fn;
    int device;
    int64_t sharedSet;   // the MAX_DYNAMIC_SHARED_SIZE_BYTES we set
    int sharedOptin;     // the device's per-block opt-in limit
    bool memPools;
    /// Per stream: the device buffer holding the tensor maps and the
    /// workspace of the last launch on it (reused while large enough; the
    /// maps are uploaded again only when they change). Launches on one
    /// stream are ordered, so reuse is safe; other streams get their own.
    struct StreamBuffer {
      cu::Stream stream;
      cu::DevicePtr base; // 256-aligned, inside the allocation at `alloc`
      cu::DevicePtr alloc;
      size_t bytes;
      std::vector<char> maps; // what base holds
    };
    std::vector<StreamBuffer> buffers;
  };
  std::vector<PerContext> loaded;
};

namespace {

thread_local std::string LastError;
thread_local attnc_status LastStatus = ATTNC_OK;

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

bool validDtype(int32_t d) { return d >= ATTNC_DTYPE_F32 && d <= ATTNC_DTYPE_BOOL; }

/// What validate() works out for a launch.
struct Bound {
  std::vector<int64_t> dims;
  std::vector<int64_t> extentBytes; // per tensor: bytes from data to one past the last element
  int64_t grid[3] = {0, 0, 0}, block[3] = {0, 0, 0}, shared = 0;
  std::vector<int64_t> i32Values; // per param (I32 only)
  int64_t wsBytes = 0, wsZeroBytes = 0; // the workspace param, if any
};

/// Split-KV count: 1 when the grid already fills the device, else the
/// smallest split whose waves use the SMs within 85% as well as the best
/// split does (FlashAttention's rule), at most max_splits and at most half
/// the key tiles (the two consumers of a block take alternate tiles).
int64_t chooseSplits(int64_t ctas, int64_t keyTiles, int64_t sms, int64_t maxSplits) {
  if (sms < 1 || ctas >= sms * 8 / 10)
    return 1;
  int64_t cap = std::max<int64_t>(1, std::min(maxSplits, keyTiles / 2));
  auto eff = [&](int64_t s) {
    double waves = double(ctas * s) / double(sms);
    return waves / std::ceil(waves);
  };
  double best = 0;
  for (int64_t s = 1; s <= cap; ++s)
    best = std::max(best, eff(s));
  for (int64_t s = 1; s <= cap; ++s)
    if (eff(s) >= 0.85 * best)
      return s;
  return 1;
}

attnc_status evalOrFail(const Expr &e, const Bound &b, const std::string &what, int64_t &out) {
  std::string err;
  if (!e.eval(b.dims.data(), out, err))
    return fail(ATTNC_ERR_LIMIT, what + ": " + err);
  return ATTNC_OK;
}

std::string dimsText(const attnc_kernel *k, const Bound &b, const Expr &e) {
  std::vector<int> ids;
  e.collectDims(ids);
  std::string r;
  std::vector<bool> seen(k->m.dims.size(), false);
  for (int id : ids) {
    if (seen[id])
      continue;
    seen[id] = true;
    r += (r.empty() ? "" : ", ") + k->m.dims[id] + "=" + std::to_string(b.dims[id]);
  }
  return r;
}

/// sms: the device's SM count for the split-KV choice (0: assume 132, an
/// H100/H200, when no device is at hand).
attnc_status validate(const attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dimsIn, Bound &b,
                      int sms = 0) {
  if (!k)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "kernel is NULL");
  const Manifest &m = k->m;
  const int nt = (int)m.tensors.size();
  if (nargs < 0 || (nargs > 0 && !args))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "args is NULL but nargs is " + std::to_string(nargs));
  if (nargs != nt) {
    std::string names;
    for (int i = 0; i < nt; ++i)
      names += (i ? ", " : "") + m.tensors[i].name;
    return fail(ATTNC_ERR_ARG_COUNT, "kernel " + m.kernel + " takes " + std::to_string(nt) + " tensors (" + names +
                                         ") but " + std::to_string(nargs) + " were given");
  }
  const size_t nd = m.dims.size();
  b.dims.assign(nd, 0);
  std::vector<std::string> src(nd); // where each dim got its value; empty = unbound
  if (dimsIn) {
    for (size_t d = 0; d < nd; ++d) {
      if (dimsIn[d] < -1)
        return fail(ATTNC_ERR_INVALID_ARGUMENT, "dims[" + std::to_string(d) + "] (" + m.dims[d] + ") is " +
                                                    std::to_string(dimsIn[d]) +
                                                    ": expected a size >= 0, or -1 to infer it from the tensors");
      if (dimsIn[d] >= 0) {
        b.dims[d] = dimsIn[d];
        src[d] = "dims[" + std::to_string(d) + "] (" + m.dims[d] + ")";
      }
    }
  }
  // dtype and rank.
  for (int i = 0; i < nt; ++i) {
    const attnc_tensor &t = args[i];
    const TensorSpec &ts = m.tensors[i];
    if (!validDtype(t.dtype))
      return fail(ATTNC_ERR_DTYPE, argName(k, i) + ": invalid dtype code " + std::to_string(t.dtype) +
                                       ", the kernel needs " + attnc_dtype_name(ts.dtype));
    if (t.dtype != ts.dtype)
      return fail(ATTNC_ERR_DTYPE, argName(k, i) + ": dtype is " + attnc_dtype_name((attnc_dtype)t.dtype) +
                                       ", the kernel needs " + attnc_dtype_name(ts.dtype));
    if (t.rank < 0 || t.rank > ATTNC_MAX_RANK)
      return fail(ATTNC_ERR_RANK, argName(k, i) + ": invalid rank " + std::to_string(t.rank));
    if (t.rank != (int)ts.shape.size())
      return fail(ATTNC_ERR_RANK, argName(k, i) + ": rank is " + std::to_string(t.rank) + " (shape " +
                                      shapeText(t) + "), the kernel needs rank " + std::to_string(ts.shape.size()) +
                                      " " + shapeText(ts.shape));
    for (int j = 0; j < t.rank; ++j)
      if (t.shape[j] < 0)
        return fail(ATTNC_ERR_SHAPE, argName(k, i) + ": shape[" + std::to_string(j) + "] is negative (" +
                                         std::to_string(t.shape[j]) + ")");
  }
  // Bind the named sizes from dimensions the manifest names directly.
  for (int i = 0; i < nt; ++i) {
    const TensorSpec &ts = m.tensors[i];
    for (size_t j = 0; j < ts.shape.size(); ++j) {
      int d = ts.shape[j].dimId();
      if (d < 0)
        continue;
      int64_t v = args[i].shape[j];
      std::string here = argName(k, i) + " shape[" + std::to_string(j) + "]";
      if (src[d].empty()) {
        b.dims[d] = v;
        src[d] = here;
      } else if (b.dims[d] != v) {
        return fail(ATTNC_ERR_SHAPE, "inconsistent size " + m.dims[d] + ": " + src[d] + " = " +
                                         std::to_string(b.dims[d]) + " but " + here + " = " + std::to_string(v) +
                                         " (expected shape " + shapeText(ts.shape) + ", got " + shapeText(args[i]) +
                                         ")");
      }
    }
  }
  const bool chooseSplit = m.splitDim >= 0 && src[m.splitDim].empty();
  if (chooseSplit) {
    b.dims[m.splitDim] = 1; // for now; chosen below
    src[m.splitDim] = "the runtime's split-KV choice";
  }
  for (size_t d = 0; d < nd; ++d) {
    if (src[d].empty())
      return fail(ATTNC_ERR_SHAPE, "size " + m.dims[d] + " is not given by any tensor's shape; pass it in dims[" +
                                       std::to_string(d) + "]");
    if (b.dims[d] < 1)
      return fail(ATTNC_ERR_SHAPE, "size " + m.dims[d] + " = " + std::to_string(b.dims[d]) + " (from " + src[d] +
                                       "): every run-time size must be at least 1");
    if (b.dims[d] > INT32_MAX)
      return fail(ATTNC_ERR_LIMIT, "size " + m.dims[d] + " = " + std::to_string(b.dims[d]) + " (from " + src[d] +
                                       ") exceeds the kernel's i32 range");
  }
  // Every other shape entry: literals and expressions.
  for (int i = 0; i < nt; ++i) {
    const TensorSpec &ts = m.tensors[i];
    for (size_t j = 0; j < ts.shape.size(); ++j) {
      if (ts.shape[j].dimId() >= 0)
        continue;
      int64_t want;
      if (attnc_status s = evalOrFail(ts.shape[j], b, argName(k, i) + " shape[" + std::to_string(j) + "]", want))
        return s;
      if (args[i].shape[j] != want) {
        std::string why = ts.shape[j].isLiteral() ? std::to_string(want)
                                                  : ts.shape[j].text() + " = " + std::to_string(want) + " (" +
                                                        dimsText(k, b, ts.shape[j]) + ")";
        return fail(ATTNC_ERR_SHAPE, argName(k, i) + ": shape[" + std::to_string(j) + "] is " +
                                         std::to_string(args[i].shape[j]) + ", the kernel needs " + why +
                                         " (expected shape " + shapeText(ts.shape) + ", got " + shapeText(args[i]) +
                                         ")");
      }
    }
  }
  // Constraints among the sizes.
  for (const Expr &c : m.constraints) {
    int64_t v;
    if (attnc_status s = evalOrFail(c, b, "constraint '" + c.text() + "'", v))
      return s;
    if (!v)
      return fail(ATTNC_ERR_SHAPE, "constraint '" + c.text() + "' does not hold (" + dimsText(k, b, c) + ")");
  }
  // The split-KV count: given, or chosen from the grid of one split.
  if (m.splitDim >= 0) {
    int64_t keyTiles;
    if (attnc_status s = evalOrFail(m.keyTiles, b, "split_kv.key_tiles", keyTiles))
      return s;
    if (chooseSplit) {
      int64_t g[3];
      for (int a = 0; a < 3; ++a)
        if (attnc_status s = evalOrFail(m.grid[a], b, "grid", g[a]))
          return s;
      int64_t ctas = 0;
      if (__builtin_mul_overflow(g[0], g[1], &ctas) || __builtin_mul_overflow(ctas, g[2], &ctas))
        return fail(ATTNC_ERR_LIMIT, "the grid overflows 64 bits");
      b.dims[m.splitDim] = chooseSplits(ctas, keyTiles, sms > 0 ? sms : 132, m.maxSplits);
    } else if (b.dims[m.splitDim] > m.maxSplits) {
      return fail(ATTNC_ERR_LIMIT, "split count " + m.dims[m.splitDim] + " = " +
                                       std::to_string(b.dims[m.splitDim]) + " exceeds the kernel's maximum " +
                                       std::to_string(m.maxSplits));
    }
  }
  // Scalar parameters and the launch configuration.
  b.i32Values.assign(m.params.size(), 0);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind != ParamSpec::I32)
      continue;
    int64_t v;
    if (attnc_status s = evalOrFail(ps.value, b, "parameter " + ps.name, v))
      return s;
    if (v < INT32_MIN || v > INT32_MAX)
      return fail(ATTNC_ERR_LIMIT, "parameter " + ps.name + " = " + ps.value.text() + " = " + std::to_string(v) +
                                       " does not fit in i32");
    b.i32Values[p] = v;
  }
  static const char *axis[] = {"x", "y", "z"};
  for (int a = 0; a < 3; ++a) {
    if (attnc_status s = evalOrFail(m.grid[a], b, std::string("grid.") + axis[a], b.grid[a]))
      return s;
    int64_t lim = a == 0 ? INT32_MAX : 65535;
    if (b.grid[a] < 1 || b.grid[a] > lim)
      return fail(ATTNC_ERR_LIMIT, std::string("grid.") + axis[a] + " = " + m.grid[a].text() + " = " +
                                       std::to_string(b.grid[a]) + " is outside 1.." + std::to_string(lim) + " (" +
                                       dimsText(k, b, m.grid[a]) + ")");
    if (attnc_status s = evalOrFail(m.block[a], b, std::string("block.") + axis[a], b.block[a]))
      return s;
    if (b.block[a] < 1 || b.block[a] > 1024)
      return fail(ATTNC_ERR_LIMIT, std::string("block.") + axis[a] + " = " + std::to_string(b.block[a]) +
                                       " is outside 1..1024");
  }
  if (b.block[0] * b.block[1] * b.block[2] > 1024)
    return fail(ATTNC_ERR_LIMIT, "block has more than 1024 threads");
  for (const ParamSpec &ps : m.params) {
    if (ps.kind != ParamSpec::Workspace)
      continue;
    if (attnc_status s = evalOrFail(ps.bytes, b, ps.name + ".bytes", b.wsBytes))
      return s;
    if (attnc_status s = evalOrFail(ps.zeroBytes, b, ps.name + ".zero_bytes", b.wsZeroBytes))
      return s;
    // 64 GiB: more than any device holds; the product was overflow-checked.
    if (b.wsBytes < 0 || b.wsBytes > (int64_t(1) << 36) || b.wsZeroBytes < 0 || b.wsZeroBytes > b.wsBytes)
      return fail(ATTNC_ERR_LIMIT, ps.name + ": " + std::to_string(b.wsBytes) + " bytes (" +
                                       std::to_string(b.wsZeroBytes) + " zeroed) is out of range");
  }
  if (attnc_status s = evalOrFail(m.sharedBytes, b, "shared_bytes", b.shared))
    return s;
  if (b.shared < 0 || b.shared > INT32_MAX)
    return fail(ATTNC_ERR_LIMIT, "shared_bytes = " + std::to_string(b.shared) + " is out of range");

  // Layout, extent and alignment of each tensor.
  b.extentBytes.assign(nt, 0);
  for (int i = 0; i < nt; ++i) {
    const attnc_tensor &t = args[i];
    const TensorSpec &ts = m.tensors[i];
    int64_t es = (int64_t)attnc_dtype_size(ts.dtype);
    int64_t last = 0; // offset of the last element, in elements
    bool empty = false;
    for (int j = 0; j < t.rank; ++j) {
      if (t.strides[j] < 0)
        return fail(ATTNC_ERR_STRIDE, argName(k, i) + ": stride[" + std::to_string(j) + "] is negative (" +
                                          std::to_string(t.strides[j]) + ")");
      if (t.shape[j] == 0)
        empty = true;
      int64_t term;
      if (t.shape[j] > 0 && (__builtin_mul_overflow(t.shape[j] - 1, t.strides[j], &term) ||
                             __builtin_add_overflow(last, term, &last)))
        return fail(ATTNC_ERR_LIMIT, argName(k, i) + ": its extent overflows 64 bits");
    }
    int64_t bytes = 0;
    if (!empty && (__builtin_add_overflow(last, (int64_t)1, &bytes) || __builtin_mul_overflow(bytes, es, &bytes)))
      return fail(ATTNC_ERR_LIMIT, argName(k, i) + ": its extent overflows 64 bits");
    b.extentBytes[i] = bytes;
    if (bytes > 0 && !t.data)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": data is NULL");
    // Pointer parameters: row-major contiguous (size-1 dims may have any stride).
    bool ptrUse = false;
    for (const ParamSpec &ps : m.params)
      if (ps.kind == ParamSpec::Ptr && ps.tensor == i)
        ptrUse = true;
    if (ptrUse) {
      int64_t expect = 1;
      for (int j = t.rank - 1; j >= 0; --j) {
        if (t.shape[j] != 1 && t.strides[j] != expect)
          return fail(ATTNC_ERR_STRIDE, argName(k, i) + ": stride[" + std::to_string(j) + "] is " +
                                            std::to_string(t.strides[j]) + " elements, the kernel needs " +
                                            std::to_string(expect) + " (a contiguous row-major tensor)");
        expect *= t.shape[j] > 0 ? t.shape[j] : 1;
      }
    }
    // Tensor-map parameters: the strides the map is encoded with.
    for (size_t p = 0; p < m.params.size(); ++p) {
      const ParamSpec &ps = m.params[p];
      if (ps.kind != ParamSpec::TensorMap || ps.tensor != i)
        continue;
      int j = t.rank; // logical dims consumed from the innermost end
      for (int g = 0; g < ps.rank; ++g) {
        int64_t base = 1; // element stride the map needs for this group's innermost dim
        if (g > 0) {
          int64_t sb;
          if (attnc_status s = evalOrFail(ps.globalStridesBytes[g - 1], b,
                                          ps.name + ".global_strides_bytes[" + std::to_string(g - 1) + "]", sb))
            return s;
          if (sb % es != 0 || sb % 16 != 0)
            return fail(ATTNC_ERR_STRIDE, ps.name + ": global stride " + std::to_string(sb) +
                                              " bytes is not a multiple of 16 (TMA rule)");
          base = sb / es;
        }
        int64_t expect = base;
        for (int c = 0; c < ps.groupSizes[g]; ++c) {
          --j;
          if (t.shape[j] != 1 && t.strides[j] != expect)
            return fail(ATTNC_ERR_STRIDE,
                        argName(k, i) + ": stride[" + std::to_string(j) + "] is " + std::to_string(t.strides[j]) +
                            " elements, the kernel's tensor map " + ps.name + " needs " + std::to_string(expect) +
                            " (a contiguous row-major tensor)");
          expect *= t.shape[j] > 0 ? t.shape[j] : 1;
        }
      }
    }
    if (t.data && ts.align > 1 && ((uintptr_t)t.data % (uintptr_t)ts.align) != 0)
      return fail(ATTNC_ERR_ALIGNMENT, argName(k, i) + ": data pointer " + hex(t.data) + " is not " +
                                           std::to_string(ts.align) + "-byte aligned" +
                                           (ts.viaMap ? " (the tensor map (TMA) needs 16 bytes)" : ""));
  }
  return ATTNC_OK;
}

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

int cuStatus(int r) { return r == cu::ERROR_OUT_OF_MEMORY ? ATTNC_ERR_OUT_OF_MEMORY : ATTNC_ERR_CUDA; }

/// Loads the module into the current context (once) and returns its entry.
attnc_status moduleFor(attnc_kernel *k, const cu::Api &api, cu::Context ctx, int device,
                       attnc_kernel::PerContext *&pc) {
  for (auto &e : k->loaded)
    if (e.ctx == ctx) {
      pc = &e;
      return ATTNC_OK;
    }
  int major = 0, minor = 0, optin = 0, pools = 0;
  api.DeviceGetAttribute(&major, cu::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  api.DeviceGetAttribute(&minor, cu::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  api.DeviceGetAttribute(&optin, cu::DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
  api.DeviceGetAttribute(&pools, cu::DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED, device);
  const std::string &chip = k->m.chip;
  int cm = 0, cn = 0;
  char suffix = 0;
  if (chip.size() >= 5 && chip.compare(0, 3, "sm_") == 0 && chip[3] >= '1' && chip[3] <= '9') {
    size_t p = 3;
    int num = 0;
    while (p < chip.size() && chip[p] >= '0' && chip[p] <= '9')
      num = num * 10 + (chip[p++] - '0');
    cm = num / 10;
    cn = num % 10;
    suffix = p < chip.size() ? chip[p] : 0;
    bool ok = suffix == 'a' || suffix == 'f' ? (major == cm && minor == cn)
                                             : (major == cm && minor >= cn);
    bool isPtx = k->image.find(".target") < 4096; // PTX text, JIT-compiled by the driver
    if (!ok && !(isPtx && suffix == 0 && (major > cm || (major == cm && minor >= cn))))
      return fail(ATTNC_ERR_UNSUPPORTED_DEVICE, "kernel " + k->m.kernel + " was built for " + chip + " but device " +
                                                    std::to_string(device) + " is sm_" + std::to_string(major) +
                                                    std::to_string(minor));
  }
  attnc_kernel::PerContext e = {};
  e.ctx = ctx;
  e.device = device;
  e.sharedOptin = optin;
  e.memPools = pools != 0 && api.MemAllocAsync && api.MemFreeAsync && api.MemcpyHtoDAsync;
  cu::Result r = api.ModuleLoadData(&e.mod, k->image.data());
  if (r != cu::SUCCESS)
    return fail((attnc_status)cuStatus(r), "cuModuleLoadData for kernel " + k->m.kernel + " (" + k->origin +
                                               ") failed: " + cu::errorText(api, r));
  r = api.ModuleGetFunction(&e.fn, e.mod, k->m.kernel.c_str());
  if (r != cu::SUCCESS) {
    api.ModuleUnload(e.mod);
    return fail(ATTNC_ERR_CUDA, "the binary of " + k->origin + " has no kernel named '" + k->m.kernel +
                                    "': " + cu::errorText(api, r));
  }
  k->loaded.push_back(e);
  pc = &k->loaded.back();
  return ATTNC_OK;
}

/// The device buffer of a launch on `st`: the tensor maps (uploaded only
/// when they differ from what the stream's buffer holds), then the
/// workspace, whose zeroed prefix (the split-KV counters) is cleared with a
/// stream-ordered memset. One buffer per (context, stream), kept across
/// launches: launches on one stream are ordered, so reusing it is safe, and
/// other streams get their own. base = 0 when the kernel needs none.
attnc_status launchBuffer(const cu::Api &A, attnc_kernel::PerContext *pc, cu::Stream st, const void *maps,
                          size_t mapBytes, size_t mapPart, const Bound &b, cu::DevicePtr &base) {
  size_t need = mapPart + (size_t)b.wsBytes;
  base = 0;
  if (!need)
    return ATTNC_OK;
  cu::Result r;
  attnc_kernel::PerContext::StreamBuffer *sb = nullptr;
  for (auto &e : pc->buffers)
    if (e.stream == st)
      sb = &e;
  if (sb && sb->bytes < need) {
    // In use by earlier launches on this stream: freed in stream order.
    if (pc->memPools) {
      A.MemFreeAsync(sb->alloc, st);
    } else {
      A.StreamSynchronize(st);
      A.MemFree(sb->alloc);
    }
    pc->buffers.erase(pc->buffers.begin() + (sb - pc->buffers.data()));
    sb = nullptr;
  }
  if (!sb) {
    attnc_kernel::PerContext::StreamBuffer e = {};
    e.stream = st;
    e.bytes = need;
    if ((r = A.MemAlloc(&e.alloc, need + 256)) != cu::SUCCESS)
      return fail((attnc_status)cuStatus(r), "allocating " + std::to_string(need) +
                                                 " bytes for the tensor maps and the workspace failed: " +
                                                 cu::errorText(A, r));
    e.base = (e.alloc + 255) & ~(cu::DevicePtr)255; // CUtensorMap is 128-byte aligned
    pc->buffers.push_back(e);
    sb = &pc->buffers.back();
  }
  base = sb->base;
  const char *mp = (const char *)maps;
  if (mapBytes && (sb->maps.size() != mapBytes || memcmp(sb->maps.data(), mp, mapBytes) != 0)) {
    if ((r = A.MemcpyHtoDAsync(base, mp, mapBytes, st)) != cu::SUCCESS) {
      sb->maps.clear();
      return fail(ATTNC_ERR_CUDA, "copying the tensor maps to the device failed: " + cu::errorText(A, r));
    }
    sb->maps.assign(mp, mp + mapBytes);
  }
  if (b.wsZeroBytes > 0 && (r = A.MemsetD32Async(base + mapPart, 0, (size_t)b.wsZeroBytes / 4, st)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "zeroing the workspace failed: " + cu::errorText(A, r));
  return ATTNC_OK;
}

int tmaType(attnc_dtype d) {
  switch (d) {
  case ATTNC_DTYPE_F32: return cu::TMA_FLOAT32;
  case ATTNC_DTYPE_F16: return cu::TMA_FLOAT16;
  case ATTNC_DTYPE_BF16: return cu::TMA_BFLOAT16;
  case ATTNC_DTYPE_F64: return cu::TMA_FLOAT64;
  case ATTNC_DTYPE_I32: return cu::TMA_INT32;
  case ATTNC_DTYPE_I64: return cu::TMA_INT64;
  case ATTNC_DTYPE_U8: return cu::TMA_UINT8;
  default: return -1;
  }
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
  case ATTNC_DTYPE_I8: case ATTNC_DTYPE_U8: case ATTNC_DTYPE_BOOL: return 1;
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
    if (const cu::Api *api = cu::driver(why))
      for (auto &e : k->loaded) {
        for (auto &sb : e.buffers)
          api->MemFree(sb.alloc);
        api->ModuleUnload(e.mod);
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

attnc_status attnc_kernel_validate(const attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dims,
                                   int64_t *resolved) {
  Bound b;
  if (attnc_status s = validate(k, args, nargs, dims, b))
    return s;
  if (resolved)
    for (size_t d = 0; d < b.dims.size(); ++d)
      resolved[d] = b.dims[d];
  return ATTNC_OK;
}

attnc_status attnc_driver_available(void) {
  std::string why;
  if (!cu::driver(why))
    return fail(ATTNC_ERR_NO_DRIVER, why);
  return ATTNC_OK;
}

attnc_status attnc_set_driver_library(const char *path) {
  if (!cu::setDriverLibrary(path))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "the CUDA driver is already loaded; set its path before first use");
  return ATTNC_OK;
}

attnc_status attnc_kernel_launch(attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dims,
                                 void *stream) {
  Bound b;
  if (attnc_status s = validate(k, args, nargs, dims, b))
    return s;
  const Manifest &m = k->m;
  if (!k->hasImage)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "kernel " + m.kernel + " was loaded without a binary; it cannot launch");
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  const cu::Api &A = *api;
  cu::Stream st = (cu::Stream)stream;

  // The context: the thread's current one, else the tensors' device's primary one.
  cu::Context ctx = nullptr;
  cu::Result r = A.CtxGetCurrent(&ctx);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuCtxGetCurrent failed: " + cu::errorText(A, r));
  if (!ctx) {
    int want = nargs > 0 ? args[0].device : 0;
    cu::Device dev;
    if ((r = A.DeviceGet(&dev, want)) != cu::SUCCESS)
      return fail(ATTNC_ERR_POINTER, argName(k, 0) + ": device " + std::to_string(want) +
                                         " does not exist: " + cu::errorText(A, r));
    if ((r = A.DevicePrimaryCtxRetain(&ctx, dev)) != cu::SUCCESS || (r = A.CtxSetCurrent(ctx)) != cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cannot make device " + std::to_string(want) +
                                      "'s primary context current: " + cu::errorText(A, r));
  }
  cu::Device ctxDev = 0;
  if ((r = A.CtxGetDevice(&ctxDev)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuCtxGetDevice failed: " + cu::errorText(A, r));
  // The split-KV choice depends on the device's SM count.
  if (m.splitDim >= 0) {
    int sms = 0;
    A.DeviceGetAttribute(&sms, cu::DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, ctxDev);
    if (sms > 0)
      if (attnc_status s = validate(k, args, nargs, dims, b, sms))
        return s;
  }

  // Device checks of every pointer.
  for (int i = 0; i < nargs; ++i) {
    const attnc_tensor &t = args[i];
    if (b.extentBytes[i] == 0)
      continue;
    if (t.device != ctxDev)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": tensor says device " + std::to_string(t.device) +
                                         " but the current context is on device " + std::to_string(ctxDev));
    cu::DevicePtr p = (cu::DevicePtr)(uintptr_t)t.data;
    unsigned memType = 0;
    r = A.PointerGetAttribute(&memType, cu::POINTER_ATTRIBUTE_MEMORY_TYPE, p);
    if (r != cu::SUCCESS)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) +
                                         " is not memory known to CUDA (a host pointer?): " + cu::errorText(A, r));
    if (memType == cu::MEMORYTYPE_HOST)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) + " is host memory, not device memory");
    int ordinal = -1;
    if (A.PointerGetAttribute(&ordinal, cu::POINTER_ATTRIBUTE_DEVICE_ORDINAL, p) == cu::SUCCESS &&
        memType == cu::MEMORYTYPE_DEVICE && ordinal != ctxDev)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) + " is memory of device " +
                                         std::to_string(ordinal) + ", the current context is on device " +
                                         std::to_string(ctxDev));
    cu::DevicePtr start = 0;
    size_t size = 0;
    if (A.PointerGetAttribute(&start, cu::POINTER_ATTRIBUTE_RANGE_START_ADDR, p) == cu::SUCCESS &&
        A.PointerGetAttribute(&size, cu::POINTER_ATTRIBUTE_RANGE_SIZE, p) == cu::SUCCESS && size > 0) {
      uint64_t avail = start + size - p;
      if ((uint64_t)b.extentBytes[i] > avail)
        return fail(ATTNC_ERR_POINTER, argName(k, i) + ": the allocation at " + hex(t.data) + " holds " +
                                           std::to_string(avail) + " bytes from there, the tensor " + shapeText(t) +
                                           " needs " + std::to_string(b.extentBytes[i]));
    }
  }

  std::lock_guard<std::mutex> lock(k->mu);
  attnc_kernel::PerContext *pc = nullptr;
  if (attnc_status s = moduleFor(k, A, ctx, ctxDev, pc))
    return s;
  if (b.shared > pc->sharedSet) {
    if (pc->sharedOptin > 0 && b.shared > pc->sharedOptin)
      return fail(ATTNC_ERR_LIMIT, "kernel " + m.kernel + " needs " + std::to_string(b.shared) +
                                       " bytes of shared memory, device " + std::to_string(ctxDev) + " allows " +
                                       std::to_string(pc->sharedOptin));
    if ((r = A.FuncSetAttribute(pc->fn, cu::FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)b.shared)) !=
        cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, " + std::to_string(b.shared) +
                                      ") failed: " + cu::errorText(A, r));
    pc->sharedSet = b.shared;
  }

  // Encode the tensor maps.
  std::vector<cu::TensorMap> maps;
  std::vector<int> mapOfParam(m.params.size(), -1);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind != ParamSpec::TensorMap)
      continue;
    uint64_t gd[5], gs[4];
    unsigned box[5], es[5];
    std::string desc;
    for (int d = 0; d < ps.rank; ++d) {
      int64_t v, bx, e;
      if (attnc_status s = evalOrFail(ps.globalDims[d], b, ps.name + ".global_dims", v))
        return s;
      if (attnc_status s = evalOrFail(ps.box[d], b, ps.name + ".box", bx))
        return s;
      if (attnc_status s = evalOrFail(ps.elementStrides[d], b, ps.name + ".element_strides", e))
        return s;
      if (v < 1 || v > (int64_t(1) << 32))
        return fail(ATTNC_ERR_LIMIT, ps.name + ": global_dims[" + std::to_string(d) + "] = " + std::to_string(v) +
                                         " is outside the TMA range 1..2^32");
      if (bx < 1 || bx > 256 || e < 1 || e > 8)
        return fail(ATTNC_ERR_LIMIT, ps.name + ": box or element stride out of the TMA range");
      gd[d] = (uint64_t)v;
      box[d] = (unsigned)bx;
      es[d] = (unsigned)e;
      desc += (d ? "," : "") + std::to_string(v);
      if (d + 1 < ps.rank) {
        int64_t s;
        if (attnc_status st2 = evalOrFail(ps.globalStridesBytes[d], b, ps.name + ".global_strides_bytes", s))
          return st2;
        if (s < 16 || s % 16 != 0 || s >= (int64_t(1) << 40))
          return fail(ATTNC_ERR_LIMIT, ps.name + ": global stride " + std::to_string(s) +
                                           " bytes must be a multiple of 16 below 2^40");
        gs[d] = (uint64_t)s;
      }
    }
    cu::TensorMap tm;
    memset(&tm, 0, sizeof tm);
    r = A.TensorMapEncodeTiled(&tm, tmaType(ps.mapDtype), (unsigned)ps.rank, args[ps.tensor].data, gd, gs, box, es,
                               ps.interleave, ps.swizzle, ps.l2Promotion, ps.oobFill);
    if (r != cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cuTensorMapEncodeTiled for " + ps.name + " (global_dims {" + desc +
                                      "}) failed: " + cu::errorText(A, r));
    mapOfParam[p] = (int)maps.size();
    maps.push_back(tm);
  }

  size_t mapBytes = maps.size() * sizeof(cu::TensorMap);
  size_t mapPart = (mapBytes + 255) & ~(size_t)255;
  cu::DevicePtr mapBase = 0;
  if (attnc_status s = launchBuffer(A, pc, st, maps.data(), mapBytes, mapPart, b, mapBase))
    return s;
  std::vector<uint64_t> slots(m.params.size(), 0);
  std::vector<void *> ptrs(m.params.size(), nullptr);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind == ParamSpec::TensorMap) {
      slots[p] = mapBase + (uint64_t)mapOfParam[p] * sizeof(cu::TensorMap);
    } else if (ps.kind == ParamSpec::Ptr) {
      slots[p] = (uint64_t)(uintptr_t)args[ps.tensor].data;
    } else if (ps.kind == ParamSpec::Workspace) {
      slots[p] = mapBase + mapPart;
    } else {
      int32_t v = (int32_t)b.i32Values[p];
      memcpy(&slots[p], &v, sizeof v);
    }
    ptrs[p] = &slots[p];
  }
  r = A.LaunchKernel(pc->fn, (unsigned)b.grid[0], (unsigned)b.grid[1], (unsigned)b.grid[2], (unsigned)b.block[0],
                     (unsigned)b.block[1], (unsigned)b.block[2], (unsigned)b.shared, st, ptrs.data(), nullptr);
  attnc_status result = ATTNC_OK;
  if (r != cu::SUCCESS) {
    char cfg[160];
    snprintf(cfg, sizeof cfg, "grid (%lld,%lld,%lld) block (%lld,%lld,%lld) shared %lld", (long long)b.grid[0],
             (long long)b.grid[1], (long long)b.grid[2], (long long)b.block[0], (long long)b.block[1],
             (long long)b.block[2], (long long)b.shared);
    result = fail((attnc_status)cuStatus(r), "cuLaunchKernel of " + m.kernel + " (" + cfg +
                                                 ") failed: " + cu::errorText(A, r));
  }
  return result;
}

} // extern "C"

//===----------------------------------------------------------------------===//
// Device memory for hosts without a CUDA runtime.
//===----------------------------------------------------------------------===//

namespace {
/// The driver with `device`'s primary context current (or the thread's
/// current context when one is set), or null after setting the error.
const cu::Api *driverWithContext(int device) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api) {
    fail(ATTNC_ERR_NO_DRIVER, why);
    return nullptr;
  }
  cu::Context ctx = nullptr;
  cu::Result r = api->CtxGetCurrent(&ctx);
  if (r == cu::SUCCESS && ctx)
    return api;
  cu::Device dev;
  if ((r = api->DeviceGet(&dev, device)) != cu::SUCCESS) {
    fail(ATTNC_ERR_INVALID_ARGUMENT, "device " + std::to_string(device) + " does not exist: " +
                                         cu::errorText(*api, r));
    return nullptr;
  }
  if ((r = api->DevicePrimaryCtxRetain(&ctx, dev)) != cu::SUCCESS || (r = api->CtxSetCurrent(ctx)) != cu::SUCCESS) {
    fail(ATTNC_ERR_CUDA, "cannot make device " + std::to_string(device) + "'s primary context current: " +
                             cu::errorText(*api, r));
    return nullptr;
  }
  return api;
}
} // namespace

attnc_status attnc_device_alloc(int device, size_t bytes, void **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_device_alloc: out is NULL");
  *out = nullptr;
  const cu::Api *api = driverWithContext(device);
  if (!api)  // the error is set; keep its status
    return LastStatus;
  cu::DevicePtr p = 0;
  cu::Result r = api->MemAlloc(&p, bytes ? bytes : 1);
  if (r != cu::SUCCESS)
    return fail((attnc_status)cuStatus(r), "cuMemAlloc of " + std::to_string(bytes) + " bytes failed: " +
                                               cu::errorText(*api, r));
  *out = (void *)(uintptr_t)p;
  return ATTNC_OK;
}

attnc_status attnc_device_free(void *ptr) {
  if (!ptr)
    return ATTNC_OK;
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemFree((cu::DevicePtr)(uintptr_t)ptr);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemFree failed: " + cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_copy_to_device(void *dst, const void *src, size_t bytes) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemcpyHtoD((cu::DevicePtr)(uintptr_t)dst, src, bytes);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemcpyHtoD of " + std::to_string(bytes) + " bytes failed: " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_copy_to_host(void *dst, const void *src, size_t bytes) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemcpyDtoH(dst, (cu::DevicePtr)(uintptr_t)src, bytes);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemcpyDtoH of " + std::to_string(bytes) + " bytes failed: " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_stream_synchronize(void *stream) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->StreamSynchronize((cu::Stream)stream);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuStreamSynchronize failed (a kernel fault shows here): " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}
