//===- CascadeBuilder.cpp - helpers that emit einsum-cascade ops ---------===//
#include "attnc/Dialect/Attn/CascadeBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

OpFoldResult CascadeBuilder::dim(Value tensor, int64_t d) {
  auto t = cast<RankedTensorType>(tensor.getType());
  if (!t.isDynamicDim(d))
    return b.getIndexAttr(t.getDimSize(d));
  return tensor::DimOp::create(b, loc, tensor, d).getResult();
}

Value CascadeBuilder::value(OpFoldResult ofr) {
  return getValueOrCreateConstantIndexOp(b, loc, ofr);
}

RankedTensorType CascadeBuilder::tensorType(ArrayRef<OpFoldResult> sizes,
                                            Type elem) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c ? *c : ShapedType::kDynamic);
  }
  return RankedTensorType::get(shape, elem);
}

SmallVector<Value> CascadeBuilder::dynamicSizes(ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> out;
  for (OpFoldResult s : sizes)
    if (!getConstantIntValue(s))
      out.push_back(value(s));
  return out;
}

Value CascadeBuilder::map(ArrayRef<OpFoldResult> sizes, Type elem,
                          ValueRange inputs, ArrayRef<AffineMap> maps,
                          BodyFn body) {
  RankedTensorType ty = tensorType(sizes, elem);
  auto op = MapOp::create(b, loc, ty, inputs, b.getAffineMapArrayAttr(maps),
                          dynamicSizes(sizes));
  Block *block = new Block();
  op.getBody().push_back(block);
  SmallVector<Value> indices, elements;
  for (size_t d = 0; d < sizes.size(); ++d)
    indices.push_back(block->addArgument(b.getIndexType(), loc));
  for (Value in : inputs)
    elements.push_back(block->addArgument(
        cast<RankedTensorType>(in.getType()).getElementType(), loc));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(block);
  Value result = body(b, loc, indices, elements);
  YieldOp::create(b, loc, result);
  return op.getResult();
}

Value CascadeBuilder::mapSame(ValueRange inputs, Type elem, BodyFn body) {
  Value first = inputs.front();
  int64_t rank = cast<RankedTensorType>(first.getType()).getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(dim(first, d));
  SmallVector<AffineMap> maps(inputs.size(),
                              b.getMultiDimIdentityMap(rank));
  return map(sizes, elem, inputs, maps, body);
}

Value CascadeBuilder::einsum(ValueRange inputs, ArrayRef<AffineMap> maps,
                             ArrayRef<OpFoldResult> outSizes, Type elem) {
  return EinsumOp::create(b, loc, tensorType(outSizes, elem), inputs,
                          b.getAffineMapArrayAttr(maps))
      .getResult();
}

Value CascadeBuilder::reduce(Value input, ReduceKind kind, int64_t count) {
  auto t = cast<RankedTensorType>(input.getType());
  auto out = RankedTensorType::get(t.getShape().drop_back(count),
                                   t.getElementType());
  return ReduceOp::create(b, loc, out, input, kind, count).getResult();
}

Value CascadeBuilder::f(Type ty, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(ty, v));
}

Value CascadeBuilder::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

AffineMap attnc::projection(MLIRContext *ctx, unsigned numDims,
                            ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value attnc::inlineRegion(OpBuilder &b, Region &region, ValueRange args) {
  Block &block = region.front();
  IRMapping mapping;
  for (auto [arg, v] : llvm::zip(block.getArguments(), args))
    mapping.map(arg, v);
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  auto yield = cast<YieldOp>(block.getTerminator());
  return mapping.lookupOrDefault(yield.getValues()[0]);
}
