//===- RuntimeInternal.h - pieces the runtime's sources share ---*- C++ -*-===//
//
// The kernel handle and the helpers shared by Runtime.cpp (errors, loading,
// introspection), Validate.cpp (the host-side checks of a launch),
// Launch.cpp (device checks, tensor maps, the launch) and DeviceMemory.cpp
// (allocation and copies for hosts without a CUDA runtime).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_RUNTIME_RUNTIMEINTERNAL_H
#define ATTNC_LIB_RUNTIME_RUNTIMEINTERNAL_H

#include "attnc/Runtime/attnc_runtime.h"

#include "CudaDriver.h"
#include "Manifest.h"

#include <mutex>
#include <string>
#include <vector>

/// A loaded kernel: its manifest, its image, and per CUDA context the loaded
/// module and the launch buffers.
struct attnc_kernel {
  attnc::rt::Manifest m;
  std::string image; // binary + a trailing NUL (PTX needs it)
  bool hasImage = false;
  std::string origin; // manifest path, for messages
  std::mutex mu;
  struct PerContext {
    attnc::rt::cu::Context ctx;
    attnc::rt::cu::Module mod;
    attnc::rt::cu::Function fn;
    int device;
    int64_t sharedSet;   // the MAX_DYNAMIC_SHARED_SIZE_BYTES we set
    int sharedOptin;     // the device's per-block opt-in limit
    /// Per stream (by cuStreamGetId, unique for the context's lifetime):
    /// the device buffer holding the tensor maps and the workspace of the
    /// launches on it, reused while large enough (the maps are uploaded
    /// again only when they change). Launches on one stream are ordered, so
    /// reuse is safe; other streams get their own. `done` is recorded after
    /// each launch, so idle buffers can be freed (Launch.cpp).
    struct StreamBuffer {
      unsigned long long streamId;
      attnc::rt::cu::DevicePtr base; // 256-aligned, inside the allocation at `alloc`
      attnc::rt::cu::DevicePtr alloc;
      size_t bytes;
      std::vector<char> maps; // what base holds
      attnc::rt::cu::Event done;
    };
    std::vector<StreamBuffer> buffers;
    /// Buffers of launches captured into CUDA graphs: each captured launch
    /// gets its own, never rewritten, freed with the kernel (a graph must
    /// not outlive the kernels it launches). `upload` is a private
    /// non-blocking stream that fills them outside the capture.
    std::vector<attnc::rt::cu::DevicePtr> graphBuffers;
    attnc::rt::cu::Stream upload = nullptr;
  };
  std::vector<PerContext> loaded;
};

namespace attnc {
namespace rt {

/// Reads a manifest, program or kernel image (a regular file of at most
/// 256 MiB; anything else is refused before reading).
bool readArtifact(const std::string &path, std::string &out, std::string &err);
/// Records the error of this thread (attnc_last_error) and returns s.
attnc_status fail(attnc_status s, const std::string &msg);
/// The status of this thread's last failing call.
attnc_status lastStatus();
/// ATTNC_ERR_OUT_OF_MEMORY for the driver's out-of-memory, else ATTNC_ERR_CUDA.
int cuStatus(int r);

std::string hex(const void *p);
std::string argName(const attnc_kernel *k, int i);
std::string shapeText(const std::vector<Expr> &s);
std::string shapeText(const attnc_tensor &t);
bool validDtype(int32_t d);

/// What validate() works out for a launch.
struct Bound {
  std::vector<int64_t> dims;
  std::vector<int64_t> extentBytes; // per tensor: bytes from data to one past the last element
  int64_t grid[3] = {0, 0, 0}, block[3] = {0, 0, 0}, shared = 0;
  std::vector<int64_t> scalarValues; // per param (I32, I64)
  int64_t wsBytes = 0, wsZeroBytes = 0; // the workspace param, if any
  int64_t items = 0; // persistent kernels: work items (the manifest's grid, multiplied)
};

/// This thread's stream-capture mode relaxed while the scope lives, as
/// PyTorch's allocator does during a capture: an allocation, or a copy on a
/// stream outside the capture, is then allowed (its result stays with the
/// graph). enter() fails with a message when the driver lacks the call;
/// the caller's mode is restored on exit (DeviceMemory.cpp).
class RelaxedCaptureScope {
public:
  explicit RelaxedCaptureScope(const cu::Api &A) : A(A) {}
  RelaxedCaptureScope(const RelaxedCaptureScope &) = delete;
  RelaxedCaptureScope &operator=(const RelaxedCaptureScope &) = delete;
  ~RelaxedCaptureScope();
  attnc_status enter();

private:
  const cu::Api &A;
  int mode = 0;
  bool entered = false;
};

/// Frees a launch buffer once the launches that used it are done (Launch.cpp).
void freeStreamBuffer(const cu::Api &A, attnc_kernel::PerContext::StreamBuffer &sb);

/// Evaluates manifest expression e over b's sizes; on failure records the
/// error (ATTNC_ERR_LIMIT) prefixed by what(), built only then: this runs
/// many times per launch.
template <class What>
attnc_status evalOrFail(const Expr &e, const Bound &b, What what, int64_t &out) {
  std::string err;
  if (e.eval(b.dims.data(), out, err))
    return ATTNC_OK;
  return fail(ATTNC_ERR_LIMIT, std::string(what()) + ": " + err);
}

/// Every host-side check of a launch (attnc_kernel_validate). sms: the
/// device's SM count for the split-KV choice (0: assume 132, an H100 SXM or
/// H200, when no device is at hand).
attnc_status validate(const attnc_kernel *k, const attnc_tensor *args, int nargs, const int64_t *dimsIn,
                      Bound &b, int sms = 0);

} // namespace rt
} // namespace attnc

#endif // ATTNC_LIB_RUNTIME_RUNTIMEINTERNAL_H
