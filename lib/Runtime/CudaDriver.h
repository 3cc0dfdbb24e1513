//===- CudaDriver.h - The CUDA driver API, loaded with dlopen --*- C++ -*-===//
//
// The few driver types and entry points the runtime uses, declared here so
// that the library needs no CUDA headers to build (the values are those of
// CUDA 12/13's cuda.h; CudaDriverCheck.cpp static_asserts them where cuda.h
// is available). libcuda.so.1 is opened on first use.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_RUNTIME_CUDADRIVER_H
#define ATTNC_LIB_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace attnc {
namespace rt {
namespace cu {

typedef int Result; // CUresult
typedef int Device; // CUdevice
typedef struct CtxSt *Context;
typedef struct ModSt *Module;
typedef struct FuncSt *Function;
typedef struct StreamSt *Stream;
typedef struct EventSt *Event;
typedef unsigned long long DevicePtr; // CUdeviceptr (64-bit)
struct alignas(128) TensorMap {
  uint64_t opaque[16];
};
static_assert(sizeof(TensorMap) == 128, "CUtensorMap is 128 bytes");

enum : int {
  SUCCESS = 0,
  ERROR_INVALID_VALUE = 1,
  ERROR_OUT_OF_MEMORY = 2,
  ERROR_NOT_INITIALIZED = 3,
  ERROR_NO_DEVICE = 100,
  ERROR_INVALID_CONTEXT = 201,
};
enum : int {
  POINTER_ATTRIBUTE_CONTEXT = 1,
  POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
  POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9,
  POINTER_ATTRIBUTE_RANGE_START_ADDR = 11,
  POINTER_ATTRIBUTE_RANGE_SIZE = 12,
};
enum : unsigned { MEMORYTYPE_HOST = 1, MEMORYTYPE_DEVICE = 2, MEMORYTYPE_ARRAY = 3, MEMORYTYPE_UNIFIED = 4 };
enum : int {
  DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
  DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
};
enum : int { FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8 };
enum : int { STREAM_CAPTURE_STATUS_NONE = 0, STREAM_CAPTURE_MODE_RELAXED = 2 };
enum : unsigned { STREAM_NON_BLOCKING = 1 };
enum : int { // CUtensorMapDataType
  TMA_UINT8 = 0, TMA_UINT16 = 1, TMA_UINT32 = 2, TMA_INT32 = 3, TMA_UINT64 = 4, TMA_INT64 = 5,
  TMA_FLOAT16 = 6, TMA_FLOAT32 = 7, TMA_FLOAT64 = 8, TMA_BFLOAT16 = 9,
};

/// The driver entry points (nullptr when the loaded driver lacks one).
struct Api {
  Result (*Init)(unsigned);
  Result (*DeviceGet)(Device *, int);
  Result (*DeviceGetCount)(int *);
  Result (*DeviceGetAttribute)(int *, int, Device);
  Result (*CtxGetCurrent)(Context *);
  Result (*CtxSetCurrent)(Context);
  Result (*CtxGetDevice)(Device *);
  Result (*DevicePrimaryCtxRetain)(Context *, Device);
  Result (*ModuleLoadData)(Module *, const void *);
  Result (*ModuleUnload)(Module);
  Result (*ModuleGetFunction)(Function *, Module, const char *);
  Result (*FuncSetAttribute)(Function, int, int);
  Result (*LaunchKernel)(Function, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, Stream,
                         void **, void **);
  Result (*TensorMapEncodeTiled)(TensorMap *, int, unsigned, void *, const uint64_t *, const uint64_t *,
                                 const unsigned *, const unsigned *, int, int, int, int);
  Result (*MemAlloc)(DevicePtr *, size_t);
  Result (*MemFree)(DevicePtr);
  Result (*MemcpyHtoD)(DevicePtr, const void *, size_t);
  Result (*MemcpyDtoH)(void *, DevicePtr, size_t);
  Result (*MemcpyHtoDAsync)(DevicePtr, const void *, size_t, Stream);
  Result (*MemsetD32Async)(DevicePtr, unsigned, size_t, Stream);
  Result (*StreamGetId)(Stream, unsigned long long *);
  Result (*StreamIsCapturing)(Stream, int *); // CUstreamCaptureStatus
  // Optional (graph capture): a private upload stream, and the capture mode
  // relaxed while a captured launch allocates and fills its own buffer.
  Result (*StreamCreate)(Stream *, unsigned);
  Result (*StreamDestroy)(Stream);
  Result (*ThreadExchangeStreamCaptureMode)(int *); // CUstreamCaptureMode
  Result (*EventCreate)(Event *, unsigned);
  Result (*EventRecord)(Event, Stream);
  Result (*EventQuery)(Event);
  Result (*EventSynchronize)(Event);
  Result (*EventDestroy)(Event);
  Result (*StreamSynchronize)(Stream);
  Result (*PointerGetAttribute)(void *, int, DevicePtr);
  // Optional: several attributes in one call (0 / null for unknown memory).
  Result (*PointerGetAttributes)(unsigned, int *, void **, DevicePtr);
  Result (*GetErrorString)(Result, const char **);
  Result (*GetErrorName)(Result, const char **);
};

/// The loaded driver, or nullptr with why (e.g. "CUDA driver not available:
/// libcuda.so.1: cannot open shared object file"). Loads and cuInit()s once;
/// thread-safe.
const Api *driver(std::string &why);
/// Use another library path from now on (nullptr = default). False if a
/// driver is already loaded.
bool setDriverLibrary(const char *path);
/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string errorText(const Api &api, Result r);

} // namespace cu
} // namespace rt
} // namespace attnc

#endif
