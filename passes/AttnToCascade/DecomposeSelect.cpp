//===- DecomposeSelect.cpp - attn.select_blocks to the cascade -----------===//
//
// The estimation stage of a block_select carrier as cascade ops, so that the
// CPU reference and the GPU generic steps run the same computation:
//   coarse scores   cs[b,h,a,c]  (mean-pooled blocks, or XAttention's
//                                 antidiagonal sums over stride cells)
//   probabilities   p[b,h,a,c]   softmax of cs over the candidate cells of row a
//   block scores    bs[b,h,r,c]  sum of p over the cells of block (r, c)
//   selection       sel[b,h,r,c] forced blocks, then top_k by rank or the
//                                 fewest blocks reaching the threshold
//   block list      counts[b,h,r], indices[b,h,r,t] (ascending, 0-padded)
// Selection ranks by comparison counts (O(NKB) per block) instead of a sort:
// every element is independent, which is what the generic GPU steps want.
//
//===----------------------------------------------------------------------===//
#include "DecomposeSelect.h"
#include "FloatMath.h"
#include "attnc/Analysis/CarrierTiles.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

using IM = attnc::IndexMath;

class SelectDecomposer {
public:
  SelectDecomposer(OpBuilder &b, SelectBlocksOp op)
      : b(b), op(op), loc(op.getLoc()), cb(b, op.getLoc()), sel(op.getSelect()) {}

  std::pair<Value, Value> run();

private:
  /// for (x = lo; x < hi; ++x) iter = body(x, iter), in a body.
  static ValueRange loop(OpBuilder &nb, Location nl, Value lo, Value hi, ValueRange init,
                         function_ref<SmallVector<Value>(OpBuilder &, Location, Value,
                                                         ValueRange)> body) {
    auto f = scf::ForOp::create(nb, nl, lo, hi, arith::ConstantIndexOp::create(nb, nl, 1), init,
                                [&](OpBuilder &bb, Location bl, Value x, ValueRange it) {
                                  scf::YieldOp::create(bb, bl, body(bb, bl, x, it));
                                });
    return f.getResults();
  }
  /// An element of q or k in the computation type (16-bit inputs are
  /// extended per element, so no f32 copy of q or k is made).
  Value loadInput(OpBuilder &nb, Location nl, Value t, ValueRange at) {
    Value v = tensor::ExtractOp::create(nb, nl, t, at);
    return v.getType() == elem ? v : arith::ExtFOp::create(nb, nl, elem, v).getResult();
  }
  Value headOf(OpBuilder &nb, Location nl, Value h, Value heads) {
    IM m{nb, nl};
    return m.div(h, m.div(Hv, heads));
  }
  Value coarseScores();
  Value meanPool(Value x, OpFoldResult len, int64_t block);
  Value candidates(int64_t rowBlock, int64_t colBlock, OpFoldResult rows, OpFoldResult cols);
  Value probabilities(Value cs, Value cand);
  Value blockScores(Value p);
  enum class RowStat { FirstCandidate, LastCandidate, CandidateMass };
  Value rowStat(Value bs, Value bcand, RowStat which);
  Value selection(Value bs, Value bcand);

  OpBuilder &b;
  SelectBlocksOp op;
  Location loc;
  CascadeBuilder cb;
  BlockSelectAttr sel;
  Type elem;
  OpFoldResult B, H, Lq, Lk, D, NQB, NKB, NA, NC;
  Value Hv, HqV, HkV, LqV, LkV, scaleV;
  int64_t gq = 0, gk = 0; // coarse cell: rows x keys
};

OpFoldResult ceilDiv(CascadeBuilder &cb, OpFoldResult n, int64_t d) {
  if (auto c = getConstantIntValue(n))
    return cb.builder().getIndexAttr(llvm::divideCeil(*c, d));
  IM m{cb.builder(), cb.location()};
  return m.cdiv(cb.value(n), d);
}

Value SelectDecomposer::meanPool(Value x, OpFoldResult len, int64_t block) {
  Value lenV = cb.value(len);
  return cb.map({B, cb.dim(x, 1), ceilDiv(cb, len, block), D}, elem, {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    FMath f{nb, nl, elem};
    Value lo = m.mul(idx[2], block), hi = m.min(m.add(lo, block), lenV);
    Value sum = loop(nb, nl, lo, hi, {f.c(0.0)},
                     [&](OpBuilder &bb, Location bl, Value i, ValueRange it) {
      Value v = loadInput(bb, bl, x, ValueRange{idx[0], idx[1], i, idx[3]});
      return SmallVector<Value>{FMath{bb, bl, elem}.add(it[0], v)};
    })[0];
    return f.div(sum, f.fromIndex(m.sub(hi, lo)));
  });
}

Value SelectDecomposer::coarseScores() {
  Value q = op.getQuery(), k = op.getKey();
  Value dV = cb.value(D);
  if (sel.getPool() == BlockPool::mean) {
    Value qp = meanPool(q, Lq, gq), kp = meanPool(k, Lk, gk);
    // Key summaries transposed to [B, Hk, D, NC]: the threads of a row of
    // cells (consecutive c) then read consecutive elements at each d.
    Value kpt = cb.map({B, cb.dim(kp, 1), D, NC}, elem, {}, {},
                       [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
      return tensor::ExtractOp::create(nb, nl, kp, ValueRange{idx[0], idx[1], idx[3], idx[2]})
          .getResult();
    });
    return cb.map({B, H, NA, NC}, elem, {}, {},
                  [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
      IM m{nb, nl};
      Value hq = headOf(nb, nl, idx[1], HqV), hk = headOf(nb, nl, idx[1], HkV);
      Value dot = loop(nb, nl, m.c(0), dV, {FMath{nb, nl, elem}.c(0.0)},
                       [&](OpBuilder &bb, Location bl, Value d, ValueRange it) {
        FMath f{bb, bl, elem};
        Value a = tensor::ExtractOp::create(bb, bl, qp, ValueRange{idx[0], hq, idx[2], d});
        Value c = tensor::ExtractOp::create(bb, bl, kpt, ValueRange{idx[0], hk, d, idx[3]});
        return SmallVector<Value>{f.add(it[0], f.mul(a, c))};
      })[0];
      return FMath{nb, nl, elem}.mul(dot, scaleV);
    });
  }
  // Antidiagonal: cell (a, c) sums <q[a*S + S-1-t], k[c*S + t]> over t < S
  // (terms past Lq or Lk are 0), scaled by scale / S as XAttention does.
  int64_t S = sel.getStride();
  return cb.map({B, H, NA, NC}, elem, {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    Value hq = headOf(nb, nl, idx[1], HqV), hk = headOf(nb, nl, idx[1], HkV);
    Value acc = loop(nb, nl, m.c(0), m.c(S), {FMath{nb, nl, elem}.c(0.0)},
                     [&](OpBuilder &bb, Location bl, Value t, ValueRange it) {
      IM mm{bb, bl};
      Value i = mm.add(mm.mul(idx[2], S), mm.sub(mm.c(S - 1), t));
      Value j = mm.add(mm.mul(idx[3], S), t);
      Value in = mm.land(mm.lt(i, LqV), mm.lt(j, LkV));
      Value zero = mm.c(0);
      auto guarded = scf::IfOp::create(bb, bl, TypeRange{elem}, in, true, true);
      {
        OpBuilder tb = guarded.getThenBodyBuilder();
        Value dot = loop(tb, bl, zero, dV, {FMath{tb, bl, elem}.c(0.0)},
                         [&](OpBuilder &db, Location dl, Value d, ValueRange dit) {
          FMath f{db, dl, elem};
          Value a = loadInput(db, dl, q, ValueRange{idx[0], hq, i, d});
          Value c = loadInput(db, dl, k, ValueRange{idx[0], hk, j, d});
          return SmallVector<Value>{f.add(dit[0], f.mul(a, c))};
        })[0];
        scf::YieldOp::create(tb, bl, dot);
        OpBuilder eb = guarded.getElseBodyBuilder();
        scf::YieldOp::create(eb, bl, FMath{eb, bl, elem}.c(0.0));
      }
      return SmallVector<Value>{FMath{bb, bl, elem}.add(it[0], guarded.getResult(0))};
    })[0];
    FMath f{nb, nl, elem};
    return f.mul(acc, f.div(scaleV, f.c((double)S)));
  });
}

Value SelectDecomposer::candidates(int64_t rowBlock, int64_t colBlock, OpFoldResult rows,
                                   OpFoldResult cols) {
  SmallVector<Attribute> families(op.getCarrier().begin(), op.getCarrier().end());
  return cb.map({B, H, rows, cols}, b.getI1Type(), {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    if (families.empty())
      return IM{nb, nl}.t();
    CarrierAccess access(op.getExtras());
    // The candidates of a batch follow its own key length (lengths).
    TileEnv env{idx[0], idx[1], LqV, LkV, &access};
    env.lk = narrowKeyLength(nb, nl, families, access, idx[0], LkV);
    return familiesMayKeepTile(nb, nl, families, rowBlock, colBlock, env, idx[2], idx[3]);
  });
}

Value SelectDecomposer::probabilities(Value cs, Value cand) {
  MLIRContext *ctx = b.getContext();
  Value masked = cb.mapSame({cs, cand}, elem, [&](OpBuilder &nb, Location nl, ValueRange,
                                                  ValueRange el) {
    FMath f{nb, nl, elem};
    return f.select(el[1], el[0], f.ninf());
  });
  Value mx = cb.reduce(masked, ReduceKind::max);
  AffineMap row = projection(ctx, 4, {0, 1, 2});
  Value e = cb.map({B, H, NA, NC}, elem, {masked, mx}, {b.getMultiDimIdentityMap(4), row},
                   [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) {
    FMath f{nb, nl, elem};
    // A row without candidates (max -inf) has no mass.
    Value live = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, el[1], f.ninf());
    return f.select(live, f.exp(f.sub(el[0], el[1])), f.c(0.0));
  });
  Value z = cb.reduce(e, ReduceKind::sum);
  return cb.map({B, H, NA, NC}, elem, {e, z}, {b.getMultiDimIdentityMap(4), row},
                [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) {
    FMath f{nb, nl, elem};
    Value zero = f.oeq(el[1], f.c(0.0));
    return f.select(zero, f.c(0.0), f.div(el[0], el[1]));
  });
}

Value SelectDecomposer::blockScores(Value p) {
  if (gq == sel.getQBlock() && gk == sel.getKBlock())
    return p;
  int64_t rq = sel.getQBlock() / gq, rk = sel.getKBlock() / gk;
  Value naV = cb.value(NA), ncV = cb.value(NC);
  return cb.map({B, H, NQB, NKB}, elem, {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    Value a0 = m.mul(idx[2], rq), c0 = m.mul(idx[3], rk);
    Value a1 = m.min(m.add(a0, rq), naV), c1 = m.min(m.add(c0, rk), ncV);
    return loop(nb, nl, a0, a1, {FMath{nb, nl, elem}.c(0.0)},
                [&](OpBuilder &bb, Location bl, Value a, ValueRange it) {
      return SmallVector<Value>{loop(bb, bl, c0, c1, it,
                                     [&](OpBuilder &cbb, Location cl, Value c, ValueRange cit) {
        Value v = tensor::ExtractOp::create(cbb, cl, p, ValueRange{idx[0], idx[1], a, c});
        return SmallVector<Value>{FMath{cbb, cl, elem}.add(cit[0], v)};
      })[0]};
    })[0];
  });
}

/// Per (b, h, query block): its first or last candidate block (i32), or
/// the mass of its candidates.
Value SelectDecomposer::rowStat(Value bs, Value bcand, RowStat which) {
  bool mass = which == RowStat::CandidateMass;
  Value nkbV = cb.value(NKB);
  // Block numbers as i32: every buffer of a GPU step has a storage type.
  Type i32 = b.getI32Type();
  Type ty = mass ? elem : i32;
  return cb.map({B, H, NQB}, ty, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    Value init = which == RowStat::FirstCandidate ? nkbV
                 : which == RowStat::LastCandidate ? m.c(-1)
                                                   : FMath{nb, nl, elem}.c(0.0);
    Value r = loop(nb, nl, m.c(0), nkbV, {init},
                [&](OpBuilder &bb, Location bl, Value c, ValueRange it) {
      IM mm{bb, bl};
      Value ok = tensor::ExtractOp::create(bb, bl, bcand, ValueRange{idx[0], idx[1], idx[2], c});
      Value next;
      if (which == RowStat::FirstCandidate)
        next = mm.min(it[0], c);
      else if (which == RowStat::LastCandidate)
        next = mm.max(it[0], c);
      else
        next = FMath{bb, bl, elem}.add(
            it[0], tensor::ExtractOp::create(bb, bl, bs, ValueRange{idx[0], idx[1], idx[2], c}));
      return SmallVector<Value>{mm.sel(ok, next, it[0])};
    })[0];
    return mass ? r : arith::IndexCastOp::create(nb, nl, i32, r).getResult();
  });
}

Value SelectDecomposer::selection(Value bs, Value bcand) {
  Value nkbV = cb.value(NKB);
  bool topK = sel.getTopK() > 0;
  double threshold = topK ? 0.0 : sel.getThreshold().getValueAsDouble();
  bool anyForced = sel.getForceFirst() || sel.getForceLast();
  Value firstT = sel.getForceFirst() ? rowStat(bs, bcand, RowStat::FirstCandidate) : Value();
  Value lastT = sel.getForceLast() ? rowStat(bs, bcand, RowStat::LastCandidate) : Value();
  Value totalT = topK ? Value() : rowStat(bs, bcand, RowStat::CandidateMass);
  return cb.map({B, H, NQB, NKB}, b.getI1Type(), {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    FMath f{nb, nl, elem};
    auto at = [&](OpBuilder &bb, Location bl, Value t, Value c) {
      return tensor::ExtractOp::create(bb, bl, t, ValueRange{idx[0], idx[1], idx[2], c})
          .getResult();
    };
    auto rowValue = [&](Value t) {
      return tensor::ExtractOp::create(nb, nl, t, ValueRange{idx[0], idx[1], idx[2]}).getResult();
    };
    Value first = firstT ? m.load(firstT, {idx[0], idx[1], idx[2]}) : Value();
    Value last = lastT ? m.load(lastT, {idx[0], idx[1], idx[2]}) : Value();
    auto forced = [&](IM &mm, Value c) {
      Value fc = mm.f();
      if (first)
        fc = mm.lor(fc, mm.eq(c, first));
      if (last)
        fc = mm.lor(fc, mm.eq(c, last));
      return fc;
    };
    Value self = idx[3], mine = at(nb, nl, bs, self);
    // Forced blocks, and the candidates ranked ahead of this one (higher
    // score, ties to the lower index) with their mass.
    ValueRange ahead = loop(nb, nl, m.c(0), nkbV, {m.c(0), f.c(0.0), m.c(0), f.c(0.0)},
                            [&](OpBuilder &bb, Location bl, Value c, ValueRange it) {
      IM mm{bb, bl};
      FMath ff{bb, bl, elem};
      Value ok = at(bb, bl, bcand, c);
      Value v = at(bb, bl, bs, c);
      Value isForced = anyForced ? mm.land(ok, forced(mm, c)) : mm.f();
      Value better = arith::CmpFOp::create(bb, bl, arith::CmpFPredicate::OGT, v, mine);
      Value tie = mm.land(ff.oeq(v, mine), mm.lt(c, self));
      Value before = mm.land(mm.land(ok, mm.lor(better, tie)),
                             arith::XOrIOp::create(bb, bl, isForced, mm.t()));
      return SmallVector<Value>{mm.sel(isForced, mm.add(it[0], 1), it[0]),
                                ff.select(isForced, ff.add(it[1], v), it[1]),
                                mm.sel(before, mm.add(it[2], 1), it[2]),
                                ff.select(before, ff.add(it[3], v), it[3])};
    });
    Value nForced = ahead[0], forcedMass = ahead[1], rank = ahead[2], massAhead = ahead[3];
    Value chosen;
    if (topK)
      chosen = m.lt(m.add(rank, nForced), m.c(sel.getTopK()));
    else // the best block always (a tiny T * mass may underflow to 0)
      chosen = m.lor(arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                           f.add(forcedMass, massAhead),
                                           f.mul(f.c(threshold), rowValue(totalT))),
                     m.land(m.eq(rank, m.c(0)), m.eq(nForced, m.c(0))));
    Value ok = at(nb, nl, bcand, self);
    return m.land(ok, m.lor(forced(m, self), chosen));
  });
}

std::pair<Value, Value> SelectDecomposer::run() {
  Value q = op.getQuery(), k = op.getKey();
  // Scores in f32 (f64 for f64 inputs), whatever the inputs' width.
  Type in = cast<RankedTensorType>(q.getType()).getElementType();
  elem = in.isF64() ? in : b.getF32Type();
  B = cb.dim(q, 0);
  // The output's head count from the result type (a tensor.dim of the op's
  // own result would outlive its replacement), else max(Hq, Hk).
  auto countsTy = cast<RankedTensorType>(op.getCounts().getType());
  if (!countsTy.isDynamicDim(1))
    H = b.getIndexAttr(countsTy.getDimSize(1));
  else
    H = arith::MaxUIOp::create(b, loc, cb.value(cb.dim(q, 1)), cb.value(cb.dim(k, 1)))
            .getResult();
  Lq = cb.dim(q, 2);
  Lk = cb.dim(k, 2);
  D = cb.dim(q, 3);
  Hv = cb.value(H);
  HqV = cb.value(cb.dim(q, 1));
  HkV = cb.value(cb.dim(k, 1));
  LqV = cb.value(Lq);
  LkV = cb.value(Lk);
  {
    FMath f{b, loc, elem};
    std::optional<APFloat> tau = op.getScale();
    scaleV = tau ? f.c(tau->convertToDouble())
                 : f.div(f.c(1.0), math::SqrtOp::create(b, loc, f.fromIndex(cb.value(D))));
  }
  bool mean = sel.getPool() == BlockPool::mean;
  gq = mean ? sel.getQBlock() : sel.getStride();
  gk = mean ? sel.getKBlock() : sel.getStride();
  NQB = ceilDiv(cb, Lq, sel.getQBlock());
  NKB = ceilDiv(cb, Lk, sel.getKBlock());
  NA = ceilDiv(cb, Lq, gq);
  NC = ceilDiv(cb, Lk, gk);

  Value cells = candidates(gq, gk, NA, NC);
  Value p = probabilities(coarseScores(), cells);
  Value bcand = mean ? cells : candidates(sel.getQBlock(), sel.getKBlock(), NQB, NKB);
  Value chosen = selection(blockScores(p), bcand);

  Type i32 = b.getI32Type();
  Value nkbV = cb.value(NKB);
  Value counts = cb.map({B, H, NQB}, i32, {}, {},
                        [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    Value n = loop(nb, nl, m.c(0), nkbV, {m.c(0)},
                   [&](OpBuilder &bb, Location bl, Value c, ValueRange it) {
      IM mm{bb, bl};
      Value s = tensor::ExtractOp::create(bb, bl, chosen, ValueRange{idx[0], idx[1], idx[2], c});
      return SmallVector<Value>{mm.sel(s, mm.add(it[0], 1), it[0])};
    })[0];
    return arith::IndexCastOp::create(nb, nl, i32, n).getResult();
  });
  Value indices = cb.map({B, H, NQB, NKB}, i32, {}, {},
                         [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IM m{nb, nl};
    // Slot t holds the t-th chosen block of the row (ascending), else 0.
    ValueRange r = loop(nb, nl, m.c(0), nkbV, {m.c(0), m.c(0)},
                        [&](OpBuilder &bb, Location bl, Value c, ValueRange it) {
      IM mm{bb, bl};
      Value s = tensor::ExtractOp::create(bb, bl, chosen, ValueRange{idx[0], idx[1], idx[2], c});
      Value hit = mm.land(s, mm.eq(it[0], idx[3]));
      return SmallVector<Value>{mm.sel(s, mm.add(it[0], 1), it[0]), mm.sel(hit, c, it[1])};
    });
    return arith::IndexCastOp::create(nb, nl, i32, r[1]).getResult();
  });
  return {counts, indices};
}

} // namespace

std::pair<Value, Value> attnc::decomposeSelectBlocks(OpBuilder &b, SelectBlocksOp op) {
  return SelectDecomposer(b, op).run();
}
