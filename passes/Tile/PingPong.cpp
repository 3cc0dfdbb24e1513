//===- PingPong.cpp - consumers take turns issuing tensor-core work ---===//
//
// attn-tile-pingpong (the pingpong plan): each run of async qk / pv issues
// of a pipelined loop is bracketed by turn_begin / turn_end, so that the
// two consumers alternate on the tensor cores and one's softmax runs under
// the other's GEMMs (FlashAttention-3, section 3.1).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEPINGPONG
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::tile;

namespace {

bool isAsyncIssue(Operation &op) {
  if (auto qk = dyn_cast<QKOp>(op))
    return qk.getAsync();
  if (auto pv = dyn_cast<PVOp>(op))
    return pv.getAsync();
  return false;
}

void bracketIssues(Block &blk) {
  SmallVector<std::pair<Operation *, Operation *>> runs;
  Operation *begin = nullptr, *prev = nullptr;
  for (Operation &op : blk) {
    if (isAsyncIssue(op)) {
      if (!begin)
        begin = &op;
      prev = &op;
      continue;
    }
    if (begin)
      runs.push_back({begin, prev});
    begin = nullptr;
  }
  for (auto [first, last] : runs) {
    OpBuilder b(first);
    TurnBeginOp::create(b, first->getLoc());
    b.setInsertionPointAfter(last);
    TurnEndOp::create(b, last->getLoc());
  }
}

struct AttnTilePingPongPass : public attnc::impl::AttnTilePingPongBase<AttnTilePingPongPass> {
  void runOnOperation() override {
    getOperation()->walk([&](PipelinedForOp loop) {
      auto kernel = loop->getParentOfType<KernelOp>();
      auto plan = kernel ? dyn_cast<attnc::attn::KernelPlanAttr>(kernel.getPlan()) : nullptr;
      if (!plan || plan.getSchedule() != "pingpong" || loop.getTurns())
        return;
      bracketIssues(loop.getFirst().front());
      bracketIssues(loop.getSteady().front());
      loop.setTurns(true);
    });
  }
};

} // namespace
