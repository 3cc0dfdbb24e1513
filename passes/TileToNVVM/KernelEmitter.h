//===- KernelEmitter.h - attn_tile -> gpu/nvgpu/nvvm, shared pieces -------===//
//
// The emitter that lowers one attn_tile.kernel (attn-tile-to-nvvm) into its
// gpu.func under the kernel's KernelConfig (passes/AttnToTile/KernelPlan.h).
// The walk over the tile program is LowerTileKernel.cpp; the op families:
//   EmitSchedule.cpp - kernel set-up, Q and the K/V ring (TMA, mbarriers),
//                      the tile loops' slots, the epilogue
//   EmitWGMMA.cpp    - shared-memory descriptors, wgmma (SS and register-A),
//                      waits and ping-pong turns
//   EmitSoftmax.cpp  - scores, mask, online softmax of one tile, O rescale
//   EmitRegions.cpp  - extras, score/mask regions, link weights
//   EmitDecode.cpp   - split-KV partials and their merge
//   EmitExactPV.cpp  - P V where a dropped pair meets a NaN or Inf in V
//   EmitWork.cpp     - persistent blocks: the work items each role runs
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_TILETONVVM_KERNELEMITTER_H
#define ATTNC_PASSES_TILETONVVM_KERNELEMITTER_H

#include "passes/AttnToTile/KernelPlan.h"
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
  /// Precomputes the span of `t` (a value that dominates every later use):
  /// the tile's span when its first and last rows share one document (noted
  /// by the tile schedule), else a search.
  void prepareDocumentSpan(mlir::OpBuilder &ob, unsigned n, mlir::Value t) override;
  void noteTileDocument(unsigned n, mlir::Value start0, mlir::Value end0, mlir::Value start1,
                        mlir::Value end1) override {
    tileDocs[n] = {start0, end0, start1, end1};
  }
  /// The row's bits of its tile word, read once per row and block (all keys
  /// of a key tile share one mask tile), then a shift per key.
  mlir::Value tileMaskBit(mlir::OpBuilder &ob, mlir::Location loc, attnc::attn::BlockListAttr bl,
                          mlir::Value batch, mlir::Value head, mlir::Value i,
                          mlir::Value j) override;
  /// Forgets the rows' words (a new tile's predicate is being built).
  void newTile() { tileMaskRows.clear(); }
  /// The tile's document spans now come from `map` (an item schedule read
  /// from shared memory in place of the one computed).
  void remapTileDocuments(const mlir::IRMapping &map);
  /// A CSR block list is the schedule itself (list mode); one read through
  /// its tile_mask still needs the bit of each pair.
  bool skipFamily(mlir::Attribute a) override {
    auto bl = mlir::dyn_cast<attnc::attn::BlockListAttr>(a);
    return bl && bl.getTileMask() < 0;
  }

private:
  KernelEmitter &e;
  std::map<std::pair<unsigned, const void *>, std::pair<mlir::Value, mlir::Value>> memo;
  std::map<std::pair<const void *, mlir::Block *>, mlir::Value> tileMaskRows;
  std::map<unsigned, std::array<mlir::Value, 4>> tileDocs;
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
  /// The address loadExtra reads (every index clamped into the table).
  mlir::Value extraAddress(mlir::OpBuilder &ob, unsigned n, mlir::ValueRange indices);
  std::pair<mlir::Value, mlir::Value> documentSpan(mlir::OpBuilder &ob, unsigned n,
                                                   mlir::Value t);
  /// Clones a single-block attn region with f32 in place of the element type;
  /// returns the yielded value, and in `additiveTerm` (when given) t where
  /// the region yields s + t with t not computed from s (null otherwise).
  mlir::FailureOr<mlir::Value> inlineRegion(mlir::Region &r, llvm::ArrayRef<mlir::Value> args,
                                            mlir::Value *additiveTerm = nullptr);
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
  /// x / d, x // d or x % d (op's kind) in i32 for d > 0 the same for every
  /// pair of a tile: u / d as umulhi(m, u) plus shifts, m and the shifts
  /// computed from d alone, so that they leave the tile loop.
  mlir::Value divideByInvariant(mlir::Operation &op, mlir::Value x, mlir::Value d);
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
  std::map<std::array<int64_t, 3>, mlir::Value> affineParities; // (rowKey, a, b) -> i32 bit 31
  /// sitofp(E) for E = a*j + b*i + c over the region's i and j, or null.
  mlir::Value affineToFloat(mlir::Block &blk, mlir::arith::SIToFPOp cv);
  /// Bit 31 set where E (as above) is odd, from the row's parity and the
  /// constant's (no conversion per score), or null.
  mlir::Value affineOddBit(mlir::Block &blk, mlir::arith::SIToFPOp cv);

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
  mlir::LogicalResult checkLoopAgainstPlan(mlir::Operation *op, bool alternate, bool turns);
  /// Lowering the consumers' region (loops there follow the plan's roles).
  bool inConsumers = false;
  /// skipReleaseQ: a pipelined loop's drain, whose release_q runs before it.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> lowerBlock(mlir::Block &blk,
                                                             bool skipReleaseQ = false);
  mlir::LogicalResult lowerOp(mlir::Operation &op);
  mlir::LogicalResult lowerWarpRoles(attnc::tile::WarpSpecializeOp op);
  mlir::LogicalResult lowerForTiles(attnc::tile::ForTilesOp op);
  mlir::LogicalResult lowerPipelinedFor(attnc::tile::PipelinedForOp op);
  mlir::FailureOr<mlir::scf::ForOp> tileLoop(mlir::Value from, mlir::ValueRange init,
                                             mlir::Block &body, bool alternate);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  ifMine(mlir::Value n, mlir::ValueRange it,
         llvm::function_ref<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(mlir::ValueRange)> run);
  /// Per family: EmitSchedule.cpp (Q, ring), EmitWGMMA.cpp (products,
  /// waits, turns), EmitSoftmax.cpp (accumulator, statistics, softmax).
  mlir::LogicalResult lowerRingOp(mlir::Operation *op);
  mlir::LogicalResult lowerMmaOp(mlir::Operation *op);
  mlir::LogicalResult lowerSoftmaxOp(mlir::Operation *op);

  // ---- EmitWork.cpp (the persistent plan) ----
  enum class WorkRole { Producer, Scanner, Consumer };
  mlir::LogicalResult lowerForWork(attnc::tile::ForWorkOp op);
  /// Runs `body` once per item the block takes, as `role` learns them, with
  /// the item's rows and tile schedule set up and the ring's ordinals
  /// continuing (ringBase in, ringNext out).
  mlir::LogicalResult workLoop(WorkRole role, llvm::function_ref<mlir::LogicalResult()> body);
  mlir::Value queryTiles();
  mlir::Value numWorkItems();
  void setUpWorkItem(mlir::Value w, WorkRole role);
  /// Item `workCount`'s schedule values in shared memory (8 bytes each).
  mlir::Value itemValueAddr(int64_t n);
  /// Builds the item's tile schedule (qtc). Of its values, those whose
  /// computation reads memory or loops (document searches, mask bisections,
  /// list offsets) are computed once per item: the producer (`publish`)
  /// writes them to shared memory before Q's arrival announces the item, the
  /// other roles read them there; the cheap rest every role computes (and
  /// folds). Where they do not fit, every role computes all.
  void shareItemSchedule(const attnc::TileEnv &env, mlir::Value bx, mlir::Value firstRow,
                         mlir::Value lastRow, bool publish);
  mlir::Value workWord(mlir::Value count);
  /// Item `count`'s Q slot (index) and the parity of its phase on that
  /// slot's barriers: with one slot every item is a phase of slot 0; with
  /// two, items alternate slots and each slot sees every other item.
  mlir::Value qSlotOf(mlir::Value count);
  mlir::Value qPhaseOf(mlir::Value count);
  /// Producer: wait until the item before this one on its Q slot is
  /// released, then write `item` to the word of workCount's parity (Q's
  /// arrival announces it).
  void announceWork(mlir::Value item);
  /// Producer: waits until the item before workCount's on its Q slot is
  /// released (its word and schedule area are then free).
  void waitForSlotRelease();
  /// The other roles: wait for Q of item workCount, then read its word.
  mlir::Value announcedWork();
  /// Done with the item's Q: `threads` threads meet on `barId`, then
  /// `leader` arrives on the Q empty barrier.
  void leaveItem(mlir::Value barId, int64_t threads, mlir::Value leader);

  // ---- EmitSchedule.cpp ----
  void setUp(mlir::gpu::GPUFuncOp fn);
  /// How a role gets the item's tile schedule (persistent blocks share it).
  enum class ItemSchedule { Compute, Publish, Adopt };
  void setUpItem(mlir::Value bx, ItemSchedule how = ItemSchedule::Compute);
  void setUpRows(mlir::Value bx, mlir::Value &firstRow, mlir::Value &lastRow);
  mlir::Value nextSlot(mlir::Value from);
  void loadQ();
  void loadK(mlir::Value tile, mlir::Value stage);
  void loadV(mlir::Value tile, mlir::Value stage);
  void loadKV(mlir::Value tile, mlir::Value stage, bool isV);
  void loadPagedKV(mlir::Value tile, mlir::Value stage, mlir::Value base, mlir::Value full,
                   mlir::Value map, int64_t chunks);
  mlir::MemRefType kvBoxType();
  /// The smem type of a grid box's TMA load ([1, p0, .., 64]).
  mlir::MemRefType gridBoxType(bool key);
  /// The TMA coordinates of grid box `tile` for 64-column chunk ch.
  llvm::SmallVector<mlir::Value> gridBoxCoords(mlir::Value tile, bool key, int64_t ch,
                                               mlir::Value bh);
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
  /// O += P V with P (packed pairs, then the tile's `dropped` flag) in
  /// registers (issued and committed). In a tile with dropped pairs whose V
  /// holds a NaN or Inf, the exact path (EmitExactPV.cpp) runs instead.
  /// `arrival` (may be null): the last op of the V tile's ring_get, where
  /// the check runs if P and O are defined there (before the next QK^T is
  /// issued, so that its accumulator is not live across the check).
  mlir::Value issuePV(mlir::Value o, llvm::ArrayRef<mlir::Value> pPacked, mlir::Value vStage,
                      std::pair<mlir::Operation *, mlir::Value> arrival);

  // ---- EmitExactPV.cpp ----
  /// Whether the V tile of ring slot `stage` (tile ordinal `ordinal`) holds
  /// a NaN or an Inf (i1, uniform): as the producer warpgroup's scanner
  /// found it (a wait on the slot's scan barrier and a read of its word),
  /// or, without a scanner, as the calling consumer warpgroup scans it.
  mlir::Value scannedNonFinite(mlir::Value stage, mlir::Value ordinal);
  /// Warps 1-3 of the producer warpgroup: every V tile with dropped pairs
  /// checked once as it arrives (EmitExactPV.cpp).
  void emitVScanner();
  /// The check by `threads` threads (thread index `tIn`), agreed on named
  /// barrier `barId`.
  mlir::Value scanVTileBy(mlir::Value stage, mlir::Value tIn, int64_t threads, mlir::Value barId);
  /// O + P V on the CUDA cores, a zero weight adding nothing (0 x NaN too).
  mlir::Value exactPV(mlir::Value o, llvm::ArrayRef<mlir::Value> pPacked, mlir::Value stage);
  /// The shared-space address (i32) of the V tile in slot `stage`.
  mlir::Value vTileAddr(mlir::Value stage);

  // ---- EmitSoftmax.cpp ----
  struct Soft {
    llvm::SmallVector<mlir::Value> p; // f32 weights, accumulator order
    RowState st;
    mlir::Value alphaA, alphaB; // O rescale (null without a running max)
    mlir::Value dropped;        // i1: the tile dropped pairs (zero weights)
  };
  mlir::Value needMaskOf(mlir::Value n, mlir::Value tile);
  mlir::Value keyBase(mlir::Value n);
  int64_t keyOffset(int64_t r);
  mlir::FailureOr<Soft> softmaxTile(mlir::Value s, mlir::Value n, mlir::Value tile,
                                    RowState in);
  mlir::FailureOr<llvm::SmallVector<mlir::Value>> maskScores(llvm::ArrayRef<mlir::Value> tv,
                                                             mlir::Value n);
  llvm::SmallVector<mlir::Value> maskScoresInBox(llvm::ArrayRef<mlir::Value> tv, mlir::Value n);
  mlir::Value rescaleO(mlir::Value o, mlir::Value alphaA, mlir::Value alphaB);
  llvm::SmallVector<mlir::Value> packP(llvm::ArrayRef<mlir::Value> p);
  mlir::Value linkWeight(mlir::Value s);
  /// x^y; with `intExponent`, y is an integer and a negative x gives the
  /// sign of (-1)^y, from `oddBit` (bit 31 set where y is odd) when given.
  mlir::Value powApprox(mlir::Value x, mlir::Value y, bool intExponent, mlir::Value oddBit = {});
  /// sin or cos of x: a three-constant Cody-Waite reduction into [-pi, pi]
  /// and the hardware approximation.
  mlir::Value trigApprox(mlir::Value x, bool cosine);
  mlir::Value erfApprox(mlir::Value x);

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
  mlir::Value fdiv(mlir::Value x, mlir::Value y, std::optional<double> literalY = std::nullopt);
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
  /// Plan o_tma_store: O rows into the Q slot, then to global by TMA.
  void stageORow(llvm::ArrayRef<mlir::Value> ov, int rr, mlir::Value inv);
  void storeStagedO();
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
  mlir::Value oMapArg; // plan o_tma_store only: the O map's parameter
  mlir::Value argB, argH, argHq, argHk, argLq, argLk;
  /// This block's key length (i32): Lk, or its sequence's under `lengths`.
  mlir::Value lkEff;
  /// The KV head this block reads (i32).
  mlir::Value kvHead;
  mlir::Value tid, wg, cw, warp, lane, quadRow, quadCol, isWGLeader;
  mlir::Value bIdx, hIdx, m0, bhq, bhk, bhOut;
  mlir::Value qTileIdx; // i32: the item's query tile
  // Grid boxes: rows A and B's window per axis, [lo, lo + width] (i32).
  llvm::SmallVector<mlir::Value, 3> gridRowLo[2], gridRowWidth[2];
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
  /// Persistent: the Q tile is free for the next item (consumers, scanner);
  /// the item being lowered (i32) and its index among the block's (index).
  mlir::Value qEmpty, workItem, workCount;
  /// The ring ordinal of the item's first kept tile, and after a tile loop
  /// the one past its last (both 0-based over the block's items).
  mlir::Value ringBase, ringNext, ringZero;
  /// Per V slot: the scanner has left its answer in the slot's word.
  mlir::Value vScan;
  mlir::Value qDesc, nSlots, ticks;
  /// The current item's Q slot (index; 0 outside the persistent plan).
  mlir::Value qSlot;
  /// Per V tile (smem value of a ring_get): the last op of its wait (null
  /// when it has none), and the tile's ordinal (index).
  llvm::DenseMap<mlir::Value, std::pair<mlir::Operation *, mlir::Value>> vArrivals;
  std::unique_ptr<KernelAccess> access;
  std::unique_ptr<attnc::QueryTileCarrier> qtc;
};

} // namespace attnc::gpu

#endif // ATTNC_PASSES_TILETONVVM_KERNELEMITTER_H
