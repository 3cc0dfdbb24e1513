//===- PartitionProgram.cpp - a variant function as a program of steps ---===//
//
// The first stage of the GPU path. Each tensor-valued op of a variant
// function becomes a step: a private function holding that op, called from
// the variant function, which is left as the program (calls in order). An
// attention that the Hopper kernel computes (checkKernelSupport) becomes a
// "kernel" step, named after the kernel it will be; everything else (lets,
// output expressions, attentions the kernel refuses) becomes a "generic"
// step that runs in f32 (16-bit inputs extended, results truncated, as the
// CPU reference computes) through linalg and parallel loops
// (passes/LinalgToGPU). Hosts read the program to launch the steps in order.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/GPUPasses.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "KernelPlan.h"
#include "attnc/Analysis/CarrierLowering.h"

#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUPARTITIONPROGRAM
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;

namespace {
bool isTensor(Value v) { return isa<RankedTensorType>(v.getType()); }

bool is16BitFloat(Type t) { return t.isBF16() || t.isF16(); }

/// Why the Hopper kernel refuses `op`, or "" when it computes it.
std::string kernelRefusal(attn::AttentionOp op, const AttnGPUPlanKernelOptions &options) {
  std::string why;
  ScopedDiagnosticHandler capture(op.getContext(), [&](Diagnostic &d) {
    if (why.empty())
      why = d.str();
    return success();
  });
  if (succeeded(attnc::gpu::planKernel(op, options)))
    return "";
  StringRef text = why;
  text.consume_front("'attn.attention' op ");
  text.consume_front("GPU kernel: ");
  return text.empty() ? "the Hopper kernel refuses it" : text.str();
}

/// The arguments of a step's function whose contents it never reads, only
/// their sizes (tensor.dim, through the f32 extension of a 16-bit tensor):
/// a mask's classification takes q for its length. The program marks them
/// so that the runtime can keep the step's results per dims.
SmallVector<int64_t> shapeOnlyArguments(func::FuncOp callee) {
  auto onlyDims = [](Value v) { return llvm::all_of(v.getUsers(), [](Operation *u) { return isa<tensor::DimOp>(u); }); };
  SmallVector<int64_t> out;
  for (BlockArgument a : callee.getArguments())
    if (!a.use_empty() && llvm::all_of(a.getUsers(), [&](Operation *u) {
          return isa<tensor::DimOp>(u) || (isa<arith::ExtFOp>(u) && onlyDims(u->getResult(0)));
        }))
      out.push_back(a.getArgNumber());
  return out;
}

/// The callee of one step: `op` and the scalar values it needs, over the
/// tensors it reads (operands and values its regions capture).
class StepBuilder {
public:
  StepBuilder(func::FuncOp program, Operation *op) : program(program), op(op) {}

  FailureOr<func::FuncOp> build(StringRef name, bool promote) {
    SetVector<Value> reads;
    for (Value v : op->getOperands())
      reads.insert(v);
    getUsedValuesDefinedAbove(op->getRegions(), reads);
    // And the tensors the scalars it reads are computed from (`a / Lk`: the
    // extent of an input).
    for (size_t i = 0; i < reads.size(); ++i)
      if (Operation *def = isTensor(reads[i]) ? nullptr : reads[i].getDefiningOp())
        for (Value o : def->getOperands())
          reads.insert(o);
    SmallVector<Type> argTypes;
    for (Value v : reads)
      if (isTensor(v)) {
        tensorArgs.push_back(v);
        argTypes.push_back(v.getType());
      }
    OpBuilder mb(program);
    auto fnType = FunctionType::get(op->getContext(), argTypes, op->getResultTypes());
    callee = func::FuncOp::create(mb, op->getLoc(), name, fnType);
    callee.setPrivate();
    OpBuilder b = OpBuilder::atBlockBegin(callee.addEntryBlock());
    for (auto [v, arg] : llvm::zip(tensorArgs, callee.getArguments())) {
      auto t = cast<RankedTensorType>(v.getType());
      Value in = arg;
      if (promote && is16BitFloat(t.getElementType()))
        in = arith::ExtFOp::create(b, op->getLoc(), t.clone(b.getF32Type()), arg);
      map.map(v, in);
    }
    for (Value v : reads)
      if (!isTensor(v) && failed(materialize(b, v)))
        return failure();
    Operation *clone = b.clone(*op, map);
    if (promote)
      promoteToF32(clone);
    SmallVector<Value> results;
    for (auto [r, t] : llvm::zip(clone->getResults(), op->getResultTypes()))
      results.push_back(r.getType() == t ? r
                                         : arith::TruncFOp::create(b, op->getLoc(), t, r).getResult());
    func::ReturnOp::create(b, op->getLoc(), results);
    return callee;
  }

  ArrayRef<Value> arguments() const { return tensorArgs; }

private:
  /// Clones the pure scalar computation of `v` (constants, index math).
  LogicalResult materialize(OpBuilder &b, Value v) {
    if (map.contains(v))
      return success();
    Operation *def = v.getDefiningOp();
    // A static extent of a tensor the step does not read (`a / Lk`).
    if (auto dim = dyn_cast_or_null<tensor::DimOp>(def))
      if (std::optional<int64_t> d = dim.getConstantIndex()) {
        auto t = cast<RankedTensorType>(dim.getSource().getType());
        if (!t.isDynamicDim(*d)) {
          map.map(v, arith::ConstantIndexOp::create(b, dim.getLoc(), t.getDimSize(*d)).getResult());
          return success();
        }
      }
    if (!def || def->getNumRegions() || !isMemoryEffectFree(def))
      return op->emitOpError("GPU program: a step reads a scalar the program cannot recompute"),
             failure();
    for (Value o : def->getOperands())
      if (isTensor(o) ? !map.contains(o) : failed(materialize(b, o)))
        return op->emitOpError("GPU program: a scalar of a step depends on another tensor"), failure();
    b.clone(*def, map);
    return success();
  }

  /// Computes in f32 what the spec computes on 16-bit floats: every 16-bit
  /// type in the step (tensors, scalars, block arguments) becomes f32, and
  /// the conversions this leaves as no-ops go.
  static void promoteToF32(Operation *root) {
    MLIRContext *ctx = root->getContext();
    AttrTypeReplacer replacer;
    replacer.addReplacement([&](FloatType t) -> std::optional<Type> {
      if (is16BitFloat(t))
        return Float32Type::get(ctx);
      return std::nullopt;
    });
    replacer.recursivelyReplaceElementsIn(root, /*replaceAttrs=*/false, /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
    SmallVector<Operation *> noOps;
    root->walk([&](Operation *o) {
      if (isa<arith::ExtFOp, arith::TruncFOp>(o) && o->getOperand(0).getType() == o->getResult(0).getType())
        noOps.push_back(o);
      if (auto c = dyn_cast<arith::ConstantOp>(o))
        if (auto f = dyn_cast<FloatAttr>(c.getValue()); f && f.getType() != c.getType()) {
          bool lost = false;
          APFloat x = f.getValue();
          x.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
          c.setValueAttr(FloatAttr::get(c.getType(), x));
        }
    });
    for (Operation *o : noOps) {
      o->getResult(0).replaceAllUsesWith(o->getOperand(0));
      o->erase();
    }
  }

  func::FuncOp program, callee;
  Operation *op;
  SmallVector<Value> tensorArgs;
  IRMapping map;
};

struct AttnGPUPartitionProgramPass
    : public attnc::impl::AttnGPUPartitionProgramBase<AttnGPUPartitionProgramPass> {
  using Base::Base;

  /// The carriers' tile-level models (the kernel's plan reads the tile
  /// schedule to decide whether it computes an attention).
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    attnc::registerCarrierLoweringExternalModels(registry);
  }

  LogicalResult partition(func::FuncOp fn) {
    MLIRContext *ctx = fn.getContext();
    // Ops whose results nothing reads go first, last to first, so that an op
    // read only by a dead one goes too.
    SmallVector<Operation *> all;
    for (Operation &op : fn.getBody().getOps())
      all.push_back(&op);
    for (Operation *op : llvm::reverse(all))
      if (isa<attn::AttnDialect>(op->getDialect()) && op->getNumResults() && op->use_empty())
        op->erase();
    SmallVector<Operation *> steps;
    int64_t attentions = 0;
    for (Operation &op : fn.getBody().getOps()) {
      if (isa<attn::AttentionOp>(op))
        ++attentions;
      if (op.getNumResults() && llvm::any_of(op.getResults(), isTensor) &&
          isa<attn::AttnDialect>(op.getDialect()))
        steps.push_back(&op);
    }
    int64_t kernelIndex = 0, genericIndex = 0;
    for (Operation *op : steps) {
      // A pass that adds a step of its own names it (attn-summarize-mask-tables).
      auto given = op->getAttrOfType<StringAttr>(kStepReasonAttr);
      std::string reason = given ? given.str()
                           : isa<attn::SelectBlocksOp>(op)
                               ? "the estimation stage of a block_select carrier"
                               : "a let or an output expression",
                  kernel;
      if (auto att = dyn_cast<attn::AttentionOp>(op)) {
        // Kernels keep the names they have without steps: <fn>_kernel, or
        // <fn>_kernel<k> by the attention's position.
        AttnGPUPlanKernelOptions o;
        o.decode = decode, o.blockN = blockN;
        reason = kernelRefusal(att, o);
        kernel = (fn.getSymName() + "_kernel").str();
        if (attentions > 1)
          kernel += std::to_string(kernelIndex);
        ++kernelIndex;
        if (reason.empty())
          att->setAttr("attnc.kernel_name", StringAttr::get(ctx, kernel));
      }
      bool generic = !reason.empty();
      std::string name = generic ? (fn.getSymName() + "_step" + Twine(genericIndex++)).str()
                                 : kernel + "_host";
      StepBuilder sb(fn, op);
      // The estimation stage computes in f32 from 16-bit inputs itself; steps
      // a pass added (a named reason) compute on their own types.
      bool promote = generic && !given && !isa<attn::SelectBlocksOp>(op);
      FailureOr<func::FuncOp> callee = sb.build(name, promote);
      if (failed(callee))
        return failure();
      (*callee)->setAttr("attnc.gpu.step", StringAttr::get(ctx, generic ? "generic" : "kernel"));
      if (generic)
        (*callee)->setAttr("attnc.gpu.reason", StringAttr::get(ctx, reason));
      if (SmallVector<int64_t> sized = shapeOnlyArguments(*callee); !sized.empty())
        (*callee)->setAttr(kShapeOnlyAttr, DenseI64ArrayAttr::get(ctx, sized));
      OpBuilder b(op);
      auto call = func::CallOp::create(b, op->getLoc(), *callee, sb.arguments());
      op->replaceAllUsesWith(call.getResults());
      op->erase();
    }
    fn->setAttr("attnc.gpu.program", UnitAttr::get(ctx));
    return success();
  }

  void runOnOperation() override {
    SmallVector<func::FuncOp> programs;
    for (func::FuncOp fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && !fn->hasAttr("attnc.gpu.step") && !fn->hasAttr("attnc.gpu.program"))
        programs.push_back(fn);
    for (func::FuncOp fn : programs)
      if (failed(partition(fn)))
        return signalPassFailure();
  }
};
} // namespace
