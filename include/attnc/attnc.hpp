//===- attnc.hpp - compile attention specs in process (C++ API) -*- C++ -*-===//
//
// A header-only C++17 layer over libattnc's C API (attnc.h): a move-only
// Program that frees itself, dims as a map, inputs and outputs as values, and
// errors as a Status (ok(), error()), so that hosts built without exceptions
// can use it; hosts with exceptions may call Status::check().
//
//   attnc::Program p = attnc::compile(text, "causal.attn", {{"B", 1}, {"H", 2}, {"L", 128}, {"D", 64}});
//   if (!p.ok())
//     std::cerr << p.error() << "\n";       // spec diagnostics, FILE:LINE:COL
//   attnc::Status s = p.runCPU({q.data(), k.data(), v.data()}, {o.data()});
//
// Link with libattnc and libattnc_runtime (CMake: attnc::attnc; pkg-config:
// attnc).
//===----------------------------------------------------------------------===//
#ifndef ATTNC_ATTNC_HPP
#define ATTNC_ATTNC_HPP

#include "attnc/attnc.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>
#if defined(__cpp_exceptions)
#include <stdexcept>
#endif

namespace attnc {

#if defined(__cpp_exceptions)
/// What Status::check() throws: the library's message, and its status.
class Error : public std::runtime_error {
public:
  Error(attnc_status code, const std::string &message) : std::runtime_error(message), code_(code) {}
  attnc_status code() const { return code_; }

private:
  attnc_status code_;
};
#endif

/// The outcome of a call: ATTNC_OK, or a status and the library's message
/// (copied at once: attnc_last_error() is overwritten by the next call).
class Status {
public:
  Status() = default;
  Status(attnc_status code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status fromCode(attnc_status code) {
    return code == ATTNC_OK ? Status() : Status(code, attnc_last_error());
  }
  bool ok() const { return code_ == ATTNC_OK; }
  attnc_status code() const { return code_; }
  const std::string &error() const { return message_; }
#if defined(__cpp_exceptions)
  void check() const {
    if (!ok())
      throw Error(code_, message_);
  }
#endif

private:
  attnc_status code_ = ATTNC_OK;
  std::string message_;
};

/// An input or output of a program: its name, element type and shape.
struct TensorInfo {
  std::string name;
  attnc_dtype dtype = ATTNC_DTYPE_INVALID;
  std::vector<int64_t> shape;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// A compiled spec (attnc_program), or the reason there is none.
class Program {
public:
  Program() : status_(ATTNC_ERR_INVALID_ARGUMENT, "attnc::Program: empty") {}
  explicit Program(attnc_program *program) : program_(program) {}
  explicit Program(Status failure) : status_(std::move(failure)) {}
  Program(Program &&other) noexcept
      : program_(std::exchange(other.program_, nullptr)), status_(std::move(other.status_)) {}
  Program &operator=(Program &&other) noexcept {
    std::swap(program_, other.program_);
    std::swap(status_, other.status_);
    return *this;
  }
  Program(const Program &) = delete;
  Program &operator=(const Program &) = delete;
  ~Program() { attnc_program_free(program_); }

  bool ok() const { return program_ != nullptr; }
  const Status &status() const { return status_; }
  const std::string &error() const { return status_.error(); }
  /// For the rest of the C API (GPU kernels: attnc_program_kernel).
  attnc_program *get() const { return program_; }

  std::string name() const { return attnc_program_name(program_); }
  attnc_target target() const { return attnc_program_target(program_); }
  std::vector<TensorInfo> inputs() const { return infos(true); }
  std::vector<TensorInfo> outputs() const { return infos(false); }

  /// CPU programs: runs on contiguous host buffers of the inputs' and
  /// outputs' dtype and shape, in declaration order (the library checks them).
  Status runCPU(const std::vector<const void *> &inputs, const std::vector<void *> &outputs) const {
    std::vector<TensorInfo> in = this->inputs(), out = this->outputs();
    if (inputs.size() != in.size() || outputs.size() != out.size())
      return Status(ATTNC_ERR_ARG_COUNT, "attnc::Program::runCPU: expected " + std::to_string(in.size()) +
                                             " inputs and " + std::to_string(out.size()) + " outputs");
    std::vector<attnc_tensor> args;
    for (size_t i = 0; i < in.size(); ++i) // the library only reads inputs
      args.push_back(tensor(const_cast<void *>(inputs[i]), in[i]));
    for (size_t i = 0; i < out.size(); ++i)
      args.push_back(tensor(outputs[i], out[i]));
    return Status::fromCode(attnc_program_run_cpu(program_, args.data(), (int)in.size(),
                                                  args.data() + in.size(), (int)out.size()));
  }

  /// GPU programs: launches on STREAM (a CUstream; nullptr = the default
  /// stream) over contiguous device buffers of DEVICE, in declaration order;
  /// asynchronous (attnc_stream_synchronize waits). The LSE goes to the
  /// program's scratch buffer.
  Status runGPU(const std::vector<const void *> &inputs, const std::vector<void *> &outputs, int device = 0,
                void *stream = nullptr) const {
    std::vector<TensorInfo> in = this->inputs(), out = this->outputs();
    if (inputs.size() != in.size() || outputs.size() != out.size())
      return Status(ATTNC_ERR_ARG_COUNT, "attnc::Program::runGPU: expected " + std::to_string(in.size()) +
                                             " inputs and " + std::to_string(out.size()) + " outputs");
    std::vector<attnc_tensor> args;
    for (size_t i = 0; i < in.size(); ++i)
      args.push_back(tensor(const_cast<void *>(inputs[i]), in[i], device));
    for (size_t i = 0; i < out.size(); ++i)
      args.push_back(tensor(outputs[i], out[i], device));
    return Status::fromCode(attnc_program_run_gpu(program_, args.data(), (int)in.size(), args.data() + in.size(),
                                                  (int)out.size(), nullptr, stream));
  }

  /// GPU programs: the inputs NAMES keep their contents across runs (a
  /// mask's tables); the steps that read only them run once per stream
  /// (attnc_program_keep_static). SKIPPED receives how many steps later runs
  /// skip.
  Status keepStatic(const std::vector<std::string> &names, int *skipped = nullptr) const {
    std::vector<const char *> c;
    for (const std::string &n : names)
      c.push_back(n.c_str());
    return Status::fromCode(attnc_program_keep_static(program_, c.data(), (int)c.size(), skipped));
  }

private:
  static attnc_tensor tensor(void *data, const TensorInfo &info, int device = -1) {
    return attnc_tensor_contiguous(data, info.dtype, (int)info.shape.size(), info.shape.data(), device);
  }
  std::vector<TensorInfo> infos(bool in) const {
    std::vector<TensorInfo> result;
    int n = in ? attnc_program_num_inputs(program_) : attnc_program_num_outputs(program_);
    for (int i = 0; i < n; ++i) {
      int64_t shape[ATTNC_MAX_RANK];
      int rank = in ? attnc_program_input_shape(program_, i, shape) : attnc_program_output_shape(program_, i, shape);
      result.push_back({in ? attnc_program_input_name(program_, i) : attnc_program_output_name(program_, i),
                        in ? attnc_program_input_dtype(program_, i) : attnc_program_output_dtype(program_, i),
                        std::vector<int64_t>(shape, shape + (rank > 0 ? rank : 0))});
    }
    return result;
  }

  attnc_program *program_ = nullptr;
  Status status_;
};

/// Parses, checks and compiles SPEC (text form, or JSON when NAME ends in
/// ".json"); every dim the spec declares must be bound in DIMS. NAME labels
/// the spec in diagnostics.
inline Program compile(const std::string &spec, const std::string &name,
                       const std::map<std::string, int64_t> &dims,
                       const attnc_compile_options &options = attnc_compile_options_default()) {
  std::vector<const char *> names;
  std::vector<int64_t> values;
  for (const auto &[dim, value] : dims) {
    names.push_back(dim.c_str());
    values.push_back(value);
  }
  attnc_program *program = nullptr;
  attnc_status s = attnc_compile(spec.data(), spec.size(), name.c_str(), (int)names.size(), names.data(),
                                 values.data(), &options, &program);
  return s == ATTNC_OK ? Program(program) : Program(Status::fromCode(s));
}

} // namespace attnc

#endif // ATTNC_ATTNC_HPP
