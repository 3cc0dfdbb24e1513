//===- DeviceMemory.cpp - the driver for hosts without a CUDA runtime -----===//
//
// Device memory, copies and stream waits over the driver API (the attnc CLI
// and the tests have no CUDA runtime of their own), and the driver's
// availability.
//
//===----------------------------------------------------------------------===//
#include "RuntimeInternal.h"

using namespace attnc::rt;

extern "C" {

attnc_status attnc_driver_available(void) {
  std::string why;
  if (!cu::driver(why))
    return fail(ATTNC_ERR_NO_DRIVER, why);
  return ATTNC_OK;
}

attnc_status attnc_set_driver_library(const char *path) {
  if (!cu::setDriverLibrary(path))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "the CUDA driver is already loaded; set its path before first use");
  return ATTNC_OK;
}

} // extern "C"

//===----------------------------------------------------------------------===//
// Device memory for hosts without a CUDA runtime.
//===----------------------------------------------------------------------===//

namespace {
/// The driver with `device`'s primary context current (or the thread's
/// current context when one is set), or null after setting the error.
const cu::Api *driverWithContext(int device) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api) {
    fail(ATTNC_ERR_NO_DRIVER, why);
    return nullptr;
  }
  cu::Context ctx = nullptr;
  cu::Result r = api->CtxGetCurrent(&ctx);
  if (r == cu::SUCCESS && ctx)
    return api;
  cu::Device dev;
  if ((r = api->DeviceGet(&dev, device)) != cu::SUCCESS) {
    fail(ATTNC_ERR_INVALID_ARGUMENT, "device " + std::to_string(device) + " does not exist: " +
                                         cu::errorText(*api, r));
    return nullptr;
  }
  if ((r = api->DevicePrimaryCtxRetain(&ctx, dev)) != cu::SUCCESS || (r = api->CtxSetCurrent(ctx)) != cu::SUCCESS) {
    fail(ATTNC_ERR_CUDA, "cannot make device " + std::to_string(device) + "'s primary context current: " +
                             cu::errorText(*api, r));
    return nullptr;
  }
  return api;
}
} // namespace

attnc_status attnc_device_alloc(int device, size_t bytes, void **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_device_alloc: out is NULL");
  *out = nullptr;
  const cu::Api *api = driverWithContext(device);
  if (!api)  // the error is set; keep its status
    return lastStatus();
  cu::DevicePtr p = 0;
  cu::Result r = api->MemAlloc(&p, bytes ? bytes : 1);
  if (r != cu::SUCCESS)
    return fail((attnc_status)cuStatus(r), "cuMemAlloc of " + std::to_string(bytes) + " bytes failed: " +
                                               cu::errorText(*api, r));
  *out = (void *)(uintptr_t)p;
  return ATTNC_OK;
}

namespace {
/// Whether STREAM is being captured into a CUDA graph.
attnc_status streamCapturing(const cu::Api &api, void *stream, bool &capturing) {
  int status = 0;
  cu::Result r = api.StreamIsCapturing((cu::Stream)stream, &status);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuStreamIsCapturing failed: " + cu::errorText(api, r));
  capturing = status != cu::STREAM_CAPTURE_STATUS_NONE;
  return ATTNC_OK;
}
} // namespace

attnc_status attnc_stream_is_capturing(int device, void *stream, int *capturing) {
  if (!capturing)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_stream_is_capturing: capturing is NULL");
  *capturing = 0;
  const cu::Api *api = driverWithContext(device);
  if (!api)
    return lastStatus();
  bool c = false;
  if (attnc_status s = streamCapturing(*api, stream, c))
    return s;
  *capturing = c;
  return ATTNC_OK;
}

attnc_status RelaxedCaptureScope::enter() {
  if (!A.ThreadExchangeStreamCaptureMode)
    return fail(ATTNC_ERR_NO_DRIVER, "the stream is being captured into a CUDA graph, and this CUDA driver "
                                     "lacks cuThreadExchangeStreamCaptureMode");
  mode = cu::STREAM_CAPTURE_MODE_RELAXED;
  cu::Result r = A.ThreadExchangeStreamCaptureMode(&mode);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuThreadExchangeStreamCaptureMode failed: " + cu::errorText(A, r));
  entered = true;
  return ATTNC_OK;
}

RelaxedCaptureScope::~RelaxedCaptureScope() {
  if (entered)
    A.ThreadExchangeStreamCaptureMode(&mode); // the caller's mode
}

attnc_status attnc_device_alloc_for_stream(int device, void *stream, size_t bytes, void **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_device_alloc_for_stream: out is NULL");
  *out = nullptr;
  int capturing = 0;
  if (attnc_status s = attnc_stream_is_capturing(device, stream, &capturing))
    return s;
  if (!capturing)
    return attnc_device_alloc(device, bytes, out);
  const cu::Api *api = driverWithContext(device);
  if (!api)
    return lastStatus();
  cu::DevicePtr p = 0;
  cu::Result r;
  {
    RelaxedCaptureScope relaxed(*api);
    if (attnc_status s = relaxed.enter())
      return s;
    r = api->MemAlloc(&p, bytes ? bytes : 1);
  }
  if (r != cu::SUCCESS)
    return fail((attnc_status)cuStatus(r), "cuMemAlloc of " + std::to_string(bytes) +
                                               " bytes during a stream capture failed: " + cu::errorText(*api, r));
  *out = (void *)(uintptr_t)p;
  return ATTNC_OK;
}

attnc_status attnc_device_free(void *ptr) {
  if (!ptr)
    return ATTNC_OK;
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemFree((cu::DevicePtr)(uintptr_t)ptr);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemFree failed: " + cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_copy_to_device(void *dst, const void *src, size_t bytes) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemcpyHtoD((cu::DevicePtr)(uintptr_t)dst, src, bytes);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemcpyHtoD of " + std::to_string(bytes) + " bytes failed: " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_copy_to_host(void *dst, const void *src, size_t bytes) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->MemcpyDtoH(dst, (cu::DevicePtr)(uintptr_t)src, bytes);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuMemcpyDtoH of " + std::to_string(bytes) + " bytes failed: " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}

attnc_status attnc_stream_synchronize(void *stream) {
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  cu::Result r = api->StreamSynchronize((cu::Stream)stream);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuStreamSynchronize failed (a kernel fault shows here): " +
                                    cu::errorText(*api, r));
  return ATTNC_OK;
}
