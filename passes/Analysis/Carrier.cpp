//===- Carrier.cpp - the carrier predicate of an attention ---------------===//
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

CarrierAccess::~CarrierAccess() = default;

Value CarrierAccess::loadIndex(OpBuilder &b, Location loc, unsigned n,
                               ValueRange indices) {
  IndexMath m{b, loc};
  return m.load(extras[n], indices);
}

/// Bit ((i % T) / QB) * (T / KB) + (j % T) / KB of the (i / T, j / T) tile's
/// word (BlockListAttr::tile_mask).
Value CarrierAccess::tileMaskBit(OpBuilder &b, Location loc, BlockListAttr bl, Value batch,
                                 Value head, Value i, Value j) {
  IndexMath m{b, loc};
  const int64_t T = BlockListAttr::kMaskTile;
  Value word = loadIndex(b, loc, bl.getTileMask(), {batch, head, m.fdiv(i, T), m.fdiv(j, T)});
  Value bit = m.add(m.mul(m.fdiv(m.rem(i, T), bl.maskRowsPerBit()), m.c(T / bl.maskKeysPerBit())),
                    m.fdiv(m.rem(j, T), bl.maskKeysPerBit()));
  Type i64 = b.getI64Type();
  auto toI64 = [&](Value v) { return arith::IndexCastOp::create(b, loc, i64, v).getResult(); };
  Value shifted = arith::ShRUIOp::create(b, loc, toI64(word), toI64(bit));
  Value one = arith::ConstantIntOp::create(b, loc, i64, 1);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                               arith::AndIOp::create(b, loc, shifted, one),
                               arith::ConstantIntOp::create(b, loc, i64, 0));
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

Value attnc::narrowKeyLength(OpBuilder &b, Location loc, ArrayRef<Attribute> families,
                             CarrierAccess &access, Value batch, Value lk) {
  IndexMath m{b, loc};
  for (Attribute a : families)
    lk = getCarrierLowering(a).narrowKeyLength(m, access, batch, lk);
  return lk;
}

Value attnc::narrowKeyLength(OpBuilder &b, Location loc, AttentionOp op, CarrierAccess &access,
                             Value batch, Value lk) {
  return narrowKeyLength(b, loc, op.getCarrier().getValue(), access, batch, lk);
}

bool attnc::isFullCarrier(AttentionOp op) {
  return op.getCarrier().empty() && op.getMask().empty();
}

Value attnc::buildKeepPredicate(OpBuilder &b, Location loc, AttentionOp op,
                                Value batch, Value head, Value i, Value j,
                                Value lq, Value lk, CarrierAccess *access, Region *mask) {
  IndexMath m{b, loc};
  Value keep = m.t();
  CarrierAccess fallback(op.getExtras());
  CarrierAccess &ex = access ? *access : fallback;
  lk = narrowKeyLength(b, loc, op, ex, batch, lk);
  for (Attribute a : op.getCarrier())
    if (!ex.skipFamily(a))
      keep = m.land(keep, getCarrierLowering(a).buildKeep(m, ex, batch, head, i, j, lq, lk));
  Region &userMask = mask ? *mask : op.getMask();
  if (!userMask.empty())
    keep = m.land(keep, ex.inlineMask(b, loc, userMask, {batch, head, i, j}));
  return keep;
}
