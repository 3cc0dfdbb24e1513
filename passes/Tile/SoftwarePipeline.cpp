//===- SoftwarePipeline.cpp - two-stage pipelining of the tile loop ------===//
//
// attn-tile-pipeline: the consumers' for_tiles becomes a pipelined_for in
// which iteration n runs the first stage of tile n (QK^T, softmax, O
// rescale) and the second stage of tile n - 1 (the V slot: P V), with both
// products issued back to back so that the softmax of n runs while the
// tensor cores compute P V of n - 1 (FlashAttention-3, section 3.2).
//
//===----------------------------------------------------------------------===//
#include "passes/AttnToTile/KernelPlan.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILEPIPELINE
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::tile;

namespace {

bool isVSlot(Value v) {
  auto t = dyn_cast<SmemTileType>(v.getType());
  return t && t.getRole() == "v";
}

/// The loop body split into stages: stage 1 is what reads the V slot
/// (ring_get of v and everything that uses its results), stage 0 the rest.
struct Stages {
  SmallVector<Operation *> s0, s1;
  llvm::DenseSet<Operation *> in1;
};

FailureOr<Stages> splitStages(ForTilesOp loop) {
  Block &blk = loop.getBody().front();
  Stages st;
  for (Operation &op : blk.without_terminator()) {
    bool one = isa<RingGetOp>(op) && isVSlot(op.getResult(0));
    for (Value o : op.getOperands())
      if (Operation *d = o.getDefiningOp(); d && st.in1.contains(d))
        one = true;
    if (one) {
      if (!isa<RingGetOp, PVOp, RingReleaseOp>(op))
        return op.emitOpError("pipelining: only ring_get, pv and ring_release may read "
                              "the V slot or the P V product"),
               failure();
      st.in1.insert(&op);
      st.s1.push_back(&op);
    } else {
      st.s0.push_back(&op);
    }
  }
  // Stage 1 reads stage-0 values, the ordinal and values from above; a
  // stage-0 op that reads a stage-1 result or an iteration value of another
  // op's making would change meaning once the stages shift.
  // The ring_gets and QK^T of stage 0 are issued before stage 1's results
  // exist: they may not read iteration values that stage 1 yields.
  auto yield = cast<YieldOp>(blk.getTerminator());
  for (Operation *op : st.s0)
    if (isa<RingGetOp, QKOp>(op))
      for (Value o : op->getOperands())
        if (auto a = dyn_cast<BlockArgument>(o); a && a.getOwner() == &blk && a.getArgNumber() >= 2)
          if (Operation *d = yield.getValues()[a.getArgNumber() - 2].getDefiningOp();
              d && st.in1.contains(d))
            return op->emitOpError("pipelining: issued before the second stage's result it reads"),
                   failure();
  for (Operation *op : st.s1)
    for (Value o : op->getOperands())
      if (auto a = dyn_cast<BlockArgument>(o); a && a.getOwner() == &blk && a.getArgNumber() != 1)
        return op->emitOpError("pipelining: the second stage reads the tile index or an "
                               "iteration value"),
               failure();
  return st;
}

struct Pipeliner {
  ForTilesOp loop;
  Stages st;
  /// The softmax of tile n runs while P V of n - 1 is in flight.
  bool overlapSoftmax;
  Block &blk() { return loop.getBody().front(); }
  YieldOp yield() { return cast<YieldOp>(blk().getTerminator()); }

  bool yieldsFromStage1(unsigned i) {
    Operation *d = yield().getValues()[i].getDefiningOp();
    return d && st.in1.contains(d);
  }
  /// Stage-0 values (and the ordinal) that stage 1 reads, in first-use order.
  SmallVector<Value> crossing() {
    SetVector<Value> x;
    for (Operation *op : st.s1)
      for (Value o : op->getOperands()) {
        Operation *d = o.getDefiningOp();
        if ((d && !st.in1.contains(d) && d->getBlock() == &blk()) || o == blk().getArgument(1))
          x.insert(o);
      }
    return x.takeVector();
  }

  /// Clones stage 0 of one iteration in the overlapped order: its
  /// ring_gets, `afterGets`, its QK^T issued async, `afterIssues`, a wait
  /// for all but `pending` tensor-core groups, its remaining ops except
  /// those reading `late` values (and what depends on them), then
  /// `beforeLate` and those.
  void cloneStage0(OpBuilder &b, IRMapping &map, int64_t pending, function_ref<void()> afterGets,
                   function_ref<void()> afterIssues, function_ref<void()> beforeLate,
                   llvm::DenseSet<Value> late) {
    for (Operation *op : st.s0)
      if (isa<RingGetOp>(op))
        b.clone(*op, map);
    afterGets();
    for (Operation *op : st.s0)
      if (isa<QKOp>(op))
        cast<QKOp>(b.clone(*op, map)).setAsync(true);
    afterIssues();
    MmaWaitOp::create(b, loop.getLoc(), pending);
    SmallVector<Operation *> deferred;
    for (Operation *op : st.s0) {
      if (isa<RingGetOp, QKOp>(op))
        continue;
      if (llvm::any_of(op->getOperands(), [&](Value o) { return late.contains(o); })) {
        deferred.push_back(op);
        late.insert(op->result_begin(), op->result_end());
      } else {
        b.clone(*op, map);
      }
    }
    beforeLate();
    for (Operation *op : deferred)
      b.clone(*op, map);
  }

  LogicalResult run() {
    Location loc = loop.getLoc();
    SmallVector<Value> x = crossing();
    Value ordinal = blk().getArgument(1);
    unsigned nV = loop.getInits().size();
    // Carried: iteration values stage 0 yields, then the crossing values.
    SmallVector<unsigned> kept;
    for (unsigned i = 0; i < nV; ++i)
      if (!yieldsFromStage1(i))
        kept.push_back(i);
    SmallVector<Type> cTys;
    for (unsigned i : kept)
      cTys.push_back(loop.getInits()[i].getType());
    for (Value v : x)
      cTys.push_back(v.getType());
    int64_t nMma1 = llvm::count_if(st.s1, [](Operation *op) { return isa<PVOp>(op); });

    OpBuilder b(loop);
    auto pf = PipelinedForOp::create(b, loc, loop.getResultTypes(), loop.getInits(),
                                     loop.getAlternate(), /*turns=*/false);
    auto carried = [&](IRMapping &map) {
      SmallVector<Value> y;
      for (unsigned i : kept)
        y.push_back(map.lookupOrDefault(yield().getValues()[i]));
      for (Value v : x)
        y.push_back(map.lookupOrDefault(v));
      return y;
    };
    // Stage 1 of the previous tile reads the carried values.
    auto mapStage1Inputs = [&](IRMapping &map, Block *b2, unsigned base) {
      for (auto [k, v] : llvm::enumerate(x))
        map.map(v, b2->getArgument(base + kept.size() + k));
    };

    // first: stage 0 of the first tile, iteration values from the inits.
    {
      Block *f = new Block();
      pf.getFirst().push_back(f);
      IRMapping map;
      map.map(blk().getArgument(0), f->addArgument(b.getIndexType(), loc));
      map.map(ordinal, f->addArgument(b.getIndexType(), loc));
      for (unsigned i = 0; i < nV; ++i)
        map.map(blk().getArgument(2 + i), loop.getInits()[i]);
      OpBuilder fb = OpBuilder::atBlockEnd(f);
      cloneStage0(fb, map, /*pending=*/0, [] {}, [] {}, [] {}, {});
      YieldOp::create(fb, loc, carried(map));
      // O is still zero here: its rescale folds away.
      for (Operation &op : llvm::make_early_inc_range(*f))
        if (auto r = dyn_cast<RescaleOp>(op); r && r.getAcc().getDefiningOp<ZeroAccOp>()) {
          r.getResult().replaceAllUsesWith(r.getAcc());
          r.erase();
        }
    }
    // steady: stage 1 of tile n - 1 issued with stage 0 of tile n.
    {
      Block *s = new Block();
      pf.getSteady().push_back(s);
      Value tile = s->addArgument(b.getIndexType(), loc);
      Value n = s->addArgument(b.getIndexType(), loc);
      for (Type t : cTys)
        s->addArgument(t, loc);
      OpBuilder sb = OpBuilder::atBlockEnd(s);
      IRMapping m1, m0;
      mapStage1Inputs(m1, s, 2);
      m0.map(blk().getArgument(0), tile);
      m0.map(ordinal, n);
      for (auto [k, i] : llvm::enumerate(kept))
        m0.map(blk().getArgument(2 + i), s->getArgument(2 + k));
      // Iteration values that stage 1 produces are its results here: the
      // stage-0 ops reading them wait for the P V of tile n - 1.
      llvm::DenseSet<Value> late;
      for (unsigned i = 0; i < nV; ++i)
        if (yieldsFromStage1(i))
          late.insert(blk().getArgument(2 + i));
      auto clone1 = [&](auto pred) {
        for (Operation *op : st.s1)
          if (pred(op))
            sb.clone(*op, m1);
      };
      cloneStage0(
          sb, m0, overlapSoftmax ? nMma1 : 0,
          [&] { clone1([](Operation *op) { return isa<RingGetOp>(op); }); },
          [&] {
            for (Operation *op : st.s1)
              if (isa<PVOp>(op))
                cast<PVOp>(sb.clone(*op, m1)).setAsync(true);
          },
          [&] {
            MmaWaitOp::create(sb, loc, 0);
            clone1([](Operation *op) { return isa<RingReleaseOp>(op); });
            for (unsigned i = 0; i < nV; ++i)
              if (yieldsFromStage1(i))
                m0.map(blk().getArgument(2 + i), m1.lookup(yield().getValues()[i]));
          },
          late);
      YieldOp::create(sb, loc, carried(m0));
    }
    // drain: stage 1 of the last tile.
    {
      Block *d = new Block();
      pf.getDrain().push_back(d);
      for (Type t : cTys)
        d->addArgument(t, loc);
      OpBuilder db = OpBuilder::atBlockEnd(d);
      IRMapping m1;
      mapStage1Inputs(m1, d, 0);
      for (Operation *op : st.s1)
        db.clone(*op, m1);
      SmallVector<Value> res;
      for (unsigned i = 0, k = 0; i < nV; ++i)
        res.push_back(yieldsFromStage1(i) ? m1.lookup(yield().getValues()[i])
                                          : d->getArgument(k++));
      YieldOp::create(db, loc, res);
    }
    loop.replaceAllUsesWith(pf.getResults());
    loop.erase();
    return success();
  }
};

struct AttnTilePipelinePass : public attnc::impl::AttnTilePipelineBase<AttnTilePipelinePass> {
  void runOnOperation() override {
    SmallVector<std::pair<ForTilesOp, KernelOp>> loops;
    getOperation()->walk([&](ForTilesOp l) {
      auto ws = l->getParentOfType<WarpSpecializeOp>();
      if (ws && ws.getConsumer().isAncestor(l->getParentRegion()))
        loops.push_back({l, l->getParentOfType<KernelOp>()});
    });
    for (auto [l, kernel] : loops) {
      FailureOr<Stages> st = splitStages(l);
      if (failed(st))
        return signalPassFailure();
      if (st->s1.empty())
        continue; // nothing reads V: nothing to overlap
      // A score region that needs registers per score waits for P V first.
      attnc::attn::AttentionOp a = kernel ? kernel.getAttention() : nullptr;
      bool regs = a && !a.getScore().empty() && attnc::gpu::scoreNeedsRegisters(&a.getScore());
      Pipeliner p{l, *st, !regs};
      if (failed(p.run()))
        return signalPassFailure();
    }
  }
};

} // namespace
