//===- RuntimeTest.cpp - attnc runtime: manifests, validation, driver -----===//
//
// Runs without a GPU: manifest parsing and its errors, every host-side check
// of a launch (status and message), and a launch with no CUDA driver. The
// one test that needs a GPU skips itself when no device is found.
//
//===----------------------------------------------------------------------===//
#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Runtime/attnc_runtime.h"
#include "RuntimeTestUtil.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

// The runtime test fixture's manifest (test/Inputs/scaled-copy): K comes
// only from dims[], and a constraint C % 4 == 0.
const char *FixtureManifest = R"json({
  "abi_version": 1, "kernel": "attnc_runtime_fixture_scaled_copy", "chip": "sm_90a",
  "params": [
    {"name": "x_map", "kind": "tensormap", "tensor": "x", "dtype": "f32", "rank": 2,
     "global_dims": ["C", "R"], "global_strides_bytes": ["C*4"], "box": [32, 8], "element_strides": [1, 1],
     "interleave": "none", "swizzle": 0, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "y", "kind": "ptr", "tensor": "y", "dtype": "f32", "shape": ["R", "C"]},
    {"name": "R", "kind": "i32", "value": "R"},
    {"name": "C", "kind": "i32", "value": "C"},
    {"name": "K", "kind": "i32", "value": "K"}
  ],
  "constraints": ["C % 4 == 0"],
  "grid": ["ceildiv(C,32)", "ceildiv(R,8)", 1], "block": [256, 1, 1], "shared_bytes": 0
})json";

class AttnKernel : public ::testing::Test {
protected:
  void SetUp() override {
    attnc_status s;
    K = loadText(AttnManifest, &s);
    ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  }
  void TearDown() override { attnc_kernel_free(K); }
  attnc_status check(const AttnArgs &a, int n = 5) { return attnc_kernel_validate(K, a.t, n, nullptr, nullptr); }
  std::string err() { return attnc_last_error(); }
  attnc_kernel *K = nullptr;
};


//===-- Manifests ---------------------------------------------------------===//

TEST(RuntimeManifest, AttentionManifest) {
  attnc_status s;
  attnc_kernel *k = loadText(AttnManifest, &s);
  ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  EXPECT_STREQ(attnc_kernel_name(k), "attn_bf16_d128_full_kernel");
  ASSERT_EQ(attnc_kernel_num_tensors(k), 5);
  const char *names[] = {"q", "k", "v", "o", "lse"};
  int ranks[] = {4, 4, 4, 4, 3};
  for (int i = 0; i < 5; ++i) {
    EXPECT_STREQ(attnc_kernel_tensor_name(k, i), names[i]);
    EXPECT_EQ(attnc_kernel_tensor_rank(k, i), ranks[i]);
    EXPECT_EQ(attnc_kernel_tensor_dtype(k, i), i == 4 ? ATTNC_DTYPE_F32 : ATTNC_DTYPE_BF16);
  }
  ASSERT_EQ(attnc_kernel_num_dims(k), 6);
  const char *dims[] = {"B", "H", "Hq", "Hk", "Lq", "Lk"};
  for (int i = 0; i < 6; ++i)
    EXPECT_STREQ(attnc_kernel_dim_name(k, i), dims[i]);
  EXPECT_EQ(attnc_kernel_info_int(k, "head_dim", -1), 128);
  EXPECT_EQ(attnc_kernel_info_int(k, "nonexistent", -1), -1);
  EXPECT_NEAR(attnc_kernel_info_number(k, "scale", 0), 0.0883883476, 1e-9);
  EXPECT_STREQ(attnc_kernel_info_string(k, "causal"), "none");
  EXPECT_EQ(attnc_kernel_info_string(k, "head_dim"), nullptr);
  EXPECT_EQ(attnc_kernel_info_bool(k, "has_mask_region", -1), 0);
  EXPECT_EQ(attnc_kernel_info_bool(k, "head_dim", -1), -1);
  EXPECT_EQ(attnc_kernel_tensor_name(k, 5), nullptr);
  EXPECT_EQ(attnc_kernel_tensor_name(k, -1), nullptr);
  EXPECT_EQ(attnc_kernel_tensor_rank(k, 9), -1);
  EXPECT_EQ(attnc_kernel_dim_name(k, 6), nullptr);
  attnc_kernel_free(k);
  attnc_kernel_free(nullptr);
}

TEST(RuntimeManifest, FixtureManifestAndExplicitDims) {
  attnc_status s;
  attnc_kernel *k = loadText(FixtureManifest, &s);
  ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  ASSERT_EQ(attnc_kernel_num_dims(k), 3);
  EXPECT_STREQ(attnc_kernel_dim_name(k, 2), "K");
  ASSERT_EQ(attnc_kernel_num_tensors(k), 2);
  EXPECT_EQ(attnc_kernel_tensor_rank(k, 0), 2); // x: [R, C] from the map's {C, R}
  attnc_kernel_free(k);
}

TEST(RuntimeManifest, DimsFieldFixesOrder) {
  std::string j = replaced(FixtureManifest, "\"constraints\"", "\"dims\": [\"K\", \"C\", \"R\"], \"constraints\"");
  attnc_status s;
  attnc_kernel *k = loadText(j, &s);
  ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  EXPECT_STREQ(attnc_kernel_dim_name(k, 0), "K");
  EXPECT_STREQ(attnc_kernel_dim_name(k, 2), "R");
  attnc_kernel_free(k);
  // A name outside a "dims" list is an error.
  j = replaced(FixtureManifest, "\"constraints\"", "\"dims\": [\"R\", \"C\"], \"constraints\"");
  EXPECT_EQ(loadText(j, &s), nullptr);
  EXPECT_EQ(s, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("unknown name 'K'"), std::string::npos) << attnc_last_error();
}

struct BadManifest {
  const char *what;
  std::string text;
  const char *message;
};

TEST(RuntimeManifest, MalformedManifestsAreRejectedWithClearErrors) {
  const std::string A = AttnManifest;
  std::vector<BadManifest> cases = {
      {"empty", "", "invalid JSON: line 1, column 1: unexpected end of input"},
      {"truncated", A.substr(0, 200), "invalid JSON: line 4, column 16: expected ',' or '}' in object, found end of input"},
      {"not an object", "[1, 2]", "must be a JSON object"},
      {"trailing comma", "{\"abi_version\": 1,}", "expected a string key"},
      {"trailing text", A + "x", "unexpected text after the JSON value"},
      {"comment", "// hi\n" + A, "line 1, column 1: expected a value"},
      {"duplicate key", replaced(A, "\"chip\": \"sm_90a\"", "\"chip\": \"sm_90a\", \"chip\": \"x\""),
       "duplicate key \"chip\""},
      {"bad escape", replaced(A, "\"sm_90a\"", "\"sm\\q\""), "invalid escape \\q"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'), "nesting deeper than 64"},
      {"missing abi_version", replaced(A, "\"abi_version\": 1,", ""), "abi_version: missing field"},
      {"future abi", replaced(A, "\"abi_version\": 1", "\"abi_version\": 2"), "version 2 is not supported"},
      {"missing kernel", replaced(A, "\"kernel\": \"attn_bf16_d128_full_kernel\",", ""), "kernel: missing field"},
      {"kernel not a string", replaced(A, "\"attn_bf16_d128_full_kernel\"", "7"), "kernel: expected a string"},
      {"unknown kind", replaced(A, "\"kind\": \"ptr\"", "\"kind\": \"pointer\""),
       "params[3].kind: unknown kind 'pointer'"},
      {"unknown dtype", replaced(A, "\"dtype\": \"f32\"", "\"dtype\": \"f8\""), "params[4].dtype: unknown dtype 'f8'"},
      {"bad expression", replaced(A, "\"B*Hq\"", "\"B*&Hq\""), "params[0].global_dims[2]: 'B*&Hq': column 3"},
      {"unknown function", replaced(A, "ceildiv(Lq,128)", "cdiv(Lq,128)"), "grid[0]: 'cdiv(Lq,128)': column 1: unknown function 'cdiv'"},
      {"unbalanced parens", replaced(A, "ceildiv(Lq,128)", "ceildiv(Lq,128"), "grid[0]"},
      {"non-integer size", replaced(A, "\"Lq\", 128]", "\"Lq\", 128.5]"), "params[3].shape[3]: expected an integer or an expression string, found a non-integer number"},
      {"boolean size", replaced(A, "\"Lq\", 128]", "\"Lq\", true]"), "params[3].shape[3]: expected an integer or an expression string, found boolean"},
      {"box too large", replaced(A, "\"box\": [64, 128, 1]", "\"box\": [64, 512, 1]"), "params[0].box[1]: must be 1..256"},
      {"swizzle span", replaced(A, "\"box\": [64, 128, 1]", "\"box\": [128, 128, 1]"), "exceeds the swizzle span of 128 bytes"},
      {"bad swizzle", replaced(A, "\"swizzle\": 128", "\"swizzle\": 96"), "params[0].swizzle: unknown value '96'"},
      {"rank mismatch", replaced(A, "\"global_strides_bytes\": [256, \"Lq*256\"]", "\"global_strides_bytes\": [256]"),
       "params[0].global_strides_bytes: expected 2 entries, found 1"},
      {"stride not 16-aligned", replaced(A, "\"global_strides_bytes\": [256,", "\"global_strides_bytes\": [250,"),
       "must be a multiple of 16"},
      {"empty params", replaced(FixtureManifest, "\"params\": [", "\"params\": [], \"x\": [").substr(0), "params: expected a non-empty array"},
      {"grid not 3", replaced(A, "\"grid\": [\"ceildiv(Lq,128)\", \"H\", \"B\"]", "\"grid\": [1, 1]"), "grid: expected 3 entries, found 2"},
      {"block too large", replaced(A, "\"block\": [256, 1, 1]", "\"block\": [2048, 1, 1]"), "block[0]: must be 1..1024"},
      {"duplicate param", replaced(A, "{\"name\": \"H\", \"kind\"", "{\"name\": \"B\", \"kind\""), "duplicate parameter name 'B'"},
      {"dtype conflict", replaced(A, "\"tensor\": \"lse\", \"dtype\": \"f32\"", "\"tensor\": \"o\", \"dtype\": \"f32\""),
       "tensor 'o' was declared with dtype bf16"},
      {"absolute binary", replaced(A, "\"chip\"", "\"binary\": \"/etc/passwd\", \"chip\""), "binary: must be a file name relative"},
      {"bad constraint", replaced(FixtureManifest, "\"C % 4 == 0\"", "\"C %% 4\""), "constraints[0]"},
      {"bad page layout", replaced(A, "\"causal\": \"none\",", "\"causal\": \"none\", \"page_size\": 16, \"page_layout\": \"nhw\","),
       "page_layout: must be \"nhd\" or \"hnd\" for paged K/V, got \"nhw\""},
      {"page layout without pages", replaced(A, "\"causal\": \"none\",", "\"causal\": \"none\", \"page_layout\": \"nhd\","),
       "page_layout: given without page_size"},
  };
  for (const BadManifest &c : cases) {
    attnc_status s;
    attnc_kernel *k = loadText(c.text, &s);
    EXPECT_EQ(k, nullptr) << c.what;
    attnc_kernel_free(k);
    EXPECT_EQ(s, ATTNC_ERR_MANIFEST) << c.what << ": " << attnc_status_name(s);
    std::string msg = attnc_last_error();
    EXPECT_NE(msg.find(c.message), std::string::npos) << c.what << ": got \"" << msg << "\"\nwanted: " << c.message;
    EXPECT_EQ(msg.find("manifest <memory>: "), 0u) << msg;
  }
}

TEST(RuntimeManifest, NeverCrashesOnMutatedInput) {
  // Every prefix, and many random byte edits, of a valid manifest: OK or a
  // manifest error, never a crash (run under ASan/UBSan in the sanitizer build).
  const std::string A = AttnManifest;
  for (size_t n = 0; n < A.size(); n += 7) {
    attnc_status s;
    attnc_kernel *k = loadText(A.substr(0, n), &s);
    EXPECT_EQ(s, ATTNC_ERR_MANIFEST);
    attnc_kernel_free(k);
  }
  std::mt19937 g(1234);
  const char alphabet[] = "{}[]\":,0123456789-+*/%()ABHLqk \\u\x01\xff";
  for (int it = 0; it < 3000; ++it) {
    std::string t = A;
    int edits = 1 + g() % 4;
    for (int e = 0; e < edits; ++e)
      t[g() % t.size()] = alphabet[g() % (sizeof alphabet - 1)];
    attnc_status s;
    attnc_kernel *k = loadText(t, &s);
    EXPECT_TRUE(s == ATTNC_OK || s == ATTNC_ERR_MANIFEST) << attnc_status_name(s);
    EXPECT_EQ(s == ATTNC_OK, k != nullptr);
    if (k) {
      AttnArgs a; // validating against a mutated manifest must not crash either
      attnc_kernel_validate(k, a.t, 5, nullptr, nullptr);
    }
    attnc_kernel_free(k);
  }
}

TEST(RuntimeManifest, LoadFromFiles) {
  char dirTmpl[] = "/tmp/attnc-rt-test-XXXXXX";
  ASSERT_NE(mkdtemp(dirTmpl), nullptr);
  std::string dir = dirTmpl;
  auto write = [&](const std::string &name, const std::string &data) {
    FILE *f = fopen((dir + "/" + name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(data.data(), 1, data.size(), f);
    fclose(f);
  };
  attnc_kernel *k = nullptr;
  EXPECT_ERR(attnc_kernel_load((dir + "/missing.json").c_str(), &k), ATTNC_ERR_IO, "cannot read '");
  EXPECT_EQ(k, nullptr);
  EXPECT_ERR(attnc_kernel_load(nullptr, &k), ATTNC_ERR_INVALID_ARGUMENT, "manifest path is NULL");
  EXPECT_ERR(attnc_kernel_load("x.json", nullptr), ATTNC_ERR_INVALID_ARGUMENT, "out is NULL");

  write("attn.json", AttnManifest);
  EXPECT_ERR(attnc_kernel_load((dir + "/attn.json").c_str(), &k), ATTNC_ERR_IO,
             "no kernel binary beside manifest " + dir + "/attn.json (looked for " + dir + "/attn.cubin");
  write("attn_bf16_d128_full_kernel.ptx", ".version 8.0\n.target sm_90a\n");
  ASSERT_EQ(attnc_kernel_load((dir + "/attn.json").c_str(), &k), ATTNC_OK) << attnc_last_error();
  attnc_kernel_free(k);
  write("attn.cubin", "");
  EXPECT_ERR(attnc_kernel_load((dir + "/attn.json").c_str(), &k), ATTNC_ERR_IO, "is empty");
  write("bad.json", "{\"abi_version\": 1,");
  EXPECT_ERR(attnc_kernel_load((dir + "/bad.json").c_str(), &k), ATTNC_ERR_MANIFEST,
             "manifest " + dir + "/bad.json: invalid JSON: line 1, column 19");
  // "binary" names the file.
  write("manifest.json", replaced(FixtureManifest, "\"chip\"", "\"binary\": \"fx.cubin\", \"chip\""));
  EXPECT_ERR(attnc_kernel_load((dir + "/manifest.json").c_str(), &k), ATTNC_ERR_IO, dir + "/fx.cubin");
  write("fx.cubin", "\x7f" "ELF");
  EXPECT_EQ(attnc_kernel_load((dir + "/manifest.json").c_str(), &k), ATTNC_OK) << attnc_last_error();
  attnc_kernel_free(k);
  std::string cmd = "rm -rf '" + dir + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

//===-- Validation --------------------------------------------------------===//

TEST_F(AttnKernel, ValidArgumentsResolveDims) {
  AttnArgs a;
  int64_t dims[6];
  ASSERT_EQ(attnc_kernel_validate(K, a.t, 5, nullptr, dims), ATTNC_OK) << err();
  int64_t want[6] = {2, 8, 8, 2, 100, 300};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(dims[i], want[i]) << attnc_kernel_dim_name(K, i);
  // SQA (Hq < Hk) and MQA are fine too.
  a.Hq = 2;
  a.Hk = 8;
  a.build();
  EXPECT_EQ(check(a), ATTNC_OK) << err();
  a.Hq = 8;
  a.Hk = 1;
  a.build();
  EXPECT_EQ(check(a), ATTNC_OK) << err();
  // Explicit dims that agree are fine; -1 infers.
  int64_t given[6] = {2, -1, -1, -1, 100, -1};
  EXPECT_EQ(attnc_kernel_validate(K, a.t, 5, given, nullptr), ATTNC_OK) << err();
}

TEST_F(AttnKernel, ArgumentCount) {
  AttnArgs a;
  EXPECT_ERR(check(a, 4), ATTNC_ERR_ARG_COUNT,
             "kernel attn_bf16_d128_full_kernel takes 5 tensors (q, k, v, o, lse) but 4 were given");
  EXPECT_ERR(check(a, 0), ATTNC_ERR_ARG_COUNT, "but 0 were given");
  EXPECT_ERR(attnc_kernel_validate(K, nullptr, 5, nullptr, nullptr), ATTNC_ERR_INVALID_ARGUMENT, "args is NULL");
  EXPECT_ERR(attnc_kernel_validate(nullptr, a.t, 5, nullptr, nullptr), ATTNC_ERR_INVALID_ARGUMENT, "kernel is NULL");
}

TEST_F(AttnKernel, WrongDtype) {
  AttnArgs a;
  a.t[1].dtype = ATTNC_DTYPE_F16;
  EXPECT_ERR(check(a), ATTNC_ERR_DTYPE, "argument 1 (k): dtype is f16, the kernel needs bf16");
  a.build();
  a.t[4].dtype = ATTNC_DTYPE_BF16;
  EXPECT_ERR(check(a), ATTNC_ERR_DTYPE, "argument 4 (lse): dtype is bf16, the kernel needs f32");
  a.build();
  a.t[0].dtype = 77;
  EXPECT_ERR(check(a), ATTNC_ERR_DTYPE, "argument 0 (q): invalid dtype code 77");
  // FP8 is a dtype the runtime knows (the last code): a mismatch, not an unknown code.
  a.build();
  a.t[0].dtype = ATTNC_DTYPE_F8E4M3;
  EXPECT_ERR(check(a), ATTNC_ERR_DTYPE, "argument 0 (q): dtype is f8e4m3, the kernel needs bf16");
}

TEST_F(AttnKernel, WrongRank) {
  AttnArgs a;
  int64_t q3[3] = {16, 100, 128};
  a.t[0] = attnc_tensor_contiguous(fakePtr(1), ATTNC_DTYPE_BF16, 3, q3, 0);
  EXPECT_ERR(check(a), ATTNC_ERR_RANK,
             "argument 0 (q): rank is 3 (shape [16, 100, 128]), the kernel needs rank 4 [B, Hq, Lq, 128]");
  a.build();
  a.t[4].rank = 9;
  EXPECT_ERR(check(a), ATTNC_ERR_RANK, "argument 4 (lse): invalid rank 9");
}

TEST_F(AttnKernel, WrongShape) {
  AttnArgs a;
  a.D = 64;
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "argument 0 (q): shape[3] is 64, the kernel needs 128");
  a.D = 128;
  a.build();
  a.t[3].shape[3] = 64; // o's Dv
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE,
             "argument 3 (o): shape[3] is 64, the kernel needs 128 (expected shape [B, H, Lq, 128], got [2, 8, 100, 64])");
  a.build();
  a.t[2].shape[1] = -3;
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "argument 2 (v): shape[1] is negative");
}

TEST_F(AttnKernel, InconsistentDims) {
  AttnArgs a;
  a.t[2].shape[2] = 299; // v's Lk
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE,
             "inconsistent size Lk: argument 1 (k) shape[2] = 300 but argument 2 (v) shape[2] = 299");
  a.build();
  a.t[3].shape[0] = 3; // o's B
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "inconsistent size B: argument 0 (q) shape[0] = 2 but argument 3 (o) shape[0] = 3");
  a.build();
  a.t[4].shape[2] = 101; // lse's Lq
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "inconsistent size Lq");
  a.build();
  int64_t dims[6] = {-1, -1, -1, -1, -1, 301};
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, dims, nullptr), ATTNC_ERR_SHAPE,
             "inconsistent size Lk: dims[5] (Lk) = 301 but argument 1 (k) shape[2] = 300");
  dims[5] = -2;
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, dims, nullptr), ATTNC_ERR_INVALID_ARGUMENT,
             "dims[5] (Lk) is -2: expected a size >= 0, or -1 to infer it");
}

TEST_F(AttnKernel, HeadConstraints) {
  AttnArgs a;
  a.H = 6; // o claims 6 heads; Hq = 8
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "constraint 'H == max(Hq, Hk)' does not hold (H=6, Hq=8, Hk=2)");
  a.H = 6;
  a.Hq = 6;
  a.Hk = 4;
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "constraint 'H % Hk == 0' does not hold (H=6, Hk=4)");
}

// The attention manifest with q read as boxes of a 10 x 10 grid (attn-gpu-
// plan-kernel's grid boxes): a rank-4 map that declares q's own shape.
static std::string gridBoxManifest() {
  return replaced(AttnManifest, R"("rank": 3,
     "global_dims": [128, "Lq", "B*Hq"], "global_strides_bytes": [256, "Lq*256"],
     "box": [64, 128, 1], "element_strides": [1, 1, 1],)",
                  R"("rank": 4,
     "global_dims": [128, 10, 10, "B*Hq"], "global_strides_bytes": [256, 2560, 25600],
     "box": [64, 16, 8, 1], "element_strides": [1, 1, 1, 1], "shape": ["B", "Hq", "Lq", 128],)");
}

// q binds B, Hq and Lq from the declared shape, must be contiguous row-major,
// and the constraint pins Lq to the grid's tokens.
TEST(GridBoxMap, DeclaredShape) {
  std::string m = gridBoxManifest();
  m = replaced(m, R"j("grid": )j",
               R"j("constraints": ["H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0", "Lq == 100"], "grid": )j");
  attnc_status s;
  attnc_kernel *K = loadText(m, &s);
  ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  AttnArgs a;
  EXPECT_EQ(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_OK) << attnc_last_error();
  a.t[0].strides[2] = 256; // q rows padded: TMA would read the grid wrong
  a.t[0].strides[1] = 256 * a.Lq;
  a.t[0].strides[0] = 256 * a.Lq * a.Hq;
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_STRIDE,
             "argument 0 (q): stride[2] is 256 elements, the kernel needs 128 (a contiguous row-major tensor)");
  a.Lq = 120; // not the grid's 100 tokens
  a.build();
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_SHAPE,
             "constraint 'Lq == 100' does not hold (Lq=120)");
  a.Lq = 100;
  a.D = 64; // the declared shape's last dim
  a.build();
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_SHAPE,
             "argument 0 (q): shape[3] is 64, the kernel needs 128");
  attnc_kernel_free(K);
}

// Without the constraint, the runtime still keeps the map inside its tensor:
// a q of 16 rows per head cannot back a map over a 10 x 10 grid.
TEST(GridBoxMap, SpanInsideTensor) {
  attnc_status s;
  attnc_kernel *K = loadText(gridBoxManifest(), &s);
  ASSERT_EQ(s, ATTNC_OK) << attnc_last_error();
  AttnArgs a;
  a.Lq = 100;
  a.build();
  EXPECT_EQ(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_OK) << attnc_last_error();
  a.Lq = 16;
  a.build();
  EXPECT_ERR(attnc_kernel_validate(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_SHAPE,
             "argument 0 (q): the kernel's tensor map q_map reads 409600 bytes, the tensor holds 65536");
  attnc_kernel_free(K);
}

TEST_F(AttnKernel, Strides) {
  AttnArgs a;
  // o as a transposed view: [B, H, Lq, D] over [B, Lq, H, D] memory.
  int64_t B = a.B, H = a.H, Lq = a.Lq, D = a.D;
  int64_t st[4] = {Lq * H * D, D, H * D, 1};
  memcpy(a.t[3].strides, st, sizeof st);
  EXPECT_ERR(check(a), ATTNC_ERR_STRIDE,
             "argument 3 (o): stride[2] is 1024 elements, the kernel needs 128 (a contiguous row-major tensor)");
  a.build();
  a.t[0].strides[2] = 256; // q rows padded to 256 elements
  a.t[0].strides[1] = 256 * a.Lq;
  a.t[0].strides[0] = 256 * a.Lq * a.Hq;
  EXPECT_ERR(check(a), ATTNC_ERR_STRIDE, "argument 0 (q): stride[2] is 256 elements, the kernel's tensor map q_map needs 128");
  a.build();
  a.t[1].strides[0] += 128; // k's batch stride does not merge with its heads (B*Hk)
  EXPECT_ERR(check(a), ATTNC_ERR_STRIDE, "argument 1 (k): stride[0] is");
  a.build();
  a.t[0].strides[3] = 2;
  EXPECT_ERR(check(a), ATTNC_ERR_STRIDE, "argument 0 (q): stride[3] is 2 elements");
  a.build();
  a.t[4].strides[1] = -1;
  EXPECT_ERR(check(a), ATTNC_ERR_STRIDE, "argument 4 (lse): stride[1] is negative");
  // Size-1 dimensions may have any stride.
  a.B = 1;
  a.build();
  a.t[3].strides[0] = 12345;
  a.t[0].strides[0] = 7;
  EXPECT_EQ(check(a), ATTNC_OK) << err();
  (void)B;
}

TEST_F(AttnKernel, Alignment) {
  AttnArgs a;
  a.t[0].data = (char *)a.t[0].data + 8;
  EXPECT_ERR(check(a), ATTNC_ERR_ALIGNMENT, "argument 0 (q): data pointer 0x7f0010000008 is not 16-byte aligned (the tensor map (TMA) needs 16 bytes)");
  a.build();
  a.t[4].data = (char *)a.t[4].data + 2; // lse (f32 pointer): element alignment
  EXPECT_ERR(check(a), ATTNC_ERR_ALIGNMENT, "argument 4 (lse): data pointer 0x7f0050000002 is not 4-byte aligned");
  a.build();
  a.t[4].data = (char *)a.t[4].data + 4;
  EXPECT_EQ(check(a), ATTNC_OK) << err();
}

TEST_F(AttnKernel, NullDataAndLimits) {
  AttnArgs a;
  a.t[3].data = nullptr;
  EXPECT_ERR(check(a), ATTNC_ERR_POINTER, "argument 3 (o): data is NULL");
  a.build();
  a.Lq = int64_t(1) << 31;
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_LIMIT, "size Lq = 2147483648 (from argument 0 (q) shape[2]) exceeds the kernel's i32 range");
  a.Lq = 0;
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_SHAPE, "size Lq = 0 (from argument 0 (q) shape[2]): every run-time size must be at least 1");
  a.Lq = 100;
  a.H = a.Hq = a.Hk = 70000; // grid.y = H
  a.build();
  EXPECT_ERR(check(a), ATTNC_ERR_LIMIT, "grid.y = H = 70000 is outside 1..65535");
}

TEST(RuntimeValidation, ExpressionOverflowIsALimitError) {
  std::string j = replaced(FixtureManifest, "{\"name\": \"K\", \"kind\": \"i32\", \"value\": \"K\"}",
                           "{\"name\": \"K\", \"kind\": \"i32\", \"value\": \"K\"}, {\"name\": \"RC\", \"kind\": \"i32\", \"value\": \"R*C*K*K*K\"}");
  attnc_kernel *k = loadText(j);
  ASSERT_NE(k, nullptr) << attnc_last_error();
  int64_t shape[2] = {64, 64};
  attnc_tensor t[2] = {attnc_tensor_contiguous(fakePtr(1), ATTNC_DTYPE_F32, 2, shape, 0),
                       attnc_tensor_contiguous(fakePtr(2), ATTNC_DTYPE_F32, 2, shape, 0)};
  int64_t dims[3] = {-1, -1, 2};
  EXPECT_EQ(attnc_kernel_validate(k, t, 2, dims, nullptr), ATTNC_OK) << attnc_last_error();
  dims[2] = 100000;
  EXPECT_ERR(attnc_kernel_validate(k, t, 2, dims, nullptr), ATTNC_ERR_LIMIT,
             "parameter RC = R*C*K*K*K = 4096000000000000000 does not fit in i32");
  dims[2] = 2000000000;
  EXPECT_ERR(attnc_kernel_validate(k, t, 2, dims, nullptr), ATTNC_ERR_LIMIT, "integer overflow in 'R*C*K*K*K'");
  attnc_kernel_free(k);
}

TEST(RuntimeValidation, FixtureDimsAndConstraints) {
  attnc_kernel *k = loadText(FixtureManifest);
  ASSERT_NE(k, nullptr) << attnc_last_error();
  int64_t shape[2] = {33, 100};
  attnc_tensor t[2] = {attnc_tensor_contiguous(fakePtr(1), ATTNC_DTYPE_F32, 2, shape, 0),
                       attnc_tensor_contiguous(fakePtr(2), ATTNC_DTYPE_F32, 2, shape, 0)};
  EXPECT_ERR(attnc_kernel_validate(k, t, 2, nullptr, nullptr), ATTNC_ERR_SHAPE,
             "size K is not given by any tensor's shape; pass it in dims[2]");
  int64_t dims[3] = {-1, -1, 3}, out[3];
  ASSERT_EQ(attnc_kernel_validate(k, t, 2, dims, out), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(out[0], 33);
  EXPECT_EQ(out[1], 100);
  EXPECT_EQ(out[2], 3);
  t[0].shape[1] = t[1].shape[1] = 102;
  t[0].strides[0] = t[1].strides[0] = 102;
  EXPECT_ERR(attnc_kernel_validate(k, t, 2, dims, nullptr), ATTNC_ERR_SHAPE,
             "constraint 'C % 4 == 0' does not hold (C=102)");
  attnc_kernel_free(k);
}

TEST(RuntimeValidation, TensorHelpersAndNames) {
  int64_t s[3] = {2, 3, 4};
  attnc_tensor t = attnc_tensor_contiguous(nullptr, ATTNC_DTYPE_F16, 3, s, 1);
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.strides[0], 12);
  EXPECT_EQ(t.strides[1], 4);
  EXPECT_EQ(t.strides[2], 1);
  EXPECT_EQ(t.device, 1);
  EXPECT_EQ(attnc_dtype_size(ATTNC_DTYPE_BF16), 2u);
  EXPECT_EQ(attnc_dtype_size((attnc_dtype)99), 0u);
  EXPECT_STREQ(attnc_dtype_name(ATTNC_DTYPE_BF16), "bf16");
  EXPECT_EQ(attnc_dtype_size(ATTNC_DTYPE_F8E4M3), 1u);
  EXPECT_STREQ(attnc_dtype_name(ATTNC_DTYPE_F8E4M3), "f8e4m3");
  EXPECT_STREQ(attnc_status_name(ATTNC_ERR_NO_DRIVER), "ATTNC_ERR_NO_DRIVER");
  EXPECT_STREQ(attnc_status_name((attnc_status)99), "ATTNC_ERR_UNKNOWN");
  attnc_kernel *k = nullptr;
  EXPECT_ERR(attnc_kernel_load_memory(nullptr, 0, nullptr, 0, &k), ATTNC_ERR_INVALID_ARGUMENT, "manifest text is NULL");
  EXPECT_ERR(attnc_kernel_load_memory("{}", 2, nullptr, 5, &k), ATTNC_ERR_INVALID_ARGUMENT, "image is NULL");
}

//===-- Launching -----------------------------------------------------------===//

TEST_F(AttnKernel, LaunchWithoutDriverFailsCleanly) {
  if (attnc_set_driver_library("/nonexistent/libcuda.so.1") != ATTNC_OK)
    GTEST_SKIP() << "the CUDA driver is already loaded in this process";
  AttnArgs a;
  EXPECT_ERR(attnc_kernel_launch(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_NO_DRIVER,
             "CUDA driver not available: cannot load /nonexistent/libcuda.so.1");
  EXPECT_ERR(attnc_driver_available(), ATTNC_ERR_NO_DRIVER, "CUDA driver not available");
  // Host-side errors still come first and are reported as such.
  a.t[0].data = (char *)a.t[0].data + 4;
  EXPECT_ERR(attnc_kernel_launch(K, a.t, 5, nullptr, nullptr), ATTNC_ERR_ALIGNMENT, "not 16-byte aligned");
  EXPECT_EQ(attnc_set_driver_library(nullptr), ATTNC_OK);
}

TEST_F(AttnKernel, LaunchOnThisMachine) {
  // With the default driver: NO_DRIVER on a machine without libcuda or GPU;
  // on a GPU machine the fake pointers are rejected as not device memory.
  AttnArgs a;
  attnc_status avail = attnc_driver_available();
  std::string why = attnc_last_error();
  attnc_status s = attnc_kernel_launch(K, a.t, 5, nullptr, nullptr);
  if (avail == ATTNC_ERR_NO_DRIVER) {
    EXPECT_EQ(s, ATTNC_ERR_NO_DRIVER);
    EXPECT_EQ(std::string(attnc_last_error()), why);
    EXPECT_EQ(why.find("CUDA driver not available"), 0u) << why;
  } else {
    EXPECT_EQ(s, ATTNC_ERR_POINTER) << attnc_last_error();
  }
}

TEST(RuntimeLaunch, KernelWithoutBinaryCannotLaunch) {
  attnc_kernel *k = nullptr;
  ASSERT_EQ(attnc_kernel_load_memory(FixtureManifest, strlen(FixtureManifest), nullptr, 0, &k), ATTNC_OK);
  int64_t shape[2] = {8, 32}, dims[3] = {-1, -1, 2};
  attnc_tensor t[2] = {attnc_tensor_contiguous(fakePtr(1), ATTNC_DTYPE_F32, 2, shape, 0),
                       attnc_tensor_contiguous(fakePtr(2), ATTNC_DTYPE_F32, 2, shape, 0)};
  EXPECT_ERR(attnc_kernel_launch(k, t, 2, dims, nullptr), ATTNC_ERR_INVALID_ARGUMENT, "was loaded without a binary");
  attnc_kernel_free(k);
}

TEST(RuntimeGpu, HostPointerIsRejected) {
  if (attnc_driver_available() != ATTNC_OK)
    GTEST_SKIP() << "no CUDA device: " << attnc_last_error();
#ifdef ATTNC_RUNTIME_FIXTURE_DIR
  attnc_kernel *k = nullptr;
  ASSERT_EQ(attnc_kernel_load(ATTNC_RUNTIME_FIXTURE_DIR "/manifest.json", &k), ATTNC_OK) << attnc_last_error();
  std::vector<float> host(8 * 32 + 64);
  void *p = (void *)(((uintptr_t)host.data() + 15) & ~(uintptr_t)15);
  int64_t shape[2] = {8, 32}, dims[3] = {-1, -1, 2};
  attnc_tensor t[2] = {attnc_tensor_contiguous(p, ATTNC_DTYPE_F32, 2, shape, 0),
                       attnc_tensor_contiguous(p, ATTNC_DTYPE_F32, 2, shape, 0)};
  EXPECT_ERR(attnc_kernel_launch(k, t, 2, dims, nullptr), ATTNC_ERR_POINTER, "argument 0 (x): 0x");
  attnc_kernel_free(k);
#else
  GTEST_SKIP() << "fixture directory not configured";
#endif
}

} // namespace

// The manifest schema (attnc/Runtime/KernelManifest.h): what the compiler
// prints reads back field for field, and the runtime accepts it.
TEST(RuntimeManifestSchema, PrintedManifestReadsBackAndLoads) {
  using namespace attnc::manifest;
  Kernel k;
  std::string err;
  ASSERT_TRUE(parseManifest(AttnManifest, k, err)) << err;
  ASSERT_TRUE(k.attention.has_value());
  EXPECT_EQ(k.attention->headDim, 128);
  EXPECT_EQ(k.attention->dtype, "bf16");
  EXPECT_EQ(k.params.size(), 11u);
  EXPECT_EQ(k.params[0].swizzle, "128"); // a JSON integer, kept as its name
  EXPECT_EQ(k.params[0].globalDims[0], "128");
  EXPECT_EQ(k.grid[0], "ceildiv(Lq,128)");
  k.spec = SpecNames{"dense", "a", "query", "key", "value", {"slopes"}};
  k.attention->nullLogitExpr = "extra_0[h]";
  std::string text = printManifest(k);
  Kernel back;
  ASSERT_TRUE(parseManifest(text, back, err)) << err << "\n" << text;
  EXPECT_EQ(printManifest(back), text);
  ASSERT_TRUE(back.spec.has_value());
  EXPECT_EQ(back.spec->q, "query");
  EXPECT_EQ(back.spec->extras, std::vector<std::string>{"slopes"});
  EXPECT_EQ(back.attention->nullLogitExpr, "extra_0[h]");
  EXPECT_EQ(back.params[5].kind, Param::Kind::I32);
  EXPECT_EQ(back.sharedBytes, "197632");
  attnc_kernel *kernel = nullptr;
  ASSERT_EQ(attnc_kernel_load_memory(text.data(), text.size(), "x", 1, &kernel), ATTNC_OK)
      << attnc_last_error();
  EXPECT_EQ(attnc_kernel_info_int(kernel, "head_dim", 0), 128);
  attnc_kernel_free(kernel);
}

// A tensor map passed by value (a __grid_constant__ parameter): read,
// printed back, and type-checked; absent means a device-memory copy.
TEST(RuntimeManifestSchema, TensorMapByValue) {
  using namespace attnc::manifest;
  const std::string A = AttnManifest;
  Kernel k;
  std::string err;
  ASSERT_TRUE(parseManifest(A, k, err)) << err;
  EXPECT_FALSE(k.params[0].byValue);
  std::string byValue = replaced(A, "\"oob_fill\": \"zero\"}", "\"oob_fill\": \"zero\", \"by_value\": true}");
  ASSERT_TRUE(parseManifest(byValue, k, err)) << err;
  EXPECT_TRUE(k.params[0].byValue);
  EXPECT_FALSE(k.params[1].byValue); // maps may differ (only q's is replaced)
  EXPECT_NE(printManifest(k).find("\"by_value\": true"), std::string::npos);
  Kernel back;
  ASSERT_TRUE(parseManifest(printManifest(k), back, err)) << err;
  EXPECT_TRUE(back.params[0].byValue);
  EXPECT_FALSE(back.params[1].byValue);
  EXPECT_FALSE(parseManifest(replaced(A, "\"oob_fill\": \"zero\"}", "\"oob_fill\": \"zero\", \"by_value\": 1}"),
                             k, err));
  EXPECT_EQ(err, "params[0].by_value: expected true or false, found number");
  attnc_kernel *kernel = nullptr;
  ASSERT_EQ(attnc_kernel_load_memory(byValue.data(), byValue.size(), "x", 1, &kernel), ATTNC_OK)
      << attnc_last_error();
  attnc_kernel_free(kernel);
}

TEST(RuntimeManifestSchema, InformationalFieldsAreTypeChecked) {
  using namespace attnc::manifest;
  const std::string A = AttnManifest;
  Kernel k;
  std::string err;
  EXPECT_FALSE(parseManifest(replaced(A, "\"head_dim\": 128,", "\"head_dim\": \"128\","), k, err));
  EXPECT_EQ(err, "head_dim: expected an integer, found string");
  EXPECT_FALSE(parseManifest(replaced(A, "\"has_mask_region\": false", "\"has_mask_region\": 0"), k, err));
  EXPECT_EQ(err, "has_mask_region: expected true or false, found number");
  EXPECT_FALSE(parseManifest(replaced(A, "\"shared_bytes\": 197632",
                                      "\"shared_bytes\": 197632, \"spec\": {\"variant\": \"v\"}"),
                             k, err));
  EXPECT_EQ(err, "spec.inputs: expected an object");
}

// Expression fields print as JSON integers only when they are JSON numbers:
// "007" (which the expression parser reads as 7) stays a string.
TEST(RuntimeManifestSchema, LiteralLookingExpressionsPrintAsValidJson) {
  using namespace attnc::manifest;
  Kernel k;
  std::string err;
  ASSERT_TRUE(parseManifest(AttnManifest, k, err)) << err;
  k.grid[2] = "007";
  k.block[1] = "-7";
  std::string text = printManifest(k);
  Kernel back;
  ASSERT_TRUE(parseManifest(text, back, err)) << err << "\n" << text;
  EXPECT_EQ(back.grid[2], "007");
  EXPECT_EQ(back.block[1], "-7");
  EXPECT_NE(text.find("\"grid\": [\"ceildiv(Lq,128)\", \"H\", \"007\"]"), std::string::npos) << text;
}
