//===- BuildTileKernel.cpp - attn.attention -> attn_tile kernel -----------===//
//
// The first stage after the plan: one gpu.func per planned attention (its
// parameters and manifest, docs/gpu-abi.md) whose body is the tile program
// in its sequential form, with the attention itself as the kernel's spec.
// configureKernel completes the KernelConfig from the op and its plan; the
// lowering (LowerTileKernel.cpp) reads the same configuration.
//
//===----------------------------------------------------------------------===//
#include "KernelPlan.h"
#include "attnc/Analysis/CarrierLowering.h"

#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include <cmath>

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUBUILDTILEKERNEL
#include "attnc/Passes/GPUPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::gpu;

FailureOr<KernelConfig> attnc::gpu::configureKernel(attnc::attn::AttentionOp op, StringRef name,
                                                   attnc::attn::KernelPlanAttr kernelPlan) {
  using namespace attnc::attn;
  if (failed(attnc::gpu::checkKernelSupport(op)))
    return failure();
  KernelConfig c;
  c.name = name.str();
  c.elemTy = cast<RankedTensorType>(op.getQuery().getType()).getElementType();
  if (!kernelPlan)
    return op.emitOpError("GPU kernel: no kernel plan (attn.kernel_plan); run "
                          "attn-gpu-plan-kernel first"),
           failure();
  if (failed(applyKernelPlan(op, kernelPlan, c)))
    return failure();
  c.link = op.getLinkKind();
  c.anchor = op.getAnchorKind();
  c.power = op.getLink().getPowerOrOne();
  // The anchor attribute only admits a null key under anchor row.
  c.nullLogit = op.getAnchor().getNullLogit();
  c.nullExtra = op.getAnchor().getNullExtra().value_or(-1);
  // Extras: device pointers, then one i32 per dynamic extent.
  int64_t next = 11 + (int64_t)op.getExtras().size();
  for (Value e : op.getExtras()) {
    auto t = cast<RankedTensorType>(e.getType());
    KernelConfig::Extra x;
    x.type = t;
    Type el = t.getElementType();
    if (isa<FloatType>(el))
      x.elem = Float32Type::get(op.getContext());
    else if (el.isInteger(32) || el.isInteger(64))
      x.elem = el;
    else
      return op.emitOpError() << "GPU kernel: extra of element type " << el
                              << " (float, i32 or i64 only)",
             failure();
    for (int64_t d = 0; d < t.getRank(); ++d)
      x.dimParam.push_back(t.isDynamicDim(d) ? next++ : -1);
    c.extras.push_back(x);
  }
  if (c.decode) {
    c.wsParam = next++;
    c.sParam = next++;
  } else if (c.persistent) {
    c.wsParam = next++;
  }
  if (c.oTmaStore)
    c.oMapParam = next++;
  c.numParams = next;
  if (c.nullExtra >= 0 && !c.extras[c.nullExtra].elem.isF32())
    return op.emitOpError("GPU kernel: the null-logit extra must be a float [H]"), failure();
  c.op = op;
  FailureOr<attnc::CarrierTilePlan> plan =
      attnc::CarrierTilePlan::get(op, c.BM, c.BN, c.qPatch, c.kPatch);
  if (failed(plan))
    return failure();
  c.plan = *plan;
  c.scale = op.getScaleAttr() ? op.getScaleAttr().getValueAsDouble() : 1.0 / std::sqrt((double)c.D);
  if (!op.getScore().empty())
    c.score = &op.getScore();
  if (!op.getMask().empty())
    c.mask = &op.getMask();
  if (c.packHeads && !headsPackable(op, c.plan))
    return op.emitOpError("GPU kernel: pack_heads, but the tile schedule depends on the "
                          "head (a block list, or a mask that reads h)"),
           failure();
  return c;
}

namespace {

/// Clones `op` into `spec` over block arguments for its operands, with the
/// values its regions read from above (constants, dims of its operands)
/// cloned before it.
LogicalResult cloneSpec(attnc::attn::AttentionOp op, Block &spec, OpBuilder &sb) {
  IRMapping map;
  for (Value v : op->getOperands())
    map.map(v, spec.addArgument(v.getType(), v.getLoc()));
  sb.setInsertionPointToEnd(&spec);
  std::function<LogicalResult(Value)> define = [&](Value v) -> LogicalResult {
    if (map.contains(v))
      return success();
    Operation *def = v.getDefiningOp();
    if (!def || def->getNumRegions())
      return op.emitOpError("GPU kernel: a score/mask region reads a value from above "
                            "that is neither a constant nor a dim of q, k, v or an extra"),
             failure();
    for (Value o : def->getOperands())
      if (failed(define(o)))
        return failure();
    sb.clone(*def, map);
    return success();
  };
  SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegions(), above);
  for (Value v : above)
    if (failed(define(v)))
      return failure();
  // The plan lives on the kernel.
  sb.clone(*op, map)->removeAttr(attnc::attn::KernelPlanAttr::kAttrName);
  return success();
}

/// The tile program in its sequential form (see AttnTile.td).
void buildSequentialProgram(const KernelConfig &c, Block &body, Location loc) {
  MLIRContext *ctx = loc.getContext();
  using namespace attnc::tile;
  OpBuilder b = OpBuilder::atBlockEnd(&body);
  auto smem = [&](StringRef role) { return SmemTileType::get(ctx, role); };
  // Each consumer warpgroup's accumulators are 64 rows.
  Type oTy = AccType::get(ctx, 64, c.Dvp), sTy = AccType::get(ctx, 64, c.BN);
  Type pTy = ProbsType::get(ctx, 64, c.BN), stTy = StatsType::get(ctx);
  Value q = LoadQOp::create(b, loc, smem("q"), /*async=*/false).getTile();
  Value o0 = ZeroAccOp::create(b, loc, oTy);
  Value st0 = InitStatsOp::create(b, loc, stTy);
  auto loop = ForTilesOp::create(b, loc, TypeRange{oTy, stTy}, ValueRange{o0, st0},
                                 /*alternate=*/false);
  Block *blk = new Block();
  loop.getBody().push_back(blk);
  Value tile = blk->addArgument(b.getIndexType(), loc);
  blk->addArgument(b.getIndexType(), loc); // ordinal
  Value o = blk->addArgument(oTy, loc), st = blk->addArgument(stTy, loc);
  OpBuilder lb = OpBuilder::atBlockEnd(blk);
  Value k = LoadKVOp::create(lb, loc, smem("k"), tile);
  Value s = QKOp::create(lb, loc, sTy, q, k, /*async=*/false);
  auto sm = SoftmaxOp::create(lb, loc, pTy, stTy, RescaleType::get(ctx), s, tile, st);
  Value o1 = RescaleOp::create(lb, loc, oTy, o, sm.getRescale());
  Value v = LoadKVOp::create(lb, loc, smem("v"), tile);
  Value o2 = PVOp::create(lb, loc, oTy, sm.getP(), v, o1, /*async=*/false);
  YieldOp::create(lb, loc, ValueRange{o2, sm.getNewStats()});
  StoreOp::create(b, loc, loop.getResult(0), loop.getResult(1));
}

struct AttnGPUBuildTileKernelPass
    : public attnc::impl::AttnGPUBuildTileKernelBase<AttnGPUBuildTileKernelPass> {
  using Base::Base;

  /// Also registers the carrier families' lowering (the tile schedule and
  /// the element mask), and what gpu-module-to-binary needs later in the
  /// same pipeline (LLVM IR translations, the NVVM target), so that any
  /// driver that runs this pass can serialize without extra registration.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    attnc::registerCarrierLoweringExternalModels(registry);
    registerLLVMDialectTranslation(registry);
    registerNVVMDialectTranslation(registry);
    registerGPUDialectTranslation(registry);
    NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  }

  LogicalResult buildKernel(attnc::attn::AttentionOp op, StringRef name,
                            mlir::gpu::GPUModuleOp gm, SmallVector<NamedAttribute> &manifests) {
    MLIRContext *ctx = &getContext();
    auto plan = op->getAttrOfType<attnc::attn::KernelPlanAttr>(attnc::attn::KernelPlanAttr::kAttrName);
    FailureOr<KernelConfig> cfg = configureKernel(op, name, plan);
    if (failed(cfg))
      return failure();
    Type ptrTy = LLVM::LLVMPointerType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32);
    SmallVector<Type> argTys(cfg->numParams, i32);
    for (int64_t p = 0; p < 5; ++p)
      argTys[p] = ptrTy;
    for (size_t n = 0; n < cfg->extras.size(); ++n)
      argTys[11 + n] = ptrTy;
    if (cfg->wsParam >= 0)
      argTys[cfg->wsParam] = ptrTy;
    if (cfg->oMapParam >= 0)
      argTys[cfg->oMapParam] = ptrTy;
    OpBuilder mb = OpBuilder::atBlockEnd(gm.getBody());
    auto fn = mlir::gpu::GPUFuncOp::create(mb, op.getLoc(), name,
                                           FunctionType::get(ctx, argTys, {}));
    fn->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
    auto block = DenseI32ArrayAttr::get(ctx, {(int)KernelConfig::kThreads, 1, 1});
    fn.setKnownBlockSizeAttr(block);
    // A register cap at entry (one block per SM) lets setmaxnreg move
    // registers from the producer to the consumers.
    fn->setAttr("nvvm.maxntid", block);
    fn->setAttr("nvvm.minctasm", IntegerAttr::get(IntegerType::get(ctx, 32), 1));
    // The maps the manifest passes by value become __grid_constant__
    // parameters (GridConstantArgs.cpp): one source for both.
    fn->setAttr(attnc::kGridConstantArgsAttr, DenseI64ArrayAttr::get(ctx, byValueParams(*cfg)));
    DictionaryAttr manifest = buildManifestAttr(*cfg, ctx);
    fn->setAttr("attnc.manifest", manifest);
    manifests.push_back(NamedAttribute(StringAttr::get(ctx, name), manifest));

    OpBuilder kb = OpBuilder::atBlockEnd(&fn.getBody().front());
    auto kernel = attnc::tile::KernelOp::create(kb, op.getLoc(), plan, kb.getStringAttr(name));
    Block *spec = new Block(), *body = new Block();
    kernel.getSpec().push_back(spec);
    kernel.getBody().push_back(body);
    OpBuilder sb(ctx);
    if (failed(cloneSpec(op, *spec, sb)))
      return failure();
    buildSequentialProgram(*cfg, *body, op.getLoc());
    mlir::gpu::ReturnOp::create(kb, op.getLoc());
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<std::pair<func::FuncOp, SmallVector<attnc::attn::AttentionOp>>> work;
    module.walk([&](func::FuncOp f) {
      SmallVector<attnc::attn::AttentionOp> ops;
      f.walk([&](attnc::attn::AttentionOp a) { ops.push_back(a); });
      if (!ops.empty())
        work.push_back({f, ops});
    });
    if (work.empty())
      return;

    OpBuilder mb(ctx);
    module->setAttr("gpu.container_module", UnitAttr::get(ctx));
    auto gm = module.lookupSymbol<mlir::gpu::GPUModuleOp>("attnc_gpu");
    if (!gm) {
      mb.setInsertionPointToEnd(module.getBody());
      gm = mlir::gpu::GPUModuleOp::create(mb, module.getLoc(), "attnc_gpu");
    }
    SmallVector<NamedAttribute> manifests;
    if (auto old = module->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests"))
      manifests.append(old.begin(), old.end());

    for (auto &[f, ops] : work) {
      for (auto [k, op] : llvm::enumerate(ops)) {
        std::string name = (f.getSymName() + "_kernel").str();
        if (auto given = op->getAttrOfType<StringAttr>("attnc.kernel_name"))
          name = given.str(); // attn-gpu-partition-program's name
        else if (ops.size() > 1)
          name = (f.getSymName() + "_kernel" + Twine(k)).str();
        if (failed(buildKernel(op, name, gm, manifests)))
          return signalPassFailure();
      }
      if (!keepHost)
        f.erase();
    }
    module->setAttr("attnc.gpu.manifests", DictionaryAttr::get(ctx, manifests));
  }
};

} // namespace
