//===- KernelManifest.cpp - the kernel's manifest (docs/gpu-abi.md) -------===//
//
// Fills the manifest schema (attnc/Runtime/KernelManifest.h) from the kernel
// plan and attaches it to the gpu.func as a structured attribute; lib/GPU
// reads it back (readManifestAttr), adds the spec's names and writes it.
//
//===----------------------------------------------------------------------===//
#include "KernelPlan.h"
#include "attnc/Analysis/RegionIntRanges.h"
#include "attnc/Passes/GPUPasses.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace attnc::gpu;
namespace manifest = attnc::manifest;

namespace {
manifest::Param tensorMap(StringRef name, StringRef tensor, StringRef dtype, int64_t rank) {
  manifest::Param p;
  p.name = name.str(), p.kind = manifest::Param::Kind::TensorMap;
  p.tensor = tensor.str(), p.dtype = dtype.str(), p.rank = rank;
  p.elementStrides.assign(rank, "1");
  p.interleave = "none", p.swizzle = "128", p.l2Promotion = "l2_128b", p.oobFill = "zero";
  // Grid-constant parameters (GridConstantArgs.cpp): no upload per launch.
  p.byValue = true;
  return p;
}

manifest::Param ptr(StringRef name, StringRef dtype, std::vector<std::string> shape) {
  manifest::Param p;
  p.name = p.tensor = name.str(), p.kind = manifest::Param::Kind::Ptr;
  p.dtype = dtype.str(), p.shape = std::move(shape);
  return p;
}

manifest::Param i32(StringRef name, StringRef value) {
  manifest::Param p;
  p.name = name.str(), p.kind = manifest::Param::Kind::I32, p.value = value.str();
  return p;
}

/// The key length as an expression over the run-time sizes: Lk, or for
/// paged K/V the page table's pages times the page size.
std::string keyLengthExpr(const KernelConfig &c) {
  if (!c.pageSize)
    return "Lk";
  RankedTensorType table = c.extras[c.pageTable].type;
  if (!table.isDynamicDim(1))
    return std::to_string(table.getDimSize(1) * c.pageSize);
  return llvm::formatv("(extra_{0}.dim1*{1})", c.pageTable, c.pageSize).str();
}

/// The k or v map of paged K/V over its pool: nhd [P, PS, Hk, d] as the 3-D
/// [D, Hk, P*PS] with [64, 1, rows] boxes; hnd [P, Hk, PS, d] as [D, PS, P*Hk]
/// with [64, rows, 1] boxes.
manifest::Param poolMap(const KernelConfig &c, StringRef name, StringRef tensor, int64_t d) {
  manifest::Param p = tensorMap(name, tensor, c.dtypeName(), 3);
  std::string rowBytes = std::to_string(d * 2), ps = std::to_string(c.pageSize),
              rows = std::to_string(c.kvBoxRows());
  if (c.pagesHND) {
    p.globalDims = {std::to_string(d), ps, "P*Hk"};
    p.globalStridesBytes = {rowBytes, std::to_string(c.pageSize * d * 2)};
    p.box = {"64", rows, "1"};
  } else {
    p.globalDims = {std::to_string(d), "Hk", "P*" + ps};
    p.globalStridesBytes = {rowBytes, "Hk*" + rowBytes};
    p.box = {"64", "1", rows};
  }
  return p;
}

/// The kernel's parameters in launch order (docs/gpu-abi.md): q, k, v maps,
/// o, lse, the sizes, the extras and their free extents, then the decode
/// workspace and split count.
/// A [B, heads, len, d] tensor as the 3-D map [d, len, B*heads] read or
/// written in boxes of 64 columns by `boxRows` rows.
manifest::Param rowsMap(const KernelConfig &c, StringRef name, StringRef tensor, int64_t d,
                        StringRef len, StringRef heads, int64_t boxRows) {
  manifest::Param p = tensorMap(name, tensor, c.dtypeName(), 3);
  std::string rowBytes = std::to_string(d * 2);
  p.globalDims = {std::to_string(d), len.str(), ("B*" + heads).str()};
  p.globalStridesBytes = {rowBytes, (len + "*" + rowBytes).str()};
  p.box = {"64", std::to_string(boxRows), "1"};
  return p;
}

std::vector<manifest::Param> kernelParams(const KernelConfig &c) {
  std::string dt = c.dtypeName(), D = std::to_string(c.D), Dv = std::to_string(c.Dv);
  // Grid boxes: the rows of a head as the grid [n0, .., nA-1] (last axis
  // fastest), a box of the patch's extents.
  auto boxMap = [&](StringRef name, StringRef tensor, int64_t d, StringRef len, StringRef heads,
                    ArrayRef<int64_t> patch) {
    const attnc::GridTiles &g = *c.plan.grid;
    size_t A = g.axes.size();
    manifest::Param p = tensorMap(name, tensor, dt, A + 2);
    int64_t stride = d * 2;
    p.globalDims = {std::to_string(d)};
    p.box = {"64"};
    for (size_t a = A; a-- > 0;) {
      p.globalDims.push_back(std::to_string(g.axes[a].n));
      p.globalStridesBytes.push_back(std::to_string(stride));
      p.box.push_back(std::to_string(patch[a]));
      stride *= g.axes[a].n;
    }
    p.globalDims.push_back(("B*" + heads).str());
    p.globalStridesBytes.push_back(std::to_string(stride));
    p.box.push_back("1");
    // The tensor is [B, heads, L, d], read as boxes of the grid.
    p.shape = {"B", heads.str(), len.str(), std::to_string(d)};
    return p;
  };
  std::vector<manifest::Param> ps;
  if (c.plan.grid) {
    ps.push_back(boxMap("q_map", "q", c.D, "Lq", "Hq", c.qPatch));
    ps.push_back(boxMap("k_map", "k", c.D, "Lk", "Hk", c.kPatch));
    ps.push_back(boxMap("v_map", "v", c.Dv, "Lk", "Hk", c.kPatch));
  } else if (c.decode) {
    // The rows of q as one [B*Hq*Lq, D] matrix: a tile may span heads.
    manifest::Param q = tensorMap("q_map", "q", dt, 2);
    q.globalDims = {D, "B*Hq*Lq"}, q.globalStridesBytes = {std::to_string(c.D * 2)};
    q.box = {"64", std::to_string(c.BM)};
    ps.push_back(q);
  } else {
    ps.push_back(rowsMap(c, "q_map", "q", c.D, "Lq", "Hq", c.BM));
  }
  if (c.pageSize) {
    ps.push_back(poolMap(c, "k_map", "k", c.D));
    ps.push_back(poolMap(c, "v_map", "v", c.Dv));
  } else if (!c.plan.grid) {
    ps.push_back(rowsMap(c, "k_map", "k", c.D, "Lk", "Hk", c.BN));
    ps.push_back(rowsMap(c, "v_map", "v", c.Dv, "Lk", "Hk", c.BN));
  }
  ps.push_back(ptr("o", dt, {"B", "H", "Lq", Dv}));
  ps.push_back(ptr("lse", "f32", {"B", "H", "Lq"}));
  for (StringRef s : {"B", "H", "Hq", "Hk", "Lq"})
    ps.push_back(i32(s, s));
  ps.push_back(i32("Lk", keyLengthExpr(c)));
  for (auto [n, e] : llvm::enumerate(c.extras)) {
    std::vector<std::string> shape;
    for (int64_t d = 0; d < e.type.getRank(); ++d)
      shape.push_back(e.type.isDynamicDim(d) ? llvm::formatv("extra_{0}.dim{1}", n, d).str()
                                             : std::to_string(e.type.getDimSize(d)));
    StringRef ty = e.elem.isF32() ? "f32" : e.elem.isInteger(64) ? "i64" : "i32";
    ps.push_back(ptr(llvm::formatv("extra_{0}", n).str(), ty, shape));
  }
  for (auto [n, e] : llvm::enumerate(c.extras))
    for (int64_t d = 0; d < e.type.getRank(); ++d)
      if (e.type.isDynamicDim(d))
        ps.push_back(i32(llvm::formatv("extra_{0}_dim{1}", n, d).str(),
                         llvm::formatv("extra_{0}.dim{1}", n, d).str()));
  return ps;
}

/// The launch grid; for decode also the workspace (EmitDecode.cpp's layout:
/// tile counters, then per split the partial O rows, then their m and l)
/// and the split count S, which the runtime chooses when the caller does not.
void launchShape(const KernelConfig &c, manifest::Kernel &k) {
  std::string gx = llvm::formatv("ceildiv(Lq,{0})", c.BM).str(), gy = "H", gz = "B";
  if (c.plan.grid)
    gx = std::to_string(c.plan.grid->numBoxes(/*key=*/false));
  if (c.decode) {
    if (c.packHeads) {
      // Head groups: Hk when Hq == H (Hq / H is then 1, else 0), else H;
      // the kernel reads G = H / grid.y.
      gy = "Hk*(Hq/H)+H*(1-Hq/H)";
      gx = llvm::formatv("ceildiv((H/({0}))*Lq,{1})", gy, c.BM).str();
    }
    gz = "B*S";
    std::string counters = llvm::formatv("256*ceildiv(4*({0})*({1})*B,256)", gx, gy).str();
    manifest::Param ws;
    ws.name = "workspace", ws.kind = manifest::Param::Kind::Workspace;
    ws.bytes = llvm::formatv("{0}+2*S*B*H*Lq*{1}", counters, c.Dv * 4 + 8).str();
    ws.zeroBytes = counters;
    k.params.push_back(ws);
    k.params.push_back(i32("S", "S"));
    // The ABI's head constraints, and q's rows as one signed 32-bit TMA
    // coordinate.
    k.constraints = std::vector<std::string>{"H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0",
                                             "B*Hq*Lq <= 2147483647"};
    k.splitKV =
        manifest::SplitKV{"S", 64, llvm::formatv("ceildiv({0},{1})", keyLengthExpr(c), c.BN).str()};
  }
  if (c.persistent) {
    // The work counter (EmitSchedule.cpp, the producer's atomic add); the
    // grid counts work items, of which the runtime launches one block per SM.
    manifest::Param ws;
    ws.name = "workspace", ws.kind = manifest::Param::Kind::Workspace;
    ws.bytes = ws.zeroBytes = "256";
    k.params.push_back(ws);
    k.persistent = true;
  }
  if (c.oTmaStore) {
    // O as [Dv, Lq, B*H] in boxes of 64 columns by a consumer's 64 rows
    // (rows past Lq are not written by the store).
    manifest::Param o = rowsMap(c, "o_map", "o", c.Dv, "Lq", "H", 64);
    o.shape = {"B", "H", "Lq", std::to_string(c.Dv)};
    // In device memory, not a grid constant: a grid constant's generic
    // address is taken at the kernel's entry and held in two registers
    // through every consumer's tile loop (spills in mask kernels); a pointer
    // parameter is read from the constant bank where the store needs it.
    o.byValue = false;
    k.params.push_back(o);
  }
  // Tables indexed by the batch must have a row per batch (the kernel
  // clamps its reads; a short table would silently alias batches), and the
  // pool's rows are one signed 32-bit TMA coordinate.
  std::vector<std::string> extra;
  auto perBatch = [&](int64_t n) {
    RankedTensorType t = c.extras[n].type;
    extra.push_back(t.isDynamicDim(0) ? llvm::formatv("extra_{0}.dim0 == B", n).str()
                                      : llvm::formatv("{0} == B", t.getDimSize(0)).str());
  };
  if (c.pageSize) {
    perBatch(c.pageTable);
    extra.push_back(c.pagesHND ? "P*Hk <= 2147483647"
                               : llvm::formatv("P*{0} <= 2147483647", c.pageSize).str());
  }
  for (Attribute a : c.op.getCarrier()) {
    if (auto len = dyn_cast<attnc::attn::LengthsAttr>(a))
      perBatch(len.getKv());
    // A neighborhood's tokens are its grid's (the verifier's rule for
    // static lengths; grid boxes also read the grid's extent by TMA).
    if (auto nb = dyn_cast<attnc::attn::NeighborhoodAttr>(a)) {
      int64_t tokens = 1;
      for (int64_t g : nb.getGrid())
        tokens *= g;
      extra.push_back(llvm::formatv("Lq == {0}", tokens).str());
      extra.push_back(llvm::formatv("{0} == {1}", keyLengthExpr(c), tokens).str());
    }
  }
  // The regions' 32-bit index math relies on the static extents the kernel
  // was built for, or kRegionMaxExtent where they are dynamic (EmitRegions.cpp,
  // RegionIntRanges): a launch past them is refused rather than wrapping.
  if (c.score || c.mask) {
    auto q = cast<RankedTensorType>(c.op.getQuery().getType());
    auto o = cast<RankedTensorType>(c.op.getResult().getType());
    int64_t extents[4] = {q.getDimSize(0), o.getDimSize(1), q.getDimSize(2),
                          c.op.getLogicalKeyType().getDimSize(2)};
    // The key length as the kernel computes it (paged K/V: pages times the
    // page size; no tensor gives a size Lk there).
    const std::string names[4] = {"B", "H", "Lq", keyLengthExpr(c)};
    for (int k = 0; k < 4; ++k)
      extra.push_back(llvm::formatv("{0} <= {1}", names[k],
                                    ShapedType::isDynamic(extents[k]) ? attnc::kRegionMaxExtent
                                                                      : extents[k])
                          .str());
  }
  if (!extra.empty()) {
    std::vector<std::string> all = k.constraints.value_or(
        std::vector<std::string>{"H == max(Hq, Hk)", "H % Hq == 0", "H % Hk == 0"});
    all.insert(all.end(), extra.begin(), extra.end());
    k.constraints = all;
  }
  k.grid[0] = gx, k.grid[1] = gy, k.grid[2] = gz;
  k.block[0] = std::to_string(KernelConfig::kThreads), k.block[1] = k.block[2] = "1";
  k.sharedBytes = std::to_string(c.sharedBytes());
}

manifest::Attention attentionInfo(const KernelConfig &c) {
  manifest::Attention a;
  a.dtype = c.dtypeName(), a.causal = c.causalName();
  a.headDim = c.D, a.headDimV = c.Dv, a.blockM = c.BM, a.blockN = c.BN, a.stages = c.stages;
  a.scale = c.scale, a.linkPower = c.power;
  a.link = attnc::attn::stringifyLink(c.link).str();
  a.anchor = attnc::attn::stringifyAnchor(c.anchor).str();
  a.schedule = c.decode ? "split_kv" : c.pingpong ? "pingpong" : "ws"; // the plan's
  a.hasScoreRegion = c.score != nullptr, a.hasMaskRegion = c.mask != nullptr;
  a.decode = c.decode, a.packHeads = c.packHeads;
  a.pageSize = c.pageSize, a.pageLayout = c.pageSize ? (c.pagesHND ? "hnd" : "nhd") : "";
  for (Attribute attr : c.op.getCarrier()) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << attr;
    a.carrier.push_back(s);
  }
  a.tilesExact.assign(c.plan.exact.begin(), c.plan.exact.end());
  a.tilesBounding.assign(c.plan.bounding.begin(), c.plan.bounding.end());
  if (c.nullLogit)
    a.nullLogit = *c.nullLogit;
  else if (c.nullExtra >= 0)
    a.nullLogitExpr = llvm::formatv("extra_{0}[h]", c.nullExtra).str();
  return a;
}

/// JSON -> attribute, structure for structure: the manifest travels in the
/// IR as nested dictionaries and arrays that FileCheck and tools can read.
Attribute jsonToAttr(const llvm::json::Value &v, MLIRContext *ctx) {
  Builder b(ctx);
  if (auto i = v.getAsInteger())
    return b.getI64IntegerAttr(*i);
  if (auto d = v.getAsNumber())
    return b.getF64FloatAttr(*d);
  if (auto s = v.getAsString())
    return b.getStringAttr(*s);
  if (auto x = v.getAsBoolean())
    return b.getBoolAttr(*x);
  if (const llvm::json::Array *a = v.getAsArray()) {
    SmallVector<Attribute> items;
    for (const llvm::json::Value &e : *a)
      items.push_back(jsonToAttr(e, ctx));
    return b.getArrayAttr(items);
  }
  if (const llvm::json::Object *o = v.getAsObject()) {
    SmallVector<NamedAttribute> fields;
    for (const auto &kv : *o)
      fields.push_back(b.getNamedAttr(kv.first.str(), jsonToAttr(kv.second, ctx)));
    return b.getDictionaryAttr(fields);
  }
  return UnitAttr::get(ctx); // null
}

llvm::json::Value attrToJson(Attribute a) {
  if (auto i = dyn_cast<IntegerAttr>(a))
    return i.getType().isInteger(1) ? llvm::json::Value(i.getValue().getBoolValue())
                                    : llvm::json::Value(i.getInt());
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto s = dyn_cast<StringAttr>(a))
    return s.getValue();
  if (auto arr = dyn_cast<ArrayAttr>(a)) {
    llvm::json::Array out;
    for (Attribute e : arr)
      out.push_back(attrToJson(e));
    return out;
  }
  if (auto d = dyn_cast<DictionaryAttr>(a)) {
    llvm::json::Object out;
    for (NamedAttribute n : d)
      out[n.getName().getValue()] = attrToJson(n.getValue());
    return out;
  }
  return nullptr;
}
} // namespace

llvm::SmallVector<int64_t> attnc::gpu::byValueParams(const KernelConfig &c) {
  llvm::SmallVector<int64_t> out;
  manifest::Kernel k;
  k.params = kernelParams(c);
  launchShape(c, k);
  for (auto [n, p] : llvm::enumerate(k.params))
    if (p.byValue)
      out.push_back((int64_t)n);
  return out;
}

DictionaryAttr attnc::gpu::buildManifestAttr(const KernelConfig &c, MLIRContext *ctx) {
  manifest::Kernel k;
  k.kernel = c.name, k.chip = "sm_90a";
  k.params = kernelParams(c);
  launchShape(c, k);
  k.attention = attentionInfo(c);
  // The schema's one printer, parsed back into a JSON tree: the attribute
  // has exactly the fields and spelling of the file lib/GPU writes.
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(manifest::printManifest(k));
  if (!v) // the schema's printer writes JSON: a failure here is a bug
    llvm::report_fatal_error(llvm::Twine("attnc: the manifest printer wrote invalid JSON: ") +
                             llvm::toString(v.takeError()));
  return cast<DictionaryAttr>(jsonToAttr(*v, ctx));
}

llvm::Expected<manifest::Kernel> attnc::readManifestAttr(DictionaryAttr attr) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << attrToJson(attr);
  manifest::Kernel k;
  std::string err;
  if (!manifest::parseManifest(text, k, err))
    return llvm::createStringError("the kernel's manifest attribute: %s", err.c_str());
  return k;
}
