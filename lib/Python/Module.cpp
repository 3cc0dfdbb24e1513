//===- Module.cpp - attnc._attnc: Python bindings of the compile API ------===//
//
// A thin layer over attnc.h (through attnc.hpp): a Program compiled from a spec with its dims
// bound, its signature, a CPU run on NumPy arrays (torch CPU tensors go
// through NumPy without copies, see attnc/__init__.py) and a GPU run on
// device pointers (torch CUDA tensors, on the caller's stream). Errors raise
// attnc.Error with the library's message. No torch headers: the extension
// builds wherever pybind11 does.
//
//===----------------------------------------------------------------------===//
#include "attnc/attnc.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {


py::object &errorType() {
  static py::object type;
  return type;
}

[[noreturn]] void raise(const attnc::Status &s) {
  PyErr_SetString(errorType().ptr(), (std::string(attnc_status_name(s.code())) + ": " + s.error()).c_str());
  throw py::error_already_set();
}
[[noreturn]] void raise(attnc_status s) { raise(attnc::Status::fromCode(s)); }

std::string dtypeName(attnc_dtype d) {
  switch (d) {
  case ATTNC_DTYPE_F32: return "float32";
  case ATTNC_DTYPE_F64: return "float64";
  case ATTNC_DTYPE_I32: return "int32";
  case ATTNC_DTYPE_I64: return "int64";
  case ATTNC_DTYPE_F16: return "float16";
  case ATTNC_DTYPE_BF16: return "bfloat16";
  case ATTNC_DTYPE_F8E4M3: return "float8_e4m3fn"; // torch's name; NumPy passes the bytes (uint8)
  default: return "unknown";
  }
}

class Program {
public:
  Program(const std::string &spec, const std::string &name, const std::map<std::string, int64_t> &dims,
          const std::string &target, const std::string &dtype, const std::string &cacheDir,
          const std::string &contextParallel, int world, bool decode) {
    attnc_compile_options o = attnc_compile_options_default();
    o.decode = decode ? 1 : 0;
    o.context_parallel = contextParallel.c_str();
    o.world = world;
    if (target == "cpu")
      o.target = ATTNC_TARGET_CPU;
    else if (target == "sm_90a")
      o.target = ATTNC_TARGET_SM90A;
    else
      throw py::value_error("target must be 'cpu' or 'sm_90a', not '" + target + "'");
    static const std::map<std::string, attnc_dtype> dtypes = {
        {"", ATTNC_DTYPE_INVALID}, {"float32", ATTNC_DTYPE_F32}, {"float64", ATTNC_DTYPE_F64},
        {"bfloat16", ATTNC_DTYPE_BF16}, {"float16", ATTNC_DTYPE_F16}};
    auto dt = dtypes.find(dtype);
    if (dt == dtypes.end())
      throw py::value_error("dtype must be float32, float64, bfloat16 or float16, not '" + dtype + "'");
    o.dtype = dt->second;
    o.cache_dir = cacheDir.c_str();
    {
      py::gil_scoped_release release;
      program = attnc::compile(spec, name, dims, o);
    }
    if (!program.ok())
      raise(program.status());
  }

  std::string name() const { return program.name(); }
  std::string mergeRule() const { return attnc_program_cp_merge(program.get()); }
  std::string cpSchedule() const { return attnc_program_cp_schedule(program.get()); }

  /// [(name, dtype, shape)] of the inputs or outputs.
  /// Whether every output's LSE is computed (GPU programs' Hopper kernels;
  /// CPU programs under context parallelism).
  bool hasLse() const {
    int n = (int)signature(true).size();
    for (int i = 0; i < n; ++i)
      if (!attnc_program_output_has_lse(program.get(), i))
        return false;
    return true;
  }

  py::list signature(bool outputs) const {
    py::list out;
    for (const attnc::TensorInfo &t : outputs ? program.outputs() : program.inputs())
      out.append(py::make_tuple(t.name, dtypeName(t.dtype), t.shape));
    return out;
  }

  /// Runs a CPU program on C-contiguous NumPy arrays (inputs in declaration
  /// order); returns the outputs as new arrays, then, if withLse, each
  /// output's LSE.
  py::list runCPU(const std::vector<py::array> &inputs, bool withLse) {
    attnc_program *p = program.get();
    std::vector<attnc_tensor> in, out;
    for (const py::array &a : inputs) {
      in.push_back(tensorOf(a));
      // NumPy has no FP8 type: an f8e4m3 input comes as its bytes.
      int i = (int)in.size() - 1;
      if (in.back().dtype == ATTNC_DTYPE_U8 && i < attnc_program_num_inputs(p) &&
          attnc_program_input_dtype(p, i) == ATTNC_DTYPE_F8E4M3)
        in.back().dtype = ATTNC_DTYPE_F8E4M3;
    }
    py::list results;
    std::vector<py::array> outArrays;
    for (const attnc::TensorInfo &o : program.outputs()) {
      outArrays.emplace_back(py::dtype(dtypeName(o.dtype)), std::vector<py::ssize_t>(o.shape.begin(), o.shape.end()));
      out.push_back(tensorOf(outArrays.back()));
    }
    std::vector<attnc_tensor> lse;
    for (size_t n = 0; withLse && n < program.outputs().size(); ++n) {
      std::vector<int64_t> shape = program.outputs()[n].shape;
      outArrays.emplace_back(py::dtype("float32"), std::vector<py::ssize_t>(shape.begin(), shape.end() - 1));
      lse.push_back(tensorOf(outArrays.back()));
    }
    attnc_status s;
    {
      py::gil_scoped_release release;
      s = attnc_program_run_cpu_lse(p, in.data(), (int)in.size(), out.data(), (int)out.size(),
                                    withLse ? lse.data() : nullptr);
    }
    if (s != ATTNC_OK)
      raise(s);
    for (py::array &a : outArrays)
      results.append(a);
    return results;
  }

  /// Launches a GPU program on `stream` (a CUstream as an integer) on
  /// `device`. ptrs and strides (in elements) list the inputs, the outputs,
  /// then, if withLse, one [B, H, Lq] f32 LSE per output; dtypes and shapes
  /// are the signature's (the Python layer checked them). Flat lists keep
  /// the per-call conversion short.
  void runGPU(const std::vector<uintptr_t> &ptrs, const std::vector<std::vector<int64_t>> &strides, int device,
              bool withLse, uintptr_t stream) {
    attnc_program *p = program.get();
    const int ni = attnc_program_num_inputs(p), no = attnc_program_num_outputs(p);
    const size_t want = (size_t)(ni + no * (withLse ? 2 : 1));
    if (ptrs.size() != want || strides.size() != want)
      throw py::value_error("run_gpu: expected " + std::to_string(want) + " tensors, got " +
                            std::to_string(ptrs.size()));
    std::vector<attnc_tensor> t(want);
    for (size_t n = 0; n < want; ++n) {
      int i = (int)n;
      int rank = i < ni ? attnc_program_input_shape(p, i, t[n].shape)
                        : attnc_program_output_shape(p, (i - ni) % no, t[n].shape) - (i >= ni + no ? 1 : 0);
      if ((size_t)rank != strides[n].size())
        throw py::value_error("run_gpu: tensor " + std::to_string(n) + " has rank " +
                              std::to_string(strides[n].size()) + ", the program's has " + std::to_string(rank));
      t[n].dtype = i < ni ? attnc_program_input_dtype(p, i)
                   : i < ni + no ? attnc_program_output_dtype(p, i - ni) : ATTNC_DTYPE_F32;
      t[n].data = (void *)ptrs[n];
      t[n].rank = rank;
      std::copy(strides[n].begin(), strides[n].end(), t[n].strides);
      t[n].device = device;
    }
    attnc_status s = attnc_program_run_gpu(p, t.data(), ni, t.data() + ni, no, withLse ? t.data() + ni + no : nullptr,
                                           (void *)stream);
    if (s != ATTNC_OK)
      raise(s);
  }

  /// attnc_program_keep_static: returns how many steps later runs skip.
  int keepStatic(const std::vector<std::string> &names) {
    std::vector<const char *> c;
    for (const std::string &n : names)
      c.push_back(n.c_str());
    int skipped = 0;
    if (attnc_status s = attnc_program_keep_static(program.get(), c.data(), (int)c.size(), &skipped))
      raise(s);
    return skipped;
  }

private:
  attnc::Program program;

  static attnc_tensor tensorOf(const py::array &a) {
    attnc_tensor t{};
    std::string kind = py::str(a.dtype());
    t.dtype = kind == "float32" ? ATTNC_DTYPE_F32 : kind == "float64" ? ATTNC_DTYPE_F64
              : kind == "int32" ? ATTNC_DTYPE_I32 : kind == "int64" ? ATTNC_DTYPE_I64
              : kind == "uint8" ? ATTNC_DTYPE_U8
                                : ATTNC_DTYPE_INVALID;
    if (a.ndim() > ATTNC_MAX_RANK)
      throw py::value_error("arrays of rank above " + std::to_string(ATTNC_MAX_RANK) + " are not supported");
    t.data = const_cast<void *>(a.data());
    t.rank = (int32_t)a.ndim();
    for (int d = 0; d < t.rank; ++d) {
      // A stride that is not a whole number of elements (a field of a packed
      // record) cannot be described to the library: refuse it.
      if (a.strides(d) % (py::ssize_t)a.itemsize() != 0)
        throw py::value_error("array stride of " + std::to_string(a.strides(d)) + " bytes on axis " +
                              std::to_string(d) + " is not a multiple of its " +
                              std::to_string(a.itemsize()) + "-byte elements");
      t.shape[d] = a.shape(d);
      t.strides[d] = a.strides(d) / (py::ssize_t)a.itemsize();
    }
    t.device = -1;
    return t;
  }
};

} // namespace

PYBIND11_MODULE(_attnc, m) {
  m.doc() = "attnc: compile attention specs in process (the C API, attnc.h)";
  static py::exception<std::runtime_error> error(m, "Error");
  errorType() = error;
  py::class_<Program>(m, "Program")
      .def(py::init<const std::string &, const std::string &, const std::map<std::string, int64_t> &,
                    const std::string &, const std::string &, const std::string &, const std::string &,
                    int, bool>(),
           py::arg("spec"), py::arg("name"), py::arg("dims"), py::arg("target") = "cpu",
           py::arg("dtype") = "", py::arg("cache_dir") = "", py::arg("context_parallel") = "",
           py::arg("world") = 1, py::arg("decode") = false)
      .def_property_readonly("name", &Program::name)
      .def_property_readonly("inputs", [](const Program &p) { return p.signature(false); })
      .def_property_readonly("outputs", [](const Program &p) { return p.signature(true); })
      .def_property_readonly("has_lse", &Program::hasLse)
      .def_property_readonly("merge_rule", &Program::mergeRule)
      .def_property_readonly("cp_schedule", [](const Program &p) { return p.cpSchedule(); })
      .def("run_cpu", &Program::runCPU, py::arg("inputs"), py::arg("with_lse") = false)
      .def("keep_static", &Program::keepStatic, py::arg("names"),
           "attnc_program_keep_static: these inputs keep their contents across runs; returns the "
           "number of steps later runs skip.")
      .def("run_gpu", &Program::runGPU, py::arg("ptrs"), py::arg("strides"), py::arg("device"),
           py::arg("with_lse"), py::arg("stream"),
           "Internal (attnc/__init__.py): the shapes are the signature's and are not re-checked; "
           "the caller passes tensors of exactly those shapes.");
}
