//===- FoldPageGather.cpp - paged K/V read in the kernel's tile loads -----===//
//
// `attention(q, page_gather(kp, t), page_gather(vp, t))` becomes an attention
// over the pools kp and vp with `kv_pages = <table = t>`: the Hopper kernel
// then loads each K/V tile straight from its page instead of a gathered copy
// (one read of the cache, not three moves). Only where both operands are
// gathered through one table in one layout; any other use of a gather stays
// as it is (a generic step on the GPU, the cascade on the CPU).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNFOLDPAGEGATHER
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

void fold(AttentionOp op) {
  auto k = op.getKey().getDefiningOp<PageGatherOp>();
  auto v = op.getValue().getDefiningOp<PageGatherOp>();
  if (!k || !v || op.getKvPagesAttr() || k.getTable() != v.getTable() ||
      k.getLayout() != v.getLayout())
    return;
  // The kernel reads both pools through one table: they must hold the same
  // pages (a static mismatch stays a gather, which clamps per pool).
  auto kp = cast<RankedTensorType>(k.getPool().getType());
  auto vp = cast<RankedTensorType>(v.getPool().getType());
  int64_t rows = pageRowAxis(k.getLayout());
  for (int64_t d : {int64_t(0), rows})
    if (!kp.isDynamicDim(d) && !vp.isDynamicDim(d) && kp.getDimSize(d) != vp.getDimSize(d))
      return;
  SmallVector<Value> extras(op.getExtras());
  auto it = llvm::find(extras, k.getTable());
  int64_t table = it - extras.begin();
  if (it == extras.end())
    extras.push_back(k.getTable());
  op.getKeyMutable().assign(k.getPool());
  op.getValueMutable().assign(v.getPool());
  op.getExtrasMutable().assign(extras);
  op.setKvPagesAttr(KVPagesAttr::get(op.getContext(), table, k.getLayout()));
  // k and v may be one gather (`attention a(q, kv, kv)`): erase it once.
  if (k->use_empty())
    k->erase();
  if (v != k && v->use_empty())
    v->erase();
}

struct AttnFoldPageGatherPass
    : public attnc::impl::AttnFoldPageGatherBase<AttnFoldPageGatherPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      fold(op);
  }
};

} // namespace
