//===- Persistent.cpp - warp roles loop over their block's work items ----===//
//
// attn-tile-persistent (plans marked persistent): a block no longer owns one
// query tile; each warp role runs its body once per work item in an
// attn_tile.for_work, and each consumer releases Q once its last QK^T is
// done, so that the producer can load the next item's Q (and then its K/V)
// while the consumers run the last P V and the epilogue of the current one.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEPERSISTENT
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::tile;

namespace {

/// Moves every op of `role` into a for_work at its start.
void wrapRole(Region &role, Location loc) {
  Block &blk = role.front();
  if (!blk.empty() && isa<ForWorkOp>(blk.front()))
    return;
  OpBuilder b(&blk, blk.begin());
  auto work = ForWorkOp::create(b, loc);
  Block *body = new Block();
  work.getBody().push_back(body);
  auto ops = llvm::make_range(std::next(Block::iterator(work)), blk.end());
  body->getOperations().splice(body->end(), blk.getOperations(), ops.begin(), ops.end());
  b.setInsertionPointToEnd(body);
  YieldOp::create(b, loc, ValueRange{});
}

/// The consumers read Q in the QK^T of their tile loop: release it after the
/// last op that holds one (before the epilogue), or at the start when none
/// does; after the store when that stages O in the Q slot. A pipelined loop releases it at the start of its drain, which runs
/// only the last tile's P V (attn-tile-to-nvvm checks the placement).
void releaseQAfterLoops(ForWorkOp work, bool afterStore) {
  Block &body = work.getBody().front();
  // O stored through the Q slot (plan o_tma_store): Q is free once the
  // store has read it.
  // Without a store in the body there is no O staged in the slot; the
  // lowering checks the placement either way.
  if (afterStore) {
    for (Operation &op : body.without_terminator())
      if (isa<StoreOp>(op)) {
        OpBuilder b(op.getContext());
        b.setInsertionPointAfter(&op);
        ReleaseQOp::create(b, work.getLoc());
        return;
      }
  }
  Operation *last = nullptr;
  for (Operation &op : body.without_terminator())
    if (op.walk([](QKOp) { return WalkResult::interrupt(); }).wasInterrupted())
      last = &op;
  OpBuilder b(work.getContext());
  if (auto loop = dyn_cast_or_null<PipelinedForOp>(last);
      loop && !loop.getDrain().front().walk([](QKOp) { return WalkResult::interrupt(); })
                   .wasInterrupted())
    b.setInsertionPointToStart(&loop.getDrain().front());
  else if (last)
    b.setInsertionPointAfter(last);
  else
    b.setInsertionPointToStart(&body);
  ReleaseQOp::create(b, work.getLoc());
}

struct AttnTilePersistentPass
    : public attnc::impl::AttnTilePersistentBase<AttnTilePersistentPass> {
  void runOnOperation() override {
    getOperation()->walk([&](WarpSpecializeOp ws) {
      auto kernel = ws->getParentOfType<KernelOp>();
      auto plan = kernel ? dyn_cast<attnc::attn::KernelPlanAttr>(kernel.getPlan()) : nullptr;
      if (!plan || !plan.getPersistent())
        return;
      bool fresh = ws.getConsumer().front().empty() ||
                   !isa<ForWorkOp>(ws.getConsumer().front().front());
      wrapRole(ws.getProducer(), ws.getLoc());
      wrapRole(ws.getConsumer(), ws.getLoc());
      if (fresh)
        releaseQAfterLoops(cast<ForWorkOp>(ws.getConsumer().front().front()), plan.getOTmaStore());
    });
  }
};

} // namespace
