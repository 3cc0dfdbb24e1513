//===- EmitWGMMA.cpp - wgmma for S = Q K^T and O += P V -------------------===//
//
// S = Q K^T takes both operands from shared memory (nvvm.wgmma.mma_async).
// O += P V takes P from registers: the f32 accumulator fragment of S, packed
// in pairs, is exactly wgmma's register-A fragment for 16-bit types, so P
// never goes through shared memory. nvvm.wgmma.mma_async only takes a
// descriptor for A in LLVM 22, hence inline PTX for that one instruction.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"

using namespace mlir;
using namespace attnc::gpu;

/// wgmma shared-memory descriptor for a 1024-aligned 128B-swizzled tile at
/// byte offset `off` (i64, relative to the aligned base) with the given
/// leading / stride byte offsets.
Value KernelEmitter::makeDesc(Value off, int64_t lbo, int64_t sbo) {
  Value addr = add(smemBase64, off);
  Value lo = andI(arith::ShRUIOp::create(b, loc, addr, ci64(4)), ci64(0x3FFF));
  uint64_t hi = ((uint64_t)((lbo >> 4) & 0x3FFF) << 16) |
                ((uint64_t)((sbo >> 4) & 0x3FFF) << 32) | (1ull << 62);
  return orI(lo, ci64((int64_t)hi));
}

Value KernelEmitter::descPlus(Value desc, int64_t bytes) {
  if (!bytes)
    return desc;
  return add(desc, ci64(bytes >> 4));
}

Value KernelEmitter::wgmmaSS(Value acc, Value descA, Value descB, int64_t n, bool zeroInit,
                             bool bMNMajor) {
  NVVM::WGMMATypes ty = c.elemTy.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, n, 16);
  // LLVM 22 emits imm-trans-b = 1 - layoutB: `col` = K-major B (trans 0),
  // `row` = MN-major B (trans 1). A is K-major (`row`, imm-trans-a 0).
  return NVVM::WgmmaMmaAsyncOp::create(
      b, loc, acc.getType(), acc, descA, descB, shape, ty, ty, NVVM::WGMMATypes::f32,
      zeroInit ? NVVM::WGMMAScaleOut::zero : NVVM::WGMMAScaleOut::one,
      NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
      bMNMajor ? NVVM::MMALayout::row : NVVM::MMALayout::col, NVVM::MMAIntOverflowAttr());
}

/// acc += A(registers, 4 x packed pairs) * B(descriptor, MN-major), m64nNk16.
Value KernelEmitter::wgmmaRS(Value acc, ArrayRef<Value> a, Value descB, int64_t n) {
  int64_t nAcc = n / 2;
  std::string ty = c.elemTy.isBF16() ? "bf16" : "f16";
  std::string regs;
  for (int64_t r = 0; r < nAcc; ++r)
    regs += (r ? ", $" : "$") + std::to_string(r);
  auto op = [](int64_t i) { return "$" + std::to_string(i); };
  std::string asmStr = "{\n.reg .pred p;\nsetp.ne.b32 p, " + op(nAcc + 5) +
                       ", 0;\nwgmma.mma_async.sync.aligned.m64n" + std::to_string(n) +
                       "k16.f32." + ty + "." + ty + " {" + regs + "}, {" + op(nAcc) + ", " +
                       op(nAcc + 1) + ", " + op(nAcc + 2) + ", " + op(nAcc + 3) + "}, " +
                       op(nAcc + 4) + ", p, 1, 1, 1;\n}";
  std::string cons;
  for (int64_t r = 0; r < nAcc; ++r)
    cons += "=f,";
  cons += "r,r,r,r,l,r";
  for (int64_t r = 0; r < nAcc; ++r)
    cons += "," + std::to_string(r);
  SmallVector<Value> operands(a.begin(), a.end());
  operands.push_back(descB);
  operands.push_back(ci32(1)); // scale-d: accumulate
  llvm::append_range(operands, unpack(acc, nAcc));
  return inlinePtx(acc.getType(), operands, asmStr, cons);
}

Value KernelEmitter::kDescOf(Value stage) {
  Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
  return makeDesc(add(ci64(c.kOff(0)), mul(stage64, ci64(c.kBytes()))), 16, 1024);
}

Value KernelEmitter::vDescOf(Value stage) {
  Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
  return makeDesc(add(ci64(c.vOff(0)), mul(stage64, ci64(c.vBytes()))), c.BN * 128, 1024);
}

Value KernelEmitter::issueS(Value kDesc) {
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  Value s = LLVM::ZeroOp::create(b, loc, accType(c.BN));
  for (int64_t ch = 0; ch < c.Dp / 64; ++ch)
    for (int64_t kk = 0; kk < 4; ++kk)
      s = wgmmaSS(s, descPlus(qDesc, ch * c.BM * 128 + kk * 32),
                  descPlus(kDesc, ch * c.BN * 128 + kk * 32), c.BN,
                  /*zeroInit=*/ch == 0 && kk == 0, /*bMNMajor=*/false);
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  return s;
}

Value KernelEmitter::issuePV(Value o, ArrayRef<Value> pPacked, Value vStage,
                             std::pair<Operation *, Value> arrivalAt) {
  Operation *arrival = arrivalAt.first;
  Value ordinal = arrivalAt.second;
  // A dropped pair weighs 0, but the tensor cores multiply the whole tile:
  // 0 x NaN would reach rows that never kept the key. Only tiles with
  // dropped pairs are scanned (the others have no masked zero). On a hit
  // (rare) the exact path adds P V and the wgmma reads a zero block as V,
  // so no wgmma sits in a branch (ptxas would serialize them all). O is not
  // in flight here: every schedule waits for the previous P V before it
  // rescales O (attn-tile-pipeline).
  Value dropped = pPacked.back();
  ArrayRef<Value> p = pPacked.drop_back();
  Value exact;
  {
    OpBuilder::InsertionGuard g(b);
    // Where V arrived, if P and O are defined there: before the next QK^T
    // is issued, so that its accumulator is not live across the check.
    SmallVector<Value> uses(p);
    uses.push_back(o);
    uses.push_back(dropped);
    bool early = arrival && llvm::all_of(uses, [&](Value v) {
      Operation *def = v.getDefiningOp();
      Block *blk = def ? def->getBlock() : cast<BlockArgument>(v).getOwner();
      Operation *at = blk->findAncestorOpInBlock(*arrival);
      return at && (!def || (def != at && def->isBeforeInBlock(at)));
    });
    if (early)
      b.setInsertionPointAfter(arrival);
    auto scan = scf::IfOp::create(b, loc, TypeRange{b.getI1Type()}, dropped, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(scan.thenBlock());
      scf::YieldOp::create(b, loc, scannedNonFinite(vStage, ordinal));
      b.setInsertionPointToStart(scan.elseBlock());
      scf::YieldOp::create(b, loc, arith::ConstantIntOp::create(b, loc, 0, 1).getResult());
    }
    exact = scan.getResult(0);
    auto slow = scf::IfOp::create(b, loc, TypeRange{o.getType()}, exact, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(slow.thenBlock());
      scf::YieldOp::create(b, loc, exactPV(o, p, vStage));
      b.setInsertionPointToStart(slow.elseBlock());
      scf::YieldOp::create(b, loc, o);
    }
    o = slow.getResult(0);
  }
  // The zero block is read with both strides 0 (every core matrix the same
  // 1 KiB); a step's offset is added as t * inc, inc 0 on the exact path, so
  // only one descriptor and one increment stay live across the steps.
  Value desc = select(exact, makeDesc(ci64(c.zeroOff()), 0, 0), vDescOf(vStage));
  Value inc = select(exact, ci64(0), ci64(2048 >> 4));
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t t = 0; t < c.BN / 16; ++t)
    o = wgmmaRS(o, p.slice(4 * t, 4), t ? add(desc, mul(inc, ci64(t))) : desc, c.Dvp);
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  return o;
}

/// qk and pv issue and commit one wgmma group (and wait for it unless
/// async); mma_wait waits for all but `pending` groups; ping-pong turns are
/// named barriers 1 and 2: consumer w issues after barrier 1 + w completes,
/// i.e. after the other consumer has issued.
LogicalResult KernelEmitter::lowerMmaOp(Operation *op) {
  namespace tile = attnc::tile;
  auto waitUnlessAsync = [&](bool async) {
    if (!async)
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  };
  if (auto qk = dyn_cast<tile::QKOp>(op)) {
    bind(qk.getS(), {issueS(kDescOf(lowered1(qk.getK())))});
    waitUnlessAsync(qk.getAsync());
  } else if (auto pv = dyn_cast<tile::PVOp>(op)) {
    // The V tile's ordinal sets the parity of its scan barrier.
    if (!vArrivals.lookup(pv.getV()).second)
      return pv.emitOpError("attn-tile-to-nvvm: the V operand does not come from a ring_get");
    bind(pv.getResult(),
         {issuePV(lowered1(pv.getAcc()), lowered(pv.getP()), lowered1(pv.getV()),
                  vArrivals.lookup(pv.getV()))});
    waitUnlessAsync(pv.getAsync());
  } else if (auto w = dyn_cast<tile::MmaWaitOp>(op)) {
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, w.getPending());
  } else if (isa<tile::TurnBeginOp>(op)) {
    NVVM::BarrierOp::create(b, loc, TypeRange{}, add(cw, ci32(1)), ci32(256),
                            NVVM::BarrierReductionAttr(), Value());
  } else {
    NVVM::BarrierArriveOp::create(b, loc, sub(ci32(2), cw), ci32(256));
  }
  return success();
}
