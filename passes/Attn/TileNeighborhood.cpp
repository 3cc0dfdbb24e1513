//===- TileNeighborhood.cpp - a 2-D neighborhood in patch-major order ----===//
//
// A 2-D neighborhood over a row-major grid gives a 128-token query tile one
// image row: its keys are ~k_h rows of the image, mostly outside each query's
// window. Stored patch-major instead (patches of TH x TW tokens, TH * TW = 128,
// patches in row-major order, tokens row-major inside a patch), a query tile
// is a TH x TW patch, and the key tiles that it may keep are the few patches
// around it (NATTEN's FNA and GNA tile the same way). The rewrite:
//   qp, kp, vp = q, k, v gathered into patch-major order   (layout maps)
//   a' = the attention over qp, kp, vp with the neighborhood as a mask of the
//        patch-major positions (coordinates by // and %: the tile bounds of
//        MaskBounds are exact over a patch, so key tiles outside the window
//        are never visited)
//   o  = a' gathered back into row-major order              (layout map)
// Only where it is exact: two axes, dilation and stride 1, not causal, the
// grid divisible by the patch, no mask, no score line reading i or j, no
// score convolution; and
// with static shapes (the gathers are generic GPU steps).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTILENEIGHBORHOOD
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

using IM = attnc::IndexMath;

struct PatchLayout {
  int64_t gh, gw, th, tw; // grid and patch extents

  /// Row and column of the token at patch-major position t.
  std::pair<Value, Value> coords(IM &m, Value t) const {
    Value p = m.fdiv(t, th * tw), w = m.rem(t, th * tw);
    Value y = m.add(m.mul(m.fdiv(p, gw / tw), th), m.fdiv(w, tw));
    Value x = m.add(m.mul(m.rem(p, gw / tw), tw), m.rem(w, tw));
    return {y, x};
  }
  /// Row-major index of the token at patch-major position t.
  Value rowMajor(IM &m, Value t) const {
    auto [y, x] = coords(m, t);
    return m.add(m.mul(y, gw), x);
  }
  /// Patch-major position of row-major index t.
  Value patchMajor(IM &m, Value t) const {
    Value y = m.fdiv(t, gw), x = m.rem(t, gw);
    Value p = m.add(m.mul(m.fdiv(y, th), gw / tw), m.fdiv(x, tw));
    return m.add(m.mul(p, th * tw), m.add(m.mul(m.rem(y, th), tw), m.rem(x, tw)));
  }
};

bool regionReadsPositions(Region &r) {
  if (r.empty())
    return false;
  Block &blk = r.front();
  // score: (s, b, h, i, j); mask: (b, h, i, j)
  unsigned i = blk.getNumArguments() == 5 ? 3 : 2;
  return !blk.getArgument(i).use_empty() || !blk.getArgument(i + 1).use_empty();
}

std::optional<PatchLayout> layoutFor(AttentionOp op, int64_t th, int64_t tw) {
  // A score convolution reads neighbouring positions: it needs row-major order.
  if (op.getCarrier().size() != 1 || !op.getMask().empty() || regionReadsPositions(op.getScore()) ||
      op.getScoreConvAttr())
    return std::nullopt;
  // The gathers are generic GPU steps, which need static shapes; without
  // them the kernel alone (dims at run time) stays the better program.
  for (Value t : {op.getQuery(), op.getKey(), op.getValue()})
    if (!cast<RankedTensorType>(t.getType()).hasStaticShape())
      return std::nullopt;
  auto nb = dyn_cast<NeighborhoodAttr>(op.getCarrier()[0]);
  if (!nb || nb.getGrid().size() != 2 || llvm::any_of(nb.getDilation(), [](int64_t d) { return d != 1; }) ||
      llvm::any_of(nb.getStride(), [](int64_t s) { return s != 1; }) ||
      llvm::any_of(nb.getCausal(), [](bool c) { return c; }))
    return std::nullopt;
  int64_t gh = nb.getGrid()[0], gw = nb.getGrid()[1];
  if (gh % th || gw % tw)
    return std::nullopt;
  return PatchLayout{gh, gw, th, tw};
}

/// x [B, H, L, E] gathered: out[b, h, t, e] = x[b, h, index(t), e].
Value gather(OpBuilder &b, Location loc, Value x,
             llvm::function_ref<Value(IM &, Value)> index) {
  CascadeBuilder cb(b, loc);
  auto ty = cast<RankedTensorType>(x.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < 4; ++d)
    sizes.push_back(cb.dim(x, d));
  Value r = cb.map(sizes, ty.getElementType(), {}, {},
                   [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
                     IM m{nb, nl};
                     return tensor::ExtractOp::create(
                                nb, nl, x, ValueRange{idx[0], idx[1], index(m, idx[2]), idx[3]})
                         .getResult();
                   });
  // A pure data movement: the GPU partition runs it in the tensors' own type.
  r.getDefiningOp()->setAttr("attnc.layout_only", b.getUnitAttr());
  if (r.getType() != x.getType())
    r = tensor::CastOp::create(b, loc, x.getType(), r);
  return r;
}

void rewrite(AttentionOp op, const PatchLayout &lay) {
  auto nb = cast<NeighborhoodAttr>(op.getCarrier()[0]);
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto toPatch = [&](IM &m, Value t) { return lay.rowMajor(m, t); };
  Value qp = gather(b, loc, op.getQuery(), toPatch);
  Value kp = gather(b, loc, op.getKey(), toPatch);
  Value vp = gather(b, loc, op.getValue(), toPatch);
  auto tiled = cast<AttentionOp>(b.clone(*op));
  tiled.getQueryMutable().assign(qp);
  tiled.getKeyMutable().assign(kp);
  tiled.getValueMutable().assign(vp);
  tiled.setCarrierAttr(b.getArrayAttr({}));
  // Key tiles of half a patch (TH/2 x TW): a window's key region is then
  // covered by few, mostly kept tiles.
  tiled->setAttr("attnc.block_n", b.getI64IntegerAttr(lay.th * lay.tw / 2));
  // The neighborhood over the coordinates of patch-major positions.
  Block *blk = new Block();
  Type idx = b.getIndexType();
  for (int n = 0; n < 4; ++n)
    blk->addArgument(idx, loc);
  tiled.getMask().push_back(blk);
  {
    OpBuilder mb = OpBuilder::atBlockBegin(blk);
    IM m{mb, loc};
    auto [yi, xi] = lay.coords(m, blk->getArgument(2));
    auto [yj, xj] = lay.coords(m, blk->getArgument(3));
    Value keep = m.land(neighborhoodAxis(m, yi, yj, lay.gh, nb.getWindow()[0], 1, 1, false),
                        neighborhoodAxis(m, xi, xj, lay.gw, nb.getWindow()[1], 1, 1, false));
    YieldOp::create(mb, loc, ValueRange{keep});
  }
  Value back = gather(b, loc, tiled.getResult(),
                      [&](IM &m, Value t) { return lay.patchMajor(m, t); });
  op.getResult().replaceAllUsesWith(back);
  op.erase();
}

struct AttnTileNeighborhoodPass
    : public attnc::impl::AttnTileNeighborhoodBase<AttnTileNeighborhoodPass> {
  using Base::Base;
  void runOnOperation() override {
    if (tileRows < 1 || tileCols < 1) {
      getOperation().emitError("attn-tile-neighborhood: patch extents must be positive");
      return signalPassFailure();
    }
    SmallVector<std::pair<AttentionOp, PatchLayout>> todo;
    getOperation()->walk([&](AttentionOp op) {
      if (auto lay = layoutFor(op, tileRows, tileCols))
        todo.push_back({op, *lay});
    });
    for (auto &[op, lay] : todo)
      rewrite(op, lay);
  }
};

} // namespace
