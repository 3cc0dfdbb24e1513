//===- TileBlockLists.cpp - block lists as per-tile masks for the GPU ----===//
//
// The Hopper kernel walks a block list's CSR row per query tile, which
// needs blocks of whole tiles. Selection-based sparse attention lists 16 to
// 64-token blocks; this pass gives such a list a per-128 x 128-tile mask of
// its pairs (a generic step before the kernel), which the kernel's schedule
// reads per tile and its predicate per score (BlockListAttr::tile_mask).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUTILEBLOCKLISTS
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// Mask word (b, h, qt, kt): for each bit row r of tile qt (rows qt T + r QB
/// .. + QB, all in one query block), the CSR row's key blocks clipped to
/// tile kt set their bit columns. CSR positions are clamped to the indices'
/// extent (an unchecked bad offset reads no further than the table), and a
/// row past Lq or past the listed query blocks reads no offsets at all.
/// Sizes may be run-time values (a program compiled with its lengths free).
Value buildTileMask(OpBuilder &b, AttentionOp op, BlockListAttr bl) {
  Location loc = op.getLoc();
  CascadeBuilder cb(b, loc);
  IndexMath hm{b, loc};
  const int64_t T = BlockListAttr::kMaskTile, qpb = bl.maskRowsPerBit(),
                kpb = bl.maskKeysPerBit(), rowBits = T / qpb, colBits = T / kpb;
  Value offsets = op.getExtras()[bl.getOffsets()], indices = op.getExtras()[bl.getIndices()];
  auto idxT = cast<RankedTensorType>(indices.getType());
  bool counted = bl.getCounted();
  OpFoldResult lqSize = cb.dim(op.getQuery(), 2), lkSize = cb.dim(op.getKey(), 2);
  Value lq = cb.value(lqSize);
  Value offRows = cb.value(cb.dim(offsets, 2));
  Value nqb = counted ? offRows : hm.max(hm.sub(offRows, hm.c(1)), hm.c(0));
  Value width = cb.value(cb.dim(indices, idxT.getRank() - 1));
  Value rowsListed = hm.min(lq, hm.mul(nqb, bl.getQBlock()));
  Type i64 = b.getI64Type();
  SmallVector<OpFoldResult> sizes = {cb.dim(offsets, 0), cb.dim(offsets, 1), ceilDivSize(b, loc, lqSize, T),
                                     ceilDivSize(b, loc, lkSize, T)};
  Value mask = cb.map(sizes, i64, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx,
                                              ValueRange) -> Value {
    IndexMath m{nb, nl};
    auto c64 = [&](int64_t v) { return arith::ConstantIntOp::create(nb, nl, i64, v).getResult(); };
    auto asIndex = [&](Value v) {
      return arith::IndexCastOp::create(nb, nl, nb.getIndexType(), v).getResult();
    };
    auto clampPos = [&](IndexMath &im, Value v) { return im.min(im.max(v, im.c(0)), width); };
    Value bIdx = idx[0], hIdx = idx[1], qt = idx[2], kt = idx[3];
    Value k0 = m.mul(kt, m.c(T)), kEnd = m.add(k0, m.c(T));
    auto rows = scf::ForOp::create(
        nb, nl, m.c(0), m.c(rowBits), m.c(1), ValueRange{c64(0)},
        [&](OpBuilder &rb, Location rl, Value r, ValueRange rowIt) {
          IndexMath im{rb, rl};
          Value row0 = im.add(im.mul(qt, im.c(T)), im.mul(r, im.c(qpb)));
          Value live = im.lt(row0, rowsListed);
          Value qb = im.max(im.min(im.fdiv(row0, bl.getQBlock()), im.sub(nqb, im.c(1))), im.c(0));
          auto range = scf::IfOp::create(
              rb, rl, live,
              [&](OpBuilder &tb, Location tl) {
                IndexMath tm{tb, tl};
                auto offsetAt = [&](Value q) {
                  return asIndex(tensor::ExtractOp::create(tb, tl, offsets, ValueRange{bIdx, hIdx, q}));
                };
                Value start = counted ? tm.c(0) : clampPos(tm, offsetAt(qb));
                Value end = clampPos(tm, offsetAt(counted ? qb : tm.add(qb, tm.c(1))));
                scf::YieldOp::create(tb, tl, ValueRange{start, tm.max(end, start)});
              },
              [&](OpBuilder &eb, Location el) {
                Value zero = IndexMath{eb, el}.c(0);
                scf::YieldOp::create(eb, el, ValueRange{zero, zero});
              });
          Value start = range.getResult(0), end = range.getResult(1);
          auto keys = scf::ForOp::create(
              rb, rl, start, end, im.c(1), rowIt,
              [&](OpBuilder &kb, Location kl, Value e, ValueRange it) {
                IndexMath km{kb, kl};
                SmallVector<Value> at = {bIdx, hIdx};
                if (counted)
                  at.push_back(qb);
                at.push_back(e);
                Value blk = asIndex(tensor::ExtractOp::create(kb, kl, indices, at));
                Value lo = km.max(km.mul(blk, km.c(bl.getKBlock())), k0);
                Value hi = km.min(km.add(km.mul(blk, km.c(bl.getKBlock())), km.c(bl.getKBlock())),
                                  kEnd);
                Value hit = km.lt(lo, hi);
                // Bit columns c0..c1 of the keys [lo, hi) (clamped when empty).
                Value c0 = km.fdiv(km.max(km.sub(lo, k0), km.c(0)), kpb);
                Value c1 = km.max(km.fdiv(km.sub(km.sub(hi, k0), km.c(1)), kpb), c0);
                Value n = arith::IndexCastOp::create(kb, kl, i64, km.add(km.sub(c1, c0), km.c(1)));
                Value ones = arith::SubIOp::create(
                    kb, kl, arith::ShLIOp::create(kb, kl, c64(1), n), c64(1));
                ones = arith::SelectOp::create(
                    kb, kl, arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::sge, n, c64(64)),
                    c64(-1), ones);
                Value at0 = arith::IndexCastOp::create(
                    kb, kl, i64, km.add(km.mul(r, km.c(colBits)), c0));
                Value bits = arith::ShLIOp::create(kb, kl, ones, at0);
                bits = arith::SelectOp::create(kb, kl, hit, bits, c64(0));
                scf::YieldOp::create(kb, kl, ValueRange{arith::OrIOp::create(kb, kl, it[0], bits)});
              });
          scf::YieldOp::create(rb, rl, keys.getResults());
        });
    return rows.getResult(0);
  });
  mask.getDefiningOp()->setAttr(kStepReasonAttr,
                                b.getStringAttr("the per-tile mask of a block list"));
  return mask;
}

void tileBlockLists(AttentionOp op) {
  auto carrier = op.getCarrier().getValue();
  for (auto [n, a] : llvm::enumerate(carrier)) {
    auto bl = dyn_cast<BlockListAttr>(a);
    // Whole-tile blocks keep the CSR schedule.
    if (!bl || bl.getTileMask() >= 0 || !bl.fitsTileMask() ||
        (bl.getQBlock() % BlockListAttr::kMaskTile == 0 &&
         bl.getKBlock() % BlockListAttr::kMaskTile == 0))
      continue;
    auto offT = cast<RankedTensorType>(op.getExtras()[bl.getOffsets()].getType());
    bool noRows = !offT.isDynamicDim(2) && offT.getDimSize(2) < (bl.getCounted() ? 1 : 2);
    // Paged keys have no key length to read here until their gather folds.
    if (noRows || op.getKvPagesAttr())
      continue;
    OpBuilder b(op);
    int64_t slot = op.getExtras().size();
    op.getExtrasMutable().append(buildTileMask(b, op, bl));
    SmallVector<Attribute> families(carrier.begin(), carrier.end());
    families[n] = BlockListAttr::get(op.getContext(), bl.getQBlock(), bl.getKBlock(),
                                     bl.getOffsets(), bl.getIndices(), bl.getCounted(), slot);
    op.setCarrierAttr(ArrayAttr::get(op.getContext(), families));
    return; // the kernel takes one block_list
  }
}

struct AttnGPUTileBlockListsPass
    : public attnc::impl::AttnGPUTileBlockListsBase<AttnGPUTileBlockListsPass> {
  void runOnOperation() override { getOperation()->walk(tileBlockLists); }
};

} // namespace
