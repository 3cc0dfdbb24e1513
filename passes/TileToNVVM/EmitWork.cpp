//===- EmitWork.cpp - persistent blocks: the work items of a block --------===//
//
// Under the persistent plan the grid holds one block per SM, and a block
// runs items (a query tile of one batch and head) until none is left. The
// producer thread takes the next item from a counter in the workspace
// (zeroed by the runtime before each launch), writes it to a shared word
// of the item's parity and loads the item's Q into its Q slot (item n:
// slot n mod qSlots) on that slot's barrier; the consumers and the V
// scanner wait for the item's phase of that barrier and read the word, and
// the part of the item's tile schedule that takes reads or loops, which the
// producer computed and wrote beside it (shareItemSchedule).
// When they are done with Q (the consumers after their last QK^T, the
// scanner after its last tile) they arrive on the slot's Q empty barrier,
// which the producer waits for before it announces the next item of the
// slot. An item past the last is announced the same way, without Q, and
// every role leaves its loop. K/V ring ordinals continue across items; with
// two slots the producer loads item n + 1's Q while the consumers still run
// item n, and its first K/V tiles as ring slots free.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"

using namespace mlir;
using namespace attnc::gpu;

/// ceil(Lq / BM) as (Lq - 1) / BM + 1 (Lq >= 1; Lq + BM - 1 could wrap);
/// with grid boxes, the query boxes (the launch grid's x).
Value KernelEmitter::queryTiles() {
  if (c.plan.grid)
    return ci32(c.plan.grid->numBoxes(/*key=*/false));
  return add(arith::DivUIOp::create(b, loc, sub(argLq, ci32(1)), ci32(c.BM)), ci32(1));
}

Value KernelEmitter::numWorkItems() { return mul(mul(queryTiles(), argH), argB); }

/// Item w: query tile w % tiles from the last (the launch order of the
/// non-persistent grid: the longest tiles of causal-like carriers first, the
/// tiles of one head together so that its K/V stay in L2), head
/// (w / tiles) % H, batch w / (tiles * H).
void KernelEmitter::setUpWorkItem(Value w, WorkRole role) {
  Value tiles = queryTiles();
  Value bh = arith::DivUIOp::create(b, loc, w, tiles);
  Value bx = sub(sub(tiles, ci32(1)), arith::RemUIOp::create(b, loc, w, tiles));
  hIdx = arith::RemUIOp::create(b, loc, bh, argH);
  bIdx = arith::DivUIOp::create(b, loc, bh, argH);
  setUpItem(bx, role == WorkRole::Producer ? ItemSchedule::Publish : ItemSchedule::Adopt);
}

Value KernelEmitter::itemValueAddr(int64_t n) {
  Value par = andI(toI32(workCount), ci32(1));
  Value base = arith::TruncIOp::create(b, loc, i32, add(smemBase64, ci64(c.itemOff())));
  return add(base, add(mul(par, ci32(KernelConfig::kMaxItemValues * 8)), ci32(8 * n)));
}

/// Whether `v` (a schedule value built into `blk`) costs more than a few
/// integer ops to compute: something in its slice within `blk` reads
/// memory or has regions (a search loop, a bisection, a table read).
static bool needsReadsOrLoops(Value v, Block *blk) {
  SmallVector<Operation *> work;
  llvm::SmallPtrSet<Operation *, 32> seen;
  auto push = [&](Value x) {
    if (Operation *d = x.getDefiningOp(); d && d->getBlock() == blk && seen.insert(d).second)
      work.push_back(d);
  };
  push(v);
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (op->getNumRegions() || !isPure(op))
      return true;
    for (Value o : op->getOperands())
      push(o);
  }
  return false;
}

/// Index and integer values of at most 64 bits, no more than the area holds.
static bool publishable(ArrayRef<Value> vals) {
  return vals.size() <= size_t(KernelConfig::kMaxItemValues) &&
         llvm::all_of(vals, [](Value v) {
           return v.getType().isIndex() ||
                  (v.getType().isSignlessInteger() && v.getType().getIntOrFloatBitWidth() <= 64);
         });
}

void KernelEmitter::shareItemSchedule(const attnc::TileEnv &env, Value bx, Value firstRow,
                                      Value lastRow, bool publish) {
  // Built off the function first, so that the values to share are told
  // apart by their slices the same way in every role.
  auto scratch = std::make_unique<Block>();
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(scratch.get());
    qtc = std::make_unique<attnc::QueryTileCarrier>(b, loc, c.plan, c.op, env, toIdx(bx),
                                                    firstRow, lastRow);
  }
  SmallVector<Value> all = qtc->itemValues(), shared;
  for (Value v : all)
    if (needsReadsOrLoops(v, scratch.get()))
      shared.push_back(v);
  Block *here = b.getInsertionBlock();
  Operation *first = scratch->empty() ? nullptr : &scratch->front();
  Operation *last = scratch->empty() ? nullptr : &scratch->back();
  here->getOperations().splice(b.getInsertionPoint(), scratch->getOperations());
  if (shared.empty() || !publishable(shared))
    return;
  if (publish) {
    // Item n's area is item n - 2's, as its word is (announceWork waits
    // again, at once).
    waitForSlotRelease();
    for (auto [n, v] : llvm::enumerate(shared)) {
      Value w = v.getType().isIndex()
                    ? arith::IndexCastOp::create(b, loc, i64, v).getResult()
                    : (v.getType() == i64 ? v : arith::ExtUIOp::create(b, loc, i64, v).getResult());
      inlinePtx(Type(), {itemValueAddr(n), w}, "st.shared.b64 [$0], $1;", "r,l");
    }
    return;
  }
  IRMapping map;
  for (auto [n, v] : llvm::enumerate(shared)) {
    Value w = inlinePtx(i64, {itemValueAddr(n)}, "ld.shared.b64 $0, [$1];", "=l,r");
    Value r = v.getType().isIndex()
                  ? arith::IndexCastOp::create(b, loc, v.getType(), w).getResult()
                  : (v.getType() == i64
                         ? w
                         : arith::TruncIOp::create(b, loc, v.getType(), w).getResult());
    map.map(v, r);
  }
  SmallVector<Value> adopted;
  for (Value v : all)
    adopted.push_back(map.lookupOrDefault(v));
  qtc->adoptItemValues(adopted);
  access->remapTileDocuments(map);
  // What computed the shared values is dead now (pure ops, reads, loops of
  // them); erased from the last op built back to the first, except what
  // defines a value the schedule keeps (its uses come later).
  llvm::SmallPtrSet<Operation *, 16> kept;
  for (Value v : adopted)
    if (Operation *d = v.getDefiningOp())
      kept.insert(d);
  for (Operation *op = last; op;) {
    Operation *prev = op == first ? nullptr : op->getPrevNode();
    if (!kept.contains(op) && isOpTriviallyDead(op))
      op->erase();
    op = prev;
  }
}

/// The shared word (i32 address) that announces items of `count`'s parity.
Value KernelEmitter::workWord(Value count) {
  Value par = andI(toI32(count), ci32(1));
  Value base = arith::TruncIOp::create(b, loc, i32, add(smemBase64, ci64(c.workOff())));
  return add(base, mul(par, ci32(4)));
}

Value KernelEmitter::qSlotOf(Value count) {
  return c.qSlots == 1 ? cidx(0) : arith::RemUIOp::create(b, loc, count, cidx(c.qSlots)).getResult();
}

Value KernelEmitter::qPhaseOf(Value count) {
  Value n = toI32(count);
  if (c.qSlots == 2)
    n = arith::ShRUIOp::create(b, loc, n, ci32(1));
  return arith::TruncIOp::create(b, loc, b.getI1Type(), andI(n, ci32(1)));
}

void KernelEmitter::waitForSlotRelease() {
  Value prevParity =
      arith::XOrIOp::create(b, loc, qPhaseOf(workCount), arith::ConstantIntOp::create(b, loc, 1, 1));
  waitBar(qEmpty, qSlot, prevParity);
}

void KernelEmitter::announceWork(Value item) {
  // Item n waits for the release of the item before it on its Q slot (n - 1
  // with one slot, n - 2 with two; a fresh barrier passes parity 1 at once),
  // and reuses the word of item n - 2, which every role read before it
  // released item n - 1 or n - 2.
  waitForSlotRelease();
  inlinePtx(Type(), {workWord(workCount), item}, "st.shared.b32 [$0], $1;", "r,r");
}

Value KernelEmitter::announcedWork() {
  waitBar(qBar, qSlot, qPhaseOf(workCount));
  return inlinePtx(i32, {workWord(workCount)}, "ld.shared.b32 $0, [$1];", "=r,r");
}

void KernelEmitter::leaveItem(Value barId, int64_t threads, Value leader) {
  // The whole group has read the item's word before its leader lets the
  // producer reuse it (a warp with nothing to do could otherwise lag by two
  // items).
  NVVM::BarrierOp::create(b, loc, TypeRange{}, barId, ci32(threads), NVVM::BarrierReductionAttr(),
                          Value());
  ifThen(leader, [&] {
    nvgpu::MBarrierArriveOp::create(b, loc, nvgpu::MBarrierTokenType::get(ctx), qEmpty, qSlot);
  });
}

LogicalResult KernelEmitter::workLoop(WorkRole role, function_ref<LogicalResult()> body) {
  Value total = numWorkItems();
  LogicalResult r = success();
  scf::WhileOp::create(
      b, loc, TypeRange{idx, idx, i32}, ValueRange{ringZero, ringZero},
      [&](OpBuilder &bb, Location l, ValueRange a) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(bb.getInsertionBlock(), bb.getInsertionPoint());
        workCount = a[0];
        qSlot = qSlotOf(workCount);
        Value item;
        if (role == WorkRole::Producer) {
          item = LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::add, wsPtr, ci32(1),
                                           LLVM::AtomicOrdering::monotonic);
        } else {
          item = announcedWork();
        }
        Value more = cmp(arith::CmpIPredicate::ult, item, total);
        if (role == WorkRole::Producer)
          ifThen(arith::XOrIOp::create(b, loc, more, arith::ConstantIntOp::create(b, loc, 1, 1)),
                 [&] {
                   // No item left: the others learn it as they learn items.
                   announceWork(item);
                   nvgpu::MBarrierArriveOp::create(b, loc, nvgpu::MBarrierTokenType::get(ctx),
                                                   qBar, qSlot);
                 });
        scf::ConditionOp::create(b, loc, more, ValueRange{a[0], a[1], item});
      },
      [&](OpBuilder &bb, Location l, ValueRange a) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(bb.getInsertionBlock(), bb.getInsertionPoint());
        workCount = a[0];
        qSlot = qSlotOf(workCount);
        ringBase = ringNext = a[1];
        workItem = a[2];
        setUpWorkItem(workItem, role);
        // The item's Q descriptor (Q of slot s starts s * qBytes later).
        Value qDesc0 = qDesc;
        if (c.qSlots > 1)
          qDesc = add(qDesc, mul(arith::IndexCastUIOp::create(b, loc, i64, qSlot),
                                 ci64(c.qBytes() >> 4)));
        r = body();
        qDesc = qDesc0;
        scf::YieldOp::create(b, loc, ValueRange{add(a[0], cidx(1)), ringNext});
      });
  workItem = workCount = Value();
  qSlot = cidx(0);
  ringBase = ringZero;
  return r;
}

LogicalResult KernelEmitter::lowerForWork(tile::ForWorkOp op) {
  if (!c.persistent)
    return op.emitOpError("attn-tile-to-nvvm: for_work needs the persistent plan");
  if (workItem)
    return op.emitOpError("attn-tile-to-nvvm: nested for_work");
  // The consumers must release Q once per item, after everything that reads
  // it: without the release the producer waits forever for the next item;
  // before a QK^T, the next item's Q would overwrite the tile it reads.
  // It sits in the body, or opens the drain of a pipelined loop (which runs
  // it after the loop).
  if (inConsumers) {
    Block &body = op.getBody().front();
    SmallVector<tile::ReleaseQOp> releases;
    op.walk([&](tile::ReleaseQOp r) { releases.push_back(r); });
    bool placed = false, readAfter = false;
    if (releases.size() == 1) {
      Operation *r = releases.front();
      auto loop = dyn_cast<tile::PipelinedForOp>(r->getParentOp());
      placed = r->getBlock() == &body ||
               (loop && loop->getBlock() == &body && &loop.getDrain().front().front() == r);
      bool inDrain = loop && r->getBlock() != &body;
      if (inDrain)
        readAfter = loop.getDrain().walk([](tile::QKOp) { return WalkResult::interrupt(); })
                        .wasInterrupted();
      Operation *from = inDrain ? loop.getOperation() : r;
      for (Operation *it = from->getNextNode(); it; it = it->getNextNode())
        readAfter |= it->walk([](tile::QKOp) { return WalkResult::interrupt(); }).wasInterrupted();
      // O staged in the Q slot (o_tma_store): also after the store.
      if (c.oTmaStore)
        for (Operation *it = from->getNextNode(); it; it = it->getNextNode())
          readAfter |= it->walk([](tile::StoreOp) { return WalkResult::interrupt(); }).wasInterrupted();
    }
    if (!placed || readAfter)
      return op.emitOpError("attn-tile-to-nvvm: the consumers' for_work must release Q exactly "
                            "once, after their last QK^T (and after the store under o_tma_store; "
                            "attn-tile-persistent places it)");
  }
  return workLoop(inConsumers ? WorkRole::Consumer : WorkRole::Producer, [&]() -> LogicalResult {
    return failure(failed(lowerBlock(op.getBody().front())));
  });
}
