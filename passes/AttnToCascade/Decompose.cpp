//===- Decompose.cpp - attn.attention to the einsum cascade --------------===//
//
// The cascade is the FuseMax view of a variant: every intermediate is an
// explicit tensor, so each anchor's data dependences (and hence its pass
// count) are visible. Later passes fuse and tile it; the CPU reference runs
// it as is.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "DecomposeSelect.h"
#include "FloatMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

#include "llvm/Support/MathExtras.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNDECOMPOSE
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// The link applied to a (modified) score. `shift` is subtracted inside exp
/// for the exp-family links when the anchor lets it cancel.
Value applyLink(FMath &m, Link link, double power, Value s, Value shift) {
  switch (link) {
  case Link::exp:
    return m.exp(shift ? m.sub(s, shift) : s);
  case Link::sigmoid:
    return m.div(m.c(1.0), m.add(m.c(1.0), m.exp(m.sub(m.c(0.0), s))));
  case Link::relu: {
    Value r = m.max(s, m.c(0.0));
    if (power == 1.0)
      return r;
    if (power == 2.0)
      return m.mul(r, r);
    return math::PowFOp::create(m.b, m.loc, r, m.c(power));
  }
  case Link::identity:
    return s;
  case Link::signed_exp: {
    Value mag = m.abs(s);
    Value e = m.exp(shift ? m.sub(mag, shift) : mag);
    Value neg = arith::CmpFOp::create(m.b, m.loc, arith::CmpFPredicate::OLT, s, m.c(0.0));
    return m.select(neg, m.sub(m.c(0.0), e), e);
  }
  case Link::softplus:
    return math::Log1pOp::create(m.b, m.loc, m.exp(s));
  }
  llvm_unreachable("unknown link");
}

/// Marks a P V einsum: a zero weight (a masked key) adds nothing, even
/// against a NaN or an infinity in v.
Value zeroWeights(Value pv) {
  cast<EinsumOp>(pv.getDefiningOp()).setZeroWeights(true);
  return pv;
}

class AttentionDecomposer {
public:
  AttentionDecomposer(OpBuilder &b, AttentionOp op)
      : b(b), op(op), loc(op.getLoc()), cb(b, op.getLoc()) {}

  Value run();

private:
  /// q/k/v expanded to the output's head count when they have fewer heads.
  Value expandHeads(Value t, OpFoldResult heads);
  Value scores(Value q, Value k);
  Value keepMask();
  Value applyScoreConv(Value s, Value keep);
  Value nullLogit(FMath &m, Value head);
  Value softmax(Value s, Value keep, Value v);
  Value splitSoftmax(Value s, Value keep, Value v);

  OpBuilder &b;
  AttentionOp op;
  Location loc;
  CascadeBuilder cb;
  Type elem;
  OpFoldResult B, H, Lq, Lk, D, Dv;
  AffineMap id4;

public:
  /// The LSE result, when the op has one (set by softmax).
  Value lse;
};

Value AttentionDecomposer::expandHeads(Value t, OpFoldResult heads) {
  OpFoldResult have = cb.dim(t, 1);
  if (getConstantIntValue(have) && getConstantIntValue(heads) &&
      *getConstantIntValue(have) == *getConstantIntValue(heads))
    return t;
  // Output head h reads head h / (H / Hx): GQA/MQA groups, SQA repeats.
  Value haveV = cb.value(have), headsV = cb.value(heads);
  SmallVector<OpFoldResult> sizes = {cb.dim(t, 0), heads, cb.dim(t, 2), cb.dim(t, 3)};
  return cb.map(sizes, cast<RankedTensorType>(t.getType()).getElementType(), {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
                  Value group = arith::DivUIOp::create(nb, nl, headsV, haveV);
                  Value src = arith::DivUIOp::create(nb, nl, idx[1], group);
                  return tensor::ExtractOp::create(nb, nl, t,
                                                   ValueRange{idx[0], src, idx[2], idx[3]})
                      .getResult();
                });
}

Value AttentionDecomposer::scores(Value q, Value k) {
  MLIRContext *ctx = b.getContext();
  // S[b,h,i,j] = sum_d q[b,h,i,d] k[b,h,j,d]
  SmallVector<AffineMap> maps = {projection(ctx, 5, {0, 1, 2, 4}),
                                 projection(ctx, 5, {0, 1, 3, 4}),
                                 projection(ctx, 5, {0, 1, 2, 3})};
  Value s = cb.einsum({q, k}, maps, {B, H, Lq, Lk}, elem);
  Value dV = cb.value(D);
  bool hasScore = !op.getScore().empty();
  std::optional<APFloat> tau = op.getScale();
  return cb.mapSame({s}, elem, [&](OpBuilder &nb, Location nl, ValueRange idx,
                                    ValueRange el) {
    FMath m{nb, nl, elem};
    // No scale means 1/sqrt(D), resolved here because D may only be known
    // at run time.
    Value sc = tau ? m.c(tau->convertToDouble())
                          : m.div(m.c(1.0), math::SqrtOp::create(nb, nl, m.fromIndex(dV)));
    Value v = m.mul(el[0], sc);
    if (hasScore)
      v = inlineRegion(nb, op.getScore(), {v, idx[0], idx[1], idx[2], idx[3]});
    return v;
  });
}

Value AttentionDecomposer::keepMask() {
  Value lqV = cb.value(Lq), lkV = cb.value(Lk);
  return cb.map({B, H, Lq, Lk}, b.getI1Type(), {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
                  return buildKeepPredicate(nb, nl, op, idx[0], idx[1], idx[2],
                                            idx[3], lqV, lkV);
                });
}

Value AttentionDecomposer::applyScoreConv(Value s, Value keep) {
  ScoreConvAttr conv = op.getScoreConvAttr();
  Value weight = op.getExtras()[conv.getWeight()];
  // s0: scores with off-carrier entries zeroed, so they do not leak through
  // the convolution.
  Value s0 = cb.mapSame({s, keep}, elem, [&](OpBuilder &nb, Location nl,
                                              ValueRange, ValueRange el) {
    FMath m{nb, nl, elem};
    return m.select(el[1], el[0], m.c(0.0));
  });
  int64_t nq = conv.getQueries(), nk = conv.getKeys();
  return cb.map({B, H, Lq, Lk}, elem, {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    FMath m{nb, nl, elem};
    auto ic = [&](int64_t v) { return arith::ConstantIndexOp::create(nb, nl, v); };
    Value acc = m.c(0.0);
    for (int64_t a = 0; a < nq; ++a)
      for (int64_t c = 0; c < nk; ++c) {
        // Out-of-range neighbours contribute 0: read a clamped index, then
        // select.
        Value ia = arith::SubIOp::create(nb, nl, idx[2], ic(a));
        Value jc = arith::SubIOp::create(nb, nl, idx[3], ic(c));
        Value ok = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, ia, ic(0)),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, jc, ic(0)));
        Value iaC = arith::MaxSIOp::create(nb, nl, ia, ic(0));
        Value jcC = arith::MaxSIOp::create(nb, nl, jc, ic(0));
        Value sv = tensor::ExtractOp::create(nb, nl, s0, ValueRange{idx[0], idx[1], iaC, jcC});
        Value w = tensor::ExtractOp::create(nb, nl, weight, ValueRange{idx[1], ic(a), ic(c)});
        acc = m.add(acc, m.select(ok, m.mul(w, sv), m.c(0.0)));
      }
    return acc;
  });
}

/// The null key's logit for head h (row anchor only), or null.
Value AttentionDecomposer::nullLogit(FMath &m, Value head) {
  AnchorAttr anchor = op.getAnchor();
  if (auto c = anchor.getNullLogit())
    return m.c(*c);
  if (auto idx = anchor.getNullExtra())
    return tensor::ExtractOp::create(m.b, m.loc, op.getExtras()[*idx], ValueRange{head});
  return nullptr;
}

Value AttentionDecomposer::splitSoftmax(Value s, Value keep, Value v) {
  MLIRContext *ctx = b.getContext();
  int64_t chunk = op.getSplitKv();
  // A chunk longer than the keys is one chunk of Lk: the padded buffers are
  // then no larger than the unsplit ones (split_kv = 2^31 - 1 on 8 keys
  // padded every row to 2^31 entries).
  if (auto lk = getConstantIntValue(Lk))
    chunk = std::max<int64_t>(1, std::min(chunk, *lk));
  Value lkV = cb.value(Lk);
  Value chunkV = cb.idx(chunk);
  OpFoldResult N;
  if (auto lk = getConstantIntValue(Lk))
    N = b.getIndexAttr(llvm::divideCeil(*lk, chunk));
  else
    N = arith::CeilDivUIOp::create(b, loc, lkV, chunkV).getResult();
  // Scores and values re-laid out as [.., N, chunk] with padding (-inf / 0)
  // past Lk: each split then reduces over its own trailing axis. Key
  // (split, offset) is j = split * chunk + offset: whether it is < Lk, and j
  // clamped into the key axis (so the read stays in bounds).
  auto splitKey = [&](OpBuilder &nb, Location nl, Value split, Value offset) {
    Value j = arith::AddIOp::create(nb, nl, arith::MulIOp::create(nb, nl, split, chunkV), offset);
    Value in = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, lkV);
    Value jc = arith::MinUIOp::create(nb, nl, j,
                                      arith::SubIOp::create(nb, nl, lkV, arith::ConstantIndexOp::create(nb, nl, 1)));
    return std::make_pair(in, jc);
  };
  Value sp = cb.map({B, H, Lq, N, b.getIndexAttr(chunk)}, elem, {}, {},
                    [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    FMath m{nb, nl, elem};
    auto [in, jc] = splitKey(nb, nl, idx[3], idx[4]);
    Value sv = tensor::ExtractOp::create(nb, nl, s, ValueRange{idx[0], idx[1], idx[2], jc});
    Value kv = tensor::ExtractOp::create(nb, nl, keep, ValueRange{idx[0], idx[1], idx[2], jc});
    return m.select(arith::AndIOp::create(nb, nl, in, kv), sv, m.ninf());
  });
  Value vp = cb.map({B, H, N, b.getIndexAttr(chunk), Dv}, elem, {}, {},
                    [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    FMath m{nb, nl, elem};
    auto [in, jc] = splitKey(nb, nl, idx[2], idx[3]);
    Value vv = tensor::ExtractOp::create(nb, nl, v, ValueRange{idx[0], idx[1], jc, idx[4]});
    return m.select(in, vv, m.c(0.0));
  });
  Value mx = cb.reduce(sp, ReduceKind::max);
  Value w = cb.map({B, H, Lq, N, b.getIndexAttr(chunk)}, elem, {sp, mx},
                   {b.getMultiDimIdentityMap(5), projection(ctx, 5, {0, 1, 2, 3})},
                   [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) {
    FMath m{nb, nl, elem};
    return m.select(m.oeq(el[1], m.ninf()), m.c(0.0), m.exp(m.sub(el[0], el[1])));
  });
  Value l = cb.reduce(w, ReduceKind::sum);
  // acc[b,h,i,n,e] = sum_c w[b,h,i,n,c] v[b,h,n,c,e]
  Value acc = zeroWeights(cb.einsum({w, vp},
                                    {projection(ctx, 6, {0, 1, 2, 3, 5}),
                                     projection(ctx, 6, {0, 1, 3, 5, 4}),
                                     projection(ctx, 6, {0, 1, 2, 3, 4})},
                                    {B, H, Lq, N, Dv}, elem));
  return MergePartialsOp::create(b, loc, cb.tensorType({B, H, Lq, Dv}, elem), mx, l, acc)
      .getResult();
}

Value AttentionDecomposer::softmax(Value s, Value keep, Value v) {
  MLIRContext *ctx = b.getContext();
  Link link = op.getLinkKind();
  Anchor anchor = op.getAnchorKind();
  double power = op.getLink().getPowerOrOne();
  bool nullKey = op.getAnchor().hasNullKey();
  AffineMap row4 = projection(ctx, 4, {0, 1, 2});
  // O[b,h,i,e] = sum_j w[b,h,i,j] v[b,h,j,e]
  SmallVector<AffineMap> pvMaps = {projection(ctx, 5, {0, 1, 2, 4}),
                                   projection(ctx, 5, {0, 1, 4, 3}),
                                   projection(ctx, 5, {0, 1, 2, 3})};
  // A zero weight (a masked key) adds nothing, even against a NaN in v.
  auto pv = [&](Value w) {
    return zeroWeights(cb.einsum({w, v}, pvMaps, {B, H, Lq, Dv}, elem));
  };

  // Exp-family links under a normalising anchor subtract the row maximum,
  // which cancels in the ratio and keeps exp finite.
  bool shifted = (link == Link::exp && anchor != Anchor::none) ||
                 (link == Link::signed_exp && anchor == Anchor::row_abs);
  Value rowMax;
  if (shifted) {
    Value masked = cb.mapSame({s, keep}, elem, [&](OpBuilder &nb, Location nl,
                                                   ValueRange, ValueRange el) {
      FMath m{nb, nl, elem};
      Value x = link == Link::signed_exp ? m.abs(el[0]) : el[0];
      return m.select(el[1], x, m.ninf());
    });
    rowMax = cb.reduce(masked, ReduceKind::max);
    if (nullKey)
      rowMax = cb.mapSame({rowMax}, elem, [&](OpBuilder &nb, Location nl,
                                              ValueRange idx, ValueRange el) {
        FMath m{nb, nl, elem};
        return m.max(el[0], nullLogit(m, idx[1]));
      });
  }
  SmallVector<Value> wIn = {s, keep};
  SmallVector<AffineMap> wMaps = {b.getMultiDimIdentityMap(4), b.getMultiDimIdentityMap(4)};
  if (rowMax) {
    wIn.push_back(rowMax);
    wMaps.push_back(row4);
  }
  // Off-carrier weights are 0 for every link; an empty row (max = -inf)
  // gets 0 weights rather than exp(-inf - -inf) = NaN.
  Value w = cb.map({B, H, Lq, Lk}, elem, wIn, wMaps,
                   [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) {
    FMath m{nb, nl, elem};
    Value shift = rowMax ? el[2] : Value();
    Value weight = applyLink(m, link, power, el[0], shift);
    Value ok = el[1];
    if (shift)
      ok = arith::AndIOp::create(nb, nl, ok,
                                 // UNE: a NaN row max (a NaN score) propagates
                                 // instead of zeroing the row.
                                 arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, shift, m.ninf()));
    return m.select(ok, weight, m.c(0.0));
  });

  // The row's sum of weights (of |w| when `absolute`) plus the null key's
  // (score c, value 0: it only adds to the denominator).
  auto rowMass = [&](bool absolute) {
    Value mass = w;
    if (absolute)
      mass = cb.mapSame({w}, elem, [&](OpBuilder &nb, Location nl, ValueRange,
                                       ValueRange el) {
        return FMath{nb, nl, elem}.abs(el[0]);
      });
    Value denom = cb.reduce(mass, ReduceKind::sum);
    if (!nullKey)
      return denom;
    SmallVector<Value> in = {denom};
    if (rowMax)
      in.push_back(rowMax);
    return cb.mapSame(in, elem, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange el) {
      FMath m{nb, nl, elem};
      Value c = nullLogit(m, idx[1]);
      Value extra = applyLink(m, link, power, c, rowMax ? el[1] : Value());
      return m.add(el[0], extra);
    });
  };
  // lse = ln(row mass) + the shift, as docs/gpu-abi.md defines it.
  bool absMass = anchor == Anchor::row_abs || isSignedLink(link);
  Value denom;
  if (op.getLse()) {
    Value mass = rowMass(absMass);
    if (anchor != Anchor::none && absMass == (anchor == Anchor::row_abs))
      denom = mass;
    SmallVector<Value> in = {mass};
    if (rowMax)
      in.push_back(rowMax);
    Type f32 = b.getF32Type();
    lse = cb.map({B, H, Lq}, f32, in, SmallVector<AffineMap>(in.size(), b.getMultiDimIdentityMap(3)),
                 [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) -> Value {
      FMath m{nb, nl, elem};
      Value x = math::LogOp::create(nb, nl, el[0]);
      if (el.size() > 1)
        x = m.add(x, el[1]);
      return elem == f32 ? x : arith::TruncFOp::create(nb, nl, f32, x).getResult();
    });
  }

  switch (anchor) {
  case Anchor::none:
    return pv(w);
  case Anchor::row:
  case Anchor::row_abs:
    if (!denom)
      denom = rowMass(anchor == Anchor::row_abs);
    return RowNormalizeOp::create(b, loc, cb.tensorType({B, H, Lq, Dv}, elem), pv(w), denom)
        .getResult();
  case Anchor::sinkhorn: {
    Value plan = SinkhornOp::create(b, loc, w, *op.getAnchor().getIterations()).getResult();
    return pv(plan);
  }
  }
  llvm_unreachable("unknown anchor");
}

Value AttentionDecomposer::run() {
  auto result = cast<RankedTensorType>(op.getResult().getType());
  elem = result.getElementType();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  B = cb.dim(q, 0);
  // The output's head count: static from the result type, else max(Hq, Hk).
  if (!result.isDynamicDim(1))
    H = b.getIndexAttr(result.getDimSize(1));
  else
    H = arith::MaxUIOp::create(b, loc, cb.value(cb.dim(q, 1)), cb.value(cb.dim(k, 1)))
            .getResult();
  Lq = cb.dim(q, 2);
  Lk = cb.dim(k, 2);
  D = cb.dim(q, 3);
  Dv = cb.dim(v, 3);
  Value qx = expandHeads(q, H), kx = expandHeads(k, H), vx = expandHeads(v, H);
  Value s = scores(qx, kx);
  Value keep = keepMask();
  if (op.getScoreConvAttr())
    s = applyScoreConv(s, keep);
  // A score of -inf weighs 0 under every link: exp, sigmoid, relu and
  // softplus give 0 there; the signed links drop it like a masked pair (the
  // GPU kernel masks with -inf, so both backends agree). NaN stays kept.
  if (isSignedLink(op.getLinkKind()))
    keep = cb.mapSame({s, keep}, b.getI1Type(), [&](OpBuilder &nb, Location nl, ValueRange,
                                                     ValueRange el) -> Value {
      FMath m{nb, nl, elem};
      Value finite = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::UNE, el[0], m.ninf());
      return arith::AndIOp::create(nb, nl, el[1], finite);
    });
  // Only the softmax rule's partials differ in rounding from one pass (each
  // chunk's own max); the other links' partials are plain sums, which the
  // one-pass form computes exactly as well.
  if (op.getSplitKv() > 0 && op.getLinkKind() == Link::exp && op.getAnchorKind() == Anchor::row &&
      !op.getAnchor().hasNullKey())
    return splitSoftmax(s, keep, vx);
  return softmax(s, keep, vx);
}

/// rope: rotate channel pairs (d, d + D/2) by i * theta^(-2 (d mod D/2) / D).
Value decomposeRope(OpBuilder &b, RopeOp op) {
  CascadeBuilder cb(b, op.getLoc());
  Value x = op.getInput();
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  Value dV = cb.value(cb.dim(x, 3));
  double theta = op.getTheta().convertToDouble();
  int64_t offset = op.getOffset();
  return cb.mapSame({x}, elem, [&](OpBuilder &nb, Location nl, ValueRange idx,
                                   ValueRange el) {
    FMath m{nb, nl, elem};
    Value two = arith::ConstantIndexOp::create(nb, nl, 2);
    Value half = arith::DivUIOp::create(nb, nl, dV, two);
    Value d = idx[3];
    Value low = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, d, half);
    Value pair = arith::RemUIOp::create(nb, nl, d, half);
    Value partner = arith::SelectOp::create(nb, nl, low, arith::AddIOp::create(nb, nl, d, half),
                                            arith::SubIOp::create(nb, nl, d, half));
    Value other = tensor::ExtractOp::create(nb, nl, x, ValueRange{idx[0], idx[1], idx[2], partner});
    Value pos = m.fromIndex(arith::AddIOp::create(nb, nl, idx[2],
                                                  arith::ConstantIndexOp::create(nb, nl, offset)));
    // theta^x as exp2(x log2 theta), log2 theta folded here: powf's general
    // path (logarithm, exponent splitting) is most of a GPU step's work.
    Value expo = m.div(m.mul(m.c(-2.0 * std::log2(theta)), m.fromIndex(pair)), m.fromIndex(dV));
    Value freq = math::Exp2Op::create(nb, nl, expo);
    Value angle = m.mul(pos, freq);
    Value cs = math::CosOp::create(nb, nl, angle), sn = math::SinOp::create(nb, nl, angle);
    // low half: x cos - x[d+D/2] sin; high half: x cos + x[d-D/2] sin
    Value rot = m.mul(other, sn);
    return m.select(low, m.sub(m.mul(el[0], cs), rot), m.add(m.mul(el[0], cs), rot));
  });
}

/// l2: x / sqrt(sum x^2 + eps); rms: x / sqrt(mean x^2 + eps).
Value decomposeRowNorm(OpBuilder &b, RowNormOp op) {
  CascadeBuilder cb(b, op.getLoc());
  Value x = op.getInput();
  auto ty = cast<RankedTensorType>(x.getType());
  Type elem = ty.getElementType();
  int64_t rank = ty.getRank();
  Value sq = cb.mapSame({x}, elem, [&](OpBuilder &nb, Location nl, ValueRange,
                                       ValueRange el) {
    return FMath{nb, nl, elem}.mul(el[0], el[0]);
  });
  Value ss = cb.reduce(sq, ReduceKind::sum);
  Value n = cb.value(cb.dim(x, rank - 1));
  bool rms = op.getKind() == RowNormKind::rms;
  double eps = op.getEps().convertToDouble();
  SmallVector<unsigned> lead;
  for (unsigned d = 0; d + 1 < rank; ++d)
    lead.push_back(d);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(cb.dim(x, d));
  return cb.map(sizes, elem, {x, ss},
                {b.getMultiDimIdentityMap(rank), projection(b.getContext(), rank, lead)},
                [&](OpBuilder &nb, Location nl, ValueRange, ValueRange el) {
    FMath m{nb, nl, elem};
    Value mean = rms ? m.div(el[1], m.fromIndex(n)) : el[1];
    return m.div(el[0], math::SqrtOp::create(nb, nl, m.add(mean, m.c(eps))));
  });
}

/// page_gather: result[b, h, j, d] = pool[clamp(table[b, j / PS], 0, P-1),
/// j % PS, h, d] (nhd; hnd swaps the page-row and head axes).
Value decomposePageGather(OpBuilder &b, PageGatherOp op) {
  CascadeBuilder cb(b, op.getLoc());
  Value pool = op.getPool(), table = op.getTable();
  bool nhd = op.getLayout() == PageLayout::nhd;
  auto poolTy = cast<RankedTensorType>(pool.getType());
  Value ps = cb.value(cb.dim(pool, pageRowAxis(op.getLayout())));
  Value pages = cb.value(cb.dim(pool, 0));
  Value lk = arith::MulIOp::create(b, op.getLoc(), cb.value(cb.dim(table, 1)), ps);
  SmallVector<OpFoldResult> sizes{cb.dim(table, 0), cb.dim(pool, pageHeadAxis(op.getLayout())), lk,
                                  cb.dim(pool, 3)};
  return cb.map(sizes, poolTy.getElementType(), {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    Value page = m.load(table, {idx[0], m.div(idx[2], ps)});
    page = m.max(m.min(page, m.sub(pages, m.c(1))), m.c(0));
    Value row = m.rem(idx[2], ps);
    SmallVector<Value> at = nhd ? SmallVector<Value>{page, row, idx[1], idx[3]}
                                : SmallVector<Value>{page, idx[1], row, idx[3]};
    return tensor::ExtractOp::create(nb, nl, pool, at).getResult();
  });
}

/// pool: result[b, h, g, d] combines input[b, h, t, d] over the group's
/// tokens t in [g * stride, g * stride + size) below L; a loop per element,
/// as the group is small and the generic lowering runs maps in parallel.
Value decomposePool(OpBuilder &b, PoolOp op) {
  CascadeBuilder cb(b, op.getLoc());
  Value x = op.getInput();
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  int64_t size = op.getSize(), stride = op.getStride();
  PoolKind kind = op.getKind();
  Value len = cb.value(cb.dim(x, 2));
  // The group count from the input's length (never a dim of the op's own
  // result, which is replaced).
  int64_t staticGroups = op.getResult().getType().getDimSize(2);
  OpFoldResult groups = b.getIndexAttr(staticGroups);
  if (ShapedType::isDynamic(staticGroups)) {
    IndexMath m{b, op.getLoc()};
    groups = m.add(m.cdiv(m.max(m.sub(len, m.c(size)), m.c(0)), stride), 1);
  }
  SmallVector<OpFoldResult> sizes{cb.dim(x, 0), cb.dim(x, 1), groups, cb.dim(x, 3)};
  return cb.map(sizes, elem, {}, {},
                [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    FMath f{nb, nl, elem};
    Value start = m.mul(idx[2], stride);
    Value count = m.max(m.min(m.c(size), m.sub(len, start)), m.c(0));
    Value init = kind == PoolKind::max ? f.ninf() : f.c(0.0);
    auto loop = scf::ForOp::create(nb, nl, m.c(0), count, m.c(1), ValueRange{init});
    {
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      IndexMath lm{lb, nl};
      FMath lf{lb, nl, elem};
      Value t = lm.add(start, loop.getInductionVar());
      Value e = tensor::ExtractOp::create(lb, nl, x, ValueRange{idx[0], idx[1], t, idx[3]});
      Value acc = loop.getRegionIterArg(0);
      scf::YieldOp::create(lb, nl, kind == PoolKind::max ? lf.max(acc, e) : lf.add(acc, e));
    }
    Value r = loop.getResult(0);
    Value empty = m.eq(count, m.c(0));
    if (kind == PoolKind::mean)
      r = f.div(r, f.fromIndex(count));
    return f.select(empty, f.c(0.0), r);
  });
}

/// An attention whose keys and values are page pools (kv_pages, set by the
/// GPU path's attn-gpu-fold-page-gather) reads them through page_gather ops
/// again, so that the cascade sees [B, Hk, Lk, D] operands.
void unfoldKVPages(AttentionOp op) {
  KVPagesAttr pages = op.getKvPagesAttr();
  OpBuilder b(op);
  Value table = op.getExtras()[pages.getTable()];
  for (OpOperand *operand : {&op.getKeyMutable(), &op.getValueMutable()}) {
    auto pool = cast<RankedTensorType>(operand->get().getType());
    auto ty = PageGatherOp::inferType(pool, cast<RankedTensorType>(table.getType()),
                                      pages.getLayout());
    operand->set(PageGatherOp::create(b, op.getLoc(), ty, operand->get(), table,
                                      PageLayoutAttr::get(b.getContext(), pages.getLayout())));
  }
  op.removeKvPagesAttr();
}

struct AttnDecomposePass : public attnc::impl::AttnDecomposeBase<AttnDecomposePass> {
  /// The carrier predicate lowers each family through its external model.
  void getDependentDialects(DialectRegistry &registry) const override {
    AttnDecomposeBase::getDependentDialects(registry);
    registerCarrierLoweringExternalModels(registry);
  }

  void runOnOperation() override {
    getOperation()->walk([&](AttentionOp a) {
      if (a.getKvPagesAttr())
        unfoldKVPages(a);
    });
    SmallVector<Operation *> worklist;
    getOperation()->walk([&](Operation *o) {
      if (isa<AttentionOp, RopeOp, RowNormOp, SelectBlocksOp, PageGatherOp, PoolOp>(o))
        worklist.push_back(o);
    });
    for (Operation *o : worklist) {
      if (auto a = dyn_cast<AttentionOp>(o);
          a && llvm::any_of(a.getCarrier(), llvm::IsaPred<BlockSelectAttr>)) {
        a.emitOpError("block_select must be expanded first (attn-expand-block-select)");
        return signalPassFailure();
      }
      if (auto sb = dyn_cast<SelectBlocksOp>(o)) {
        OpBuilder b(o);
        auto [counts, indices] = decomposeSelectBlocks(b, sb);
        auto cast = [&](Value v, Value old) {
          return v.getType() == old.getType()
                     ? v
                     : tensor::CastOp::create(b, o->getLoc(), old.getType(), v).getResult();
        };
        sb.getCounts().replaceAllUsesWith(cast(counts, sb.getCounts()));
        sb.getIndices().replaceAllUsesWith(cast(indices, sb.getIndices()));
        o->erase();
        continue;
      }
      Type elem = cast<RankedTensorType>(o->getResult(0).getType()).getElementType();
      if (!elem.isF32() && !elem.isF64()) {
        o->emitError("the einsum cascade (CPU reference) needs f32 or f64 tensors, got ")
            << elem << "; 16-bit types are for GPU targets";
        return signalPassFailure();
      }
      OpBuilder b(o);
      Value replacement;
      if (auto a = dyn_cast<AttentionOp>(o)) {
        if (a.getLse() && (a.getSplitKv() > 0 || a.getAnchorKind() == Anchor::sinkhorn)) {
          a.emitOpError("has no LSE under split_kv or a Sinkhorn anchor");
          return signalPassFailure();
        }
        AttentionDecomposer d(b, a);
        replacement = d.run();
        if (Value lse = a.getLse()) {
          if (d.lse.getType() != lse.getType())
            d.lse = tensor::CastOp::create(b, o->getLoc(), lse.getType(), d.lse);
          lse.replaceAllUsesWith(d.lse);
        }
      } else if (auto r = dyn_cast<RopeOp>(o))
        replacement = decomposeRope(b, r);
      else if (auto g = dyn_cast<PageGatherOp>(o))
        replacement = decomposePageGather(b, g);
      else if (auto p = dyn_cast<PoolOp>(o))
        replacement = decomposePool(b, p);
      else
        replacement = decomposeRowNorm(b, cast<RowNormOp>(o));
      if (replacement.getType() != o->getResult(0).getType())
        replacement = tensor::CastOp::create(b, o->getLoc(), o->getResult(0).getType(),
                                             replacement);
      o->getResult(0).replaceAllUsesWith(replacement);
      o->erase();
    }
  }
};

} // namespace
