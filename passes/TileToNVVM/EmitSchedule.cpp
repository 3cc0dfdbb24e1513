//===- EmitSchedule.cpp - set-up, Q and the K/V ring, the epilogue --------===//
//
// 384 threads, three warpgroups (the FlashAttention-3 recipe; the roles
// come from attn_tile.warp_specialize): warpgroup 0 produces (one thread
// loads Q, then K_n and V_n of the carrier's tile schedule into a
// `stages`-deep ring, each slot guarded by a full mbarrier (TMA bytes
// arrive) and an empty one (its consumers released it)); warpgroups 1 and
// 2 consume, 64 query rows each. Here: the kernel-wide set-up, the lowering
// of the ring ops, the tile loops' slot walk, and the epilogue.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"
#include "attnc/Analysis/CarrierLowering.h"

using namespace mlir;
using namespace attnc::gpu;

static constexpr double kLog2e = 1.4426950408889634;
static constexpr double kLn2 = 0.6931471805599453;
// How far ahead the producer pulls a paged tile's table entries into L1.
static constexpr int64_t kPagePrefetchTiles = 4;

void KernelEmitter::setUp(mlir::gpu::GPUFuncOp fn) {
  auto args = fn.getBody().front().getArguments();
  // A map whose box lands in a tile of type `box` (128B swizzle, OOB zeros).
  auto castMap = [&](Value p, MemRefType box) {
    auto ty = nvgpu::TensorMapDescriptorType::get(
        ctx, box, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
        nvgpu::TensorMapL2PromoKind::L2PROMO_NONE, nvgpu::TensorMapOOBKind::OOB_ZERO,
        nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
    return UnrealizedConversionCastOp::create(b, loc, ty, p).getResult(0);
  };
  qMap = castMap(args[0], c.plan.grid ? gridBoxType(false) : tileType(c.BM, /*flat=*/c.decode));
  kMap = castMap(args[1], c.plan.grid ? gridBoxType(true) : kvBoxType());
  vMap = castMap(args[2], c.plan.grid ? gridBoxType(true) : kvBoxType());
  oPtr = args[3];
  lsePtr = args[4];
  if (c.oTmaStore)
    oMapArg = args[c.oMapParam];
  argB = args[5];
  argH = args[6];
  argHq = args[7];
  argHk = args[8];
  argLq = args[9];
  argLk = args[10];
  fnArgs.assign(args.begin(), args.end());
  for (size_t n = 0; n < c.extras.size(); ++n)
    extraArgs.push_back(args[11 + n]);

  tid = toI32(mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x));
  wg = arith::ShRUIOp::create(b, loc, tid, ci32(7));
  // Consumer index (the producer computes with 0; it uses no row values).
  cw = select(cmp(arith::CmpIPredicate::eq, wg, ci32(0)), ci32(0), sub(wg, ci32(1)));
  Value lt = andI(tid, ci32(127));
  isWGLeader = cmp(arith::CmpIPredicate::eq, lt, ci32(0));
  warp = arith::ShRUIOp::create(b, loc, lt, ci32(5));
  lane = andI(tid, ci32(31));
  quadRow = arith::ShRUIOp::create(b, loc, lane, ci32(2));
  quadCol = andI(lane, ci32(3));
  ringBase = ringZero = cidx(0);
  if (c.persistent) {
    // Each role learns its items in lowerForWork; the ring's ordinals run on.
    wsPtr = args[c.wsParam];
  } else {
    // Query tiles in reverse launch order: under causal-like carriers the
    // last tiles carry the most key tiles, so they start first and the
    // grid's tail is filled with the short ones.
    Value bx = sub(sub(toI32(mlir::gpu::GridDimOp::create(b, loc, mlir::gpu::Dimension::x)),
                       ci32(1)),
                   toI32(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x)));
    hIdx = toI32(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::y));
    bIdx = toI32(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::z));
    if (c.decode) {
      // grid.z = B * S: batch and split.
      argS = args[c.sParam];
      wsPtr = args[c.wsParam];
      splitIdx = arith::RemUIOp::create(b, loc, bIdx, argS);
      bIdx = arith::DivUIOp::create(b, loc, bIdx, argS);
    }
    setUpItem(bx);
  }

  // Shared memory: align the base to 1024 for the 128B-swizzled tiles.
  auto smemTy =
      MemRefType::get({ShapedType::kDynamic}, i8, MemRefLayoutAttrInterface{}, wgAS);
  dyn = mlir::gpu::DynamicSharedMemoryOp::create(b, loc, smemTy);
  Value baseIdx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dyn);
  Value rem = arith::RemUIOp::create(b, loc, baseIdx, cidx(1024));
  pad = arith::RemUIOp::create(b, loc, arith::SubIOp::create(b, loc, cidx(1024), rem),
                               cidx(1024));
  smemBase64 =
      arith::IndexCastUIOp::create(b, loc, i64, arith::AddIOp::create(b, loc, baseIdx, pad));

  auto barTy = [&](unsigned n) { return nvgpu::MBarrierGroupType::get(ctx, wgAS, n); };
  qBar = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.qSlots));
  kFull = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.stages));
  kEmpty = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.stages));
  vFull = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.stages));
  vEmpty = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.stages));
  vScan = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.stages));
  if (c.persistent)
    qEmpty = nvgpu::MBarrierCreateOp::create(b, loc, barTy(c.qSlots));
  ifThen(cmp(arith::CmpIPredicate::eq, tid, ci32(0)), [&] {
    for (int64_t s = 0; s < c.qSlots; ++s) {
      nvgpu::MBarrierInitOp::create(b, loc, qBar, cidx(1), cidx(s), Value());
      // Q is free again when both consumers and the scanner are done with
      // the item (lowerForWork).
      if (c.persistent)
        nvgpu::MBarrierInitOp::create(b, loc, qEmpty,
                                      cidx(KernelConfig::kConsumerWGs + (c.vScanner ? 1 : 0)),
                                      cidx(s), Value());
    }
    for (int64_t s = 0; s < c.stages; ++s) {
      nvgpu::MBarrierInitOp::create(b, loc, kFull, cidx(1), cidx(s), Value());
      nvgpu::MBarrierInitOp::create(b, loc, vFull, cidx(1), cidx(s), Value());
      // One arrival per consumer warpgroup that reads the slot (its leader,
      // after its wgmma wait): both, or in decode the one whose tile it is;
      // V slots also wait for the scanner where there is one (emitVScanner).
      int64_t readers = c.decode ? 1 : KernelConfig::kConsumerWGs;
      nvgpu::MBarrierInitOp::create(b, loc, kEmpty, cidx(readers), cidx(s), Value());
      nvgpu::MBarrierInitOp::create(b, loc, vEmpty, cidx(readers + (c.vScanner ? 1 : 0)), cidx(s),
                                    Value());
      nvgpu::MBarrierInitOp::create(b, loc, vScan, cidx(1), cidx(s), Value());
    }
    nvgpu::TmaPrefetchOp::create(b, loc, qMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, kMap, Value());
    nvgpu::TmaPrefetchOp::create(b, loc, vMap, Value());
  });
  // The zero block, written through the generic proxy and read by wgmma
  // (the async proxy) after the barrier.
  ifThen(cmp(arith::CmpIPredicate::ult, tid, ci32(256)), [&] {
    Value addr = arith::TruncIOp::create(b, loc, i32, add(smemBase64, ci64(c.zeroOff())));
    inlinePtx(Type(), {add(addr, mul(tid, ci32(4)))}, "st.shared.b32 [$0], 0;", "r");
  });
  inlinePtx(Type(), {}, "fence.proxy.async.shared::cta;", "~{memory}");
  mlir::gpu::BarrierOp::create(b, loc);
  ticks = cidx(10000000);
  // Each consumer's 64 rows of Q (decode: both read the same 64).
  Value cw64 = arith::ExtUIOp::create(b, loc, i64, c.decode ? ci32(0) : cw);
  qDesc = makeDesc(mul(cw64, ci64(64 * 128)), /*lbo=*/16, /*sbo=*/1024);
  qSlot = cidx(0);
}

/// The block's current work item, query tile bx of head hIdx, batch bIdx:
/// its rows and heads, and the carrier's tile schedule of the tile,
/// evaluated by every thread so that producer and consumers walk one
/// sequence of key tiles.
void KernelEmitter::setUpItem(Value bx, ItemSchedule how) {
  Value firstRow, lastRow;
  setUpRows(bx, firstRow, lastRow);
  access = std::make_unique<KernelAccess>(*this);
  // The tile schedule first: the rows' spans may reuse what it computed.
  attnc::TileEnv env{bI, hI, lqI, lkI, access.get()};
  if (how == ItemSchedule::Compute)
    qtc = std::make_unique<attnc::QueryTileCarrier>(b, loc, c.plan, c.op, env, toIdx(bx),
                                                    firstRow, lastRow);
  else
    shareItemSchedule(env, bx, firstRow, lastRow, how == ItemSchedule::Publish);
  for (Attribute a : c.op.getCarrier())
    attnc::getCarrierLowering(a).prepareRows(b, *access, ValueRange{rowAIdx, rowBIdx});
  nSlots = qtc->numSlots();
  slotLo = cidx(0);
  slotHi = nSlots;
  if (c.decode) {
    // Split s takes slots [s * per, min((s + 1) * per, n)), per = ceil(n / S).
    Value sI = toIdx(argS);
    Value per = arith::CeilDivUIOp::create(b, loc, nSlots, sI);
    slotLo = arith::MinUIOp::create(b, loc, mul(toIdx(splitIdx), per), nSlots);
    slotHi = arith::MinUIOp::create(b, loc, add(slotLo, per), nSlots);
    // The output tile's counter: (b, head group, query tile).
    Value gx = toI32(mlir::gpu::GridDimOp::create(b, loc, mlir::gpu::Dimension::x));
    Value gy = toI32(mlir::gpu::GridDimOp::create(b, loc, mlir::gpu::Dimension::y));
    tileId = add(mul(add(mul(bIdx, gy), hIdx), gx), bx);
    auto ext = [&](Value v) { return arith::ExtUIOp::create(b, loc, i64, v).getResult(); };
    nRowsAll = mul(mul(ext(argB), ext(argH)), ext(argLq));
    // Workspace sections (EmitDecode.cpp): counters, padded to 256 bytes,
    // then O of every partial, then (m, l) of every partial.
    Value nTiles = arith::ExtUIOp::create(b, loc, i64, mul(mul(gx, gy), argB));
    wsOBase = mul(arith::DivUIOp::create(b, loc, add(mul(nTiles, ci64(4)), ci64(255)), ci64(256)),
                  ci64(256));
    Value parts = arith::ExtUIOp::create(b, loc, i64, mul(argS, ci32(2)));
    wsMLBase = add(wsOBase, mul(mul(parts, nRowsAll), ci64(c.Dv * 4)));
  }
}

/// Heads and rows of this block: which q/k/v heads it reads, the output
/// rows it owns, and per accumulator row the head and query position (a
/// decode tile packs several heads). firstRow / lastRow: the query positions
/// the tile covers, when they are not the default [m0, m0 + BM) (decode).
void KernelEmitter::setUpRows(Value bx, Value &firstRow, Value &lastRow) {
  // Heads: output head h reads q head h / (H/Hq) and kv head h / (H/Hk). A
  // decode tile holds G = H / grid.y heads, h0 .. h0 + G - 1, whose rows lie
  // back to back in q and o: G = H/Hk when the manifest packs the heads of a
  // KV head (Hq == H), else 1.
  Value G = c.decode ? arith::DivUIOp::create(
                           b, loc, argH,
                           toI32(mlir::gpu::GridDimOp::create(b, loc, mlir::gpu::Dimension::y)))
                           .getResult()
                     : ci32(1);
  h0 = mul(hIdx, G);
  Value hq = arith::DivUIOp::create(b, loc, h0, arith::DivUIOp::create(b, loc, argH, argHq));
  Value hk = arith::DivUIOp::create(b, loc, h0, arith::DivUIOp::create(b, loc, argH, argHk));
  bhq = add(mul(bIdx, argHq), hq);
  bhk = add(mul(bIdx, argHk), hk);
  kvHead = hk;
  bhOut = add(mul(bIdx, argH), h0);
  rowsValid = mul(G, argLq);
  m0 = mul(bx, ci32(c.BM));
  qTileIdx = bx;
  Value rowOff = c.decode ? ci32(0) : mul(cw, ci32(64));
  Value localA = add(rowOff, add(mul(warp, ci32(16)), quadRow));
  if (c.plan.grid) {
    // Grid boxes: a row's query is its token (the box's rows are its
    // tokens row-major); a row past the grid (a box reaching past it) gets
    // Lq, which the epilogue does not store. Each row's window per axis,
    // [lo, lo + width], is for the element test (maskScoresInBox): per
    // item, not per score.
    attnc::IndexMath m{b, loc};
    const attnc::GridTiles &g = *c.plan.grid;
    SmallVector<Value, 3> qOrigin = g.origin(m, toIdx(bx), /*key=*/false);
    for (int rr = 0; rr < 2; ++rr) {
      SmallVector<Value, 3> at =
          g.localCoords(m, toIdx(rr ? add(localA, ci32(8)) : localA), /*key=*/false);
      gridRowLo[rr].clear();
      gridRowWidth[rr].clear();
      Value inGrid = m.t();
      for (size_t a = 0; a < g.axes.size(); ++a) {
        at[a] = m.add(qOrigin[a], at[a]);
        inGrid = m.land(inGrid, m.lt(at[a], m.c(g.axes[a].n)));
        auto [lo, hi] = g.axes[a].window(m, at[a]);
        gridRowLo[rr].push_back(toI32(lo));
        gridRowWidth[rr].push_back(toI32(m.sub(hi, lo)));
      }
      (rr ? rowB : rowA) = select(inGrid, toI32(g.token(m, at)), argLq);
    }
  } else {
    rowA = add(m0, localA);
    rowB = add(rowA, ci32(8));
  }
  bI = toIdx(bIdx);
  lqI = toIdx(argLq);
  lkI = toIdx(argLk);
  // This batch's key length as the carrier sees it (a lengths family gives
  // each sequence its own): the tile schedule, the bounds mask and the
  // paged loads all stop there.
  {
    KernelAccess acc(*this);
    lkI = attnc::narrowKeyLength(b, loc, c.op, acc, bI, lkI);
  }
  lkEff = toI32(lkI);
  if (c.decode) {
    // Row r: head h0 + r / Lq, query r % Lq (r clamped to the group's rows:
    // rows past them are computed but never stored).
    Value lastValid = sub(rowsValid, ci32(1));
    auto headAndPos = [&](Value r, Value &h, Value &i) {
      Value rc = arith::MinUIOp::create(b, loc, r, lastValid);
      h = toIdx(add(h0, arith::DivUIOp::create(b, loc, rc, argLq)));
      i = toIdx(arith::RemUIOp::create(b, loc, rc, argLq));
    };
    headAndPos(rowA, hAIdx, rowAIdx);
    headAndPos(rowB, hBIdx, rowBIdx);
    hI = toIdx(h0);
    // The tile's query positions: one head's run, else all of [0, Lq).
    Value r1 = arith::MinUIOp::create(b, loc, add(m0, ci32(c.BM - 1)), lastValid);
    Value oneHead = cmp(arith::CmpIPredicate::eq, arith::DivUIOp::create(b, loc, m0, argLq),
                        arith::DivUIOp::create(b, loc, r1, argLq));
    firstRow = toIdx(select(oneHead, arith::RemUIOp::create(b, loc, m0, argLq), ci32(0)));
    lastRow = toIdx(select(oneHead, arith::RemUIOp::create(b, loc, r1, argLq),
                           sub(argLq, ci32(1))));
  } else {
    hI = toIdx(hIdx);
    hAIdx = hBIdx = hI;
    rowAIdx = toIdx(rowA);
    rowBIdx = toIdx(rowB);
  }

}

/// First valid slot at or after `from` (list mode skips tiles outside the
/// other families' ranges, a mask region tiles it rules out); slotHi when
/// none (or `from` itself when it is past slotHi).
Value KernelEmitter::nextSlot(Value from) {
  if (!qtc->filtersSlots())
    return from;
  auto w = scf::WhileOp::create(
      b, loc, TypeRange{idx}, ValueRange{from},
      [&](OpBuilder &bb, Location l, ValueRange a) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(bb.getInsertionBlock(), bb.getInsertionPoint());
        Value in = cmp(arith::CmpIPredicate::slt, a[0], slotHi);
        // skip = in && !valid(tile(t)); the CSR read only when in range.
        auto ifIn = scf::IfOp::create(b, l, TypeRange{b.getI1Type()}, in, true);
        {
          OpBuilder::InsertionGuard g4(b);
          b.setInsertionPointToStart(ifIn.thenBlock());
          Value ok = qtc->slotIsValid(b, l, qtc->tileOfSlot(b, l, a[0]));
          scf::YieldOp::create(
              b, l,
              ValueRange{arith::XOrIOp::create(b, l, ok,
                                               arith::ConstantIntOp::create(b, l, 1, 1))
                             .getResult()});
          b.setInsertionPointToStart(ifIn.elseBlock());
          scf::YieldOp::create(b, l,
                               ValueRange{arith::ConstantIntOp::create(b, l, 0, 1).getResult()});
        }
        scf::ConditionOp::create(b, l, ifIn.getResult(0), a);
      },
      [&](OpBuilder &bb, Location l, ValueRange a) {
        scf::YieldOp::create(
            bb, l,
            ValueRange{arith::AddIOp::create(bb, l, a[0], arith::ConstantIndexOp::create(bb, l, 1))
                           .getResult()});
      });
  return w.getResult(0);
}

FailureOr<scf::ForOp> KernelEmitter::slotLoop(Value lo, ValueRange init, SlotBody body) {
  auto forOp = scf::ForOp::create(b, loc, lo, slotHi, cidx(1), init);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(forOp.getBody());
  Value t = forOp.getInductionVar();
  auto it = forOp.getRegionIterArgs();
  Value tile = qtc->tileOfSlot(b, loc, t);
  Value valid = qtc->slotIsValid(b, loc, tile);
  if (!valid) {
    FailureOr<SmallVector<Value>> r = body(t, tile, it);
    if (failed(r))
      return failure();
    scf::YieldOp::create(b, loc, *r);
    return forOp;
  }
  auto ifV = scf::IfOp::create(b, loc, forOp.getResultTypes(), valid, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(ifV.thenBlock());
    FailureOr<SmallVector<Value>> r = body(t, tile, it);
    if (failed(r))
      return failure();
    scf::YieldOp::create(b, loc, *r);
    b.setInsertionPointToStart(ifV.elseBlock());
    scf::YieldOp::create(b, loc, it);
  }
  scf::YieldOp::create(b, loc, ifV.getResults());
  return forOp;
}

Value KernelEmitter::stageOf(Value k) { return arith::RemUIOp::create(b, loc, k, cidx(c.stages)); }

Value KernelEmitter::parityOf(Value k) {
  Value round = arith::DivUIOp::create(b, loc, k, cidx(c.stages));
  return arith::TruncIOp::create(b, loc, b.getI1Type(), toI32(round));
}

void KernelEmitter::waitBar(Value group, Value stage, Value parity) {
  nvgpu::MBarrierTryWaitParityOp::create(b, loc, group, parity, ticks, stage);
}

void KernelEmitter::arriveBar(Value group, Value stage) {
  ifThen(isWGLeader, [&] {
    nvgpu::MBarrierArriveOp::create(b, loc, nvgpu::MBarrierTokenType::get(ctx), group, stage);
  });
}

MemRefType KernelEmitter::gridBoxType(bool key) {
  SmallVector<int64_t> shape{1};
  for (int64_t e : key ? c.kPatch : c.qPatch)
    shape.push_back(e);
  shape.push_back(64);
  return MemRefType::get(shape, c.elemTy, MemRefLayoutAttrInterface{}, wgAS);
}

/// A box's coordinates innermost first, as its map's dims: the chunk's
/// column, the box's origin on each axis (last first), the head.
SmallVector<Value> KernelEmitter::gridBoxCoords(Value tile, bool key, int64_t ch, Value bh) {
  attnc::IndexMath m{b, loc};
  SmallVector<Value, 3> at = c.plan.grid->origin(m, tile, key);
  SmallVector<Value> coords{cidx(ch * 64)};
  coords.append(at.rbegin(), at.rend());
  coords.push_back(toIdx(bh));
  return coords;
}

void KernelEmitter::loadQ() {
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, qBar, cidx(c.qBytes()), qSlot, Value());
  Value slotOff = mul(qSlot, cidx(c.qBytes()));
  for (int64_t ch = 0; ch < c.Dp / 64; ++ch) {
    Value off = add(slotOff, cidx(ch * c.BM * 128));
    if (c.plan.grid) {
      Value dst = smemView(off, gridBoxType(false));
      nvgpu::TmaAsyncLoadOp::create(b, loc, dst, qBar, qMap,
                                    gridBoxCoords(toIdx(qTileIdx), false, ch, bhq), qSlot,
                                    Value(), Value());
      continue;
    }
    Value dst = smemView(off, tileType(c.BM, /*flat=*/c.decode));
    // Decode: a 2-D map over the [B*Hq*Lq, D] rows of q (a tile may span
    // heads).
    SmallVector<Value> at{cidx(ch * 64), toIdx(m0), toIdx(bhq)};
    if (c.decode)
      at = {cidx(ch * 64), toIdx(add(mul(bhq, argLq), m0))};
    nvgpu::TmaAsyncLoadOp::create(b, loc, dst, qBar, qMap, at, qSlot, Value(), Value());
  }
}

void KernelEmitter::loadK(Value tile, Value stage) { loadKV(tile, stage, /*isV=*/false); }
void KernelEmitter::loadV(Value tile, Value stage) { loadKV(tile, stage, /*isV=*/true); }

/// The smem box of one K/V TMA load: [rows][64] as the map's box wants it
/// (a [rows, 1, 64] box over the head axis of an nhd page pool).
MemRefType KernelEmitter::kvBoxType() {
  int64_t rows = c.kvBoxRows();
  if (c.pageSize && !c.pagesHND)
    return MemRefType::get({rows, 1, 64}, c.elemTy, MemRefLayoutAttrInterface{}, wgAS);
  return tileType(rows);
}

/// A paged K or V tile: one box per page it spans (or one per tile when a
/// page holds several tiles), each from the pool page the table names. Pages
/// past this sequence's length are not read: their boxes load its last page
/// again (rows the mask drops), so a table whose tail is unset never steers a
/// load, and every box arrives as the barrier expects.
void KernelEmitter::loadPagedKV(Value tile, Value stage, Value base, Value full, Value map,
                                int64_t chunks) {
  int64_t rows = c.kvBoxRows(), ps = c.pageSize;
  Value lastPage = arith::MaxSIOp::create(
      b, loc, sub(arith::CeilDivSIOp::create(b, loc, lkI, cidx(ps)), cidx(1)), cidx(0));
  // The table reads first, then the copies: the loads overlap instead of
  // each stalling the issuing thread before its copy (a TMA is a memory
  // operation that later loads cannot move above).
  SmallVector<Value> pages, offs;
  for (int64_t u = 0; u < c.BN / rows; ++u) {
    Value j = add(mul(tile, cidx(c.BN)), cidx(u * rows));
    Value lp = arith::MinSIOp::create(b, loc, arith::DivUIOp::create(b, loc, j, cidx(ps)), lastPage);
    offs.push_back(arith::RemUIOp::create(b, loc, j, cidx(ps)));
    pages.push_back(loadExtra(b, c.pageTable, ValueRange{bI, lp}));
  }
  // Those reads are the issuing thread's one dependent latency per tile; a
  // slot it waited for is filled only after them. The table line of the
  // tile kPagePrefetchTiles ahead (128 bytes: 32 page ids) goes to L1 now,
  // so that its reads hit there.
  {
    Value ahead = add(mul(tile, cidx(c.BN)), cidx(kPagePrefetchTiles * c.BN));
    Value lp = arith::MinSIOp::create(b, loc, arith::DivUIOp::create(b, loc, ahead, cidx(ps)),
                                      lastPage);
    Value addr = LLVM::PtrToIntOp::create(b, loc, i64,
                                          extraAddress(b, c.pageTable, ValueRange{bI, lp}));
    inlinePtx(Type(), {addr}, "prefetch.L1 [$0];", "l"); // a generic address
  }
  // A page id outside the pool (a table the checked mode did not see) must
  // give a coordinate outside the pool, not one that wraps the map's signed
  // 32-bit coordinate back into it: ids are clamped to [-1, cap] so that the
  // coordinate stays in (-2^31, 2^31) (the manifest bounds the pool's rows
  // by the same); -1 reads rows before the pool, which TMA fills with zeros.
  Value stride = c.pagesHND ? toIdx(argHk) : cidx(ps); // a page id's coordinate multiplier
  Value idCap = arith::DivSIOp::create(b, loc, sub(cidx(INT32_MAX), stride), stride);
  for (int64_t u = 0; u < c.BN / rows; ++u) {
    Value off = offs[u];
    Value page = arith::MaxSIOp::create(
        b, loc,
        arith::MinSIOp::create(b, loc, arith::IndexCastOp::create(b, loc, idx, pages[u]), idCap),
        cidx(-1));
    for (int64_t ch = 0; ch < chunks; ++ch) {
      Value dst = smemView(add(base, cidx(ch * c.BN * 128 + u * rows * 128)), kvBoxType());
      // nhd map: [D, Hk, P*PS]; hnd map: [D, PS, P*Hk] (innermost first).
      Value hk = toIdx(kvHead);
      SmallVector<Value> at =
          c.pagesHND ? SmallVector<Value>{cidx(ch * 64), off, add(mul(page, toIdx(argHk)), hk)}
                     : SmallVector<Value>{cidx(ch * 64), hk, add(mul(page, cidx(ps)), off)};
      nvgpu::TmaAsyncLoadOp::create(b, loc, dst, full, map, at, stage, Value(), Value());
    }
  }
}

/// One K or V tile into its ring slot: expect its bytes on the slot's full
/// barrier, then one TMA box per 64 columns.
void KernelEmitter::loadKV(Value tile, Value stage, bool isV) {
  int64_t bytes = isV ? c.vBytes() : c.kBytes();
  Value full = isV ? vFull : kFull, map = isV ? vMap : kMap;
  Value base = add(cidx(isV ? c.vOff(0) : c.kOff(0)), mul(stage, cidx(bytes)));
  nvgpu::MBarrierArriveExpectTxOp::create(b, loc, full, cidx(bytes), stage, Value());
  if (c.pageSize) {
    loadPagedKV(tile, stage, base, full, map, (isV ? c.Dvp : c.Dp) / 64);
    return;
  }
  Value row = mul(tile, cidx(c.BN));
  for (int64_t ch = 0; ch < (isV ? c.Dvp : c.Dp) / 64; ++ch) {
    if (c.plan.grid) {
      Value dst = smemView(add(base, cidx(ch * c.BN * 128)), gridBoxType(true));
      nvgpu::TmaAsyncLoadOp::create(b, loc, dst, full, map, gridBoxCoords(tile, true, ch, bhk),
                                    stage, Value(), Value());
      continue;
    }
    Value dst = smemView(add(base, cidx(ch * c.BN * 128)), tileType(c.BN));
    nvgpu::TmaAsyncLoadOp::create(b, loc, dst, full, map,
                                  ValueRange{cidx(ch * 64), row, toIdx(bhk)}, stage, Value(),
                                  Value());
  }
}

/// Q and the K/V ring. A slot's stage is n mod stages and its phase parity
/// (n / stages) mod 2; a fresh mbarrier counts as having completed the
/// phase before phase 0, so the producer's first round waits for nothing.
LogicalResult KernelEmitter::lowerRingOp(Operation *op) {
  namespace tile = attnc::tile;
  auto fullOf = [&](StringRef role) { return role == "k" ? kFull : vFull; };
  auto emptyOf = [&](StringRef role) { return role == "k" ? kEmpty : vEmpty; };
  if (auto l = dyn_cast<tile::LoadQOp>(op)) {
    if (!l.getAsync())
      return l.emitOpError("attn-tile-to-nvvm: load_q without warp roles");
    if (c.persistent && !workItem)
      return l.emitOpError("attn-tile-to-nvvm: under the persistent plan load_q belongs in "
                           "attn_tile.for_work");
    // A persistent block's Q announces the item (announceWork).
    if (c.persistent)
      announceWork(workItem);
    loadQ();
    return success();
  }
  if (auto w = dyn_cast<tile::WaitQOp>(op)) {
    // A persistent block's roles waited for Q as they learned the item.
    if (!c.persistent)
      waitBar(qBar, cidx(0), arith::ConstantIntOp::create(b, loc, 0, 1));
    bind(w.getTile(), {});
    return success();
  }
  if (isa<tile::ReleaseQOp>(op)) {
    if (!c.persistent)
      return op->emitOpError("attn-tile-to-nvvm: release_q needs the persistent plan");
    leaveItem(add(cw, ci32(3)), 128, isWGLeader);
    return success();
  }
  if (auto put = dyn_cast<tile::RingPutOp>(op)) {
    Value n = lowered1(put.getOrdinal()), stage = stageOf(n);
    Value freeParity =
        arith::XOrIOp::create(b, loc, parityOf(n), arith::ConstantIntOp::create(b, loc, 1, 1));
    waitBar(emptyOf(put.getRole()), stage, freeParity);
    loadKV(lowered1(put.getTile()), stage, put.getRole() == "v");
    return success();
  }
  if (auto get = dyn_cast<tile::RingGetOp>(op)) {
    Value n = lowered1(get.getOrdinal()), stage = stageOf(n);
    waitBar(fullOf(get.getTile().getType().getRole()), stage, parityOf(n));
    bind(get.getTile(), {stage});
    // Where the V tile has arrived (issuePV checks it there) and its
    // ordinal (the parity of its scan barrier).
    if (get.getTile().getType().getRole() == "v")
      vArrivals[get.getTile()] = {b.getInsertionPoint() != b.getBlock()->begin()
                                      ? &*std::prev(b.getInsertionPoint())
                                      : nullptr,
                                  n};
    return success();
  }
  auto rel = cast<tile::RingReleaseOp>(op);
  arriveBar(emptyOf(rel.getTile().getType().getRole()), lowered1(rel.getTile()));
  return success();
}

Value KernelEmitter::outputRow(Value row) {
  auto ext = [&](Value v) { return arith::ExtUIOp::create(b, loc, i64, v).getResult(); };
  return add(mul(ext(bhOut), ext(argLq)), ext(row));
}

/// Normalise (anchor row, null key), store O (bf16/f16) and the LSE (f32).
void KernelEmitter::emitEpilogue(Value oFin, RowState st, bool lReduced) {
  Value lFin[2] = {st.lA, st.lB};
  if (!lReduced)
    lFin[0] = quadSum(st.lA), lFin[1] = quadSum(st.lB);
  Value mFin[2] = {st.mA, st.mB};
  SmallVector<Value> ov = unpack(oFin, c.Dvp / 2);
  Value one = cf32(1.0), zeroF = cf32(0.0), ninf = negInf();
  // The null key (row anchor): score c, value 0.
  for (int rr = 0; rr < 2; ++rr) {
    Value row = rr ? rowB : rowA;
    Value nullC;
    if (c.nullLogit)
      nullC = cf32(*c.nullLogit);
    else if (c.nullExtra >= 0)
      nullC = loadExtra(b, c.nullExtra, ValueRange{rr ? hBIdx : hAIdx});
    Value l = lFin[rr];
    Value lse, inv;
    if (c.expFamily()) {
      Value m = mFin[rr]; // log2 domain; -inf for an empty row
      Value mUse =
          select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf), zeroF, m);
      Value scaleO = one;
      if (nullC) {
        Value c2 = fmul(nullC, cf32(kLog2e));
        Value mF = fmax(mUse, c2);
        // Empty row: l = 0, so the key mass vanishes and only exp(c) stays.
        Value beta = ex2(fsub(mUse, mF));
        l = fadd(fmul(l, beta), ex2(fsub(c2, mF)));
        scaleO = beta;
        mUse = mF;
      }
      Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UGT, l, zeroF);
      // Anchor none puts the shift back: O = 2^m O' (no null key there).
      inv = c.anchor == attnc::attn::Anchor::none
                ? ex2(mUse)
                : select(pos, arith::DivFOp::create(b, loc, scaleO, l), zeroF);
      lse = select(pos, fmul(fadd(mUse, lg2(l)), cf32(kLn2)), ninf);
    } else {
      if (nullC && c.anchor == attnc::attn::Anchor::row)
        l = fadd(l, linkWeight(nullC));
      Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UGT, l, zeroF);
      // lse = ln(sum of weights) (the row anchor's denominator).
      lse = select(pos, fmul(lg2(l), cf32(kLn2)), ninf);
      inv = c.anchor != attnc::attn::Anchor::none
                ? select(pos, arith::DivFOp::create(b, loc, one, l), zeroF)
                : one;
    }
    if (c.oTmaStore) {
      stageORow(ov, rr, inv);
      ifThen(andI(cmp(arith::CmpIPredicate::slt, row, rowsValid),
                  cmp(arith::CmpIPredicate::eq, quadCol, ci32(0))),
             [&] {
               Value ptr = LLVM::GEPOp::create(b, loc, ptrTy, i8, lsePtr,
                                               ValueRange{mul(outputRow(row), ci64(4))});
               LLVM::StoreOp::create(b, loc, lse, ptr, /*alignment=*/4);
             });
      continue;
    }
    ifThen(cmp(arith::CmpIPredicate::slt, row, rowsValid), [&] {
      Value rowLin = outputRow(row);
      Value rowByte = mul(rowLin, ci64(c.Dv * 2));
      Value colBase = arith::ExtUIOp::create(b, loc, i64, mul(quadCol, ci32(4)));
      for (int64_t r = 0; r < c.Dvp / 2; r += 2) {
        // Entry r covers columns (r / 4) * 8 .. + 7; Dv is a multiple of 8.
        if (((r / 2) % 2) != rr || (r / 4) * 8 >= c.Dv)
          continue;
        Value off = add(rowByte, add(colBase, ci64((r / 4) * 16)));
        Value ptr = LLVM::GEPOp::create(b, loc, ptrTy, i8, oPtr, ValueRange{off});
        LLVM::StoreOp::create(b, loc, packHalf2(fmul(ov[r], inv), fmul(ov[r + 1], inv)), ptr,
                              /*alignment=*/4);
      }
      ifThen(cmp(arith::CmpIPredicate::eq, quadCol, ci32(0)), [&] {
        Value ptr =
            LLVM::GEPOp::create(b, loc, ptrTy, i8, lsePtr, ValueRange{mul(rowLin, ci64(4))});
        LLVM::StoreOp::create(b, loc, lse, ptr, /*alignment=*/4);
      });
    });
  }
  if (c.oTmaStore)
    storeStagedO();
}

/// Rows rr (A: 0, B: 1) of this thread's normalised O into the consumer's
/// half of the item's Q slot, laid out as the Q tile's 128B-swizzled
/// [64 rows][64 columns] chunks (the layout the O map's boxes read): entry
/// r holds columns (r / 4) * 8 + 2 * quadCol + {0, 1} of local row warp * 16
/// + quadRow + 8 * rr, whose 16-byte unit (r / 4) % 8 lands at unit
/// ((r / 4) % 8) ^ quadRow of its 128-byte row (the row mod 8 is quadRow).
void KernelEmitter::stageORow(ArrayRef<Value> ov, int rr, Value inv) {
  Value slotBase = add(arith::TruncIOp::create(b, loc, i32, smemBase64),
                       toI32(mul(qSlot, cidx(c.qBytes()))));
  Value lr = add(add(mul(warp, ci32(16)), quadRow), ci32(8 * rr));
  Value rowBase = add(add(slotBase, add(mul(cw, ci32(64 * 128)), mul(lr, ci32(128)))),
                      mul(quadCol, ci32(4)));
  // Taken through an opaque move, so that no address is computed before
  // the tile loop and held through it (hoisted there, the 32 addresses
  // spilled the dilated mask's persistent kernel: 252 bytes).
  rowBase = inlinePtx(i32, {rowBase}, "mov.b32 $0, $1;", "=r,r");
  for (int64_t r = 0; r < c.Dvp / 2; r += 2) {
    if (((r / 2) % 2) != rr)
      continue;
    Value unit = arith::XOrIOp::create(b, loc, ci32((r / 4) % 8), quadRow);
    Value addr = add(rowBase, add(ci32((r / 32) * c.BM * 128), mul(unit, ci32(16))));
    inlinePtx(Type(), {addr, packHalf2(fmul(ov[r], inv), fmul(ov[r + 1], inv))},
              "st.shared.b32 [$0], $1;", "r,r");
  }
}

/// The consumer's staged O rows to global memory: its 128 threads' shared
/// writes made visible to the async proxy, then one thread stores a box of
/// 64 columns per chunk (rows past Lq are clipped by the map) and waits
/// until the store has read the slot, which the producer may then reuse.
void KernelEmitter::storeStagedO() {
  inlinePtx(Type(), {}, "fence.proxy.async.shared::cta;", "~{memory}");
  NVVM::BarrierOp::create(b, loc, TypeRange{}, add(cw, ci32(3)), ci32(128),
                          NVVM::BarrierReductionAttr(), Value());
  ifThen(isWGLeader, [&] {
    // Addresses taken here through opaque moves, and the store written as
    // PTX on a 32-bit shared address: nvgpu's op reads the slot through the
    // kernel's 64-bit shared-memory descriptor, whose values then stay live
    // through every consumer's tile loop (the dilated mask's persistent
    // kernel spilled 456 bytes).
    Value map = inlinePtx(i64, {LLVM::PtrToIntOp::create(b, loc, i64, oMapArg)}, "mov.b64 $0, $1;",
                          "=l,l");
    Value src = add(add(arith::TruncIOp::create(b, loc, i32, smemBase64),
                        toI32(mul(qSlot, cidx(c.qBytes())))),
                    mul(cw, ci32(64 * 128)));
    src = inlinePtx(i32, {src}, "mov.b32 $0, $1;", "=r,r");
    Value row = add(m0, mul(cw, ci32(64)));
    for (int64_t ch = 0; ch < c.Dvp / 64; ++ch)
      inlinePtx(Type(), {map, ci32(ch * 64), row, bhOut, add(src, ci32(ch * c.BM * 128))},
                "cp.async.bulk.tensor.3d.global.shared::cta.tile.bulk_group [$0, {$1, $2, $3}], [$4];",
                "l,r,r,r,r,~{memory}");
    inlinePtx(Type(), {}, "cp.async.bulk.commit_group;", "~{memory}");
    inlinePtx(Type(), {}, "cp.async.bulk.wait_group.read 0;", "~{memory}");
  });
}
