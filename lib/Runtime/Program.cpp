//===- Program.cpp - GPU programs: kernels launched in order -------------===//
//
// attnc_gpu_program_*: a program (attnc/Runtime/KernelManifest.h) over
// loaded kernels. A run binds the caller's input and output tensors and the
// program's temporaries (one arena per device and stream, grown as needed)
// to each step's kernel tensors and launches the steps in order with
// attnc_kernel_launch, which validates every launch.
//
//===----------------------------------------------------------------------===//
#include "RuntimeInternal.h"
#include "attnc/Runtime/KernelManifest.h"

#include <algorithm>
#include <map>

using namespace attnc;
using namespace attnc::rt;
using Kind = manifest::ProgramBuffer::Kind;

struct attnc_gpu_program {
  manifest::Program m;
  std::vector<attnc_kernel *> kernels; // owned, distinct, in order of first use
  struct StepPlan {
    attnc_kernel *kernel;
    std::vector<int> bufferOf; // per kernel tensor, in launch order
  };
  std::vector<StepPlan> plan;
  std::vector<int> inputs, outputs; // spec input / output -> buffer
  /// The dims that buffers' sizes name (the spec's), and each buffer's
  /// sizes over them (empty where the buffer has none).
  std::vector<std::string> dimNames;
  std::vector<std::vector<rt::Expr>> sizeOf;
  /// The temporaries of the runs on one (device, stream): runs on a stream
  /// are ordered on the GPU, and `queue` keeps two host threads from
  /// interleaving their launches on it. Outgrown buffers are kept until the
  /// program goes (a run in flight may use them).
  struct Arena {
    void *ptr = nullptr;
    size_t bytes = 0;
    std::mutex queue;
    /// The static steps' results on this stream (attnc_gpu_program_keep_static):
    /// valid for the static inputs in `keptFor` (their data pointers,
    /// shapes and strides) and the program's `keepGeneration`.
    void *kept = nullptr;
    size_t keptBytes = 0;
    std::vector<int64_t> keptFor;
    uint64_t keptGeneration = 0;
  };
  std::vector<int> staticInputs;  // spec input indices
  std::vector<bool> staticStep;   // per step (manifest::staticSteps)
  uint64_t keepGeneration = 1;
  std::mutex mu;
  std::map<std::pair<int, void *>, std::unique_ptr<Arena>> arenas;
  std::vector<void *> retired;

  ~attnc_gpu_program() {
    for (attnc_kernel *k : kernels)
      attnc_kernel_free(k);
    for (auto &[key, arena] : arenas)
      attnc_device_free(arena->ptr);
    for (auto &[key, arena] : arenas)
      attnc_device_free(arena->kept);
    for (void *p : retired)
      attnc_device_free(p);
  }
};

namespace {
/// Binds each step's kernel tensors to buffers; `kernelFor` gives the kernel
/// of a step's name (loaded once).
template <class F> attnc_status plan(attnc_gpu_program &p, F kernelFor) {
  p.inputs.clear(), p.outputs.clear();
  for (size_t i = 0; i < p.m.buffers.size(); ++i) {
    const manifest::ProgramBuffer &b = p.m.buffers[i];
    std::vector<int> *list = b.kind == Kind::Input ? &p.inputs : b.kind == Kind::Output ? &p.outputs : nullptr;
    if (list) {
      list->resize(std::max<size_t>(list->size(), b.index + 1), -1);
      (*list)[b.index] = (int)i;
    }
  }
  p.dimNames.clear(), p.sizeOf.assign(p.m.buffers.size(), {});
  auto idOf = [&](const std::string &n) {
    auto it = std::find(p.dimNames.begin(), p.dimNames.end(), n);
    if (it != p.dimNames.end())
      return (int)(it - p.dimNames.begin());
    p.dimNames.push_back(n);
    return (int)p.dimNames.size() - 1;
  };
  for (size_t i = 0; i < p.m.buffers.size(); ++i)
    for (const std::string &text : p.m.buffers[i].sizes) {
      std::string err;
      if (!rt::Expr::parse(text, idOf, p.sizeOf[i].emplace_back(), err))
        return fail(ATTNC_ERR_MANIFEST, "program: buffer '" + p.m.buffers[i].name + "' size '" + text + "': " + err);
    }
  for (const manifest::ProgramStep &s : p.m.steps) {
    attnc_kernel *k = nullptr;
    if (attnc_status st = kernelFor(s.kernel, k))
      return st;
    attnc_gpu_program::StepPlan sp{k, {}};
    for (int t = 0; t < attnc_kernel_num_tensors(k); ++t) {
      std::string name = attnc_kernel_tensor_name(k, t);
      auto it = std::find_if(s.bind.begin(), s.bind.end(), [&](const auto &b) { return b.first == name; });
      if (it == s.bind.end())
        return fail(ATTNC_ERR_MANIFEST, "program: step '" + s.kernel + "' binds no buffer to its tensor '" +
                                            name + "'");
      const manifest::ProgramBuffer &b = p.m.buffers[it->second];
      if (rt::dtypeFromName(b.dtype) != attnc_kernel_tensor_dtype(k, t))
        return fail(ATTNC_ERR_MANIFEST, "program: step '" + s.kernel + "' binds buffer '" + b.name + "' (" +
                                            b.dtype + ") to tensor '" + name + "' (" +
                                            attnc_dtype_name(attnc_kernel_tensor_dtype(k, t)) + ")");
      sp.bufferOf.push_back((int)it->second);
    }
    p.plan.push_back(std::move(sp));
  }
  return ATTNC_OK;
}

attnc_status finish(std::unique_ptr<attnc_gpu_program> p, attnc_gpu_program **out,
                    const std::map<std::string, attnc_kernel *> &byName) {
  attnc_status st = plan(*p, [&](const std::string &name, attnc_kernel *&k) {
    auto it = byName.find(name);
    if (it == byName.end())
      return fail(ATTNC_ERR_MANIFEST, "program: no kernel '" + name + "'");
    k = it->second;
    if (std::find(p->kernels.begin(), p->kernels.end(), k) == p->kernels.end())
      p->kernels.push_back(k);
    return ATTNC_OK;
  });
  // Kernels no step uses are freed with the rest.
  for (const auto &[name, k] : byName)
    if (std::find(p->kernels.begin(), p->kernels.end(), k) == p->kernels.end())
      attnc_kernel_free(k);
  if (st != ATTNC_OK)
    return st;
  // Steps that read no input depend on the sizes alone: kept from the start.
  p->staticStep = manifest::staticSteps(p->m, std::vector<bool>(p->inputs.size(), false));
  *out = p.release();
  return ATTNC_OK;
}

/// The caller's tensor against the program's buffer (dtype, rank, static sizes).
attnc_status checkTensor(const attnc_tensor &t, const manifest::ProgramBuffer &b, const char *what) {
  if ((int)t.dtype != (int)rt::dtypeFromName(b.dtype))
    return fail(ATTNC_ERR_DTYPE, std::string(what) + " '" + b.name + "': expected " + b.dtype + ", got " +
                                     attnc_dtype_name((attnc_dtype)t.dtype));
  bool ok = t.rank == (int)b.shape.size();
  for (int d = 0; ok && d < t.rank; ++d)
    ok = t.shape[d] >= 0 && (b.shape[d] < 0 || t.shape[d] == b.shape[d]);
  if (!ok) {
    std::string want = "[", got = "[";
    for (size_t d = 0; d < b.shape.size(); ++d)
      want += (d ? ", " : "") + (b.shape[d] < 0 ? std::string("?") : std::to_string(b.shape[d]));
    for (int d = 0; d < t.rank && d < ATTNC_MAX_RANK; ++d)
      got += (d ? ", " : "") + std::to_string(t.shape[d]);
    return fail(ATTNC_ERR_SHAPE, std::string(what) + " '" + b.name + "': expected shape " + want + "], got " +
                                     got + "]");
  }
  return ATTNC_OK;
}

/// The first dim `e` reads that no input or output has bound, or "".
std::string unboundDim(const attnc_gpu_program &p, const rt::Expr &e, const std::vector<int64_t> &dims) {
  std::vector<int> ids;
  e.collectDims(ids);
  for (int id : ids)
    if (dims[id] < 0)
      return p.dimNames[id];
  return "";
}

/// `e` over the bound dims into `out`; "" or what went wrong.
std::string evalSize(const attnc_gpu_program &p, const rt::Expr &e, const std::vector<int64_t> &dims,
                     int64_t &out) {
  std::string err = unboundDim(p, e, dims);
  if (!err.empty())
    return "dim '" + err + "' is not the size of any input's or output's axis";
  if (!e.eval(dims.data(), out, err))
    return err;
  return out < 0 ? "negative (" + std::to_string(out) + ")" : "";
}

/// The program's dims from the caller's inputs and outputs (NULL: inputs
/// only): an axis whose size is a bare name binds it; every other use must
/// agree.
attnc_status bindDims(const attnc_gpu_program &p, const attnc_tensor *inputs, const attnc_tensor *outputs,
                      std::vector<int64_t> &dims) {
  const int64_t unbound = -1;
  dims.assign(p.dimNames.size(), unbound);
  std::vector<std::string> from(p.dimNames.size());
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < p.m.buffers.size(); ++i) {
      const manifest::ProgramBuffer &b = p.m.buffers[i];
      const attnc_tensor *t = b.kind == Kind::Input                 ? &inputs[b.index]
                              : b.kind == Kind::Output && outputs ? &outputs[b.index]
                                                                    : nullptr;
      if (!t)
        continue;
      std::string what = std::string(b.kind == Kind::Input ? "input" : "output") + " '" + b.name + "'";
      for (size_t d = 0; d < p.sizeOf[i].size(); ++d) {
        const rt::Expr &e = p.sizeOf[i][d];
        int id = e.dimId();
        if (pass == 0 && id >= 0 && dims[id] == unbound) {
          dims[id] = t->shape[d], from[id] = what;
          continue;
        }
        if (pass == 0)
          continue;
        int64_t want;
        std::string err = evalSize(p, e, dims, want);
        if (!err.empty())
          return fail(ATTNC_ERR_SHAPE, what + " axis " + std::to_string(d) + " (" + e.text() + "): " + err);
        if (want != t->shape[d])
          return fail(ATTNC_ERR_SHAPE, what + " axis " + std::to_string(d) + ": size " + std::to_string(t->shape[d]) +
                                           ", but " + e.text() + " = " + std::to_string(want) +
                                           (id >= 0 ? " from " + from[id] : std::string()));
      }
    }
  return ATTNC_OK;
}

attnc_gpu_program::Arena &arenaOf(attnc_gpu_program &p, int device, void *stream) {
  std::lock_guard<std::mutex> lock(p.mu);
  std::unique_ptr<attnc_gpu_program::Arena> &a = p.arenas[{device, stream}];
  if (!a)
    a = std::make_unique<attnc_gpu_program::Arena>();
  return *a;
}

/// Grows `a` to `bytes` (the caller holds a.queue).
attnc_status reserve(attnc_gpu_program &p, attnc_gpu_program::Arena &a, int device, void *stream, size_t bytes) {
  if (a.bytes >= bytes)
    return ATTNC_OK;
  void *fresh = nullptr;
  if (attnc_status s = attnc_device_alloc_for_stream(device, stream, bytes, &fresh))
    return fail(s, std::string("program: allocating ") + std::to_string(bytes) +
                       " bytes of temporaries failed: " + attnc_last_error());
  if (a.ptr) {
    std::lock_guard<std::mutex> lock(p.mu);
    p.retired.push_back(a.ptr);
  }
  a.ptr = fresh, a.bytes = bytes;
  return ATTNC_OK;
}
} // namespace

extern "C" {

attnc_status attnc_gpu_program_load_memory(const char *json, size_t size, attnc_kernel *const *kernels,
                                           const char *const *names, int n, attnc_gpu_program **out) {
  // The program owns every kernel passed, also on failure: each distinct
  // pointer is kept once (under its first name) or freed once.
  std::map<std::string, attnc_kernel *> byName;
  std::vector<attnc_kernel *> seen;
  for (int i = 0; i < n && kernels; ++i) {
    attnc_kernel *k = kernels[i];
    if (!k || std::find(seen.begin(), seen.end(), k) != seen.end())
      continue;
    seen.push_back(k);
    if (!names || !byName.emplace(names[i] ? names[i] : "", k).second)
      attnc_kernel_free(k);
  }
  auto freeAll = [&] {
    for (auto &[name, k] : byName)
      attnc_kernel_free(k);
  };
  if (!out || !json || n < 0 || (n && (!kernels || !names))) {
    freeAll();
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_load_memory: NULL argument");
  }
  *out = nullptr;
  auto p = std::make_unique<attnc_gpu_program>();
  std::string err;
  if (!manifest::parseProgram(std::string(json, size), p->m, err)) {
    freeAll();
    return fail(ATTNC_ERR_MANIFEST, err);
  }
  return finish(std::move(p), out, byName);
}

attnc_status attnc_gpu_program_load(const char *path, attnc_gpu_program **out) {
  if (!path || !out)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_load: NULL argument");
  *out = nullptr;
  std::string text, err, p = path;
  if (!readArtifact(p, text, err))
    return fail(ATTNC_ERR_IO, err);
  auto prog = std::make_unique<attnc_gpu_program>();
  if (!manifest::parseProgram(text, prog->m, err))
    return fail(ATTNC_ERR_MANIFEST, p + ": " + err);
  std::string dir = p.find('/') == std::string::npos ? "." : p.substr(0, p.find_last_of('/'));
  std::map<std::string, attnc_kernel *> byName;
  for (const manifest::ProgramStep &s : prog->m.steps) {
    if (byName.count(s.kernel))
      continue;
    attnc_kernel *k = nullptr;
    if (attnc_status st = attnc_kernel_load((dir + "/" + s.kernel + ".json").c_str(), &k)) {
      for (auto &[name, loaded] : byName)
        attnc_kernel_free(loaded);
      return st;
    }
    byName[s.kernel] = k;
  }
  return finish(std::move(prog), out, byName);
}

void attnc_gpu_program_free(attnc_gpu_program *p) { delete p; }

int attnc_gpu_program_num_inputs(const attnc_gpu_program *p) { return p ? (int)p->inputs.size() : 0; }
int attnc_gpu_program_num_outputs(const attnc_gpu_program *p) { return p ? (int)p->outputs.size() : 0; }
const char *attnc_gpu_program_input_name(const attnc_gpu_program *p, int i) {
  return p && i >= 0 && i < (int)p->inputs.size() ? p->m.buffers[p->inputs[i]].name.c_str() : nullptr;
}
const char *attnc_gpu_program_output_name(const attnc_gpu_program *p, int i) {
  return p && i >= 0 && i < (int)p->outputs.size() ? p->m.buffers[p->outputs[i]].name.c_str() : nullptr;
}
attnc_dtype attnc_gpu_program_input_dtype(const attnc_gpu_program *p, int i) {
  return p && i >= 0 && i < (int)p->inputs.size() ? rt::dtypeFromName(p->m.buffers[p->inputs[i]].dtype)
                                                  : ATTNC_DTYPE_INVALID;
}
attnc_dtype attnc_gpu_program_output_dtype(const attnc_gpu_program *p, int i) {
  return p && i >= 0 && i < (int)p->outputs.size() ? rt::dtypeFromName(p->m.buffers[p->outputs[i]].dtype)
                                                   : ATTNC_DTYPE_INVALID;
}
int attnc_gpu_program_output_shape(const attnc_gpu_program *p, int i, int64_t *shape) {
  if (!p || i < 0 || i >= (int)p->outputs.size())
    return -1;
  const std::vector<int64_t> &s = p->m.buffers[p->outputs[i]].shape;
  if (shape)
    std::copy(s.begin(), s.end(), shape);
  return (int)s.size();
}
int attnc_gpu_program_output_shape_for(const attnc_gpu_program *p, int i, const attnc_tensor *inputs, int ni,
                                       int64_t *shape) {
  if (!p || i < 0 || i >= (int)p->outputs.size() || ni != (int)p->inputs.size() || (ni && !inputs)) {
    fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_output_shape_for: bad program, index or inputs");
    return -1;
  }
  for (int n = 0; n < ni; ++n)
    if (checkTensor(inputs[n], p->m.buffers[p->inputs[n]], "input"))
      return -1;
  std::vector<int64_t> dims;
  if (bindDims(*p, inputs, nullptr, dims))
    return -1;
  int b = p->outputs[i];
  const std::vector<int64_t> &s = p->m.buffers[b].shape;
  for (size_t d = 0; d < s.size(); ++d) {
    int64_t v = s[d];
    if (v < 0) {
      std::string err = d < p->sizeOf[b].size() ? evalSize(*p, p->sizeOf[b][d], dims, v) : "no size";
      if (!err.empty()) {
        fail(ATTNC_ERR_SHAPE, "output '" + p->m.buffers[b].name + "' axis " + std::to_string(d) + ": " + err);
        return -1;
      }
    }
    if (shape)
      shape[d] = v;
  }
  return (int)s.size();
}

int attnc_gpu_program_output_has_lse(const attnc_gpu_program *p, int i) {
  if (!p)
    return 0;
  for (const manifest::ProgramBuffer &b : p->m.buffers)
    if (b.kind == Kind::Lse && b.index == i)
      return 1;
  return 0;
}
int attnc_gpu_program_num_kernels(const attnc_gpu_program *p) { return p ? (int)p->kernels.size() : 0; }
attnc_kernel *attnc_gpu_program_kernel(const attnc_gpu_program *p, int i) {
  return p && i >= 0 && i < (int)p->kernels.size() ? p->kernels[i] : nullptr;
}

attnc_status attnc_gpu_program_run(attnc_gpu_program *p, const attnc_tensor *inputs, int ni,
                                   const attnc_tensor *outputs, int no, const attnc_tensor *lse, void *stream) {
  if (!p)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_run: program is NULL");
  if (ni != (int)p->inputs.size() || no != (int)p->outputs.size() || (ni && !inputs) || (no && !outputs))
    return fail(ATTNC_ERR_ARG_COUNT, "attnc_gpu_program_run: expected " + std::to_string(p->inputs.size()) +
                                         " inputs and " + std::to_string(p->outputs.size()) + " outputs");
  for (int i = 0; i < ni; ++i)
    if (attnc_status s = checkTensor(inputs[i], p->m.buffers[p->inputs[i]], "input"))
      return s;
  for (int i = 0; i < no; ++i)
    if (attnc_status s = checkTensor(outputs[i], p->m.buffers[p->outputs[i]], "output"))
      return s;
  if (lse)
    for (int i = 0; i < no; ++i)
      if (!attnc_gpu_program_output_has_lse(p, i))
        return fail(ATTNC_ERR_INVALID_ARGUMENT, "output '" + p->m.buffers[p->outputs[i]].name +
                                                    "' has no LSE: it is not an attention computed by a Hopper "
                                                    "kernel (pass lse = NULL)");
  std::vector<int64_t> dims;
  if (attnc_status s = bindDims(*p, inputs, outputs, dims))
    return s;
  const std::vector<manifest::ProgramBuffer> &bufs = p->m.buffers;
  int device = no ? outputs[0].device : ni ? inputs[0].device : 0;
  // Places of the temporaries and LSEs for this run: a static shape, or an
  // output's LSE beside it ([B, H, Lq] of o [B, H, Lq, Dv]).
  std::vector<std::vector<int64_t>> shapes(bufs.size());
  std::vector<size_t> offsets(bufs.size(), 0);
  // Temporaries the static steps write live apart (kept across runs), but
  // not in a CUDA-graph capture: there the static steps run and write the
  // run's own temporaries, so that a replay never overwrites results that
  // later runs reuse, nor relies on them.
  bool capturing = false;
  if (std::find(p->staticStep.begin(), p->staticStep.end(), true) != p->staticStep.end()) {
    int cap = 0;
    if (attnc_status s = attnc_stream_is_capturing(device, stream, &cap))
      return s;
    capturing = cap != 0;
  }
  std::vector<bool> keptBuf(bufs.size(), false);
  for (size_t s = 0; s < p->plan.size() && !capturing; ++s)
    if (s < p->staticStep.size() && p->staticStep[s])
      for (int bi : p->plan[s].bufferOf)
        keptBuf[bi] = bufs[bi].kind == Kind::Temp;
  size_t total = 0, keptTotal = 0;
  for (size_t i = 0; i < bufs.size(); ++i) {
    const manifest::ProgramBuffer &b = bufs[i];
    if ((b.kind != Kind::Temp && b.kind != Kind::Lse) || (b.kind == Kind::Lse && lse && b.index >= 0))
      continue;
    size_t &sum = keptBuf[i] ? keptTotal : total;
    shapes[i] = b.shape;
    if (std::find(b.shape.begin(), b.shape.end(), -1) != b.shape.end()) {
      if (b.kind == Kind::Lse && b.index >= 0 && b.index < no) {
        const attnc_tensor &o = outputs[b.index];
        shapes[i].assign(o.shape, o.shape + std::max(o.rank - 1, 0));
      } else if (p->sizeOf[i].size() == b.shape.size()) {
        for (size_t d = 0; d < b.shape.size(); ++d) {
          std::string err = evalSize(*p, p->sizeOf[i][d], dims, shapes[i][d]);
          if (!err.empty())
            return fail(ATTNC_ERR_SHAPE, "program: temporary '" + b.name + "' axis " + std::to_string(d) + " (" +
                                             p->sizeOf[i][d].text() + "): " + err);
        }
      } else {
        return fail(ATTNC_ERR_MANIFEST, "program: temporary '" + b.name + "' has no static shape");
      }
    }
    size_t bytes = attnc_dtype_size(rt::dtypeFromName(b.dtype));
    bool over = false;
    for (int64_t d : shapes[i])
      over |= d < 0 || __builtin_mul_overflow(bytes, (size_t)d, &bytes);
    over |= bytes > (size_t(1) << 50) || __builtin_add_overflow(sum, (bytes + 255) & ~size_t(255), &sum);
    if (over)
      return fail(ATTNC_ERR_LIMIT, "program: temporary '" + b.name + "' is too large");
    offsets[i] = sum - ((bytes + 255) & ~size_t(255));
  }
  // Runs on one stream share its temporaries; the whole run is queued under
  // the stream's lock so that two host threads do not interleave.
  if ((total || keptTotal) && (uintptr_t)stream == 2)
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "program: the per-thread default stream (CU_STREAM_PER_THREAD) "
                                            "names a different stream in each thread; pass a stream");
  attnc_gpu_program::Arena *arenaEntry = total || keptTotal ? &arenaOf(*p, device, stream) : nullptr;
  std::unique_lock<std::mutex> queued;
  if (arenaEntry)
    queued = std::unique_lock<std::mutex>(arenaEntry->queue);
  if (arenaEntry)
    if (attnc_status s = reserve(*p, *arenaEntry, device, stream, total))
      return s;
  char *arena = arenaEntry ? static_cast<char *>(arenaEntry->ptr) : nullptr;
  // The static steps run when this stream has no results for these inputs
  // and dims (and in a capture always, above).
  bool reuse = false;
  std::vector<int64_t> key;
  if (keptTotal) {
    key = dims;
    for (int i : p->staticInputs) {
      const attnc_tensor &t = inputs[i];
      key.push_back((int64_t)(uintptr_t)t.data);
      key.push_back(t.rank);
      key.insert(key.end(), t.shape, t.shape + t.rank);
      key.insert(key.end(), t.strides, t.strides + t.rank);
    }
    reuse = arenaEntry->kept && arenaEntry->keptBytes >= keptTotal && arenaEntry->keptFor == key &&
            arenaEntry->keptGeneration == p->keepGeneration;
    if (!reuse) {
      arenaEntry->keptFor.clear();
      arenaEntry->keptGeneration = 0;
      if (arenaEntry->keptBytes < keptTotal) {
        void *fresh = nullptr;
        if (attnc_status s = attnc_device_alloc_for_stream(device, stream, keptTotal, &fresh))
          return fail(s, std::string("program: allocating the static steps' results failed: ") +
                             attnc_last_error());
        if (arenaEntry->kept) {
          std::lock_guard<std::mutex> lock(p->mu);
          p->retired.push_back(arenaEntry->kept);
        }
        arenaEntry->kept = fresh, arenaEntry->keptBytes = keptTotal;
      }
    }
  }
  char *kept = arenaEntry ? static_cast<char *>(arenaEntry->kept) : nullptr;
  std::vector<attnc_tensor> args;
  for (size_t i = 0; i < p->plan.size(); ++i) {
    if (reuse && p->staticStep[i])
      continue;
    args.clear();
    for (int bi : p->plan[i].bufferOf) {
      const manifest::ProgramBuffer &b = bufs[bi];
      if (b.kind == Kind::Input)
        args.push_back(inputs[b.index]);
      else if (b.kind == Kind::Output)
        args.push_back(outputs[b.index]);
      else if (b.kind == Kind::Lse && lse && b.index >= 0)
        args.push_back(lse[b.index]);
      else
        args.push_back(attnc_tensor_contiguous((keptBuf[bi] ? kept : arena) + offsets[bi], rt::dtypeFromName(b.dtype),
                                               (int)shapes[bi].size(), shapes[bi].data(), device));
    }
    if (attnc_status s = attnc_kernel_launch(p->plan[i].kernel, args.data(), (int)args.size(), nullptr, stream))
      return fail(s, "step " + std::to_string(i) + " (kernel " + p->m.steps[i].kernel + "): " + attnc_last_error());
  }
  if (keptTotal && !reuse && !capturing) {
    arenaEntry->keptFor = std::move(key);
    arenaEntry->keptGeneration = p->keepGeneration;
  }
  return ATTNC_OK;
}

attnc_status attnc_gpu_program_keep_static(attnc_gpu_program *p, const int *inputs, int n) {
  if (!p || n < 0 || (n && !inputs))
    return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_keep_static: NULL program or inputs");
  std::vector<bool> isStatic(p->inputs.size(), false);
  std::vector<int> list;
  for (int k = 0; k < n; ++k) {
    if (inputs[k] < 0 || inputs[k] >= (int)p->inputs.size())
      return fail(ATTNC_ERR_INVALID_ARGUMENT, "attnc_gpu_program_keep_static: input " + std::to_string(inputs[k]) +
                                                  " out of range (the program has " +
                                                  std::to_string(p->inputs.size()) + ")");
    if (!isStatic[inputs[k]])
      list.push_back(inputs[k]);
    isStatic[inputs[k]] = true;
  }
  std::lock_guard<std::mutex> lock(p->mu);
  p->staticInputs = list;
  p->staticStep = manifest::staticSteps(p->m, isStatic);
  ++p->keepGeneration; // earlier results may be of other contents
  return ATTNC_OK;
}

int attnc_gpu_program_num_static_steps(const attnc_gpu_program *p) {
  return p ? (int)std::count(p->staticStep.begin(), p->staticStep.end(), true) : 0;
}

} // extern "C"
