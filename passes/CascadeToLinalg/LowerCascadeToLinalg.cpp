//===- LowerCascadeToLinalg.cpp - einsum cascade to linalg.generic -------===//
//
// Every cascade op becomes one or a few linalg.generic ops on tensors; the
// anchors' normalisations carry their empty-row guards into the generic
// bodies. Bufferization and loop lowering are upstream passes.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNLOWERCASCADETOLINALG
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

using utils::IteratorType;

class Lowerer {
public:
  Lowerer(OpBuilder &b, Location loc) : b(b), loc(loc), cb(b, loc) {}

  /// An empty tensor of `ty` whose dynamic extents are read from `like` at
  /// the given (input, dim) sources.
  Value empty(RankedTensorType ty, ArrayRef<OpFoldResult> sizes) {
    return tensor::EmptyOp::create(b, loc, ty.getShape(), ty.getElementType(),
                                   cb.dynamicSizes(sizes));
  }
  Value filled(RankedTensorType ty, ArrayRef<OpFoldResult> sizes, double v) {
    Value init = empty(ty, sizes);
    Value c = cb.f(ty.getElementType(), v);
    return linalg::FillOp::create(b, loc, c, init).getResult(0);
  }
  SmallVector<OpFoldResult> sizesOf(Value t) {
    SmallVector<OpFoldResult> s;
    for (int64_t d = 0; d < cast<RankedTensorType>(t.getType()).getRank(); ++d)
      s.push_back(cb.dim(t, d));
    return s;
  }
  Value generic(Type resultTy, ValueRange ins, Value init,
                ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iters,
                function_ref<void(OpBuilder &, Location, ValueRange)> body) {
    return linalg::GenericOp::create(b, loc, TypeRange{resultTy}, ins,
                                     ValueRange{init}, maps, iters, body)
        .getResult(0);
  }
  /// Sum (or max) over the trailing `count` axes of `in`.
  Value reduce(Value in, ReduceKind kind, int64_t count, RankedTensorType outTy) {
    auto inTy = cast<RankedTensorType>(in.getType());
    int64_t rank = inTy.getRank();
    SmallVector<OpFoldResult> sizes = sizesOf(in);
    sizes.resize(rank - count);
    double init = kind == ReduceKind::sum ? 0.0 : -std::numeric_limits<double>::infinity();
    SmallVector<unsigned> lead;
    SmallVector<IteratorType> iters;
    for (unsigned d = 0; d < rank; ++d) {
      if (d < rank - count)
        lead.push_back(d);
      iters.push_back(d < rank - count ? IteratorType::parallel : IteratorType::reduction);
    }
    return generic(outTy, {in}, filled(outTy, sizes, init),
                   {b.getMultiDimIdentityMap(rank), projection(b.getContext(), rank, lead)},
                   iters, [&](OpBuilder &nb, Location nl, ValueRange a) {
                     Value r = kind == ReduceKind::sum
                                   ? arith::AddFOp::create(nb, nl, a[1], a[0]).getResult()
                                   : arith::MaximumFOp::create(nb, nl, a[1], a[0]).getResult();
                     linalg::YieldOp::create(nb, nl, r);
                   });
  }
  /// x / d, and 0 where d == 0 (an empty row or column).
  static Value guardedDiv(OpBuilder &nb, Location nl, Value x, Value d) {
    Value zero = arith::ConstantOp::create(nb, nl, nb.getFloatAttr(x.getType(), 0.0));
    Value isZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, d, zero);
    Value q = arith::DivFOp::create(nb, nl, x, d);
    return arith::SelectOp::create(nb, nl, isZero, zero, q);
  }

  Value lower(EinsumOp op);
  Value lower(MapOp op);
  Value lower(ReduceOp op) {
    return reduce(op.getInput(), op.getKind(), op.getCount(), op.getResult().getType());
  }
  Value lower(RowNormalizeOp op);
  Value lower(SinkhornOp op);
  Value lower(MergePartialsOp op);

private:
  OpBuilder &b;
  Location loc;
  CascadeBuilder cb;
};

Value Lowerer::lower(EinsumOp op) {
  SmallVector<AffineMap> maps(op.getIndexingMaps().getAsValueRange<AffineMapAttr>());
  AffineMap out = maps.back();
  SmallVector<IteratorType> iters(out.getNumDims(), IteratorType::reduction);
  SmallVector<OpFoldResult> sizes;
  for (AffineExpr e : out.getResults()) {
    unsigned dim = cast<AffineDimExpr>(e).getPosition();
    iters[dim] = IteratorType::parallel;
    // The extent of an output dim: any input axis indexed by that dim alone.
    OpFoldResult size;
    for (auto [in, map] : llvm::zip(op.getInputs(), maps))
      for (auto [r, re] : llvm::enumerate(map.getResults()))
        if (!size && re == e)
          size = cb.dim(in, r);
    if (!size) {
      // Not read by any input: only the static result type knows it.
      size = b.getIndexAttr(op.getResult().getType().getDimSize(sizes.size()));
    }
    sizes.push_back(size);
  }
  auto ty = op.getResult().getType();
  bool zeroWeights = op.getZeroWeights();
  return generic(ty, op.getInputs(), filled(ty, sizes, 0.0), maps, iters,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p = a[0];
                   for (size_t k = 1; k + 1 < a.size(); ++k)
                     p = arith::MulFOp::create(nb, nl, p, a[k]);
                   Value sum = arith::AddFOp::create(nb, nl, a.back(), p);
                   if (zeroWeights) {
                     Value zero = arith::ConstantOp::create(nb, nl, nb.getZeroAttr(a[0].getType()));
                     Value skip = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, a[0], zero);
                     sum = arith::SelectOp::create(nb, nl, skip, a.back(), sum);
                   }
                   linalg::YieldOp::create(nb, nl, sum);
                 });
}

Value Lowerer::lower(MapOp op) {
  auto ty = op.getResult().getType();
  int64_t rank = ty.getRank();
  Value init = tensor::EmptyOp::create(b, loc, ty.getShape(), ty.getElementType(),
                                       op.getSizes());
  SmallVector<AffineMap> maps(op.getIndexingMaps().getAsValueRange<AffineMapAttr>());
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  Block &body = op.getBody().front();
  return generic(ty, op.getInputs(), init, maps, iters,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   IRMapping mapping;
                   for (int64_t d = 0; d < rank; ++d)
                     mapping.map(body.getArgument(d), linalg::IndexOp::create(nb, nl, d).getResult());
                   for (size_t k = 0; k < op.getInputs().size(); ++k)
                     mapping.map(body.getArgument(rank + k), a[k]);
                   for (Operation &inner : body.without_terminator())
                     nb.clone(inner, mapping);
                   Value y = cast<YieldOp>(body.getTerminator()).getValues()[0];
                   linalg::YieldOp::create(nb, nl, mapping.lookupOrDefault(y));
                 });
}

Value Lowerer::lower(RowNormalizeOp op) {
  auto ty = op.getResult().getType();
  int64_t rank = ty.getRank();
  SmallVector<unsigned> lead;
  for (unsigned d = 0; d + 1 < rank; ++d)
    lead.push_back(d);
  return generic(ty, {op.getAcc(), op.getDenom()}, empty(ty, sizesOf(op.getAcc())),
                 {b.getMultiDimIdentityMap(rank), projection(b.getContext(), rank, lead),
                  b.getMultiDimIdentityMap(rank)},
                 SmallVector<IteratorType>(rank, IteratorType::parallel),
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   linalg::YieldOp::create(nb, nl, guardedDiv(nb, nl, a[0], a[1]));
                 });
}

Value Lowerer::lower(SinkhornOp op) {
  auto ty = cast<RankedTensorType>(op.getWeights().getType());
  int64_t rank = ty.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<unsigned> rowDims, colDims;
  for (unsigned d = 0; d < rank; ++d) {
    if (d != rank - 1)
      rowDims.push_back(d);
    if (d != rank - 2)
      colDims.push_back(d);
  }
  AffineMap rowMap = projection(ctx, rank, rowDims);
  AffineMap colMap = projection(ctx, rank, colDims);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IteratorType> par(rank, IteratorType::parallel);
  Value w = op.getWeights();
  auto normalise = [&](Value t, Value sums, AffineMap sumMap) {
    return generic(ty, {t, sums}, empty(ty, sizesOf(t)), {id, sumMap, id}, par,
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     linalg::YieldOp::create(nb, nl, guardedDiv(nb, nl, a[0], a[1]));
                   });
  };
  // One scf.for over the iterations (not unrolled: K may be large), the plan
  // carried as an iteration argument.
  Value zero = cb.idx(0), one = cb.idx(1), count = cb.idx((int64_t)op.getIterations());
  auto loop = scf::ForOp::create(b, loc, zero, count, one, ValueRange{w});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  w = loop.getRegionIterArgs()[0];
  {
    // Row sums over the last axis, column sums over the second to last.
    SmallVector<OpFoldResult> sizes = sizesOf(w);
    SmallVector<OpFoldResult> rowSizes(sizes.begin(), sizes.end() - 1);
    auto rowTy = RankedTensorType::get(ty.getShape().drop_back(), ty.getElementType());
    Value rows = reduce(w, ReduceKind::sum, 1, rowTy);
    w = normalise(w, rows, rowMap);
    SmallVector<OpFoldResult> colSizes;
    SmallVector<int64_t> colShape;
    for (unsigned d : colDims) {
      colSizes.push_back(sizes[d]);
      colShape.push_back(ty.getDimSize(d));
    }
    auto colTy = RankedTensorType::get(colShape, ty.getElementType());
    SmallVector<IteratorType> iters = par;
    iters[rank - 2] = IteratorType::reduction;
    Value cols = generic(colTy, {w}, filled(colTy, colSizes, 0.0), {id, colMap}, iters,
                         [&](OpBuilder &nb, Location nl, ValueRange a) {
                           linalg::YieldOp::create(nb, nl, arith::AddFOp::create(nb, nl, a[1], a[0]).getResult());
                         });
    w = normalise(w, cols, colMap);
  }
  scf::YieldOp::create(b, loc, ValueRange{w});
  return loop.getResult(0);
}

Value Lowerer::lower(MergePartialsOp op) {
  MLIRContext *ctx = b.getContext();
  auto mTy = cast<RankedTensorType>(op.getMax().getType());  // [B,H,Lq,N]
  Type elem = mTy.getElementType();
  auto rowTy = RankedTensorType::get(mTy.getShape().drop_back(), elem);
  Value gmax = reduce(op.getMax(), ReduceKind::max, 1, rowTy);
  // Each split's weight relative to the global maximum; an empty split
  // (max -inf) weighs 0.
  AffineMap id4 = b.getMultiDimIdentityMap(4);
  AffineMap row4 = projection(ctx, 4, {0, 1, 2});
  SmallVector<IteratorType> par4(4, IteratorType::parallel);
  Value factor = generic(mTy, {op.getMax(), gmax}, empty(mTy, sizesOf(op.getMax())),
                         {id4, row4, id4}, par4, [&](OpBuilder &nb, Location nl, ValueRange a) {
    Value ninf = arith::ConstantOp::create(nb, nl, nb.getFloatAttr(elem, -std::numeric_limits<double>::infinity()));
    Value zero = arith::ConstantOp::create(nb, nl, nb.getFloatAttr(elem, 0.0));
    Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, a[0], ninf);
    Value e = math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
    linalg::YieldOp::create(nb, nl, arith::SelectOp::create(nb, nl, empty, zero, e).getResult());
  });
  // L = sum_n l_n f_n
  SmallVector<OpFoldResult> mSizes = sizesOf(op.getMax());
  SmallVector<OpFoldResult> rowSizes(mSizes.begin(), mSizes.end() - 1);
  SmallVector<IteratorType> redLast = {IteratorType::parallel, IteratorType::parallel,
                                       IteratorType::parallel, IteratorType::reduction};
  Value total = generic(rowTy, {op.getSum(), factor}, filled(rowTy, rowSizes, 0.0),
                        {id4, id4, row4}, redLast, [&](OpBuilder &nb, Location nl, ValueRange a) {
    Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
    linalg::YieldOp::create(nb, nl, arith::AddFOp::create(nb, nl, a[2], p).getResult());
  });
  // O[b,h,i,e] = sum_n acc[b,h,i,n,e] f[b,h,i,n], iteration (b,h,i,e,n)
  auto outTy = op.getResult().getType();
  SmallVector<OpFoldResult> accSizes = sizesOf(op.getAcc());
  SmallVector<OpFoldResult> outSizes = {accSizes[0], accSizes[1], accSizes[2], accSizes[4]};
  Value o = generic(outTy, {op.getAcc(), factor}, filled(outTy, outSizes, 0.0),
                    {projection(ctx, 5, {0, 1, 2, 4, 3}), projection(ctx, 5, {0, 1, 2, 4}),
                     projection(ctx, 5, {0, 1, 2, 3})},
                    {IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
                     IteratorType::parallel, IteratorType::reduction},
                    [&](OpBuilder &nb, Location nl, ValueRange a) {
    Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
    linalg::YieldOp::create(nb, nl, arith::AddFOp::create(nb, nl, a[2], p).getResult());
  });
  return generic(outTy, {o, total}, empty(outTy, outSizes), {id4, row4, id4}, par4,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   linalg::YieldOp::create(nb, nl, guardedDiv(nb, nl, a[0], a[1]));
                 });
}

struct AttnLowerCascadeToLinalgPass
    : public attnc::impl::AttnLowerCascadeToLinalgBase<AttnLowerCascadeToLinalgPass> {
  void runOnOperation() override {
    SmallVector<Operation *> worklist;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *o) {
      if (isa<EinsumOp, MapOp, ReduceOp, RowNormalizeOp, SinkhornOp, MergePartialsOp>(o)) {
        worklist.push_back(o);
        return WalkResult::skip();
      }
      if (isa<AttentionOp, RopeOp, RowNormOp, PageGatherOp, PoolOp, SelectBlocksOp>(o)) {
        o->emitError("run attn-decompose before lowering the cascade");
        signalPassFailure();
      }
      return WalkResult::advance();
    });
    for (Operation *o : worklist) {
      OpBuilder b(o);
      Lowerer l(b, o->getLoc());
      Value r = llvm::TypeSwitch<Operation *, Value>(o)
                    .Case<EinsumOp, MapOp, ReduceOp, RowNormalizeOp, SinkhornOp,
                          MergePartialsOp>([&](auto op) { return l.lower(op); });
      o->getResult(0).replaceAllUsesWith(r);
      o->erase();
    }
  }
};

} // namespace
