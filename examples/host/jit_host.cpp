// A C++ host program that compiles causal self-attention at run time through
// libattnc (attnc/attnc.hpp), with the dims from its command line, runs it on
// the CPU and checks it against a direct loop implementation. Built against an
// installed attnc (examples/host/CMakeLists.txt):
//
//   cmake --install build --prefix /opt/attnc
//   cmake -S examples/host -B build-host -DCMAKE_PREFIX_PATH=/opt/attnc
//   cmake --build build-host && build-host/jit_host 2 4 100 32   # B H L D
#include "attnc/attnc.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
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

int main(int argc, char **argv) {
  int64_t dims[4] = {1, 4, 100, 32}; // B H L D
  if (argc != 1 && argc != 5) {
    std::fprintf(stderr, "usage: %s [B H L D]\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i)
    if ((dims[i - 1] = std::strtoll(argv[i], nullptr, 10)) <= 0) {
      std::fprintf(stderr, "%s: dims must be positive integers\n", argv[0]);
      return 2;
    }
  const int64_t B = dims[0], H = dims[1], L = dims[2], D = dims[3];

  attnc::Program program = attnc::compile(Spec, "causal_self.attn", {{"B", B}, {"H", H}, {"L", L}, {"D", D}});
  if (!program.ok()) {
    std::fprintf(stderr, "%s\n", program.error().c_str()); // FILE:LINE:COL diagnostics
    return 1;
  }
  std::printf("compiled %s for the CPU:", program.name().c_str());
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
  attnc::Status s = program.runCPU({q.data(), k.data(), v.data()}, {o.data()});
  if (!s.ok()) {
    std::fprintf(stderr, "run: %s\n", s.error().c_str());
    return 1;
  }
  double err = maxError(q, k, v, o, B * H, L, D);
  std::printf("max abs error %.3g\n%s\n", err, err < 1e-4 ? "PASS" : "FAIL");
  return err < 1e-4 ? 0 : 1;
}
