//===- ShardPositions.cpp - one shard of a longer attention --------------===//
//
// Context parallelism runs one attention as many shards: a rank holds some
// query rows and, at each ring step, some key rows, at known global
// positions. The carrier, the mask and the score of the spec speak of
// global positions; this pass rewrites a `context_shard` attention into one
// over its own rows. Every carrier family becomes part of the mask region,
// built by the families' own keep predicates (Carrier.h) at the global
// positions, so any family that is a predicate of (b, h, i, j) shards
// without a rule of its own, and both backends then classify tiles from the
// mask (MaskBounds): a step whose keys the carrier never keeps costs a
// launch and no tile.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNSHARDPOSITIONS
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// Global position of local row `idx`: idx * stride + offsets[which].
Value globalPosition(IndexMath &m, Value offsets, int64_t which, Value idx, int64_t stride) {
  return m.add(m.mul(idx, stride), m.load(offsets, {m.c(which)}));
}

/// The op verifier has refused what cannot be computed in shards.
void shardAttention(AttentionOp op) {
  ContextShardAttr shard = op.getContextShardAttr();
  Location loc = op.getLoc();
  Value offsets = op.getExtras()[shard.getOffsets()];

  // The score region sees global positions.
  if (!op.getScore().empty()) {
    Block &body = op.getScore().front();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    IndexMath m{b, loc};
    for (auto [arg, which, stride] :
         {std::tuple{body.getArgument(3), 0, shard.getQStride()},
          std::tuple{body.getArgument(4), 1, shard.getKStride()}}) {
      SmallVector<OpOperand *> uses(llvm::make_pointer_range(arg.getUses()));
      Value global = globalPosition(m, offsets, which, arg, stride);
      for (OpOperand *use : uses)
        use->set(global);
    }
  }

  // The mask region: every family and the old mask at global positions.
  Region oldMask;
  oldMask.takeBody(op.getMask());
  Block *blk = new Block();
  op.getMask().push_back(blk);
  Type indexTy = IndexType::get(op.getContext());
  for (int n = 0; n < 4; ++n)
    blk->addArgument(indexTy, loc);
  OpBuilder b = OpBuilder::atBlockBegin(blk);
  IndexMath m{b, loc};
  Value gi = globalPosition(m, offsets, 0, blk->getArgument(2), shard.getQStride());
  Value gj = globalPosition(m, offsets, 1, blk->getArgument(3), shard.getKStride());
  // Regions read no tensor but their extras: the shard's lengths are dims
  // from above (which the GPU kernel takes as arguments), scaled inside.
  OpBuilder outer(op);
  Value lq = m.mul(tensor::DimOp::create(outer, loc, op.getQuery(), 2), shard.getQParts());
  Value lk = m.mul(tensor::DimOp::create(outer, loc, op.getKey(), 2), shard.getKParts());
  Value keep = buildKeepPredicate(b, loc, op, blk->getArgument(0), blk->getArgument(1), gi, gj,
                                  lq, lk, /*access=*/nullptr, &oldMask);
  YieldOp::create(b, loc, keep);
  op.setCarrierAttr(ArrayAttr::get(op.getContext(), {}));
  op.removeContextShardAttr();
}

struct AttnShardPositionsPass : attnc::impl::AttnShardPositionsBase<AttnShardPositionsPass> {
  /// The keep predicate lowers each family through its external model.
  void getDependentDialects(DialectRegistry &registry) const override {
    AttnShardPositionsBase::getDependentDialects(registry);
    registerCarrierLoweringExternalModels(registry);
  }

  void runOnOperation() override {
    getOperation()->walk([&](AttentionOp op) {
      if (op.getContextShardAttr())
        shardAttention(op);
    });
  }
};

} // namespace
