//===- KernelManifest.cpp - the kernel's JSON manifest (docs/gpu-abi.md) --===//
#include "KernelEmitter.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace attnc::gpu;

std::string attnc::gpu::buildManifest(const KernelConfig &c) {
  namespace json = llvm::json;
  auto mapParam = [&](StringRef name, StringRef tensor, int64_t d, StringRef len,
                      StringRef heads, int64_t boxRows) {
    int64_t rowBytes = d * 2;
    return json::Object{
        {"name", name}, {"kind", "tensormap"}, {"tensor", tensor},
        {"dtype", c.dtypeName()}, {"rank", 3},
        {"global_dims", json::Array{d, len, ("B*" + heads).str()}},
        {"global_strides_bytes",
         json::Array{rowBytes, (len + "*" + std::to_string(rowBytes)).str()}},
        {"box", json::Array{64, boxRows, 1}},
        {"element_strides", json::Array{1, 1, 1}},
        {"interleave", "none"}, {"swizzle", 128},
        {"l2_promotion", "l2_128b"}, {"oob_fill", "zero"}};
  };
  json::Array params;
  if (c.decode) {
    // The rows of q as one [B*Hq*Lq, D] matrix: a tile may span heads.
    params.push_back(json::Object{
        {"name", "q_map"}, {"kind", "tensormap"}, {"tensor", "q"},
        {"dtype", c.dtypeName()}, {"rank", 2},
        {"global_dims", json::Array{c.D, "B*Hq*Lq"}},
        {"global_strides_bytes", json::Array{c.D * 2}},
        {"box", json::Array{64, c.BM}},
        {"element_strides", json::Array{1, 1}},
        {"interleave", "none"}, {"swizzle", 128},
        {"l2_promotion", "l2_128b"}, {"oob_fill", "zero"}});
  } else {
    params.push_back(mapParam("q_map", "q", c.D, "Lq", "Hq", c.BM));
  }
  params.push_back(mapParam("k_map", "k", c.D, "Lk", "Hk", c.BN));
  params.push_back(mapParam("v_map", "v", c.Dv, "Lk", "Hk", c.BN));
  params.push_back(json::Object{{"name", "o"}, {"kind", "ptr"}, {"tensor", "o"},
                                {"dtype", c.dtypeName()},
                                {"shape", json::Array{"B", "H", "Lq", c.Dv}}});
  params.push_back(json::Object{{"name", "lse"}, {"kind", "ptr"}, {"tensor", "lse"},
                                {"dtype", "f32"},
                                {"shape", json::Array{"B", "H", "Lq"}}});
  for (StringRef s : {"B", "H", "Hq", "Hk", "Lq", "Lk"})
    params.push_back(json::Object{{"name", s}, {"kind", "i32"}, {"value", s}});
  auto typeName = [](Type t) -> std::string {
    return t.isF32() ? "f32" : t.isInteger(64) ? "i64" : "i32";
  };
  for (auto [n, e] : llvm::enumerate(c.extras)) {
    json::Array shape;
    for (int64_t d = 0; d < e.type.getRank(); ++d) {
      if (e.type.isDynamicDim(d))
        shape.push_back(llvm::formatv("extra_{0}.dim{1}", n, d).str());
      else
        shape.push_back(e.type.getDimSize(d));
    }
    std::string nm = llvm::formatv("extra_{0}", n).str();
    params.push_back(json::Object{{"name", nm}, {"kind", "ptr"}, {"tensor", nm},
                                  {"dtype", typeName(e.elem)},
                                  {"shape", std::move(shape)}});
  }
  for (auto [n, e] : llvm::enumerate(c.extras))
    for (int64_t d = 0; d < e.type.getRank(); ++d)
      if (e.type.isDynamicDim(d))
        params.push_back(json::Object{
            {"name", llvm::formatv("extra_{0}_dim{1}", n, d).str()},
            {"kind", "i32"},
            {"value", llvm::formatv("extra_{0}.dim{1}", n, d).str()}});
  // Decode: grid (query tiles, head groups, B * S), the workspace
  // (EmitDecode.cpp) and the split count S, which the runtime chooses when
  // the caller does not (docs/gpu-abi.md).
  std::string gx = llvm::formatv("ceildiv(Lq,{0})", c.BM).str(), gy = "H", gz = "B";
  if (c.decode) {
    if (c.packHeads) {
      // Head groups: Hk when Hq == H (Hq / H is then 1, else 0), else H;
      // the kernel reads G = H / grid.y.
      gy = "Hk*(Hq/H)+H*(1-Hq/H)";
      gx = llvm::formatv("ceildiv((H/({0}))*Lq,{1})", gy, c.BM).str();
    }
    gz = "B*S";
    std::string bytes = llvm::formatv("256*ceildiv(4*({0})*({1})*B,256)+2*S*B*H*Lq*{2}", gx, gy,
                                      c.Dv * 4 + 8)
                            .str();
    std::string zero = llvm::formatv("256*ceildiv(4*({0})*({1})*B,256)", gx, gy).str();
    params.push_back(json::Object{{"name", "workspace"}, {"kind", "workspace"},
                                  {"bytes", bytes}, {"zero_bytes", zero}});
    params.push_back(json::Object{{"name", "S"}, {"kind", "i32"}, {"value", "S"}});
  }
  json::Array carrier, exact, bounding;
  for (Attribute a : c.op.getCarrier()) {
    std::string str;
    llvm::raw_string_ostream os(str);
    os << a;
    carrier.push_back(str);
  }
  for (auto &x : c.plan.exact)
    exact.push_back(x);
  for (auto &x : c.plan.bounding)
    bounding.push_back(x);
  json::Object m{
      {"abi_version", 1},
      {"kernel", c.name},
      {"chip", "sm_90a"},
      {"dtype", c.dtypeName()},
      {"head_dim", c.D},
      {"head_dim_v", c.Dv},
      {"block_m", c.BM},
      {"block_n", c.BN},
      {"causal", c.causalName()},
      {"scale", c.scale},
      {"has_score_region", c.score != nullptr},
      {"has_mask_region", c.mask != nullptr},
      {"carrier", std::move(carrier)},
      {"tiles_exact", std::move(exact)},
      {"tiles_bounding", std::move(bounding)},
      {"link", attnc::attn::stringifyLink(c.link).str()},
      {"link_power", c.power},
      {"anchor", attnc::attn::stringifyAnchor(c.anchor).str()},
      {"null_logit", c.nullLogit ? json::Value(*c.nullLogit)
                     : c.nullExtra >= 0
                         ? json::Value(llvm::formatv("extra_{0}[h]", c.nullExtra).str())
                         : json::Value(nullptr)},
      {"params", std::move(params)},
      {"grid", json::Array{gx, gy, gz}},
      {"block", json::Array{KernelConfig::kThreads, 1, 1}},
      {"stages", c.stages},
      {"schedule", c.pingpong ? "pingpong" : "ws"},
      {"shared_bytes", c.sharedBytes()}};
  if (c.decode) {
    m["decode"] = true;
    // The ABI's head constraints (a manifest's own list replaces the
    // runtime's defaults), and q's rows as one TMA coordinate (signed 32-bit).
    m["constraints"] = json::Array{"H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0",
                                   "B*Hq*Lq <= 2147483647"};
    m["pack_heads"] = c.packHeads;
    m["split_kv"] = json::Object{{"dim", "S"},
                                 {"max_splits", 64},
                                 {"key_tiles", llvm::formatv("ceildiv(Lk,{0})", c.BN).str()}};
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", json::Value(std::move(m)));
  return out;
}

