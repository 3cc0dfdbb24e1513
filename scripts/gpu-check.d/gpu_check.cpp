// gpu-check-run: runs attnc kernels through the attnc runtime (attnc_runtime.h)
// on a GPU and checks them against a reference. Driven by scripts/gpu-check.
//
//   gpu-check-run [--quick] [--seed N] [--dump DIR] MANIFEST.json ...
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
// Prints one line per case with max abs and relative error; exit status 1 if
// any case failed.
#include "attnc/Runtime/attnc_runtime.h"

#include <cuda.h>

#include <algorithm>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

} // namespace

int main(int argc, char **argv) {
  bool quick = false;
  uint64_t seed = 20251122;
  std::string dumpDir;
  std::vector<std::string> manifests;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--quick")
      quick = true;
    else if (s == "--seed" && i + 1 < argc)
      seed = strtoull(argv[++i], nullptr, 10);
    else if (s == "--dump" && i + 1 < argc)
      dumpDir = argv[++i];
    else if (s == "-h" || s == "--help") {
      printf("usage: %s [--quick] [--seed N] [--dump DIR] MANIFEST.json ...\n", argv[0]);
      return 0;
    } else
      manifests.push_back(s);
  }
  if (attnc_driver_available() != ATTNC_OK) {
    fprintf(stderr, "gpu-check-run: %s\n", attnc_last_error());
    return 2;
  }
  CK(cuInit(0));
  CUdevice dev;
  CK(cuDeviceGet(&dev, 0));
  CUcontext ctx;
  CK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CK(cuCtxSetCurrent(ctx));
  char devName[128] = {0};
  cuDeviceGetName(devName, sizeof devName, dev);
  printf("# device 0: %s\n", devName);
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
  printf("%s: %d passed, %d failed, %d skipped\n", Failures ? "FAIL" : "PASS", Passes, Failures, Skips);
  return Failures ? 1 : 0;
}
