//===- PlanKernel.cpp - the Hopper kernel plan of each attention ----------===//
//
// attn-gpu-plan-kernel: the first stage of the GPU pipeline. Refuses what the
// kernel cannot compute (with the reason) and records the plan it will follow
// (#attn.kernel_plan: tile shape, ring depth, warp roles, schedule) on each
// attn.attention, so that the choice is visible and testable on its own and
// the later stages only follow it.
//
//===----------------------------------------------------------------------===//
#include "KernelPlan.h"
#include "attnc/Analysis/CarrierLowering.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUPLANKERNEL
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::gpu;
using namespace attnc::attn;

LogicalResult attnc::gpu::checkKernelSupport(AttentionOp op) {
  auto qT = cast<RankedTensorType>(op.getQuery().getType());
  auto kT = cast<RankedTensorType>(op.getKey().getType());
  auto vT = cast<RankedTensorType>(op.getValue().getType());
  Type elem = qT.getElementType();
  if (!elem.isBF16() && !elem.isF16())
    return op.emitOpError("GPU kernel: q/k/v must be bf16 or f16");
  if (kT.getElementType() != elem || vT.getElementType() != elem ||
      cast<RankedTensorType>(op.getResult().getType()).getElementType() != elem)
    return op.emitOpError("GPU kernel: q, k, v and the result must share one dtype");
  if (qT.getRank() != 4 || kT.getRank() != 4 || vT.getRank() != 4)
    return op.emitOpError("GPU kernel: q, k, v must be [B, H, L, D]");
  int64_t d = qT.getDimSize(3), dv = vT.getDimSize(3);
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(dv) || d != kT.getDimSize(3))
    return op.emitOpError("GPU kernel: head dims must be static and q/k must agree");
  // TMA needs rows of a multiple of 16 bytes; one wgmma N is at most 256.
  auto headDimOk = [](int64_t x) { return x >= 16 && x <= 256 && x % 16 == 0; };
  if (!headDimOk(d) || !headDimOk(dv))
    return op.emitOpError() << "GPU kernel: head dims must be multiples of 16 from 16 to "
                               "256, got D = "
                            << d << ", Dv = " << dv;
  // Every link runs online under the anchors none, row and row_abs (the
  // exp family with a running maximum, the others as plain sums); Sinkhorn
  // normalises columns, which needs the whole weight matrix.
  if (op.getAnchorKind() == Anchor::sinkhorn)
    return op.emitOpError("GPU kernel: anchor sinkhorn needs the whole weight "
                          "matrix (column normalisation) and cannot run online");
  if (op.getScoreConv())
    return op.emitOpError("GPU kernel: score_conv mixes the scores of "
                          "neighbouring (i, j) across tiles and is not supported");
  if (KVPagesAttr pages = op.getKvPagesAttr()) {
    // One TMA box per page (or per tile within a page): rows of whole
    // 128-byte swizzle atoms (8 rows), at most the TMA's 256, and a page
    // size that divides the key tile or is a multiple of it.
    int64_t ps = kT.getDimSize(pages.rowAxis());
    if (ShapedType::isDynamic(ps) || ps < 8 || ps > 256 || !llvm::isPowerOf2_64(ps))
      return op.emitOpError() << "GPU kernel: paged K/V needs a static page size that is a "
                                 "power of two from 8 to 256, got "
                              << (ShapedType::isDynamic(ps) ? std::string("a dynamic one")
                                                            : std::to_string(ps));
  }
  return success();
}

void attnc::gpu::initHeadDims(AttentionOp op, KernelConfig &c) {
  c.D = cast<RankedTensorType>(op.getQuery().getType()).getDimSize(3);
  c.Dv = cast<RankedTensorType>(op.getValue().getType()).getDimSize(3);
  c.Dp = llvm::alignTo(c.D, 64);
  c.Dvp = llvm::alignTo(c.Dv, 64);
}

LogicalResult attnc::gpu::applyKernelPlan(AttentionOp op, KernelPlanAttr plan, KernelConfig &c) {
  initHeadDims(op, c);
  c.BM = plan.getBlockM();
  c.BN = plan.getBlockN();
  c.stages = plan.getStages();
  c.decode = plan.isSplitKV();
  c.pingpong = plan.getSchedule() == "pingpong";
  c.packHeads = plan.getPackHeads();
  c.persistent = plan.getPersistent();
  c.qSlots = plan.getQSlots();
  c.oTmaStore = plan.getOTmaStore();
  c.vScanner = plan.getVScanner() && !c.decode;
  if (c.oTmaStore && c.Dvp > c.Dp)
    return op.emitOpError() << "GPU kernel: o_tma_store stages O in the Q slot, which holds "
                            << c.Dp << " columns, not Dv's " << c.Dvp;
  if (plan.getQPatch())
    c.qPatch.assign(plan.getQPatch().asArrayRef().begin(), plan.getQPatch().asArrayRef().end());
  if (plan.getKPatch())
    c.kPatch.assign(plan.getKPatch().asArrayRef().begin(), plan.getKPatch().asArrayRef().end());
  if (!c.qPatch.empty() && (c.decode || op.getKvPagesAttr()))
    return op.emitOpError("GPU kernel: grid boxes are for contiguous K/V outside split_kv");
  if (c.persistent && c.decode)
    return op.emitOpError("GPU kernel: the split_kv schedule is not persistent (its grid "
                          "splits the keys)");
  if (KVPagesAttr pages = op.getKvPagesAttr()) {
    c.pageSize = cast<RankedTensorType>(op.getKey().getType()).getDimSize(pages.rowAxis());
    c.pagesHND = pages.getLayout() == PageLayout::hnd;
    c.pageTable = pages.getTable();
  }
  // setmaxnreg moves registers from the producer (down from the launch's
  // share) to the consumers (up from it), within the block's file.
  int64_t pr = plan.getProducerRegs(), cr = plan.getConsumerRegs();
  const int64_t share = KernelConfig::kRegisterFile / KernelConfig::kThreads;
  auto regsOk = [](int64_t r) { return r >= 24 && r <= 256 && r % 8 == 0; };
  if (plan.getConsumers() != KernelConfig::kConsumerWGs || !regsOk(pr) || !regsOk(cr) ||
      pr > share || cr < share ||
      pr * 128 + cr * 128 * KernelConfig::kConsumerWGs > KernelConfig::kRegisterFile)
    return op.emitOpError() << "GPU kernel: the emitter implements " << KernelConfig::kConsumerWGs
                            << " consumer warpgroups, with registers per thread multiples of 8 in "
                               "[24, 256] (producer at most "
                            << share << ", consumers at least " << share << ") that fit the block's "
                            << KernelConfig::kRegisterFile << ", not the plan's " << plan;
  if (c.BM != (c.decode ? 64 : 128))
    return op.emitOpError() << "GPU kernel: block_m must be " << (c.decode ? 64 : 128)
                            << " for schedule " << plan.getSchedule();
  if (c.BN != 64 && c.BN != 128)
    return op.emitOpError("GPU kernel: block-n must be 64 or 128");
  if (c.decode && c.stages > KernelConfig::kMaxDecodeStages)
    return op.emitOpError() << "GPU kernel: the decode schedule takes at most "
                            << KernelConfig::kMaxDecodeStages << " stages, got " << c.stages;
  if (c.decode && c.stages % 2 != 0)
    return op.emitOpError() << "GPU kernel: the decode schedule needs an even number of "
                               "stages (the two consumers own alternate slots), got "
                            << c.stages;
  if (c.stages < 2 || c.sharedBytes() > KernelConfig::kMaxShared)
    return op.emitOpError() << "GPU kernel: " << c.stages << " stages need " << c.sharedBytes()
                            << " bytes of shared memory (max " << KernelConfig::kMaxShared
                            << "); use block-n=64 or fewer stages";
  return success();
}

bool attnc::gpu::headsPackable(AttentionOp op, const attnc::CarrierTilePlan &tiles) {
  // Packing the heads of a KV head into one tile gives the tile several
  // heads: only where the tile schedule does not depend on the head.
  Region &mask = op.getMask();
  bool maskReadsHead = !mask.empty() && !mask.front().getArgument(1).use_empty();
  return !tiles.blockList && !tiles.tileMask && !maskReadsHead;
}

namespace {

/// Every way to write `total` as a product of one extent per axis, none
/// more than twice its axis's length (and key boxes the kernel's runs fit).
void boxShapes(ArrayRef<attnc::GridAxis> axes, int64_t total, bool key,
               SmallVector<int64_t, 3> &cur, SmallVector<SmallVector<int64_t, 3>> &out) {
  size_t a = cur.size();
  if (a + 1 == axes.size()) {
    cur.push_back(total);
    if (total <= 2 * axes[a].n && (!key || KernelPlanAttr::keyRunsFit(cur)))
      out.push_back(cur);
    cur.pop_back();
    return;
  }
  for (int64_t e = 1; e <= total; ++e)
    if (total % e == 0 && e <= 2 * axes[a].n) {
      cur.push_back(e);
      boxShapes(axes, total / e, key, cur, out);
      cur.pop_back();
    }
}

/// Key boxes (extent kp) that the query boxes (extent qp) of one axis visit
/// along it, summed over those query boxes (the schedule's formula).
int64_t boxesVisitedAlong(const attnc::GridAxis &ax, int64_t qp, int64_t kp) {
  attnc::IntIndexMath m;
  int64_t sum = 0;
  for (int64_t a0 = 0; a0 < ax.n; a0 += qp) {
    auto [lo, hi] = ax.keys(m, a0, a0 + qp - 1);
    sum += std::max<int64_t>(m.fdiv(hi + kp - 1, kp) - m.fdiv(lo, kp), 0);
  }
  return sum;
}

/// Grid boxes for a multi-dimensional window: the query and key box shapes
/// (BM and BN tokens) that visit the fewest key tiles over all query boxes
/// (boxes reaching past the grid included: their positions are computed
/// and dropped), each charged its keys and a fixed cost; none for one axis
/// (runs of tokens are its boxes already).
struct GridBoxChoice {
  SmallVector<int64_t, 3> q, k;
  double cost = 0; // keys' worth of tensor-core work over all query boxes
};

GridBoxChoice chooseGridBoxes(AttentionOp op, int64_t BM, int64_t BN) {
  SmallVector<attnc::GridAxis, 3> axes = attnc::gridAxesOf(op);
  if (axes.size() < 2 || axes.size() > attnc::GridTiles::kMaxAxes)
    return {};
  SmallVector<SmallVector<int64_t, 3>> qShapes, kShapes;
  SmallVector<int64_t, 3> cur;
  boxShapes(axes, BM, /*key=*/false, cur, qShapes);
  boxShapes(axes, BN, /*key=*/true, cur, kShapes);
  // A key tile's fixed cost (waits, the O rescale, the row statistics) in
  // keys' worth of tensor-core work: fitted to one A/B pair (2-D, 128- vs
  // 64-key boxes, bench/NOTES.md); the 3-D pair it does not explain.
  constexpr double kTileOverheadKeys = 32;
  GridBoxChoice choice;
  for (const auto &q : qShapes)
    for (const auto &k : kShapes) {
      // Per axis sums multiply: the visited set is a product over axes.
      double tiles = 1;
      for (size_t a = 0; a < axes.size(); ++a)
        tiles *= double(boxesVisitedAlong(axes[a], q[a], k[a]));
      double cost = tiles * (BN + kTileOverheadKeys);
      if (choice.q.empty() || cost < choice.cost)
        choice = {q, k, cost};
    }
  return choice;
}

/// The key tile of a 2-D neighborhood's boxes: 64 keys where the cost model
/// charges less than for 128 (a 17 x 17 window visits 8 x 8 key boxes with
/// fewer dropped keys: 10% and 8% faster measured, bench/NOTES.md). Three
/// axes keep 128 (their 64-key boxes have short TMA rows: 18% slower).
int64_t gridKeyTile(AttentionOp op, int64_t BM, int64_t BN) {
  if (BN != 128 || attnc::gridAxesOf(op).size() != 2)
    return BN;
  GridBoxChoice wide = chooseGridBoxes(op, BM, 128), narrow = chooseGridBoxes(op, BM, 64);
  return !narrow.q.empty() && (wide.q.empty() || narrow.cost < wide.cost) ? 64 : BN;
}

/// A patch as the plan's attribute; null (the parameter omitted) for none.
DenseI64ArrayAttr patchAttr(MLIRContext *ctx, ArrayRef<int64_t> patch) {
  return patch.empty() ? DenseI64ArrayAttr() : DenseI64ArrayAttr::get(ctx, patch);
}

} // namespace

FailureOr<KernelPlanAttr> attnc::gpu::planKernel(AttentionOp op, const AttnGPUPlanKernelOptions &o) {
  const std::string &schedule = o.schedule;
  const bool decode = o.decode;
  const int64_t blockN = o.blockN, stages = o.stages;
  if (failed(checkKernelSupport(op)))
    return failure();
  if (o.qSlots < 0 || o.qSlots > 2)
    return op.emitOpError() << "GPU kernel: q-slots must be 0 (the planner's choice), 1 or 2, got "
                            << o.qSlots;
  if (schedule != "pingpong" && schedule != "ws")
    return op.emitOpError() << "GPU kernel: schedule must be pingpong or ws, got '"
                            << schedule << "'";
  // `schedule split_kv(C)` in the spec asks for the decode schedule too.
  const bool splitKV = decode || op.getSplitKv() != 0;
  KernelConfig c; // for its shared-memory layout
  initHeadDims(op, c);
  c.decode = splitKV;
  c.BM = splitKV ? 64 : 128;
  // Decode streams K/V with little work per tile: smaller tiles, a deeper
  // ring (bench/NOTES.md, decode); the option overrides it.
  int64_t defaultBN = splitKV || std::max(c.Dp, c.Dvp) > 128 ? 64 : 128;
  c.BN = blockN > 0 ? blockN : defaultBN;
  if (blockN <= 0 && !splitKV && o.gridTiles && !op.getKvPagesAttr())
    c.BN = gridKeyTile(op, c.BM, c.BN);
  // Persistent blocks (the next item's Q and first K/V load while the
  // current item finishes; with two Q slots dense and score-region kernels
  // gain too, bench/NOTES.md) where the consumers can spare registers for
  // the producer warpgroup's loops (at 24 they spill): O of at most 128
  // columns (a 64 x 256 O needs 240 per consumer thread) and the exp link
  // (signed_exp's consumers spilled twice as much at 224).
  // And not where ptxas reported spills of the persistent kernel (the GPU
  // compile marks such attentions and plans them again).
  const bool persistent = !splitKV && o.persistent && c.Dvp <= 128 &&
                          (op.getLinkKind() == Link::exp || op.getLinkKind() == Link::identity) &&
                          !op->hasAttr(kPersistentSpilledAttr);
  // A persistent kernel loads the next item's Q into a second slot while
  // the consumers run the current item, where two ring stages still fit
  // (at D128 the slot costs the third stage, as FlashAttention-3 runs two
  // there; 2-5% faster on every persistent kernel measured, bench/NOTES.md).
  c.persistent = persistent;
  c.qSlots = 1;
  if (persistent && o.qSlots != 1) {
    c.qSlots = 2;
    c.stages = stages > 0 ? stages : 2;
    if (o.qSlots == 0 && c.sharedBytes() > KernelConfig::kMaxShared)
      c.qSlots = 1;
  }
  // The deepest ring that fits, unless the option fixes it. Decode: the
  // consumers take alternate tiles, so with an even ring each slot always
  // serves the same consumer, which then waits for its phases in order
  // (an odd ring lets a parity wait pass one phase early).
  c.stages = 2;
  if (stages > 0) {
    c.stages = stages;
  } else {
    const int64_t maxStages = splitKV ? KernelConfig::kMaxDecodeStages : 4;
    while (c.stages < maxStages) {
      ++c.stages;
      if (c.sharedBytes() > KernelConfig::kMaxShared) {
        --c.stages;
        break;
      }
    }
    if (splitKV)
      c.stages &= ~int64_t(1);
  }
  // Boxes of a neighborhood's grid where they fit (not paged: a box is not
  // a run of a page's rows).
  GridBoxChoice boxes;
  if (!splitKV && o.gridTiles && !op.getKvPagesAttr())
    boxes = chooseGridBoxes(op, c.BM, c.BN);
  FailureOr<attnc::CarrierTilePlan> tiles =
      attnc::CarrierTilePlan::get(op, c.BM, c.BN, boxes.q, boxes.k);
  if (failed(tiles))
    return failure();
  const int64_t producerRegs =
      persistent ? KernelConfig::kPersistentProducerRegs : KernelConfig::kProducerRegs;
  const int64_t consumerRegs =
      persistent ? KernelConfig::kPersistentConsumerRegs : KernelConfig::kConsumerRegs;
  // O through the Q slot and TMA: rows tiles whose O fits the slot (Dv <=
  // D after padding), and, when persistent, a second Q slot to run the next
  // item from while the store reads this one.
  const bool oTmaStore = o.oTmaStore && !op->hasAttr(kOStoresSpilledAttr) && !splitKV && boxes.q.empty() && c.Dvp <= c.Dp &&
                         (!persistent || c.qSlots == 2);
  auto plan = KernelPlanAttr::get(op.getContext(), c.BM, c.BN, c.stages, KernelConfig::kConsumerWGs,
                                  producerRegs, consumerRegs,
                                  splitKV ? "split_kv" : schedule,
                                  splitKV && headsPackable(op, *tiles), persistent,
                                  patchAttr(op.getContext(), boxes.q),
                                  patchAttr(op.getContext(), boxes.k), c.qSlots, oTmaStore,
                                  /*v_scanner=*/o.vScanner);
  // The plan is checked as the tile kernel's builder checks it: a plan this
  // pass records always builds.
  KernelConfig check;
  if (failed(applyKernelPlan(op, plan, check)))
    return failure();
  return plan;
}

namespace {

struct AttnGPUPlanKernelPass
    : public attnc::impl::AttnGPUPlanKernelBase<AttnGPUPlanKernelPass> {
  using Base::Base;

  /// The carriers' tile-level models (the plan reads the tile schedule).
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    attnc::registerCarrierLoweringExternalModels(registry);
  }

  void runOnOperation() override {
    WalkResult r = getOperation().walk([&](AttentionOp op) {
      attnc::AttnGPUPlanKernelOptions o;
      o.blockN = blockN, o.schedule = schedule, o.stages = stages, o.decode = decode;
      o.persistent = persistent;
      o.gridTiles = gridTiles;
      o.qSlots = qSlots;
      o.oTmaStore = oTmaStore;
      o.vScanner = vScanner;
      FailureOr<KernelPlanAttr> p = planKernel(op, o);
      if (failed(p))
        return WalkResult::interrupt();
      op->setAttr(KernelPlanAttr::kAttrName, *p);
      return WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
