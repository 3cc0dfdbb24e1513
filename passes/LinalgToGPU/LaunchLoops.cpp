//===- LaunchLoops.cpp - host loops -> gpu.launch, a thread per iteration ===//
//
// The generic GPU path (GenericPipeline.cpp) lowers what the Hopper kernel
// does not compute (lets, output expressions, attentions it refuses) through
// linalg to parallel loops. This pass turns each top-level loop nest of a
// host function into a gpu.launch: a 1-D grid of 256-thread blocks, one
// thread per iteration of the iteration space (sized on the host where it
// is dynamic), reductions left to the thread's sequential inner loops. memref.copy becomes such a launch too,
// so that the host function is only allocations and launches.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include "llvm/Support/MathExtras.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPULAUNCHLOOPS
#define GEN_PASS_DEF_ATTNGPUUNROLLHOSTLOOPS
#define GEN_PASS_DEF_ATTNGPUFUSECASTS
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;

namespace {
constexpr int64_t kThreads = 256;

/// memref.copy as the equivalent parallel loop nest.
scf::ParallelOp copyAsLoops(memref::CopyOp copy) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
  auto rank = cast<MemRefType>(copy.getTarget().getType()).getRank();
  SmallVector<Value> lbs(rank, zero), steps(rank, one), ubs;
  for (int64_t d = 0; d < rank; ++d)
    ubs.push_back(getValueOrCreateConstantIndexOp(b, loc, memref::getMixedSize(b, loc, copy.getTarget(), d)));
  auto par = scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                                     [&](OpBuilder &nb, Location l, ValueRange ivs) {
                                       Value x = memref::LoadOp::create(nb, l, copy.getSource(), ivs);
                                       memref::StoreOp::create(nb, l, x, copy.getTarget(), ivs);
                                     });
  copy.erase();
  return par;
}

/// The trip counts of `par`'s loops: constants where the bounds are, else
/// index arithmetic on the host (its sizes read from the buffers' shapes).
/// Lower bounds and steps must be constant.
LogicalResult tripCounts(scf::ParallelOp par, OpBuilder &b, SmallVector<int64_t> &lb, SmallVector<int64_t> &step,
                         SmallVector<OpFoldResult> &trip) {
  Location loc = par.getLoc();
  for (auto [l, u, s] : llvm::zip(par.getLowerBound(), par.getUpperBound(), par.getStep())) {
    std::optional<int64_t> cl = getConstantIntValue(l), cu = getConstantIntValue(u), cs = getConstantIntValue(s);
    if (!cl || !cs || *cs <= 0)
      return par.emitOpError("generic GPU path: loop lower bounds and steps must be constants");
    lb.push_back(*cl), step.push_back(*cs);
    if (cu) {
      trip.push_back(b.getIndexAttr(*cu > *cl ? (*cu - *cl + *cs - 1) / *cs : 0));
      continue;
    }
    // max(u - l, 0) ceildiv s (u, a size, is never negative)
    Value span = u;
    if (*cl != 0) {
      span = arith::SubIOp::create(b, loc, u, arith::ConstantIndexOp::create(b, loc, *cl));
      span = arith::MaxSIOp::create(b, loc, span, arith::ConstantIndexOp::create(b, loc, 0));
    }
    if (*cs != 1)
      span = arith::CeilDivUIOp::create(b, loc, span, arith::ConstantIndexOp::create(b, loc, *cs));
    trip.push_back(span);
  }
  return success();
}

/// Scalars the kernel reads (constants, index math, sizes of buffers) are
/// recomputed in it, so that buffers are its only parameters. Unlike
/// sinkOperationsIntoLaunchOp, the size of a buffer the kernel does not
/// otherwise touch is sunk too (that buffer becomes a parameter), so that
/// every size the kernel needs comes from a buffer's shape.
void sinkScalars(gpu::LaunchOp launch) {
  Region &body = launch.getBody();
  auto sinkable = [](Operation *op) {
    return op && op->getNumRegions() == 0 && isMemoryEffectFree(op) &&
           llvm::none_of(op->getResultTypes(), [](Type t) { return isa<BaseMemRefType>(t); });
  };
  for (bool changed = true; changed;) {
    changed = false;
    SetVector<Value> above;
    getUsedValuesDefinedAbove(body, above);
    for (Value v : above) {
      Operation *def = v.getDefiningOp();
      if (!sinkable(def))
        continue;
      OpBuilder b = OpBuilder::atBlockBegin(&body.front());
      Operation *clone = b.clone(*def);
      for (auto [from, to] : llvm::zip(def->getResults(), clone->getResults()))
        replaceAllUsesInRegionWith(from, to, body);
      changed = true;
    }
  }
}

/// One loop nest -> gpu.launch; the body runs where the thread's linear
/// index is inside the iteration space. A dynamic space sizes the grid on
/// the host (the manifest turns that arithmetic into the launch's grid).
LogicalResult launch(scf::ParallelOp par) {
  if (par.getNumResults() != 0)
    return par.emitOpError("generic GPU path: parallel loops with reductions are not supported");
  OpBuilder b(par);
  Location loc = par.getLoc();
  SmallVector<int64_t> lb, step;
  SmallVector<OpFoldResult> trip;
  if (failed(tripCounts(par, b, lb, step, trip)))
    return failure();
  auto cst = [&](OpBuilder &ob, int64_t v) { return arith::ConstantIndexOp::create(ob, loc, v); };
  auto value = [&](OpBuilder &ob, OpFoldResult f) -> Value {
    if (auto v = dyn_cast<Value>(f))
      return v;
    return cst(ob, *getConstantIntValue(f));
  };
  // Static spaces are checked here; dynamic ones by the runtime's grid limit.
  std::optional<int64_t> staticTotal = 1;
  for (OpFoldResult t : trip) {
    std::optional<int64_t> n = getConstantIntValue(t);
    if (!n || !staticTotal)
      staticTotal = std::nullopt;
    else if (*n && *staticTotal > std::numeric_limits<int64_t>::max() / *n)
      return par.emitOpError("generic GPU path: the iteration space overflows 64 bits");
    else
      staticTotal = *staticTotal * *n;
  }
  if (staticTotal == 0)
    return par.erase(), success();
  if (staticTotal && llvm::divideCeil(*staticTotal, kThreads) > std::numeric_limits<int32_t>::max())
    return par.emitOpError() << "generic GPU path: " << *staticTotal
                             << " iterations exceed the grid (2^31 - 1 blocks of " << kThreads << ")";
  Value total = value(b, trip.front());
  for (OpFoldResult t : ArrayRef(trip).drop_front())
    total = arith::MulIOp::create(b, loc, total, value(b, t));
  Value blocks = staticTotal ? cst(b, llvm::divideCeil(*staticTotal, kThreads)).getResult()
                             : arith::DivUIOp::create(b, loc, arith::AddIOp::create(b, loc, total, cst(b, kThreads - 1)),
                                                      cst(b, kThreads))
                                   .getResult();
  Value one = cst(b, 1);
  auto gl = gpu::LaunchOp::create(b, loc, blocks, one, one, cst(b, kThreads), one, one);
  OpBuilder kb = OpBuilder::atBlockBegin(&gl.getBody().front());
  Value id = arith::AddIOp::create(
      kb, loc, arith::MulIOp::create(kb, loc, gl.getBlockIds().x, cst(kb, kThreads)), gl.getThreadIds().x);
  Value inside = arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::ult, id, total);
  auto guard = scf::IfOp::create(kb, loc, inside, /*withElseRegion=*/false);
  gpu::TerminatorOp::create(kb, loc);
  OpBuilder ib = guard.getThenBodyBuilder();
  // Row-major delinearisation: the innermost loop varies fastest, so
  // neighbouring threads touch neighbouring elements.
  SmallVector<Value> ivs(trip.size());
  Value rest = id;
  for (int64_t d = (int64_t)trip.size() - 1; d >= 0; --d) {
    Value n = value(ib, trip[d]);
    Value idx = d ? arith::RemUIOp::create(ib, loc, rest, n).getResult() : rest;
    if (d)
      rest = arith::DivUIOp::create(ib, loc, rest, n);
    ivs[d] = arith::AddIOp::create(ib, loc, cst(ib, lb[d]), arith::MulIOp::create(ib, loc, idx, cst(ib, step[d])));
  }
  IRMapping map;
  map.map(par.getInductionVars(), ivs);
  for (Operation &op : par.getBody()->without_terminator())
    ib.clone(op, map);
  par.erase();
  sinkScalars(gl);
  return success();
}

struct AttnGPULaunchLoopsPass : public attnc::impl::AttnGPULaunchLoopsBase<AttnGPULaunchLoopsPass> {
  /// Also what gpu-module-to-binary needs later in the same pipeline (LLVM
  /// IR translations, the NVVM target), as attn-gpu-build-tile-kernel does.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerLLVMDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
    registerGPUDialectTranslation(registry);
    NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  }

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    SmallVector<Operation *> work;
    for (Operation &op : fn.getBody().getOps()) {
      if (isa<scf::ParallelOp, memref::CopyOp>(op))
        work.push_back(&op);
      else if (op.getNumRegions() && !isa<gpu::LaunchOp>(op)) {
        op.emitOpError("generic GPU path: host code must be straight-line allocations and loop "
                       "nests (a loop around them, as Sinkhorn's iterations, is not supported)");
        return signalPassFailure();
      }
    }
    for (Operation *op : work) {
      scf::ParallelOp par = dyn_cast<scf::ParallelOp>(op);
      if (auto copy = dyn_cast<memref::CopyOp>(op))
        par = copyAsLoops(copy);
      if (failed(launch(par)))
        return signalPassFailure();
    }
  }
};

struct AttnGPUUnrollHostLoopsPass
    : public attnc::impl::AttnGPUUnrollHostLoopsBase<AttnGPUUnrollHostLoopsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.isExternal())
      return;
    SmallVector<scf::ForOp> loops(fn.getBody().getOps<scf::ForOp>());
    for (scf::ForOp loop : loops) {
      std::optional<int64_t> n = loop.getStaticTripCount() ? std::optional<int64_t>(
                                                                 loop.getStaticTripCount()->getSExtValue())
                                                           : std::nullopt;
      if (!n || *n > 256) {
        loop.emitOpError("generic GPU path: a host loop needs a static trip count of at most 256");
        return signalPassFailure();
      }
      if (failed(loopUnrollFull(loop)))
        return signalPassFailure();
    }
  }
};

struct AttnGPUFuseCastsPass : public attnc::impl::AttnGPUFuseCastsBase<AttnGPUFuseCastsPass> {
  /// A linalg.generic whose body only converts its one input.
  static bool isCast(Operation *op) {
    auto g = dyn_cast_or_null<linalg::GenericOp>(op);
    if (!g || g.getNumDpsInputs() != 1 || g.getNumResults() != 1)
      return false;
    Block *body = g.getBody();
    return llvm::hasSingleElement(body->without_terminator()) &&
           isa<arith::ExtFOp, arith::TruncFOp, arith::ExtSIOp, arith::SIToFPOp>(body->front());
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::ControlFusionFn control = [](OpOperand *use) {
      Operation *producer = use->get().getDefiningOp();
      return producer && (producer->hasOneUse() || isCast(producer));
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
