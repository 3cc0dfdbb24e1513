//===- EmitExactPV.cpp - P V where a dropped pair meets a NaN or Inf in V -===//
//
// A pair that the carrier or a mask drops weighs exactly 0, and must add
// nothing to O even against a NaN or Inf in V (docs/semantics.md, "NaN and
// Inf"). The tensor cores multiply the whole tile, and 0 x NaN is NaN, so a
// tile with dropped pairs is first scanned for a non-finite V (one packed
// FMA by zero per word, which is NaN exactly when a half is NaN or Inf), by
// the producer warpgroup's idle warps as the tile arrives; on a hit, which
// ordinary inputs never take, P V runs on the CUDA cores with each zero
// weight skipped.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
using namespace attnc::gpu;

Value KernelEmitter::vTileAddr(Value stage) {
  Value stage64 = arith::IndexCastUIOp::create(b, loc, i64, stage);
  Value addr = add(smemBase64, add(ci64(c.vOff(0)), mul(stage64, ci64(c.vBytes()))));
  return arith::TruncIOp::create(b, loc, i32, addr);
}

/// bar.red.<op> over `threads` threads (a consumer warpgroup: barrier 3 +
/// consumer, as in the decode epilogue; the V scanner: barrier 5); the vote
/// adds nothing to the value but tells ptxas it is warp-uniform: a
/// descriptor chosen from it then stays in uniform registers (without it,
/// kernels at the register limit spill).
static Value barrierReduce(KernelEmitter &e, Value pred, Value barId, StringRef op,
                           int64_t threads = 128) {
  Value all = e.inlinePtx(e.ci32(0).getType(), {pred, barId},
                          ("{\n.reg .pred p, q;\nsetp.ne.b32 p, $1, 0;\nbar.red." + op +
                           ".pred q, $2, " + std::to_string(threads) +
                           ", p;\nvote.sync.any.pred q, q, 0xffffffff;\n"
                           "selp.b32 $0, 1, 0, q;\n}")
                              .str(),
                          "=r,r,r");
  return e.cmp(arith::CmpIPredicate::ne, all, e.ci32(0));
}

Value KernelEmitter::scanVTileBy(Value stage, Value tIn, int64_t threads, Value barId) {
  Value base = vTileAddr(stage);
  const std::string fma = std::string("fma.rn.") + (c.elemTy.isBF16() ? "bf16x2" : "f16x2");
  auto words = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(4, i32));
  // Thread t reads the 16-byte units t, t + threads, ...; two accumulators
  // keep the FMA chain short.
  Value zero = ci32(0);
  auto loop = scf::ForOp::create(b, loc, toIdx(tIn), cidx(c.vBytes() / 16), cidx(threads),
                                 ValueRange{zero, zero});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value unit = toI32(loop.getInductionVar());
    Value addr = add(base, mul(unit, ci32(16)));
    Value ld = inlinePtx(words, {addr}, "ld.shared.v4.b32 {$0, $1, $2, $3}, [$4];",
                         "=r,=r,=r,=r,r");
    SmallVector<Value> w = unpack(ld, 4);
    Value a0 = loop.getRegionIterArgs()[0], a1 = loop.getRegionIterArgs()[1];
    for (int64_t k = 0; k < 4; ++k) {
      Value &acc = (k % 2) ? a1 : a0;
      acc = inlinePtx(i32, {w[k], zero, acc}, fma + " $0, $1, $2, $3;", "=r,r,r,r",
                      /*sideEffects=*/false);
    }
    scf::YieldOp::create(b, loc, ValueRange{a0, a1});
  }
  // Sums of signed zeros, or NaN in a half where a word held a NaN or Inf.
  Value any = andI(orI(loop.getResult(0), loop.getResult(1)), ci32(0x7FFF7FFF));
  Value mine = arith::ExtUIOp::create(
      b, loc, i32, cmp(arith::CmpIPredicate::ne, any, zero));
  return barrierReduce(*this, mine, barId, "or", threads);
}

/// Warps 1-3 of the producer warpgroup (otherwise idle) check each V tile
/// with dropped pairs once, when it arrives, and leave (ordinal << 1) |
/// answer in the slot's word before arriving on its scan barrier; they
/// release the slot like a reader. The consumers then only wait for that
/// barrier (long complete: the ring runs ahead) and read the word, instead
/// of scanning and agreeing over their warpgroup in their own loop.
void KernelEmitter::emitVScanner() {
  Value tIn = sub(tid, ci32(32));
  Value isLeader = cmp(arith::CmpIPredicate::eq, tIn, ci32(0));
  Value words = arith::TruncIOp::create(b, loc, i32, add(smemBase64, ci64(c.scanOff())));
  FailureOr<scf::ForOp> loop = slotLoop(slotLo, ValueRange{ringBase},
                 [&](Value, Value tileIdx, ValueRange it) -> FailureOr<SmallVector<Value>> {
                   Value n = it[0], stage = stageOf(n);
                   waitBar(vFull, stage, parityOf(n));
                   Value dropped = needMaskOf(toI32(tileIdx), tileIdx);
                   auto scan = scf::IfOp::create(b, loc, TypeRange{b.getI1Type()}, dropped,
                                                 /*withElse=*/true);
                   {
                     OpBuilder::InsertionGuard g(b);
                     b.setInsertionPointToStart(scan.thenBlock());
                     scf::YieldOp::create(b, loc, scanVTileBy(stage, tIn, 96, ci32(5)));
                     b.setInsertionPointToStart(scan.elseBlock());
                     scf::YieldOp::create(b, loc,
                                          arith::ConstantIntOp::create(b, loc, 0, 1).getResult());
                   }
                   // Every scanner thread has passed this tile's full wait
                   // before the slot is released: a warp left behind would
                   // otherwise wait on the parity of a later phase (and hang).
                   NVVM::BarrierOp::create(b, loc, TypeRange{}, ci32(5), ci32(96),
                                           NVVM::BarrierReductionAttr(), Value());
                   ifThen(isLeader, [&] {
                     Value word = add(words, mul(arith::IndexCastUIOp::create(b, loc, i32, stage),
                                                 ci32(4)));
                     Value v = orI(arith::ShLIOp::create(
                                       b, loc, arith::IndexCastUIOp::create(b, loc, i32, n), ci32(1)),
                                   arith::ExtUIOp::create(b, loc, i32, scan.getResult(0)));
                     inlinePtx(Type(), {word, v}, "st.shared.b32 [$0], $1;", "r,r");
                     auto tok = nvgpu::MBarrierTokenType::get(ctx);
                     nvgpu::MBarrierArriveOp::create(b, loc, tok, vScan, stage);
                     nvgpu::MBarrierArriveOp::create(b, loc, tok, vEmpty, stage);
                   });
                   return SmallVector<Value>{add(n, cidx(1))};
                 });
  if (succeeded(loop))
    ringNext = loop->getResult(0);
}

Value KernelEmitter::scannedNonFinite(Value stage, Value ordinal) {
  // Without a scanner the consumer warpgroup scans the tile itself (its V
  // has arrived: P V waits for it before this).
  if (!c.vScanner)
    return scanVTileBy(stage, andI(tid, ci32(127)), 128, add(cw, ci32(3)));
  waitBar(vScan, stage, parityOf(ordinal));
  Value word = add(arith::TruncIOp::create(b, loc, i32, add(smemBase64, ci64(c.scanOff()))),
                   mul(arith::IndexCastUIOp::create(b, loc, i32, stage), ci32(4)));
  // The same word for every thread; the vote says so to ptxas (uniform).
  Value any = inlinePtx(i32, {word},
                        "{\n.reg .pred p;\n.reg .b32 w;\nld.shared.b32 w, [$1];\n"
                        "and.b32 w, w, 1;\nsetp.ne.b32 p, w, 0;\n"
                        "vote.sync.any.pred p, p, 0xffffffff;\nselp.b32 $0, 1, 0, p;\n}",
                        "=r,r");
  return cmp(arith::CmpIPredicate::ne, any, ci32(0));
}

Value KernelEmitter::exactPV(Value o, ArrayRef<Value> pPacked, Value stage) {
  // Fragments (EmitSoftmax.cpp): packed P entry m is row (m % 2 ? B : A),
  // keys 8 (m / 2) + 2 quadCol + {0, 1}; O entry r is row ((r / 2) % 2 ? B :
  // A), column 8 (r / 4) + 2 quadCol + r % 2. One rolled loop over the
  // tile's key pairs carries O (of the variants measured, by ptxas -v over
  // the examples, the one with the least spill); a step takes its pair from
  // one thread of the quad: group t = step / 4, owner q = step % 4.
  int64_t groups = c.BN / 8, colGroups = c.Dvp / 8;
  SmallVector<Value> ov = unpack(o, c.Dvp / 2);
  Value base = vTileAddr(stage);
  Value quadLane0 = andI(lane, ci32(~3));
  auto v2 = VectorType::get({2}, c.elemTy);
  auto v2f = VectorType::get({2}, f32);
  auto halves = [&](Value w) -> std::pair<Value, Value> {
    Value h = LLVM::BitcastOp::create(b, loc, v2, w);
    Value f = LLVM::FPExtOp::create(b, loc, v2f, h);
    return {LLVM::ExtractElementOp::create(b, loc, f, ci32(0)),
            LLVM::ExtractElementOp::create(b, loc, f, ci32(1))};
  };
  Value zeroF = cf32(0.0);
  {
    auto loop = scf::ForOp::create(b, loc, cidx(0), cidx(groups * 4), cidx(1), ov);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    // Left rolled: ptxas would unroll this loop into megabytes of cubin
    // and seconds of compile time for a path ordinary inputs never take.
    inlinePtx(Type(), {}, ".pragma \"nounroll\";", "");
    Value step = toI32(loop.getInductionVar());
    Value t = arith::ShRUIOp::create(b, loc, step, ci32(2));
    Value q = andI(step, ci32(3));
    SmallVector<Value> acc(loop.getRegionIterArgs());
    // This thread's packed entry of group t for each row (a select chain:
    // P lives in registers), then the owner's through a shuffle.
    std::array<std::pair<Value, Value>, 2> pr;
    for (int64_t row = 0; row < 2; ++row) {
      Value v = pPacked[row];
      for (int64_t u = 1; u < groups; ++u)
        v = select(cmp(arith::CmpIPredicate::eq, t, ci32(u)), pPacked[2 * u + row], v);
      pr[row] = halves(mlir::gpu::ShuffleOp::create(b, loc, v, orI(quadLane0, q), ci32(32),
                                                    mlir::gpu::ShuffleMode::IDX)
                           .getShuffleResult());
    }
    Value key0 = add(mul(t, ci32(8)), mul(q, ci32(2)));
    for (int64_t kk = 0; kk < 2; ++kk) {
      Value key = add(key0, ci32(kk));
      std::array<Value, 2> skip;
      for (int64_t row = 0; row < 2; ++row)
        skip[row] = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                          kk ? pr[row].second : pr[row].first, zeroF);
      // 128B swizzle: the 16-byte unit of a 128-byte row is xor'ed with the
      // row's index mod 8.
      Value rowAddr = add(add(base, mul(key, ci32(128))), mul(quadCol, ci32(4)));
      Value sw = andI(key, ci32(7));
      for (int64_t gcol = 0; gcol < colGroups; ++gcol) {
        Value unit = arith::XOrIOp::create(b, loc, ci32(gcol % 8), sw);
        Value addr = add(rowAddr, add(ci32((gcol / 8) * c.BN * 128), mul(unit, ci32(16))));
        auto [v0, v1] = halves(inlinePtx(i32, {addr}, "ld.shared.b32 $0, [$1];", "=r,r"));
        for (int64_t row = 0; row < 2; ++row) {
          Value p = kk ? pr[row].second : pr[row].first;
          for (int64_t par = 0; par < 2; ++par) {
            Value &a = acc[4 * gcol + 2 * row + par];
            a = select(skip[row], a, LLVM::FMAOp::create(b, loc, p, par ? v1 : v0, a));
          }
        }
      }
    }
    scf::YieldOp::create(b, loc, acc);
    ov.assign(loop.getResults().begin(), loop.getResults().end());
  }
  return pack(o.getType(), ov);
}
