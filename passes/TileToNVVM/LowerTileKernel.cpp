//===- LowerTileKernel.cpp - attn_tile -> gpu/nvgpu/nvvm ------------------===//
//
// attn-tile-to-nvvm. Each attn_tile.kernel is lowered in program order by
// one KernelEmitter: its set-up (thread roles, rows and heads, the
// carrier's schedule for this query tile, shared memory, mbarriers) runs
// once at the top of the kernel, and every tile value maps to the register
// values that hold it (1:N: a Stats is four f32, Probs BN/4 packed pairs,
// a K/V slot its ring stage). The ops' lowerings live with their families:
// TMA and ring barriers in EmitSchedule.cpp, wgmma in EmitWGMMA.cpp, the
// softmax in EmitSoftmax.cpp, the epilogue in EmitSchedule.cpp and
// EmitDecode.cpp. A walk rather than dialect-conversion patterns: the
// kernel-wide values the set-up computes are shared by every op, and the
// loops' lowering needs the schedule's slot filtering around their bodies.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"
#include "attnc/Analysis/CarrierLowering.h"

#include "llvm/ADT/TypeSwitch.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILETONVVM
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::gpu;
namespace tile = attnc::tile;

SmallVector<Value> KernelEmitter::lowered(Value v) {
  auto it = tileValues.find(v);
  assert(it != tileValues.end() && "tile value used before its lowering");
  return it->second;
}

Value KernelEmitter::lowered1(Value v) { return lowered(v).front(); }

void KernelEmitter::bind(Value v, ArrayRef<Value> vals) {
  tileValues[v] = SmallVector<Value>(vals);
}

SmallVector<Type> KernelEmitter::loweredTypes(Type t) {
  return TypeSwitch<Type, SmallVector<Type>>(t)
      .Case([&](tile::AccType a) { return SmallVector<Type>{accType(a.getCols())}; })
      .Case([&](tile::ProbsType p) {
        // The packed pairs, then whether the tile dropped pairs (issuePV).
        SmallVector<Type> t(p.getCols() / 4, i32);
        t.push_back(b.getI1Type());
        return t;
      })
      .Case([&](tile::StatsType) { return SmallVector<Type>(4, f32); })
      .Case([&](tile::RescaleType) { return SmallVector<Type>(2, f32); })
      .Case([&](tile::SmemTileType s) {
        return s.getRole() == "q" ? SmallVector<Type>{} : SmallVector<Type>{idx};
      })
      .Default([&](Type t) { return SmallVector<Type>{t}; });
}

/// Values of type `t` for a path that never reads them (a loop that runs
/// no tile), the same as the values before any tile where one exists.
SmallVector<Value> KernelEmitter::placeholder(Type t) {
  return TypeSwitch<Type, SmallVector<Value>>(t)
      .Case([&](tile::AccType a) {
        return SmallVector<Value>{LLVM::ZeroOp::create(b, loc, accType(a.getCols()))};
      })
      .Case([&](tile::ProbsType p) {
        SmallVector<Value> v(p.getCols() / 4, ci32(0));
        v.push_back(arith::ConstantIntOp::create(b, loc, 0, 1));
        return v;
      })
      .Case([&](tile::RescaleType) { return SmallVector<Value>(2, cf32(1.0)); })
      .Case([&](tile::SmemTileType s) {
        return s.getRole() == "q" ? SmallVector<Value>{} : SmallVector<Value>{cidx(0)};
      })
      .Case([&](tile::StatsType) {
        Value ninf = negInf(), zero = cf32(0.0);
        return SmallVector<Value>{ninf, ninf, zero, zero};
      })
      .Default([&](Type t) {
        return SmallVector<Value>{arith::ConstantOp::create(b, loc, b.getZeroAttr(t))};
      });
}

SmallVector<Value> KernelEmitter::loweredAll(ValueRange vs) {
  SmallVector<Value> out;
  for (Value v : vs)
    llvm::append_range(out, lowered(v));
  return out;
}

void KernelEmitter::bindAll(ValueRange vs, ValueRange flat) {
  for (Value v : vs) {
    size_t n = loweredTypes(v.getType()).size();
    bind(v, SmallVector<Value>(flat.take_front(n)));
    flat = flat.drop_front(n);
  }
}

SmallVector<Type> KernelEmitter::loweredTypes(TypeRange ts) {
  SmallVector<Type> out;
  for (Type t : ts)
    llvm::append_range(out, loweredTypes(t));
  return out;
}

/// Lowers `blk` (all but its terminator) and returns the lowered operands
/// of its yield, if any.
FailureOr<SmallVector<Value>> KernelEmitter::lowerBlock(Block &blk, bool skipReleaseQ) {
  for (Operation &op : blk) {
    if (auto y = dyn_cast<tile::YieldOp>(op))
      return loweredAll(y.getValues());
    if (skipReleaseQ && isa<tile::ReleaseQOp>(op))
      continue;
    if (failed(lowerOp(op)))
      return failure();
  }
  return SmallVector<Value>{};
}

LogicalResult KernelEmitter::lowerOp(Operation &op) {
  return TypeSwitch<Operation *, LogicalResult>(&op)
      .Case([&](tile::WarpSpecializeOp o) { return lowerWarpRoles(o); })
      .Case([&](tile::ForTilesOp o) { return lowerForTiles(o); })
      .Case([&](tile::PipelinedForOp o) { return lowerPipelinedFor(o); })
      .Case([&](tile::ForWorkOp o) { return lowerForWork(o); })
      .Case<tile::LoadQOp, tile::WaitQOp, tile::ReleaseQOp, tile::RingPutOp, tile::RingGetOp,
            tile::RingReleaseOp>([&](Operation *o) { return lowerRingOp(o); })
      .Case<tile::QKOp, tile::PVOp, tile::MmaWaitOp, tile::TurnBeginOp, tile::TurnEndOp>(
          [&](Operation *o) { return lowerMmaOp(o); })
      .Case<tile::ZeroAccOp, tile::InitStatsOp, tile::SoftmaxOp,
            tile::RescaleOp>([&](Operation *o) { return lowerSoftmaxOp(o); })
      .Case([&](tile::StoreOp o) {
        RowState st = rowState(o.getStats());
        if (c.decode)
          emitDecodeEpilogue(lowered1(o.getAcc()), st);
        else
          emitEpilogue(lowered1(o.getAcc()), st);
        return success();
      })
      .Case([&](arith::ConstantOp o) {
        bind(o, {b.clone(*o)->getResult(0)});
        return success();
      })
      .Default([&](Operation *o) {
        return o->emitOpError("attn-tile-to-nvvm: no lowering in a tile kernel");
      });
}

RowState KernelEmitter::rowState(Value stats) {
  SmallVector<Value> s = lowered(stats);
  return {s[0], s[1], s[2], s[3]};
}

/// Warpgroup 0 produces (one thread issues every copy; warps 1-3 check the
/// V tiles for NaN and Inf, emitVScanner, where the plan has a V scanner),
/// the others consume;
/// setmaxnreg moves registers from the producer to the consumers.
LogicalResult KernelEmitter::lowerWarpRoles(tile::WarpSpecializeOp op) {
  Value isProducer = cmp(arith::CmpIPredicate::eq, wg, ci32(0));
  auto roles = scf::IfOp::create(b, loc, TypeRange{}, isProducer, /*withElse=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(roles.thenBlock());
  NVVM::SetMaxRegisterOp::create(b, loc, op.getProducerRegs(), NVVM::SetMaxRegisterAction::decrease);
  LogicalResult r = success();
  ifThen(cmp(arith::CmpIPredicate::eq, tid, ci32(0)),
         [&] { r = lowerBlock(op.getProducer().front()); });
  if (failed(r))
    return failure();
  if (c.vScanner) {
    ifThen(cmp(arith::CmpIPredicate::uge, tid, ci32(32)), [&] {
      if (!c.persistent)
        return emitVScanner();
      r = workLoop(WorkRole::Scanner, [&] {
        emitVScanner();
        leaveItem(ci32(5), 96, cmp(arith::CmpIPredicate::eq, tid, ci32(32)));
        return success();
      });
    });
  }
  if (failed(r))
    return failure();
  b.setInsertionPointToStart(roles.elseBlock());
  NVVM::SetMaxRegisterOp::create(b, loc, op.getConsumerRegs(), NVVM::SetMaxRegisterAction::increase);
  inConsumers = true;
  FailureOr<SmallVector<Value>> cons = lowerBlock(op.getConsumer().front());
  inConsumers = false;
  return failure(failed(cons));
}

/// The tiles of this block's schedule; the ordinal counts the kept tiles
/// (an iteration value of the lowered loop). `alternate`: consumer w runs
/// the tiles of ordinal n with n % 2 == w.
/// The ring's empty barriers count one release per consumer (two, or one
/// under split_kv where the consumers take alternate tiles; V slots one more,
/// the scanner's, where there is one) and the turns
/// are those of the pingpong plan: a loop must take its tiles as the plan
/// says, else the ring deadlocks or refills a slot still being read.
LogicalResult KernelEmitter::checkLoopAgainstPlan(Operation *op, bool alternate, bool turns) {
  if (alternate != (inConsumers && c.decode))
    return op->emitOpError() << "attn-tile-to-nvvm: "
                             << (alternate ? "alternate tiles need the split_kv plan's consumers"
                                           : "under the split_kv plan the consumers take "
                                             "alternate tiles");
  if (turns && !(inConsumers && c.pingpong && !c.decode))
    return op->emitOpError("attn-tile-to-nvvm: turns need the pingpong plan's consumers");
  return success();
}

LogicalResult KernelEmitter::lowerForTiles(tile::ForTilesOp op) {
  if (failed(checkLoopAgainstPlan(op, op.getAlternate(), false)))
    return failure();
  Block &body = op.getBody().front();
  SmallVector<Value> init{ringBase};
  llvm::append_range(init, loweredAll(op.getInits()));
  FailureOr<scf::ForOp> loop = tileLoop(slotLo, init, body, op.getAlternate());
  if (failed(loop))
    return failure();
  ringNext = loop->getResult(0);
  bindAll(op.getResults(), loop->getResults().drop_front());
  return success();
}

/// The schedule's slots from `from`: `body` (block arguments tile, ordinal,
/// values) on each kept tile, or with `alternate` on this consumer's; the
/// loop's values are {ordinal, values...}.
FailureOr<scf::ForOp> KernelEmitter::tileLoop(Value from, ValueRange init, Block &body,
                                              bool alternate) {
  return slotLoop(from, init,
                  [&](Value, Value tileIdx, ValueRange it) -> FailureOr<SmallVector<Value>> {
                    Value n = it[0];
                    auto run = [&](ValueRange vals) -> FailureOr<SmallVector<Value>> {
                      bind(body.getArgument(0), {tileIdx});
                      bind(body.getArgument(1), {n});
                      bindAll(body.getArguments().drop_front(2), vals);
                      FailureOr<SmallVector<Value>> y = lowerBlock(body);
                      if (failed(y))
                        return failure();
                      SmallVector<Value> next{add(n, cidx(1))};
                      llvm::append_range(next, *y);
                      return next;
                    };
                    if (!alternate)
                      return run(it.drop_front());
                    return ifMine(n, it, run);
                  });
}

/// Alternate tiles: runs `run` on this consumer's (n % 2 == w), else only
/// counts the tile. it = {n, values...}.
FailureOr<SmallVector<Value>> KernelEmitter::ifMine(
    Value n, ValueRange it,
    function_ref<FailureOr<SmallVector<Value>>(ValueRange)> run) {
  Value mine = cmp(arith::CmpIPredicate::eq, arith::RemUIOp::create(b, loc, n, cidx(2)), toIdx(cw));
  auto ifM = scf::IfOp::create(b, loc, TypeRange(it), mine, /*withElse=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(ifM.thenBlock());
  FailureOr<SmallVector<Value>> r = run(it.drop_front());
  if (failed(r))
    return failure();
  scf::YieldOp::create(b, loc, *r);
  b.setInsertionPointToStart(ifM.elseBlock());
  SmallVector<Value> skip(it);
  skip[0] = add(n, cidx(1));
  scf::YieldOp::create(b, loc, skip);
  return SmallVector<Value>(ifM.getResults());
}

/// The pipelined loop: this consumer's first tile (first region), every
/// later one (steady), then the drain; all skipped without a tile. With
/// turns, consumer 1 first lets consumer 0 issue, and consumer 0 takes the
/// extra phase that leaves at the end so that no named barrier is left
/// half-arrived when the block ends.
LogicalResult KernelEmitter::lowerPipelinedFor(tile::PipelinedForOp op) {
  if (failed(checkLoopAgainstPlan(op, op.getAlternate(), op.getTurns())))
    return failure();
  Value f0 = nextSlot(slotLo), first = f0, kFirst = ringBase;
  if (op.getAlternate()) {
    Value isOne = cmp(arith::CmpIPredicate::eq, cw, ci32(1));
    first = select(isOne, nextSlot(add(f0, cidx(1))), f0);
    kFirst = select(isOne, add(ringBase, cidx(1)), ringBase);
  }
  Value hasAny = cmp(arith::CmpIPredicate::slt, first, slotHi);
  if (op.getTurns())
    ifThen(andI(hasAny, cmp(arith::CmpIPredicate::eq, cw, ci32(1))),
           [&] { NVVM::BarrierArriveOp::create(b, loc, ci32(1), ci32(256)); });

  Block &fb = op.getFirst().front(), &sb = op.getSteady().front(), &db = op.getDrain().front();
  // Carried values the first region takes from outside the loop (the zero
  // O, its ordinal) bypass the prologue's scf.if: routing them through it
  // only adds copies (a 64 x 256 O spilled).
  auto fy = cast<tile::YieldOp>(fb.getTerminator());
  auto fromOutside = [&](Value y) {
    return y == fb.getArgument(1) || !op->isAncestor(y.getParentBlock()->getParentOp());
  };
  // Without a tile the results are the inits. A result the drain passes
  // through from carried value k, or accumulates into it (pv), is carried
  // value k itself when that holds the init without a tile (its prologue
  // placeholder is the init, or the first region yields the init from
  // outside): the drain's scf.if then merges the loop's own registers
  // instead of copying a 64 x Dv O into fresh ones (which spilled at D 256).
  auto dy = cast<tile::YieldOp>(db.getTerminator());
  SmallVector<int64_t> resultSlot(dy.getValues().size(), -1), slotInit(fy.getValues().size(), -1);
  for (auto [i, y] : llvm::enumerate(dy.getValues())) {
    Value src = y;
    if (auto pv = y.getDefiningOp<tile::PVOp>())
      src = pv.getAcc();
    auto arg = dyn_cast<BlockArgument>(src);
    if (!arg || arg.getOwner() != &db || slotInit[arg.getArgNumber()] >= 0)
      continue;
    Value yk = fy.getValues()[arg.getArgNumber()];
    if (fromOutside(yk) && yk != op.getInits()[i])
      continue;
    resultSlot[i] = arg.getArgNumber();
    slotInit[arg.getArgNumber()] = i;
  }
  SmallVector<Type> ifTys;
  for (Value y : fy.getValues())
    if (!fromOutside(y))
      llvm::append_range(ifTys, loweredTypes(y.getType()));
  auto pro = scf::IfOp::create(b, loc, ifTys, hasAny, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(pro.thenBlock());
    bind(fb.getArgument(0), {qtc->tileOfSlot(b, loc, first)});
    bind(fb.getArgument(1), {kFirst});
    if (failed(lowerBlock(fb)))
      return failure();
    SmallVector<Value> inner;
    for (Value y : fy.getValues())
      if (!fromOutside(y))
        llvm::append_range(inner, lowered(y));
    scf::YieldOp::create(b, loc, inner);
    b.setInsertionPointToStart(pro.elseBlock());
    SmallVector<Value> e;
    for (auto [k, y] : llvm::enumerate(fy.getValues()))
      if (!fromOutside(y))
        llvm::append_range(e, slotInit[k] >= 0 ? lowered(op.getInits()[slotInit[k]])
                                               : placeholder(y.getType()));
    scf::YieldOp::create(b, loc, e);
  }
  SmallVector<Value> init{add(kFirst, cidx(1))};
  ValueRange fromIf = pro.getResults();
  for (Value y : fy.getValues()) {
    size_t n = loweredTypes(y.getType()).size();
    if (fromOutside(y)) {
      llvm::append_range(init, lowered(y));
    } else {
      llvm::append_range(init, fromIf.take_front(n));
      fromIf = fromIf.drop_front(n);
    }
  }
  FailureOr<scf::ForOp> loop = tileLoop(add(first, cidx(1)), init, sb, op.getAlternate());
  if (failed(loop))
    return failure();
  ringNext = select(hasAny, loop->getResult(0), ringBase);
  if (op.getTurns())
    ifThen(andI(hasAny, cmp(arith::CmpIPredicate::eq, cw, ci32(0))), [&] {
      NVVM::BarrierOp::create(b, loc, TypeRange{}, ci32(1), ci32(256),
                              NVVM::BarrierReductionAttr(), Value());
    });

  // Q is free once the loop is done (the drain runs no QK^T): a release_q
  // that opens the drain runs here, with or without a kept tile.
  if (!db.empty() && isa<tile::ReleaseQOp>(db.front()) && failed(lowerOp(db.front())))
    return failure();
  SmallVector<Type> rTys = loweredTypes(op.getResultTypes());
  auto drain = scf::IfOp::create(b, loc, rTys, hasAny, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(drain.thenBlock());
    bindAll(db.getArguments(), loop->getResults().drop_front());
    FailureOr<SmallVector<Value>> y = lowerBlock(db, /*skipReleaseQ=*/true);
    if (failed(y))
      return failure();
    scf::YieldOp::create(b, loc, *y);
    b.setInsertionPointToStart(drain.elseBlock());
    SmallVector<SmallVector<Value>> slots;
    ValueRange lr = loop->getResults().drop_front();
    for (Value y : fy.getValues()) {
      size_t n = loweredTypes(y.getType()).size();
      slots.push_back(SmallVector<Value>(lr.take_front(n)));
      lr = lr.drop_front(n);
    }
    SmallVector<Value> none;
    for (auto [i, init] : llvm::enumerate(op.getInits()))
      llvm::append_range(none, resultSlot[i] >= 0 ? slots[resultSlot[i]] : lowered(init));
    scf::YieldOp::create(b, loc, none);
  }
  bindAll(op.getResults(), drain.getResults());
  return success();
}

/// Register fragments are laid out for the plan's tiles: S and P are 64 x
/// BN per consumer, O 64 x Dv (padded to 64 columns).
LogicalResult KernelEmitter::checkTileTypes(tile::KernelOp kernel) {
  auto fits = [&](Type t) {
    if (auto a = dyn_cast<tile::AccType>(t))
      return a.getRows() == 64 && (a.getCols() == c.BN || a.getCols() == c.Dvp);
    if (auto p = dyn_cast<tile::ProbsType>(t))
      return p.getRows() == 64 && p.getCols() == c.BN;
    return true;
  };
  WalkResult r = kernel.getBody().walk([&](Operation *op) {
    for (Value v : op->getResults())
      if (!fits(v.getType())) {
        op->emitOpError() << "attn-tile-to-nvvm: " << v.getType()
                          << " does not fit the kernel's plan (64 x " << c.BN
                          << " tiles, O of 64 x " << c.Dvp << " per consumer)";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

LogicalResult KernelEmitter::lowerKernel(mlir::gpu::GPUFuncOp fn, tile::KernelOp kernel) {
  if ((int64_t)fn.getNumArguments() != c.numParams)
    return kernel.emitOpError() << "attn-tile-to-nvvm: the kernel's gpu.func takes "
                                << fn.getNumArguments() << " parameters, its plan and spec "
                                << c.numParams << " (docs/gpu-abi.md)";
  if (failed(checkTileTypes(kernel)))
    return failure();
  b.setInsertionPoint(kernel);
  setUp(fn);
  Block &body = kernel.getBody().front();
  if (!llvm::any_of(body, [](Operation &op) { return isa<tile::WarpSpecializeOp>(op); }))
    return kernel.emitOpError("attn-tile-to-nvvm: the kernel has no warp roles (run "
                              "attn-tile-warp-specialize first)");
  return lowerBlock(body);
}

namespace {

struct AttnTileToNVVMPass : public attnc::impl::AttnTileToNVVMBase<AttnTileToNVVMPass> {
  /// The carriers' tile-level models (the kernel's set-up reads the tile
  /// schedule), also when this pass runs on its own.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    attnc::registerCarrierLoweringExternalModels(registry);
  }

  void runOnOperation() override {
    SmallVector<tile::KernelOp> kernels;
    getOperation()->walk([&](tile::KernelOp k) { kernels.push_back(k); });
    for (tile::KernelOp k : kernels) {
      auto fn = k->getParentOfType<mlir::gpu::GPUFuncOp>();
      if (!fn)
        return k.emitOpError("attn-tile-to-nvvm: a tile kernel outside a gpu.func"),
               signalPassFailure();
      FailureOr<KernelConfig> cfg = configureKernel(k.getAttention(), k.getName(),
                                                    cast<attnc::attn::KernelPlanAttr>(k.getPlan()));
      if (failed(cfg))
        return signalPassFailure();
      OpBuilder kb(k);
      KernelEmitter em(kb, k.getLoc(), *cfg);
      if (failed(em.lowerKernel(fn, k)))
        return signalPassFailure();
      k.erase();
    }
  }
};

} // namespace
