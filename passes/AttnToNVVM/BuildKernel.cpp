//===- BuildKernel.cpp - attn.attention -> Hopper flash-attention kernel --===//
//
// The pass: chooses the kernel plan (KernelConfig) for each attn.attention,
// refuses what the kernel cannot compute with a reason, and has
// KernelEmitter (KernelEmitter.h) build one gpu.func per attention following
// docs/gpu-abi.md.
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
    KernelConfig c;
    c.name = name.str();
    auto qT = cast<RankedTensorType>(op.getQuery().getType());
    auto kT = cast<RankedTensorType>(op.getKey().getType());
    auto vT = cast<RankedTensorType>(op.getValue().getType());
    c.elemTy = qT.getElementType();
    if (!c.elemTy.isBF16() && !c.elemTy.isF16())
      return op.emitOpError("GPU kernel: q/k/v must be bf16 or f16"), failure();
    if (kT.getElementType() != c.elemTy || vT.getElementType() != c.elemTy ||
        cast<RankedTensorType>(op.getResult().getType()).getElementType() != c.elemTy)
      return op.emitOpError("GPU kernel: q, k, v and the result must share one dtype"),
             failure();
    if (qT.getRank() != 4 || kT.getRank() != 4 || vT.getRank() != 4)
      return op.emitOpError("GPU kernel: q, k, v must be [B, H, L, D]"), failure();
    // `schedule split_kv(C)` asks for the KV range split and merged: the
    // decode schedule, whose split count the runtime chooses (or dims[S]).
    const bool useDecode = decode || op.getSplitKv() != 0;
    c.D = qT.getDimSize(3);
    c.Dv = vT.getDimSize(3);
    if (ShapedType::isDynamic(c.D) || ShapedType::isDynamic(c.Dv) || c.D != kT.getDimSize(3))
      return op.emitOpError("GPU kernel: head dims must be static and q/k must agree"),
             failure();
    // TMA needs rows of a multiple of 16 bytes; one wgmma N is at most 256.
    auto headDimOk = [](int64_t d) { return d >= 16 && d <= 256 && d % 16 == 0; };
    if (!headDimOk(c.D) || !headDimOk(c.Dv))
      return op.emitOpError() << "GPU kernel: head dims must be multiples of 16 from 16 to "
                                 "256, got D = "
                              << c.D << ", Dv = " << c.Dv,
             failure();
    c.Dp = llvm::alignTo(c.D, 64);
    c.Dvp = llvm::alignTo(c.Dv, 64);
    // Decode streams K/V with little work per tile: smaller tiles, a deeper
    // ring (bench/NOTES.md, decode).
    c.BN = blockN > 0 ? blockN : (useDecode || std::max(c.Dp, c.Dvp) > 128 ? 64 : 128);
    if (schedule != "pingpong" && schedule != "ws")
      return op.emitOpError() << "GPU kernel: schedule must be pingpong or ws, got '"
                              << schedule << "'",
             failure();
    c.pingpong = schedule == "pingpong";
    if (useDecode) {
      // Both consumers read the same 64 rows and take turns by tile, not
      // by GEMM (docs/gpu-abi.md, decode).
      c.decode = true;
      c.BM = 64;
      c.pingpong = false;
    }
    if (c.BN != 64 && c.BN != 128)
      return op.emitOpError("GPU kernel: block-n must be 64 or 128"), failure();
    // The deepest K/V ring (at most 4 stages) that fits the 227 KiB of
    // shared memory a block may use, unless the stages option fixes it.
    constexpr int64_t kMaxShared = 232448;
    c.stages = 2;
    if (stages > 0) {
      c.stages = stages;
    } else {
      const int64_t maxStages = c.decode ? 8 : 4;
      while (c.stages < maxStages) {
        ++c.stages;
        if (c.sharedBytes() > kMaxShared) {
          --c.stages;
          break;
        }
      }
      // Decode: the consumers take alternate tiles, so with an even ring
      // each slot always serves the same consumer, which then waits for its
      // phases in order (an odd ring lets a consumer wait on a slot whose
      // previous phase, the other consumer's tile, has not completed yet,
      // and the parity wait passes early).
      if (c.decode)
        c.stages &= ~int64_t(1);
    }
    if (c.decode && c.stages % 2 != 0)
      return op.emitOpError() << "GPU kernel: the decode schedule needs an even number of "
                                 "stages (the two consumers own alternate slots), got "
                              << c.stages,
             failure();
    if (c.stages < 2 || c.sharedBytes() > kMaxShared)
      return op.emitOpError() << "GPU kernel: " << c.stages << " stages need "
                              << c.sharedBytes() << " bytes of shared memory (max "
                              << kMaxShared << "); use block-n=64 or fewer stages",
             failure();
    // Links and anchors: softmax (exp + row, optionally a null key), and the
    // bounded/unnormalised links sigmoid and relu^p under anchor none or row.
    c.link = op.getLinkKind();
    c.anchor = op.getAnchorKind();
    c.power = op.getLink().getPowerOrOne();
    if (c.anchor == Anchor::sinkhorn)
      return op.emitOpError("GPU kernel: anchor sinkhorn needs the whole weight "
                            "matrix (column normalisation) and cannot run online; "
                            "use the CPU backend"),
             failure();
    if (c.anchor == Anchor::row_abs)
      return op.emitOpError("GPU kernel: anchor row_abs (signed weights) is not "
                            "supported; anchors are row and none"),
             failure();
    if (op.getWeightsSigned() || c.link == Link::identity || c.link == Link::signed_exp)
      return op.emitOpError() << "GPU kernel: signed link '" << stringifyLink(c.link)
                              << "' is not supported (links: exp, sigmoid, relu)",
             failure();
    if (c.link == Link::softplus)
      return op.emitOpError("GPU kernel: link softplus is not supported (links: "
                            "exp, sigmoid, relu)"),
             failure();
    if (c.link == Link::exp && c.anchor != Anchor::row)
      return op.emitOpError("GPU kernel: link exp needs anchor row (an unshifted "
                            "exp under anchor none is not supported)"),
             failure();
    if (op.getScoreConv())
      return op.emitOpError("GPU kernel: score_conv mixes the scores of "
                            "neighbouring (i, j) across tiles and is not supported"),
             failure();
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
    // Packing the heads of a KV head into one tile gives the tile several
    // heads: only where the tile schedule does not depend on the head.
    auto readsHead = [](Region *r) { return r && !r->front().getArgument(1).use_empty(); };
    c.packHeads = c.decode && !c.plan.blockList && !readsHead(c.mask);
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
        if (ops.size() > 1)
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
