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
//
//===----------------------------------------------------------------------===//
#include "attnc/GPU/Passes.h"
#include "dialects/Attn/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

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
  double scale = 1.0;
  Region *score = nullptr; // null when empty
  Region *mask = nullptr;

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
  Value bIdx, hIdx, m0, bhq, bhk, bhOut, causalOff;
  Value fullBar, qBar;
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
  /// Clones a single-block attn region with f32 in place of the element
  /// type; returns the yielded value.
  FailureOr<Value> inlineRegion(Region &r, ArrayRef<Value> args);

  void issueKV(Value tileI32, Value stageIdx);
  Value rowOf(int64_t r) { return ((r / 2) % 2) ? rowB : rowA; }
};

FailureOr<Value> KernelEmitter::inlineRegion(Region &r, ArrayRef<Value> args) {
  Block &blk = r.front();
  IRMapping map;
  for (auto [a, v] : llvm::zip(blk.getArguments(), args))
    map.map(a, v);
  for (Operation &op : blk.without_terminator()) {
    if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
      if (auto fa = dyn_cast<FloatAttr>(cst.getValue())) {
        map.map(cst.getResult(), cf32(fa.getValueAsDouble()));
        continue;
      }
    }
    if (op.getNumRegions() != 0 || !isa<arith::ArithDialect, math::MathDialect>(op.getDialect()))
      return op.emitOpError("v1 GPU kernel: only arith/math ops (no regions, no "
                            "extra inputs) are supported in score/mask regions");
    Operation *cl = b.clone(op, map);
    for (Value res : cl->getResults())
      if (res.getType() == c.elemTy)
        res.setType(f32);
  }
  auto y = cast<attnc::attn::YieldOp>(blk.getTerminator());
  return map.lookupOrDefault(y.getValues()[0]);
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
  causalOff = c.causal == CausalKind::BottomRight ? sub(argLk, argLq) : ci32(0);
  rowA = add(add(m0, mul(wg, ci32(64))), add(mul(warp, ci32(16)), quadRow));
  rowB = add(rowA, ci32(8));

  // Number of KV tiles: all of them, or up to the diagonal of the last row.
  Value nTot = arith::DivSIOp::create(b, loc, add(argLk, ci32(c.BN - 1)), ci32(c.BN));
  Value nEnd = nTot;
  if (c.causal != CausalKind::None) {
    Value last = add(add(m0, ci32(c.BM - 1)), causalOff);
    Value lim = add(arith::DivSIOp::create(b, loc, last, ci32(c.BN)), ci32(1));
    lim = arith::MinSIOp::create(b, loc, lim, nTot);
    nEnd = select(cmp(arith::CmpIPredicate::slt, last, ci32(0)), ci32(0), lim);
  }

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
  fullBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(2));
  qBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(1));
  ifThen(isT0, [&] {
    nvgpu::MBarrierInitOp::create(b, loc, fullBar, cidx(1), cidx(0), Value());
    nvgpu::MBarrierInitOp::create(b, loc, fullBar, cidx(1), cidx(1), Value());
    nvgpu::MBarrierInitOp::create(b, loc, qBar, cidx(1), cidx(0), Value());
    nvgpu::TmaPrefetchOp::create(b, loc, qMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, kMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, vMap, Value());
  });
  gpu::BarrierOp::create(b, loc);

  // Prologue loads: Q, and KV tile 0 into stage 0.
  ifThen(isT0, [&] {
    nvgpu::MBarrierArriveExpectTxOp::create(b, loc, qBar, cidx(c.qBytes()), cidx(0),
                                            Value());
    for (int64_t ch = 0; ch < c.D / 64; ++ch) {
      Value dst = smemView(cidx(c.qOff() + ch * c.BM * 128), tileType(c.BM));
      nvgpu::TmaAsyncLoadOp::create(b, loc, dst, qBar, qMap,
                                    ValueRange{cidx(ch * 64), toIdx(m0), toIdx(bhq)},
                                    cidx(0), Value(), Value());
    }
    ifThen(cmp(arith::CmpIPredicate::sgt, nEnd, ci32(0)),
           [&] { issueKV(ci32(0), cidx(0)); });
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

  auto forOp = scf::ForOp::create(b, loc, cidx(0), toIdx(nEnd), cidx(1),
                                  ValueRange{oInit, ninf, ninf, zeroF, zeroF});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(forOp.getBody());
    Value nIdx = forOp.getInductionVar();
    auto it = forOp.getRegionIterArgs();
    Value oAcc = it[0], mA = it[1], mB = it[2], lA = it[3], lB = it[4];
    Value n = toI32(nIdx);
    Value stage = arith::RemUIOp::create(b, loc, nIdx, cidx(2));
    Value parity = arith::TruncIOp::create(
        b, loc, b.getI1Type(), andI(arith::ShRUIOp::create(b, loc, n, ci32(1)), ci32(1)));

    // Prefetch tile n + 1 into the other stage (freed by the barrier that
    // closed iteration n - 1).
    Value next = add(n, ci32(1));
    ifThen(andI(isT0, cmp(arith::CmpIPredicate::slt, next, nEnd)), [&] {
      issueKV(next, arith::RemUIOp::create(b, loc, toIdx(next), cidx(2)));
    });
    nvgpu::MBarrierTryWaitParityOp::create(b, loc, fullBar, parity, ticks, stage);

    // S = Q K^T.
    Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
    Value kOff = add(ci64(c.qBytes()), mul(stage64, ci64(c.stageBytes())));
    Value kDesc = makeDesc(kOff, 16, 1024);
    Value vDesc = makeDesc(add(kOff, ci64(c.kBytes())), c.BN * 128, 1024);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    Value s = sZero;
    for (int64_t ch = 0; ch < c.D / 64; ++ch)
      for (int64_t kk = 0; kk < 4; ++kk)
        s = wgmma(s, descPlus(qDesc, ch * c.BM * 128 + kk * 32),
                  descPlus(kDesc, ch * c.BN * 128 + kk * 32), c.BN,
                  /*zeroInit=*/ch == 0 && kk == 0, /*bMNMajor=*/false);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);

    // Scores in the log2 domain.
    int64_t nS = c.BN / 2;
    SmallVector<Value> sv = unpack(s, nS);
    Value jBase = add(mul(n, ci32(c.BN)), mul(quadCol, ci32(2)));
    auto colOf = [&](int64_t r) { return add(jBase, ci32((r / 4) * 8 + (r % 2))); };
    SmallVector<Value> t(nS);
    if (!c.score) {
      Value k = cf32(c.scale * log2e);
      for (int64_t r = 0; r < nS; ++r)
        t[r] = fmul(sv[r], k);
    } else {
      Value k = cf32(c.scale), l2e = cf32(log2e);
      Value bI = toIdx(bIdx), hI = toIdx(hIdx);
      for (int64_t r = 0; r < nS; ++r) {
        FailureOr<Value> v = inlineRegion(
            *c.score, {fmul(sv[r], k), bI, hI, toIdx(rowOf(r)), toIdx(colOf(r))});
        if (failed(v))
          return failure();
        t[r] = fmul(*v, l2e);
      }
    }

    // Mask only where needed: the tile crosses Lk, the causal diagonal, or
    // there is a mask region.
    Value tileEnd = add(mul(n, ci32(c.BN)), ci32(c.BN));
    Value needMask = cmp(arith::CmpIPredicate::sgt, tileEnd, argLk);
    if (c.causal != CausalKind::None)
      needMask = orI(needMask, cmp(arith::CmpIPredicate::sgt, sub(tileEnd, ci32(1)),
                                   add(m0, causalOff)));
    if (c.mask)
      needMask = arith::ConstantIntOp::create(b, loc, 1, 1);
    auto ifMask = scf::IfOp::create(b, loc, SmallVector<Type>(nS, f32), needMask,
                                    /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifMask.thenBlock());
      SmallVector<Value> masked(nS);
      Value bI, hI;
      if (c.mask) {
        bI = toIdx(bIdx);
        hI = toIdx(hIdx);
      }
      for (int64_t r = 0; r < nS; ++r) {
        Value j = colOf(r), i = rowOf(r);
        Value keep = cmp(arith::CmpIPredicate::slt, j, argLk);
        if (c.causal != CausalKind::None)
          keep = andI(keep, cmp(arith::CmpIPredicate::sle, j, add(i, causalOff)));
        if (c.mask) {
          FailureOr<Value> mk = inlineRegion(*c.mask, {bI, hI, toIdx(i), toIdx(j)});
          if (failed(mk))
            return failure();
          keep = andI(keep, *mk);
        }
        masked[r] = select(keep, t[r], ninf);
      }
      scf::YieldOp::create(b, loc, masked);
      b.setInsertionPointToStart(ifMask.elseBlock());
      scf::YieldOp::create(b, loc, t);
    }
    for (int64_t r = 0; r < nS; ++r)
      t[r] = ifMask.getResult(r);

    // Online softmax: each thread holds rows A (r % 4 < 2) and B.
    Value mxA = ninf, mxB = ninf;
    for (int64_t r = 0; r < nS; ++r) {
      if ((r / 2) % 2)
        mxB = fmax(mxB, t[r]);
      else
        mxA = fmax(mxA, t[r]);
    }
    Value mNewA = fmax(mA, quadMax(mxA));
    Value mNewB = fmax(mB, quadMax(mxB));
    auto safe = [&](Value m) {
      return select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf),
                    zeroF, m);
    };
    Value mUseA = safe(mNewA), mUseB = safe(mNewB);
    Value alphaA = ex2(fsub(mA, mUseA)), alphaB = ex2(fsub(mB, mUseB));
    SmallVector<Value> p(nS);
    Value sumA = zeroF, sumB = zeroF;
    for (int64_t r = 0; r < nS; ++r) {
      bool rb = (r / 2) % 2;
      p[r] = ex2(fsub(t[r], rb ? mUseB : mUseA));
      if (rb)
        sumB = fadd(sumB, p[r]);
      else
        sumA = fadd(sumA, p[r]);
    }
    Value lNewA = fadd(fmul(lA, alphaA), sumA);
    Value lNewB = fadd(fmul(lB, alphaB), sumB);

    // P -> shared memory, K-major, 128B swizzle (16-byte chunk ^= row % 8;
    // row % 8 == quadRow for both rows of this thread).
    for (int64_t r = 0; r < nS; r += 2) {
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
    NVVM::BarrierOp::create(b, loc, TypeRange{}, add(wg, ci32(1)), ci32(128),
                            NVVM::BarrierReductionAttr(), Value());

    // O = alpha O + P V.
    SmallVector<Value> ov = unpack(oAcc, c.Dv / 2);
    for (int64_t r = 0; r < c.Dv / 2; ++r)
      ov[r] = fmul(ov[r], ((r / 2) % 2) ? alphaB : alphaA);
    Value o = pack(oTy, ov);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t ch = 0; ch < c.BN / 64; ++ch)
      for (int64_t kk = 0; kk < 4; ++kk)
        o = wgmma(o, descPlus(pDesc, ch * 8192 + kk * 32),
                  descPlus(vDesc, (ch * 4 + kk) * 2048), c.Dv, /*zeroInit=*/false,
                  /*bMNMajor=*/true);
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
    // Everyone is done with this stage and with P before they are refilled.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, ValueRange{o, mNewA, mNewB, lNewA, lNewB});
  }

  // Epilogue: normalise, store O and LSE.
  Value oFin = forOp.getResult(0);
  Value mFin[2] = {forOp.getResult(1), forOp.getResult(2)};
  Value lFin[2] = {quadSum(forOp.getResult(3)), quadSum(forOp.getResult(4))};
  SmallVector<Value> ov = unpack(oFin, c.Dv / 2);
  Value one = cf32(1.0);
  const double ln2 = 0.6931471805599453;
  for (int rr = 0; rr < 2; ++rr) {
    Value row = rr ? rowB : rowA;
    Value l = lFin[rr];
    Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l, zeroF);
    Value inv = select(pos, arith::DivFOp::create(b, loc, one, l), zeroF);
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
        Value lse = select(pos, fmul(fadd(mFin[rr], lg2(l)), cf32(ln2)), ninf);
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
    if (c.BN != 64 && c.BN != 128)
      return op.emitOpError("GPU kernel v1: block-n must be 64 or 128"), failure();
    if (c.sharedBytes() > 232448)
      return op.emitOpError() << "GPU kernel v1: needs " << c.sharedBytes()
                              << " bytes of shared memory (max 232448); use block-n=64",
             failure();
    if (op.getLink() != Link::exp || op.getAnchor() != Anchor::row)
      return op.emitOpError("GPU kernel v1: only softmax (link exp, anchor row)"), failure();
    if (op.getNullLogit() || op.getNullLogitExtra() || op.getScoreConv() ||
        op.getSinkhornIterations() != 0 || op.getWeightsSigned() ||
        op.getLinkPower().convertToDouble() != 1.0)
      return op.emitOpError("GPU kernel v1: null key, score_conv, sinkhorn, signed "
                            "weights and link powers are not supported"),
             failure();
    if (!op.getExtras().empty())
      return op.emitOpError("GPU kernel v1: extra inputs are not supported yet"), failure();
    for (Attribute a : op.getCarrier()) {
      auto causal = dyn_cast<CausalAttr>(a);
      if (!causal)
        return op.emitOpError() << "GPU kernel v1: carrier " << a << " not supported",
               failure();
      CausalKind k = causal.getAlign() == Align::top_left ? CausalKind::TopLeft
                                                          : CausalKind::BottomRight;
      if (c.causal != CausalKind::None && c.causal != k)
        return op.emitOpError("GPU kernel v1: two causal carriers with different "
                              "alignments"),
               failure();
      c.causal = k;
    }
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
