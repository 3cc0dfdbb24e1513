//===- BuildKernel.cpp - attn.attention -> Hopper flash-attention kernel --===//
//
// The pass: follows the kernel plan attn-gpu-plan-kernel recorded on each
// attn.attention (PlanKernel.cpp), completes the KernelConfig from the op,
// and has KernelEmitter (KernelEmitter.h) build one gpu.func per attention
// following docs/gpu-abi.md.
//
//===----------------------------------------------------------------------===//
#include "KernelEmitter.h"
#include "attnc/Analysis/CarrierLowering.h"

#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include <cmath>

namespace attnc {
#define GEN_PASS_DEF_ATTNGPUBUILDKERNEL
#include "attnc/Passes/AttnToNVVM.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::gpu;

namespace {

struct AttnGPUBuildKernelPass
    : public attnc::impl::AttnGPUBuildKernelBase<AttnGPUBuildKernelPass> {
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

  FailureOr<KernelConfig> configure(attnc::attn::AttentionOp op, StringRef name) {
    using namespace attnc::attn;
    if (failed(attnc::gpu::checkKernelSupport(op)))
      return failure();
    KernelConfig c;
    c.name = name.str();
    c.elemTy = cast<RankedTensorType>(op.getQuery().getType()).getElementType();
    auto kernelPlan = op->getAttrOfType<KernelPlanAttr>(KernelPlanAttr::kAttrName);
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
    }
    c.numParams = next;
    if (c.nullExtra >= 0 && !c.extras[c.nullExtra].elem.isF32())
      return op.emitOpError("GPU kernel: the null-logit extra must be a float [H]"),
             failure();
    c.op = op;
    FailureOr<attnc::CarrierTilePlan> plan = attnc::CarrierTilePlan::get(op, c.BM, c.BN);
    if (failed(plan))
      return failure();
    c.plan = *plan;
    for (Attribute a : op.getCarrier())
      if (auto causal = dyn_cast<CausalAttr>(a))
        if (c.causal == CausalKind::None)
          c.causal = causal.getAlign() == Align::top_left ? CausalKind::TopLeft
                                                          : CausalKind::BottomRight;
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
        FailureOr<KernelConfig> cfg = configure(op, name);
        if (failed(cfg))
          return signalPassFailure();
        Type ptrTy = LLVM::LLVMPointerType::get(ctx);
        Type i32 = IntegerType::get(ctx, 32);
        SmallVector<Type> argTys(cfg->numParams, i32);
        for (int64_t p = 0; p < 5; ++p)
          argTys[p] = ptrTy;
        for (size_t n = 0; n < cfg->extras.size(); ++n)
          argTys[11 + n] = ptrTy;
        if (cfg->decode)
          argTys[cfg->wsParam] = ptrTy;
        mb.setInsertionPointToEnd(gm.getBody());
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
        OpBuilder kb(ctx);
        KernelEmitter em(kb, op.getLoc(), *cfg);
        if (failed(em.emit(fn)))
          return signalPassFailure();
        DictionaryAttr manifest = buildManifestAttr(*cfg, ctx);
        fn->setAttr("attnc.manifest", manifest);
        manifests.push_back(NamedAttribute(StringAttr::get(ctx, name), manifest));
      }
      if (!keepHost)
        f.erase();
    }
    module->setAttr("attnc.gpu.manifests", DictionaryAttr::get(ctx, manifests));
  }
};

} // namespace
