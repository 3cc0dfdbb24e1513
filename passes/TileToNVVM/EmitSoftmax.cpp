//===- EmitSoftmax.cpp - scores, mask and online softmax of one KV tile ---===//
//
// Per thread: the two accumulator rows A and B of the wgmma fragment (entry r
// of a 64 x BN accumulator is row (r / 2) % 2 ? B : A, column
// (r / 4) * 8 + 2 * quadCol + r % 2). For the exp link the row statistics
// are in the log2 domain and log2(e) (with the scale, when no score region
// applies it) is folded into the exponent's FMA; scores stay in natural
// units for the other links.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace attnc::gpu;

static constexpr double kLog2e = 1.4426950408889634;

/// Mask only partial tiles (CarrierTiles classification) and the tile that
/// crosses Lk. A grid box past the grid is never full (no window keeps a
/// position there), so its partial test covers that.
Value KernelEmitter::needMaskOf(Value n, Value tile) {
  Value partial = arith::XOrIOp::create(b, loc, qtc->isFull(b, loc, tile),
                                        arith::ConstantIntOp::create(b, loc, 1, 1));
  if (c.plan.grid)
    return partial;
  Value tileEnd = add(mul(n, ci32(c.BN)), ci32(c.BN));
  return orI(cmp(arith::CmpIPredicate::sgt, tileEnd, lkEff), partial);
}

/// Key tile n's position of this thread's first accumulator column: the
/// key of entry r is keyBase(n) + keyOffset(r). In a grid box the thread's
/// offset (2 quadCol) is a box position too; KernelPlanAttr::keyRunsFit
/// makes a run's coordinates plus the thread's carry-free, so token offsets
/// add.
Value KernelEmitter::keyBase(Value n) {
  if (!c.plan.grid)
    return add(mul(n, ci32(c.BN)), mul(quadCol, ci32(2)));
  attnc::IndexMath m{b, loc};
  const attnc::GridTiles &g = *c.plan.grid;
  Value first = g.token(m, g.origin(m, toIdx(n), /*key=*/true));
  return toI32(m.add(first, g.localOffset(m, toIdx(mul(quadCol, ci32(2))), /*key=*/true)));
}

/// Entry r covers column (r / 4) * 8 + 2 * quadCol + r % 2: a box's columns
/// are its tokens row-major; r % 2 is the next key on the last axis (its
/// extent is at least 2).
int64_t KernelEmitter::keyOffset(int64_t r) {
  int64_t run = (r / 4) * 8;
  if (c.plan.grid)
    run = c.plan.grid->localOffset(run, /*key=*/true);
  return run + r % 2;
}

/// The scores with dropped pairs at -inf. The predicate is the shared carrier
/// definition (include/attnc/Analysis/Carrier.h), or its per-axis windows in
/// a grid box.
FailureOr<SmallVector<Value>> KernelEmitter::maskScores(ArrayRef<Value> tv, Value n) {
  if (c.plan.grid)
    return maskScoresInBox(tv, n);
  int64_t nS = tv.size();
  Value jBase = keyBase(n);
  Value ninf = negInf();
  access->newTile();
  SmallVector<Value> masked(nS);
  for (int64_t r = 0; r < nS; ++r) {
    Value j = add(jBase, ci32(keyOffset(r)));
    Value keep = cmp(arith::CmpIPredicate::slt, j, lkEff);
    bool rowB = (r / 2) % 2;
    keep = andI(keep, attnc::buildKeepPredicate(b, loc, c.op, bI, rowB ? hBIdx : hAIdx,
                                                rowB ? rowBIdx : rowAIdx, toIdx(j),
                                                lqI, lkI, access.get()));
    if (regionFailed)
      return failure();
    masked[r] = select(keep, tv[r], ninf);
  }
  return masked;
}

/// Grid boxes (the carrier is one neighborhood, nothing else): a key is
/// kept when each axis's coordinate lies in the row's window, tested as
/// (key - lo) <=u width in 32 bits. A key's coordinates are the box's
/// origin, the thread's offset and constants of the accumulator layout
/// (keyBase), so a score costs an add and a compare per axis; the general
/// predicate (neighborhoodAxis) divides token indices in 64 bits instead.
SmallVector<Value> KernelEmitter::maskScoresInBox(ArrayRef<Value> tv, Value n) {
  const attnc::GridTiles &g = *c.plan.grid;
  attnc::IndexMath m{b, loc};
  size_t A = g.axes.size();
  SmallVector<Value, 3> kOrigin = g.origin(m, toIdx(n), /*key=*/true);
  SmallVector<Value, 3> mine = g.localCoords(m, toIdx(mul(quadCol, ci32(2))), /*key=*/true);
  SmallVector<Value, 3> base[2];
  for (int rr = 0; rr < 2; ++rr)
    for (size_t a = 0; a < A; ++a)
      base[rr].push_back(add(sub(toI32(kOrigin[a]), gridRowLo[rr][a]), toI32(mine[a])));
  Value ninf = negInf();
  SmallVector<Value> masked(tv.size());
  for (int64_t r = 0; r < (int64_t)tv.size(); ++r) {
    int rr = (r / 2) % 2;
    SmallVector<int64_t, 3> at = g.localCoords((r / 4) * 8, /*key=*/true);
    at.back() += r % 2;
    Value keep;
    for (size_t a = 0; a < A; ++a) {
      Value in = cmp(arith::CmpIPredicate::ule, add(base[rr][a], ci32(at[a])), gridRowWidth[rr][a]);
      keep = keep ? andI(keep, in) : in;
    }
    masked[r] = select(keep, tv[r], ninf);
  }
  return masked;
}

FailureOr<KernelEmitter::Soft> KernelEmitter::softmaxTile(Value s, Value n, Value tile,
                                                          RowState in) {
  int64_t nS = c.BN / 2;
  SmallVector<Value> sv = unpack(s, nS);
  SmallVector<Value> tv(nS);
  const bool expLink = c.expFamily();
  double post = expLink ? kLog2e : 1.0;
  // A positive factor commutes with the row max, so it folds with the
  // shift into one FMA per element (exp2(s * k - m)) instead of a multiply
  // and a subtract: without a score region the scale and log2(e) (scores
  // kept raw), with one log2(e) (scores kept in natural units).
  const bool foldScale = expLink && !c.score && c.scale > 0.0;
  const bool fold = foldScale || (expLink && c.score);
  const double k = c.score ? post : c.scale * post;
  if (foldScale) {
    tv = sv;
  } else if (!c.score) {
    Value kk = cf32(k);
    for (int64_t r = 0; r < nS; ++r)
      tv[r] = fmul(sv[r], kk);
  } else {
    Value jBase = keyBase(n);
    Value kk = cf32(c.scale);
    affineBases.clear(); // per tile: the bases are built at their first use
    affineParities.clear();
    for (int64_t r = 0; r < nS; ++r) {
      int64_t jOff = keyOffset(r), rowKey = (r / 2) % 2;
      Value j = toIdx(add(jBase, ci32(jOff)));
      scoreElement = ScoreElement{jBase, rowKey ? rowBIdx : rowAIdx, jOff, rowKey};
      Value bias;
      FailureOr<Value> v = inlineRegion(
          *c.score, {fmul(sv[r], kk), bI, rowKey ? hBIdx : hAIdx, rowKey ? rowBIdx : rowAIdx, j},
          &bias);
      scoreElement.reset();
      if (failed(v))
        return failure();
      // s * scale + bias as one FMA (the region's own add is left dead).
      // Natural units: the exp link folds log2(e) in below.
      tv[r] = bias ? math::FmaOp::create(b, loc, sv[r], kk, bias).getResult() : *v;
    }
  }

  Value needMask = needMaskOf(n, tile);
  auto ifMask = scf::IfOp::create(b, loc, SmallVector<Type>(nS, f32), needMask,
                                  /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifMask.thenBlock());
    FailureOr<SmallVector<Value>> masked = maskScores(tv, n);
    if (failed(masked))
      return failure();
    scf::YieldOp::create(b, loc, *masked);
    b.setInsertionPointToStart(ifMask.elseBlock());
    scf::YieldOp::create(b, loc, tv);
  }
  for (int64_t r = 0; r < nS; ++r)
    tv[r] = ifMask.getResult(r);

  Soft out;
  out.dropped = needMask;
  SmallVector<Value> &p = out.p;
  p.resize(nS);
  Value zeroF = cf32(0.0), ninf = negInf();
  out.st = in;
  if (expLink) {
    // signed_exp shifts by the running maximum of |s| (masked scores stay
    // -inf) and gives each weight the sign of its score.
    const bool signedExp = c.link == attnc::attn::Link::signed_exp;
    SmallVector<Value> mag(tv);
    if (signedExp)
      for (int64_t r = 0; r < nS; ++r)
        mag[r] = select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, tv[r], ninf),
                        ninf, math::AbsFOp::create(b, loc, tv[r]));
    // Online softmax: running max per row across the quad (4 threads).
    Value mxA = ninf, mxB = ninf;
    for (int64_t r = 0; r < nS; ++r) {
      if ((r / 2) % 2)
        mxB = fmax(mxB, mag[r]);
      else
        mxA = fmax(mxA, mag[r]);
    }
    if (fold) {
      mxA = fmul(mxA, cf32(k));
      mxB = fmul(mxB, cf32(k));
    }
    out.st.mA = fmax(in.mA, quadMax(mxA));
    out.st.mB = fmax(in.mB, quadMax(mxB));
    // An all-masked row so far keeps max -inf; shift by 0 instead (no NaN).
    auto safe = [&](Value m) {
      return select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf), zeroF,
                    m);
    };
    Value mUseA = safe(out.st.mA), mUseB = safe(out.st.mB);
    out.alphaA = ex2(fsub(in.mA, mUseA));
    out.alphaB = ex2(fsub(in.mB, mUseB));
    if (fold) {
      Value kk = cf32(k);
      Value negA = arith::NegFOp::create(b, loc, mUseA);
      Value negB = arith::NegFOp::create(b, loc, mUseB);
      for (int64_t r = 0; r < nS; ++r)
        p[r] = ex2(math::FmaOp::create(b, loc, mag[r], kk, ((r / 2) % 2) ? negB : negA));
    } else {
      for (int64_t r = 0; r < nS; ++r)
        p[r] = ex2(fsub(mag[r], ((r / 2) % 2) ? mUseB : mUseA));
    }
    if (signedExp) // negative where s < 0, as the CPU (-0 and 0 weigh +); masked: -0
      for (int64_t r = 0; r < nS; ++r)
        p[r] = select(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, tv[r], zeroF),
                      arith::NegFOp::create(b, loc, p[r]), p[r]);
  } else {
    // Bounded or unnormalised links: no running max, no rescaling.
    for (int64_t r = 0; r < nS; ++r)
      p[r] = linkWeight(tv[r]);
  }
  Value sumA = zeroF, sumB = zeroF;
  for (int64_t r = 0; r < nS; ++r) {
    Value w = c.absMass() ? math::AbsFOp::create(b, loc, p[r]).getResult() : p[r];
    if ((r / 2) % 2)
      sumB = fadd(sumB, w);
    else
      sumA = fadd(sumA, w);
  }
  out.st.lA = expLink ? fadd(fmul(in.lA, out.alphaA), sumA) : fadd(in.lA, sumA);
  out.st.lB = expLink ? fadd(fmul(in.lB, out.alphaB), sumB) : fadd(in.lB, sumB);
  return out;
}

/// O = alpha O (no-op without a running max).
Value KernelEmitter::rescaleO(Value o, Value alphaA, Value alphaB) {
  if (!c.expFamily())
    return o;
  SmallVector<Value> ov = unpack(o, c.Dvp / 2);
  for (int64_t r = 0; r < c.Dvp / 2; ++r)
    ov[r] = fmul(ov[r], ((r / 2) % 2) ? alphaB : alphaA);
  return pack(o.getType(), ov);
}

/// P as wgmma register-A fragments: entry m = (p[2m], p[2m + 1]) in 16 bits;
/// k16 step t of P V reads entries 4t .. 4t + 3.
SmallVector<Value> KernelEmitter::packP(ArrayRef<Value> p) {
  SmallVector<Value> out;
  for (size_t r = 0; r + 1 < p.size(); r += 2)
    out.push_back(packHalf2(p[r], p[r + 1]));
  return out;
}

/// The accumulator and statistics ops and the softmax of one tile.
LogicalResult KernelEmitter::lowerSoftmaxOp(Operation *op) {
  namespace tile = attnc::tile;
  if (isa<tile::ZeroAccOp, tile::InitStatsOp>(op)) {
    bind(op->getResult(0), placeholder(op->getResult(0).getType()));
    return success();
  }
  if (auto r = dyn_cast<tile::RescaleOp>(op)) {
    SmallVector<Value> f = lowered(r.getFactors());
    bind(r.getResult(), {rescaleO(lowered1(r.getAcc()), f[0], f[1])});
    return success();
  }
  auto sm = cast<tile::SoftmaxOp>(op);
  Value tileIdx = lowered1(sm.getTile());
  FailureOr<Soft> out = softmaxTile(lowered1(sm.getS()), toI32(tileIdx), tileIdx,
                                    rowState(sm.getStats()));
  if (failed(out))
    return failure();
  SmallVector<Value> packed = packP(out->p);
  packed.push_back(out->dropped);
  bind(sm.getP(), packed);
  bind(sm.getNewStats(), {out->st.mA, out->st.mB, out->st.lA, out->st.lB});
  bind(sm.getRescale(), {out->alphaA, out->alphaB});
  return success();
}
