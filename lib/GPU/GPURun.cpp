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

} // namespace

llvm::Expected<GPURunResult> attnc::runOnGPU(ModuleOp module, StringRef chip,
                                             ArrayRef<const NpyArray *> inputs,
                                             StringRef cacheDir,
                                             const GPUKernelOptions &options) {
  auto variant = attn::readVariantSignature(module);
  if (!variant)
    return variant.takeError();
  func::FuncOp fn = variant->first;
  // The driver first: without a GPU there is nothing to compile for.
  if (attnc_driver_available() != ATTNC_OK)
    return runtimeError("--backend=gpu needs a GPU");
  auto t0 = std::chrono::steady_clock::now();
  auto program = compileForGPUCached(module, chip, cacheDir, nullptr, options);
  if (!program)
    return program.takeError();
  auto t1 = std::chrono::steady_clock::now();

  // Upload every input once, in the type its tensor has in the module.
  DeviceBuffers buffers;
  std::vector<void *> device; // per spec input
  for (auto [arr, ty] : llvm::zip(inputs, fn.getFunctionType().getInputs())) {
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
    device.push_back(*p);
  }

  auto loaded = loadGPUProgram(*program);
  if (!loaded)
    return loaded.takeError();
  std::unique_ptr<attnc_gpu_program, void (*)(attnc_gpu_program *)> prog(*loaded, attnc_gpu_program_free);
  auto tensorOf = [](void *ptr, Type type) {
    auto t = cast<RankedTensorType>(type);
    Type elem = t.getElementType();
    attnc_dtype d = elem.isBF16() ? ATTNC_DTYPE_BF16 : elem.isF16() ? ATTNC_DTYPE_F16
                    : elem.isInteger(32) ? ATTNC_DTYPE_I32 : elem.isInteger(64) ? ATTNC_DTYPE_I64
                    : isa<Float8E4M3FNType>(elem) ? ATTNC_DTYPE_F8E4M3
                                                   : ATTNC_DTYPE_F32;
    return attnc_tensor_contiguous(ptr, d, (int)t.getRank(), t.getShape().data(), 0);
  };
  std::vector<attnc_tensor> in, out;
  for (auto [n, ty] : llvm::enumerate(fn.getFunctionType().getInputs()))
    in.push_back(tensorOf(device[n], ty));
  for (Type ty : fn.getFunctionType().getResults()) {
    auto o = cast<RankedTensorType>(ty);
    size_t bytes = o.getNumElements() * 2;
    auto buf = buffers.alloc(bytes);
    if (!buf)
      return buf.takeError();
    // Poison the outputs: every element must be written by the program.
    std::vector<uint16_t> nan(o.getNumElements(), 0x7fc0);
    attnc_copy_to_device(*buf, nan.data(), bytes);
    out.push_back(tensorOf(*buf, ty));
  }
  auto s0 = std::chrono::steady_clock::now();
  if (attnc_gpu_program_run(prog.get(), in.data(), (int)in.size(), out.data(), (int)out.size(), nullptr,
                            nullptr) != ATTNC_OK)
    return runtimeError("the GPU program failed");
  if (attnc_stream_synchronize(nullptr) != ATTNC_OK)
    return runtimeError("the kernel failed");
  double runMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count();
  GPURunResult result;
  for (auto [t, ty] : llvm::zip(out, fn.getFunctionType().getResults())) {
    auto o = cast<RankedTensorType>(ty);
    size_t n = o.getNumElements();
    std::vector<uint16_t> host(n);
    if (attnc_copy_to_host(host.data(), t.data, n * 2) != ATTNC_OK)
      return runtimeError("cannot copy an output back");
    NpyArray arr;
    arr.dtype = DType::F32;
    arr.shape.assign(o.getShape().begin(), o.getShape().end());
    arr.data.resize(n * 4);
    float *dst = arr.as<float>();
    for (size_t k = 0; k < n; ++k)
      dst[k] = t.dtype == ATTNC_DTYPE_BF16 ? fromBF16(host[k]) : fromF16(host[k]);
    result.outputs.push_back(std::move(arr));
  }
  result.compileMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
  result.runMs = runMs;
  return result;
}
