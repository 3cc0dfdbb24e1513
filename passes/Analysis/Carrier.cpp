//===- Carrier.cpp - the carrier predicate of an attention ---------------===//
#include "attnc/Analysis/Carrier.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// Query position aligned to the key axis: bottom-right alignment puts the
/// last query on the last key.
Value alignedQuery(IndexMath &m, Align align, Value i, Value lq, Value lk) {
  if (align == Align::top_left)
    return i;
  return m.add(i, m.sub(lk, lq));
}

/// One neighborhood axis (docs/semantics.md): dilation groups, stride
/// leaders, border-clamped or causal windows.
Value neighborhoodAxis(IndexMath &m, Value qi, Value kj, int64_t n, int64_t k,
                       int64_t d, int64_t s, bool causal) {
  Value cd = m.c(d), cs = m.c(s), ck = m.c(k);
  Value qg = m.rem(qi, cd);
  Value sameGroup = m.eq(qg, m.rem(kj, cd));
  Value qq = m.div(qi, cd), kk = m.div(kj, cd);
  Value len = m.div(m.sub(m.add(m.c(n), cd), m.add(qg, m.c(1))), cd);
  Value last = m.sub(len, m.c(1));
  Value groupStart = m.mul(m.div(qq, cs), cs);
  // GNA: a stride group shares the window of its leader (the centre query,
  // or the last one when causal); a causal query still sees no later key.
  Value leader = m.min(m.add(groupStart, m.c(causal ? s - 1 : s / 2)), last);
  Value keep;
  if (causal) {
    keep = m.land(m.le(m.sub(leader, m.c(k - 1)), kk), m.le(kk, qq));
  } else {
    Value start = m.sub(leader, m.c(k / 2));
    start = m.min(m.max(start, m.c(0)), m.max(m.sub(len, ck), m.c(0)));
    keep = m.land(m.le(start, kk), m.lt(kk, m.add(start, ck)));
  }
  return m.land(sameGroup, keep);
}

} // namespace

CarrierAccess::~CarrierAccess() = default;

Value CarrierAccess::loadIndex(OpBuilder &b, Location loc, unsigned n,
                               ValueRange indices) {
  IndexMath m{b, loc};
  return m.load(extras[n], indices);
}

Value CarrierAccess::dim(OpBuilder &b, Location loc, unsigned n, unsigned d) {
  return tensor::DimOp::create(b, loc, extras[n], d);
}

Value CarrierAccess::inlineMask(OpBuilder &b, Location loc, Region &mask,
                                ValueRange args) {
  return inlineRegion(b, mask, args);
}

std::pair<Value, Value> CarrierAccess::documentSpan(OpBuilder &b, Location loc,
                                                    unsigned n, Value t) {
  IndexMath m{b, loc};
  Value len = dim(b, loc, n, 0);
  Value total = loadIndex(b, loc, n, {m.sub(len, m.c(1))});
  auto loop = scf::ForOp::create(
      b, loc, m.c(1), len, m.c(1), ValueRange{m.c(0)},
      [&](OpBuilder &nb, Location nl, Value k, ValueRange iter) {
        IndexMath im{nb, nl};
        Value bound = loadIndex(nb, nl, n, {k});
        Value inc = arith::SelectOp::create(nb, nl, im.le(bound, t), im.c(1), im.c(0));
        scf::YieldOp::create(nb, nl, ValueRange{im.add(iter[0], inc)});
      });
  Value inDoc = m.land(m.lt(t, total), m.le(m.c(0), t));
  Value doc = arith::SelectOp::create(b, loc, inDoc, loop.getResult(0), m.c(0));
  Value start = loadIndex(b, loc, n, {doc});
  Value end = loadIndex(b, loc, n, {m.add(doc, m.c(1))});
  return {arith::SelectOp::create(b, loc, inDoc, start, m.c(0)),
          arith::SelectOp::create(b, loc, inDoc, end, m.c(0))};
}

bool attnc::isFullCarrier(AttentionOp op) {
  return op.getCarrier().empty() && op.getMask().empty();
}

Value attnc::buildKeepPredicate(OpBuilder &b, Location loc, AttentionOp op,
                                Value batch, Value head, Value i, Value j,
                                Value lq, Value lk, CarrierAccess *access) {
  IndexMath m{b, loc};
  Value keep = m.t();
  CarrierAccess fallback(op.getExtras());
  CarrierAccess &ex = access ? *access : fallback;
  for (Attribute a : op.getCarrier()) {
    if (ex.skipFamily(a))
      continue;
    Value term;
    if (auto c = dyn_cast<CausalAttr>(a)) {
      term = m.le(j, alignedQuery(m, c.getAlign(), i, lq, lk));
    } else if (auto w = dyn_cast<WindowAttr>(a)) {
      Value qi = alignedQuery(m, w.getAlign(), i, lq, lk);
      Value inWindow = m.le(m.sub(qi, m.c(w.getLeft())), j);
      if (w.getRight() >= 0)
        inWindow = m.land(inWindow, m.le(j, m.add(qi, m.c(w.getRight()))));
      term = w.getSinks() > 0 ? m.lor(inWindow, m.lt(j, m.c(w.getSinks())))
                              : inWindow;
    } else if (auto d = dyn_cast<DocumentAttr>(a)) {
      // doc(i) == doc(j) != none, i.e. j lies in the (non-empty) packed
      // document span [cu[doc(i)], cu[doc(i) + 1]) of i.
      auto [start, end] = ex.documentSpan(b, loc, d.getSeqlens(), i);
      term = m.land(m.le(start, j), m.lt(j, end));
    } else if (auto p = dyn_cast<PrefixAttr>(a)) {
      term = m.lor(m.lt(j, m.c(p.getLength())), m.le(j, i));
    } else if (auto n = dyn_cast<NeighborhoodAttr>(a)) {
      // Row-major coordinates, last axis fastest.
      Value qi = i, kj = j;
      term = m.t();
      for (int64_t ax = (int64_t)n.getGrid().size() - 1; ax >= 0; --ax) {
        Value g = m.c(n.getGrid()[ax]);
        Value qc = m.rem(qi, g), kc = m.rem(kj, g);
        qi = m.div(qi, g);
        kj = m.div(kj, g);
        term = m.land(term, neighborhoodAxis(m, qc, kc, n.getGrid()[ax],
                                             n.getWindow()[ax],
                                             n.getDilation()[ax],
                                             n.getStride()[ax],
                                             n.getCausal()[ax]));
      }
    } else if (auto bl = dyn_cast<BlockListAttr>(a)) {
      unsigned offsets = bl.getOffsets(), indices = bl.getIndices();
      Value qb = m.div(i, m.c(bl.getQBlock()));
      Value kb = m.div(j, m.c(bl.getKBlock()));
      Value start = ex.loadIndex(b, loc, offsets, {batch, head, qb});
      Value end = ex.loadIndex(b, loc, offsets, {batch, head, m.add(qb, m.c(1))});
      auto loop = scf::ForOp::create(
          b, loc, start, end, m.c(1), ValueRange{m.f()},
          [&](OpBuilder &nb, Location nl, Value p, ValueRange iter) {
            IndexMath im{nb, nl};
            Value hit = im.eq(ex.loadIndex(nb, nl, indices, {batch, head, p}), kb);
            scf::YieldOp::create(nb, nl, ValueRange{im.lor(iter[0], hit)});
          });
      term = loop.getResult(0);
    }
    keep = m.land(keep, term);
  }
  if (!op.getMask().empty())
    keep = m.land(keep, ex.inlineMask(b, loc, op.getMask(), {batch, head, i, j}));
  return keep;
}
