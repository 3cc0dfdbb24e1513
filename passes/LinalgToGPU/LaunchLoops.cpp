//===- LaunchLoops.cpp - host loops -> gpu.launch, a thread per iteration ===//
//
// The generic GPU path (GenericPipeline.cpp) lowers what the Hopper kernel
// does not compute (lets, output expressions, attentions it refuses) through
// linalg to parallel loops. This pass turns each top-level loop nest of a
// host function into a gpu.launch: 256-thread blocks over the iteration
// space (sized on the host where it is dynamic), each thread taking a few
// iterations a grid apart (where every block has its full share of an
// elementwise nest: four iterations, all loads before any store, so that
// they are in flight together), reductions left to the thread's sequential
// inner loops with the accumulator in a register; a reduction along rows that
// neighbouring threads would read with a stride (rmsnorm's sum of squares)
// gets a warp per iteration instead. memref.copy becomes such a launch too,
// so that the host function is only allocations and launches.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

#include "llvm/ADT/SmallPtrSet.h"
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
/// Iterations per thread of an elementwise nest (a grid-stride loop): a
/// thread's set-up (its buffers' descriptors, the outer loops' offsets) is
/// shared by several elements; neighbouring threads still take neighbouring
/// iterations. A nest with inner loops (reductions) has work enough per
/// iteration and often few iterations (a column sum's columns): one each.
constexpr int64_t kPerThread = 4;

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

/// A reduction that a loop nest carries through memory, as linalg lowers
/// one: the parallel body is one scf.for whose body loads out[I], combines it
/// with the iteration's value and stores it back to out[I].
struct MemoryReduction {
  scf::ForOp loop;
  memref::LoadOp acc;
  memref::StoreOp store;
  Operation *combiner = nullptr;
  /// A buffer's row is walked by the loop while neighbouring iterations of
  /// the nest read different rows: a thread per iteration would read with
  /// a stride of a row, a warp's lanes read the row together. Needs a
  /// 32-bit type (the lanes' shuffles).
  bool warp = false;
};

/// Whether index `v` is computed from `iv` (index arithmetic a few ops deep).
bool dependsOn(Value v, Value iv, int depth = 4) {
  if (v == iv)
    return true;
  Operation *def = v.getDefiningOp();
  return def && depth > 0 && isMemoryEffectFree(def) &&
         llvm::any_of(def->getOperands(), [&](Value o) { return dependsOn(o, iv, depth - 1); });
}

/// `par` as a reduction whose accumulator can live in registers: the
/// combiner has a neutral element (sum, product, max, min ...) and nothing
/// else in the loop touches the output.
std::optional<MemoryReduction> matchMemoryReduction(scf::ParallelOp par) {
  MemoryReduction r;
  for (Operation &op : par.getBody()->without_terminator()) {
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      if (r.loop)
        return std::nullopt;
      r.loop = loop;
    } else if (op.getNumRegions() || !isMemoryEffectFree(&op)) {
      return std::nullopt;
    }
  }
  if (!r.loop || r.loop.getNumResults())
    return std::nullopt;
  Block *body = r.loop.getBody();
  for (Operation &op : body->without_terminator()) {
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      if (r.store)
        return std::nullopt;
      r.store = store;
    } else if (op.getNumRegions() || (!isa<memref::LoadOp>(op) && !isMemoryEffectFree(&op))) {
      return std::nullopt;
    }
  }
  if (!r.store || !llvm::all_of(r.store.getIndices(), [&](Value i) { return r.loop.isDefinedOutsideOfLoop(i); }))
    return std::nullopt;
  r.combiner = r.store.getValueToStore().getDefiningOp();
  if (!r.combiner || r.combiner->getBlock() != body || r.combiner->getNumOperands() != 2 ||
      !r.combiner->hasOneUse() || !arith::getNeutralElement(r.combiner))
    return std::nullopt;
  Type type = r.combiner->getResult(0).getType();
  if (!type.isIntOrFloat())
    return std::nullopt;
  Value iv = r.loop.getInductionVar(), inner = par.getInductionVars().back();
  bool stridedRows = false;
  for (auto load : body->getOps<memref::LoadOp>()) {
    if (load.getMemRef() == r.store.getMemRef()) {
      // The accumulator, read only by the combiner; any other read of the
      // output buffer inside the loop would see partial sums.
      if (r.acc || load.getIndices() != r.store.getIndices() || !load->hasOneUse() ||
          *load->user_begin() != r.combiner)
        return std::nullopt;
      r.acc = load;
      continue;
    }
    ValueRange idx = load.getIndices();
    if (!idx.empty() && dependsOn(idx.back(), iv) &&
        llvm::any_of(idx.drop_back(), [&](Value i) { return dependsOn(i, inner); }))
      stridedRows = true;
  }
  if (!r.acc)
    return std::nullopt;
  r.warp = stridedRows && type.getIntOrFloatBitWidth() == 32;
  return r;
}

/// The reduction loop of `r` with its accumulator in a register, the output
/// read and written once. With a lane (r.warp), split over a warp: lane l
/// takes iterations l, l + 32, ..., the lanes combine by butterfly shuffles
/// and lane 0 writes.
void emitRegisterReduction(OpBuilder &b, Location loc, MemoryReduction r, IRMapping &map, Value lane) {
  const int64_t lanes = r.warp ? 32 : 1;
  auto cst = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value lb = map.lookupOrDefault(r.loop.getLowerBound()), ub = map.lookupOrDefault(r.loop.getUpperBound());
  Value step = map.lookupOrDefault(r.loop.getStep());
  Value start = r.warp ? arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, lane, step)) : lb;
  Value stride = r.warp ? arith::MulIOp::create(b, loc, step, cst(lanes)) : step;
  Value neutral = arith::ConstantOp::create(b, loc, *arith::getNeutralElement(r.combiner));
  unsigned accPos = r.combiner->getOperand(0) == r.acc.getResult() ? 0 : 1;
  // The combiner applied to (partial, x): the accumulator's operand mapped.
  auto combine = [&](OpBuilder &cb, IRMapping &m, Value partial) {
    m.map(r.acc.getResult(), partial);
    return cb.clone(*r.combiner, m)->getResult(0);
  };
  auto part = scf::ForOp::create(b, loc, start, ub, stride, ValueRange{neutral},
                                 [&](OpBuilder &fb, Location fl, Value iv, ValueRange args) {
    IRMapping m = map;
    m.map(r.loop.getInductionVar(), iv);
    Value combined;
    for (Operation &op : r.loop.getBody()->without_terminator()) {
      if (&op == r.acc.getOperation() || &op == r.store.getOperation())
        continue;
      if (&op == r.combiner)
        combined = combine(fb, m, args[0]);
      else
        fb.clone(op, m);
    }
    scf::YieldOp::create(fb, fl, combined);
  });
  Value total = part.getResult(0);
  for (int32_t offset = lanes / 2; offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, loc, total, offset, lanes, gpu::ShuffleMode::XOR).getShuffleResult();
    IRMapping m;
    m.map(r.combiner->getOperand(1 - accPos), other);
    total = combine(b, m, total);
  }
  OpBuilder wb = b;
  if (r.warp) {
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, cst(0));
    wb = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false).getThenBodyBuilder();
  }
  IRMapping m = map;
  Value old = wb.clone(*r.acc, m)->getResult(0);
  m.map(r.combiner->getOperand(1 - accPos), total);
  m.map(r.acc.getResult(), old);
  m.map(r.store.getValueToStore(), wb.clone(*r.combiner, m)->getResult(0));
  wb.clone(*r.store, m);
}

/// Whether the loop body only reads memory, computes, and stores at its
/// end (no store is read back within the body): its stores can then wait
/// for the loads of the thread's other iterations.
bool loadsThenStores(scf::ParallelOp par) {
  bool stored = false;
  for (Operation &op : par.getBody()->without_terminator()) {
    if (isa<memref::StoreOp>(op)) {
      stored = true;
      continue;
    }
    if (stored || op.getNumRegions() != 0)
      return false;
    if (!isa<memref::LoadOp>(op) && !isMemoryEffectFree(&op))
      return false;
  }
  return true;
}

/// The body of `par` once per iteration in `iterations` (its induction
/// variables) in three rounds over the iterations: the loads with what
/// their indices need, then the rest of the math, then the stores
/// (loadsThenStores), so that no load waits behind another iteration's math.
void cloneLoadsFirst(OpBuilder &b, scf::ParallelOp par, ArrayRef<SmallVector<Value>> iterations) {
  Block *body = par.getBody();
  llvm::SmallPtrSet<Operation *, 16> feedsLoad;
  for (Operation &op : llvm::reverse(body->without_terminator()))
    if (isa<memref::LoadOp>(op) || feedsLoad.contains(&op))
      for (Value x : op.getOperands())
        if (Operation *def = x.getDefiningOp(); def && def->getBlock() == body)
          feedsLoad.insert(def);
  auto round = [&](Operation &op) {
    if (isa<memref::LoadOp>(op) || feedsLoad.contains(&op))
      return 0;
    return isa<memref::StoreOp>(op) ? 2 : 1;
  };
  SmallVector<IRMapping> maps(iterations.size());
  for (auto [map, ivs] : llvm::zip(maps, iterations))
    map.map(par.getInductionVars(), ArrayRef(ivs).take_front(par.getNumLoops()));
  for (int r = 0; r < 3; ++r)
    for (IRMapping &map : maps)
      for (Operation &op : body->without_terminator())
        if (round(op) == r)
          b.clone(op, map);
}

/// One loop nest -> gpu.launch; each thread runs the body for the linear
/// indices id, id + grid, ... inside the iteration space. A dynamic space
/// sizes the grid on the host (the manifest turns that arithmetic into the
/// launch's grid).
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
  // A reduction's accumulator in a register; along a row, a warp per
  // iteration, its lane as an innermost loop.
  std::optional<MemoryReduction> reduction = matchMemoryReduction(par);
  if (reduction && reduction->warp) {
    trip.push_back(b.getIndexAttr(32));
    lb.push_back(0);
    step.push_back(1);
  }
  // The outer one or two loops go to the grid's z and y (each block loops
  // over them when they exceed the 65535 blocks an axis allows), the rest to
  // x: a thread then delinearises only the inner loops, so that no division
  // by a run-time size is left per element where the outer sizes are the
  // run-time ones (batch, heads). An outer loop stays in x where the inner
  // ones are too few to fill a block.
  int64_t outer = std::min<int64_t>(2, (int64_t)trip.size() - 1);
  auto innerVolume = [&](int64_t k) -> std::optional<int64_t> {
    int64_t v = 1;
    for (OpFoldResult t : ArrayRef(trip).drop_front(k)) {
      std::optional<int64_t> n = getConstantIntValue(t);
      if (!n)
        return std::nullopt;
      v *= *n;
    }
    return v;
  };
  while (outer > 0 && innerVolume(outer) && *innerVolume(outer) < kThreads)
    --outer;
  std::optional<int64_t> innerStatic = innerVolume(outer);
  if (innerStatic && llvm::divideCeil(*innerStatic, kThreads) > std::numeric_limits<int32_t>::max())
    return par.emitOpError() << "generic GPU path: " << *innerStatic
                             << " iterations of the inner loops exceed the grid (2^31 - 1 blocks of " << kThreads << ")";
  Value total = value(b, trip[outer]);
  for (OpFoldResult t : ArrayRef(trip).drop_front(outer + 1))
    total = arith::MulIOp::create(b, loc, total, value(b, t));
  bool elementwise = llvm::none_of(par.getBody()->getOperations(),
                                   [](Operation &op) { return op.getNumRegions() != 0; });
  const int64_t kSpan = kThreads * (elementwise ? kPerThread : 1);
  Value blocks = innerStatic ? cst(b, llvm::divideCeil(*innerStatic, kSpan)).getResult()
                             : arith::DivUIOp::create(b, loc, arith::AddIOp::create(b, loc, total, cst(b, kSpan - 1)),
                                                      cst(b, kSpan))
                                   .getResult();
  constexpr int64_t kMaxYZ = 65535;
  auto axisBlocks = [&](OpFoldResult t) -> Value {
    if (std::optional<int64_t> n = getConstantIntValue(t))
      return cst(b, std::clamp<int64_t>(*n, 1, kMaxYZ));
    return arith::MaxUIOp::create(b, loc, arith::MinUIOp::create(b, loc, value(b, t), cst(b, kMaxYZ)), cst(b, 1));
  };
  Value one = cst(b, 1);
  Value gridY = outer >= 1 ? axisBlocks(trip[outer - 1]) : one;
  Value gridZ = outer == 2 ? axisBlocks(trip[0]) : one;
  auto gl = gpu::LaunchOp::create(b, loc, blocks, gridY, gridZ, cst(b, kThreads), one, one);
  OpBuilder kb = OpBuilder::atBlockBegin(&gl.getBody().front());
  gpu::TerminatorOp::create(kb, loc);
  kb.setInsertionPointToStart(&gl.getBody().front());
  // Outer loop d over blocks along `axis`: blockIdx, stepping by the grid
  // where the trip count may exceed an axis (a single pass where it cannot).
  SmallVector<Value> ivs(trip.size());
  auto outerLoop = [&](int64_t d, Value blockId, Value gridSize) {
    std::optional<int64_t> n = getConstantIntValue(trip[d]);
    Value iv = blockId;
    if (!n || *n > kMaxYZ) {
      auto loop = scf::ForOp::create(kb, loc, blockId, value(kb, trip[d]), gridSize);
      kb.setInsertionPointToStart(loop.getBody());
      iv = loop.getInductionVar();
    }
    ivs[d] = arith::AddIOp::create(kb, loc, cst(kb, lb[d]), arith::MulIOp::create(kb, loc, iv, cst(kb, step[d])));
  };
  if (outer == 2)
    outerLoop(0, gl.getBlockIds().z, gl.getGridSize().z);
  if (outer >= 1)
    outerLoop(outer - 1, gl.getBlockIds().y, gl.getGridSize().y);
  // Row-major delinearisation of the inner loops: the innermost varies
  // fastest, so that neighbouring threads touch neighbouring elements.
  auto delinearize = [&](OpBuilder &ob, Value rest, SmallVector<Value> &at) {
    for (int64_t d = (int64_t)trip.size() - 1; d >= outer; --d) {
      Value n = value(ob, trip[d]);
      Value idx = d > outer ? arith::RemUIOp::create(ob, loc, rest, n).getResult() : rest;
      if (d > outer)
        rest = arith::DivUIOp::create(ob, loc, rest, n);
      at[d] = arith::AddIOp::create(ob, loc, cst(ob, lb[d]), arith::MulIOp::create(ob, loc, idx, cst(ob, step[d])));
    }
  };
  Value tid = gl.getThreadIds().x;
  if (elementwise && innerStatic && *innerStatic % kSpan == 0 && loadsThenStores(par)) {
    // Every block has kSpan iterations: no loop and no bounds. The thread's
    // loads of all its iterations come before its stores (the iterations
    // are independent), so that kPerThread loads are in flight at once: a
    // loop of load-compute-store keeps one, and 2-byte elements then reach
    // about a third of the memory's bandwidth (bench/NOTES.md).
    Value first = arith::AddIOp::create(
        kb, loc, arith::MulIOp::create(kb, loc, gl.getBlockIds().x, cst(kb, kSpan)), tid);
    SmallVector<SmallVector<Value>> iterations(kPerThread, ivs);
    for (int64_t k = 0; k < kPerThread; ++k)
      delinearize(kb, arith::AddIOp::create(kb, loc, first, cst(kb, k * kThreads)), iterations[k]);
    cloneLoadsFirst(kb, par, iterations);
    par.erase();
    sinkScalars(gl);
    return success();
  }
  Value id = arith::AddIOp::create(
      kb, loc, arith::MulIOp::create(kb, loc, gl.getBlockIds().x, cst(kb, kThreads)), tid);
  Value gridStride = arith::MulIOp::create(kb, loc, gl.getGridSize().x, cst(kb, kThreads));
  auto strideLoop = scf::ForOp::create(kb, loc, id, total, gridStride);
  OpBuilder ib = OpBuilder::atBlockBegin(strideLoop.getBody());
  delinearize(ib, strideLoop.getInductionVar(), ivs);
  IRMapping map;
  map.map(par.getInductionVars(), ArrayRef(ivs).take_front(par.getNumLoops()));
  for (Operation &op : par.getBody()->without_terminator()) {
    if (reduction && &op == reduction->loop.getOperation())
      emitRegisterReduction(ib, loc, *reduction, map, reduction->warp ? ivs.back() : Value());
    else
      ib.clone(op, map);
  }
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

  /// A gather (tensor.extract, as RoPE's partner element) of a cast's
  /// result reads the cast's operand and converts the one element instead:
  /// elementwise fusion only sees the consumer's indexing maps, so without
  /// this a let that gathers keeps a whole f32 copy of its input.
  struct ExtractOfCast : OpRewritePattern<tensor::ExtractOp> {
    using OpRewritePattern::OpRewritePattern;
    LogicalResult matchAndRewrite(tensor::ExtractOp op, PatternRewriter &rewriter) const override {
      auto cast = op.getTensor().getDefiningOp<linalg::GenericOp>();
      if (!isCast(cast) || !llvm::all_of(cast.getIndexingMapsArray(),
                                         [](AffineMap m) { return m.isIdentity(); }))
        return failure();
      Value source = cast.getDpsInputOperand(0)->get();
      Value element = tensor::ExtractOp::create(rewriter, op.getLoc(), source, op.getIndices());
      Operation &convert = cast.getBody()->front();
      IRMapping map;
      map.map(cast.getBody()->getArgument(0), element);
      rewriter.replaceOp(op, rewriter.clone(convert, map)->getResults());
      return success();
    }
  };

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExtractOfCast>(&getContext());
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
