//===- Cases.cpp - case folders (test/device/make-cases) on the device ----===//
//
// A case folder holds case.json, the inputs as .npy and the expected o (the
// CPU backend's float64 result, stored as float32); its kernel (manifest +
// cubin) sits in the example folder two levels up or beside case.json.
// Kernel tensors are bound to the spec's inputs through the manifest's
// "spec" object, which the compiler writes. case.json and manifests are read
// with the runtime's JSON reader, .npy files with the project's reader.
//
//===----------------------------------------------------------------------===//
#include "DeviceCheck.h"
#include "ManifestJson.h"
#include "attnc/Runtime/KernelManifest.h"

#include "attnc/Support/Float16.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace attnc;
using namespace attnc::device;
using attnc::rt::JsonValue;

namespace {

bool readJson(const std::string &path, JsonValue &v, std::string &err) {
  std::string text;
  if (!readFile(path, text)) {
    err = "cannot read " + path;
    return false;
  }
  if (JsonValue::parse(text, v, err))
    return true;
  err = path + ": " + err;
  return false;
}

std::string dirName(const std::string &p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}

bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

std::string shapeText(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

struct LoadedKernel {
  std::string path;
  attnc_kernel *k = nullptr;
  manifest::Kernel manifest;
};

/// What one case needs: case.json, its reference, its kernel.
struct Case {
  std::string dir, label;
  JsonValue json;
  const JsonValue *dims = nullptr, *inputs = nullptr;
  NpyArray ref;
  LoadedKernel *kernel = nullptr;
  int64_t B = 0, H = 0, Lq = 0, Dv = 0;
  /// A whole GPU program (generic steps: lets, output expressions, refused
  /// attentions) compiled for the case's shape: "program" names its
  /// <variant>.program.json in the case folder.
  bool program = false;
};

/// The 16-bit outputs are poisoned with this NaN before a launch: a payload
/// that GPU arithmetic never produces (it returns the canonical 0x7fff), so
/// an entry still holding it was never written, even where the reference
/// itself is NaN.
constexpr uint16_t kPoison16 = 0x7fa5;

/// Errors of the agreement check between an output and the reference.
struct Agreement {
  double maxAbs = 0, maxRef = 0, relL2 = 0;
  long nan = 0;       // non-finite where the reference is not the same
  long unwritten = 0; // entries still holding the poison
  size_t worst = 0;
  bool ok(long lseNan) const {
    return nan == 0 && unwritten == 0 && lseNan == 0 && relL2 <= 1e-2 &&
           maxAbs <= 2e-2 * std::max(1.0, maxRef);
  }
};

Agreement compare(const std::vector<double> &got, const NpyArray &ref,
                  const std::vector<uint16_t> *bits = nullptr) {
  Agreement a;
  if (bits)
    a.unwritten = std::count(bits->begin(), bits->end(), kPoison16);
  double es = 0, rs = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double want = npyValue(ref, i);
    // NaN or Inf exactly where the reference has it (a NaN in v reaches the
    // rows that keep its key); anywhere else it is an error.
    if (!std::isfinite(want) || !std::isfinite(got[i])) {
      if (std::isnan(want) ? !std::isnan(got[i]) : got[i] != want)
        ++a.nan;
      continue;
    }
    a.maxRef = std::max(a.maxRef, std::fabs(want));
    double e = got[i] - want;
    es += e * e;
    rs += want * want;
    if (std::fabs(e) > a.maxAbs) {
      a.maxAbs = std::fabs(e);
      a.worst = i;
    }
  }
  a.relL2 = rs > 0 ? std::sqrt(es / rs) : std::sqrt(es);
  return a;
}

class CaseRunner {
public:
  explicit CaseRunner(const Options &opts) : opts(opts) {}
  ~CaseRunner() {
    for (auto &k : kernels)
      attnc_kernel_free(k->k);
  }
  void run(const std::string &dir);

private:
  const Options &opts;
  std::vector<std::unique_ptr<LoadedKernel>> kernels;

  bool load(const std::string &dir, Case &c, std::string &err);
  LoadedKernel *kernelFor(const std::string &dir, const std::string &manifest, std::string &err);
  bool bindInput(const Case &c, int t, std::vector<std::unique_ptr<Buffer>> &bufs,
                 attnc_tensor &arg, std::string &err);
  void runKernel(Case &c);
  void runProgram(const Case &c);
  void runCli(const Case &c);
};

LoadedKernel *CaseRunner::kernelFor(const std::string &dir, const std::string &manifest,
                                    std::string &err) {
  std::string path = manifest;
  if (path.empty() || path[0] != '/') {
    std::string beside = dir + "/" + manifest;
    path = exists(beside) ? beside : dirName(dirName(dir)) + "/" + manifest;
  }
  for (auto &k : kernels)
    if (k->path == path)
      return k.get();
  auto k = std::make_unique<LoadedKernel>();
  k->path = path;
  std::string text;
  if (!readFile(path, text)) {
    err = "cannot read " + path;
    return nullptr;
  }
  if (!manifest::parseManifest(text, k->manifest, err)) {
    err = path + ": " + err;
    return nullptr;
  }
  if (attnc_kernel_load(path.c_str(), &k->k) != ATTNC_OK) {
    err = "load " + path + ": " + attnc_last_error();
    return nullptr;
  }
  kernels.push_back(std::move(k));
  return kernels.back().get();
}

bool CaseRunner::load(const std::string &dir, Case &c, std::string &err) {
  c.dir = c.label = dir;
  if (!readJson(dir + "/case.json", c.json, err))
    return false;
  const JsonValue *ex = c.json.get("example");
  if (ex && ex->isString())
    c.label = ex->str() + " #" + dir.substr(dir.find_last_of('/') + 1);
  const JsonValue *mf = c.json.get("manifest"), *expected = c.json.get("expected");
  c.dims = c.json.get("dims");
  c.inputs = c.json.get("inputs");
  const JsonValue *eo = expected ? expected->get("o") : nullptr;
  const JsonValue *program = c.json.get("program");
  if (program && program->isString()) {
    c.program = true;
    c.label += " [program]";
    if (!c.inputs || !eo || !eo->isString()) {
      err = "a program case.json needs \"inputs\" and \"expected\".\"o\"";
      return false;
    }
    return readNpyFile(dir + "/" + eo->str(), c.ref, err);
  }
  if (!mf || !mf->isString() || !c.dims || !c.inputs || !eo || !eo->isString()) {
    err = "case.json needs \"manifest\", \"dims\", \"inputs\" and \"expected\".\"o\"";
    return false;
  }
  if (!(c.kernel = kernelFor(dir, mf->str(), err)) || !readNpyFile(dir + "/" + eo->str(), c.ref, err))
    return false;
  auto dim = [&](const char *n) -> int64_t {
    const JsonValue *d = c.dims->get(n);
    return d && d->isInteger() ? d->integer() : -1;
  };
  c.B = dim("B"), c.H = dim("H"), c.Lq = dim("Lq");
  int64_t D = attnc_kernel_info_int(c.kernel->k, "head_dim", 0);
  c.Dv = attnc_kernel_info_int(c.kernel->k, "head_dim_v", D);
  char shape[160];
  snprintf(shape, sizeof shape, " B=%lld H=%lld Hq=%lld Hk=%lld Lq=%lld Lk=%lld D=%lld",
           (long long)c.B, (long long)c.H, (long long)dim("Hq"), (long long)dim("Hk"),
           (long long)c.Lq, (long long)dim("Lk"), (long long)D);
  c.label += shape;
  if (c.B < 1 || c.H < 1 || c.Lq < 1) {
    err = "case.json dims need B, H and Lq";
    return false;
  }
  std::vector<int64_t> oshape = {c.B, c.H, c.Lq, c.Dv};
  if (c.ref.shape != oshape) {
    err = "expected o has shape " + shapeText(c.ref.shape) + ", the kernel writes " + shapeText(oshape);
    return false;
  }
  return true;
}

/// Converts an input to the kernel tensor's dtype. 16-bit q/k/v values must
/// be exact: the reference was computed from the same values.
bool convertInput(const NpyArray &a, attnc_dtype dt, std::vector<char> &host, std::string &err) {
  size_t n = a.numElements(), es = attnc_dtype_size(dt);
  host.assign(n * es, 0);
  if (dt == ATTNC_DTYPE_F8E4M3) { // FP8 travels as its bytes
    if (a.dtype != DType::U8) {
      err = dtypeName(a.dtype) + " data for an f8e4m3 tensor (give its bytes as uint8)";
      return false;
    }
    memcpy(host.data(), a.data.data(), n);
    return true;
  }
  bool isFloat = dt == ATTNC_DTYPE_BF16 || dt == ATTNC_DTYPE_F16 || dt == ATTNC_DTYPE_F32 ||
                 dt == ATTNC_DTYPE_F64;
  if (isFloat != npyIsFloat(a)) {
    err = dtypeName(a.dtype) + " data for a " + attnc_dtype_name(dt) + " tensor";
    return false;
  }
  long inexact = 0;
  for (size_t i = 0; i < n; ++i) {
    double v = npyValue(a, i);
    char *dst = &host[i * es];
    if (dt == ATTNC_DTYPE_BF16 || dt == ATTNC_DTYPE_F16) {
      uint16_t h = dt == ATTNC_DTYPE_BF16 ? toBF16((float)v) : toF16((float)v);
      float back = dt == ATTNC_DTYPE_BF16 ? fromBF16(h) : fromF16(h);
      inexact += std::isnan(v) ? !std::isnan(back) : back != (float)v; // NaN cases (nan_v)
      memcpy(dst, &h, 2);
    } else if (dt == ATTNC_DTYPE_F32) {
      float f = (float)v;
      memcpy(dst, &f, 4);
    } else if (dt == ATTNC_DTYPE_F64) {
      memcpy(dst, &v, 8);
    } else if (dt == ATTNC_DTYPE_I32) {
      if (v != std::trunc(v) || v < INT32_MIN || v > INT32_MAX) {
        err = "element " + std::to_string(i) + " (" + std::to_string(v) + ") is not an int32";
        return false;
      }
      int32_t x = (int32_t)v;
      memcpy(dst, &x, 4);
    } else if (dt == ATTNC_DTYPE_I64) {
      // Exact from integer files; a float file must hold whole numbers.
      int64_t x = a.dtype == DType::I64 ? a.as<int64_t>()[i] : (int64_t)v;
      if (a.dtype != DType::I64 && (v != std::trunc(v) || std::fabs(v) > 9.0e15)) {
        err = "element " + std::to_string(i) + " (" + std::to_string(v) + ") is not an int64";
        return false;
      }
      memcpy(dst, &x, 8);
    } else {
      err = std::string("kernel tensor dtype ") + attnc_dtype_name(dt) + " is not supported here";
      return false;
    }
  }
  if (inexact) {
    err = std::to_string(inexact) +
          " values are not exactly representable in the kernel's 16-bit type (regenerate the case)";
    return false;
  }
  return true;
}

bool CaseRunner::bindInput(const Case &c, int t, std::vector<std::unique_ptr<Buffer>> &bufs,
                           attnc_tensor &arg, std::string &err) {
  attnc_kernel *k = c.kernel->k;
  std::string tn = attnc_kernel_tensor_name(k, t);
  std::string specName = manifest::specInputOf(c.kernel->manifest, tn);
  if (specName.empty()) {
    err = "manifest tensor '" + tn + "' has no spec input name in the manifest's \"spec\"";
    return false;
  }
  const JsonValue *file = c.inputs->get(specName);
  if (!file || !file->isString()) {
    err = "case.json has no input '" + specName + "' (kernel tensor " + tn + ")";
    return false;
  }
  NpyArray a;
  std::vector<char> host;
  if (!readNpyFile(c.dir + "/" + file->str(), a, err) ||
      !convertInput(a, attnc_kernel_tensor_dtype(k, t), host, err)) {
    err = specName + ": " + err;
    return false;
  }
  bufs.push_back(std::make_unique<Buffer>(host.size(), opts.dryRun));
  Buffer &b = *bufs.back();
  if (!b.ok() || (!host.empty() && !b.upload(host.data(), host.size()))) {
    err = specName + ": " + b.error();
    return false;
  }
  arg = attnc_tensor_contiguous(b.ptr(), attnc_kernel_tensor_dtype(k, t), (int)a.shape.size(),
                                a.shape.data(), 0);
  return true;
}

void CaseRunner::runKernel(Case &c) {
  attnc_kernel *k = c.kernel->k;
  auto failCase = [&](const std::string &why) { report(false, "%-44s %s", c.label.c_str(), why.c_str()); };
  int nt = attnc_kernel_num_tensors(k);
  std::vector<attnc_tensor> args(nt);
  std::vector<std::unique_ptr<Buffer>> bufs;
  Buffer *out[2] = {nullptr, nullptr}; // o, lse
  attnc_dtype oType = ATTNC_DTYPE_BF16;
  size_t count[2] = {(size_t)(c.B * c.H * c.Lq * c.Dv), (size_t)(c.B * c.H * c.Lq)};
  std::string err;
  for (int t = 0; t < nt; ++t) {
    std::string tn = attnc_kernel_tensor_name(k, t);
    attnc_dtype dt = attnc_kernel_tensor_dtype(k, t);
    if (tn != "o" && tn != "lse") {
      if (!bindInput(c, t, bufs, args[t], err))
        return failCase(err);
      continue;
    }
    int which = tn == "o" ? 0 : 1;
    bufs.push_back(std::make_unique<Buffer>(count[which] * attnc_dtype_size(dt), opts.dryRun));
    Buffer &b = *bufs.back();
    uint32_t nan32 = 0x7fc00000u;
    uint16_t nan16 = kPoison16; // NaN in bf16 and f16
    if (!b.ok() || !(dt == ATTNC_DTYPE_F32 ? b.fill(&nan32, 4, count[which]) : b.fill(&nan16, 2, count[which])))
      return failCase(tn + ": " + b.error());
    int64_t shape[4] = {c.B, c.H, c.Lq, c.Dv};
    args[t] = attnc_tensor_contiguous(b.ptr(), dt, which == 0 ? 4 : 3, shape, 0);
    out[which] = &b;
    if (which == 0)
      oType = dt;
  }
  if (!out[0] || oType == ATTNC_DTYPE_F32)
    return failCase("the kernel has no 16-bit tensor 'o'");
  int nd = attnc_kernel_num_dims(k);
  std::vector<int64_t> dims(nd, -1);
  for (int d = 0; d < nd; ++d)
    if (const JsonValue *v = c.dims->get(attnc_kernel_dim_name(k, d)))
      dims[d] = v->isInteger() ? v->integer() : -1;
  attnc_status st = opts.dryRun ? attnc_kernel_validate(k, args.data(), nt, dims.data(), nullptr)
                                : attnc_kernel_launch(k, args.data(), nt, dims.data(), nullptr);
  if (st != ATTNC_OK)
    return failCase(std::string(opts.dryRun ? "validate: " : "launch: ") + attnc_status_name(st) +
                    ": " + attnc_last_error());
  std::vector<uint16_t> ob(count[0]);
  if (opts.dryRun) { // stand in for the kernel: o = the reference in the kernel's type, lse = 0
    for (size_t i = 0; i < count[0]; ++i)
      ob[i] = oType == ATTNC_DTYPE_F16 ? toF16((float)npyValue(c.ref, i)) : toBF16((float)npyValue(c.ref, i));
    float zero = 0;
    out[0]->upload(ob.data(), count[0] * 2);
    if (out[1])
      out[1]->fill(&zero, 4, count[1]);
  } else if ((st = attnc_stream_synchronize(nullptr)) != ATTNC_OK) {
    failCase(std::string("kernel failed: ") + attnc_last_error());
    fprintf(stderr, "attnc-device-check: the CUDA context is unusable after a kernel fault; stopping\n");
    exit(2);
  }
  std::vector<float> lse(count[1]);
  if (!out[0]->download(ob.data(), count[0] * 2) || (out[1] && !out[1]->download(lse.data(), count[1] * 4)))
    return failCase(std::string("cannot copy the outputs back: ") + attnc_last_error());
  std::vector<double> got(count[0]);
  for (size_t i = 0; i < count[0]; ++i)
    got[i] = oType == ATTNC_DTYPE_F16 ? fromF16(ob[i]) : fromBF16(ob[i]);
  long lseNan = std::count_if(lse.begin(), lse.end(), [](float x) { return std::isnan(x); });
  if (opts.dryRun) // o is the reference itself: only reading, binding and validation were checked
    return report(compare(got, c.ref).nan == 0, "%-44s validated (dry run)", c.label.c_str());
  Agreement a = compare(got, c.ref, &ob);
  char where[96] = "";
  if (!a.ok(lseNan) && a.maxAbs > 0) {
    size_t w = a.worst, d = w % c.Dv, i = (w / c.Dv) % c.Lq, h = (w / c.Dv / c.Lq) % c.H,
           b = w / c.Dv / c.Lq / c.H;
    snprintf(where, sizeof where, " worst at [b=%zu h=%zu i=%zu d=%zu]", b, h, i, d);
  }
  report(a.ok(lseNan), "%-44s max_abs=%.2e max_ref=%.2e rel_l2=%.2e nan=%ld unwritten=%ld lse_nan=%ld%s",
         c.label.c_str(), a.maxAbs, a.maxRef, a.relL2, a.nan, a.unwritten, lseNan, where);
}

/// A program case through the runtime (attnc_gpu_program_load of the
/// program compiled for the case's shape): inputs uploaded in the program's
/// dtypes, outputs poisoned, every step launched, the first output compared.
void CaseRunner::runProgram(const Case &c) {
  auto failCase = [&](const std::string &why) { report(false, "%-44s %s", c.label.c_str(), why.c_str()); };
  const JsonValue *path = c.json.get("program");
  attnc_gpu_program *p = nullptr;
  if (attnc_gpu_program_load((c.dir + "/" + path->str()).c_str(), &p) != ATTNC_OK)
    return failCase(std::string("load: ") + attnc_last_error());
  std::unique_ptr<attnc_gpu_program, void (*)(attnc_gpu_program *)> owner(p, attnc_gpu_program_free);
  std::vector<std::unique_ptr<Buffer>> bufs;
  std::vector<attnc_tensor> in, out;
  std::string err;
  for (int i = 0; i < attnc_gpu_program_num_inputs(p); ++i) {
    std::string name = attnc_gpu_program_input_name(p, i);
    const JsonValue *file = c.inputs->get(name);
    NpyArray a;
    std::vector<char> host;
    attnc_dtype dt = attnc_gpu_program_input_dtype(p, i);
    if (!file || !file->isString() || !readNpyFile(c.dir + "/" + file->str(), a, err))
      return failCase("input '" + name + "': " + (err.empty() ? "not in case.json" : err));
    if (!convertInput(a, dt, host, err))
      return failCase("input '" + name + "': " + err);
    bufs.push_back(std::make_unique<Buffer>(host.size(), false));
    if (!bufs.back()->ok() || (!host.empty() && !bufs.back()->upload(host.data(), host.size())))
      return failCase("input '" + name + "': " + bufs.back()->error());
    in.push_back(attnc_tensor_contiguous(bufs.back()->ptr(), dt, (int)a.shape.size(), a.shape.data(), 0));
  }
  // Every output in the program's shape for these inputs (its sizes are
  // run-time values), poisoned; output 0 is the one the reference checks.
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < attnc_gpu_program_num_outputs(p); ++i) {
    std::vector<int64_t> &shape = shapes.emplace_back(ATTNC_MAX_RANK);
    int rank = attnc_gpu_program_output_shape_for(p, i, in.data(), (int)in.size(), shape.data());
    if (rank < 0)
      return failCase(std::string("output shape: ") + attnc_last_error());
    shape.resize(rank);
    size_t n = 1;
    for (int64_t d : shape)
      n *= d < 0 ? 0 : (size_t)d;
    if (i == 0 && shape != c.ref.shape)
      return failCase("the program's output 0 has shape " + shapeText(shape) + ", the reference " +
                      shapeText(c.ref.shape));
    std::vector<uint16_t> poison(n, kPoison16);
    bufs.push_back(std::make_unique<Buffer>(n * 2, false));
    if (!bufs.back()->ok() || !bufs.back()->upload(poison.data(), n * 2))
      return failCase("output: " + bufs.back()->error());
    out.push_back(attnc_tensor_contiguous(bufs.back()->ptr(), attnc_gpu_program_output_dtype(p, i),
                                          (int)shape.size(), shape.data(), 0));
  }
  attnc_status st = attnc_gpu_program_run(p, in.data(), (int)in.size(), out.data(), (int)out.size(), nullptr, nullptr);
  if (st != ATTNC_OK)
    return failCase(std::string("run: ") + attnc_status_name(st) + ": " + attnc_last_error());
  if ((st = attnc_stream_synchronize(nullptr)) != ATTNC_OK) {
    failCase(std::string("program failed: ") + attnc_last_error());
    fprintf(stderr, "attnc-device-check: the CUDA context is unusable after a kernel fault; stopping\n");
    exit(2);
  }
  std::vector<uint16_t> ob(c.ref.numElements());
  if (!bufs[in.size()]->download(ob.data(), ob.size() * 2))
    return failCase(std::string("cannot copy the output back: ") + attnc_last_error());
  std::vector<double> got(ob.size());
  bool f16 = attnc_gpu_program_output_dtype(p, 0) == ATTNC_DTYPE_F16;
  for (size_t i = 0; i < ob.size(); ++i)
    got[i] = f16 ? fromF16(ob[i]) : fromBF16(ob[i]);
  Agreement a = compare(got, c.ref, &ob);
  report(a.ok(0), "%-44s max_abs=%.2e max_ref=%.2e rel_l2=%.2e nan=%ld unwritten=%ld", c.label.c_str(),
         a.maxAbs, a.maxRef, a.relL2, a.nan, a.unwritten);
}

/// The names on the spec's `dims` line (text form), or empty: then every
/// dim of the case is passed.
std::vector<std::string> declaredDims(const std::string &specPath) {
  std::string text;
  std::vector<std::string> out;
  if (!readFile(specPath, text))
    return out;
  size_t p = text.compare(0, 5, "dims ") == 0 ? 0 : text.find("\ndims ");
  if (p == std::string::npos)
    return out;
  p += text[p] == '\n' ? 6 : 5;
  std::string line = text.substr(p, text.find('\n', p) - p), name;
  for (char ch : line + ",") {
    if (ch == ',') {
      if (!name.empty())
        out.push_back(name);
      name.clear();
    } else if (ch != ' ' && ch != '\t') {
      name += ch;
    }
  }
  return out;
}

/// Runs ARGV with stdout and stderr into LOG; the exit status, or -1.
int spawn(const std::vector<std::string> &argv, const std::string &log) {
  std::vector<char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  if (rc != 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// `attnc run --backend=gpu` on the case: the CLI's in-process path (compile,
/// kernel cache, runtime), its output compared like the kernel's.
void CaseRunner::runCli(const Case &c) {
  std::string label = c.label + " [attnc run]";
  auto failCase = [&](const std::string &why) { report(false, "%-44s %s", label.c_str(), why.c_str()); };
  const JsonValue *spec = c.json.get("spec"), *specDims = c.json.get("spec_dims");
  if (!spec || !spec->isString() || !specDims)
    return failCase("case.json needs \"spec\" and \"spec_dims\"");
  std::string specPath = spec->str()[0] == '/' ? spec->str() : c.dir + "/" + spec->str();
  std::vector<std::string> declared = declaredDims(specPath);
  std::string out = c.dir + "/.attnc-run-o.npy", log = c.dir + "/.attnc-run.log";
  std::vector<std::string> argv = {opts.attncPath, "run", specPath, "--backend=gpu", "--quiet"};
  for (const auto &kv : specDims->object())
    if (kv.second.isInteger() &&
        (declared.empty() || std::find(declared.begin(), declared.end(), kv.first) != declared.end()))
      argv.push_back("--dim=" + kv.first + "=" + std::to_string(kv.second.integer()));
  for (const auto &kv : c.inputs->object())
    if (kv.second.isString())
      argv.push_back("--input=" + kv.first + "=" + c.dir + "/" + kv.second.str());
  argv.push_back("--output=o=" + out);
  int rc = spawn(argv, log);
  std::string logText, err;
  readFile(log, logText);
  unlink(log.c_str());
  if (rc != 0)
    return failCase("exit " + std::to_string(rc) + ": " + logText.substr(0, 300));
  NpyArray got;
  bool read = readNpyFile(out, got, err);
  unlink(out.c_str());
  if (!read)
    return failCase(err);
  if (got.shape != c.ref.shape)
    return failCase("o has shape " + shapeText(got.shape) + ", the reference " + shapeText(c.ref.shape));
  std::vector<double> values(got.numElements());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = npyValue(got, i);
  Agreement a = compare(values, c.ref);
  report(a.ok(0), "%-44s max_abs=%.2e max_ref=%.2e rel_l2=%.2e nan=%ld", label.c_str(), a.maxAbs,
         a.maxRef, a.relL2, a.nan);
}

void CaseRunner::run(const std::string &dir) {
  Case c;
  std::string err;
  if (!load(dir, c, err))
    return report(false, "%-44s %s", c.label.c_str(), err.c_str());
  if (c.program) {
    if (opts.dryRun) { // loading checks the program and its kernels' manifests
      attnc_gpu_program *p = nullptr;
      bool ok = attnc_gpu_program_load((c.dir + "/" + c.json.get("program")->str()).c_str(), &p) == ATTNC_OK;
      report(ok, "%-44s %s", c.label.c_str(), ok ? "program loaded (dry run)" : attnc_last_error());
      return attnc_gpu_program_free(p);
    }
    runProgram(c);
    if (!opts.attncPath.empty())
      runCli(c);
    return;
  }
  runKernel(c);
  if (!opts.attncPath.empty() && !opts.dryRun)
    runCli(c);
}

} // namespace

void attnc::device::runCases(const std::vector<std::string> &caseDirs, const Options &opts) {
  if (caseDirs.empty())
    return;
  printf("# %zu case folders: inputs and float64 CPU reference from the case; pass: rel_l2 <= 1e-2, "
         "max_abs <= 2e-2 * max(1, max|ref|), NaN/Inf in o only where the reference has it, every entry written, none in lse\n",
         caseDirs.size());
  CaseRunner runner(opts);
  for (const std::string &d : caseDirs)
    runner.run(d);
}
