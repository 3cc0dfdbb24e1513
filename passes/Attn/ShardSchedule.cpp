//===- ShardSchedule.cpp - the host plan of a context-parallel attention --===//
#include "attnc/Passes/ShardSchedule.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

/// Most ranks whose steps are classified (keeps) at compile time.
constexpr int64_t kMaxClassifiedWorld = 64;

/// The shard's carrier with the step's offsets as constants: what cannot be
/// known at compile time (other tables, dynamic extents, b and h) is an
/// opaque value, so the bound stays sound and folds only where it is exact.
class StepAccess : public CarrierAccess {
public:
  StepAccess(AttentionOp op, unsigned offsets, int64_t qOffset, int64_t kOffset, func::FuncOp opaque)
      : CarrierAccess(ValueRange(op.getExtras())), op(op), offsets(offsets), qOffset(qOffset), kOffset(kOffset),
        opaqueFn(opaque) {}

  Value opaque(OpBuilder &b, Location loc) {
    return func::CallOp::create(b, loc, opaqueFn, ValueRange{}).getResult(0);
  }
  Value loadIndex(OpBuilder &b, Location loc, unsigned n, ValueRange indices) override {
    if (n == offsets && indices.size() == 1)
      if (std::optional<int64_t> which = getConstantIntValue(indices[0]))
        return arith::ConstantIndexOp::create(b, loc, *which == 0 ? qOffset : kOffset);
    return opaque(b, loc);
  }
  Value dim(OpBuilder &b, Location loc, unsigned n, unsigned d) override {
    auto t = cast<RankedTensorType>(op.getExtras()[n].getType());
    if (!t.isDynamicDim(d))
      return arith::ConstantIndexOp::create(b, loc, t.getDimSize(d));
    return opaque(b, loc);
  }
  Value outerValue(OpBuilder &b, Location loc, Value v) override {
    if (!v.getType().isIntOrIndex())
      return Value();
    if (Operation *def = v.getDefiningOp()) {
      if (def->hasTrait<OpTrait::ConstantLike>())
        return b.clone(*def)->getResult(0);
      if (auto dim = dyn_cast<tensor::DimOp>(def))
        if (std::optional<int64_t> axis = dim.getConstantIndex()) {
          auto t = cast<RankedTensorType>(dim.getSource().getType());
          if (!t.isDynamicDim(*axis))
            return arith::ConstantIndexOp::create(b, loc, t.getDimSize(*axis));
        }
    }
    return opaque(b, loc);
  }

private:
  AttentionOp op;
  unsigned offsets;
  int64_t qOffset, kOffset;
  func::FuncOp opaqueFn;
};

/// Steps of rank `r` of `world` with local lengths lq, lk.
std::vector<ShardStep> stepsOf(spec::CPLayout layout, int64_t world, int64_t r, int64_t lq, int64_t lk) {
  std::vector<ShardStep> steps;
  if (layout == spec::CPLayout::tree) {
    steps.push_back({r, 0, r * lk, ShardStep::Keeps::some});
    return steps;
  }
  for (int64_t t = 0; t < world; ++t) {
    int64_t block = ((r - t) % world + world) % world;
    if (layout == spec::CPLayout::striped)
      steps.push_back({block, r, block, ShardStep::Keeps::some});
    else
      steps.push_back({block, r * lq, block * lk, ShardStep::Keeps::some});
  }
  return steps;
}

} // namespace

llvm::Expected<ShardSchedule> attnc::planShardSchedule(ModuleOp module, spec::CPLayout layout,
                                                       int64_t world) {
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> shard = cast<ModuleOp>(module->clone());
  // The shard's mask: every family at global positions (attn-shard-positions).
  PassManager pm(ctx);
  pm.addPass(createAttnShardPositions());
  if (failed(pm.run(*shard)))
    return llvm::createStringError("context parallelism: the shard could not be built");
  AttentionOp op;
  shard->walk([&](AttentionOp a) { op = a; });
  if (!op)
    return llvm::createStringError("context parallelism: the module has no attention");
  auto qt = cast<RankedTensorType>(op.getQuery().getType());
  auto kt = cast<RankedTensorType>(op.getKey().getType());
  if (qt.isDynamicDim(2) || kt.isDynamicDim(2))
    return llvm::createStringError("context parallelism: the schedule needs the shard's lengths "
                                   "(bind them with --dim)");
  int64_t lq = qt.getDimSize(2), lk = kt.getDimSize(2);
  // cp_offsets is i32: every global position must fit.
  if (world > spec::kMaxIntParam / std::max(lq, lk))
    return llvm::createStringError(
        "context parallelism: %lld ranks of %lld rows exceed the 32-bit positions of cp_offsets",
        (long long)world, (long long)std::max(lq, lk));
  std::optional<unsigned> offsets;
  for (auto [n, e] : llvm::enumerate(op.getExtras()))
    if (auto arg = dyn_cast<BlockArgument>(e))
      if (auto fn = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
        if (auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "attnc.name"))
          if (name.getValue() == spec::kCPOffsetsInput)
            offsets = n;
  if (!offsets)
    return llvm::createStringError("context parallelism: the attention does not read cp_offsets");

  ShardSchedule plan;
  plan.layout = layout;
  plan.world = world;
  plan.merge = op.getAnchorKind() == Anchor::none ? "sum" : "lse";
  for (int64_t r = 0; r < world; ++r)
    plan.ranks.push_back(stepsOf(layout, world, r, lq, lk));

  // One function returning (may, must) per step, folded. Striped blocks
  // interleave with every query row, so their steps keep "some" unless the
  // mask is empty or full, which the ring would show too; past
  // kMaxClassifiedWorld ranks the world^2 bounds cost more than the steps
  // they could skip. Both stay "some", which is sound.
  if (layout == spec::CPLayout::striped || world > kMaxClassifiedWorld)
    return plan;
  Location loc = op.getLoc();
  OwningOpRef<ModuleOp> scratch = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(scratch->getBody());
  Type indexTy = b.getIndexType();
  auto opaqueFn = func::FuncOp::create(b, loc, "attnc_cp_unknown", b.getFunctionType({}, {indexTy}));
  opaqueFn.setPrivate();
  auto classify = func::FuncOp::create(b, loc, "attnc_cp_classify", b.getFunctionType({}, {}));
  b.setInsertionPointToStart(classify.addEntryBlock());
  SmallVector<Value> results;
  for (std::vector<ShardStep> &steps : plan.ranks)
    for (ShardStep &s : steps) {
      StepAccess access(op, *offsets, s.qOffset, s.kOffset, opaqueFn);
      Value unknownB = access.opaque(b, loc), unknownH = access.opaque(b, loc);
      auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
      MaskBox box = op.getMask().empty()
                        ? MaskBox{arith::ConstantIntOp::create(b, loc, 1, 1),
                                  arith::ConstantIntOp::create(b, loc, 1, 1)}
                        : boundMaskOverBox(b, loc, op, access, unknownB, unknownH, c(0), c(lq - 1), c(0),
                                           c(lk - 1));
      results.push_back(box.may);
      results.push_back(box.must);
    }
  func::ReturnOp::create(b, loc, results);
  classify.setFunctionType(b.getFunctionType({}, ValueRange(results).getTypes()));
  PassManager fold(ctx);
  fold.addPass(createCanonicalizerPass());
  fold.addPass(createCSEPass());
  if (failed(fold.run(*scratch)))
    return plan; // every step stays "some": sound
  auto ret = cast<func::ReturnOp>(classify.getBody().front().getTerminator());
  unsigned n = 0;
  for (std::vector<ShardStep> &steps : plan.ranks)
    for (ShardStep &s : steps) {
      std::optional<int64_t> may = getConstantIntValue(ret.getOperand(n++));
      std::optional<int64_t> must = getConstantIntValue(ret.getOperand(n++));
      if (may && *may == 0)
        s.keeps = ShardStep::Keeps::none;
      else if (must && *must != 0)
        s.keeps = ShardStep::Keeps::all;
    }
  return plan;
}

std::string attnc::shardScheduleJson(const ShardSchedule &plan) {
  llvm::json::Array ranks;
  for (const std::vector<ShardStep> &steps : plan.ranks) {
    llvm::json::Array list;
    for (const ShardStep &s : steps)
      list.push_back(llvm::json::Object{
          {"block", s.block},
          {"offsets", llvm::json::Array{s.qOffset, s.kOffset}},
          {"keeps", s.keeps == ShardStep::Keeps::none  ? "none"
                    : s.keeps == ShardStep::Keeps::all ? "all"
                                                       : "some"}});
    ranks.push_back(std::move(list));
  }
  llvm::json::Object root{{"layout", spec::cpLayoutName(plan.layout)},
                          {"world", plan.world},
                          {"merge", plan.merge},
                          {"ranks", std::move(ranks)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  return text;
}
