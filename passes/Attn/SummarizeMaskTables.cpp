//===- SummarizeMaskTables.cpp - per-block bounds of a mask's tables -----===//
//
// A mask that compares table entries of positions (document ids, segment
// ids, image ids: `seq[j] == seq[i]`) defeats interval evaluation over a
// tile: the entries of a range of positions are unknown to it. With the
// [min, max] of each run of 64 entries computed once per call (a small
// generic step), MaskBounds bounds such a read exactly enough to skip the
// tiles of other documents and to drop the mask inside whole ones.
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
#define GEN_PASS_DEF_ATTNSUMMARIZEMASKTABLES
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// Whether a mask-region value depends on the positions i and j (arguments 2
/// and 3), or on a loop variable of the region (treated the same).
bool dependsOnPosition(Value v, Region &mask, llvm::DenseMap<Value, bool> &memo, int depth = 0) {
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  bool r = false;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() == &mask.front())
      r = arg.getArgNumber() == 2 || arg.getArgNumber() == 3;
    else
      r = mask.isAncestor(arg.getParentRegion());
  } else if (Operation *def = v.getDefiningOp(); def && mask.isAncestor(def->getParentRegion())) {
    // A loop (`sum`) may read i or j inside: taken as depending on them.
    r = depth > 64 || def->getNumRegions() != 0 ||
        llvm::any_of(def->getOperands(),
                     [&](Value o) { return dependsOnPosition(o, mask, memo, depth + 1); });
  }
  memo[v] = r;
  return r;
}

/// One element of a [min, max] pair over r in [lo, hi): the min of the
/// first and the max of the second value `load(r)` gives; an empty range
/// gives the whole i32 range. `idx.back()` picks min (0) or max (1).
Value foldRange(OpBuilder &nb, Location nl, Value lo, Value hi, ValueRange idx,
                function_ref<std::pair<Value, Value>(OpBuilder &, Location, Value)> load) {
  IndexMath m{nb, nl};
  Type i32 = nb.getI32Type();
  auto c32 = [&](int64_t v) { return arith::ConstantIntOp::create(nb, nl, i32, v).getResult(); };
  auto loop = scf::ForOp::create(
      nb, nl, lo, hi, m.c(1), ValueRange{c32(INT32_MAX), c32(INT32_MIN)},
      [&](OpBuilder &bb, Location bl, Value r, ValueRange it) {
        auto [x, y] = load(bb, bl, r);
        scf::YieldOp::create(bb, bl, ValueRange{arith::MinSIOp::create(bb, bl, it[0], x),
                                                arith::MaxSIOp::create(bb, bl, it[1], y)});
      });
  Value mn = loop.getResult(0), mx = loop.getResult(1);
  Value empty = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, mn, mx);
  mn = arith::SelectOp::create(nb, nl, empty, c32(INT32_MIN), mn);
  mx = arith::SelectOp::create(nb, nl, empty, c32(INT32_MAX), mx);
  Value wantMin = m.eq(idx.back(), m.c(0));
  return arith::SelectOp::create(nb, nl, wantMin, mn, mx).getResult();
}

/// The bounds of `table` (AttentionOp::table_bounds): first the [min, max]
/// of each block of kTableBoundsBlock entries along its last axis, then a
/// sparse table over the blocks, level k holding the bounds of blocks
/// [t, t + 2^k), so that any range of blocks is the union of two entries.
/// Level k folds 2^k level-0 pairs (at most the block count, which stays
/// small: 256 for 16k entries), one thread per entry as generic steps run.
Value buildBounds(OpBuilder &b, Location loc, Value table) {
  constexpr int64_t block = AttentionOp::kTableBoundsBlock;
  CascadeBuilder cb(b, loc);
  auto type = cast<RankedTensorType>(table.getType());
  int64_t rank = type.getRank();
  int64_t blocks = AttentionOp::tableBoundsBlocks(type.getDimSize(rank - 1));
  SmallVector<OpFoldResult> lead;
  for (int64_t d = 0; d + 1 < rank; ++d)
    lead.push_back(cb.dim(table, d));
  Value lenV = cb.value(cb.dim(table, rank - 1));
  Type i32 = b.getI32Type();
  auto named = [&](Value v) {
    v.getDefiningOp()->setAttr(kStepReasonAttr,
                               b.getStringAttr("the per-block bounds of a table a mask reads"));
    return v;
  };
  SmallVector<OpFoldResult> sizes(lead);
  sizes.append({b.getIndexAttr(blocks), b.getIndexAttr(2)});
  Value level0 = named(cb.map(sizes, i32, {}, {},
                              [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    Value lo = m.mul(idx[rank - 1], block), hi = m.min(m.add(lo, block), lenV);
    SmallVector<Value> at(idx.take_front(rank - 1));
    at.push_back(Value());
    return foldRange(nb, nl, lo, hi, idx, [&](OpBuilder &bb, Location bl, Value r) {
      at.back() = r;
      Value x = tensor::ExtractOp::create(bb, bl, table, at);
      return std::make_pair(x, x);
    });
  }));
  sizes.assign(lead.begin(), lead.end());
  sizes.append({b.getIndexAttr(AttentionOp::tableBoundsLevels(blocks)), b.getIndexAttr(blocks),
                b.getIndexAttr(2)});
  return named(cb.map(sizes, i32, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    Value first = idx[rank], k = idx[rank - 1];
    Value span = arith::ShLIOp::create(nb, nl, m.c(1), k);
    Value last = m.min(m.add(first, span), m.c(blocks));
    SmallVector<Value> at(idx.take_front(rank - 1));
    at.append({Value(), m.c(0)});
    return foldRange(nb, nl, first, last, idx, [&](OpBuilder &bb, Location bl, Value t) {
      at[rank - 1] = t;
      at[rank] = arith::ConstantIndexOp::create(bb, bl, 0);
      Value mn = tensor::ExtractOp::create(bb, bl, level0, at);
      at[rank] = arith::ConstantIndexOp::create(bb, bl, 1);
      Value mx = tensor::ExtractOp::create(bb, bl, level0, at);
      return std::make_pair(mn, mx);
    });
  }));
}

void summarize(AttentionOp op) {
  if (op.getMask().empty() || op.getTableBounds())
    return;
  Region &mask = op.getMask();
  auto extras = op.getExtras();
  llvm::DenseMap<Value, bool> memo;
  SmallVector<unsigned> tables;
  // MaskBounds evaluates the region's own block (not loop bodies).
  for (tensor::ExtractOp ex : mask.front().getOps<tensor::ExtractOp>()) {
    auto it = llvm::find(extras, ex.getTensor());
    auto type = cast<RankedTensorType>(ex.getTensor().getType());
    // A static table only: the bounds run as a generic GPU step, which is
    // built for static shapes (without them the tiles stay as they were).
    if (it == extras.end() || !type.getElementType().isInteger(32) || ex.getIndices().empty() ||
        !type.hasStaticShape())
      continue;
    // Bounds help where the last index moves with the position and the
    // others do not (they are then single values over a tile).
    if (!dependsOnPosition(ex.getIndices().back(), mask, memo) ||
        llvm::any_of(ex.getIndices().drop_back(),
                     [&](Value v) { return dependsOnPosition(v, mask, memo); }))
      continue;
    unsigned n = it - extras.begin();
    if (!llvm::is_contained(tables, n))
      tables.push_back(n);
  }
  if (tables.empty())
    return;
  OpBuilder b(op);
  SmallVector<int64_t> pairs;
  for (unsigned n : tables) {
    pairs.append({(int64_t)n, (int64_t)op.getExtras().size()});
    op.getExtrasMutable().append(buildBounds(b, op.getLoc(), op.getExtras()[n]));
  }
  op.setTableBounds(pairs);
}

struct AttnSummarizeMaskTablesPass
    : public attnc::impl::AttnSummarizeMaskTablesBase<AttnSummarizeMaskTablesPass> {
  void runOnOperation() override { getOperation()->walk(summarize); }
};

} // namespace
