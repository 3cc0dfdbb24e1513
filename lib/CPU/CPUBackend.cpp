//===- CPUBackend.cpp - JIT-run attn modules on the host -----------------===//
#include "attnc/CPU/CPUBackend.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <mutex>

using namespace mlir;
using namespace attnc;

namespace {
/// A memref descriptor {allocated, aligned, offset, sizes[r], strides[r]}
/// laid out as the C interface expects (all 8-byte fields).
struct Descriptor {
  std::vector<int64_t> words;
  Descriptor(void *data, ArrayRef<int64_t> shape) {
    words.push_back(reinterpret_cast<int64_t>(data));
    words.push_back(reinterpret_cast<int64_t>(data));
    words.push_back(0);
    for (int64_t s : shape)
      words.push_back(s);
    int64_t stride = 1;
    std::vector<int64_t> strides(shape.size());
    for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= shape[d];
    }
    words.insert(words.end(), strides.begin(), strides.end());
  }
};

std::optional<DType> dtypeOf(Type t) {
  if (t.isF32()) return DType::F32;
  if (t.isF64()) return DType::F64;
  if (t.isInteger(32)) return DType::I32;
  if (t.isInteger(64)) return DType::I64;
  // f8e4m3 inputs are their bytes (numpy has no FP8 dtype).
  if (isa<Float8E4M3FNType>(t)) return DType::U8;
  return std::nullopt;
}

std::string shapeStr(ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}
} // namespace

llvm::Expected<std::unique_ptr<CPUKernel>> CPUKernel::create(ModuleOp attnModule,
                                                             StringRef funcName) {
  auto fn = attnModule.lookupSymbol<func::FuncOp>(funcName);
  if (!fn)
    return llvm::createStringError("no function '%s' in the module", funcName.str().c_str());
  for (Type t : fn.getFunctionType().getInputs())
    if (!cast<RankedTensorType>(t).hasStaticShape())
      return llvm::createStringError("the CPU kernel needs every dim bound");
  static std::once_flag targetsReady;
  std::call_once(targetsReady, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  OwningOpRef<ModuleOp> module = attnModule.clone();
  std::string diagText;
  {
    llvm::raw_string_ostream os(diagText);
    ScopedDiagnosticHandler handler(module->getContext(), [&](Diagnostic &d) {
      os << d.getLocation() << ": " << d << "\n";
      return success();
    });
    if (failed(lowerToLLVMDialect(*module)))
      return llvm::createStringError("CPU lowering failed:\n%s", diagText.c_str());
  }
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = makeOptimizingTransformer(/*optLevel=*/2, /*sizeLevel=*/0, nullptr);
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    return engine.takeError();
  std::unique_ptr<CPUKernel> k(new CPUKernel());
  k->engine = std::move(*engine);
  k->name = funcName.str();
  k->funcType = fn.getFunctionType();
  return k;
}

CPUKernel::~CPUKernel() = default;

llvm::Error CPUKernel::call(ArrayRef<const void *> inputs, ArrayRef<void *> outputs) {
  if (inputs.size() != funcType.getNumInputs() || outputs.size() != funcType.getNumResults())
    return llvm::createStringError("expected %u inputs and %u outputs, got %zu and %zu",
                                   funcType.getNumInputs(), funcType.getNumResults(),
                                   inputs.size(), outputs.size());
  std::vector<Descriptor> descs;
  for (auto [p, t] : llvm::zip(inputs, funcType.getInputs()))
    descs.emplace_back(const_cast<void *>(p), cast<RankedTensorType>(t).getShape());
  for (auto [p, t] : llvm::zip(outputs, funcType.getResults()))
    descs.emplace_back(p, cast<RankedTensorType>(t).getShape());
  std::vector<void *> descPtrs;
  for (Descriptor &d : descs)
    descPtrs.push_back(d.words.data());
  SmallVector<void *> packed;
  for (void *&p : descPtrs)
    packed.push_back(&p);
  return engine->invokePacked("_mlir_ciface_" + name, packed);
}

LogicalResult attnc::lowerToLLVMDialect(ModuleOp module) {
  PassManager pm(module.getContext());
  buildCPULoweringPipeline(pm);
  return pm.run(module);
}

llvm::Expected<CPURunResult> attnc::runOnCPU(ModuleOp attnModule, StringRef funcName,
                                             ArrayRef<std::string> inputNames,
                                             ArrayRef<const NpyArray *> inputs) {
  auto fn = attnModule.lookupSymbol<func::FuncOp>(funcName);
  if (!fn)
    return llvm::createStringError("no function '%s' in the module", funcName.str().c_str());
  FunctionType ft = fn.getFunctionType();
  if (ft.getNumInputs() != inputs.size())
    return llvm::createStringError("expected %u inputs, got %zu", ft.getNumInputs(), inputs.size());
  for (auto [n, t] : llvm::enumerate(ft.getInputs())) {
    auto tt = cast<RankedTensorType>(t);
    const std::string &name = inputNames[n];
    if (!tt.hasStaticShape())
      return llvm::createStringError("input '%s' has an unbound dim; bind every dim with --dim",
                                     name.c_str());
    if (dtypeOf(tt.getElementType()) != inputs[n]->dtype)
      return llvm::createStringError("input '%s': expected %s, got %s", name.c_str(),
                                     dtypeName(*dtypeOf(tt.getElementType())).c_str(),
                                     dtypeName(inputs[n]->dtype).c_str());
    if (ArrayRef<int64_t>(inputs[n]->shape) != tt.getShape())
      return llvm::createStringError("input '%s': expected shape %s, got %s", name.c_str(),
                                     shapeStr(tt.getShape()).c_str(),
                                     shapeStr(inputs[n]->shape).c_str());
  }
  CPURunResult result;
  for (Type t : ft.getResults()) {
    auto tt = cast<RankedTensorType>(t);
    NpyArray out;
    out.dtype = *dtypeOf(tt.getElementType());
    out.shape.assign(tt.getShape().begin(), tt.getShape().end());
    out.data.assign(out.numElements() * out.elementSize(), 0);
    result.outputs.push_back(std::move(out));
  }

  auto t0 = std::chrono::steady_clock::now();
  auto kernel = CPUKernel::create(attnModule, funcName);
  if (!kernel)
    return kernel.takeError();
  auto t1 = std::chrono::steady_clock::now();
  std::vector<const void *> in;
  std::vector<void *> out;
  for (const NpyArray *a : inputs)
    in.push_back(a->data.data());
  for (NpyArray &o : result.outputs)
    out.push_back(o.data.data());
  if (llvm::Error err = (*kernel)->call(in, out))
    return std::move(err);
  auto t2 = std::chrono::steady_clock::now();
  result.compileMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
  result.runMs = std::chrono::duration<double, std::milli>(t2 - t1).count();
  return result;
}
