//===- BuildKernel.cpp - attn.attention -> Hopper flash-attention kernel --===//
//
// Emits, with builders, one gpu.func per attn.attention (see docs/gpu-abi.md
// for the ABI and passes/GPU/Passes.td for the schedule).
//
// Block: 256 threads = 2 warpgroups; warpgroup w owns query rows
// [m0 + 64w, m0 + 64w + 64) of the BLOCK_M = 128 query tile. Thread 0 issues
// every TMA load. Shared memory (offsets from a 1024-aligned base):
//   Q      [D/64 chunks][128 rows][64]           (128B swizzle, TMA)
//   stage s (2 stages): K [D/64][BN][64], V [Dv/64][BN][64]
//   P      [2 warpgroups][BN/64 chunks][64 rows][64]  (written by threads)
// Per KV tile n (stage n % 2, tile n + 1 prefetched into the other stage):
//   S = Q K^T (wgmma m64nBNk16, K-major A and B), mask (partial/diagonal
//   tiles only), online softmax (log2 domain), P -> smem (bf16/f16,
//   swizzled), O = alpha O + P V (wgmma m64nDvk16, V MN-major), barrier.
// That is schedule v1 (the default). Schedule v2 (option schedule=v2, see
// emitTileV2) issues P_{n-1} V_{n-1} right after S_n so the PV can overlap
// the softmax of tile n; correct on every harness kernel but not faster on
// the H100 yet: ptxas hoists its wait_group 0 to the top of the block
// (bench/NOTES.md, "v2 outcome").
//
//===----------------------------------------------------------------------===//
#include "attnc/GPU/Passes.h"
#include "dialects/Attn/AttnDialect.h"
#include "passes/Carrier.h"
#include "passes/GPU/CarrierTiles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <functional>
#include <map>
#include <optional>

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUBUILDKERNEL
#include "passes/GPU/Passes.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

enum class CausalKind { None, TopLeft, BottomRight };

struct KernelConfig {
  std::string name;
  Type elemTy;
  int64_t D = 0, Dv = 0;
  int64_t BM = 128, BN = 128;
  static constexpr int64_t kWarpgroups = 2;
  CausalKind causal = CausalKind::None;
  /// Schedule v2 (see the header comment): PV of tile n-1 overlaps the
  /// softmax of tile n; K and V have their own full barriers.
  bool v2 = false;
  double scale = 1.0;
  Region *score = nullptr; // null when empty
  Region *mask = nullptr;
  mutable attnc::attn::AttentionOp op;
  attnc::CarrierTilePlan plan;
  attnc::attn::Link link = attnc::attn::Link::exp;
  attnc::attn::Anchor anchor = attnc::attn::Anchor::row;
  double power = 1.0;
  std::optional<double> nullLogit; // row(null = c)
  int64_t nullExtra = -1;          // row(null = extra[h])
  /// Extras: one device pointer each (float extras as f32, integer ones as
  /// their i32/i64 type), then one i32 per dynamic extent.
  struct Extra {
    RankedTensorType type;
    Type elem; // f32, i32 or i64 as passed
    SmallVector<int64_t> dimParam; // per dim: parameter index or -1 (static)
  };
  SmallVector<Extra> extras;
  int64_t numParams = 11;
  bool isExp() const { return link == attnc::attn::Link::exp; }
  std::string linkName() const { return attnc::attn::stringifyLink(link).str(); }
  std::string anchorName() const { return attnc::attn::stringifyAnchor(anchor).str(); }

  int64_t qBytes() const { return (D / 64) * BM * 128; }
  int64_t kBytes() const { return (D / 64) * BN * 128; }
  int64_t vBytes() const { return (Dv / 64) * BN * 128; }
  int64_t stageBytes() const { return kBytes() + vBytes(); }
  int64_t pBytesPerWG() const { return (BN / 64) * 64 * 128; }
  int64_t qOff() const { return 0; }
  int64_t stageOff(int64_t s) const { return qBytes() + s * stageBytes(); }
  int64_t pOff() const { return qBytes() + 2 * stageBytes(); }
  int64_t sharedBytes() const {
    return pOff() + kWarpgroups * pBytesPerWG() + 1024;
  }
  std::string dtypeName() const { return elemTy.isBF16() ? "bf16" : "f16"; }
  std::string causalName() const {
    switch (causal) {
    case CausalKind::None: return "none";
    case CausalKind::TopLeft: return "top_left";
    case CausalKind::BottomRight: return "bottom_right";
    }
    return "none";
  }
};

std::string buildManifest(const KernelConfig &c) {
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
  params.push_back(mapParam("q_map", "q", c.D, "Lq", "Hq", c.BM));
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
      {"link", c.linkName()},
      {"link_power", c.power},
      {"anchor", c.anchorName()},
      {"null_logit", c.nullLogit ? json::Value(*c.nullLogit)
                     : c.nullExtra >= 0
                         ? json::Value(llvm::formatv("extra_{0}[h]", c.nullExtra).str())
                         : json::Value(nullptr)},
      {"params", std::move(params)},
      {"grid", json::Array{llvm::formatv("ceildiv(Lq,{0})", c.BM).str(), "H", "B"}},
      {"block", json::Array{128 * KernelConfig::kWarpgroups, 1, 1}},
      {"shared_bytes", c.sharedBytes()}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", json::Value(std::move(m)));
  return out;
}

/// Emits the kernel body. All scalar index math is i32 (arith), converted to
/// index where an op wants one.
class KernelEmitter {
public:
  KernelEmitter(OpBuilder &b, Location loc, const KernelConfig &c)
      : b(b), loc(loc), c(c), ctx(b.getContext()) {
    f32 = b.getF32Type();
    i32 = b.getI32Type();
    i64 = b.getI64Type();
    i16 = b.getI16Type();
    i8 = b.getI8Type();
    idx = b.getIndexType();
    ptrTy = LLVM::LLVMPointerType::get(ctx);
    wgAS = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  }

  LogicalResult emit(gpu::GPUFuncOp fn);

  // ---- extras (used by KernelAccess too) ----
  /// Extent d of extra n as an index.
  Value extraDim(OpBuilder &ob, unsigned n, unsigned d);
  /// Element of extra n (f32 for float extras, i32/i64 for integer ones).
  Value loadExtra(OpBuilder &ob, unsigned n, ValueRange indices);
  /// The document span of t (binary search over cu = extra n).
  std::pair<Value, Value> documentSpan(OpBuilder &ob, unsigned n, Value t);
  /// Clones a single-block attn region with f32 in place of the element
  /// type; returns the yielded value.
  FailureOr<Value> inlineRegion(Region &r, ArrayRef<Value> args);
  bool regionFailed = false;

private:
  OpBuilder &b;
  Location loc;
  const KernelConfig &c;
  MLIRContext *ctx;
  Type f32, i32, i64, i16, i8, idx, ptrTy;
  Attribute wgAS;

  // Kernel-wide values.
  Value dyn, pad, smemBase64; // dynamic smem, pad to 1024 (index), aligned base (i64)
  Value qMap, kMap, vMap, oPtr, lsePtr;
  Value argB, argH, argHq, argHk, argLq, argLk;
  Value tid, isT0, wg, warp, lane, quadRow, quadCol;
  Value bIdx, hIdx, m0, bhq, bhk, bhOut;
  SmallVector<Value> fnArgs;
  Value fullBar, qBar;
  Value kFullBar, vFullBar; // schedule v2: one ring each for K and V
  Value rowA, rowB; // global query rows of this thread's two accumulator rows

  // ---- small helpers ----
  Value ci32(int64_t v) { return arith::ConstantIntOp::create(b, loc, i32, v); }
  Value ci64(int64_t v) { return arith::ConstantIntOp::create(b, loc, i64, v); }
  Value cidx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf32(double v) {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat((float)v));
  }
  Value negInf() {
    return arith::ConstantFloatOp::create(
        b, loc, cast<FloatType>(f32), APFloat::getInf(APFloat::IEEEsingle(), true));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value toIdx(Value v) { return arith::IndexCastOp::create(b, loc, idx, v); }
  Value toI32(Value v) { return arith::IndexCastOp::create(b, loc, i32, v); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fmax(Value x, Value y) { return arith::MaxNumFOp::create(b, loc, x, y); }
  Value select(Value c0, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c0, x, y);
  }
  Value ex2(Value x) {
    return LLVM::CallIntrinsicOp::create(b, loc, f32,
                                         b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
                                         ValueRange{x})
        .getResult(0);
  }
  Value lg2(Value x) {
    return LLVM::CallIntrinsicOp::create(b, loc, f32,
                                         b.getStringAttr("llvm.nvvm.lg2.approx.f"),
                                         ValueRange{x})
        .getResult(0);
  }
  Value shflXor(Value v, int64_t off) {
    return gpu::ShuffleOp::create(b, loc, v, ci32(off), ci32(32), gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  Value quadMax(Value v) {
    v = fmax(v, shflXor(v, 1));
    return fmax(v, shflXor(v, 2));
  }
  Value quadSum(Value v) {
    v = fadd(v, shflXor(v, 1));
    return fadd(v, shflXor(v, 2));
  }
  template <typename F> void ifThen(Value cond, F &&body) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body();
  }
  MemRefType tileType(int64_t rows) {
    return MemRefType::get({1, rows, 64}, c.elemTy, MemRefLayoutAttrInterface{}, wgAS);
  }
  Value smemView(Value byteOff /*index*/, MemRefType t) {
    Value off = arith::AddIOp::create(b, loc, pad, byteOff);
    return memref::ViewOp::create(b, loc, t, dyn, off, ValueRange{});
  }
  LLVM::LLVMStructType accType(int64_t n) {
    return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
  }
  /// wgmma shared-memory descriptor for a 1024-aligned 128B-swizzled tile at
  /// byte offset `off` (i64, relative to the aligned base) with the given
  /// leading / stride byte offsets.
  Value makeDesc(Value off, int64_t lbo, int64_t sbo) {
    Value addr = add(smemBase64, off);
    Value lo = andI(arith::ShRUIOp::create(b, loc, addr, ci64(4)), ci64(0x3FFF));
    uint64_t hi = ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
                  ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
    return orI(lo, ci64((int64_t)hi));
  }
  Value descPlus(Value desc, int64_t bytes) {
    if (!bytes)
      return desc;
    return add(desc, ci64(bytes >> 4));
  }
  Value wgmma(Value acc, Value descA, Value descB, int64_t n, bool zeroInit,
              bool bMNMajor) {
    NVVM::WGMMATypes ty =
        c.elemTy.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
    auto shape = NVVM::MMAShapeAttr::get(ctx, 64, n, 16);
    // LLVM 22 emits imm-trans-b = 1 - layoutB: `col` = K-major B (trans 0),
    // `row` = MN-major B (trans 1). A is K-major (`row`, imm-trans-a 0).
    return NVVM::WgmmaMmaAsyncOp::create(
        b, loc, acc.getType(), acc, descA, descB, shape, ty, ty,
        NVVM::WGMMATypes::f32,
        zeroInit ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
        bMNMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col,
        NVVM::MMAIntOverflowAttr());
  }
  SmallVector<Value> unpack(Value st, int64_t n) {
    SmallVector<Value> out;
    for (int64_t r = 0; r < n; ++r)
      out.push_back(LLVM::ExtractValueOp::create(b, loc, st, ArrayRef<int64_t>{r}));
    return out;
  }
  Value pack(Type st, ArrayRef<Value> vals) {
    Value s = LLVM::PoisonOp::create(b, loc, st);
    for (auto [r, v] : llvm::enumerate(vals))
      s = LLVM::InsertValueOp::create(b, loc, s, v, ArrayRef<int64_t>{(int64_t)r});
    return s;
  }
  /// Two f32 -> packed 2 x (bf16|f16) in an i32 (lo = first).
  Value packHalf2(Value lo, Value hi) {
    auto half = [&](Value v) {
      Value t = arith::TruncFOp::create(b, loc, c.elemTy, v);
      Value bits = arith::BitcastOp::create(b, loc, i16, t);
      return arith::ExtUIOp::create(b, loc, i32, bits);
    };
    Value l = half(lo), h = half(hi);
    return orI(l, arith::ShLIOp::create(b, loc, h, ci32(16)));
  }
  FailureOr<Value> materializeOuter(Value v);
  Value linkWeight(Value s);
  SmallVector<Value> extraArgs;

  void issueKV(Value tileI32, Value stageIdx);
  /// Schedule v2: K (or V) of one tile into its own stage, on its own barrier.
  void issueOne(Value tileI32, Value stageIdx, bool isV);
  Value rowOf(int64_t r) { return ((r / 2) % 2) ? rowB : rowA; }
};

/// The carrier predicate's view of the kernel: extras are device pointers,
/// the mask region is inlined in f32, document spans of this thread's rows
/// are computed once, and block lists are guaranteed by the tile schedule.
class KernelAccess : public attnc::CarrierAccess {
public:
  KernelAccess(KernelEmitter &e) : CarrierAccess(ValueRange{}), e(e) {}
  Value loadIndex(OpBuilder &ob, Location loc, unsigned n, ValueRange idx) override {
    Value v = e.loadExtra(ob, n, idx);
    return arith::IndexCastOp::create(ob, loc, ob.getIndexType(), v);
  }
  Value dim(OpBuilder &ob, Location, unsigned n, unsigned d) override {
    return e.extraDim(ob, n, d);
  }
  Value inlineMask(OpBuilder &ob, Location loc, Region &mask, ValueRange args) override {
    FailureOr<Value> v = e.inlineRegion(mask, SmallVector<Value>(args));
    if (failed(v)) {
      e.regionFailed = true;
      return arith::ConstantIntOp::create(ob, loc, 1, 1);
    }
    return *v;
  }
  std::pair<Value, Value> documentSpan(OpBuilder &ob, Location, unsigned n, Value t) override {
    auto it = memo.find({n, t});
    if (it != memo.end())
      return it->second;
    return e.documentSpan(ob, n, t);
  }
  /// Precomputes the span of `t` (a value that dominates every later use).
  void remember(OpBuilder &ob, unsigned n, Value t) {
    memo[{n, t}] = e.documentSpan(ob, n, t);
  }
  bool skipFamily(Attribute a) override { return isa<attnc::attn::BlockListAttr>(a); }

private:
  KernelEmitter &e;
  std::map<std::pair<unsigned, Value>, std::pair<Value, Value>,
           std::function<bool(const std::pair<unsigned, Value> &,
                              const std::pair<unsigned, Value> &)>>
      memo{[](const std::pair<unsigned, Value> &x, const std::pair<unsigned, Value> &y) {
        return std::make_pair(x.first, x.second.getAsOpaquePointer()) <
               std::make_pair(y.first, y.second.getAsOpaquePointer());
      }};
};

Value KernelEmitter::extraDim(OpBuilder &ob, unsigned n, unsigned d) {
  const KernelConfig::Extra &e = c.extras[n];
  if (e.dimParam[d] < 0)
    return arith::ConstantIndexOp::create(ob, loc, e.type.getDimSize(d));
  Value v = fnArgs[e.dimParam[d]];
  return arith::IndexCastOp::create(ob, loc, ob.getIndexType(), v);
}

Value KernelEmitter::loadExtra(OpBuilder &ob, unsigned n, ValueRange indices) {
  const KernelConfig::Extra &e = c.extras[n];
  Value lin;
  for (auto [d, ix] : llvm::enumerate(indices)) {
    Value i = ix;
    if (!i.getType().isIndex())
      i = arith::IndexCastOp::create(ob, loc, ob.getIndexType(), i);
    lin = lin ? arith::AddIOp::create(
                    ob, loc, arith::MulIOp::create(ob, loc, lin, extraDim(ob, n, d)), i)
              : i;
  }
  Value off = arith::IndexCastOp::create(ob, loc, ob.getI64Type(), lin);
  Value ptr = LLVM::GEPOp::create(ob, loc, ptrTy, e.elem, extraArgs[n], ValueRange{off});
  return LLVM::LoadOp::create(ob, loc, e.elem, ptr, /*alignment=*/e.elem.isInteger(64) ? 8 : 4);
}

std::pair<Value, Value> KernelEmitter::documentSpan(OpBuilder &ob, unsigned n, Value t) {
  Type it = ob.getIndexType();
  auto ci = [&](int64_t v) { return arith::ConstantIndexOp::create(ob, loc, v).getResult(); };
  auto ld = [&](OpBuilder &bb, Value k) {
    return arith::IndexCastOp::create(bb, loc, it, loadExtra(bb, n, {k})).getResult();
  };
  Value len = extraDim(ob, n, 0); // N + 1
  // First k in [1, N] with cu[k] > t (N + 1 if none): doc = k - 1.
  auto w = scf::WhileOp::create(
      ob, loc, TypeRange{it, it}, ValueRange{ci(1), len},
      [&](OpBuilder &bb, Location l, ValueRange a) {
        Value go = arith::CmpIOp::create(bb, l, arith::CmpIPredicate::slt, a[0], a[1]);
        scf::ConditionOp::create(bb, l, go, a);
      },
      [&](OpBuilder &bb, Location l, ValueRange a) {
        Value mid = arith::ShRUIOp::create(bb, l, arith::AddIOp::create(bb, l, a[0], a[1]),
                                           arith::ConstantIndexOp::create(bb, l, 1));
        Value le = arith::CmpIOp::create(bb, l, arith::CmpIPredicate::sle, ld(bb, mid), t);
        Value lo = arith::SelectOp::create(
            bb, l, le, arith::AddIOp::create(bb, l, mid, arith::ConstantIndexOp::create(bb, l, 1)),
            a[0]);
        Value hi = arith::SelectOp::create(bb, l, le, a[1], mid);
        scf::YieldOp::create(bb, l, ValueRange{lo, hi});
      });
  Value doc = arith::SubIOp::create(ob, loc, w.getResult(0), ci(1));
  Value total = ld(ob, arith::SubIOp::create(ob, loc, len, ci(1)));
  Value inDoc = arith::AndIOp::create(
      ob, loc, arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::sle, ci(0), t),
      arith::CmpIOp::create(ob, loc, arith::CmpIPredicate::slt, t, total));
  Value dc = arith::SelectOp::create(ob, loc, inDoc, doc, ci(0));
  Value st = ld(ob, dc), en = ld(ob, arith::AddIOp::create(ob, loc, dc, ci(1)));
  return {arith::SelectOp::create(ob, loc, inDoc, st, ci(0)),
          arith::SelectOp::create(ob, loc, inDoc, en, ci(0))};
}

/// A value a region reads from above: a constant, or a tensor.dim of q, k,
/// v or an extra (how the frontend passes dims).
FailureOr<Value> KernelEmitter::materializeOuter(Value v) {
  Operation *def = v.getDefiningOp();
  if (auto cst = dyn_cast_or_null<arith::ConstantOp>(def)) {
    if (auto fa = dyn_cast<FloatAttr>(cst.getValue()))
      return cf32(fa.getValueAsDouble());
    return b.clone(*def)->getResult(0);
  }
  if (auto dimOp = dyn_cast_or_null<tensor::DimOp>(def)) {
    std::optional<int64_t> d = dimOp.getConstantIndex();
    auto ty = cast<RankedTensorType>(dimOp.getSource().getType());
    if (d) {
      if (!ty.isDynamicDim(*d))
        return cidx(ty.getDimSize(*d));
      Value src = dimOp.getSource();
      Value q = c.op.getQuery(), k = c.op.getKey(), vv = c.op.getValue();
      if (src == q || src == k || src == vv) {
        Value r;
        if (*d == 0) r = argB;
        else if (*d == 1) r = src == q ? argHq : argHk;
        else if (*d == 2) r = src == q ? argLq : argLk;
        if (r)
          return toIdx(r);
      }
      for (auto [n, e] : llvm::enumerate(c.op.getExtras()))
        if (e == src)
          return extraDim(b, n, *d);
    }
  }
  return emitError(v.getLoc(), "GPU kernel: a score/mask region reads a value "
                               "from above that is neither a constant nor a "
                               "dim of q, k, v or an extra"),
         failure();
}

FailureOr<Value> KernelEmitter::inlineRegion(Region &r, ArrayRef<Value> args) {
  Block &blk = r.front();
  IRMapping map;
  for (auto [a, v] : llvm::zip(blk.getArguments(), args))
    map.map(a, v);
  for (Operation &op : blk.without_terminator()) {
    for (Value v : op.getOperands())
      if (!map.contains(v) && !r.isAncestor(v.getParentRegion()) &&
          !(isa<tensor::ExtractOp>(op) && v == op.getOperand(0))) {
        FailureOr<Value> mv = materializeOuter(v);
        if (failed(mv))
          return failure();
        map.map(v, *mv);
      }
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      if (auto fa = dyn_cast<FloatAttr>(cst.getValue())) {
        map.map(cst.getResult(), cf32(fa.getValueAsDouble()));
        continue;
      }
    }
    if (auto ex = dyn_cast<tensor::ExtractOp>(op)) {
      auto extras = c.op.getExtras();
      auto it = llvm::find(extras, ex.getTensor());
      if (it == extras.end())
        return op.emitOpError("GPU kernel: tensor.extract in a region must read "
                              "an extras operand");
      SmallVector<Value> idx;
      for (Value i : ex.getIndices())
        idx.push_back(map.lookup(i));
      map.map(ex.getResult(), loadExtra(b, it - extras.begin(), idx));
      continue;
    }
    if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
      Value in = map.lookup(op.getOperand(0));
      Type out = op.getResult(0).getType();
      if (out == c.elemTy || isa<FloatType>(out))
        if (in.getType() == f32 && (out == c.elemTy || out == f32 ||
                                    out.getIntOrFloatBitWidth() < 32)) {
          map.map(op.getResult(0), in);
          continue;
        }
    }
    if (op.getNumRegions() != 0 || !isa<arith::ArithDialect, math::MathDialect>(op.getDialect()))
      return op.emitOpError("GPU kernel: only arith/math ops and tensor.extract of "
                            "extras are supported in score/mask regions");
    Operation *cl = b.clone(op, map);
    for (Value res : cl->getResults())
      if (isa<FloatType>(res.getType()) && res.getType() != f32)
        res.setType(f32);
  }
  auto y = cast<attnc::attn::YieldOp>(blk.getTerminator());
  return map.lookupOrDefault(y.getValues()[0]);
}

/// Weight of a (masked: -inf) score in natural units for the non-exp links.
Value KernelEmitter::linkWeight(Value sc) {
  using attnc::attn::Link;
  const double log2e = 1.4426950408889634;
  if (c.link == Link::sigmoid) {
    Value e = ex2(fmul(sc, cf32(-log2e))); // exp(-s): +inf for a masked score
    return arith::DivFOp::create(b, loc, cf32(1.0), fadd(cf32(1.0), e));
  }
  // relu(power = p): max(s, 0)^p.
  Value r = fmax(sc, cf32(0.0));
  double p = c.power;
  if (p == 1.0)
    return r;
  if (p == 2.0)
    return fmul(r, r);
  if (p == 3.0)
    return fmul(fmul(r, r), r);
  if (p == 4.0) {
    Value r2 = fmul(r, r);
    return fmul(r2, r2);
  }
  // r^p = 2^(p lg2 r); lg2(0) = -inf gives 0 for p > 0.
  return ex2(fmul(lg2(r), cf32(p)));
}

void KernelEmitter::issueKV(Value tileI32, Value stageIdx) {
  Value stageOff = arith::MulIOp::create(b, loc, stageIdx, cidx(c.stageBytes()));
  Value base = arith::AddIOp::create(b, loc, stageOff, cidx(c.qBytes()));
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, fullBar, cidx(c.stageBytes()),
                                          stageIdx, Value());
  Value row = toIdx(mul(tileI32, ci32(c.BN)));
  Value bh = toIdx(bhk);
  MemRefType t = tileType(c.BN);
  for (int64_t ch = 0; ch < c.D / 64; ++ch) {
    Value dst = smemView(arith::AddIOp::create(b, loc, base, cidx(ch * c.BN * 128)), t);
    nvgpu::TmaAsyncLoadOp::create(b, loc, dst, fullBar, kMap,
                                  ValueRange{cidx(ch * 64), row, bh}, stageIdx,
                                  Value(), Value());
  }
  for (int64_t ch = 0; ch < c.Dv / 64; ++ch) {
    Value dst = smemView(
        arith::AddIOp::create(b, loc, base, cidx(c.kBytes() + ch * c.BN * 128)), t);
    nvgpu::TmaAsyncLoadOp::create(b, loc, dst, fullBar, vMap,
                                  ValueRange{cidx(ch * 64), row, bh}, stageIdx,
                                  Value(), Value());
  }
}

void KernelEmitter::issueOne(Value tileI32, Value stageIdx, bool isV) {
  Value bar = isV ? vFullBar : kFullBar;
  int64_t bytes = isV ? c.vBytes() : c.kBytes();
  Value stageOff = arith::MulIOp::create(b, loc, stageIdx, cidx(c.stageBytes()));
  Value base = arith::AddIOp::create(b, loc, stageOff,
                                     cidx(c.qBytes() + (isV ? c.kBytes() : 0)));
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, bar, cidx(bytes), stageIdx, Value());
  Value row = toIdx(mul(tileI32, ci32(c.BN)));
  Value bh = toIdx(bhk);
  MemRefType t = tileType(c.BN);
  for (int64_t ch = 0; ch < (isV ? c.Dv : c.D) / 64; ++ch) {
    Value dst = smemView(arith::AddIOp::create(b, loc, base, cidx(ch * c.BN * 128)), t);
    nvgpu::TmaAsyncLoadOp::create(b, loc, dst, bar, isV ? vMap : kMap,
                                  ValueRange{cidx(ch * 64), row, bh}, stageIdx,
                                  Value(), Value());
  }
}

LogicalResult KernelEmitter::emit(gpu::GPUFuncOp fn) {
  Block &entry = fn.getBody().front();
  b.setInsertionPointToEnd(&entry);
  auto args = entry.getArguments();

  auto mapTy = [&](int64_t rows) {
    return nvgpu::TensorMapDescriptorType::get(
        ctx, tileType(rows), nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
        nvgpu::TensorMapL2PromoKind::L2PROMO_NONE, nvgpu::TensorMapOOBKind::OOB_ZERO,
        nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
  };
  auto castMap = [&](Value p, int64_t rows) {
    return UnrealizedConversionCastOp::create(b, loc, mapTy(rows), p).getResult(0);
  };
  qMap = castMap(args[0], c.BM);
  kMap = castMap(args[1], c.BN);
  vMap = castMap(args[2], c.BN);
  oPtr = args[3];
  lsePtr = args[4];
  argB = args[5];
  argH = args[6];
  argHq = args[7];
  argHk = args[8];
  argLq = args[9];
  argLk = args[10];
  fnArgs.assign(args.begin(), args.end());
  for (size_t n = 0; n < c.extras.size(); ++n)
    extraArgs.push_back(args[11 + n]);
  (void)argB;

  tid = toI32(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  Value bx = toI32(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  hIdx = toI32(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y));
  bIdx = toI32(gpu::BlockIdOp::create(b, loc, gpu::Dimension::z));
  isT0 = cmp(arith::CmpIPredicate::eq, tid, ci32(0));
  wg = arith::ShRUIOp::create(b, loc, tid, ci32(7));
  Value lt = andI(tid, ci32(127));
  warp = arith::ShRUIOp::create(b, loc, lt, ci32(5));
  lane = andI(tid, ci32(31));
  quadRow = arith::ShRUIOp::create(b, loc, lane, ci32(2));
  quadCol = andI(lane, ci32(3));

  // Heads: output head h reads q head h / (H/Hq) and kv head h / (H/Hk).
  Value hq = arith::DivUIOp::create(b, loc, hIdx, arith::DivUIOp::create(b, loc, argH, argHq));
  Value hk = arith::DivUIOp::create(b, loc, hIdx, arith::DivUIOp::create(b, loc, argH, argHk));
  bhq = add(mul(bIdx, argHq), hq);
  bhk = add(mul(bIdx, argHk), hk);
  bhOut = add(mul(bIdx, argH), hIdx);
  m0 = mul(bx, ci32(c.BM));
  rowA = add(add(m0, mul(wg, ci32(64))), add(mul(warp, ci32(16)), quadRow));
  rowB = add(rowA, ci32(8));

  // Tile schedule and classification of this query tile (CarrierTiles.h):
  // emitted once here, evaluated by the producer (thread 0) and the
  // consumers alike so both walk the same tile sequence.
  Value bI = toIdx(bIdx), hI = toIdx(hIdx), lqI = toIdx(argLq), lkI = toIdx(argLk);
  Value rowAIdx = toIdx(rowA), rowBIdx = toIdx(rowB);
  KernelAccess access(*this);
  for (Attribute a : c.op.getCarrier())
    if (auto d = dyn_cast<attnc::attn::DocumentAttr>(a)) {
      access.remember(b, d.getSeqlens(), rowAIdx);
      access.remember(b, d.getSeqlens(), rowBIdx);
    }
  attnc::TileEnv env{bI, hI, lqI, lkI, &access};
  attnc::QueryTileCarrier qtc(b, loc, c.plan, c.op, env, toIdx(bx));
  Value nSlots = qtc.numSlots();
  Value nTot = arith::DivSIOp::create(b, loc, add(argLk, ci32(c.BN - 1)), ci32(c.BN));
  // First valid slot at or after `from` (list mode skips tiles outside the
  // other families' ranges); nSlots when none.
  auto nextSlot = [&](Value from) -> Value {
    if (!qtc.listMode())
      return from;
    Type it = idx;
    auto w = scf::WhileOp::create(
        b, loc, TypeRange{it}, ValueRange{from},
        [&](OpBuilder &bb, Location l, ValueRange a) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(bb.getInsertionBlock(), bb.getInsertionPoint());
          Value in = cmp(arith::CmpIPredicate::slt, a[0], nSlots);
          // skip = in && !valid(tile(t)); the CSR read only when in range.
          auto ifIn = scf::IfOp::create(b, l, TypeRange{b.getI1Type()}, in, true);
          {
            OpBuilder::InsertionGuard g4(b);
            b.setInsertionPointToStart(ifIn.thenBlock());
            Value ok = qtc.slotIsValid(b, l, qtc.tileOfSlot(b, l, a[0]));
            scf::YieldOp::create(b, l, ValueRange{arith::XOrIOp::create(
                b, l, ok, arith::ConstantIntOp::create(b, l, 1, 1)).getResult()});
            b.setInsertionPointToStart(ifIn.elseBlock());
            scf::YieldOp::create(b, l, ValueRange{arith::ConstantIntOp::create(b, l, 0, 1).getResult()});
          }
          scf::ConditionOp::create(b, l, ifIn.getResult(0), a);
        },
        [&](OpBuilder &bb, Location l, ValueRange a) {
          scf::YieldOp::create(bb, l, ValueRange{arith::AddIOp::create(bb, l, a[0],
              arith::ConstantIndexOp::create(bb, l, 1)).getResult()});
        });
    return w.getResult(0);
  };
  (void)nTot;

  // Shared memory: align the base to 1024 for the 128B-swizzled tiles.
  auto smemTy = MemRefType::get({ShapedType::kDynamic}, i8, MemRefLayoutAttrInterface{}, wgAS);
  dyn = gpu::DynamicSharedMemoryOp::create(b, loc, smemTy);
  Value baseIdx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dyn);
  Value rem = arith::RemUIOp::create(b, loc, baseIdx, cidx(1024));
  pad = arith::RemUIOp::create(b, loc, arith::SubIOp::create(b, loc, cidx(1024), rem),
                               cidx(1024));
  smemBase64 = arith::IndexCastUIOp::create(b, loc, i64,
                                            arith::AddIOp::create(b, loc, baseIdx, pad));

  auto barTy = [&](unsigned n) { return nvgpu::MBarrierGroupType::get(ctx, wgAS, n); };
  if (c.v2) {
    kFullBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(2));
    vFullBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(2));
  } else {
    fullBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(2));
  }
  qBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(1));
  ifThen(isT0, [&] {
    for (Value bar : {fullBar, kFullBar, vFullBar})
      if (bar) {
        nvgpu::MBarrierInitOp::create(b, loc, bar, cidx(1), cidx(0), Value());
        nvgpu::MBarrierInitOp::create(b, loc, bar, cidx(1), cidx(1), Value());
      }
    nvgpu::MBarrierInitOp::create(b, loc, qBar, cidx(1), cidx(0), Value());
    nvgpu::TmaPrefetchOp::create(b, loc, qMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, kMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, vMap, Value());
  });
  gpu::BarrierOp::create(b, loc);

  // Prologue loads: Q, and the first scheduled KV tile into stage 0.
  ifThen(isT0, [&] {
    nvgpu::MBarrierArriveExpectTxOp::create(b, loc, qBar, cidx(c.qBytes()), cidx(0),
                                            Value());
    for (int64_t ch = 0; ch < c.D / 64; ++ch) {
      Value dst = smemView(cidx(c.qOff() + ch * c.BM * 128), tileType(c.BM));
      nvgpu::TmaAsyncLoadOp::create(b, loc, dst, qBar, qMap,
                                    ValueRange{cidx(ch * 64), toIdx(m0), toIdx(bhq)},
                                    cidx(0), Value(), Value());
    }
    Value first = nextSlot(cidx(0));
    ifThen(cmp(arith::CmpIPredicate::slt, first, nSlots), [&] {
      Value tile0 = toI32(qtc.tileOfSlot(b, loc, first));
      if (!c.v2) {
        issueKV(tile0, cidx(0));
        return;
      }
      // v2: K and V of tile 0 into stage 0, K of tile 1 into K stage 1.
      issueOne(tile0, cidx(0), /*isV=*/false);
      issueOne(tile0, cidx(0), /*isV=*/true);
      Value s1 = nextSlot(arith::AddIOp::create(b, loc, first, cidx(1)));
      ifThen(cmp(arith::CmpIPredicate::slt, s1, nSlots), [&] {
        issueOne(toI32(qtc.tileOfSlot(b, loc, s1)), cidx(1), /*isV=*/false);
      });
    });
  });
  Value ticks = cidx(10000000);
  nvgpu::MBarrierTryWaitParityOp::create(b, loc, qBar,
                                         arith::ConstantIntOp::create(b, loc, 0, 1),
                                         ticks, cidx(0));

  // Per-warpgroup descriptor bases.
  Value wg64 = arith::ExtUIOp::create(b, loc, i64, wg);
  Value qDesc = makeDesc(mul(wg64, ci64(64 * 128)), /*lbo=*/16, /*sbo=*/1024);
  Value pOffWG = add(ci64(c.pOff()), mul(wg64, ci64(c.pBytesPerWG())));
  Value pDesc = makeDesc(pOffWG, 16, 1024);
  auto pViewTy = MemRefType::get({c.kWarpgroups * c.pBytesPerWG() / 4}, i32,
                                 MemRefLayoutAttrInterface{}, wgAS);
  Value pView = smemView(cidx(c.pOff()), pViewTy);
  // Per-thread byte offset of this thread's P rows (within all P buffers).
  Value pThreadBase = add(mul(wg, ci32(c.pBytesPerWG())),
                          add(mul(add(mul(warp, ci32(16)), quadRow), ci32(128)),
                              mul(quadCol, ci32(4))));

  auto sTy = accType(c.BN);
  auto oTy = accType(c.Dv);
  Value oInit = LLVM::ZeroOp::create(b, loc, oTy);
  Value sZero = LLVM::ZeroOp::create(b, loc, sTy);
  Value ninf = negInf();
  Value zeroF = cf32(0.0);
  const double log2e = 1.4426950408889634;
  const bool expLink = c.isExp();

  // ---- pieces of one KV tile, shared by the schedules ----
  // K / V descriptors of stage `stage` (index).
  auto kDescOf = [&](Value stage) {
    Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
    Value kOff = add(ci64(c.qBytes()), mul(stage64, ci64(c.stageBytes())));
    return makeDesc(kOff, 16, 1024);
  };
  auto vDescOf = [&](Value stage) {
    Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
    Value kOff = add(ci64(c.qBytes()), mul(stage64, ci64(c.stageBytes())));
    return makeDesc(add(kOff, ci64(c.kBytes())), c.BN * 128, 1024);
  };
  // S = Q K^T (issued, not waited).
  auto issueS = [&](Value kDesc) {
    Value s = sZero;
    for (int64_t ch = 0; ch < c.D / 64; ++ch)
      for (int64_t kk = 0; kk < 4; ++kk)
        s = wgmma(s, descPlus(qDesc, ch * c.BM * 128 + kk * 32),
                  descPlus(kDesc, ch * c.BN * 128 + kk * 32), c.BN,
                  /*zeroInit=*/ch == 0 && kk == 0, /*bMNMajor=*/false);
    return s;
  };
  // O += P V with P from this warpgroup's shared buffer (issued, not waited).
  auto issuePV = [&](Value o, Value vDesc) {
    for (int64_t ch = 0; ch < c.BN / 64; ++ch)
      for (int64_t kk = 0; kk < 4; ++kk)
        o = wgmma(o, descPlus(pDesc, ch * 8192 + kk * 32),
                  descPlus(vDesc, (ch * 4 + kk) * 2048), c.Dv, /*zeroInit=*/false,
                  /*bMNMajor=*/true);
    return o;
  };
  struct Soft {
    SmallVector<Value> p;
    Value mA, mB, lA, lB, alphaA, alphaB;
  };
  // Scores, mask and (online) softmax of one tile: P in f32 registers, the
  // new running max / sum and the factor for O (null without a running max).
  // Mask only partial tiles (CarrierTiles classification) and the tile
  // crossing Lk.
  auto needMaskOf = [&](Value n, Value tile) {
    Value tileEnd = add(mul(n, ci32(c.BN)), ci32(c.BN));
    return orI(cmp(arith::CmpIPredicate::sgt, tileEnd, argLk),
               arith::XOrIOp::create(b, loc, qtc.isFull(b, loc, tile),
                                     arith::ConstantIntOp::create(b, loc, 1, 1)));
  };
  enum class MaskMode { Never, Always, IfNeeded };
  auto softmaxTile = [&](Value s, Value n, Value tile, Value mA, Value mB, Value lA,
                         Value lB, MaskMode mode = MaskMode::IfNeeded) -> FailureOr<Soft> {
    // Scores: log2 domain for exp, natural units for the other links.
    int64_t nS = c.BN / 2;
    SmallVector<Value> sv = unpack(s, nS);
    Value jBase = add(mul(n, ci32(c.BN)), mul(quadCol, ci32(2)));
    auto colOf = [&](int64_t r) { return add(jBase, ci32((r / 4) * 8 + (r % 2))); };
    auto rowIdxOf = [&](int64_t r) { return ((r / 2) % 2) ? rowBIdx : rowAIdx; };
    SmallVector<Value> tv(nS);
    double post = expLink ? log2e : 1.0;
    if (!c.score) {
      Value kk = cf32(c.scale * post);
      for (int64_t r = 0; r < nS; ++r)
        tv[r] = fmul(sv[r], kk);
    } else {
      Value kk = cf32(c.scale), l2e = cf32(post);
      for (int64_t r = 0; r < nS; ++r) {
        FailureOr<Value> v = inlineRegion(
            *c.score, {fmul(sv[r], kk), bI, hI, rowIdxOf(r), toIdx(colOf(r))});
        if (failed(v))
          return failure();
        tv[r] = expLink ? fmul(*v, l2e) : *v;
      }
    }

    // The predicate is the shared carrier definition.
    auto applyMask = [&]() -> FailureOr<SmallVector<Value>> {
      SmallVector<Value> masked(nS);
      for (int64_t r = 0; r < nS; ++r) {
        Value j = colOf(r);
        Value keep = cmp(arith::CmpIPredicate::slt, j, argLk);
        keep = andI(keep, attnc::buildKeepPredicate(b, loc, c.op, bI, hI, rowIdxOf(r),
                                                    toIdx(j), lqI, lkI, &access));
        if (regionFailed)
          return failure();
        masked[r] = select(keep, tv[r], ninf);
      }
      return masked;
    };
    if (mode == MaskMode::Always) {
      FailureOr<SmallVector<Value>> masked = applyMask();
      if (failed(masked))
        return failure();
      tv = *masked;
    } else if (mode == MaskMode::IfNeeded) {
      auto ifMask = scf::IfOp::create(b, loc, SmallVector<Type>(nS, f32), needMaskOf(n, tile),
                                      /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(ifMask.thenBlock());
        FailureOr<SmallVector<Value>> masked = applyMask();
        if (failed(masked))
          return failure();
        scf::YieldOp::create(b, loc, *masked);
        b.setInsertionPointToStart(ifMask.elseBlock());
        scf::YieldOp::create(b, loc, tv);
      }
      for (int64_t r = 0; r < nS; ++r)
        tv[r] = ifMask.getResult(r);
    }

    Soft out;
    SmallVector<Value> &p = out.p;
    p.resize(nS);
    Value sumA = zeroF, sumB = zeroF;
    Value mNewA = mA, mNewB = mB, alphaA, alphaB;
    if (expLink) {
      // Online softmax: each thread holds rows A (r % 4 < 2) and B.
      Value mxA = ninf, mxB = ninf;
      for (int64_t r = 0; r < nS; ++r) {
        if ((r / 2) % 2)
          mxB = fmax(mxB, tv[r]);
        else
          mxA = fmax(mxA, tv[r]);
      }
      mNewA = fmax(mA, quadMax(mxA));
      mNewB = fmax(mB, quadMax(mxB));
      auto safe = [&](Value m) {
        return select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf),
                      zeroF, m);
      };
      Value mUseA = safe(mNewA), mUseB = safe(mNewB);
      alphaA = ex2(fsub(mA, mUseA));
      alphaB = ex2(fsub(mB, mUseB));
      for (int64_t r = 0; r < nS; ++r)
        p[r] = ex2(fsub(tv[r], ((r / 2) % 2) ? mUseB : mUseA));
    } else {
      // Bounded or unnormalised links: no running max, no rescaling.
      for (int64_t r = 0; r < nS; ++r)
        p[r] = linkWeight(tv[r]);
    }
    for (int64_t r = 0; r < nS; ++r) {
      if ((r / 2) % 2)
        sumB = fadd(sumB, p[r]);
      else
        sumA = fadd(sumA, p[r]);
    }
    out.lA = expLink ? fadd(fmul(lA, alphaA), sumA) : fadd(lA, sumA);
    out.lB = expLink ? fadd(fmul(lB, alphaB), sumB) : fadd(lB, sumB);
    out.mA = mNewA;
    out.mB = mNewB;
    out.alphaA = alphaA;
    out.alphaB = alphaB;
    return out;
  };
  // P -> shared memory, K-major, 128B swizzle (16-byte chunk ^= row % 8;
  // row % 8 == quadRow for both rows of this thread), then the proxy fence
  // that orders the stores before the tensor cores read them.
  auto storeP = [&](ArrayRef<Value> p) {
    for (int64_t r = 0; r < (int64_t)p.size(); r += 2) {
      int64_t colChunk = r / 4; // 8-column group
      int64_t ch = colChunk / 8;
      int64_t rowExtra = ((r / 2) % 2) ? 8 : 0;
      Value sw = mul(arith::XOrIOp::create(b, loc, quadRow, ci32(colChunk % 8)), ci32(16));
      Value byteOff = add(pThreadBase, add(sw, ci32(ch * 8192 + rowExtra * 128)));
      Value word = arith::ShRUIOp::create(b, loc, byteOff, ci32(2));
      memref::StoreOp::create(b, loc, packHalf2(p[r], p[r + 1]), pView,
                              ValueRange{toIdx(word)});
    }
    NVVM::FenceProxyOp::create(
        b, loc, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
  };
  // O = alpha O (alpha = 1 without the running max).
  auto rescaleO = [&](Value oAcc, Value alphaA, Value alphaB) -> Value {
    if (!expLink)
      return oAcc;
    SmallVector<Value> ov = unpack(oAcc, c.Dv / 2);
    for (int64_t r = 0; r < c.Dv / 2; ++r)
      ov[r] = fmul(ov[r], ((r / 2) % 2) ? alphaB : alphaA);
    return pack(oTy, ov);
  };
  auto parityOf = [&](Value kOrd) { // (k / 2) % 2 as i1
    return arith::TruncIOp::create(
        b, loc, b.getI1Type(),
        andI(arith::ShRUIOp::create(b, loc, toI32(kOrd), ci32(1)), ci32(1)));
  };

  // Schedule v1. One scheduled KV tile: slot t, tile `tile` (index), ordinal
  // k (how many tiles were loaded before it: stage k % 2, phase (k / 2) % 2).
  auto emitTile = [&](Value t, Value tile, Value kOrd,
                      ValueRange it) -> FailureOr<SmallVector<Value>> {
    Value oAcc = it[0], mA = it[1], mB = it[2], lA = it[3], lB = it[4];
    Value n = toI32(tile);
    Value stage = arith::RemUIOp::create(b, loc, kOrd, cidx(2));
    Value parity = parityOf(kOrd);

    // Prefetch the next scheduled tile into the other stage (freed by the
    // barrier that closed the previous tile).
    ifThen(isT0, [&] {
      Value nextT = nextSlot(arith::AddIOp::create(b, loc, t, cidx(1)));
      ifThen(cmp(arith::CmpIPredicate::slt, nextT, nSlots), [&] {
        Value nk = arith::RemUIOp::create(b, loc, arith::AddIOp::create(b, loc, kOrd, cidx(1)),
                                          cidx(2));
        issueKV(toI32(qtc.tileOfSlot(b, loc, nextT)), nk);
      });
    });
    nvgpu::MBarrierTryWaitParityOp::create(b, loc, fullBar, parity, ticks, stage);

    // S = Q K^T.
    Value kDesc = kDescOf(stage);
    Value vDesc = vDescOf(stage);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value s = issueS(kDesc);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);

    FailureOr<Soft> sm = softmaxTile(s, n, tile, mA, mB, lA, lB);
    if (failed(sm))
      return failure();
    storeP(sm->p);
    NVVM::BarrierOp::create(b, loc, TypeRange{}, add(wg, ci32(1)), ci32(128),
                            NVVM::BarrierReductionAttr(), Value());

    // O = alpha O + P V.
    Value o = rescaleO(oAcc, sm->alphaA, sm->alphaB);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    o = issuePV(o, vDesc);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
    // Everyone is done with this stage and with P before they are refilled.
    gpu::BarrierOp::create(b, loc);
    return SmallVector<Value>{o, sm->mA, sm->mB, sm->lA, sm->lB,
                              arith::AddIOp::create(b, loc, kOrd, cidx(1)).getResult()};
  };

  // Schedule v2. Tile k (ordinal) is split across two loop iterations: S_k
  // and its softmax in iteration k, P_k V_k in iteration k + 1, issued right
  // after S_{k+1} so that the tensor cores run it while the warpgroup does
  // the softmax of tile k + 1 (wait_group 1, then wait_group 0 before O is
  // rescaled). K and V have separate two-stage rings: at the end of
  // iteration k (after the CTA barrier: S_k and P_{k-1} V_{k-1} are done in
  // both warpgroups) thread 0 loads K_{k+2} into K stage k % 2 and V_{k+1}
  // into V stage (k + 1) % 2, so each load has one iteration of slack.
  // Producer step at the end of iteration k (slot t): V of the next valid
  // slot, K of the one after.
  auto produceV2 = [&](Value t, Value kOrd) {
    ifThen(isT0, [&] {
      Value s1 = nextSlot(arith::AddIOp::create(b, loc, t, cidx(1)));
      ifThen(cmp(arith::CmpIPredicate::slt, s1, nSlots), [&] {
        Value k1 = arith::AddIOp::create(b, loc, kOrd, cidx(1));
        issueOne(toI32(qtc.tileOfSlot(b, loc, s1)),
                 arith::RemUIOp::create(b, loc, k1, cidx(2)), /*isV=*/true);
        Value s2 = nextSlot(arith::AddIOp::create(b, loc, s1, cidx(1)));
        ifThen(cmp(arith::CmpIPredicate::slt, s2, nSlots), [&] {
          issueOne(toI32(qtc.tileOfSlot(b, loc, s2)),
                   arith::RemUIOp::create(b, loc, kOrd, cidx(2)), /*isV=*/false);
        });
      });
    });
  };
  // Iteration k >= 1 of v2 (slot t, tile `tile`); it = {O, mA, mB, lA, lB, k}.
  auto emitTileV2 = [&](Value t, Value tile, Value kOrd,
                        ValueRange it) -> FailureOr<SmallVector<Value>> {
    Value oAcc = it[0], mA = it[1], mB = it[2], lA = it[3], lB = it[4];
    Value n = toI32(tile);
    Value kPrev = arith::SubIOp::create(b, loc, kOrd, cidx(1));
    Value kStage = arith::RemUIOp::create(b, loc, kOrd, cidx(2));
    Value vStage = arith::RemUIOp::create(b, loc, kPrev, cidx(2));
    nvgpu::MBarrierTryWaitParityOp::create(b, loc, kFullBar, parityOf(kOrd), ticks, kStage);
    nvgpu::MBarrierTryWaitParityOp::create(b, loc, vFullBar, parityOf(kPrev), ticks, vStage);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value s = issueS(kDescOf(kStage));
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    Value o = issuePV(oAcc, vDescOf(vStage));
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
    // Softmax under the PV, then wait_group 0, O rescale and P_k -> smem, in
    // two copies (masked / unmasked tile): no control-flow merge between the
    // two waits, since ptxas waits for the in-flight PV at a merge point.
    auto ifMask = scf::IfOp::create(b, loc, TypeRange{oTy, f32, f32, f32, f32},
                                    needMaskOf(n, tile), /*withElse=*/true);
    for (int br = 0; br < 2; ++br) {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(br == 0 ? ifMask.thenBlock() : ifMask.elseBlock());
      FailureOr<Soft> sm = softmaxTile(s, n, tile, mA, mB, lA, lB,
                                       br == 0 ? MaskMode::Always : MaskMode::Never);
      if (failed(sm))
        return failure();
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
      Value ob = rescaleO(o, sm->alphaA, sm->alphaB);
      storeP(sm->p);
      scf::YieldOp::create(b, loc, ValueRange{ob, sm->mA, sm->mB, sm->lA, sm->lB});
    }
    o = ifMask.getResult(0);
    struct {
      Value mA, mB, lA, lB;
    } res{ifMask.getResult(1), ifMask.getResult(2), ifMask.getResult(3),
          ifMask.getResult(4)};
    auto *sm = &res;
    // P_k visible to the warpgroup; K stage k % 2 and V stage (k - 1) % 2
    // free in both warpgroups.
    gpu::BarrierOp::create(b, loc);
    produceV2(t, kOrd);
    return SmallVector<Value>{o, sm->mA, sm->mB, sm->lA, sm->lB,
                              arith::AddIOp::create(b, loc, kOrd, cidx(1)).getResult()};
  };

  // The slot loop: slots [lo, nSlots), invalid slots (list mode) skipped.
  auto slotLoop = [&](Value lo, ValueRange init,
                      auto &&body) -> FailureOr<scf::ForOp> {
    auto forOp = scf::ForOp::create(b, loc, lo, nSlots, cidx(1), init);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(forOp.getBody());
    Value t = forOp.getInductionVar();
    auto it = forOp.getRegionIterArgs();
    Value tile = qtc.tileOfSlot(b, loc, t);
    if (Value valid = qtc.slotIsValid(b, loc, tile)) {
      auto ifV = scf::IfOp::create(b, loc, forOp.getResultTypes(), valid, /*withElse=*/true);
      {
        OpBuilder::InsertionGuard g3(b);
        b.setInsertionPointToStart(ifV.thenBlock());
        FailureOr<SmallVector<Value>> r = body(t, tile, it[5], it);
        if (failed(r))
          return failure();
        scf::YieldOp::create(b, loc, *r);
        b.setInsertionPointToStart(ifV.elseBlock());
        scf::YieldOp::create(b, loc, it);
      }
      scf::YieldOp::create(b, loc, ifV.getResults());
    } else {
      FailureOr<SmallVector<Value>> r = body(t, tile, it[5], it);
      if (failed(r))
        return failure();
      scf::YieldOp::create(b, loc, *r);
    }
    return forOp;
  };

  Value oFin, mFin[2], lFinRaw[2];
  if (!c.v2) {
    FailureOr<scf::ForOp> forOp =
        slotLoop(cidx(0), ValueRange{oInit, ninf, ninf, zeroF, zeroF, cidx(0)}, emitTile);
    if (failed(forOp))
      return failure();
    oFin = forOp->getResult(0);
    mFin[0] = forOp->getResult(1);
    mFin[1] = forOp->getResult(2);
    lFinRaw[0] = forOp->getResult(3);
    lFinRaw[1] = forOp->getResult(4);
  } else {
    // Iteration 0: S_0 and its softmax (no PV yet).
    Value first = nextSlot(cidx(0));
    Value hasAny = cmp(arith::CmpIPredicate::slt, first, nSlots);
    auto pro = scf::IfOp::create(b, loc, TypeRange{f32, f32, f32, f32}, hasAny,
                                 /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(pro.thenBlock());
      Value tile = qtc.tileOfSlot(b, loc, first);
      nvgpu::MBarrierTryWaitParityOp::create(
          b, loc, kFullBar, arith::ConstantIntOp::create(b, loc, 0, 1), ticks, cidx(0));
      NVVM::WgmmaFenceAlignedOp::create(b, loc);
      Value s = issueS(kDescOf(cidx(0)));
      NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
      FailureOr<Soft> sm = softmaxTile(s, toI32(tile), tile, ninf, ninf, zeroF, zeroF);
      if (failed(sm))
        return failure();
      storeP(sm->p);
      gpu::BarrierOp::create(b, loc);
      produceV2(first, cidx(0));
      scf::YieldOp::create(b, loc, ValueRange{sm->mA, sm->mB, sm->lA, sm->lB});
      b.setInsertionPointToStart(pro.elseBlock());
      scf::YieldOp::create(b, loc, ValueRange{ninf, ninf, zeroF, zeroF});
    }
    // Iterations 1..: from the slot after the first valid one.
    Value lo = arith::AddIOp::create(b, loc, first, cidx(1));
    FailureOr<scf::ForOp> forOp = slotLoop(
        lo,
        ValueRange{oInit, pro.getResult(0), pro.getResult(1), pro.getResult(2),
                   pro.getResult(3), cidx(1)},
        emitTileV2);
    if (failed(forOp))
      return failure();
    // Drain: O += P_{k-1} V_{k-1} for the last tile.
    auto drain = scf::IfOp::create(b, loc, TypeRange{oTy}, hasAny, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(drain.thenBlock());
      Value kPrev = arith::SubIOp::create(b, loc, forOp->getResult(5), cidx(1));
      Value vStage = arith::RemUIOp::create(b, loc, kPrev, cidx(2));
      nvgpu::MBarrierTryWaitParityOp::create(b, loc, vFullBar, parityOf(kPrev), ticks, vStage);
      NVVM::WgmmaFenceAlignedOp::create(b, loc);
      Value o = issuePV(forOp->getResult(0), vDescOf(vStage));
      NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
      scf::YieldOp::create(b, loc, o);
      b.setInsertionPointToStart(drain.elseBlock());
      scf::YieldOp::create(b, loc, forOp->getResult(0));
    }
    oFin = drain.getResult(0);
    mFin[0] = forOp->getResult(1);
    mFin[1] = forOp->getResult(2);
    lFinRaw[0] = forOp->getResult(3);
    lFinRaw[1] = forOp->getResult(4);
  }
  // Epilogue: normalise, store O and LSE.
  Value lFin[2] = {quadSum(lFinRaw[0]), quadSum(lFinRaw[1])};
  SmallVector<Value> ov = unpack(oFin, c.Dv / 2);
  Value one = cf32(1.0);
  const double ln2 = 0.6931471805599453;
  // The null key (row anchor): score c, value 0.
  Value nullC;
  if (c.nullLogit)
    nullC = cf32(*c.nullLogit);
  else if (c.nullExtra >= 0)
    nullC = loadExtra(b, c.nullExtra, ValueRange{hI});
  for (int rr = 0; rr < 2; ++rr) {
    Value row = rr ? rowB : rowA;
    Value l = lFin[rr];
    Value lse, inv;
    if (expLink) {
      Value m = mFin[rr]; // log2 domain; -inf for an empty row
      Value mUse = select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf),
                          zeroF, m);
      Value scaleO = one;
      if (nullC) {
        Value c2 = fmul(nullC, cf32(log2e));
        Value mF = fmax(mUse, c2);
        // Empty row: l = 0, so the key mass vanishes and only exp(c) stays.
        Value beta = ex2(fsub(mUse, mF));
        l = fadd(fmul(l, beta), ex2(fsub(c2, mF)));
        scaleO = beta;
        mUse = mF;
      }
      Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l, zeroF);
      inv = select(pos, arith::DivFOp::create(b, loc, scaleO, l), zeroF);
      lse = select(pos, fmul(fadd(mUse, lg2(l)), cf32(ln2)), ninf);
    } else {
      if (nullC && c.anchor == attnc::attn::Anchor::row)
        l = fadd(l, linkWeight(nullC));
      Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l, zeroF);
      // lse = ln(sum of weights) (the row anchor's denominator).
      lse = select(pos, fmul(lg2(l), cf32(ln2)), ninf);
      inv = c.anchor == attnc::attn::Anchor::row
                ? select(pos, arith::DivFOp::create(b, loc, one, l), zeroF)
                : one;
    }
    ifThen(cmp(arith::CmpIPredicate::slt, row, argLq), [&] {
      Value rowLin = arith::ExtUIOp::create(b, loc, i64,
                                            add(mul(bhOut, argLq), row));
      Value rowByte = mul(rowLin, ci64(c.Dv * 2));
      Value colBase = arith::ExtUIOp::create(b, loc, i64, mul(quadCol, ci32(4)));
      for (int64_t r = 0; r < c.Dv / 2; r += 2) {
        if (((r / 2) % 2) != rr)
          continue;
        Value off = add(rowByte, add(colBase, ci64((r / 4) * 16)));
        Value ptr = LLVM::GEPOp::create(b, loc, ptrTy, i8, oPtr, ValueRange{off});
        LLVM::StoreOp::create(b, loc, packHalf2(fmul(ov[r], inv), fmul(ov[r + 1], inv)),
                              ptr, /*alignment=*/4);
      }
      ifThen(cmp(arith::CmpIPredicate::eq, quadCol, ci32(0)), [&] {
        Value ptr = LLVM::GEPOp::create(b, loc, ptrTy, i8, lsePtr,
                                        ValueRange{mul(rowLin, ci64(4))});
        LLVM::StoreOp::create(b, loc, lse, ptr, /*alignment=*/4);
      });
    });
  }
  gpu::ReturnOp::create(b, loc);
  return success();
}

struct AttnGPUBuildKernelPass
    : public attnc::impl::AttnGPUBuildKernelBase<AttnGPUBuildKernelPass> {
  using Base::Base;

  /// Also registers what gpu-module-to-binary needs later in the same
  /// pipeline (LLVM IR translations, the NVVM target), so that any driver
  /// that runs this pass can serialize without extra registration.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerLLVMDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
    registerGPUDialectTranslation(registry);
    NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  }

  FailureOr<KernelConfig> configure(attnc::attn::AttentionOp op, StringRef name) {
    using namespace attnc::attn;
    KernelConfig c;
    c.name = name.str();
    auto qT = cast<RankedTensorType>(op.getQuery().getType());
    auto kT = cast<RankedTensorType>(op.getKey().getType());
    auto vT = cast<RankedTensorType>(op.getValue().getType());
    c.elemTy = qT.getElementType();
    if (!c.elemTy.isBF16() && !c.elemTy.isF16())
      return op.emitOpError("GPU kernel v1: q/k/v must be bf16 or f16"), failure();
    if (kT.getElementType() != c.elemTy || vT.getElementType() != c.elemTy ||
        cast<RankedTensorType>(op.getResult().getType()).getElementType() != c.elemTy)
      return op.emitOpError("GPU kernel v1: q, k, v and the result must share one dtype"),
             failure();
    if (qT.getRank() != 4 || kT.getRank() != 4 || vT.getRank() != 4)
      return op.emitOpError("GPU kernel v1: q, k, v must be [B, H, L, D]"), failure();
    c.D = qT.getDimSize(3);
    c.Dv = vT.getDimSize(3);
    if (ShapedType::isDynamic(c.D) || ShapedType::isDynamic(c.Dv) || c.D != kT.getDimSize(3))
      return op.emitOpError("GPU kernel v1: head dims must be static and q/k must agree"),
             failure();
    if ((c.D != 64 && c.D != 128 && c.D != 256) || (c.Dv != 64 && c.Dv != 128 && c.Dv != 256))
      return op.emitOpError("GPU kernel v1: head dims must be 64, 128 or 256"), failure();
    c.BN = blockN > 0 ? blockN : (std::max(c.D, c.Dv) > 128 ? 64 : 128);
    if (schedule != "v1" && schedule != "v2")
      return op.emitOpError() << "GPU kernel: schedule must be v1 or v2, got '"
                              << schedule << "'",
             failure();
    c.v2 = schedule == "v2";
    if (c.BN != 64 && c.BN != 128)
      return op.emitOpError("GPU kernel v1: block-n must be 64 or 128"), failure();
    if (c.sharedBytes() > 232448)
      return op.emitOpError() << "GPU kernel v1: needs " << c.sharedBytes()
                              << " bytes of shared memory (max 232448); use block-n=64",
             failure();
    // Links and anchors: softmax (exp + row, optionally a null key), and the
    // bounded/unnormalised links sigmoid and relu^p under anchor none or row.
    c.link = op.getLink();
    c.anchor = op.getAnchor();
    c.power = op.getLinkPower().convertToDouble();
    if (c.anchor == Anchor::sinkhorn)
      return op.emitOpError("GPU kernel: anchor sinkhorn needs the whole weight "
                            "matrix (column normalisation) and cannot run online; "
                            "use the CPU backend"),
             failure();
    if (c.anchor == Anchor::row_abs)
      return op.emitOpError("GPU kernel: anchor row_abs (signed weights) is not "
                            "supported; anchors are row and none"),
             failure();
    if (op.getWeightsSigned() || c.link == Link::identity || c.link == Link::signed_exp)
      return op.emitOpError() << "GPU kernel: signed link '" << stringifyLink(c.link)
                              << "' is not supported (links: exp, sigmoid, relu)",
             failure();
    if (c.link == Link::softplus)
      return op.emitOpError("GPU kernel: link softplus is not supported (links: "
                            "exp, sigmoid, relu)"),
             failure();
    if (c.link == Link::exp && c.anchor != Anchor::row)
      return op.emitOpError("GPU kernel: link exp needs anchor row (an unshifted "
                            "exp under anchor none is not supported)"),
             failure();
    if (c.link != Link::relu && c.power != 1.0)
      return op.emitOpError("GPU kernel: link_power applies to relu only"), failure();
    if (c.link == Link::relu && !(c.power > 0.0))
      return op.emitOpError("GPU kernel: relu power must be > 0"), failure();
    if (op.getScoreConv())
      return op.emitOpError("GPU kernel: score_conv mixes the scores of "
                            "neighbouring (i, j) across tiles and is not supported"),
             failure();
    if (op.getSinkhornIterations() != 0)
      return op.emitOpError("GPU kernel: sinkhorn iterations need anchor "
                            "sinkhorn, which is not supported"),
             failure();
    if (op.getSplitKv() != 0)
      return op.emitOpError("GPU kernel: split_kv is a CPU schedule (the GPU kernel "
                            "tiles KV itself); drop the schedule for the GPU"),
             failure();
    if (op.getNullLogit())
      c.nullLogit = op.getNullLogit()->convertToDouble();
    if (op.getNullLogitExtra())
      c.nullExtra = *op.getNullLogitExtra();
    if ((c.nullLogit || c.nullExtra >= 0) && c.anchor != Anchor::row)
      return op.emitOpError("GPU kernel: a null logit needs anchor row"), failure();
    // Extras: device pointers, then one i32 per dynamic extent.
    int64_t next = 11 + (int64_t)op.getExtras().size();
    for (Value e : op.getExtras()) {
      auto t = cast<RankedTensorType>(e.getType());
      KernelConfig::Extra x;
      x.type = t;
      Type el = t.getElementType();
      if (isa<FloatType>(el))
        x.elem = Float32Type::get(op.getContext());
      else if (el.isInteger(32) || el.isInteger(64))
        x.elem = el;
      else
        return op.emitOpError() << "GPU kernel: extra of element type " << el
                                << " (float, i32 or i64 only)",
               failure();
      for (int64_t d = 0; d < t.getRank(); ++d)
        x.dimParam.push_back(t.isDynamicDim(d) ? next++ : -1);
      c.extras.push_back(x);
    }
    c.numParams = next;
    if (c.nullExtra >= 0 && !c.extras[c.nullExtra].elem.isF32())
      return op.emitOpError("GPU kernel: the null-logit extra must be a float [H]"),
             failure();
    c.op = op;
    FailureOr<attnc::CarrierTilePlan> plan = attnc::CarrierTilePlan::get(op, c.BM, c.BN);
    if (failed(plan))
      return failure();
    c.plan = *plan;
    for (Attribute a : op.getCarrier())
      if (auto causal = dyn_cast<CausalAttr>(a))
        if (c.causal == CausalKind::None)
          c.causal = causal.getAlign() == Align::top_left ? CausalKind::TopLeft
                                                          : CausalKind::BottomRight;
    c.scale = op.getScaleAttr() ? op.getScaleAttr().getValueAsDouble() : 1.0 / std::sqrt((double)c.D);
    if (!op.getScore().empty())
      c.score = &op.getScore();
    if (!op.getMask().empty())
      c.mask = &op.getMask();
    return c;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<std::pair<func::FuncOp, SmallVector<attnc::attn::AttentionOp>>> work;
    module.walk([&](func::FuncOp f) {
      SmallVector<attnc::attn::AttentionOp> ops;
      f.walk([&](attnc::attn::AttentionOp a) { ops.push_back(a); });
      if (!ops.empty())
        work.push_back({f, ops});
    });
    if (work.empty())
      return;

    OpBuilder mb(ctx);
    module->setAttr("gpu.container_module", UnitAttr::get(ctx));
    auto gm = module.lookupSymbol<gpu::GPUModuleOp>("attnc_gpu");
    if (!gm) {
      mb.setInsertionPointToEnd(module.getBody());
      gm = gpu::GPUModuleOp::create(mb, module.getLoc(), "attnc_gpu");
    }
    SmallVector<NamedAttribute> manifests;
    if (auto old = module->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests"))
      manifests.append(old.begin(), old.end());

    for (auto &[f, ops] : work) {
      for (auto [k, op] : llvm::enumerate(ops)) {
        std::string name = (f.getSymName() + "_kernel").str();
        if (ops.size() > 1)
          name = (f.getSymName() + "_kernel" + Twine(k)).str();
        FailureOr<KernelConfig> cfg = configure(op, name);
        if (failed(cfg))
          return signalPassFailure();
        Type ptrTy = LLVM::LLVMPointerType::get(ctx);
        Type i32 = IntegerType::get(ctx, 32);
        SmallVector<Type> argTys(5, ptrTy);
        argTys.append(6, i32);
        argTys.append(cfg->extras.size(), ptrTy);
        argTys.append(cfg->numParams - argTys.size(), i32);
        mb.setInsertionPointToEnd(gm.getBody());
        auto fn = gpu::GPUFuncOp::create(mb, op.getLoc(), name,
                                         FunctionType::get(ctx, argTys, {}));
        fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
        fn.setKnownBlockSizeAttr(
            DenseI32ArrayAttr::get(ctx, {128 * KernelConfig::kWarpgroups, 1, 1}));
        fn->setAttr("nvvm.maxntid",
                    DenseI32ArrayAttr::get(ctx, {128 * KernelConfig::kWarpgroups, 1, 1}));
        OpBuilder kb(ctx);
        KernelEmitter em(kb, op.getLoc(), *cfg);
        if (failed(em.emit(fn)))
          return signalPassFailure();
        std::string manifest = buildManifest(*cfg);
        fn->setAttr("attnc.manifest", StringAttr::get(ctx, manifest));
        manifests.push_back(
            NamedAttribute(StringAttr::get(ctx, name), StringAttr::get(ctx, manifest)));
      }
      if (!keepHost)
        f.erase();
    }
    module->setAttr("attnc.gpu.manifests", DictionaryAttr::get(ctx, manifests));
  }
};

} // namespace
