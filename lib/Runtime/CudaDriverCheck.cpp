//===- CudaDriverCheck.cpp - CudaDriver.h agrees with cuda.h --------------===//
//
// Built only where cuda.h is found: compile-time checks that the constants and
// types CudaDriver.h declares by hand are those of the real driver API.
//
//===----------------------------------------------------------------------===//
#include "CudaDriver.h"

#include <cuda.h>

namespace c = attnc::rt::cu;
#define SAME(a, b) ((long long)(a) == (long long)(b))
static_assert(sizeof(CUtensorMap) == sizeof(c::TensorMap) && alignof(CUtensorMap) == alignof(c::TensorMap), "");
static_assert(sizeof(CUdeviceptr) == sizeof(c::DevicePtr), "");
static_assert(sizeof(CUresult) == sizeof(c::Result) && sizeof(CUdevice) == sizeof(c::Device), "");
static_assert(SAME(CUDA_SUCCESS, c::SUCCESS) && SAME(CUDA_ERROR_INVALID_VALUE, c::ERROR_INVALID_VALUE) &&
                  SAME(CUDA_ERROR_OUT_OF_MEMORY, c::ERROR_OUT_OF_MEMORY) &&
                  SAME(CUDA_ERROR_NOT_INITIALIZED, c::ERROR_NOT_INITIALIZED) && SAME(CUDA_ERROR_NO_DEVICE, c::ERROR_NO_DEVICE) &&
                  SAME(CUDA_ERROR_INVALID_CONTEXT, c::ERROR_INVALID_CONTEXT),
              "");
static_assert(SAME(CU_POINTER_ATTRIBUTE_CONTEXT, c::POINTER_ATTRIBUTE_CONTEXT) &&
                  SAME(CU_POINTER_ATTRIBUTE_MEMORY_TYPE, c::POINTER_ATTRIBUTE_MEMORY_TYPE) &&
                  SAME(CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, c::POINTER_ATTRIBUTE_DEVICE_ORDINAL) &&
                  SAME(CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, c::POINTER_ATTRIBUTE_RANGE_START_ADDR) &&
                  SAME(CU_POINTER_ATTRIBUTE_RANGE_SIZE, c::POINTER_ATTRIBUTE_RANGE_SIZE),
              "");
static_assert(SAME(CU_MEMORYTYPE_HOST, c::MEMORYTYPE_HOST) && SAME(CU_MEMORYTYPE_DEVICE, c::MEMORYTYPE_DEVICE) &&
                  SAME(CU_MEMORYTYPE_ARRAY, c::MEMORYTYPE_ARRAY) && SAME(CU_MEMORYTYPE_UNIFIED, c::MEMORYTYPE_UNIFIED),
              "");
static_assert(SAME(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, c::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) &&
                  SAME(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, c::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR) &&
                  SAME(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, c::DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN) &&
                  SAME(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, c::DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
              "");
static_assert(SAME(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, c::FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), "");
static_assert(SAME(CU_STREAM_CAPTURE_STATUS_NONE, c::STREAM_CAPTURE_STATUS_NONE) &&
                  SAME(CU_STREAM_CAPTURE_MODE_RELAXED, c::STREAM_CAPTURE_MODE_RELAXED) &&
                  SAME(CU_STREAM_NON_BLOCKING, c::STREAM_NON_BLOCKING),
              "");
static_assert(SAME(CU_TENSOR_MAP_DATA_TYPE_UINT8, c::TMA_UINT8) && SAME(CU_TENSOR_MAP_DATA_TYPE_INT32, c::TMA_INT32) &&
                  SAME(CU_TENSOR_MAP_DATA_TYPE_INT64, c::TMA_INT64) && SAME(CU_TENSOR_MAP_DATA_TYPE_FLOAT16, c::TMA_FLOAT16) &&
                  SAME(CU_TENSOR_MAP_DATA_TYPE_FLOAT32, c::TMA_FLOAT32) &&
                  SAME(CU_TENSOR_MAP_DATA_TYPE_FLOAT64, c::TMA_FLOAT64) &&
                  SAME(CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, c::TMA_BFLOAT16),
              "");
static_assert(SAME(CU_TENSOR_MAP_INTERLEAVE_NONE, 0) && SAME(CU_TENSOR_MAP_INTERLEAVE_32B, 2) &&
                  SAME(CU_TENSOR_MAP_SWIZZLE_128B, 3) && SAME(CU_TENSOR_MAP_L2_PROMOTION_L2_128B, 2) &&
                  SAME(CU_TENSOR_MAP_L2_PROMOTION_L2_256B, 3) && SAME(CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE, 0) &&
                  SAME(CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA, 1),
              "");
