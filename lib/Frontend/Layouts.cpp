//===- Layouts.cpp - tokens and features trading places --------------------===//
//
// Attention along the feature axis (`axis features`, cross-covariance
// attention) and norms along tokens (`l2norm(x, axis=tokens)`) are the
// token-axis forms between swaps of the last two axes; the swap is an
// attn.map with a permuted indexing map, so every backend runs it as it runs
// any let.
//
//===----------------------------------------------------------------------===//
#include "ModuleBuilder.h"

#include "attnc/Dialect/Attn/AttnDialect.h"

using namespace attnc::frontend;

Value ModuleBuilder::swapTokensFeatures(Location l, Value t) {
  auto ty = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape(ty.getShape());
  std::swap(shape[2], shape[3]);
  auto resultTy = RankedTensorType::get(shape, ty.getElementType());
  SmallVector<Value> sizes;
  for (int64_t d : {0, 1, 3, 2})
    if (ty.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, l, t, d));
  AffineMap swap = AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 1, 3, 2}, &ctx);
  auto op = attn::MapOp::create(b, l, resultTy, ValueRange{t}, b.getAffineMapArrayAttr({swap}),
                                sizes);
  Block *blk = new Block();
  op.getBody().push_back(blk);
  for (int n = 0; n < 4; ++n)
    blk->addArgument(b.getIndexType(), l);
  Value x = blk->addArgument(ty.getElementType(), l);
  OpBuilder eb = OpBuilder::atBlockEnd(blk);
  attn::YieldOp::create(eb, l, x);
  return op.getResult();
}

LogicalResult ModuleBuilder::checkFeatureAxisShapes(const AttentionDecl &a, Value q, Value k,
                                                    Value v) {
  auto dim = [](Value t, int d) { return cast<RankedTensorType>(t.getType()).getDimSize(d); };
  auto differ = [](int64_t x, int64_t y) {
    return !ShapedType::isDynamic(x) && !ShapedType::isDynamic(y) && x != y;
  };
  if (differ(dim(q, 2), dim(k, 2))) {
    error(a.axisLoc) << "attention '" << a.name << "' (axis features) contracts q and k over their "
                     << "tokens, but '" << a.q << "' has " << dim(q, 2) << " and '" << a.k
                     << "' " << dim(k, 2);
    return failure();
  }
  if (differ(dim(k, 3), dim(v, 3))) {
    error(a.axisLoc) << "attention '" << a.name << "' (axis features) weighs v's channels by k's: "
                     << "'" << a.k << "' has " << dim(k, 3) << " channels and '" << a.v << "' "
                     << dim(v, 3);
    return failure();
  }
  return success();
}
