//===- Launch.cpp - device checks, tensor maps and the launch -------------===//
//
// attnc_kernel_launch: validate(), then the device checks of every pointer
// (cuPointerGetAttribute), the module of the current context (loaded once),
// the tensor maps, the per-stream launch buffer (maps and workspace), and
// cuLaunchKernel.
//
//===----------------------------------------------------------------------===//
#include "RuntimeInternal.h"

#include <cstdio>
#include <cstring>

using namespace attnc::rt;

namespace {

/// Loads the module into the current context (once) and returns its entry.
attnc_status moduleFor(attnc_kernel *k, const cu::Api &api, cu::Context ctx, int device,
                       attnc_kernel::PerContext *&pc) {
  for (auto &e : k->loaded)
    if (e.ctx == ctx) {
      pc = &e;
      return ATTNC_OK;
    }
  int major = 0, minor = 0, optin = 0;
  api.DeviceGetAttribute(&major, cu::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  api.DeviceGetAttribute(&minor, cu::DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  api.DeviceGetAttribute(&optin, cu::DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
  const std::string &chip = k->m.chip;
  int cm = 0, cn = 0;
  char suffix = 0;
  if (chip.size() >= 5 && chip.compare(0, 3, "sm_") == 0 && chip[3] >= '1' && chip[3] <= '9') {
    size_t p = 3;
    int num = 0;
    while (p < chip.size() && chip[p] >= '0' && chip[p] <= '9')
      num = num * 10 + (chip[p++] - '0');
    cm = num / 10;
    cn = num % 10;
    suffix = p < chip.size() ? chip[p] : 0;
    bool ok = suffix == 'a' || suffix == 'f' ? (major == cm && minor == cn)
                                             : (major == cm && minor >= cn);
    bool isPtx = k->image.find(".target") < 4096; // PTX text, JIT-compiled by the driver
    if (!ok && !(isPtx && suffix == 0 && (major > cm || (major == cm && minor >= cn))))
      return fail(ATTNC_ERR_UNSUPPORTED_DEVICE, "kernel " + k->m.kernel + " was built for " + chip + " but device " +
                                                    std::to_string(device) + " is sm_" + std::to_string(major) +
                                                    std::to_string(minor));
  }
  attnc_kernel::PerContext e = {};
  e.ctx = ctx;
  e.device = device;
  e.sharedOptin = optin;
  cu::Result r = api.ModuleLoadData(&e.mod, k->image.data());
  if (r != cu::SUCCESS)
    return fail((attnc_status)cuStatus(r), "cuModuleLoadData for kernel " + k->m.kernel + " (" + k->origin +
                                               ") failed: " + cu::errorText(api, r));
  r = api.ModuleGetFunction(&e.fn, e.mod, k->m.kernel.c_str());
  if (r != cu::SUCCESS) {
    api.ModuleUnload(e.mod);
    return fail(ATTNC_ERR_CUDA, "the binary of " + k->origin + " has no kernel named '" + k->m.kernel +
                                    "': " + cu::errorText(api, r));
  }
  k->loaded.push_back(e);
  pc = &k->loaded.back();
  return ATTNC_OK;
}

/// Buffers of streams beyond this many are freed once idle.
constexpr size_t kMaxStreamBuffers = 8;

} // namespace

void attnc::rt::freeStreamBuffer(const cu::Api &A, attnc_kernel::PerContext::StreamBuffer &sb) {
  A.EventSynchronize(sb.done);
  A.EventDestroy(sb.done);
  A.MemFree(sb.alloc);
}

namespace {

/// The buffer of a launch captured into a CUDA graph: a new allocation that
/// no later launch rewrites, filled through the private upload stream with
/// the capture mode relaxed for this thread (an allocation and a copy on a
/// stream outside the capture are then allowed), as PyTorch's allocator does
/// during capture. The workspace's zeroing is captured as a memset node.
attnc_status captureBuffer(const cu::Api &A, attnc_kernel::PerContext *pc, cu::Stream st, const void *maps,
                           size_t mapBytes, size_t mapPart, const Bound &b, cu::DevicePtr &base) {
  if (!A.StreamCreate || !A.StreamDestroy)
    return fail(ATTNC_ERR_NO_DRIVER, "the stream is being captured into a CUDA graph, and this CUDA driver lacks "
                                     "cuStreamCreate");
  size_t need = mapPart + (size_t)b.wsBytes;
  cu::DevicePtr alloc = 0;
  std::string what;
  cu::Result r = cu::SUCCESS;
  {
    RelaxedCaptureScope relaxed(A);
    if (attnc_status s = relaxed.enter())
      return s;
    if (mapBytes && !pc->upload && (r = A.StreamCreate(&pc->upload, cu::STREAM_NON_BLOCKING)) != cu::SUCCESS)
      what = "cuStreamCreate";
    else if ((r = A.MemAlloc(&alloc, need + 256)) != cu::SUCCESS)
      what = "allocating " + std::to_string(need) + " bytes for a captured launch's tensor maps and workspace";
    else {
      base = (alloc + 255) & ~(cu::DevicePtr)255;
      pc->graphBuffers.push_back(alloc);
      if (mapBytes && ((r = A.MemcpyHtoDAsync(base, maps, mapBytes, pc->upload)) != cu::SUCCESS ||
                       (r = A.StreamSynchronize(pc->upload)) != cu::SUCCESS))
        what = "copying a captured launch's tensor maps to the device";
    }
  }
  if (!what.empty())
    return fail((attnc_status)cuStatus(r), what + " failed: " + cu::errorText(A, r));
  if (b.wsZeroBytes > 0 &&
      (r = A.MemsetD32Async(base + mapPart, 0, (size_t)b.wsZeroBytes / 4, st)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "zeroing the workspace failed: " + cu::errorText(A, r));
  return ATTNC_OK;
}

/// The device buffer of a launch on `st` (PerContext::StreamBuffer): the
/// tensor maps, uploaded only when they differ from what the buffer holds,
/// then the workspace, whose zeroed prefix (the split-KV counters) is cleared
/// with a stream-ordered memset. sb = null when the kernel needs none or the
/// launch is being captured (captureBuffer); base = the buffer's address.
attnc_status launchBuffer(const cu::Api &A, attnc_kernel::PerContext *pc, cu::Stream st, const void *maps,
                          size_t mapBytes, size_t mapPart, const Bound &b,
                          attnc_kernel::PerContext::StreamBuffer *&sb, cu::DevicePtr &base) {
  size_t need = mapPart + (size_t)b.wsBytes;
  sb = nullptr;
  base = 0;
  if (!need)
    return ATTNC_OK;
  int capture = 0;
  cu::Result r = A.StreamIsCapturing(st, &capture);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuStreamIsCapturing failed: " + cu::errorText(A, r));
  if (capture != cu::STREAM_CAPTURE_STATUS_NONE)
    return captureBuffer(A, pc, st, maps, mapBytes, mapPart, b, base);
  unsigned long long id = 0;
  if ((r = A.StreamGetId(st, &id)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuStreamGetId failed: " + cu::errorText(A, r));
  auto &bufs = pc->buffers;
  for (auto &e : bufs)
    if (e.streamId == id)
      sb = &e;
  if (sb && sb->bytes < need) {
    freeStreamBuffer(A, *sb);
    bufs.erase(bufs.begin() + (sb - bufs.data()));
    sb = nullptr;
  }
  if (!sb) {
    // Many streams: free the buffers whose launches have all completed.
    if (bufs.size() >= kMaxStreamBuffers)
      for (size_t i = bufs.size(); i-- > 0;)
        if (A.EventQuery(bufs[i].done) == cu::SUCCESS) {
          freeStreamBuffer(A, bufs[i]);
          bufs.erase(bufs.begin() + i);
        }
    attnc_kernel::PerContext::StreamBuffer e = {};
    e.streamId = id;
    e.bytes = need;
    if ((r = A.MemAlloc(&e.alloc, need + 256)) != cu::SUCCESS)
      return fail((attnc_status)cuStatus(r), "allocating " + std::to_string(need) +
                                                 " bytes for the tensor maps and the workspace failed: " +
                                                 cu::errorText(A, r));
    if ((r = A.EventCreate(&e.done, /*CU_EVENT_DISABLE_TIMING*/ 2)) != cu::SUCCESS) {
      A.MemFree(e.alloc);
      return fail(ATTNC_ERR_CUDA, "cuEventCreate failed: " + cu::errorText(A, r));
    }
    e.base = (e.alloc + 255) & ~(cu::DevicePtr)255; // CUtensorMap is 128-byte aligned
    bufs.push_back(std::move(e));
    sb = &bufs.back();
  }
  base = sb->base;
  const char *mp = (const char *)maps;
  if (mapBytes && (sb->maps.size() != mapBytes || memcmp(sb->maps.data(), mp, mapBytes) != 0)) {
    if ((r = A.MemcpyHtoDAsync(sb->base, mp, mapBytes, st)) != cu::SUCCESS) {
      sb->maps.clear();
      return fail(ATTNC_ERR_CUDA, "copying the tensor maps to the device failed: " + cu::errorText(A, r));
    }
    sb->maps.assign(mp, mp + mapBytes);
  }
  if (b.wsZeroBytes > 0 &&
      (r = A.MemsetD32Async(sb->base + mapPart, 0, (size_t)b.wsZeroBytes / 4, st)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "zeroing the workspace failed: " + cu::errorText(A, r));
  return ATTNC_OK;
}

int tmaType(attnc_dtype d) {
  switch (d) {
  case ATTNC_DTYPE_F32: return cu::TMA_FLOAT32;
  case ATTNC_DTYPE_F16: return cu::TMA_FLOAT16;
  case ATTNC_DTYPE_BF16: return cu::TMA_BFLOAT16;
  case ATTNC_DTYPE_F64: return cu::TMA_FLOAT64;
  case ATTNC_DTYPE_I32: return cu::TMA_INT32;
  case ATTNC_DTYPE_I64: return cu::TMA_INT64;
  case ATTNC_DTYPE_U8: return cu::TMA_UINT8;
  default: return -1;
  }
}

} // namespace

extern "C" {

attnc_status attnc_kernel_launch(attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dims,
                                 void *stream) {
  Bound b;
  if (attnc_status s = validate(k, args, nargs, dims, b))
    return s;
  const Manifest &m = k->m;
  if (!k->hasImage)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "kernel " + m.kernel + " was loaded without a binary; it cannot launch");
  std::string why;
  const cu::Api *api = cu::driver(why);
  if (!api)
    return fail(ATTNC_ERR_NO_DRIVER, why);
  const cu::Api &A = *api;
  cu::Stream st = (cu::Stream)stream;

  // The context: the thread's current one, else the tensors' device's primary one.
  cu::Context ctx = nullptr;
  cu::Result r = A.CtxGetCurrent(&ctx);
  if (r != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuCtxGetCurrent failed: " + cu::errorText(A, r));
  if (!ctx) {
    int want = nargs > 0 ? args[0].device : 0;
    cu::Device dev;
    if ((r = A.DeviceGet(&dev, want)) != cu::SUCCESS)
      return fail(ATTNC_ERR_POINTER, argName(k, 0) + ": device " + std::to_string(want) +
                                         " does not exist: " + cu::errorText(A, r));
    if ((r = A.DevicePrimaryCtxRetain(&ctx, dev)) != cu::SUCCESS || (r = A.CtxSetCurrent(ctx)) != cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cannot make device " + std::to_string(want) +
                                      "'s primary context current: " + cu::errorText(A, r));
  }
  cu::Device ctxDev = 0;
  if ((r = A.CtxGetDevice(&ctxDev)) != cu::SUCCESS)
    return fail(ATTNC_ERR_CUDA, "cuCtxGetDevice failed: " + cu::errorText(A, r));
  // The split-KV choice (a validation over again) and a persistent grid
  // (one block per SM) depend on the device's SM count.
  if (m.splitDim >= 0 || m.persistent) {
    int sms = 0;
    A.DeviceGetAttribute(&sms, cu::DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, ctxDev);
    if (sms > 0 && m.splitDim >= 0) {
      if (attnc_status s = validate(k, args, nargs, dims, b, sms))
        return s;
    } else if (sms > 0) {
      b.grid[0] = std::min<int64_t>(b.items, sms);
    }
  }

  // Device checks of every pointer.
  for (int i = 0; i < nargs; ++i) {
    const attnc_tensor &t = args[i];
    if (b.extentBytes[i] == 0)
      continue;
    if (t.device != ctxDev)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": tensor says device " + std::to_string(t.device) +
                                         " but the current context is on device " + std::to_string(ctxDev));
    cu::DevicePtr p = (cu::DevicePtr)(uintptr_t)t.data;
    unsigned memType = 0;
    int ordinal = -1;
    cu::DevicePtr start = 0;
    size_t size = 0;
    if (A.PointerGetAttributes) {
      // One driver call for the four attributes (a launch checks every
      // tensor: this is most of the runtime's host time per launch).
      int attrs[4] = {cu::POINTER_ATTRIBUTE_MEMORY_TYPE, cu::POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                      cu::POINTER_ATTRIBUTE_RANGE_START_ADDR, cu::POINTER_ATTRIBUTE_RANGE_SIZE};
      void *data[4] = {&memType, &ordinal, &start, &size};
      r = A.PointerGetAttributes(4, attrs, data, p);
      if (r == cu::SUCCESS && memType == 0)
        return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) +
                                           " is not memory known to CUDA (a host pointer?)");
    } else {
      r = A.PointerGetAttribute(&memType, cu::POINTER_ATTRIBUTE_MEMORY_TYPE, p);
      if (r == cu::SUCCESS) {
        A.PointerGetAttribute(&ordinal, cu::POINTER_ATTRIBUTE_DEVICE_ORDINAL, p);
        if (A.PointerGetAttribute(&start, cu::POINTER_ATTRIBUTE_RANGE_START_ADDR, p) != cu::SUCCESS ||
            A.PointerGetAttribute(&size, cu::POINTER_ATTRIBUTE_RANGE_SIZE, p) != cu::SUCCESS)
          size = 0;
      }
    }
    if (r != cu::SUCCESS)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) +
                                         " is not memory known to CUDA (a host pointer?): " + cu::errorText(A, r));
    if (memType == cu::MEMORYTYPE_HOST)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) + " is host memory, not device memory");
    if (memType == cu::MEMORYTYPE_DEVICE && ordinal >= 0 && ordinal != ctxDev)
      return fail(ATTNC_ERR_POINTER, argName(k, i) + ": " + hex(t.data) + " is memory of device " +
                                         std::to_string(ordinal) + ", the current context is on device " +
                                         std::to_string(ctxDev));
    if (size > 0 && start <= p) {
      uint64_t avail = start + size - p;
      if ((uint64_t)b.extentBytes[i] > avail)
        return fail(ATTNC_ERR_POINTER, argName(k, i) + ": the allocation at " + hex(t.data) + " holds " +
                                           std::to_string(avail) + " bytes from there, the tensor " + shapeText(t) +
                                           " needs " + std::to_string(b.extentBytes[i]));
    }
  }

  std::lock_guard<std::mutex> lock(k->mu);
  attnc_kernel::PerContext *pc = nullptr;
  if (attnc_status s = moduleFor(k, A, ctx, ctxDev, pc))
    return s;
  if (b.shared > pc->sharedSet) {
    if (pc->sharedOptin > 0 && b.shared > pc->sharedOptin)
      return fail(ATTNC_ERR_LIMIT, "kernel " + m.kernel + " needs " + std::to_string(b.shared) +
                                       " bytes of shared memory, device " + std::to_string(ctxDev) + " allows " +
                                       std::to_string(pc->sharedOptin));
    if ((r = A.FuncSetAttribute(pc->fn, cu::FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)b.shared)) !=
        cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, " + std::to_string(b.shared) +
                                      ") failed: " + cu::errorText(A, r));
    pc->sharedSet = b.shared;
  }

  // Encode the tensor maps.
  std::vector<cu::TensorMap> maps, valueMaps;
  std::vector<int> mapOfParam(m.params.size(), -1);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind != ParamSpec::TensorMap)
      continue;
    uint64_t gd[5], gs[4];
    unsigned box[5], es[5];
    std::string desc;
    for (int d = 0; d < ps.rank; ++d) {
      int64_t v, bx, e;
      if (attnc_status s = evalOrFail(ps.globalDims[d], b, [&] { return ps.name + ".global_dims"; }, v))
        return s;
      if (attnc_status s = evalOrFail(ps.box[d], b, [&] { return ps.name + ".box"; }, bx))
        return s;
      if (attnc_status s = evalOrFail(ps.elementStrides[d], b, [&] { return ps.name + ".element_strides"; }, e))
        return s;
      if (v < 1 || v > (int64_t(1) << 32))
        return fail(ATTNC_ERR_LIMIT, ps.name + ": global_dims[" + std::to_string(d) + "] = " + std::to_string(v) +
                                         " is outside the TMA range 1..2^32");
      if (bx < 1 || bx > 256 || e < 1 || e > 8)
        return fail(ATTNC_ERR_LIMIT, ps.name + ": box or element stride out of the TMA range");
      gd[d] = (uint64_t)v;
      box[d] = (unsigned)bx;
      es[d] = (unsigned)e;
      desc += (d ? "," : "") + std::to_string(v);
      if (d + 1 < ps.rank) {
        int64_t s;
        if (attnc_status st2 = evalOrFail(ps.globalStridesBytes[d], b, [&] { return ps.name + ".global_strides_bytes"; }, s))
          return st2;
        if (s < 16 || s % 16 != 0 || s >= (int64_t(1) << 40))
          return fail(ATTNC_ERR_LIMIT, ps.name + ": global stride " + std::to_string(s) +
                                           " bytes must be a multiple of 16 below 2^40");
        gs[d] = (uint64_t)s;
      }
    }
    cu::TensorMap tm;
    memset(&tm, 0, sizeof tm);
    r = A.TensorMapEncodeTiled(&tm, tmaType(ps.mapDtype), (unsigned)ps.rank, args[ps.tensor].data, gd, gs, box, es,
                               ps.interleave, ps.swizzle, ps.l2Promotion, ps.oobFill);
    if (r != cu::SUCCESS)
      return fail(ATTNC_ERR_CUDA, "cuTensorMapEncodeTiled for " + ps.name + " (global_dims {" + desc +
                                      "}) failed: " + cu::errorText(A, r));
    // A by-value map is a kernel parameter itself: no device copy, nothing
    // to upload per launch; the others go to the launch buffer.
    std::vector<cu::TensorMap> &dst = ps.byValue ? valueMaps : maps;
    mapOfParam[p] = (int)dst.size();
    dst.push_back(tm);
  }

  size_t mapBytes = maps.size() * sizeof(cu::TensorMap);
  size_t mapPart = (mapBytes + 255) & ~(size_t)255;
  attnc_kernel::PerContext::StreamBuffer *sb = nullptr;
  cu::DevicePtr mapBase = 0;
  if (attnc_status s = launchBuffer(A, pc, st, maps.data(), mapBytes, mapPart, b, sb, mapBase))
    return s;
  std::vector<uint64_t> slots(m.params.size(), 0);
  std::vector<void *> ptrs(m.params.size(), nullptr);
  for (size_t p = 0; p < m.params.size(); ++p) {
    const ParamSpec &ps = m.params[p];
    if (ps.kind == ParamSpec::TensorMap && ps.byValue) {
      ptrs[p] = &valueMaps[mapOfParam[p]];
      continue;
    } else if (ps.kind == ParamSpec::TensorMap) {
      slots[p] = mapBase + (uint64_t)mapOfParam[p] * sizeof(cu::TensorMap);
    } else if (ps.kind == ParamSpec::Ptr) {
      slots[p] = (uint64_t)(uintptr_t)args[ps.tensor].data;
    } else if (ps.kind == ParamSpec::Workspace) {
      slots[p] = mapBase + mapPart;
    } else if (ps.kind == ParamSpec::I64) {
      int64_t v = b.scalarValues[p];
      memcpy(&slots[p], &v, sizeof v);
    } else {
      int32_t v = (int32_t)b.scalarValues[p];
      memcpy(&slots[p], &v, sizeof v);
    }
    ptrs[p] = &slots[p];
  }
  r = A.LaunchKernel(pc->fn, (unsigned)b.grid[0], (unsigned)b.grid[1], (unsigned)b.grid[2], (unsigned)b.block[0],
                     (unsigned)b.block[1], (unsigned)b.block[2], (unsigned)b.shared, st, ptrs.data(), nullptr);
  attnc_status result = ATTNC_OK;
  if (r != cu::SUCCESS) {
    char cfg[160];
    snprintf(cfg, sizeof cfg, "grid (%lld,%lld,%lld) block (%lld,%lld,%lld) shared %lld", (long long)b.grid[0],
             (long long)b.grid[1], (long long)b.grid[2], (long long)b.block[0], (long long)b.block[1],
             (long long)b.block[2], (long long)b.shared);
    result = fail((attnc_status)cuStatus(r), "cuLaunchKernel of " + m.kernel + " (" + cfg +
                                                 ") failed: " + cu::errorText(A, r));
  }
  if (sb && (r = A.EventRecord(sb->done, st)) != cu::SUCCESS && result == ATTNC_OK)
    result = fail(ATTNC_ERR_CUDA, "cuEventRecord failed: " + cu::errorText(A, r));
  return result;
}

} // extern "C"
