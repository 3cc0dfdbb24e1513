//===- ReassociateLinear.cpp - linear attention in time linear in L ------===//
//
// With the identity link the weights are bilinear, so
// sum_j (q_i . k_j) v_j = q_i . (sum_j k_j v_j^T): a [D, Dv] state per head
// replaces the [Lq, Lk] weight matrix. The two contractions are written as
// attentions against identity matrices (I . k^T = k^T, q . I^T = q), so the
// GPU runs both on the Hopper kernel's tensor cores and the CPU through the
// same cascade as every other attention. The row_abs denominator is the
// same product with ones for v: q_i . (sum_j k_j) = sum_j |w_ij| once the
// weights are known to be nonnegative.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"
#include "LinearForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/Support/Debug.h"


namespace attnc {
#define GEN_PASS_DEF_ATTNREASSOCIATELINEAR
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

#define DEBUG_TYPE "attn-reassociate-linear"

namespace {

/// Keys per partial sum of the state on the CPU (the GPU picks its split).
constexpr int64_t kStateChunk = 1024;

/// Why `op` is not rewritten, or "" when it is.
std::string refusal(AttentionOp op, double minWorkRatio) {
  if (std::string why = linearAttentionRefusal(op); !why.empty())
    return why;
  Anchor anchor = op.getAnchorKind();
  if (!op.getScore().empty() || op.getScoreConv() || op.getLse() || op.getSplitKv() != 0 ||
      op.getKvPagesAttr() || op.getContextShardAttr() || op.getTableBounds() || op.getMaskClasses())
    return "scores are modified, or the op is already scheduled";
  for (Attribute family : op.getCarrier())
    if (!isa<LengthsAttr>(family))
      return "a carrier family depends on the query row";
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  auto o = cast<RankedTensorType>(op.getResult().getType());
  if (!op.getMask().empty()) {
    Block &mask = op.getMask().front();
    // The state sums over keys for all rows at once; in GQA a query head
    // shares its KV head's state, so the mask may read h only without it.
    if (!mask.getArgument(2).use_empty())
      return "the mask depends on the query row";
    if (!mask.getArgument(1).use_empty() &&
        (o.isDynamicDim(1) || k.isDynamicDim(1) || o.getDimSize(1) != k.getDimSize(1)))
      return "the mask depends on the head, which KV heads share";
  }
  int64_t lq = q.getDimSize(2), lk = k.getDimSize(2), d = q.getDimSize(3), dv = v.getDimSize(3);
  if (ShapedType::isDynamic(lq) || ShapedType::isDynamic(lk) || ShapedType::isDynamic(d) ||
      ShapedType::isDynamic(dv))
    return "a length or head dim is dynamic";
  bool sums = anchor == Anchor::row_abs;
  if (sums)
    if (std::string why = nonnegativeWeightsRefusal(op); !why.empty())
      return why;
  double quadratic = double(lq) * lk * (d + dv);
  double linear = double(lq + lk) * d * (d + dv + (sums ? kSumColumns + d : 0));
  if (quadratic <= minWorkRatio * linear)
    return "the quadratic form is cheaper at these sizes";
  return "";
}

void reassociate(AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  CascadeBuilder cb(b, loc);
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  auto resultTy = cast<RankedTensorType>(op.getResult().getType());
  Type elem = resultTy.getElementType();
  int64_t d = cast<RankedTensorType>(q.getType()).getDimSize(3);
  OpFoldResult batch = cb.dim(k, 0), kvHeads = cb.dim(k, 1), lk = cb.dim(k, 2);
  OpFoldResult dSize = b.getIndexAttr(d);

  auto constant = [&](ArrayRef<OpFoldResult> sizes, bool eye, StringRef why) {
    Value x = cb.map(sizes, elem, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) -> Value {
      IndexMath m{nb, nl};
      CascadeBuilder nc(nb, nl);
      return eye ? m.sel(m.eq(idx[2], idx[3]), nc.f(elem, 1.0), nc.f(elem, 0.0)) : nc.f(elem, 1.0);
    });
    nameLinearStep(x, why);
    return x;
  };
  StringRef eyeWhy = "an identity matrix (linear attention reassociated)";
  Value eyeQ = constant({batch, b.getIndexAttr(1), dSize, dSize}, true, eyeWhy);
  Value eyeK = constant({batch, kvHeads, dSize, dSize}, true, eyeWhy);
  // `values` [.., Lk, n] -> q . (k^T values) [B, H, Lq, n]: the keys' state,
  // one per KV head (the carrier only ever names keys), then the rows. The
  // state's D rows are one or two tiles per head: its keys are split (plain
  // sums under anchor none) so that the GPU spreads them over its SMs (the
  // runtime picks the count; the CPU sums chunks of kStateChunk).
  auto throughState = [&](Value values, bool moveMask) {
    OpFoldResult n = cb.dim(values, 3);
    AttentionOp state = buildLinearProducts(b, loc, cb.tensorType({batch, kvHeads, dSize, n}, elem), eyeQ, k,
                                      values, op.getExtras(), op.getCarrier(), b.getF64FloatAttr(1.0),
                                      kStateChunk);
    IRMapping none;
    if (moveMask)
      state.getMask().takeBody(op.getMask());
    else
      op.getMask().cloneInto(&state.getMask(), none);
    auto rowsTy = RankedTensorType::get({resultTy.getDimSize(0), resultTy.getDimSize(1), resultTy.getDimSize(2),
                                         cast<RankedTensorType>(values.getType()).getDimSize(3)}, elem);
    return buildLinearProducts(b, loc, rowsTy, q, eyeK, state.getResult(), {}, b.getArrayAttr({}),
                         op.getScaleAttr(), /*splitKV=*/0)
        .getResult();
  };
  Value result;
  if (op.getAnchorKind() == Anchor::row_abs) {
    // The row sums sum_j w_ij through their own state of kSumColumns ones
    // (the narrowest value the kernel takes), not as a column beside v:
    // v's head dim stays the kernel's (128, not 192 with the column).
    Value ones = constant({batch, kvHeads, lk, b.getIndexAttr(kSumColumns)}, false,
                          "ones (linear attention's row sums)");
    Value sums = throughState(ones, /*moveMask=*/false);
    Value num = throughState(v, /*moveMask=*/true);
    result = divideByRowSums(b, loc, num, sums, "the row_abs normalisation of the reassociated linear attention");
  } else {
    result = throughState(v, /*moveMask=*/true);
  }
  op.getResult().replaceAllUsesWith(result);
  op.erase();
}

struct AttnReassociateLinearPass
    : public attnc::impl::AttnReassociateLinearBase<AttnReassociateLinearPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) {
      std::string why = refusal(op, minWorkRatio);
      LLVM_DEBUG(llvm::dbgs() << "attn-reassociate-linear: " << op.getLoc() << ": "
                              << (why.empty() ? "reassociated" : why) << "\n");
      if (why.empty())
        ops.push_back(op);
    });
    for (AttentionOp op : ops)
      reassociate(op);
  }
};

} // namespace
