//===- KernelEmitter.h - attn.attention -> Hopper kernel, shared pieces ---===//
//
// The kernel plan (KernelConfig: tile shape, ring depth, warp roles, links,
// extras) and the emitter that builds one warp-specialized flash-attention
// gpu.func from it. The emitter is split by op family:
//   EmitRegions.cpp  - extras, score/mask regions, link weights
//   EmitWGMMA.cpp    - shared-memory descriptors, wgmma (SS and register-A)
//   EmitSoftmax.cpp  - scores, mask, online softmax of one tile, O rescale
//   EmitSchedule.cpp - roles: TMA producer, ping-pong consumers, epilogue
//   KernelManifest.cpp - the JSON manifest (docs/gpu-abi.md)
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_GPU_KERNELEMITTER_H
#define ATTNC_PASSES_GPU_KERNELEMITTER_H

#include "attnc/Passes/AttnToNVVM.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/AttnTile/AttnTileDialect.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierTiles.h"
#include "attnc/Analysis/RegionIntRanges.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace attnc::gpu {

enum class CausalKind { None, TopLeft, BottomRight };

/// Everything the emitter needs: the plan attn-gpu-plan-kernel recorded on
/// the op (#attn.kernel_plan) and what follows from the op itself (dims,
/// regions, extras, the carrier's tile schedule); BuildKernel.cpp fills it.
struct KernelConfig {
  std::string name;
  mlir::Type elemTy;
  int64_t D = 0, Dv = 0;
  /// D and Dv rounded up to the 64-column chunks of the tiles: TMA fills the
  /// columns past D with zeros (they add nothing to QK^T) and the epilogue
  /// stores only the first Dv columns of O.
  int64_t Dp = 0, Dvp = 0;
  int64_t BM = 128, BN = 128;
  /// Depth of the K and V rings (each stage holds one K and one V tile).
  int64_t stages = 2;
  /// Warp roles: warpgroup 0 produces (one thread issues TMA), warpgroups
  /// 1..kConsumerWGs each own 64 query rows of the BM = 128 tile.
  static constexpr int64_t kConsumerWGs = 2;
  static constexpr int64_t kThreads = 128 * (kConsumerWGs + 1);
  /// Registers per thread after setmaxnreg (24 * 128 + 240 * 256 <= 64K).
  static constexpr int64_t kProducerRegs = 24, kConsumerRegs = 240;
  /// The deepest decode ring: an 8-deep ring (D = 64) faulted in its first
  /// K copy on the H200, 6 runs at the copy ceiling (bench/NOTES.md, paged KV).
  static constexpr int64_t kMaxDecodeStages = 6;
  /// Shared memory one block may use (227 KiB on sm_90).
  static constexpr int64_t kMaxShared = 232448;
  /// The two consumer warpgroups take turns issuing their GEMMs (named
  /// barriers), so one's softmax runs under the other's tensor-core work.
  bool pingpong = true;
  /// Decode schedule (few query rows, long keys): BM = 64 rows shared by both
  /// consumers, which take alternate key tiles; the grid's z axis also splits
  /// the key tiles (run-time split count S); every consumer writes a partial
  /// (O, max, sum) to the workspace and the last to finish merges them.
  bool decode = false;
  /// Decode only: the query heads of one KV head may share a tile (row r:
  /// head h0 + r / Lq, query r % Lq), so K/V are read once per group. The
  /// grid packs them when Hq == H (G = H / grid.y, chosen at run time); only
  /// where the tile schedule does not depend on the head (no block list, no
  /// mask region reading h).
  bool packHeads = false;
  /// Paged K/V (attention kv_pages): the k and v maps cover the pools, and
  /// each tile's rows come from the page table (extra `pageTable`), one TMA
  /// box of min(BN, pageSize) rows per page. 0: contiguous K/V.
  int64_t pageSize = 0;
  bool pagesHND = false;
  int64_t pageTable = -1;
  int64_t kvBoxRows() const { return pageSize ? std::min(BN, pageSize) : BN; }
  /// Decode only: parameter indices of the workspace pointer and of S.
  int64_t wsParam = -1, sParam = -1;
  CausalKind causal = CausalKind::None;
  double scale = 1.0;
  mlir::Region *score = nullptr; // null when empty
  mlir::Region *mask = nullptr;
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
    mlir::RankedTensorType type;
    mlir::Type elem; // f32, i32 or i64 as passed
    llvm::SmallVector<int64_t> dimParam; // per dim: parameter index or -1
  };
  llvm::SmallVector<Extra> extras;
  int64_t numParams = 11;

  bool isExp() const { return link == attnc::attn::Link::exp; }
  /// Shared memory (offsets from a 1024-aligned base), 128B-swizzled tiles of
  /// 64 columns: Q [D/64][BM][64], then the K ring [stages][D/64][BN][64],
  /// then the V ring [stages][Dv/64][BN][64].
  int64_t qBytes() const { return (Dp / 64) * BM * 128; }
  int64_t kBytes() const { return (Dp / 64) * BN * 128; }
  int64_t vBytes() const { return (Dvp / 64) * BN * 128; }
  int64_t kOff(int64_t s) const { return qBytes() + s * kBytes(); }
  int64_t vOff(int64_t s) const { return qBytes() + stages * kBytes() + s * vBytes(); }
  /// Decode: one flag word per consumer (is it the last partial?).
  int64_t flagsOff() const { return qBytes() + stages * (kBytes() + vBytes()); }
  int64_t sharedBytes() const { return flagsOff() + (decode ? 16 : 0) + 1024; }
  std::string dtypeName() const { return elemTy.isBF16() ? "bf16" : "f16"; }
  std::string causalName() const;
};

/// Refuses (with the reason, on the op) what the kernel cannot compute:
/// dtypes, ranks, head dims, links, anchors, score convolutions.
mlir::LogicalResult checkKernelSupport(attnc::attn::AttentionOp op);

/// The kernel's plan for `op` under the options of attn-gpu-plan-kernel
/// (checkKernelSupport first), or failure with the reason as a diagnostic.
mlir::FailureOr<attnc::attn::KernelPlanAttr> planKernel(attnc::attn::AttentionOp op,
                                                        const AttnGPUPlanKernelOptions &options);
/// The whole KernelConfig of `op` under `plan` (attn-gpu-plan-kernel's):
/// dims, links, extras and parameters, the carrier's tile schedule. The
/// tile kernel's builder and its lowering both read it.
mlir::FailureOr<KernelConfig> configureKernel(attnc::attn::AttentionOp op, llvm::StringRef name,
                                              attnc::attn::KernelPlanAttr plan);
/// Whether a score region reads i or j other than through floats affine in
/// them (EmitRegions.cpp, affineToFloat), which needs registers per score.
bool scoreNeedsRegisters(mlir::Region *score);
/// D, Dv and their 64-column paddings from the op.
void initHeadDims(attnc::attn::AttentionOp op, KernelConfig &c);
/// Fills c's plan fields (and head dims) from `plan`, checked against what
/// the emitter implements; both GPU passes use it, so that a plan the plan
/// pass records always builds and a hand-written one is refused with a reason.
mlir::LogicalResult applyKernelPlan(attnc::attn::AttentionOp op, attnc::attn::KernelPlanAttr plan,
                                    KernelConfig &c);
/// Whether the split_kv schedule may pack the query heads of a KV head into
/// one tile: only where the tile schedule does not depend on the head.
bool headsPackable(attnc::attn::AttentionOp op, const attnc::CarrierTilePlan &tiles);

/// The kernel's manifest (docs/gpu-abi.md) as the structured attribute the
/// gpu.func carries (attnc.manifest).
mlir::DictionaryAttr buildManifestAttr(const KernelConfig &c, mlir::MLIRContext *ctx);
/// The parameters the manifest marks by_value (the tensor maps): the kernel
/// takes them as __grid_constant__ parameters.
llvm::SmallVector<int64_t> byValueParams(const KernelConfig &c);

class KernelEmitter;

/// The carrier predicate's view of the kernel: extras are device pointers,
/// the mask region is inlined in f32, document spans of this thread's rows
/// are computed once, and block lists are guaranteed by the tile schedule.
class KernelAccess : public attnc::CarrierAccess {
public:
  explicit KernelAccess(KernelEmitter &e) : CarrierAccess(mlir::ValueRange{}), e(e) {}
  mlir::Value loadIndex(mlir::OpBuilder &ob, mlir::Location loc, unsigned n,
                        mlir::ValueRange idx) override;
  mlir::Value dim(mlir::OpBuilder &ob, mlir::Location, unsigned n, unsigned d) override;
  mlir::Value inlineMask(mlir::OpBuilder &ob, mlir::Location loc, mlir::Region &mask,
                         mlir::ValueRange args) override;
  std::pair<mlir::Value, mlir::Value> documentSpan(mlir::OpBuilder &ob, mlir::Location,
                                                   unsigned n, mlir::Value t) override;
  mlir::Value outerValue(mlir::OpBuilder &ob, mlir::Location loc, mlir::Value v) override;
  /// Precomputes the span of `t` (a value that dominates every later use).
  void remember(mlir::OpBuilder &ob, unsigned n, mlir::Value t);
  bool skipFamily(mlir::Attribute a) override {
    return mlir::isa<attnc::attn::BlockListAttr>(a);
  }

private:
  KernelEmitter &e;
  std::map<std::pair<unsigned, const void *>, std::pair<mlir::Value, mlir::Value>> memo;
};

/// One consumer's online-softmax state for its two accumulator rows (A: row
/// quadRow, B: row quadRow + 8 of the warp's 16).
struct RowState {
  mlir::Value mA, mB, lA, lB;
};

/// Emits the kernel body. Scalar index math is i32 (arith), converted to
/// index where an op wants one.
class KernelEmitter {
public:
  KernelEmitter(mlir::OpBuilder &b, mlir::Location loc, const KernelConfig &c);
  ~KernelEmitter();

  /// Lowers `kernel` (warp-specialized) into the body of `fn`, before it.
  mlir::LogicalResult lowerKernel(mlir::gpu::GPUFuncOp fn, attnc::tile::KernelOp kernel);

  // ---- EmitRegions.cpp (also used by KernelAccess) ----
  mlir::Value extraDim(mlir::OpBuilder &ob, unsigned n, unsigned d);
  mlir::Value loadExtra(mlir::OpBuilder &ob, unsigned n, mlir::ValueRange indices);
  std::pair<mlir::Value, mlir::Value> documentSpan(mlir::OpBuilder &ob, unsigned n,
                                                   mlir::Value t);
  /// Clones a single-block attn region with f32 in place of the element type;
  /// returns the yielded value.
  mlir::FailureOr<mlir::Value> inlineRegion(mlir::Region &r, llvm::ArrayRef<mlir::Value> args);
  mlir::LogicalResult inlineOps(mlir::Region &r, mlir::Block &blk, mlir::IRMapping &map);
  mlir::LogicalResult inlineLoop(mlir::Region &r, mlir::scf::ForOp loop, mlir::IRMapping &map);
  bool regionFailed = false;
  /// 32-bit index math (RegionIntRanges): the region being inlined, and its
  /// values computed in i32 so far (per inlining, like its IRMapping).
  struct NarrowScope {
    const attnc::RegionIntRanges *ranges = nullptr;
    llvm::DenseMap<mlir::Value, mlir::Value> *values = nullptr;
  };
  NarrowScope narrow;
  std::map<mlir::Region *, std::unique_ptr<attnc::RegionIntRanges>> intRanges;
  /// |x| as compare + select: math.absi has no lowering in the NVVM pipeline.
  mlir::Value absInt(mlir::Value x);
  /// The i32 form of a region value that fits 32 bits.
  mlir::Value narrowOf(mlir::Value orig, mlir::IRMapping &map);
  /// Inlines `op` in 32 bits when RegionIntRanges allows it; false otherwise.
  bool inlineNarrow(mlir::Operation &op, mlir::IRMapping &map);

  /// The score element being inlined (softmaxTile): key j = jBase + jOff
  /// (jBase i32 per tile and thread, jOff a constant of the accumulator
  /// layout) of row `row` (index; rowKey 0 or 1). With it, a float of an
  /// expression affine in i and j (ALiBi's j - i, relative positions) is
  /// one conversion per row and tile plus a constant add per score, instead
  /// of a 64-bit integer-to-float conversion per score (the MUFU pipe that
  /// ex2 needs). Two roundings (the base, then the add): exact while both
  /// |a*jBase + b*i| and |a*j + b*i + c| are below 2^24, else within an ulp.
  struct ScoreElement {
    mlir::Value jBase, row;
    int64_t jOff = 0, rowKey = 0;
  };
  std::optional<ScoreElement> scoreElement;
  std::map<std::array<int64_t, 3>, mlir::Value> affineBases; // (rowKey, a, b) -> f32
  /// sitofp(E) for E = a*j + b*i + c over the region's i and j, or null.
  mlir::Value affineToFloat(mlir::Block &blk, mlir::arith::SIToFPOp cv);

private:
  // ---- LowerTileKernel.cpp: tile values and the walk ----
  llvm::DenseMap<mlir::Value, llvm::SmallVector<mlir::Value>> tileValues;
  llvm::SmallVector<mlir::Value> lowered(mlir::Value v);
  mlir::Value lowered1(mlir::Value v);
  llvm::SmallVector<mlir::Value> loweredAll(mlir::ValueRange vs);
  void bind(mlir::Value v, llvm::ArrayRef<mlir::Value> vals);
  void bindAll(mlir::ValueRange vs, mlir::ValueRange flat);
  llvm::SmallVector<mlir::Type> loweredTypes(mlir::Type t);
  llvm::SmallVector<mlir::Type> loweredTypes(mlir::TypeRange ts);
  llvm::SmallVector<mlir::Value> placeholder(mlir::Type t);
  RowState rowState(mlir::Value stats);
  mlir::LogicalResult checkTileTypes(attnc::tile::KernelOp kernel);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> lowerBlock(mlir::Block &blk);
  mlir::LogicalResult lowerOp(mlir::Operation &op);
  mlir::LogicalResult lowerWarpRoles(attnc::tile::WarpSpecializeOp op);
  mlir::LogicalResult lowerForTiles(attnc::tile::ForTilesOp op);
  mlir::LogicalResult lowerPipelinedFor(attnc::tile::PipelinedForOp op);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  ifMine(mlir::Value n, mlir::ValueRange it,
         llvm::function_ref<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(mlir::ValueRange)> run);
  /// Per family: EmitSchedule.cpp (Q, ring), EmitWGMMA.cpp (products,
  /// waits, turns), EmitSoftmax.cpp (accumulator, statistics, softmax).
  mlir::LogicalResult lowerRingOp(mlir::Operation *op);
  mlir::LogicalResult lowerMmaOp(mlir::Operation *op);
  mlir::LogicalResult lowerSoftmaxOp(mlir::Operation *op);

  // ---- EmitSchedule.cpp ----
  void setUp(mlir::gpu::GPUFuncOp fn);
  void setUpRows(mlir::Value bx, mlir::Value &firstRow, mlir::Value &lastRow);
  mlir::Value nextSlot(mlir::Value from);
  void loadQ();
  void loadK(mlir::Value tile, mlir::Value stage);
  void loadV(mlir::Value tile, mlir::Value stage);
  void loadKV(mlir::Value tile, mlir::Value stage, bool isV);
  void loadPagedKV(mlir::Value tile, mlir::Value stage, mlir::Value base, mlir::Value full,
                   mlir::Value map, int64_t chunks);
  mlir::MemRefType kvBoxType();
  /// lReduced: st.l already holds the row's sum (not this thread's part).
  void emitEpilogue(mlir::Value o, RowState st, bool lReduced = false);
  /// Decode: store this consumer's partial, count it, and let the last
  /// partial of the output tile merge all of them and run the epilogue.
  void emitDecodeEpilogue(mlir::Value o, RowState st);
  /// Decode: (O, row max, row sum) merged over the tile's partials.
  std::pair<mlir::Value, RowState> mergePartials();
  mlir::Value partialRow(mlir::Value row);
  mlir::Value partialOAddr(mlir::Value p, mlir::Value rowLin, mlir::Value col);
  mlir::Value partialMLAddr(mlir::Value p, mlir::Value rowLin, int64_t which);
  /// Row index (i64) into o / lse of tile row `row` (i32): (b * H + h0) * Lq
  /// + row, in 64 bits (B * H * Lq may pass 2^31).
  mlir::Value outputRow(mlir::Value row);
  /// Slot loop over [lo, nSlots) skipping invalid slots (list mode);
  /// `body(slot, tile, iterArgs)` returns the next iter args.
  using SlotBody = llvm::function_ref<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(
      mlir::Value, mlir::Value, mlir::ValueRange)>;
  mlir::FailureOr<mlir::scf::ForOp> slotLoop(mlir::Value lo, mlir::ValueRange init,
                                             SlotBody body);
  // Ring bookkeeping for tile ordinal k (index): stage k % stages, phase
  // parity (k / stages) % 2.
  mlir::Value stageOf(mlir::Value k);
  mlir::Value parityOf(mlir::Value k);
  void waitBar(mlir::Value group, mlir::Value stage, mlir::Value parity);
  void arriveBar(mlir::Value group, mlir::Value stage);

  // ---- EmitWGMMA.cpp ----
  mlir::Value makeDesc(mlir::Value off, int64_t lbo, int64_t sbo);
  mlir::Value descPlus(mlir::Value desc, int64_t bytes);
  mlir::Value wgmmaSS(mlir::Value acc, mlir::Value descA, mlir::Value descB, int64_t n,
                      bool zeroInit, bool bMNMajor);
  mlir::Value wgmmaRS(mlir::Value acc, llvm::ArrayRef<mlir::Value> a, mlir::Value descB,
                      int64_t n);
  mlir::Value kDescOf(mlir::Value stage);
  mlir::Value vDescOf(mlir::Value stage);
  /// S = Q K^T for this warpgroup's 64 rows (issued and committed).
  mlir::Value issueS(mlir::Value kDesc);
  /// O += P V with P (packed pairs) in registers (issued and committed).
  mlir::Value issuePV(mlir::Value o, llvm::ArrayRef<mlir::Value> pPacked, mlir::Value vDesc);

  // ---- EmitSoftmax.cpp ----
  struct Soft {
    llvm::SmallVector<mlir::Value> p; // f32 weights, accumulator order
    RowState st;
    mlir::Value alphaA, alphaB; // O rescale (null without a running max)
  };
  mlir::Value needMaskOf(mlir::Value n, mlir::Value tile);
  mlir::FailureOr<Soft> softmaxTile(mlir::Value s, mlir::Value n, mlir::Value tile,
                                    RowState in);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> maskScores(llvm::ArrayRef<mlir::Value> tv,
                                                             mlir::Value n);
  mlir::Value rescaleO(mlir::Value o, mlir::Value alphaA, mlir::Value alphaB);
  llvm::SmallVector<mlir::Value> packP(llvm::ArrayRef<mlir::Value> p);
  mlir::Value linkWeight(mlir::Value s);

public:
  mlir::FailureOr<mlir::Value> materializeOuter(mlir::Value v);
  // ---- small builders ----
  mlir::Value ci32(int64_t v);
  mlir::Value ci64(int64_t v);
  mlir::Value cidx(int64_t v);
  mlir::Value cf32(double v);
  mlir::Value negInf();
  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value sub(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  mlir::Value toIdx(mlir::Value v);
  mlir::Value toI32(mlir::Value v);
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value x, mlir::Value y);
  mlir::Value andI(mlir::Value x, mlir::Value y);
  mlir::Value orI(mlir::Value x, mlir::Value y);
  mlir::Value fadd(mlir::Value x, mlir::Value y);
  mlir::Value fsub(mlir::Value x, mlir::Value y);
  mlir::Value fmul(mlir::Value x, mlir::Value y);
  mlir::Value fmax(mlir::Value x, mlir::Value y);
  mlir::Value select(mlir::Value c0, mlir::Value x, mlir::Value y);
  mlir::Value ex2(mlir::Value x);
  mlir::Value lg2(mlir::Value x);
  mlir::Value quadMax(mlir::Value v);
  mlir::Value quadSum(mlir::Value v);
  /// Combines v across the 4 threads of a quad (one accumulator row).
  mlir::Value quadReduce(mlir::Value v,
                         llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine);
  void ifThen(mlir::Value cond, llvm::function_ref<void()> body);
  /// A TMA box of `rows` x 64 elements: [1, rows, 64] for the 3-D maps over
  /// [B*H, L, D], [rows, 64] (flat) for the 2-D map of packed q rows.
  mlir::MemRefType tileType(int64_t rows, bool flat = false);
  mlir::Value smemView(mlir::Value byteOff, mlir::MemRefType t);
  mlir::LLVM::LLVMStructType accType(int64_t n);
  llvm::SmallVector<mlir::Value> unpack(mlir::Value st, int64_t n);
  mlir::Value pack(mlir::Type st, llvm::ArrayRef<mlir::Value> vals);
  mlir::Value packHalf2(mlir::Value lo, mlir::Value hi);
  /// One inline PTX statement; resTy null for none. sideEffects = false lets
  /// LLVM treat it as a pure function of its operands.
  mlir::Value inlinePtx(mlir::Type resTy, mlir::ValueRange args, llvm::StringRef text,
                        llvm::StringRef constraints, bool sideEffects = true);

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
  const KernelConfig &c;
  mlir::MLIRContext *ctx;
  mlir::Type f32, i32, i64, i16, i8, idx, ptrTy;
  mlir::Attribute wgAS;

  // Kernel-wide values (setUp).
  mlir::Value dyn, pad, smemBase64; // dynamic smem, pad to 1024, aligned base (i64)
  mlir::Value qMap, kMap, vMap, oPtr, lsePtr;
  mlir::Value argB, argH, argHq, argHk, argLq, argLk;
  /// This block's key length (i32): Lk, or its sequence's under `lengths`.
  mlir::Value lkEff;
  /// The KV head this block reads (i32).
  mlir::Value kvHead;
  mlir::Value tid, wg, cw, warp, lane, quadRow, quadCol, isWGLeader;
  mlir::Value bIdx, hIdx, m0, bhq, bhk, bhOut;
  mlir::Value bI, hI, lqI, lkI, rowA, rowB, rowAIdx, rowBIdx;
  // Per accumulator row: output head (index); rowAIdx/rowBIdx hold the query
  // position i. rowsValid: rows of this (b, head group) that exist.
  mlir::Value hAIdx, hBIdx, rowsValid, h0;
  // Decode: split index and S, the slot range [slotLo, slotHi) of the split,
  // the workspace, and the output tile's id (its counter). nRowsAll =
  // B * H * Lq (i64).
  mlir::Value argS, splitIdx, wsPtr, tileId, nRowsAll, wsOBase, wsMLBase;
  mlir::Value slotLo, slotHi;
  llvm::SmallVector<mlir::Value> fnArgs, extraArgs;
  mlir::Value qBar, kFull, kEmpty, vFull, vEmpty;
  mlir::Value qDesc, nSlots, ticks;
  std::unique_ptr<KernelAccess> access;
  std::unique_ptr<attnc::QueryTileCarrier> qtc;
};

} // namespace attnc::gpu

#endif // ATTNC_PASSES_GPU_KERNELEMITTER_H
