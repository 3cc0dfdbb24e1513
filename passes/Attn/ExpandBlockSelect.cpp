//===- ExpandBlockSelect.cpp - block_select -> estimation + block list ----===//
//
// A data-dependent carrier is two stages: one that reads q and k to choose
// blocks, and the attention over the chosen blocks. Making the first an op of
// its own (attn.select_blocks) lets each backend lower it like any other
// cascade op, and leaves the attention with a block_list that the Hopper
// kernel already schedules from (only the listed tiles are visited).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "llvm/Support/MathExtras.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNEXPANDBLOCKSELECT
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

int64_t blocksOf(int64_t len, int64_t block) {
  return ShapedType::isDynamic(len) ? ShapedType::kDynamic : llvm::divideCeil(len, block);
}

void expand(AttentionOp op) {
  BlockSelectAttr sel;
  SmallVector<Attribute> others;
  for (Attribute a : op.getCarrier()) {
    if (auto s = dyn_cast<BlockSelectAttr>(a))
      sel = s;
    else
      others.push_back(a);
  }
  if (!sel)
    return;
  OpBuilder b(op);
  MLIRContext *ctx = b.getContext();
  auto qt = cast<RankedTensorType>(op.getQuery().getType());
  auto kt = cast<RankedTensorType>(op.getKey().getType());
  auto ot = cast<RankedTensorType>(op.getResult().getType());
  int64_t nqb = blocksOf(qt.getDimSize(2), sel.getQBlock());
  int64_t nkb = blocksOf(kt.getDimSize(2), sel.getKBlock());
  Type i32 = b.getI32Type();
  auto countsTy = RankedTensorType::get({qt.getDimSize(0), ot.getDimSize(1), nqb}, i32);
  auto indicesTy = RankedTensorType::get({qt.getDimSize(0), ot.getDimSize(1), nqb, nkb}, i32);
  auto stage = SelectBlocksOp::create(b, op.getLoc(), countsTy, indicesTy, op.getQuery(),
                                      op.getKey(), op.getExtras(), b.getArrayAttr(others), sel,
                                      op.getScaleAttr());
  int64_t n = op.getExtras().size();
  SmallVector<Value> extras(op.getExtras().begin(), op.getExtras().end());
  extras.push_back(stage.getCounts());
  extras.push_back(stage.getIndices());
  others.push_back(BlockListAttr::get(ctx, sel.getQBlock(), sel.getKBlock(), n, n + 1,
                                      /*counted=*/true));
  op.getExtrasMutable().assign(extras);
  op.setCarrierAttr(b.getArrayAttr(others));
}

struct AttnExpandBlockSelectPass
    : public attnc::impl::AttnExpandBlockSelectBase<AttnExpandBlockSelectPass> {
  void runOnOperation() override {
    getOperation()->walk([](AttentionOp op) { expand(op); });
  }
};

} // namespace
