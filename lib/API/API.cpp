//===- API.cpp - compile attention specs in process (attnc.h) -------------===//
//
// The C API over the compiler: spec -> attn IR (lib/Frontend) -> a JIT CPU
// function (lib/CPU) or runtime kernels (lib/GPU + lib/Runtime). Each
// compile owns its MLIRContext, so compiles on several threads share no IR.
//
//===----------------------------------------------------------------------===//
#include "attnc/attnc.h"

#include "attnc/CPU/CPUBackend.h"
#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Frontend/IndexInputs.h"
#include "attnc/Frontend/SpecToMLIR.h"
#include "attnc/Passes/ShardSchedule.h"
#include "attnc/Runtime/KernelCache.h"
#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Spec/ContextParallel.h"
#include "attnc/Spec/Parser.h"
#ifdef ATTNC_HAVE_GPU
#include "attnc/GPU/GPUArtifacts.h"
#endif
// The runtime's per-thread error slot, so that attnc_last_error() reports
// this library's errors too (lib/Runtime's private header).
#include "Manifest.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <mutex>

using namespace mlir;
using namespace attnc;

struct attnc_program {
  struct Tensor {
    std::string name;
    attnc_dtype dtype = ATTNC_DTYPE_INVALID;
    std::vector<int64_t> shape;
  };
  std::string name;
  attnc_target target = ATTNC_TARGET_CPU;
  std::vector<Tensor> inputs, outputs;
  /// CPU: the LSE results that follow the outputs (context parallelism).
  std::vector<Tensor> cpuLse;
  /// Context parallelism: "lse" or "sum" (attnc_program_cp_merge), and the
  /// plan as JSON (attnc_program_cp_schedule); else "".
  std::string cpMerge, cpSchedule;
  spec::Spec spec;
  llvm::StringMap<int64_t> dims;
  /// GPU runs check the index inputs on the host first (attnc.h).
  bool checkTables = true;
  std::unique_ptr<MLIRContext> ctx;
  std::unique_ptr<CPUKernel> cpu;
#ifdef ATTNC_HAVE_GPU
  /// GPU: the program's steps over loaded kernels; per loaded kernel, the
  /// spec input bound to each of its tensors ("" for none).
  std::unique_ptr<attnc_gpu_program, void (*)(attnc_gpu_program *)> gpu{nullptr, attnc_gpu_program_free};
  std::vector<std::vector<std::string>> kernelInputs;
  std::vector<int> kernelOutputs;
#endif
};

namespace {
attnc_status fail(attnc_status s, const std::string &msg) { return rt::setLastError(s, msg); }
attnc_status fail(attnc_status s, llvm::Error e) { return fail(s, llvm::toString(std::move(e))); }

attnc_dtype dtypeOf(Type t) {
  if (t.isF32()) return ATTNC_DTYPE_F32;
  if (t.isF64()) return ATTNC_DTYPE_F64;
  if (t.isBF16()) return ATTNC_DTYPE_BF16;
  if (t.isF16()) return ATTNC_DTYPE_F16;
  if (t.isInteger(32)) return ATTNC_DTYPE_I32;
  if (t.isInteger(64)) return ATTNC_DTYPE_I64;
  if (isa<Float8E4M3FNType>(t)) return ATTNC_DTYPE_F8E4M3;
  return ATTNC_DTYPE_INVALID;
}

/// The dims bound by the caller, checked against the spec's.
attnc_status bindDims(const spec::Spec &spec, int n, const char *const *names,
                      const int64_t *values, LoweringOptions &opts) {
  for (int i = 0; i < n; ++i) {
    std::string d = names && names[i] ? names[i] : "";
    if (!llvm::is_contained(spec.dims, d))
      return fail(ATTNC_ERR_INVALID_ARGUMENT, "dim '" + d + "': the spec declares no such dim");
    if (opts.dims.count(d))
      return fail(ATTNC_ERR_INVALID_ARGUMENT, "dim '" + d + "' is bound twice");
    if (values[i] < 1 || values[i] > spec::kMaxIntParam)
      return fail(ATTNC_ERR_LIMIT, "dim " + d + " = " + std::to_string(values[i]) +
                                       " is out of range (1.." + std::to_string(spec::kMaxIntParam) + ")");
    opts.dims[d] = values[i];
  }
  for (const std::string &d : spec.dims)
    if (!opts.dims.count(d))
      return fail(ATTNC_ERR_INVALID_ARGUMENT, "dim '" + d + "' is not bound (every dim needs a value)");
  return ATTNC_OK;
}

#ifdef ATTNC_HAVE_GPU
/// Compiles the program's kernels and loads them into its runner.
attnc_status loadKernels(attnc_program &p, ModuleOp module, const attnc_compile_options &o) {
  GPUKernelOptions kopts;
  kopts.decode = o.decode != 0;
  std::string cacheDir = o.cache_dir && *o.cache_dir ? o.cache_dir : rt::defaultCacheDir();
  auto compiled = compileForGPUCached(module, "sm_90a", cacheDir, nullptr, kopts);
  if (!compiled)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, compiled.takeError());
  auto loaded = loadGPUProgram(*compiled);
  if (!loaded)
    return fail(ATTNC_ERR_MANIFEST, loaded.takeError());
  p.gpu.reset(*loaded);
  // Introspection: per kernel (in the order steps first use them, as the
  // runtime lists them), the spec output its attention writes and the spec
  // input behind each of its tensors.
  using Kind = manifest::ProgramBuffer::Kind;
  const manifest::Program &prog = compiled->program;
  std::set<std::string> seen;
  for (const manifest::ProgramStep &s : prog.steps) {
    if (!seen.insert(s.kernel).second)
      continue;
    attnc_kernel *k = attnc_gpu_program_kernel(p.gpu.get(), (int)p.kernelInputs.size());
    std::vector<std::string> &names = p.kernelInputs.emplace_back();
    int &out = p.kernelOutputs.emplace_back(-1);
    for (int t = 0; k && t < attnc_kernel_num_tensors(k); ++t)
      for (const auto &[tensor, b] : s.bind)
        if (tensor == attnc_kernel_tensor_name(k, t)) {
          names.push_back(prog.buffers[b].kind == Kind::Input ? prog.buffers[b].name : "");
          if (tensor == "o" && prog.buffers[b].kind == Kind::Output)
            out = (int)prog.buffers[b].index;
        }
  }
  return ATTNC_OK;
}
#endif

attnc_status compileProgram(attnc_program &p, llvm::StringRef text, llvm::StringRef name,
                            int nd, const char *const *dn, const int64_t *dv,
                            const attnc_compile_options &o) {
  auto spec = spec::parseSpecBuffer(text, name);
  if (!spec)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, spec.takeError());
  p.spec = std::move(*spec);
  LoweringOptions opts;
  bool gpu = o.target == ATTNC_TARGET_SM90A;
  if (attnc_status s = bindDims(p.spec, nd, dn, dv, opts))
    return s;
  std::optional<spec::CPLayout> cpLayout;
  if (o.context_parallel && *o.context_parallel) {
    auto layout = spec::parseCPLayout(o.context_parallel);
    if (!layout)
      return fail(ATTNC_ERR_INVALID_ARGUMENT, std::string("context_parallel '") + o.context_parallel +
                                                  "': expected ring, striped or tree");
    auto shard = spec::prepareContextParallel(p.spec, *layout, o.world);
    if (!shard)
      return fail(ATTNC_ERR_INVALID_ARGUMENT, shard.takeError());
    opts.contextShard = *shard;
    opts.returnLse = !gpu;
    cpLayout = *layout;
  }
  attnc_dtype dt = o.dtype != ATTNC_DTYPE_INVALID ? o.dtype : gpu ? ATTNC_DTYPE_BF16 : ATTNC_DTYPE_F32;
  if (gpu ? dt != ATTNC_DTYPE_BF16 && dt != ATTNC_DTYPE_F16 : dt != ATTNC_DTYPE_F32 && dt != ATTNC_DTYPE_F64)
    return fail(ATTNC_ERR_DTYPE, std::string("dtype ") + attnc_dtype_name(dt) + " is not available for the " +
                                     (gpu ? "GPU (bf16, f16)" : "CPU (f32, f64)") + " target");
  opts.floatBits = gpu ? 16 : dt == ATTNC_DTYPE_F64 ? 64 : 32;
  opts.bfloat = dt != ATTNC_DTYPE_F16;
  p.dims = opts.dims;
  DialectRegistry registry;
  registerAttncDialects(registry);
  p.ctx = std::make_unique<MLIRContext>(registry);
  p.ctx->loadAllAvailableDialects();
  p.ctx->printOpOnDiagnostic(false);
  std::string diagText;
  llvm::raw_string_ostream os(diagText);
  ScopedDiagnosticHandler handler(p.ctx.get(), [&](Diagnostic &d) {
    os << d.getLocation() << ": error: " << d << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = buildModule(*p.ctx, p.spec, opts);
  if (!module)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, diagText.empty() ? "the spec did not build" : diagText);
  if (cpLayout) {
    auto plan = planShardSchedule(*module, *cpLayout, o.world);
    if (!plan)
      return fail(ATTNC_ERR_INVALID_ARGUMENT, diagText.empty() ? llvm::toString(plan.takeError()) : diagText);
    p.cpMerge = plan->merge;
    p.cpSchedule = shardScheduleJson(*plan);
  }
  auto variant = attn::readVariantSignature(*module);
  if (!variant)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, variant.takeError());
  func::FuncOp fn = variant->first;
  const attn::VariantSignature &sig = variant->second;
  p.name = sig.name;
  FunctionType ft = fn.getFunctionType();
  for (auto [t, type] : llvm::zip(sig.inputs, ft.getInputs())) {
    auto tt = cast<RankedTensorType>(type);
    p.inputs.push_back({t.name, dtypeOf(tt.getElementType()), tt.getShape().vec()});
  }
  for (auto [n, t, type] : llvm::enumerate(sig.outputs, ft.getResults())) {
    auto tt = cast<RankedTensorType>(type);
    (n < p.spec.outputs.size() ? p.outputs : p.cpuLse)
        .push_back({t.name, dtypeOf(tt.getElementType()), tt.getShape().vec()});
  }
  // The API's shapes fit attnc_tensor (ATTNC_MAX_RANK dims).
  for (const auto *list : {&p.inputs, &p.outputs})
    for (const attnc_program::Tensor &t : *list)
      if (t.shape.size() > ATTNC_MAX_RANK)
        return fail(ATTNC_ERR_LIMIT, "'" + t.name + "' has rank " + std::to_string(t.shape.size()) +
                                         "; the API takes tensors of rank up to " +
                                         std::to_string(ATTNC_MAX_RANK));
  if (!gpu) {
    auto kernel = CPUKernel::create(*module, p.name);
    if (!kernel)
      return fail(ATTNC_ERR_INVALID_ARGUMENT, kernel.takeError());
    p.cpu = std::move(*kernel);
    return ATTNC_OK;
  }
#ifdef ATTNC_HAVE_GPU
  return loadKernels(p, *module, o);
#else
  return fail(ATTNC_ERR_INVALID_ARGUMENT, "this libattnc was built without the GPU target");
#endif
}

/// A caller's buffer for one input or output of a run against the
/// program's signature: dtype, shape, and memory of the run's kind (host for
/// the CPU, device for the GPU, where the runtime checks strides, alignment
/// and the pointers); a host buffer must also be C-contiguous.
attnc_status checkTensor(const attnc_tensor &t, const attnc_program::Tensor &want, const char *what, int index,
                         bool onDevice) {
  std::string where = std::string(what) + " " + std::to_string(index) + " (" + want.name + ")";
  if (onDevice && t.device < 0)
    return fail(ATTNC_ERR_POINTER, where + ": a host tensor (device -1); GPU programs take device memory");
  if (!onDevice && t.device >= 0)
    return fail(ATTNC_ERR_POINTER, where + ": a device tensor (device " + std::to_string(t.device) +
                                       "); CPU programs take host memory (device -1)");
  if (!onDevice && !t.data && !want.shape.empty())
    return fail(ATTNC_ERR_POINTER, where + ": null data");
  if (t.dtype != want.dtype)
    return fail(ATTNC_ERR_DTYPE, where + ": expected " + attnc_dtype_name(want.dtype) + ", got " +
                                     attnc_dtype_name((attnc_dtype)t.dtype));
  if (t.rank != (int)want.shape.size() || !std::equal(want.shape.begin(), want.shape.end(), t.shape))
    return fail(ATTNC_ERR_SHAPE, where + ": the shape differs from the one compiled for");
  if (onDevice)
    return ATTNC_OK;
  int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    if (t.shape[d] > 1 && t.strides[d] != stride)
      return fail(ATTNC_ERR_STRIDE, where + ": not contiguous (C order)");
    stride *= t.shape[d];
  }
  return ATTNC_OK;
}
} // namespace

attnc_compile_options attnc_compile_options_default(void) {
  attnc_compile_options o;
  o.target = ATTNC_TARGET_CPU;
  o.dtype = ATTNC_DTYPE_INVALID;
  o.cache_dir = nullptr;
  o.decode = 0;
  o.context_parallel = nullptr;
  o.world = 1;
  return o;
}

attnc_status attnc_compile(const char *spec, size_t specSize, const char *name, int numDims,
                           const char *const *dimNames, const int64_t *dimValues,
                           const attnc_compile_options *options, attnc_program **out) {
  if (!out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_compile: out is NULL");
  *out = nullptr;
  if (!spec || numDims < 0 || (numDims > 0 && (!dimNames || !dimValues)))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_compile: NULL spec or dims");
  attnc_compile_options o = options ? *options : attnc_compile_options_default();
  if (o.target != ATTNC_TARGET_CPU && o.target != ATTNC_TARGET_SM90A)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_compile: unknown target");
  auto p = std::make_unique<attnc_program>();
  p->target = o.target;
  if (const char *env = std::getenv("ATTNC_CHECK_TABLES"))
    p->checkTables = llvm::StringRef(env) != "0";
  attnc_status s = compileProgram(*p, llvm::StringRef(spec, specSize), name ? name : "<spec>", numDims,
                                  dimNames, dimValues, o);
  if (s != ATTNC_OK)
    return s;
  *out = p.release();
  return ATTNC_OK;
}

void attnc_program_free(attnc_program *p) { delete p; }

const char *attnc_program_name(const attnc_program *p) { return p ? p->name.c_str() : ""; }
const char *attnc_program_cp_merge(const attnc_program *p) { return p ? p->cpMerge.c_str() : ""; }
const char *attnc_program_cp_schedule(const attnc_program *p) { return p ? p->cpSchedule.c_str() : ""; }
attnc_target attnc_program_target(const attnc_program *p) { return p ? p->target : ATTNC_TARGET_CPU; }
int attnc_program_num_inputs(const attnc_program *p) { return p ? (int)p->inputs.size() : 0; }
int attnc_program_num_outputs(const attnc_program *p) { return p ? (int)p->outputs.size() : 0; }

static const attnc_program::Tensor *tensorAt(const std::vector<attnc_program::Tensor> &v, int i) {
  return i >= 0 && (size_t)i < v.size() ? &v[i] : nullptr;
}
const char *attnc_program_input_name(const attnc_program *p, int i) {
  auto *t = p ? tensorAt(p->inputs, i) : nullptr;
  return t ? t->name.c_str() : nullptr;
}
const char *attnc_program_output_name(const attnc_program *p, int i) {
  auto *t = p ? tensorAt(p->outputs, i) : nullptr;
  return t ? t->name.c_str() : nullptr;
}
attnc_dtype attnc_program_input_dtype(const attnc_program *p, int i) {
  auto *t = p ? tensorAt(p->inputs, i) : nullptr;
  return t ? t->dtype : ATTNC_DTYPE_INVALID;
}
attnc_dtype attnc_program_output_dtype(const attnc_program *p, int i) {
  auto *t = p ? tensorAt(p->outputs, i) : nullptr;
  return t ? t->dtype : ATTNC_DTYPE_INVALID;
}
static int shapeOf(const attnc_program::Tensor *t, int64_t *shape) {
  if (!t)
    return -1;
  if (shape)
    std::copy(t->shape.begin(), t->shape.end(), shape);
  return (int)t->shape.size();
}
int attnc_program_input_shape(const attnc_program *p, int i, int64_t *shape) {
  return shapeOf(p ? tensorAt(p->inputs, i) : nullptr, shape);
}
int attnc_program_output_shape(const attnc_program *p, int i, int64_t *shape) {
  return shapeOf(p ? tensorAt(p->outputs, i) : nullptr, shape);
}

attnc_status attnc_program_run_cpu(attnc_program *p, const attnc_tensor *inputs, int numInputs,
                                   const attnc_tensor *outputs, int numOutputs) {
  return attnc_program_run_cpu_lse(p, inputs, numInputs, outputs, numOutputs, nullptr);
}

attnc_status attnc_program_run_cpu_lse(attnc_program *p, const attnc_tensor *inputs, int numInputs,
                                       const attnc_tensor *outputs, int numOutputs,
                                       const attnc_tensor *lse) {
  if (!p || !p->cpu)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_run_cpu: not a CPU program");
  if (numInputs != (int)p->inputs.size() || numOutputs != (int)p->outputs.size() ||
      (numInputs && !inputs) || (numOutputs && !outputs))
    return fail(ATTNC_ERR_ARG_COUNT, "attnc_program_run_cpu: expected " + std::to_string(p->inputs.size()) +
                                         " inputs and " + std::to_string(p->outputs.size()) + " outputs");
  std::vector<const void *> in;
  std::vector<void *> out;
  std::vector<std::string> names;
  std::vector<NpyArray> views; // index inputs, for their checks
  views.reserve(p->inputs.size());
  for (int i = 0; i < numInputs; ++i) {
    if (attnc_status s = checkTensor(inputs[i], p->inputs[i], "input", i, false))
      return s;
    in.push_back(inputs[i].data);
    names.push_back(p->inputs[i].name);
    NpyArray a;
    a.shape = p->inputs[i].shape;
    if (p->inputs[i].dtype == ATTNC_DTYPE_I32) {
      a.dtype = DType::I32;
      const char *b = static_cast<const char *>(inputs[i].data);
      a.data.assign(b, b + a.numBytes());
    }
    views.push_back(std::move(a));
  }
  for (int i = 0; i < numOutputs; ++i) {
    if (attnc_status s = checkTensor(outputs[i], p->outputs[i], "output", i, false))
      return s;
    out.push_back(outputs[i].data);
  }
  if (lse && p->cpuLse.empty())
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_run_cpu_lse: this program computes no LSE "
                                            "(CPU programs do under context parallelism)");
  // Without the caller's, the LSE goes to scratch the call owns.
  std::vector<std::vector<float>> scratch;
  for (auto [i, want] : llvm::enumerate(p->cpuLse)) {
    if (lse) {
      if (attnc_status s = checkTensor(lse[i], want, "lse", (int)i, false))
        return s;
      out.push_back(lse[i].data);
      continue;
    }
    int64_t n = 1;
    for (int64_t d : want.shape)
      n *= d;
    out.push_back(scratch.emplace_back(n).data());
  }
  std::vector<const NpyArray *> ptrs;
  for (const NpyArray &a : views)
    ptrs.push_back(&a);
  if (llvm::Error e = validateIndexInputs(p->spec, names, ptrs, p->dims))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, std::move(e));
  if (llvm::Error e = p->cpu->call(in, out))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, std::move(e));
  return ATTNC_OK;
}

#ifdef ATTNC_HAVE_GPU
namespace {
/// The checked mode of GPU runs: those tables copied to the host (after the
/// stream's earlier work, which may have written them) and checked by the
/// CPU path's rules, with the dims of this run's shapes.
attnc_status checkTablesOnHost(attnc_program *p, const attnc_tensor *inputs, void *stream) {
  std::vector<size_t> tables;
  for (size_t i = 0; i < p->inputs.size(); ++i)
    if (p->inputs[i].dtype == ATTNC_DTYPE_I32 && isIndexTable(p->spec, p->inputs[i].name))
      tables.push_back(i);
  if (!p->checkTables || tables.empty())
    return ATTNC_OK;
  int device = inputs[tables.front()].device, capturing = 0;
  if (attnc_status s = attnc_stream_is_capturing(device, stream, &capturing))
    return s;
  if (capturing)
    return ATTNC_OK;
  if (attnc_status s = attnc_stream_synchronize(stream))
    return s;
  llvm::StringMap<int64_t> dims = p->dims;
  for (size_t i = 0; i < p->inputs.size(); ++i)
    for (const spec::InputDecl &decl : p->spec.inputs)
      if (decl.name == p->inputs[i].name)
        for (size_t d = 0; d < decl.shape.size() && d < (size_t)inputs[i].rank; ++d)
          if (!decl.shape[d].empty() && !llvm::isDigit(decl.shape[d][0]))
            dims[decl.shape[d]] = inputs[i].shape[d];
  std::vector<std::string> names;
  std::vector<NpyArray> views(tables.size());
  for (auto [n, i] : llvm::enumerate(tables)) {
    const attnc_tensor &t = inputs[i];
    names.push_back(p->inputs[i].name);
    views[n].shape.assign(t.shape, t.shape + t.rank);
    views[n].dtype = DType::I32;
    views[n].data.resize(views[n].numBytes());
    if (attnc_status s = attnc_copy_to_host(views[n].data.data(), t.data, views[n].data.size()))
      return s;
  }
  std::vector<const NpyArray *> ptrs;
  for (const NpyArray &a : views)
    ptrs.push_back(&a);
  if (llvm::Error e = validateIndexInputs(p->spec, names, ptrs, dims))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, std::move(e));
  return ATTNC_OK;
}
} // namespace
#endif

attnc_status attnc_program_set_table_checks(attnc_program *p, int enabled) {
  if (!p)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_set_table_checks: program is NULL");
  p->checkTables = enabled != 0;
  return ATTNC_OK;
}

attnc_status attnc_program_keep_static(attnc_program *p, const char *const *names, int n, int *skipped) {
  if (!p || n < 0 || (n && !names))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_keep_static: NULL program or names");
  if (p->target != ATTNC_TARGET_SM90A)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_keep_static: not a GPU program");
  std::vector<int> idx;
  for (int k = 0; k < n; ++k) {
    auto it = std::find_if(p->inputs.begin(), p->inputs.end(),
                           [&](const attnc_program::Tensor &t) { return names[k] && t.name == names[k]; });
    if (it == p->inputs.end())
      return fail(ATTNC_ERR_INVALID_ARGUMENT, std::string("attnc_program_keep_static: no input named '") +
                                                  (names[k] ? names[k] : "(null)") + "'");
    idx.push_back((int)(it - p->inputs.begin()));
  }
#ifdef ATTNC_HAVE_GPU
  if (attnc_status s = attnc_gpu_program_keep_static(p->gpu.get(), idx.data(), (int)idx.size()))
    return s;
  if (skipped)
    *skipped = attnc_gpu_program_num_static_steps(p->gpu.get());
  return ATTNC_OK;
#else
  (void)skipped;
  return fail(ATTNC_ERR_INVALID_ARGUMENT, "this libattnc was built without GPU code generation");
#endif
}

attnc_status attnc_program_run_gpu(attnc_program *p, const attnc_tensor *inputs, int numInputs,
                                   const attnc_tensor *outputs, int numOutputs, const attnc_tensor *lse,
                                   void *stream) {
  if (!p || p->target != ATTNC_TARGET_SM90A)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_program_run_gpu: not a GPU program");
  if (numInputs != (int)p->inputs.size() || numOutputs != (int)p->outputs.size() ||
      (numInputs && !inputs) || (numOutputs && !outputs))
    return fail(ATTNC_ERR_ARG_COUNT, "attnc_program_run_gpu: expected " + std::to_string(p->inputs.size()) +
                                         " inputs and " + std::to_string(p->outputs.size()) + " outputs");
  for (int i = 0; i < numInputs; ++i)
    if (attnc_status s = checkTensor(inputs[i], p->inputs[i], "input", i, true))
      return s;
  for (int i = 0; i < numOutputs; ++i)
    if (attnc_status s = checkTensor(outputs[i], p->outputs[i], "output", i, true))
      return s;
#ifdef ATTNC_HAVE_GPU
  if (attnc_status s = checkTablesOnHost(p, inputs, stream))
    return s;
  return attnc_gpu_program_run(p->gpu.get(), inputs, numInputs, outputs, numOutputs, lse, stream);
#else
  (void)lse, (void)stream;
  return fail(ATTNC_ERR_INVALID_ARGUMENT, "this libattnc was built without GPU code generation");
#endif
}

#ifdef ATTNC_HAVE_GPU
int attnc_program_output_has_lse(const attnc_program *p, int n) {
  if (p && !p->gpu)
    return n >= 0 && (size_t)n < p->cpuLse.size() ? 1 : 0;
  return p && p->gpu ? attnc_gpu_program_output_has_lse(p->gpu.get(), n) : 0;
}
int attnc_program_num_kernels(const attnc_program *p) {
  return p && p->gpu ? attnc_gpu_program_num_kernels(p->gpu.get()) : 0;
}
attnc_kernel *attnc_program_kernel(const attnc_program *p, int i) {
  return p && p->gpu ? attnc_gpu_program_kernel(p->gpu.get(), i) : nullptr;
}
int attnc_program_kernel_output(const attnc_program *p, int i) {
  return i >= 0 && i < attnc_program_num_kernels(p) && (size_t)i < p->kernelOutputs.size() ? p->kernelOutputs[i]
                                                                                             : -1;
}
const char *attnc_program_kernel_input(const attnc_program *p, int i, int t) {
  if (i < 0 || i >= attnc_program_num_kernels(p))
    return nullptr;
  const auto &v = p->kernelInputs[i];
  return t >= 0 && (size_t)t < v.size() && !v[t].empty() ? v[t].c_str() : nullptr;
}
#else
int attnc_program_output_has_lse(const attnc_program *p, int n) {
  return p && n >= 0 && (size_t)n < p->cpuLse.size() ? 1 : 0;
}
int attnc_program_num_kernels(const attnc_program *) { return 0; }
attnc_kernel *attnc_program_kernel(const attnc_program *, int) { return nullptr; }
int attnc_program_kernel_output(const attnc_program *, int) { return -1; }
const char *attnc_program_kernel_input(const attnc_program *, int, int) { return nullptr; }
#endif
