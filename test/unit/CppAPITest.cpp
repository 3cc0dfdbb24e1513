//===- CppAPITest.cpp - the C++ layer (attnc.hpp) on the CPU --------------===//
//
// Built with -fno-exceptions, as the tree is: the header must work without.
#include "attnc/attnc.hpp"

#include "gtest/gtest.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <type_traits>

namespace {

static_assert(!std::is_copy_constructible_v<attnc::Program>, "a program is owned once");
static_assert(std::is_nothrow_move_constructible_v<attnc::Program>, "");

std::string readExample(const char *name) {
  std::ifstream in(std::string(ATTNC_EXAMPLES_DIR) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Causal self-attention (key j visible from query i iff j <= i), softmax
/// with scale 1/sqrt(D), in double.
std::vector<double> naiveCausal(const std::vector<double> &q, const std::vector<double> &k,
                                const std::vector<double> &v, int64_t BH, int64_t L, int64_t D) {
  std::vector<double> o(BH * L * D, 0.0);
  for (int64_t bh = 0; bh < BH; ++bh)
    for (int64_t i = 0; i < L; ++i) {
      std::vector<double> s(i + 1);
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double dot = 0;
        for (int64_t e = 0; e < D; ++e)
          dot += q[(bh * L + i) * D + e] * k[(bh * L + j) * D + e];
        s[j] = dot / std::sqrt((double)D);
        mx = std::max(mx, s[j]);
      }
      for (double &x : s)
        sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j <= i; ++j)
        for (int64_t e = 0; e < D; ++e)
          o[(bh * L + i) * D + e] += s[j] / sum * v[(bh * L + j) * D + e];
    }
  return o;
}

/// Compiles examples/02_causal_self.attn for TYPE (float or double), runs it
/// on random inputs and returns the largest difference from naiveCausal.
template <typename T> double causalSelfError(attnc_dtype dtype, int64_t B, int64_t H, int64_t L, int64_t D) {
  attnc_compile_options options = attnc_compile_options_default();
  options.dtype = dtype;
  attnc::Program p =
      attnc::compile(readExample("02_causal_self.attn"), "02_causal_self.attn", {{"B", B}, {"H", H}, {"L", L}, {"D", D}}, options);
  EXPECT_TRUE(p.ok()) << p.error();
  if (!p.ok())
    return INFINITY;
  EXPECT_EQ(p.name(), "causal_self");
  EXPECT_EQ(p.target(), ATTNC_TARGET_CPU);
  std::vector<attnc::TensorInfo> in = p.inputs(), out = p.outputs();
  EXPECT_EQ(in.size(), 3u);
  EXPECT_EQ(out.size(), 1u);
  if (in.size() != 3 || out.size() != 1)
    return INFINITY;
  const char *names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(in[i].name, names[i]);
    EXPECT_EQ(in[i].dtype, dtype);
    EXPECT_EQ(in[i].shape, (std::vector<int64_t>{B, H, L, D}));
  }
  EXPECT_EQ(out[0].name, "o");
  EXPECT_EQ(out[0].numel(), B * H * L * D);

  std::mt19937 rng(11);
  std::normal_distribution<double> nd;
  std::vector<T> q(B * H * L * D), k(q.size()), v(q.size()), o(q.size(), NAN);
  for (auto *x : {&q, &k, &v})
    for (T &f : *x)
      f = (T)nd(rng);
  attnc::Status s = p.runCPU({q.data(), k.data(), v.data()}, {o.data()});
  EXPECT_TRUE(s.ok()) << s.error();
  std::vector<double> want = naiveCausal(std::vector<double>(q.begin(), q.end()), std::vector<double>(k.begin(), k.end()),
                                         std::vector<double>(v.begin(), v.end()), B * H, L, D);
  double maxErr = 0;
  for (size_t n = 0; n < o.size(); ++n) {
    double err = std::fabs(o[n] - want[n]);
    maxErr = std::isnan(err) ? INFINITY : std::max(maxErr, err);
  }
  return maxErr;
}

TEST(CppAPI, CausalSelfExampleMatchesANaiveReferenceInFloat32) {
  EXPECT_LT(causalSelfError<float>(ATTNC_DTYPE_F32, 2, 3, 19, 8), 1e-5);
}

TEST(CppAPI, CausalSelfExampleMatchesANaiveReferenceInFloat64) {
  EXPECT_LT(causalSelfError<double>(ATTNC_DTYPE_F64, 1, 2, 33, 16), 1e-12);
}

TEST(CppAPI, ErrorsComeBackAsStatusWithTheLibraryMessage) {
  attnc::Program bad = attnc::compile("variant v\ndims B\ninput q : [B, Q]\n", "bad.attn", {{"B", 2}});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(bad.error().rfind("bad.attn:3:", 0), 0u) << bad.error();

  std::string spec = readExample("02_causal_self.attn");
  attnc::Program unbound = attnc::compile(spec, "c.attn", {{"B", 1}, {"H", 1}, {"L", 4}});
  EXPECT_FALSE(unbound.ok());
  EXPECT_NE(unbound.error().find("dim 'D' is not bound"), std::string::npos) << unbound.error();

  attnc::Program p = attnc::compile(spec, "c.attn", {{"B", 1}, {"H", 1}, {"L", 4}, {"D", 4}});
  ASSERT_TRUE(p.ok()) << p.error();
  std::vector<float> a(16), o(16);
  attnc::Status s = p.runCPU({a.data(), a.data()}, {o.data()});
  EXPECT_EQ(s.code(), ATTNC_ERR_ARG_COUNT);
  EXPECT_NE(s.error().find("expected 3 inputs and 1 outputs"), std::string::npos) << s.error();
  EXPECT_TRUE(p.runCPU({a.data(), a.data(), a.data()}, {o.data()}).ok());
  attnc::Status keep = p.keepStatic({"q"});
  EXPECT_EQ(keep.code(), ATTNC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(keep.error().find("keep_static: not a GPU program"), std::string::npos) << keep.error();
}

TEST(CppAPI, ProgramsMoveAndAnEmptyOneRefusesToRun) {
  std::string spec = readExample("02_causal_self.attn");
  attnc::Program p = attnc::compile(spec, "c.attn", {{"B", 1}, {"H", 1}, {"L", 3}, {"D", 2}});
  ASSERT_TRUE(p.ok()) << p.error();
  attnc::Program q = std::move(p);
  EXPECT_TRUE(q.ok());
  EXPECT_FALSE(p.ok()); // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(q.name(), "causal_self");
  p = attnc::compile(spec, "c.attn", {{"B", 1}, {"H", 1}, {"L", 5}, {"D", 2}});
  ASSERT_TRUE(p.ok());
  std::swap(p, q); // both owned, each freed once (ASan builds check)
  EXPECT_EQ(p.inputs()[0].shape[2], 3);
  EXPECT_EQ(q.inputs()[0].shape[2], 5);

  attnc::Program empty;
  EXPECT_FALSE(empty.ok());
  EXPECT_TRUE(empty.inputs().empty());
  attnc::Status s = empty.runCPU({}, {});
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.error().empty());
}

} // namespace
