//===- APITest.cpp - the in-process compile API (attnc.h) on the CPU ------===//
#include "attnc/attnc.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

const char *CausalSpec = R"(variant causal_gqa
dims B, H, Hk, L, D
input q : [B, H, L, D]
input k : [B, Hk, L, D]
input v : [B, Hk, L, D]
attention a(q, k, v) {
  carrier causal
}
output o = a
)";

attnc_program *compileCausal(int64_t B, int64_t H, int64_t Hk, int64_t L, int64_t D,
                             attnc_dtype dtype = ATTNC_DTYPE_F32) {
  const char *names[] = {"B", "H", "Hk", "L", "D"};
  int64_t values[] = {B, H, Hk, L, D};
  attnc_compile_options o = attnc_compile_options_default();
  o.dtype = dtype;
  attnc_program *p = nullptr;
  EXPECT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "causal.attn", 5, names, values, &o, &p),
            ATTNC_OK)
      << attnc_last_error();
  return p;
}

/// An independent reference: causal softmax attention in double, GQA by
/// h / (H / Hk).
std::vector<double> naiveCausal(const std::vector<float> &q, const std::vector<float> &k,
                                const std::vector<float> &v, int64_t B, int64_t H, int64_t Hk,
                                int64_t L, int64_t D) {
  std::vector<double> o(B * H * L * D, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        int64_t hk = h / (H / Hk);
        std::vector<double> s(i + 1);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double d = 0;
          for (int64_t e = 0; e < D; ++e)
            d += (double)q[((b * H + h) * L + i) * D + e] * k[((b * Hk + hk) * L + j) * D + e];
          s[j] = d / std::sqrt((double)D);
          mx = std::max(mx, s[j]);
        }
        for (double &x : s)
          sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j <= i; ++j)
          for (int64_t e = 0; e < D; ++e)
            o[((b * H + h) * L + i) * D + e] += s[j] / sum * v[((b * Hk + hk) * L + j) * D + e];
      }
  return o;
}

attnc_tensor hostTensor(void *data, attnc_dtype dt, std::vector<int64_t> shape) {
  return attnc_tensor_contiguous(data, dt, (int)shape.size(), shape.data(), -1);
}

TEST(API, CompilesAndRunsOnTheCPUAgainstANaiveReference) {
  const int64_t B = 2, H = 4, Hk = 2, L = 7, D = 8;
  attnc_program *p = compileCausal(B, H, Hk, L, D);
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(attnc_program_name(p), "causal_gqa");
  ASSERT_EQ(attnc_program_num_inputs(p), 3);
  ASSERT_EQ(attnc_program_num_outputs(p), 1);
  EXPECT_STREQ(attnc_program_input_name(p, 1), "k");
  EXPECT_STREQ(attnc_program_output_name(p, 0), "o");
  int64_t shape[ATTNC_MAX_RANK];
  ASSERT_EQ(attnc_program_output_shape(p, 0, shape), 4);
  EXPECT_EQ(std::vector<int64_t>(shape, shape + 4), (std::vector<int64_t>{B, H, L, D}));
  EXPECT_EQ(attnc_program_input_shape(p, 3, shape), -1);

  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> q(B * H * L * D), k(B * Hk * L * D), v(B * Hk * L * D), o(B * H * L * D, NAN);
  for (auto *x : {&q, &k, &v})
    for (float &f : *x)
      f = nd(rng);
  attnc_tensor in[3] = {hostTensor(q.data(), ATTNC_DTYPE_F32, {B, H, L, D}),
                        hostTensor(k.data(), ATTNC_DTYPE_F32, {B, Hk, L, D}),
                        hostTensor(v.data(), ATTNC_DTYPE_F32, {B, Hk, L, D})};
  attnc_tensor out = hostTensor(o.data(), ATTNC_DTYPE_F32, {B, H, L, D});
  ASSERT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_OK) << attnc_last_error();
  std::vector<double> want = naiveCausal(q, k, v, B, H, Hk, L, D);
  double maxErr = 0;
  for (size_t n = 0; n < o.size(); ++n)
    maxErr = std::max(maxErr, std::fabs(o[n] - want[n]));
  EXPECT_LT(maxErr, 1e-5);

  // Called again on new values: the JIT-compiled function is reused.
  for (float &f : q)
    f = nd(rng);
  ASSERT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_OK) << attnc_last_error();
  want = naiveCausal(q, k, v, B, H, Hk, L, D);
  for (size_t n = 0; n < o.size(); ++n)
    EXPECT_NEAR(o[n], want[n], 1e-5);
  attnc_program_free(p);
}

// Context parallelism: rank 1 of a 2-rank ring holds queries 4..7 of 8; its
// two steps (key blocks 1 and 0) merged by their LSE equal the one-device
// rows, checked against the naive reference; a shard's LSE is the row's
// log-sum-exp over its keys.
TEST(API, ContextShardStepsMergeByTheirLse) {
  const int64_t B = 1, H = 2, Hk = 2, L = 4, D = 8, G = 2 * L;
  const char *names[] = {"B", "H", "Hk", "L", "D"};
  int64_t values[] = {B, H, Hk, L, D};
  attnc_compile_options o = attnc_compile_options_default();
  o.context_parallel = "ring";
  o.world = 2;
  attnc_program *p = nullptr;
  ASSERT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "causal.attn", 5, names, values, &o, &p),
            ATTNC_OK)
      << attnc_last_error();
  ASSERT_EQ(attnc_program_num_inputs(p), 4);
  EXPECT_STREQ(attnc_program_input_name(p, 3), "cp_offsets");
  EXPECT_STREQ(attnc_program_cp_merge(p), "lse");
  EXPECT_EQ(attnc_program_output_has_lse(p, 0), 1);

  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> q(B * H * G * D), k(B * Hk * G * D), v(B * Hk * G * D);
  for (auto *x : {&q, &k, &v})
    for (float &f : *x)
      f = nd(rng);
  // Rows [r L, (r + 1) L) of a [1, H, G, D] tensor.
  auto rows = [&](const std::vector<float> &x, int64_t r) {
    std::vector<float> out;
    for (int64_t h = 0; h < H; ++h)
      out.insert(out.end(), x.begin() + (h * G + r * L) * D, x.begin() + (h * G + (r + 1) * L) * D);
    return out;
  };
  std::vector<float> q1 = rows(q, 1);
  std::vector<double> acc(B * H * L * D, 0.0), lseAcc(B * H * L, -INFINITY);
  for (int64_t block : {1, 0}) {
    std::vector<float> kb = rows(k, block), vb = rows(v, block), ob(B * H * L * D, NAN),
                       lb(B * H * L, NAN);
    int32_t off[2] = {(int32_t)L, (int32_t)(block * L)};
    attnc_tensor in[4] = {hostTensor(q1.data(), ATTNC_DTYPE_F32, {B, H, L, D}),
                          hostTensor(kb.data(), ATTNC_DTYPE_F32, {B, Hk, L, D}),
                          hostTensor(vb.data(), ATTNC_DTYPE_F32, {B, Hk, L, D}),
                          hostTensor(off, ATTNC_DTYPE_I32, {2})};
    attnc_tensor out = hostTensor(ob.data(), ATTNC_DTYPE_F32, {B, H, L, D});
    attnc_tensor lse = hostTensor(lb.data(), ATTNC_DTYPE_F32, {B, H, L});
    ASSERT_EQ(attnc_program_run_cpu_lse(p, in, 4, &out, 1, &lse), ATTNC_OK) << attnc_last_error();
    for (int64_t r = 0; r < B * H * L; ++r) {
      // This step's keys are global 4 * block .. + 3, query L + r % L.
      int64_t h = r / L, i = L + r % L;
      double want = -INFINITY;
      std::vector<double> s;
      for (int64_t j = block * L; j < (block + 1) * L && j <= i; ++j) {
        double d = 0;
        for (int64_t e = 0; e < D; ++e)
          d += (double)q[(h * G + i) * D + e] * k[(h * G + j) * D + e];
        s.push_back(d / std::sqrt((double)D));
      }
      double mx = -INFINITY, sum = 0;
      for (double x : s)
        mx = std::max(mx, x);
      for (double x : s)
        sum += std::exp(x - mx);
      if (!s.empty())
        want = mx + std::log(sum);
      EXPECT_NEAR(lb[r], want, 1e-5) << "row " << r << " block " << block;
      double m = std::max(lseAcc[r], (double)lb[r]);
      double a = std::exp(lseAcc[r] - m), c = std::exp(lb[r] - m);
      for (int64_t e = 0; e < D; ++e)
        acc[r * D + e] = (acc[r * D + e] * a + ob[r * D + e] * c) / (a + c);
      lseAcc[r] = m + std::log(a + c);
    }
  }
  std::vector<double> whole = naiveCausal(q, k, v, B, H, Hk, G, D);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < L; ++i)
      for (int64_t e = 0; e < D; ++e)
        EXPECT_NEAR(acc[(h * L + i) * D + e], whole[(h * G + L + i) * D + e], 1e-5);
  attnc_program_free(p);

  // A program compiled without context parallelism writes no LSE on the CPU.
  attnc_program *plain = compileCausal(1, 1, 1, 2, 2);
  ASSERT_NE(plain, nullptr);
  std::vector<float> x(4, 1.0f), y(4), l(2);
  attnc_tensor in[3] = {hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 2, 2}),
                        hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 2, 2}),
                        hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 2, 2})};
  attnc_tensor out = hostTensor(y.data(), ATTNC_DTYPE_F32, {1, 1, 2, 2});
  attnc_tensor lse = hostTensor(l.data(), ATTNC_DTYPE_F32, {1, 1, 2});
  EXPECT_NE(attnc_program_run_cpu_lse(plain, in, 3, &out, 1, &lse), ATTNC_OK);
  EXPECT_NE(std::string(attnc_last_error()).find("computes no LSE"), std::string::npos);
  attnc_program_free(plain);
}

TEST(API, RunRefusesWrongBuffersWithTheirName) {
  attnc_program *p = compileCausal(1, 2, 2, 4, 4);
  ASSERT_NE(p, nullptr);
  std::vector<float> a(32), o(32);
  std::vector<double> d(32);
  attnc_tensor good = hostTensor(a.data(), ATTNC_DTYPE_F32, {1, 2, 4, 4});
  attnc_tensor out = hostTensor(o.data(), ATTNC_DTYPE_F32, {1, 2, 4, 4});
  attnc_tensor in[3] = {good, hostTensor(a.data(), ATTNC_DTYPE_F32, {1, 2, 4, 5}), good};
  EXPECT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_ERR_SHAPE);
  EXPECT_NE(std::string(attnc_last_error()).find("input 1 (k)"), std::string::npos) << attnc_last_error();
  in[1] = hostTensor(d.data(), ATTNC_DTYPE_F64, {1, 2, 4, 4});
  EXPECT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_ERR_DTYPE);
  in[1] = good;
  in[1].strides[3] = 2; // not contiguous
  EXPECT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_ERR_STRIDE);
  EXPECT_EQ(attnc_program_run_cpu(p, in, 2, &out, 1), ATTNC_ERR_ARG_COUNT);
  // A device tensor given to a CPU program is refused, never read.
  in[1] = good;
  in[1].device = 0;
  EXPECT_EQ(attnc_program_run_cpu(p, in, 3, &out, 1), ATTNC_ERR_POINTER);
  EXPECT_NE(std::string(attnc_last_error()).find("input 1 (k): a device tensor"), std::string::npos)
      << attnc_last_error();
  attnc_program_free(p);
}

TEST(API, CompileErrorsNameTheirPlace) {
  attnc_program *p = nullptr;
  const char *bad = "variant v\ndims B\ninput q : [B, Q]\n";
  const char *names[] = {"B"};
  int64_t values[] = {2};
  EXPECT_EQ(attnc_compile(bad, strlen(bad), "bad.attn", 1, names, values, nullptr, &p),
            ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(std::string(attnc_last_error()).rfind("bad.attn:3:", 0), 0u) << attnc_last_error();

  const char *dn[] = {"B", "H", "Hk", "L"};
  int64_t dv[] = {1, 2, 2, 4};
  EXPECT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "c.attn", 4, dn, dv, nullptr, &p),
            ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("dim 'D' is not bound"), std::string::npos);
  const char *unknown[] = {"B", "H", "Hk", "L", "D", "X"};
  int64_t uv[] = {1, 2, 2, 4, 4, 1};
  EXPECT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "c.attn", 6, unknown, uv, nullptr, &p),
            ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("'X'"), std::string::npos);
  const char *twice[] = {"B", "H", "Hk", "L", "D", "B"};
  int64_t tv[] = {1, 2, 2, 4, 4, 3};
  EXPECT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "c.attn", 6, twice, tv, nullptr, &p),
            ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("dim 'B' is bound twice"), std::string::npos);
  attnc_compile_options o = attnc_compile_options_default();
  o.dtype = ATTNC_DTYPE_BF16;
  EXPECT_EQ(attnc_compile(CausalSpec, strlen(CausalSpec), "c.attn", 5, unknown, uv, &o, &p),
            ATTNC_ERR_DTYPE);
}

TEST(API, IndexInputsAreCheckedBeforeARun) {
  const char *spec = R"(variant docs
dims B, H, L, D, N
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
input cu : [N]
attention a(q, k, v) {
  carrier document(seqlens=cu)
}
output o = a
)";
  const char *names[] = {"B", "H", "L", "D", "N"};
  int64_t values[] = {1, 1, 6, 4, 3};
  attnc_program *p = nullptr;
  ASSERT_EQ(attnc_compile(spec, strlen(spec), "docs.attn", 5, names, values, nullptr, &p), ATTNC_OK)
      << attnc_last_error();
  std::vector<float> x(24, 0.5f), o(24);
  std::vector<int32_t> cu = {0, 4, 2}; // decreasing: would steer loads out of range
  attnc_tensor in[4] = {hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 6, 4}),
                        hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 6, 4}),
                        hostTensor(x.data(), ATTNC_DTYPE_F32, {1, 1, 6, 4}),
                        hostTensor(cu.data(), ATTNC_DTYPE_I32, {3})};
  attnc_tensor out = hostTensor(o.data(), ATTNC_DTYPE_F32, {1, 1, 6, 4});
  EXPECT_EQ(attnc_program_run_cpu(p, in, 4, &out, 1), ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attnc_last_error()).find("nondecreasing"), std::string::npos) << attnc_last_error();
  cu = {0, 4, 6};
  EXPECT_EQ(attnc_program_run_cpu(p, in, 4, &out, 1), ATTNC_OK) << attnc_last_error();
  EXPECT_FLOAT_EQ(o[0], 0.5f); // the mean of equal values
  attnc_program_free(p);
}

} // namespace
