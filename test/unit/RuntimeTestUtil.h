//===- RuntimeTestUtil.h - manifests and arguments the runtime tests share -===//
//
// The ABI-v1 attention and decode manifests as passes/AttnToTile writes them,
// loading from text, argument tensors at fake device addresses, and
// EXPECT_ERR (a status and a message fragment).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TEST_UNIT_RUNTIMETESTUTIL_H
#define ATTNC_TEST_UNIT_RUNTIMETESTUTIL_H

#include "attnc/Runtime/attnc_runtime.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <string>

// A copy of an ABI-v1 manifest as passes/AttnToTile writes it (bf16, D = 128).
inline const char *const AttnManifest = R"json({
  "abi_version": 1, "kernel": "attn_bf16_d128_full_kernel", "chip": "sm_90a", "dtype": "bf16",
  "head_dim": 128, "head_dim_v": 128, "block_m": 128, "block_n": 128, "causal": "none",
  "scale": 0.088388347648318433, "has_score_region": false, "has_mask_region": false,
  "params": [
    {"name": "q_map", "kind": "tensormap", "tensor": "q", "dtype": "bf16", "rank": 3,
     "global_dims": [128, "Lq", "B*Hq"], "global_strides_bytes": [256, "Lq*256"],
     "box": [64, 128, 1], "element_strides": [1, 1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "k_map", "kind": "tensormap", "tensor": "k", "dtype": "bf16", "rank": 3,
     "global_dims": [128, "Lk", "B*Hk"], "global_strides_bytes": [256, "Lk*256"],
     "box": [64, 128, 1], "element_strides": [1, 1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "v_map", "kind": "tensormap", "tensor": "v", "dtype": "bf16", "rank": 3,
     "global_dims": [128, "Lk", "B*Hk"], "global_strides_bytes": [256, "Lk*256"],
     "box": [64, 128, 1], "element_strides": [1, 1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "o", "kind": "ptr", "tensor": "o", "dtype": "bf16", "shape": ["B", "H", "Lq", 128]},
    {"name": "lse", "kind": "ptr", "tensor": "lse", "dtype": "f32", "shape": ["B", "H", "Lq"]},
    {"name": "B", "kind": "i32", "value": "B"},
    {"name": "H", "kind": "i32", "value": "H"},
    {"name": "Hq", "kind": "i32", "value": "Hq"},
    {"name": "Hk", "kind": "i32", "value": "Hk"},
    {"name": "Lq", "kind": "i32", "value": "Lq"},
    {"name": "Lk", "kind": "i32", "value": "Lk"}
  ],
  "grid": ["ceildiv(Lq,128)", "H", "B"], "block": [256, 1, 1], "shared_bytes": 197632
})json";

inline attnc_kernel *loadText(const std::string &json, attnc_status *st = nullptr) {
  attnc_kernel *k = nullptr;
  attnc_status s = attnc_kernel_load_memory(json.data(), json.size(), "\x7f" "ELF", 4, &k);
  if (st)
    *st = s;
  return k;
}

inline std::string replaced(std::string s, const std::string &from, const std::string &to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << "test bug: '" << from << "' not in the manifest";
  if (p != std::string::npos)
    s.replace(p, from.size(), to);
  return s;
}

// Fake but well-aligned device addresses: validation never dereferences them.
inline void *fakePtr(uintptr_t n) { return (void *)(uintptr_t)(0x7f0000000000ull + n * 0x10000000ull); }

struct AttnArgs {
  int64_t B = 2, H = 8, Hq = 8, Hk = 2, Lq = 100, Lk = 300, D = 128;
  attnc_tensor t[5];
  AttnArgs() { build(); }
  void build() {
    int64_t q[4] = {B, Hq, Lq, D}, k[4] = {B, Hk, Lk, D}, o[4] = {B, H, Lq, D}, l[3] = {B, H, Lq};
    t[0] = attnc_tensor_contiguous(fakePtr(1), ATTNC_DTYPE_BF16, 4, q, 0);
    t[1] = attnc_tensor_contiguous(fakePtr(2), ATTNC_DTYPE_BF16, 4, k, 0);
    t[2] = attnc_tensor_contiguous(fakePtr(3), ATTNC_DTYPE_BF16, 4, k, 0);
    t[3] = attnc_tensor_contiguous(fakePtr(4), ATTNC_DTYPE_BF16, 4, o, 0);
    t[4] = attnc_tensor_contiguous(fakePtr(5), ATTNC_DTYPE_F32, 3, l, 0);
  }
};

#define EXPECT_ERR(expr, status, substr)                                                                            \
  do {                                                                                                               \
    attnc_status s_ = (expr);                                                                                        \
    EXPECT_EQ(s_, status) << attnc_status_name(s_) << ": " << attnc_last_error();                                    \
    EXPECT_NE(std::string(attnc_last_error()).find(substr), std::string::npos)                                       \
        << "message: " << attnc_last_error() << "\nexpected to contain: " << (substr);                               \
  } while (0)

// A decode manifest as passes/AttnToTile writes it (attnc compile --decode; D = 128,
// packed heads): q through a 2-D map over its rows, a workspace, and the
// split count S that the runtime chooses unless dims[] gives it.
inline std::string decodeManifest() {
  std::string gy = "Hk*(Hq/H)+H*(1-Hq/H)", gx = "ceildiv((H/(" + gy + "))*Lq,64)";
  std::string cnt = "256*ceildiv(4*(" + gx + ")*(" + gy + ")*B,256)";
  return R"json({
  "abi_version": 1, "kernel": "decode_kernel", "chip": "sm_90a", "dtype": "bf16",
  "head_dim": 128, "head_dim_v": 128, "block_m": 64, "block_n": 64, "decode": true,
  "split_kv": {"dim": "S", "max_splits": 64, "key_tiles": "ceildiv(Lk,64)"},
  "params": [
    {"name": "q_map", "kind": "tensormap", "tensor": "q", "dtype": "bf16", "rank": 2,
     "global_dims": [128, "B*Hq*Lq"], "global_strides_bytes": [256], "box": [64, 64], "element_strides": [1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "k_map", "kind": "tensormap", "tensor": "k", "dtype": "bf16", "rank": 3,
     "global_dims": [128, "Lk", "B*Hk"], "global_strides_bytes": [256, "Lk*256"],
     "box": [64, 64, 1], "element_strides": [1, 1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "v_map", "kind": "tensormap", "tensor": "v", "dtype": "bf16", "rank": 3,
     "global_dims": [128, "Lk", "B*Hk"], "global_strides_bytes": [256, "Lk*256"],
     "box": [64, 64, 1], "element_strides": [1, 1, 1],
     "interleave": "none", "swizzle": 128, "l2_promotion": "l2_128b", "oob_fill": "zero"},
    {"name": "o", "kind": "ptr", "tensor": "o", "dtype": "bf16", "shape": ["B", "H", "Lq", 128]},
    {"name": "lse", "kind": "ptr", "tensor": "lse", "dtype": "f32", "shape": ["B", "H", "Lq"]},
    {"name": "B", "kind": "i32", "value": "B"}, {"name": "H", "kind": "i32", "value": "H"},
    {"name": "Hq", "kind": "i32", "value": "Hq"}, {"name": "Hk", "kind": "i32", "value": "Hk"},
    {"name": "Lq", "kind": "i32", "value": "Lq"}, {"name": "Lk", "kind": "i32", "value": "Lk"},
    {"name": "workspace", "kind": "workspace", "bytes": ")json" + cnt + R"json(+2*S*B*H*Lq*520",
     "zero_bytes": ")json" + cnt + R"json("},
    {"name": "S", "kind": "i32", "value": "S"}
  ],
  "grid": [")json" + gx + R"json(", ")json" + gy + R"json(", "B*S"], "block": [384, 1, 1], "shared_bytes": 214032
})json";
}

#endif // ATTNC_TEST_UNIT_RUNTIMETESTUTIL_H
