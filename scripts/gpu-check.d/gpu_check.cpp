// gpu-check-run: runs attnc kernels through the attnc runtime (attnc_runtime.h)
// on a GPU and checks them against a reference. Driven by scripts/gpu-check.
//
//   gpu-check-run [--quick] [--seed N] [--dump DIR] [--dry-run] (MANIFEST.json | CASE_DIR) ...
//
// Per manifest (kinds recognised from the manifest):
//  - the runtime test fixture ("fixture": "scaled_copy"; NOT an attention
//    kernel): y = x * K at several shapes, exact comparison, plus device-side
//    validation checks (host pointer, too-small allocation, wrong device,
//    misalignment) that must be refused;
//  - ABI-v1 attention kernels (tensors q, k, v, o, lse; docs/gpu-abi.md):
//    several shapes (GQA, SQA, ragged lengths, empty causal rows), fresh
//    random inputs, outputs poisoned with NaN first, float64 CPU reference
//    (all rows, or a sample for large shapes); with --dump DIR each case's
//    inputs and outputs are also written as .npy for torch_ref.py.
// Kernels with score/mask regions are skipped (no reference without the spec).
//  - case folders written by scripts/make-gpu-cases (a CASE_DIR holding
//    case.json, or --case CASE_DIR): the inputs (.npy '<f4'/'<i4'; q/k/v
//    converted to the kernel's 16-bit type exactly), the launch dims and the
//    expected o (float64 CPU reference, as f32) come from the case; tensors
//    are matched to spec input names through the manifest's "spec" object;
//    o and lse are poisoned with NaN; pass if rel_l2 <= 1e-2, max_abs <=
//    2e-2 * max(1, max|ref|) and no NaN in o or lse.
// Prints one line per case with max abs and relative error; exit status 1 if
// any case failed.
#include "attnc/Runtime/attnc_runtime.h"
#include "ManifestJson.h"

#include <cuda.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace {

int Failures = 0, Passes = 0, Skips = 0;

#define CK(x)                                                                                                        \
  do {                                                                                                               \
    CUresult r_ = (x);                                                                                               \
    if (r_ != CUDA_SUCCESS) {                                                                                        \
      const char *s_ = nullptr;                                                                                      \
      cuGetErrorString(r_, &s_);                                                                                     \
      fprintf(stderr, "%s:%d %s -> %s\n", __FILE__, __LINE__, #x, s_ ? s_ : "?");                                    \
      exit(2);                                                                                                       \
    }                                                                                                                \
  } while (0)

void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void result(bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("  %s\n", ok ? "PASS" : "FAIL");
  fflush(stdout);
  (ok ? Passes : Failures)++;
}

// ---- 16-bit floats (no CUDA headers needed on the host side) -------------
uint16_t f2bf(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000)
    return 0x7fc0;
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}
float bf2f(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
uint16_t f2h(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffff;
  if (absx > 0x7f800000)
    return (uint16_t)(sign | 0x7e00);
  if (absx >= 0x477ff000) // rounds to >= 65520: inf
    return (uint16_t)(sign | 0x7c00);
  if (absx < 0x38800000) { // subnormal half (or zero)
    float a;
    memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f; // 2^24: units of the smallest subnormal
    uint32_t m = (uint32_t)std::nearbyint(scaled);
    return (uint16_t)(sign | m);
  }
  uint32_t e = (absx >> 23) - 127 + 15, m = absx & 0x7fffff;
  uint32_t h = (e << 10) | (m >> 13);
  uint32_t rest = m & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return (uint16_t)(sign | h);
}
float h2f(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  float f;
  if (e == 0) {
    f = std::ldexp((float)m, -24);
    return sign ? -f : f;
  }
  uint32_t u = e == 31 ? sign | 0x7f800000 | (m << 13) : sign | ((e - 15 + 127) << 23) | (m << 13);
  memcpy(&f, &u, 4);
  return f;
}

// ---- .npy output (for the PyTorch reference) -----------------------------
bool writeNpy(const std::string &path, const char *descr, const std::vector<int64_t> &shape, const void *data,
              size_t bytes) {
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  dict += "), }";
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  FILE *f = fopen(path.c_str(), "wb");
  if (!f)
    return false;
  unsigned char hdr[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  hdr[8] = (unsigned char)(dict.size() & 0xff);
  hdr[9] = (unsigned char)(dict.size() >> 8);
  bool ok = fwrite(hdr, 1, 10, f) == 10 && fwrite(dict.data(), 1, dict.size(), f) == dict.size() &&
            fwrite(data, 1, bytes, f) == bytes;
  return fclose(f) == 0 && ok;
}

struct DevBuf {
  CUdeviceptr p = 0;
  size_t n = 0;
  explicit DevBuf(size_t bytes) : n(bytes) { CK(cuMemAlloc(&p, bytes ? bytes : 1)); }
  ~DevBuf() { cuMemFree(p); }
  void *ptr() const { return (void *)(uintptr_t)p; }
};

// ---- the runtime test fixture --------------------------------------------
void runFixture(attnc_kernel *k, const std::string &name, uint64_t seed) {
  struct Case { int64_t R, C, K; };
  std::vector<Case> cases = {{1, 4, 1}, {8, 32, 3}, {33, 100, 2}, {1000, 1028, 5}, {4097, 64, 7}};
  for (const Case &c : cases) {
    size_t n = (size_t)c.R * c.C;
    std::vector<float> x(n), y(n);
    std::mt19937_64 g(seed++);
    std::normal_distribution<float> nd;
    for (float &v : x)
      v = nd(g);
    DevBuf dx(n * 4), dy(n * 4);
    CK(cuMemcpyHtoD(dx.p, x.data(), n * 4));
    CK(cuMemsetD32(dy.p, 0x7fc00000u, n)); // poison: NaN
    int64_t shape[2] = {c.R, c.C}, dims[3] = {-1, -1, c.K};
    attnc_tensor t[2] = {attnc_tensor_contiguous(dx.ptr(), ATTNC_DTYPE_F32, 2, shape, 0),
                         attnc_tensor_contiguous(dy.ptr(), ATTNC_DTYPE_F32, 2, shape, 0)};
    attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
    if (s != ATTNC_OK) {
      result(false, "%-34s R=%lld C=%lld K=%lld  launch: %s: %s", name.c_str(), (long long)c.R, (long long)c.C,
             (long long)c.K, attnc_status_name(s), attnc_last_error());
      continue;
    }
    CK(cuCtxSynchronize());
    CK(cuMemcpyDtoH(y.data(), dy.p, n * 4));
    double maxAbs = 0;
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
      float want = x[i] * (float)c.K; // the kernel's float multiply: exact match expected
      double e = std::fabs((double)y[i] - (double)want);
      if (!(y[i] == want))
        ++bad;
      if (e > maxAbs || std::isnan(e))
        maxAbs = e;
    }
    result(bad == 0, "%-34s R=%lld C=%lld K=%lld  max_abs=%.3g mismatches=%zu (exact check)", name.c_str(),
           (long long)c.R, (long long)c.C, (long long)c.K, maxAbs, bad);
  }

  // Device-side validation: each launch below must be refused before it runs.
  int64_t shape[2] = {64, 64}, dims[3] = {-1, -1, 2};
  DevBuf dx(64 * 64 * 4 + 256), dy(64 * 64 * 4), small(64 * 64 * 4 / 2);
  auto refuse = [&](const char *what, attnc_tensor t0, attnc_tensor t1, attnc_status want, const char *substr) {
    attnc_tensor t[2] = {t0, t1};
    attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
    bool ok = s == want && strstr(attnc_last_error(), substr) != nullptr;
    result(ok, "%-34s refuses %-26s -> %s: %s", name.c_str(), what, attnc_status_name(s), attnc_last_error());
  };
  std::vector<float> host(64 * 64 + 16);
  void *hostAligned = (void *)(((uintptr_t)host.data() + 15) & ~(uintptr_t)15);
  attnc_tensor gx = attnc_tensor_contiguous(dx.ptr(), ATTNC_DTYPE_F32, 2, shape, 0);
  attnc_tensor gy = attnc_tensor_contiguous(dy.ptr(), ATTNC_DTYPE_F32, 2, shape, 0);
  refuse("a host pointer", attnc_tensor_contiguous(hostAligned, ATTNC_DTYPE_F32, 2, shape, 0), gy, ATTNC_ERR_POINTER,
         "argument 0 (x)");
  refuse("a too-small allocation", gx, attnc_tensor_contiguous(small.ptr(), ATTNC_DTYPE_F32, 2, shape, 0),
         ATTNC_ERR_POINTER, "argument 1 (y): the allocation at");
  attnc_tensor other = gx;
  other.device = 1;
  refuse("another device's tensor", other, gy, ATTNC_ERR_POINTER, "device 1");
  refuse("a misaligned TMA base", attnc_tensor_contiguous((char *)dx.ptr() + 4, ATTNC_DTYPE_F32, 2, shape, 0), gy,
         ATTNC_ERR_ALIGNMENT, "16-byte");
  attnc_tensor interior = attnc_tensor_contiguous((char *)dx.ptr() + 256, ATTNC_DTYPE_F32, 2, shape, 0);
  {
    // A tensor that starts inside an allocation and fits is accepted.
    attnc_tensor t[2] = {interior, gy};
    attnc_status s = attnc_kernel_launch(k, t, 2, dims, nullptr);
    bool ok = s == ATTNC_OK && cuCtxSynchronize() == CUDA_SUCCESS;
    result(ok, "%-34s accepts an interior pointer          -> %s %s", name.c_str(), attnc_status_name(s),
           s ? attnc_last_error() : "");
  }
  {
    // A launch on a user stream.
    CUstream st;
    CK(cuStreamCreate(&st, CU_STREAM_NON_BLOCKING));
    attnc_tensor t[2] = {gx, gy};
    attnc_status s = attnc_kernel_launch(k, t, 2, dims, (void *)st);
    bool ok = s == ATTNC_OK && cuStreamSynchronize(st) == CUDA_SUCCESS;
    result(ok, "%-34s launches on a user stream            -> %s %s", name.c_str(), attnc_status_name(s),
           s ? attnc_last_error() : "");
    cuStreamDestroy(st);
  }
}

// ---- ABI-v1 attention -----------------------------------------------------
struct Shape { int B, H, Hq, Hk, Lq, Lk; };

struct Attn {
  std::string name, causal;
  bool bf16 = true;
  int D = 0, Dv = 0;
  double scale = 0;
};

bool keep(const Attn &a, const Shape &s, long i, long j) {
  if (a.causal == "bottom_right")
    return j <= i + (s.Lk - s.Lq);
  if (a.causal == "top_left")
    return j <= i;
  return true;
}

void refRow(const Attn &a, const Shape &s, const std::vector<float> &q, const std::vector<float> &k,
            const std::vector<float> &v, int b, int h, int i, std::vector<double> &o, double &lse) {
  int hq = h / (s.H / s.Hq), hk = h / (s.H / s.Hk);
  const float *qr = &q[(((size_t)b * s.Hq + hq) * s.Lq + i) * a.D];
  std::vector<double> sc(s.Lk);
  double m = -INFINITY;
  for (int j = 0; j < s.Lk; ++j) {
    if (!keep(a, s, i, j)) {
      sc[j] = -INFINITY;
      continue;
    }
    const float *kr = &k[(((size_t)b * s.Hk + hk) * s.Lk + j) * a.D];
    double acc = 0;
    for (int d = 0; d < a.D; ++d)
      acc += (double)qr[d] * kr[d];
    sc[j] = acc * a.scale;
    m = std::max(m, sc[j]);
  }
  o.assign(a.Dv, 0.0);
  if (m == -INFINITY) {
    lse = -INFINITY;
    return;
  }
  double l = 0;
  for (int j = 0; j < s.Lk; ++j) {
    if (sc[j] == -INFINITY)
      continue;
    double p = std::exp(sc[j] - m);
    l += p;
    const float *vr = &v[(((size_t)b * s.Hk + hk) * s.Lk + j) * a.Dv];
    for (int d = 0; d < a.Dv; ++d)
      o[d] += p * vr[d];
  }
  for (int d = 0; d < a.Dv; ++d)
    o[d] /= l;
  lse = m + std::log(l);
}

void runAttention(attnc_kernel *k, const Attn &a, bool quick, uint64_t &seed, const std::string &dumpDir) {
  std::vector<Shape> shapes = {{1, 2, 2, 2, 128, 128},   {1, 2, 2, 2, 1000, 1500}, {2, 8, 8, 2, 1000, 1500},
                               {1, 4, 4, 4, 1500, 1000}, {1, 2, 2, 2, 1, 1500},    {1, 3, 3, 1, 257, 77},
                               {1, 8, 2, 8, 333, 555}};
  if (quick)
    shapes.resize(3);
  auto toH = [&](float f) { return a.bf16 ? f2bf(f) : f2h(f); };
  auto fromH = [&](uint16_t h) { return a.bf16 ? bf2f(h) : h2f(h); };
  for (const Shape &s : shapes) {
    size_t nq = (size_t)s.B * s.Hq * s.Lq * a.D, nk = (size_t)s.B * s.Hk * s.Lk * a.D,
           nv = (size_t)s.B * s.Hk * s.Lk * a.Dv, no = (size_t)s.B * s.H * s.Lq * a.Dv, nl = (size_t)s.B * s.H * s.Lq;
    std::vector<uint16_t> qb(nq), kb(nk), vb(nv), ob(no);
    std::vector<float> qf(nq), kf(nk), vf(nv), lse(nl);
    std::mt19937_64 g(seed++);
    std::normal_distribution<float> nd;
    auto fill = [&](std::vector<uint16_t> &b, std::vector<float> &f) {
      for (size_t i = 0; i < b.size(); ++i) {
        b[i] = toH(nd(g));
        f[i] = fromH(b[i]);
      }
    };
    fill(qb, qf);
    fill(kb, kf);
    fill(vb, vf);
    DevBuf dq(nq * 2), dk(nk * 2), dv(nv * 2), dout(no * 2), dl(nl * 4);
    CK(cuMemcpyHtoD(dq.p, qb.data(), nq * 2));
    CK(cuMemcpyHtoD(dk.p, kb.data(), nk * 2));
    CK(cuMemcpyHtoD(dv.p, vb.data(), nv * 2));
    CK(cuMemsetD16(dout.p, 0x7fff, no)); // NaN in bf16 and f16
    CK(cuMemsetD32(dl.p, 0x7fc00000u, nl));
    attnc_dtype dt = a.bf16 ? ATTNC_DTYPE_BF16 : ATTNC_DTYPE_F16;
    int64_t qs[4] = {s.B, s.Hq, s.Lq, a.D}, ks[4] = {s.B, s.Hk, s.Lk, a.D}, vs[4] = {s.B, s.Hk, s.Lk, a.Dv},
            os[4] = {s.B, s.H, s.Lq, a.Dv}, ls[3] = {s.B, s.H, s.Lq};
    attnc_tensor t[5] = {attnc_tensor_contiguous(dq.ptr(), dt, 4, qs, 0),
                         attnc_tensor_contiguous(dk.ptr(), dt, 4, ks, 0),
                         attnc_tensor_contiguous(dv.ptr(), dt, 4, vs, 0),
                         attnc_tensor_contiguous(dout.ptr(), dt, 4, os, 0),
                         attnc_tensor_contiguous(dl.ptr(), ATTNC_DTYPE_F32, 3, ls, 0)};
    char shapeText[128];
    snprintf(shapeText, sizeof shapeText, "B=%d H=%d Hq=%d Hk=%d Lq=%d Lk=%d", s.B, s.H, s.Hq, s.Hk, s.Lq, s.Lk);
    attnc_status st = attnc_kernel_launch(k, t, 5, nullptr, nullptr);
    if (st != ATTNC_OK) {
      result(false, "%-34s %s  launch: %s: %s", a.name.c_str(), shapeText, attnc_status_name(st), attnc_last_error());
      continue;
    }
    CK(cuCtxSynchronize());
    CK(cuMemcpyDtoH(ob.data(), dout.p, no * 2));
    CK(cuMemcpyDtoH(lse.data(), dl.p, nl * 4));
    if (!dumpDir.empty()) {
      char sub[512];
      snprintf(sub, sizeof sub, "%s/%s__B%d_H%d_Hq%d_Hk%d_Lq%d_Lk%d", dumpDir.c_str(), a.name.c_str(), s.B, s.H, s.Hq,
               s.Hk, s.Lq, s.Lk);
      mkdir(sub, 0755);
      std::string d = sub;
      bool ok = writeNpy(d + "/q.npy", "<u2", {s.B, s.Hq, s.Lq, a.D}, qb.data(), nq * 2) &&
                writeNpy(d + "/k.npy", "<u2", {s.B, s.Hk, s.Lk, a.D}, kb.data(), nk * 2) &&
                writeNpy(d + "/v.npy", "<u2", {s.B, s.Hk, s.Lk, a.Dv}, vb.data(), nv * 2) &&
                writeNpy(d + "/o.npy", "<u2", {s.B, s.H, s.Lq, a.Dv}, ob.data(), no * 2) &&
                writeNpy(d + "/lse.npy", "<f4", {s.B, s.H, s.Lq}, lse.data(), nl * 4);
      FILE *m = fopen((d + "/meta.json").c_str(), "w");
      if (m) {
        fprintf(m, "{\"kernel\": \"%s\", \"dtype\": \"%s\", \"causal\": \"%s\", \"scale\": %.17g}\n", a.name.c_str(),
                a.bf16 ? "bf16" : "f16", a.causal.c_str(), a.scale);
        fclose(m);
      }
      if (!ok || !m)
        fprintf(stderr, "warning: could not write %s\n", sub);
    }
    // CPU reference: all rows, or a random sample for large shapes.
    std::vector<long> rows;
    long total = (long)s.B * s.H * s.Lq;
    if ((double)total * s.Lk * a.D < 4e9) {
      for (long r = 0; r < total; ++r)
        rows.push_back(r);
    } else {
      for (int x = 0; x < 768; ++x)
        rows.push_back((long)(g() % (uint64_t)total));
      rows.push_back(0);
      rows.push_back(total - 1);
    }
    unsigned nt = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
    std::vector<double> errSq(nt), refSq(nt), maxAbs(nt), maxLse(nt);
    std::vector<long> nans(nt), badEmpty(nt);
    std::vector<std::thread> th;
    for (unsigned w = 0; w < nt; ++w)
      th.emplace_back([&, w] {
        std::vector<double> o;
        double l;
        for (size_t x = w; x < rows.size(); x += nt) {
          long r = rows[x];
          int i = (int)(r % s.Lq), h = (int)((r / s.Lq) % s.H), b = (int)(r / ((long)s.Lq * s.H));
          refRow(a, s, qf, kf, vf, b, h, i, o, l);
          for (int d = 0; d < a.Dv; ++d) {
            double got = fromH(ob[(size_t)r * a.Dv + d]);
            if (std::isnan(got)) {
              ++nans[w];
              continue;
            }
            double e = got - o[d];
            errSq[w] += e * e;
            refSq[w] += o[d] * o[d];
            maxAbs[w] = std::max(maxAbs[w], std::fabs(e));
          }
          double gl = lse[r];
          if (std::isnan(gl))
            ++nans[w];
          else if (std::isinf(l) || std::isinf(gl)) {
            if (!(std::isinf(l) && std::isinf(gl) && gl < 0))
              ++badEmpty[w];
          } else
            maxLse[w] = std::max(maxLse[w], std::fabs(gl - l));
        }
      });
    for (auto &x : th)
      x.join();
    double es = 0, rs = 0, ma = 0, ml = 0;
    long nn = 0, be = 0;
    for (unsigned w = 0; w < nt; ++w) {
      es += errSq[w];
      rs += refSq[w];
      ma = std::max(ma, maxAbs[w]);
      ml = std::max(ml, maxLse[w]);
      nn += nans[w];
      be += badEmpty[w];
    }
    double rel = rs > 0 ? std::sqrt(es / rs) : std::sqrt(es);
    bool ok = nn == 0 && be == 0 && rel < 1e-2 && ma < 5e-2 && ml < 1e-3;
    result(ok, "%-34s %s rows=%zu max_abs=%.2e rel_l2=%.2e lse_max_abs=%.2e nan=%ld empty_bad=%ld", a.name.c_str(),
           shapeText, rows.size(), ma, rel, ml, nn, be);
  }
}

// ---- case folders (scripts/make-gpu-cases) ------------------------------
// case.json and the manifest's "spec" object are read with the runtime's
// JSON reader (lib/Runtime/ManifestJson.h).
using attnc::rt::JsonValue;

bool readFile(const std::string &path, std::string &out) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f)
    return false;
  char buf[65536];
  size_t n;
  out.clear();
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  fclose(f);
  return true;
}

bool readJson(const std::string &path, JsonValue &v, std::string &err) {
  std::string text;
  if (!readFile(path, text)) {
    err = "cannot read " + path;
    return false;
  }
  if (!JsonValue::parse(text, v, err)) {
    err = path + ": " + err;
    return false;
  }
  return true;
}

// A minimal .npy reader: little-endian '<f4', '<i4' (also '<f8', '<i8'), C order.
struct Npy {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<char> data;
  size_t count() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= (size_t)d;
    return n;
  }
  size_t itemSize() const { return descr == "<f8" || descr == "<i8" ? 8 : 4; }
  double at(size_t i) const {
    if (descr == "<f4") {
      float f;
      memcpy(&f, &data[i * 4], 4);
      return f;
    }
    if (descr == "<i4") {
      int32_t x;
      memcpy(&x, &data[i * 4], 4);
      return x;
    }
    if (descr == "<f8") {
      double d;
      memcpy(&d, &data[i * 8], 8);
      return d;
    }
    int64_t x;
    memcpy(&x, &data[i * 8], 8);
    return (double)x;
  }
  int64_t atInt(size_t i) const {
    if (descr == "<i4") {
      int32_t x;
      memcpy(&x, &data[i * 4], 4);
      return x;
    }
    if (descr == "<i8") {
      int64_t x;
      memcpy(&x, &data[i * 8], 8);
      return x;
    }
    return (int64_t)at(i);
  }
  bool isFloat() const { return descr[1] == 'f'; }
  std::string shapeText() const {
    std::string r = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      r += (i ? ", " : "") + std::to_string(shape[i]);
    return r + "]";
  }
};

bool readNpy(const std::string &path, Npy &a, std::string &err) {
  std::string raw;
  if (!readFile(path, raw)) {
    err = "cannot read " + path;
    return false;
  }
  if (raw.size() < 10 || memcmp(raw.data(), "\x93NUMPY", 6) != 0) {
    err = path + ": not a .npy file";
    return false;
  }
  unsigned major = (unsigned char)raw[6];
  size_t hlen, off;
  if (major == 1) {
    hlen = (unsigned char)raw[8] | ((size_t)(unsigned char)raw[9] << 8);
    off = 10;
  } else {
    if (raw.size() < 12) {
      err = path + ": truncated header";
      return false;
    }
    hlen = 0;
    for (int b = 0; b < 4; ++b)
      hlen |= (size_t)(unsigned char)raw[8 + b] << (8 * b);
    off = 12;
  }
  if (off + hlen > raw.size()) {
    err = path + ": truncated header";
    return false;
  }
  std::string h = raw.substr(off, hlen);
  auto field = [&](const char *key) -> size_t {
    size_t p = h.find(std::string("'") + key + "'");
    return p == std::string::npos ? p : h.find(':', p) + 1;
  };
  size_t p = field("descr");
  size_t q1 = p == std::string::npos ? p : h.find('\'', p);
  size_t q2 = q1 == std::string::npos ? q1 : h.find('\'', q1 + 1);
  if (q2 == std::string::npos) {
    err = path + ": no descr in the header";
    return false;
  }
  a.descr = h.substr(q1 + 1, q2 - q1 - 1);
  if (a.descr != "<f4" && a.descr != "<i4" && a.descr != "<f8" && a.descr != "<i8") {
    err = path + ": dtype '" + a.descr + "' not supported (want <f4 or <i4)";
    return false;
  }
  p = field("fortran_order");
  if (p != std::string::npos && h.find("True", p) != std::string::npos && h.find("True", p) < h.find(',', p)) {
    err = path + ": Fortran order not supported";
    return false;
  }
  p = field("shape");
  size_t l = p == std::string::npos ? p : h.find('(', p), r = l == std::string::npos ? l : h.find(')', l);
  if (r == std::string::npos) {
    err = path + ": no shape in the header";
    return false;
  }
  a.shape.clear();
  std::string dims = h.substr(l + 1, r - l - 1);
  for (size_t s = 0; s < dims.size();) {
    while (s < dims.size() && (dims[s] == ' ' || dims[s] == ','))
      ++s;
    if (s >= dims.size())
      break;
    char *end = nullptr;
    long long v = strtoll(dims.c_str() + s, &end, 10);
    if (end == dims.c_str() + s) {
      err = path + ": bad shape '" + dims + "'";
      return false;
    }
    a.shape.push_back(v);
    s = (size_t)(end - dims.c_str());
  }
  size_t bytes = a.count() * a.itemSize(), start = off + hlen;
  if (raw.size() - start < bytes) {
    err = path + ": " + std::to_string(raw.size() - start) + " data bytes, shape " + a.shapeText() + " needs " +
          std::to_string(bytes);
    return false;
  }
  a.data.assign(raw.begin() + (long)start, raw.begin() + (long)(start + bytes));
  return true;
}

std::string dirName(const std::string &p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}
bool fileExists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// --dry-run: no GPU; buffers live in host memory, launches are only
// validated (attnc_kernel_validate) and o is the reference rounded to bf16,
// which checks the reading, mapping and comparison paths of the harness.
bool DryRun = false;

struct CaseBuf {
  size_t n = 0;
  CUdeviceptr p = 0;
  void *host = nullptr;
  explicit CaseBuf(size_t bytes) : n(bytes ? bytes : 1) {
    if (DryRun)
      host = aligned_alloc(256, (n + 255) / 256 * 256);
    else
      CK(cuMemAlloc(&p, n));
  }
  ~CaseBuf() {
    if (DryRun)
      free(host);
    else
      cuMemFree(p);
  }
  void *ptr() const { return DryRun ? host : (void *)(uintptr_t)p; }
  void upload(const void *src, size_t bytes) {
    if (DryRun)
      memcpy(host, src, bytes);
    else
      CK(cuMemcpyHtoD(p, src, bytes));
  }
  void download(void *dst, size_t bytes) const {
    if (DryRun)
      memcpy(dst, host, bytes);
    else
      CK(cuMemcpyDtoH(dst, p, bytes));
  }
  void fill16(uint16_t v, size_t count) {
    if (DryRun)
      for (size_t i = 0; i < count; ++i)
        memcpy((char *)host + 2 * i, &v, 2);
    else
      CK(cuMemsetD16(p, v, count));
  }
  void fill32(uint32_t v, size_t count) {
    if (DryRun)
      for (size_t i = 0; i < count; ++i)
        memcpy((char *)host + 4 * i, &v, 4);
    else
      CK(cuMemsetD32(p, v, count));
  }
};

struct LoadedKernel {
  attnc_kernel *k = nullptr;
  JsonValue manifest;
};

// Loads a manifest (parsed here too, for the case's tensor names) and the
// binary beside it through the runtime.
bool loadKernel(const std::string &mpath, LoadedKernel &n, std::string &err) {
  if (!readJson(mpath, n.manifest, err))
    return false;
  if (attnc_kernel_load(mpath.c_str(), &n.k) != ATTNC_OK) {
    err = attnc_last_error();
    return false;
  }
  return true;
}

// One case folder: inputs, expected o, case.json; the manifest in the
// example folder (the case's grandparent) or beside case.json.
void runCase(const std::string &caseArg, std::vector<std::pair<std::string, LoadedKernel>> &cache) {
  std::string dir = caseArg;
  if (dir.size() >= 9 && dir.compare(dir.size() - 9, 9, "case.json") == 0)
    dir = dirName(dir);
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  std::string err;
  JsonValue cj;
  std::string label = dir;
  auto failCase = [&](const std::string &why) { result(false, "%-44s %s", label.c_str(), why.c_str()); };
  if (!readJson(dir + "/case.json", cj, err))
    return failCase("case.json: " + err);
  const JsonValue *ex = cj.get("example");
  size_t cs = dir.find_last_of('/');
  std::string caseName = cs == std::string::npos ? dir : dir.substr(cs + 1);
  if (ex && ex->isString())
    label = ex->str() + " #" + caseName;
  const JsonValue *mf = cj.get("manifest");
  if (!mf || !mf->isString())
    return failCase("case.json has no \"manifest\"");
  std::string mpath = mf->str();
  if (mpath.empty() || mpath[0] != '/') {
    std::string beside = dir + "/" + mpath, up = dirName(dirName(dir)) + "/" + mpath;
    mpath = fileExists(beside) ? beside : up;
  }
  LoadedKernel *lk = nullptr;
  for (auto &c : cache)
    if (c.first == mpath)
      lk = &c.second;
  if (!lk) {
    LoadedKernel n;
    if (!loadKernel(mpath, n, err))
      return failCase("load " + mpath + ": " + err);
    cache.emplace_back(mpath, std::move(n));
    lk = &cache.back().second;
  }
  attnc_kernel *k = lk->k;
  const JsonValue *specIn = lk->manifest.get("spec") ? lk->manifest.get("spec")->get("inputs") : nullptr;
  if (!specIn)
    return failCase("manifest " + mpath + " has no \"spec\".\"inputs\" (name mapping)");
  const JsonValue *inputs = cj.get("inputs"), *expected = cj.get("expected"), *dimsJ = cj.get("dims");
  if (!inputs || !expected || !dimsJ)
    return failCase("case.json needs \"inputs\", \"expected\" and \"dims\"");
  const JsonValue *eo = expected->get("o");
  if (!eo || !eo->isString())
    return failCase("case.json: \"expected\" has no \"o\"");
  for (const auto &kv : expected->object())
    if (kv.first != "o")
      printf("# %s: expected output '%s' ignored (the kernel writes o and lse)\n", label.c_str(), kv.first.c_str());
  Npy ref;
  if (!readNpy(dir + "/" + eo->str(), ref, err))
    return failCase(err);

  auto dimOf = [&](const char *n) -> long {
    const JsonValue *d = dimsJ->get(n);
    return d && d->isNumber() ? (long)d->number() : -1;
  };
  long B = dimOf("B"), H = dimOf("H"), Hq = dimOf("Hq"), Hk = dimOf("Hk"), Lq = dimOf("Lq"), Lk = dimOf("Lk");
  int D = (int)attnc_kernel_info_int(k, "head_dim", 0), Dv = (int)attnc_kernel_info_int(k, "head_dim_v", D);
  char shapeText[160];
  snprintf(shapeText, sizeof shapeText, "B=%ld H=%ld Hq=%ld Hk=%ld Lq=%ld Lk=%ld D=%d", B, H, Hq, Hk, Lq, Lk, D);
  label += std::string(" ") + shapeText;
  if (B < 1 || H < 1 || Lq < 1)
    return failCase("case.json dims need B, H, Lq (and Hq, Hk, Lk)");
  std::vector<int64_t> oshape = {B, H, Lq, Dv};
  if (ref.shape != oshape)
    return failCase("expected o has shape " + ref.shapeText() + ", the kernel writes [" + std::to_string(B) + ", " +
                    std::to_string(H) + ", " + std::to_string(Lq) + ", " + std::to_string(Dv) + "]");

  int nt = attnc_kernel_num_tensors(k);
  std::vector<attnc_tensor> args(nt);
  std::vector<std::unique_ptr<CaseBuf>> bufs;
  CaseBuf *oBuf = nullptr, *lseBuf = nullptr;
  attnc_dtype oType = ATTNC_DTYPE_BF16;
  size_t no = (size_t)B * H * Lq * Dv, nl = (size_t)B * H * Lq;
  long inexact = 0;
  for (int t = 0; t < nt; ++t) {
    std::string tn = attnc_kernel_tensor_name(k, t);
    attnc_dtype dt = attnc_kernel_tensor_dtype(k, t);
    if (tn == "o" || tn == "lse") {
      bool isO = tn == "o";
      size_t n = isO ? no : nl;
      bufs.emplace_back(new CaseBuf(n * attnc_dtype_size(dt)));
      CaseBuf *b = bufs.back().get();
      if (dt == ATTNC_DTYPE_F32)
        b->fill32(0x7fc00000u, n); // NaN
      else
        b->fill16(0x7fff, n); // NaN in bf16 and f16
      int64_t shp[4] = {B, H, Lq, Dv};
      args[t] = attnc_tensor_contiguous(b->ptr(), dt, isO ? 4 : 3, shp, 0);
      (isO ? oBuf : lseBuf) = b;
      if (isO)
        oType = dt;
      continue;
    }
    // A kernel input: find its spec name.
    std::string specName;
    if (tn == "q" || tn == "k" || tn == "v") {
      const JsonValue *n = specIn->get(tn);
      if (n && n->isString())
        specName = n->str();
    } else if (tn.compare(0, 6, "extra_") == 0) {
      const JsonValue *ex = specIn->get("extras");
      size_t idx = (size_t)atoi(tn.c_str() + 6);
      if (ex && ex->isArray() && idx < ex->array().size() && ex->array()[idx].isString())
        specName = ex->array()[idx].str();
    }
    if (specName.empty())
      return failCase("manifest tensor '" + tn + "' has no spec input name in the manifest's \"spec\"");
    const JsonValue *file = inputs->get(specName);
    if (!file || !file->isString())
      return failCase("case.json has no input '" + specName + "' (kernel tensor " + tn + ")");
    Npy a;
    if (!readNpy(dir + "/" + file->str(), a, err))
      return failCase(err);
    size_t n = a.count(), es = attnc_dtype_size(dt);
    std::vector<char> host(n * es);
    switch (dt) {
    case ATTNC_DTYPE_BF16:
    case ATTNC_DTYPE_F16:
      if (!a.isFloat())
        return failCase(specName + ": " + a.descr + " data for a " + attnc_dtype_name(dt) + " tensor");
      for (size_t i = 0; i < n; ++i) {
        float f = (float)a.at(i);
        uint16_t h = dt == ATTNC_DTYPE_BF16 ? f2bf(f) : f2h(f);
        if ((dt == ATTNC_DTYPE_BF16 ? bf2f(h) : h2f(h)) != f)
          ++inexact;
        memcpy(&host[i * 2], &h, 2);
      }
      break;
    case ATTNC_DTYPE_F32:
      for (size_t i = 0; i < n; ++i) {
        float f = (float)a.at(i);
        memcpy(&host[i * 4], &f, 4);
      }
      break;
    case ATTNC_DTYPE_F64:
      for (size_t i = 0; i < n; ++i) {
        double d = a.at(i);
        memcpy(&host[i * 8], &d, 8);
      }
      break;
    case ATTNC_DTYPE_I32:
      if (a.isFloat())
        return failCase(specName + ": float data for an i32 tensor");
      for (size_t i = 0; i < n; ++i) {
        int32_t x = (int32_t)a.atInt(i);
        memcpy(&host[i * 4], &x, 4);
      }
      break;
    case ATTNC_DTYPE_I64:
      if (a.isFloat())
        return failCase(specName + ": float data for an i64 tensor");
      for (size_t i = 0; i < n; ++i) {
        int64_t x = a.atInt(i);
        memcpy(&host[i * 8], &x, 8);
      }
      break;
    default:
      return failCase(specName + ": kernel tensor dtype " + attnc_dtype_name(dt) + " not supported by gpu-check");
    }
    bufs.emplace_back(new CaseBuf(host.size()));
    CaseBuf *b = bufs.back().get();
    if (!host.empty())
      b->upload(host.data(), host.size());
    args[t] = attnc_tensor_contiguous(b->ptr(), dt, (int)a.shape.size(), a.shape.data(), 0);
  }
  if (!oBuf)
    return failCase("the kernel has no tensor 'o'");
  if (inexact)
    return failCase(std::to_string(inexact) +
                    " q/k/v values are not exactly representable in the kernel's 16-bit type (regenerate the case)");
  int nd = attnc_kernel_num_dims(k);
  std::vector<int64_t> dims(nd, -1);
  for (int d = 0; d < nd; ++d) {
    const JsonValue *v = dimsJ->get(attnc_kernel_dim_name(k, d));
    if (v && v->isNumber())
      dims[d] = (int64_t)v->number();
  }
  attnc_status st = DryRun ? attnc_kernel_validate(k, args.data(), nt, dims.data(), nullptr)
                           : attnc_kernel_launch(k, args.data(), nt, dims.data(), nullptr);
  if (st != ATTNC_OK)
    return failCase(std::string(DryRun ? "validate: " : "launch: ") + attnc_status_name(st) + ": " +
                    attnc_last_error());
  if (DryRun) { // stand in for the kernel: o = the reference in the kernel's type, lse = 0
    std::vector<uint16_t> fake(no);
    for (size_t i = 0; i < no; ++i)
      fake[i] = oType == ATTNC_DTYPE_F16 ? f2h((float)ref.at(i)) : f2bf((float)ref.at(i));
    oBuf->upload(fake.data(), no * 2);
    if (lseBuf)
      lseBuf->fill32(0, nl);
  }
  CUresult sync = DryRun ? CUDA_SUCCESS : cuCtxSynchronize();
  if (sync != CUDA_SUCCESS) {
    const char *s = nullptr;
    cuGetErrorString(sync, &s);
    failCase(std::string("kernel failed: ") + (s ? s : "?"));
    fprintf(stderr, "gpu-check-run: the CUDA context is unusable after a kernel fault; stopping\n");
    exit(2);
  }
  std::vector<uint16_t> ob(no);
  std::vector<float> lse(nl);
  oBuf->download(ob.data(), no * 2);
  long lseNan = 0;
  if (lseBuf) {
    lseBuf->download(lse.data(), nl * 4);
    for (float x : lse)
      lseNan += std::isnan(x);
  }
  double maxAbs = 0, maxRef = 0, es = 0, rs = 0;
  long nan = 0;
  size_t worst = 0;
  for (size_t i = 0; i < no; ++i) {
    double got = oType == ATTNC_DTYPE_F16 ? h2f(ob[i]) : bf2f(ob[i]), want = ref.at(i);
    maxRef = std::max(maxRef, std::fabs(want));
    if (std::isnan(got)) {
      ++nan;
      continue;
    }
    double e = got - want;
    es += e * e;
    rs += want * want;
    if (std::fabs(e) > maxAbs) {
      maxAbs = std::fabs(e);
      worst = i;
    }
  }
  double relL2 = rs > 0 ? std::sqrt(es / rs) : std::sqrt(es);
  double rel = maxRef > 0 ? maxAbs / maxRef : maxAbs;
  bool ok = nan == 0 && lseNan == 0 && relL2 <= 1e-2 && maxAbs <= 2e-2 * std::max(1.0, maxRef);
  char where[96] = "";
  if (!ok && maxAbs > 0) {
    size_t d = worst % Dv, i = (worst / Dv) % Lq, h = (worst / Dv / Lq) % H, b = worst / Dv / Lq / H;
    snprintf(where, sizeof where, " worst at [b=%zu h=%zu i=%zu d=%zu]", b, h, i, d);
  }
  result(ok, "%-44s max_abs=%.2e max_ref=%.2e rel=%.2e rel_l2=%.2e nan=%ld lse_nan=%ld%s", label.c_str(), maxAbs,
         maxRef, rel, relL2, nan, lseNan, where);
}

} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  uint64_t seed = 20251122;
  std::string dumpDir;
  std::vector<std::string> manifests, cases;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--quick")
      quick = true;
    else if (s == "--seed" && i + 1 < argc)
      seed = strtoull(argv[++i], nullptr, 10);
    else if (s == "--dry-run")
      DryRun = true;
    else if (s == "--dump" && i + 1 < argc)
      dumpDir = argv[++i];
    else if (s == "-h" || s == "--help") {
      printf("usage: %s [--quick] [--seed N] [--dump DIR] [--dry-run] (MANIFEST.json | CASE_DIR | CASE_DIR/case.json) "
             "...\n",
             argv[0]);
      return 0;
    } else if (s == "--case" && i + 1 < argc)
      cases.push_back(argv[++i]);
    else if ((s.size() >= 9 && s.compare(s.size() - 9, 9, "case.json") == 0) || fileExists(s + "/case.json"))
      cases.push_back(s);
    else
      manifests.push_back(s);
  }
  if (DryRun) {
    if (!manifests.empty())
      fprintf(stderr, "gpu-check-run: --dry-run runs case folders only; ignoring %zu manifests\n", manifests.size());
    manifests.clear();
  } else if (attnc_driver_available() != ATTNC_OK) {
    fprintf(stderr, "gpu-check-run: %s\n", attnc_last_error());
    return 2;
  }
  if (DryRun) {
    printf("# dry run: no GPU; launches are only validated and o is the reference rounded to 16 bits\n");
  } else {
    CK(cuInit(0));
    CUdevice dev;
    CK(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CK(cuDevicePrimaryCtxRetain(&ctx, dev));
    CK(cuCtxSetCurrent(ctx));
    char devName[128] = {0};
    cuDeviceGetName(devName, sizeof devName, dev);
    printf("# device 0: %s\n", devName);
  }
  for (const std::string &m : manifests) {
    attnc_kernel *k = nullptr;
    if (attnc_kernel_load(m.c_str(), &k) != ATTNC_OK) {
      result(false, "load %s: %s", m.c_str(), attnc_last_error());
      continue;
    }
    std::string name = attnc_kernel_name(k);
    const char *fixture = attnc_kernel_info_string(k, "fixture");
    bool attn = attnc_kernel_num_tensors(k) == 5 && !strcmp(attnc_kernel_tensor_name(k, 0), "q") &&
                !strcmp(attnc_kernel_tensor_name(k, 3), "o") && attnc_kernel_info_int(k, "head_dim", 0) > 0;
    printf("# %s (%s)\n", name.c_str(), m.c_str());
    if (fixture && !strcmp(fixture, "scaled_copy")) {
      runFixture(k, name, seed);
      seed += 100;
    } else if (attn) {
      const char *causal = attnc_kernel_info_string(k, "causal");
      const char *dtype = attnc_kernel_info_string(k, "dtype");
      Attn a;
      a.name = name;
      a.causal = causal ? causal : "none";
      a.bf16 = !dtype || !strcmp(dtype, "bf16");
      a.D = (int)attnc_kernel_info_int(k, "head_dim", 0);
      a.Dv = (int)attnc_kernel_info_int(k, "head_dim_v", a.D);
      a.scale = attnc_kernel_info_number(k, "scale", 1.0 / std::sqrt((double)a.D));
      bool regions = attnc_kernel_info_bool(k, "has_score_region", 0) || attnc_kernel_info_bool(k, "has_mask_region", 0);
      if (regions) {
        printf("%-34s SKIP: score/mask regions (no built-in reference)\n", name.c_str());
        ++Skips;
      } else {
        runAttention(k, a, quick, seed, dumpDir);
      }
    } else {
      printf("%-34s SKIP: no reference for this kind of kernel\n", name.c_str());
      ++Skips;
    }
    attnc_kernel_free(k);
  }
  if (!cases.empty()) {
    printf("# %zu case folders (scripts/make-gpu-cases): inputs and float64 CPU reference from the case; "
           "pass: rel_l2 <= 1e-2, max_abs <= 2e-2 * max(1, max|ref|), no NaN in o or lse\n",
           cases.size());
    std::vector<std::pair<std::string, LoadedKernel>> cache;
    for (const std::string &c : cases)
      runCase(c, cache);
    for (auto &c : cache)
      attnc_kernel_free(c.second.k);
  }
  printf("%s: %d passed, %d failed, %d skipped\n", Failures ? "FAIL" : "PASS", Passes, Failures, Skips);
  return Failures ? 1 : 0;
}
