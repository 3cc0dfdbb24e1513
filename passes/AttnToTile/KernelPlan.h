//===- KernelPlan.h - the Hopper kernel's configuration -------------------===//
//
// What a kernel for one attention is, before any code: the plan
// attn-gpu-plan-kernel records (#attn.kernel_plan: tile shape, ring depth,
// warp roles, schedule) completed from the op (dims, regions, extras, the
// carrier's tile schedule, launch parameters) into a KernelConfig; the
// manifest it launches under. The tile kernel's builder (BuildTileKernel),
// the partition into steps, the tile passes and the lowering to NVVM all
// read it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_ATTNTOTILE_KERNELPLAN_H
#define ATTNC_PASSES_ATTNTOTILE_KERNELPLAN_H

#include "attnc/Passes/GPUPasses.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Analysis/CarrierTiles.h"

#include <optional>
#include <string>

namespace attnc::gpu {

/// Everything the emitter needs: the plan attn-gpu-plan-kernel recorded on
/// the op (#attn.kernel_plan) and what follows from the op itself (dims,
/// regions, extras, the carrier's tile schedule); configureKernel fills it.
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
  /// Registers per thread after setmaxnreg: the block's file is 168 x 384
  /// (one block per SM), split as producer x 128 + consumer x 256 <= that.
  /// 24 / 240 without the persistent plan. A persistent block's producer
  /// warpgroup carries an item's tile schedule through its loops (it
  /// spilled 50-500 bytes at 24): 56 / 224 (ptxas -v over the benchmark
  /// kernels, bench/NOTES.md).
  static constexpr int64_t kRegisterFile = 168 * 384;
  static constexpr int64_t kProducerRegs = 24, kConsumerRegs = 240;
  static constexpr int64_t kPersistentProducerRegs = 56, kPersistentConsumerRegs = 224;
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
  /// Plan v_scanner: warps 1-3 of the producer warpgroup scan V tiles with
  /// dropped pairs for NaN and Inf and release each V slot (and, when
  /// persistent, each Q slot) as one more reader. Never under the decode
  /// schedule: there the ring's round trip sets the speed, and the
  /// scanner's release in tile order added to it (bench/NOTES.md, the
  /// paged-decode regression); its consumers scan their own rare partial
  /// tiles, as every consumer does without the scanner.
  bool vScanner = true;
  /// Persistent blocks (not decode): one block per SM (the runtime caps the
  /// grid, manifest `persistent`) takes work items (query tile, head, batch)
  /// from a counter at the workspace's start until none is left.
  bool persistent = false;
  /// Persistent only: Q's shared-memory slots (item n uses slot n mod
  /// qSlots), so that with two the producer loads the next item's Q while
  /// the consumers still read the current one's.
  int64_t qSlots = 1;
  /// Grid boxes (the plan's q_patch, k_patch; empty: runs of tokens): tiles
  /// are boxes of the carrier's grid, plan.grid says which.
  llvm::SmallVector<int64_t, 3> qPatch, kPatch;
  /// Paged K/V (attention kv_pages): the k and v maps cover the pools, and
  /// each tile's rows come from the page table (extra `pageTable`), one TMA
  /// box of min(BN, pageSize) rows per page. 0: contiguous K/V.
  int64_t pageSize = 0;
  bool pagesHND = false;
  int64_t pageTable = -1;
  int64_t kvBoxRows() const { return pageSize ? std::min(BN, pageSize) : BN; }
  /// Decode: parameter indices of the workspace pointer and of S; persistent:
  /// the workspace pointer (its first word counts the items taken).
  int64_t wsParam = -1, sParam = -1;
  /// O stored through the item's Q slot and TMA (plan o_tma_store), with the
  /// parameter index of its tensor map (after the workspace).
  bool oTmaStore = false;
  int64_t oMapParam = -1;
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

  /// Exp-family links (exp, signed_exp) run online: weights shifted by a
  /// running row maximum (of s, or |s| for signed_exp) in the log2 domain,
  /// O rescaled when it moves, the shift put back or cancelled at the end.
  bool expFamily() const {
    return link == attnc::attn::Link::exp || link == attnc::attn::Link::signed_exp;
  }
  /// Whether the row mass l sums |w| (signed weights, or the row_abs anchor).
  bool absMass() const {
    return anchor == attnc::attn::Anchor::row_abs || link == attnc::attn::Link::identity ||
           link == attnc::attn::Link::signed_exp;
  }
  /// Shared memory (offsets from a 1024-aligned base), 128B-swizzled tiles of
  /// 64 columns: Q [qSlots][D/64][BM][64], 1 KiB of zeros, then the K ring
  /// [stages][D/64][BN][64], then the V ring [stages][Dv/64][BN][64].
  int64_t qBytes() const { return (Dp / 64) * BM * 128; }
  int64_t kBytes() const { return (Dp / 64) * BN * 128; }
  int64_t vBytes() const { return (Dvp / 64) * BN * 128; }
  /// The zero block: the B operand of a P V that the exact path has already
  /// added (EmitExactPV.cpp), read with both descriptor strides 0 (every
  /// core matrix the same 1 KiB). It sits before the K ring so that the
  /// whole extent of an ordinary operand from it is still allocated.
  int64_t zeroOff() const { return qSlots * qBytes(); }
  int64_t kOff(int64_t s) const { return zeroOff() + 1024 + s * kBytes(); }
  int64_t vOff(int64_t s) const { return kOff(stages) + s * vBytes(); }
  /// Decode: one flag word per consumer (is it the last partial?).
  int64_t flagsOff() const { return vOff(stages); }
  /// One word per ring slot: the tile ordinal whose V the scanner checked
  /// for NaN or Inf, and the answer (EmitExactPV.cpp).
  int64_t scanOff() const { return flagsOff() + (decode ? 16 : 0); }
  /// Persistent: two words, the work item announced with each parity of Q.
  int64_t workOff() const { return scanOff() + 4 * stages; }
  /// Persistent: per parity, the values of the item's tile schedule that
  /// take reads or loops, as the producer computed them (8 bytes each; see
  /// KernelEmitter::shareItemSchedule), which the other roles read with the
  /// item's word.
  static constexpr int64_t kMaxItemValues = 32;
  int64_t itemOff() const { return (workOff() + 8 + 7) / 8 * 8; }
  int64_t sharedBytes() const {
    return persistent ? itemOff() + 2 * kMaxItemValues * 8 + 1024 : workOff() + 1024;
  }
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

} // namespace attnc::gpu

#endif // ATTNC_PASSES_ATTNTOTILE_KERNELPLAN_H
