//===- HoistInvariants.cpp - transcendental work hoisted out of broadcasts ===//
//
// A generic step runs a thread per element. Part of an element's work often
// depends on fewer loops than the step has: RoPE's angle, its cosine and
// sine depend on the position and the channel, not on the batch and head.
// This pass computes such a part once per point of the loops it depends on,
// in a generic op of its own, and the step reads it as an input broadcast
// over the other loops (64x fewer cosines for 4 x 16 batch x heads).
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/MapVector.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUHOISTINVARIANTS
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;

namespace {

/// The loops each body value depends on, and whether computing it involves
/// a transcendental function (worth a launch and a table to compute once).
struct BodyDeps {
  DenseMap<Value, llvm::BitVector> loops;
  DenseSet<Value> costly;
  llvm::BitVector all;
};

/// A math function with a range reduction or a series behind it (sin, exp,
/// pow ...); square roots, rounding and the like are a few instructions,
/// cheaper than a table's launch and reads.
bool isTranscendental(Operation *op) {
  return isa<math::MathDialect>(op->getDialect()) &&
         !isa<math::SqrtOp, math::RsqrtOp, math::AbsFOp, math::AbsIOp, math::CeilOp, math::FloorOp,
              math::RoundOp, math::RoundEvenOp, math::TruncOp, math::FmaOp, math::CopySignOp,
              math::CountLeadingZerosOp, math::CountTrailingZerosOp, math::CtPopOp, math::IsNaNOp,
              math::IsInfOp, math::IsFiniteOp>(op);
}

BodyDeps analyse(linalg::GenericOp g) {
  BodyDeps d;
  unsigned n = g.getNumLoops();
  d.all = llvm::BitVector(n, true);
  Block *body = g.getBody();
  for (OpOperand &operand : g->getOpOperands()) {
    llvm::BitVector used(n);
    AffineMap map = g.getMatchingIndexingMap(&operand);
    bool projected = g.isDpsInput(&operand) && map.isProjectedPermutation();
    for (AffineExpr e : map.getResults())
      if (auto dim = dyn_cast<AffineDimExpr>(e))
        used.set(dim.getPosition());
    d.loops[g.getMatchingBlockArgument(&operand)] = projected ? used : d.all;
  }
  auto depsOf = [&](Value v) {
    auto it = d.loops.find(v);
    // Values from above the op (constants, sizes, tables) vary with no loop.
    return it == d.loops.end() ? llvm::BitVector(n) : it->second;
  };
  for (Operation &op : body->without_terminator()) {
    llvm::BitVector deps(n);
    bool costly = isTranscendental(&op);
    if (auto index = dyn_cast<linalg::IndexOp>(op))
      deps.set(index.getDim());
    else if (op.getNumRegions() || !isMemoryEffectFree(&op))
      deps = d.all;
    for (Value v : op.getOperands()) {
      deps |= depsOf(v);
      costly |= d.costly.contains(v);
    }
    for (Value r : op.getResults()) {
      d.loops[r] = deps;
      if (costly)
        d.costly.insert(r);
    }
  }
  return d;
}

/// The values to hoist, grouped by the loops they depend on: costly scalars
/// of fewer loops than the op's, read by something that depends on all of
/// them (a costly scalar read only by other such scalars is computed in
/// their table).
llvm::MapVector<llvm::BitVector, SmallVector<Value>> frontier(linalg::GenericOp g, const BodyDeps &d) {
  auto hoistable = [&](Value v) {
    const llvm::BitVector &deps = d.loops.at(v);
    return d.costly.contains(v) && deps != d.all && deps.any() && v.getType().isIntOrFloat();
  };
  llvm::MapVector<llvm::BitVector, SmallVector<Value>> groups;
  for (Operation &op : g.getBody()->without_terminator())
    for (Value r : op.getResults()) {
      if (!hoistable(r))
        continue;
      bool readByAll = llvm::any_of(r.getUsers(), [&](Operation *user) {
        return user->getNumResults() != 1 || !hoistable(user->getResult(0));
      });
      if (readByAll)
        groups[d.loops.at(r)].push_back(r);
    }
  return groups;
}

/// One hoisted generic op over the loops `keep` computing `values` (cloned
/// from g's body, with the inputs they read); returns its results.
SmallVector<Value> buildTable(OpBuilder &b, linalg::GenericOp g, const llvm::BitVector &keep,
                              ArrayRef<Value> values, ArrayRef<Range> loopRanges) {
  Location loc = g.getLoc();
  MLIRContext *ctx = g.getContext();
  SmallVector<unsigned> kept(keep.set_bits_begin(), keep.set_bits_end());
  DenseMap<unsigned, unsigned> newDim;
  for (auto [i, d] : llvm::enumerate(kept))
    newDim[d] = i;
  // The op's inputs whose loops are all kept, re-indexed over the kept loops.
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  SmallVector<BlockArgument> readArgs;
  for (OpOperand *in : g.getDpsInputOperands()) {
    AffineMap m = g.getMatchingIndexingMap(in);
    if (!m.isProjectedPermutation() || !llvm::all_of(m.getResults(), [&](AffineExpr e) {
          return keep.test(cast<AffineDimExpr>(e).getPosition());
        }))
      continue;
    SmallVector<AffineExpr> exprs;
    for (AffineExpr e : m.getResults())
      exprs.push_back(getAffineDimExpr(newDim[cast<AffineDimExpr>(e).getPosition()], ctx));
    inputs.push_back(in->get());
    maps.push_back(AffineMap::get(kept.size(), 0, exprs, ctx));
    readArgs.push_back(g.getMatchingBlockArgument(in));
  }
  SmallVector<OpFoldResult> sizes;
  for (unsigned d : kept)
    sizes.push_back(loopRanges[d].size);
  SmallVector<Value> inits;
  SmallVector<Type> types;
  for (Value v : values) {
    inits.push_back(tensor::EmptyOp::create(b, loc, sizes, v.getType()));
    types.push_back(inits.back().getType());
    maps.push_back(AffineMap::getMultiDimIdentityMap(kept.size(), ctx));
  }
  SmallVector<utils::IteratorType> iters(kept.size(), utils::IteratorType::parallel);
  auto table = linalg::GenericOp::create(
      b, loc, types, inputs, inits, maps, iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        IRMapping map;
        for (auto [arg, from] : llvm::zip(args.take_front(readArgs.size()), readArgs))
          map.map(from, arg);
        // Clone, in body order, the ops the values need (their slice).
        SetVector<Operation *> slice;
        SmallVector<Value> work(values.begin(), values.end());
        while (!work.empty()) {
          Operation *def = work.pop_back_val().getDefiningOp();
          if (!def || def->getBlock() != g.getBody() || !slice.insert(def))
            continue;
          llvm::append_range(work, def->getOperands());
        }
        for (Operation &op : g.getBody()->without_terminator()) {
          if (!slice.contains(&op))
            continue;
          if (auto index = dyn_cast<linalg::IndexOp>(op)) {
            map.map(index.getResult(), linalg::IndexOp::create(nb, nl, newDim[index.getDim()]).getResult());
            continue;
          }
          nb.clone(op, map);
        }
        SmallVector<Value> yields;
        for (Value v : values)
          yields.push_back(map.lookup(v));
        linalg::YieldOp::create(nb, nl, yields);
      });
  return table.getResults();
}

/// g with `tables` as extra inputs indexed by their loops, and the hoisted
/// values read from them.
void readTables(linalg::GenericOp g, ArrayRef<std::pair<llvm::BitVector, SmallVector<Value>>> groups,
                ArrayRef<SmallVector<Value>> tables) {
  MLIRContext *ctx = g.getContext();
  unsigned n = g.getNumLoops();
  SmallVector<Value> inputs(g.getDpsInputs());
  SmallVector<AffineMap> maps;
  for (OpOperand *in : g.getDpsInputOperands())
    maps.push_back(g.getMatchingIndexingMap(in));
  unsigned firstNew = inputs.size();
  for (auto [group, results] : llvm::zip(groups, tables)) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : group.first.set_bits())
      exprs.push_back(getAffineDimExpr(d, ctx));
    for (Value t : results) {
      inputs.push_back(t);
      maps.push_back(AffineMap::get(n, 0, exprs, ctx));
    }
  }
  for (OpOperand &out : g.getDpsInitsMutable())
    maps.push_back(g.getMatchingIndexingMap(&out));
  OpBuilder b(g);
  auto fresh = linalg::GenericOp::create(b, g.getLoc(), g.getResultTypes(), inputs, g.getDpsInits(), maps,
                                         g.getIteratorTypesArray());
  fresh->setDiscardableAttrs(g->getDiscardableAttrDictionary());
  fresh.getRegion().takeBody(g.getRegion());
  Block *body = fresh.getBody();
  unsigned at = firstNew;
  for (auto [group, results] : llvm::zip(groups, tables))
    for (auto [v, t] : llvm::zip(group.second, results)) {
      BlockArgument arg = body->insertArgument(at++, cast<RankedTensorType>(t.getType()).getElementType(),
                                               g.getLoc());
      Value(v).replaceAllUsesWith(arg);
    }
  // What computed the hoisted values is dead now.
  SmallVector<Operation *> ops;
  for (Operation &op : body->without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isMemoryEffectFree(op) && op->use_empty())
      op->erase();
  g->replaceAllUsesWith(fresh->getResults());
  g->erase();
}

void hoist(linalg::GenericOp g) {
  // The loops' extents must follow from the operands' shapes (the table's
  // sizes are built from them).
  if (!g.hasPureTensorSemantics() || g.getNumReductionLoops() != 0 || !g.getShapesToLoopsMap())
    return;
  BodyDeps deps = analyse(g);
  auto groups = frontier(g, deps);
  // Loops of one iteration repeat nothing: a table over the others would
  // only add a launch.
  SmallVector<int64_t> extents = g.getStaticLoopRanges();
  groups.remove_if([&](const auto &group) {
    for (unsigned l = 0; l < extents.size(); ++l)
      if (!group.first.test(l) && extents[l] != 1)
        return false;
    return true;
  });
  if (groups.empty())
    return;
  OpBuilder b(g);
  SmallVector<Range> loopRanges = cast<linalg::LinalgOp>(g.getOperation()).createLoopRanges(b, g.getLoc());
  SmallVector<SmallVector<Value>> tables;
  for (auto &[keep, values] : groups)
    tables.push_back(buildTable(b, g, keep, values, loopRanges));
  readTables(g, groups.takeVector(), tables);
}

struct AttnGPUHoistInvariantsPass : public attnc::impl::AttnGPUHoistInvariantsBase<AttnGPUHoistInvariantsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp g) { ops.push_back(g); });
    for (linalg::GenericOp g : ops)
      hoist(g);
  }
};

} // namespace
