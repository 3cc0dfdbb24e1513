//===- GPURun.cpp - compile, load and run a spec on the GPU --------------===//
//
// The in-process path: the same cubin and manifest as the AOT target, loaded
// from memory by the runtime, fed from host arrays. Needs a CUDA driver at
// run time only (the runtime opens libcuda itself).
//
//===----------------------------------------------------------------------===//
#include "attnc/GPU/GPUArtifacts.h"
#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Runtime/attnc_runtime.h"
#include "attnc/Support/Float16.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <chrono>
#include <cstring>
#include <memory>

using namespace mlir;
using namespace attnc;

namespace {
llvm::Error runtimeError(const char *what) {
  return llvm::createStringError("%s: %s", what, attnc_last_error());
}

/// Device buffers freed on every exit path.
struct DeviceBuffers {
  std::vector<void *> ptrs;
  ~DeviceBuffers() {
    for (void *p : ptrs)
      attnc_device_free(p);
  }
  llvm::Expected<void *> alloc(size_t bytes) {
    void *p = nullptr;
    if (attnc_device_alloc(0, bytes, &p) != ATTNC_OK)
      return runtimeError("cannot allocate GPU memory");
    ptrs.push_back(p);
    return p;
  }
};

struct KernelHandle {
  attnc_kernel *k = nullptr;
  ~KernelHandle() { attnc_kernel_free(k); }
};
} // namespace

llvm::Expected<GPURunResult> attnc::runOnGPU(ModuleOp module, StringRef chip,
                                             ArrayRef<const NpyArray *> inputs,
                                             StringRef cacheDir,
                                             const GPUKernelOptions &options) {
  auto variant = attn::readVariantSignature(module);
  if (!variant)
    return variant.takeError();
  func::FuncOp fn = variant->first;
  const attn::VariantSignature &sig = variant->second;
  // The driver first: without a GPU there is nothing to compile for.
  if (attnc_driver_available() != ATTNC_OK)
    return runtimeError("--backend=gpu needs a GPU");
  auto t0 = std::chrono::steady_clock::now();
  auto kernels = compileForGPUCached(module, chip, cacheDir, nullptr, options);
  if (!kernels)
    return kernels.takeError();
  auto t1 = std::chrono::steady_clock::now();

  // Upload every input once, in the type its tensor has in the module.
  DeviceBuffers buffers;
  llvm::StringMap<std::pair<void *, Type>> device;
  for (auto [in, arr, ty] : llvm::zip(sig.inputs, inputs, fn.getFunctionType().getInputs())) {
    Type elem = cast<RankedTensorType>(ty).getElementType();
    std::vector<char> bytes;
    if (elem.isBF16() || elem.isF16()) {
      const float *src = arr->as<float>();
      bytes.resize(arr->numElements() * 2);
      uint16_t *dst = reinterpret_cast<uint16_t *>(bytes.data());
      for (size_t n = 0; n < arr->numElements(); ++n)
        dst[n] = elem.isBF16() ? toBF16(src[n]) : toF16(src[n]);
    } else {
      bytes = arr->data;
    }
    auto p = buffers.alloc(bytes.size());
    if (!p)
      return p.takeError();
    if (attnc_copy_to_device(*p, bytes.data(), bytes.size()) != ATTNC_OK)
      return runtimeError("cannot copy an input to the GPU");
    device[in.name] = {*p, elem};
  }

  GPURunResult result;
  SmallVector<attn::AttentionOp> ops;
  fn.walk([&](attn::AttentionOp op) { ops.push_back(op); });
  llvm::StringMap<NpyArray> byAttention;
  double runMs = 0;
  for (auto [k, op] : llvm::zip(*kernels, ops)) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto o = cast<RankedTensorType>(op.getResult().getType());
    KernelHandle handle;
    if (attnc_kernel_load_memory(k.manifest.data(), k.manifest.size(), k.cubin.data(),
                                 k.cubin.size(), &handle.k) != ATTNC_OK)
      return runtimeError("cannot load the kernel");
    attnc_dtype dt = q.getElementType().isBF16() ? ATTNC_DTYPE_BF16 : ATTNC_DTYPE_F16;
    size_t oElems = o.getNumElements(), lseElems = oElems / o.getDimSize(3);
    auto oBuf = buffers.alloc(oElems * 2);
    if (!oBuf)
      return oBuf.takeError();
    auto lseBuf = buffers.alloc(lseElems * 4);
    if (!lseBuf)
      return lseBuf.takeError();
    // Poison the outputs: every element must be written by the kernel.
    std::vector<uint16_t> nan(oElems, 0x7fc0);
    attnc_copy_to_device(*oBuf, nan.data(), oElems * 2);
    std::vector<attnc_tensor> args;
    auto tensorOf = [&](Value v) {
      auto t = cast<RankedTensorType>(v.getType());
      auto arg = cast<BlockArgument>(v);
      auto &[ptr, elem] = device[sig.inputs[arg.getArgNumber()].name];
      attnc_dtype d = elem.isBF16() ? ATTNC_DTYPE_BF16 : elem.isF16() ? ATTNC_DTYPE_F16
                      : elem.isInteger(32) ? ATTNC_DTYPE_I32 : ATTNC_DTYPE_F32;
      return attnc_tensor_contiguous(ptr, d, (int)t.getRank(), t.getShape().data(), 0);
    };
    args.push_back(tensorOf(op.getQuery()));
    args.push_back(tensorOf(op.getKey()));
    args.push_back(tensorOf(op.getValue()));
    args.push_back(attnc_tensor_contiguous(*oBuf, dt, 4, o.getShape().data(), 0));
    args.push_back(attnc_tensor_contiguous(*lseBuf, ATTNC_DTYPE_F32, 3, o.getShape().data(), 0));
    for (Value e : op.getExtras())
      args.push_back(tensorOf(e));
    auto s0 = std::chrono::steady_clock::now();
    if (attnc_kernel_launch(handle.k, args.data(), (int)args.size(), nullptr, nullptr) != ATTNC_OK)
      return runtimeError("launch refused");
    if (attnc_stream_synchronize(nullptr) != ATTNC_OK)
      return runtimeError("the kernel failed");
    runMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count();
    std::vector<uint16_t> host(oElems);
    if (attnc_copy_to_host(host.data(), *oBuf, oElems * 2) != ATTNC_OK)
      return runtimeError("cannot copy the output back");
    NpyArray out;
    out.dtype = DType::F32;
    out.shape.assign(o.getShape().begin(), o.getShape().end());
    out.data.resize(oElems * 4);
    float *dst = out.as<float>();
    for (size_t n = 0; n < oElems; ++n)
      dst[n] = dt == ATTNC_DTYPE_BF16 ? fromBF16(host[n]) : fromF16(host[n]);
    byAttention[k.attention] = std::move(out);
  }
  // compileForGPU accepted only outputs that are bare attention results.
  for (const attn::VariantSignature::Tensor &o : sig.outputs) {
    auto it = byAttention.find(o.attention);
    if (it == byAttention.end())
      return llvm::createStringError("output '%s' is not an attention result", o.name.c_str());
    result.outputs.push_back(it->second);
  }
  result.compileMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
  result.runMs = runMs;
  return result;
}
