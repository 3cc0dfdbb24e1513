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
  SmallVector<Value> extras(op.getExtras());
  auto it = llvm::find(extras, k.getTable());
  int64_t table = it - extras.begin();
  if (it == extras.end())
    extras.push_back(k.getTable());
  op.getKeyMutable().assign(k.getPool());
  op.getValueMutable().assign(v.getPool());
  op.getExtrasMutable().assign(extras);
  op.setKvPagesAttr(KVPagesAttr::get(op.getContext(), table, k.getLayout()));
  for (PageGatherOp g : {k, v})
    if (g->use_empty())
      g->erase();
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
