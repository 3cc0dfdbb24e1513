//===- EmitDecode.cpp - split-KV partials and their merge -----------------===//
//
// In the decode schedule every consumer warpgroup of every split computes a
// partial of its output tile over its own key tiles: O (unnormalised), the
// running max m (log2 domain; of s, or |s| for signed_exp: the exp family)
// and the row mass l. Partial p = 2 * split
// + consumer is stored per output row in the workspace:
//   [counters: one u32 per output tile, zeroed by the runtime, 256-aligned]
//   [O: 2S x (B*H*Lq) x Dv f32] [m, l: 2S x (B*H*Lq) x 2 f32]
// then counted on the tile's counter (release/acquire at gpu scope); the
// warpgroup that brings the count to 2S merges the partials with the
// anchor's combine rule (the exp family: rescale by 2^(m_p - M); the sums
// of the other links: plain sums) and runs the common epilogue, which adds the null
// key once and normalises. The runtime zeroes the counters before each
// launch (a stream-ordered memset).
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"

using namespace mlir;
using namespace attnc::gpu;

/// The output row (i64) of tile row `row` (i32) as the workspace indexes
/// partials; rows past the group's are clamped (read, never stored).
Value KernelEmitter::partialRow(Value row) {
  return outputRow(arith::MinUIOp::create(b, loc, row, sub(rowsValid, ci32(1))));
}

/// Address of column `col` (i32) of partial `p` (i64) of output row `rowLin`
/// (i64) in the workspace's O section.
Value KernelEmitter::partialOAddr(Value p, Value rowLin, Value col) {
  Value off = mul(add(mul(p, nRowsAll), rowLin), ci64(c.Dv * 4));
  off = add(add(wsOBase, off), mul(arith::ExtUIOp::create(b, loc, i64, col), ci64(4)));
  return LLVM::GEPOp::create(b, loc, ptrTy, i8, wsPtr, ValueRange{off});
}

/// Address of m (which = 0) or l (which = 1) of partial `p` of row `rowLin`.
Value KernelEmitter::partialMLAddr(Value p, Value rowLin, int64_t which) {
  Value off = add(wsMLBase, mul(add(mul(p, nRowsAll), rowLin), ci64(8)));
  return LLVM::GEPOp::create(b, loc, ptrTy, i8, wsPtr, ValueRange{add(off, ci64(which * 4))});
}

void KernelEmitter::emitDecodeEpilogue(Value oFin, RowState st) {
  Value colBase = mul(quadCol, ci32(2));
  auto colOf = [&](int64_t r) { return add(colBase, ci32((r / 4) * 8 + (r % 2))); };

  // 1. This consumer's partial: rows that exist only.
  SmallVector<Value> ov = unpack(oFin, c.Dvp / 2);
  Value me = arith::ExtUIOp::create(b, loc, i64, add(mul(splitIdx, ci32(2)), cw));
  Value lRow[2] = {quadSum(st.lA), quadSum(st.lB)};
  Value mRow[2] = {st.mA, st.mB};
  for (int rr = 0; rr < 2; ++rr) {
    Value row = rr ? rowB : rowA;
    ifThen(cmp(arith::CmpIPredicate::ult, row, rowsValid), [&] {
      Value rowLin = partialRow(row);
      for (int64_t r = 0; r < c.Dvp / 2; r += 2) {
        if (((r / 2) % 2) != rr || (r / 4) * 8 >= c.Dv)
          continue;
        // Columns (r / 4) * 8 + 2 * quadCol + {0, 1}: one 8-byte store.
        Value ptr = partialOAddr(me, rowLin, colOf(r));
        Value pair = LLVM::UndefOp::create(b, loc, VectorType::get({2}, f32));
        pair = LLVM::InsertElementOp::create(b, loc, pair, ov[r], ci32(0));
        pair = LLVM::InsertElementOp::create(b, loc, pair, ov[r + 1], ci32(1));
        LLVM::StoreOp::create(b, loc, pair, ptr, /*alignment=*/8);
      }
      ifThen(cmp(arith::CmpIPredicate::eq, quadCol, ci32(0)), [&] {
        LLVM::StoreOp::create(b, loc, mRow[rr], partialMLAddr(me, rowLin, 0), 4);
        LLVM::StoreOp::create(b, loc, lRow[rr], partialMLAddr(me, rowLin, 1), 4);
      });
    });
  }

  // 2. Count it: every thread's stores are released before the leader's
  // atomic (fence, then the warpgroup's barrier); the leader's acq_rel
  // atomic tells whether this partial is the last; it is broadcast through
  // shared memory.
  inlinePtx(Type(), {}, "fence.acq_rel.gpu;", "~{memory}");
  Value barId = add(cw, ci32(3));
  auto wgBarrier = [&] {
    NVVM::BarrierOp::create(b, loc, TypeRange{}, barId, ci32(128), NVVM::BarrierReductionAttr(),
                            Value());
  };
  wgBarrier();
  auto flags = smemView(cidx(c.flagsOff()),
                        MemRefType::get({4}, i32, MemRefLayoutAttrInterface{}, wgAS));
  Value flagAt = toIdx(cw);
  Value cntPtr = LLVM::GEPOp::create(b, loc, ptrTy, i8, wsPtr,
                                     ValueRange{mul(arith::ExtUIOp::create(b, loc, i64, tileId),
                                                    ci64(4))});
  Value total = mul(argS, ci32(2));
  ifThen(isWGLeader, [&] {
    Value old = inlinePtx(i32, {cntPtr}, "atom.acq_rel.gpu.add.u32 $0, [$1], 1;",
                          "=r,l,~{memory}");
    Value last = cmp(arith::CmpIPredicate::eq, old, sub(total, ci32(1)));
    memref::StoreOp::create(b, loc, arith::ExtUIOp::create(b, loc, i32, last), flags, flagAt);
  });
  wgBarrier();
  Value isLast =
      cmp(arith::CmpIPredicate::ne, memref::LoadOp::create(b, loc, flags, flagAt), ci32(0));

  // 3. The last partial merges all of them (its own included, re-read).
  ifThen(isLast, [&] {
    inlinePtx(Type(), {}, "fence.acq_rel.gpu;", "~{memory}");
    auto [o, merged] = mergePartials();
    emitEpilogue(o, merged, /*lReduced=*/true);
  });
}

std::pair<Value, RowState> KernelEmitter::mergePartials() {
  Value parts = toIdx(mul(argS, ci32(2)));
  Value rowLin[2] = {partialRow(rowA), partialRow(rowB)};
  Value colBase = mul(quadCol, ci32(2));

  // it = {O entries (Dvp / 2), MA, MB, LA, LB}
  int64_t nO = c.Dvp / 2;
  Value ninf = negInf(), zeroF = cf32(0.0);
  SmallVector<Value> init(nO, zeroF);
  init.append({ninf, ninf, zeroF, zeroF});
  auto loop = scf::ForOp::create(b, loc, cidx(0), parts, cidx(1), init);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value p = arith::IndexCastUIOp::create(b, loc, i64, loop.getInductionVar());
    auto it = loop.getRegionIterArgs();
    SmallVector<Value> next(it.begin(), it.end());
    Value scaleOld[2], scaleNew[2];
    for (int rr = 0; rr < 2; ++rr) {
      Value mp = LLVM::LoadOp::create(b, loc, f32, partialMLAddr(p, rowLin[rr], 0), 4);
      Value lp = LLVM::LoadOp::create(b, loc, f32, partialMLAddr(p, rowLin[rr], 1), 4);
      Value M = it[nO + rr], L = it[nO + 2 + rr];
      if (c.expFamily()) {
        // Rescale both sides to the new max (an empty side has m = -inf and
        // weighs 0; both empty: shift by 0, no NaN).
        Value mNew = fmax(M, mp);
        Value mUse =
            select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, mNew, ninf), zeroF,
                   mNew);
        scaleOld[rr] = ex2(fsub(M, mUse));
        scaleNew[rr] = ex2(fsub(mp, mUse));
        next[nO + rr] = mNew;
        next[nO + 2 + rr] = fadd(fmul(L, scaleOld[rr]), fmul(lp, scaleNew[rr]));
      } else {
        scaleOld[rr] = scaleNew[rr] = Value();
        next[nO + 2 + rr] = fadd(L, lp);
      }
    }
    for (int64_t r = 0; r < nO; ++r) {
      int64_t col = (r / 4) * 8 + (r % 2);
      if (col >= c.Dv)
        continue;
      int rr = (r / 2) % 2;
      Value v =
          LLVM::LoadOp::create(b, loc, f32, partialOAddr(p, rowLin[rr], add(colBase, ci32(col))), 4);
      next[r] = scaleOld[rr] ? fadd(fmul(it[r], scaleOld[rr]), fmul(v, scaleNew[rr]))
                             : fadd(it[r], v);
    }
    scf::YieldOp::create(b, loc, next);
  }
  SmallVector<Value> res(loop.getResults());
  Value o = pack(accType(c.Dvp), ArrayRef<Value>(res).take_front(nO));
  return {o, RowState{res[nO], res[nO + 1], res[nO + 2], res[nO + 3]}};
}
