//===- WarpSpecialize.cpp - producer and consumer warpgroups --------------===//
//
// attn-tile-warp-specialize: the sequential tile program's loads move to a
// producer warpgroup that fills the K/V ring; everything else runs on the
// consumers, which take each tile from the ring and give its slot back
// after their last read.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEWARPSPECIALIZE
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::tile;

namespace {

/// The op of `blk` that holds `op` (op itself when it is in blk).
Operation *ancestorIn(Block &blk, Operation *op) {
  while (op && op->getBlock() != &blk)
    op = op->getParentOp();
  return op;
}

/// Consumer side of one load: ring_get of the tile's ordinal in place of
/// the load, ring_release after the slot's last reader in the loop body.
void takeFromRing(LoadKVOp load, Value ordinal) {
  Block &blk = *load->getBlock();
  OpBuilder b(load);
  auto get = RingGetOp::create(b, load.getLoc(), load.getType(), ordinal);
  load.getResult().replaceAllUsesWith(get.getTile());
  load.erase();
  Operation *last = get;
  for (Operation *user : get.getTile().getUsers()) {
    Operation *at = ancestorIn(blk, user);
    if (last->isBeforeInBlock(at))
      last = at;
  }
  b.setInsertionPointAfter(last);
  RingReleaseOp::create(b, get.getLoc(), get.getTile(), ordinal);
}

LogicalResult specialize(KernelOp kernel) {
  Block &body = kernel.getBody().front();
  if (llvm::any_of(body, [](Operation &op) { return isa<WarpSpecializeOp>(op); }))
    return success(); // already
  SmallVector<LoadQOp> loadQs;
  SmallVector<ForTilesOp> loops;
  for (Operation &op : body) {
    if (auto l = dyn_cast<LoadQOp>(op))
      loadQs.push_back(l);
    if (auto f = dyn_cast<ForTilesOp>(op))
      loops.push_back(f);
  }
  if (loadQs.size() != 1 || loops.size() != 1 || loadQs[0].getAsync())
    return kernel.emitOpError("warp specialization needs one load_q and one for_tiles in "
                              "the kernel body (the sequential form)");
  LoadQOp loadQ = loadQs[0];
  ForTilesOp loop = loops[0];
  SmallVector<LoadKVOp> loads;
  for (Operation &op : loop.getBody().front())
    if (auto l = dyn_cast<LoadKVOp>(op))
      loads.push_back(l);
  bool nested = false;
  kernel.getBody().walk([&](LoadKVOp l) { nested |= l->getParentOp() != loop; });
  if (nested)
    return kernel.emitOpError("warp specialization: load_kv outside the tile loop's body");
  // The producer walks the same schedule: it can load the loop's tile only.
  for (LoadKVOp l : loads)
    if (l.getTile() != loop.getBody().front().getArgument(0))
      return l.emitOpError("warp specialization: load_kv of another index than the loop's tile");

  auto plan = cast<attnc::attn::KernelPlanAttr>(kernel.getPlan());
  Location loc = kernel.getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  auto ws = WarpSpecializeOp::create(b, loc, b.getI64IntegerAttr(plan.getProducerRegs()),
                                     b.getI64IntegerAttr(plan.getConsumerRegs()));
  Block *prod = new Block(), *cons = new Block();
  ws.getProducer().push_back(prod);
  ws.getConsumer().push_back(cons);

  // Producer: Q, then K and V of every tile into the ring, in the order the
  // consumers read them.
  OpBuilder pb = OpBuilder::atBlockEnd(prod);
  LoadQOp::create(pb, loadQ.getLoc(), Type(), /*async=*/true);
  auto fill = ForTilesOp::create(pb, loop.getLoc(), TypeRange{}, ValueRange{}, false);
  Block *fb = new Block();
  fill.getBody().push_back(fb);
  Value tile = fb->addArgument(b.getIndexType(), loc);
  Value n = fb->addArgument(b.getIndexType(), loc);
  OpBuilder fbb = OpBuilder::atBlockEnd(fb);
  for (LoadKVOp l : loads)
    RingPutOp::create(fbb, l.getLoc(), l.getType().getRole(), tile, n);
  YieldOp::create(fbb, loc, ValueRange{});

  // Consumers: the rest of the program.
  while (&body.back() != ws.getOperation())
    body.back().moveBefore(cons, cons->begin());
  OpBuilder qb(loadQ);
  auto wait = WaitQOp::create(qb, loadQ.getLoc(), loadQ.getTile().getType());
  loadQ.getTile().replaceAllUsesWith(wait.getTile());
  loadQ.erase();
  Value ordinal = loop.getBody().front().getArgument(1);
  for (LoadKVOp l : loads)
    takeFromRing(l, ordinal);
  if (plan.isSplitKV())
    loop.setAlternate(true);
  return success();
}

struct AttnTileWarpSpecializePass
    : public attnc::impl::AttnTileWarpSpecializeBase<AttnTileWarpSpecializePass> {
  void runOnOperation() override {
    WalkResult r = getOperation()->walk([&](KernelOp k) {
      return failed(specialize(k)) ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (r.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
