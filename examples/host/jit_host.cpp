// A C++ host program that compiles causal self-attention at run time through
// libattnc (attnc/attnc.hpp), with the dims from its command line, runs it on
// the CPU (or, with --gpu, on a Hopper GPU in bf16) and checks it against a
// direct loop implementation. Built against an installed attnc
// (examples/host/CMakeLists.txt):
//
//   cmake --install build --prefix /opt/attnc
//   cmake -S examples/host -B build-host -DCMAKE_PREFIX_PATH=/opt/attnc
//   cmake --build build-host && build-host/jit_host 2 4 100 32   # B H L D
//   build-host/jit_host --gpu 2 4 1000 128
#include "attnc/attnc.hpp"

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

// examples/02_causal_self.attn: key j is visible from query i iff j <= i.
static const char *Spec = R"(variant causal_self
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
attention a(q, k, v) {
  carrier causal(align=bottom_right)
  link exp
  anchor row
}
output o = a
)";

// The largest difference between O and softmax(q k^T / sqrt(D)) v over the
// keys j <= i, in double.
static double maxError(const std::vector<float> &q, const std::vector<float> &k, const std::vector<float> &v,
                       const std::vector<float> &o, int64_t BH, int64_t L, int64_t D) {
  double maxErr = 0;
  std::vector<double> s(L);
  for (int64_t bh = 0; bh < BH; ++bh)
    for (int64_t i = 0; i < L; ++i) {
      const float *qi = &q[(bh * L + i) * D];
      double m = -INFINITY, l = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += (double)qi[d] * k[(bh * L + j) * D + d];
        s[j] = dot / std::sqrt((double)D);
        m = std::fmax(m, s[j]);
      }
      for (int64_t j = 0; j <= i; ++j)
        l += (s[j] = std::exp(s[j] - m));
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0;
        for (int64_t j = 0; j <= i; ++j)
          acc += s[j] * v[(bh * L + j) * D + d];
        double err = std::fabs(acc / l - o[(bh * L + i) * D + d]);
        maxErr = std::isnan(err) ? INFINITY : std::fmax(maxErr, err);
      }
    }
  return maxErr;
}

/// bf16 (round to nearest even) and back, for the GPU run's buffers.
static uint16_t toBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static float fromBF16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// Runs the program on the GPU: the inputs rounded to bf16 (so that the
/// reference sees the same values), o copied back to float.
static attnc::Status runOnGPU(const attnc::Program &program, std::vector<float> *in[3], std::vector<float> &o) {
  size_t n = o.size();
  std::vector<uint16_t> host(n);
  void *dev[4] = {};
  attnc::Status s;
  for (int t = 0; t < 4 && s.ok(); ++t)
    s = attnc::Status::fromCode(attnc_device_alloc(0, n * 2, &dev[t]));
  // o poisoned with NaN (bf16 0x7fc0): every element must be written.
  std::vector<uint16_t> nan(n, 0x7fc0);
  if (s.ok())
    s = attnc::Status::fromCode(attnc_copy_to_device(dev[3], nan.data(), n * 2));
  for (int t = 0; t < 3 && s.ok(); ++t) {
    for (size_t e = 0; e < n; ++e)
      (*in[t])[e] = fromBF16(host[e] = toBF16((*in[t])[e]));
    s = attnc::Status::fromCode(attnc_copy_to_device(dev[t], host.data(), n * 2));
  }
  if (s.ok())
    s = program.runGPU({dev[0], dev[1], dev[2]}, {dev[3]});
  if (s.ok())
    s = attnc::Status::fromCode(attnc_stream_synchronize(nullptr));
  if (s.ok())
    s = attnc::Status::fromCode(attnc_copy_to_host(host.data(), dev[3], n * 2));
  for (size_t e = 0; s.ok() && e < n; ++e)
    o[e] = fromBF16(host[e]);
  for (void *d : dev)
    if (d)
      attnc_device_free(d);
  return s;
}

int main(int argc, char **argv) {
  bool gpu = argc > 1 && std::strcmp(argv[1], "--gpu") == 0;
  if (gpu) {
    --argc;
    ++argv;
  }
  int64_t dims[4] = {1, 4, 100, 32}; // B H L D
  if (argc != 1 && argc != 5) {
    std::fprintf(stderr, "usage: %s [--gpu] [B H L D]\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i)
    if ((dims[i - 1] = std::strtoll(argv[i], nullptr, 10)) <= 0) {
      std::fprintf(stderr, "%s: dims must be positive integers\n", argv[0]);
      return 2;
    }
  const int64_t B = dims[0], H = dims[1], L = dims[2], D = dims[3];

  attnc_compile_options options = attnc_compile_options_default();
  if (gpu)
    options.target = ATTNC_TARGET_SM90A; // bf16 q, k, v and o
  attnc::Program program =
      attnc::compile(Spec, "causal_self.attn", {{"B", B}, {"H", H}, {"L", L}, {"D", D}}, options);
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", program.error().c_str()); // FILE:LINE:COL diagnostics
    return 1;
  }
  std::printf("compiled %s for the %s:", program.name().c_str(), gpu ? "GPU" : "CPU");
  for (const attnc::TensorInfo &t : program.inputs())
    std::printf(" %s[%lld elements, %s]", t.name.c_str(), (long long)t.numel(), attnc_dtype_name(t.dtype));
  std::printf("\n");

  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  size_t n = (size_t)(B * H * L * D);
  std::vector<float> q(n), k(n), v(n), o(n, NAN); // o poisoned: every element must be written
  for (size_t t = 0; t < n; ++t) {
    q[t] = uniform(rng);
    k[t] = uniform(rng);
    v[t] = uniform(rng);
  }
  std::vector<float> *in[3] = {&q, &k, &v};
  attnc::Status s = gpu ? runOnGPU(program, in, o) : program.runCPU({q.data(), k.data(), v.data()}, {o.data()});
  if (!s.ok()) {
    std::fprintf(stderr, "run: %s\n", s.error().c_str());
    return 1;
  }
  // bf16 outputs carry about 3 significant digits.
  double err = maxError(q, k, v, o, B * H, L, D), tol = gpu ? 2e-2 : 1e-4;
  std::printf("max abs error %.3g\n%s\n", err, err < tol ? "PASS" : "FAIL");
  return err < tol ? 0 : 1;
}
