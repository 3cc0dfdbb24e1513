//===- RuntimeLaunchShapeTest.cpp - split-KV and persistent launch shapes ---===//
//
// The grid a launch gets beyond the manifest's expressions: the split count
// of decode kernels (chosen from the SM count unless given) and the
// one-block-per-SM grid of persistent kernels; their manifests' checks.
//
//===----------------------------------------------------------------------===//
#include "RuntimeTestUtil.h"
#include "RuntimeInternal.h"

#include <algorithm>

namespace {


TEST(RuntimeValidation, DecodeSplitCountAndHeadGroups) {
  attnc_status st;
  attnc_kernel *k = loadText(decodeManifest(), &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  // The workspace is no tensor of the launch.
  EXPECT_EQ(attnc_kernel_num_tensors(k), 5);
  ASSERT_EQ(attnc_kernel_num_dims(k), 7);
  EXPECT_STREQ(attnc_kernel_dim_name(k, 6), "S");
  auto resolve = [&](int64_t B, int64_t Hq, int64_t Hk, int64_t Lq, int64_t Lk, int64_t S, int64_t *out) {
    AttnArgs a;
    a.B = B, a.H = std::max(Hq, Hk), a.Hq = Hq, a.Hk = Hk, a.Lq = Lq, a.Lk = Lk;
    a.build();
    int64_t dims[7] = {-1, -1, -1, -1, -1, -1, S};
    return attnc_kernel_validate(k, a.t, 5, dims, out);
  };
  int64_t d[7];
  // GQA 32/8, 8 sequences, one query: 1 x 8 x 8 = 64 blocks per split on an
  // assumed 132 SMs; 2 splits fill 128 of them (97%), the smallest split
  // within 85% of the best wave efficiency.
  ASSERT_EQ(resolve(8, 32, 8, 1, 32768, -1, d), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(d[6], 2);
  // One sequence: 8 blocks per split; 15 splits fill 120 SMs (91%), 14 only
  // 112 (85%), and the best (33 splits, 264 blocks, two full waves) is 100%.
  ASSERT_EQ(resolve(1, 32, 8, 1, 32768, -1, d), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(d[6], 15);
  // A full grid is not split; nor are short key ranges (at most Lk/64/2).
  ASSERT_EQ(resolve(64, 32, 8, 1, 4096, -1, d), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(d[6], 1);
  ASSERT_EQ(resolve(1, 8, 8, 1, 200, -1, d), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(d[6], 2);
  // Given splits are kept, up to the kernel's maximum.
  ASSERT_EQ(resolve(8, 32, 8, 1, 32768, 7, d), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(d[6], 7);
  EXPECT_ERR(resolve(8, 32, 8, 1, 32768, 65, d), ATTNC_ERR_LIMIT,
             "split count S = 65 exceeds the kernel's maximum 64");
  attnc_kernel_free(k);
}

TEST(RuntimeManifest, WorkspaceAndSplitFieldsAreChecked) {
  std::string m = decodeManifest();
  attnc_status st;
  attnc_kernel *k = loadText(replaced(m, "\"dim\": \"S\"", "\"dim\": \"T\""), &st);
  EXPECT_EQ(k, nullptr);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("split_kv.dim: 'T' is not a dim of the kernel"), std::string::npos)
      << attnc_last_error();
  k = loadText(replaced(m, "\"max_splits\": 64", "\"max_splits\": 0"), &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("split_kv.max_splits"), std::string::npos) << attnc_last_error();
  k = loadText(replaced(m, "\"bytes\":", "\"size\":"), &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find(".bytes: missing field"), std::string::npos) << attnc_last_error();
  // The split count cannot be a size that a tensor fixes.
  k = loadText(replaced(m, "\"dim\": \"S\"", "\"dim\": \"B\""), &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("split_kv.dim: 'B' is a size of tensor 'q'"), std::string::npos)
      << attnc_last_error();
  // One workspace: the runtime gives every workspace parameter the same buffer.
  k = loadText(replaced(m, "{\"name\": \"S\", \"kind\": \"i32\", \"value\": \"S\"}",
                        "{\"name\": \"ws2\", \"kind\": \"workspace\", \"bytes\": 64}, "
                        "{\"name\": \"S\", \"kind\": \"i32\", \"value\": \"S\"}"),
               &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("a second workspace parameter"), std::string::npos)
      << attnc_last_error();
  // A zeroed prefix the runtime cannot clear in 4-byte words.
  k = loadText(replaced(m, "\"zero_bytes\": \"", "\"zero_bytes\": \"2+"), &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  AttnArgs a;
  a.B = 1, a.H = 8, a.Hq = 8, a.Hk = 2, a.Lq = 1, a.Lk = 1000;
  a.build();
  EXPECT_ERR(attnc_kernel_validate(k, a.t, 5, nullptr, nullptr), ATTNC_ERR_LIMIT, "a multiple of 4");
  attnc_kernel_free(k);
}

// A persistent kernel (passes/AttnToTile: every prefill plan): the grid
// counts work items, launched as one block per SM on grid.x, which take them
// from the zeroed first word of the workspace.
std::string persistentManifest() {
  return replaced(replaced(AttnManifest, R"("grid":)", R"("persistent": true, "grid":)"),
                  R"({"name": "Lk", "kind": "i32", "value": "Lk"})",
                  R"({"name": "Lk", "kind": "i32", "value": "Lk"},
    {"name": "workspace", "kind": "workspace", "bytes": 256, "zero_bytes": 256})");
}

TEST(RuntimeValidation, PersistentGridIsOneBlockPerSM) {
  attnc_status st;
  attnc_kernel *k = loadText(persistentManifest(), &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(attnc_kernel_num_tensors(k), 5);
  AttnArgs a; // B 2, H 8, Lq 100: 1 x 8 x 2 = 16 items
  attnc::rt::Bound b;
  ASSERT_EQ(attnc::rt::validate(k, a.t, 5, nullptr, b, 132), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.grid[0], 16);
  EXPECT_EQ(b.grid[1], 1);
  EXPECT_EQ(b.grid[2], 1);
  EXPECT_EQ(b.wsZeroBytes, 256);
  a.B = 4, a.Lq = 4096; // 32 x 8 x 4 = 1024 items on 132 SMs
  a.build();
  ASSERT_EQ(attnc::rt::validate(k, a.t, 5, nullptr, b, 132), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.grid[0], 132);
  ASSERT_EQ(attnc::rt::validate(k, a.t, 5, nullptr, b, 78), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.grid[0], 78);
  // Without a device (sms 0) the H100/H200's 132.
  ASSERT_EQ(attnc::rt::validate(k, a.t, 5, nullptr, b, 0), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.grid[0], 132);
  attnc_kernel_free(k);
  // The same manifest without `persistent` launches its grid as written.
  k = loadText(AttnManifest, &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  ASSERT_EQ(attnc::rt::validate(k, a.t, 5, nullptr, b, 132), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.grid[0], 32);
  EXPECT_EQ(b.grid[1], 8);
  EXPECT_EQ(b.grid[2], 4);
  attnc_kernel_free(k);
}

TEST(RuntimeManifest, PersistentNeedsAZeroedCounter) {
  attnc_status st;
  attnc_kernel *k = loadText(replaced(AttnManifest, R"("grid":)", R"("persistent": true, "grid":)"), &st);
  EXPECT_EQ(k, nullptr);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("persistent: a persistent kernel needs a workspace"),
            std::string::npos)
      << attnc_last_error();
  k = loadText(replaced(persistentManifest(), R"("zero_bytes": 256)", R"("zero_bytes": 0)"), &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("zeroed prefix of at least 4 bytes"), std::string::npos)
      << attnc_last_error();
  k = loadText(replaced(persistentManifest(), R"("persistent": true)", R"("persistent": 1)"), &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("persistent: expected true or false"), std::string::npos)
      << attnc_last_error();
  // split_kv splits the keys over the grid: never persistent.
  std::string d = replaced(decodeManifest(), R"("grid":)", R"("persistent": true, "grid":)");
  k = loadText(d, &st);
  EXPECT_EQ(st, ATTNC_ERR_MANIFEST);
  EXPECT_NE(std::string(attnc_last_error()).find("a split_kv kernel cannot be persistent"), std::string::npos)
      << attnc_last_error();
}

TEST(RuntimeValidation, I64ParametersHoldSizesPastI32) {
  // A generic kernel's descriptor fields are i64: a size expression past
  // 2^31 is passed whole, where an i32 parameter is refused.
  const char *m = R"json({
    "abi_version": 1, "kernel": "d_kernel", "chip": "sm_90a", "dims": ["n"],
    "params": [
      {"name": "p", "kind": "ptr", "tensor": "t", "dtype": "f32", "shape": ["n"]},
      {"name": "big", "kind": "i64", "value": "n*1073741824"}
    ],
    "grid": [1, 1, 1], "block": [32, 1, 1], "shared_bytes": 0, "constraints": []
  })json";
  attnc_status st;
  attnc_kernel *k = loadText(m, &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  int64_t shape[1] = {6};
  char buf[64];
  attnc_tensor t = attnc_tensor_contiguous(buf, ATTNC_DTYPE_F32, 1, shape, 0);
  attnc::rt::Bound b;
  ASSERT_EQ(attnc::rt::validate(k, &t, 1, nullptr, b, 132), ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(b.scalarValues[1], int64_t(6) << 30);
  attnc_kernel_free(k);
  k = loadText(replaced(m, R"("kind": "i64")", R"("kind": "i32")"), &st);
  ASSERT_EQ(st, ATTNC_OK) << attnc_last_error();
  EXPECT_EQ(attnc::rt::validate(k, &t, 1, nullptr, b, 132), ATTNC_ERR_LIMIT);
  EXPECT_NE(std::string(attnc_last_error()).find("does not fit in i32"), std::string::npos) << attnc_last_error();
  attnc_kernel_free(k);
}

} // namespace
