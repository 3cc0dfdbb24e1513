//===- CudaDriver.cpp - The CUDA driver API, loaded with dlopen -----------===//
#include "CudaDriver.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace attnc {
namespace rt {
namespace cu {

namespace {
std::mutex Mu;
bool Loaded = false;
void *Handle = nullptr;
Api TheApi;
std::string LibPath; // empty = default

template <typename F> void sym(F &slot, const char *name) {
  slot = reinterpret_cast<F>(dlsym(Handle, name));
}
} // namespace

std::string errorText(const Api &api, Result r) {
  const char *name = nullptr, *desc = nullptr;
  if (api.GetErrorName)
    api.GetErrorName(r, &name);
  if (api.GetErrorString)
    api.GetErrorString(r, &desc);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (desc)
    s += std::string(" (") + desc + ")";
  return s;
}

const Api *driver(std::string &why) {
  std::lock_guard<std::mutex> lock(Mu);
  if (Loaded)
    return &TheApi;
  std::string path = LibPath;
  if (path.empty()) {
    const char *env = getenv("ATTNC_CUDA_DRIVER");
    path = env && *env ? env : "libcuda.so.1";
  }
  if (!Handle) {
    Handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!Handle) {
      const char *e = dlerror();
      why = "CUDA driver not available: cannot load " + path + (e ? std::string(": ") + e : std::string());
      return nullptr;
    }
  }
  Api a = {};
  TheApi = a;
  sym(TheApi.Init, "cuInit");
  sym(TheApi.DeviceGet, "cuDeviceGet");
  sym(TheApi.DeviceGetCount, "cuDeviceGetCount");
  sym(TheApi.DeviceGetAttribute, "cuDeviceGetAttribute");
  sym(TheApi.CtxGetCurrent, "cuCtxGetCurrent");
  sym(TheApi.CtxSetCurrent, "cuCtxSetCurrent");
  sym(TheApi.CtxGetDevice, "cuCtxGetDevice");
  sym(TheApi.DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(TheApi.ModuleLoadData, "cuModuleLoadData");
  sym(TheApi.ModuleUnload, "cuModuleUnload");
  sym(TheApi.ModuleGetFunction, "cuModuleGetFunction");
  sym(TheApi.FuncSetAttribute, "cuFuncSetAttribute");
  sym(TheApi.LaunchKernel, "cuLaunchKernel");
  sym(TheApi.TensorMapEncodeTiled, "cuTensorMapEncodeTiled");
  sym(TheApi.MemAlloc, "cuMemAlloc_v2");
  sym(TheApi.MemFree, "cuMemFree_v2");
  sym(TheApi.MemcpyHtoD, "cuMemcpyHtoD_v2");
  sym(TheApi.MemcpyDtoH, "cuMemcpyDtoH_v2");
  sym(TheApi.MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  sym(TheApi.MemsetD32Async, "cuMemsetD32Async");
  sym(TheApi.StreamGetId, "cuStreamGetId");
  sym(TheApi.StreamIsCapturing, "cuStreamIsCapturing");
  sym(TheApi.StreamCreate, "cuStreamCreate");
  sym(TheApi.StreamDestroy, "cuStreamDestroy_v2");
  sym(TheApi.ThreadExchangeStreamCaptureMode, "cuThreadExchangeStreamCaptureMode");
  sym(TheApi.EventCreate, "cuEventCreate");
  sym(TheApi.EventRecord, "cuEventRecord");
  sym(TheApi.EventQuery, "cuEventQuery");
  sym(TheApi.EventSynchronize, "cuEventSynchronize");
  sym(TheApi.EventDestroy, "cuEventDestroy_v2");
  sym(TheApi.StreamSynchronize, "cuStreamSynchronize");
  sym(TheApi.PointerGetAttribute, "cuPointerGetAttribute");
  sym(TheApi.PointerGetAttributes, "cuPointerGetAttributes");
  sym(TheApi.GetErrorString, "cuGetErrorString");
  sym(TheApi.GetErrorName, "cuGetErrorName");
  const char *missing = nullptr;
#define REQ(f, n)                                                                                                     \
  if (!missing && !TheApi.f)                                                                                         \
    missing = n;
  REQ(Init, "cuInit") REQ(DeviceGet, "cuDeviceGet") REQ(DeviceGetCount, "cuDeviceGetCount")
  REQ(DeviceGetAttribute, "cuDeviceGetAttribute") REQ(CtxGetCurrent, "cuCtxGetCurrent")
  REQ(CtxSetCurrent, "cuCtxSetCurrent") REQ(CtxGetDevice, "cuCtxGetDevice")
  REQ(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") REQ(ModuleLoadData, "cuModuleLoadData")
  REQ(ModuleUnload, "cuModuleUnload") REQ(ModuleGetFunction, "cuModuleGetFunction")
  REQ(FuncSetAttribute, "cuFuncSetAttribute") REQ(LaunchKernel, "cuLaunchKernel")
  REQ(TensorMapEncodeTiled, "cuTensorMapEncodeTiled (needs a CUDA 12 driver)") REQ(MemAlloc, "cuMemAlloc_v2")
  REQ(MemFree, "cuMemFree_v2") REQ(MemcpyHtoD, "cuMemcpyHtoD_v2") REQ(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2") REQ(MemcpyDtoH, "cuMemcpyDtoH_v2") REQ(StreamSynchronize, "cuStreamSynchronize")
  REQ(MemsetD32Async, "cuMemsetD32Async") REQ(StreamGetId, "cuStreamGetId (needs a CUDA 12 driver)")
  REQ(StreamIsCapturing, "cuStreamIsCapturing") REQ(EventCreate, "cuEventCreate")
  REQ(EventRecord, "cuEventRecord") REQ(EventQuery, "cuEventQuery")
  REQ(EventSynchronize, "cuEventSynchronize") REQ(EventDestroy, "cuEventDestroy_v2")
  REQ(PointerGetAttribute, "cuPointerGetAttribute")
#undef REQ
  if (missing) {
    why = "CUDA driver not available: " + path + " lacks " + missing;
    return nullptr;
  }
  Result r = TheApi.Init(0);
  if (r != SUCCESS) {
    why = "CUDA driver not available: cuInit failed: " + errorText(TheApi, r);
    return nullptr;
  }
  int n = 0;
  r = TheApi.DeviceGetCount(&n);
  if (r != SUCCESS || n == 0) {
    why = "CUDA driver not available: no CUDA device" + (r != SUCCESS ? ": " + errorText(TheApi, r) : std::string());
    return nullptr;
  }
  Loaded = true;
  return &TheApi;
}

bool setDriverLibrary(const char *path) {
  std::lock_guard<std::mutex> lock(Mu);
  if (Loaded)
    return false;
  // A library opened by a failed attempt (no device, missing symbol) stays
  // open; dlclose of a driver is not worth the risk.
  Handle = nullptr;
  LibPath = path ? path : "";
  return true;
}

} // namespace cu
} // namespace rt
} // namespace attnc
