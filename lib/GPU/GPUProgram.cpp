//===- GPUProgram.cpp - the program's JSON form and its runner ------------===//
#include "attnc/GPU/GPUProgram.h"

// The runtime's per-thread error slot (lib/Runtime's private header), so
// that attnc_last_error() reports the runner's errors too.
#include "Manifest.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace attnc;
namespace json = llvm::json;

namespace {
const char *kindName(GPUProgram::Buffer::Kind k) {
  switch (k) {
  case GPUProgram::Buffer::Kind::Input: return "input";
  case GPUProgram::Buffer::Kind::Output: return "output";
  case GPUProgram::Buffer::Kind::Temp: return "temp";
  case GPUProgram::Buffer::Kind::Lse: return "lse";
  }
  return "temp";
}
} // namespace

std::string GPUProgram::printJSON() const {
  json::Array bufs, stepList;
  for (const Buffer &b : buffers)
    bufs.push_back(json::Object{{"name", b.name},
                                {"kind", kindName(b.kind)},
                                {"index", b.index},
                                {"dtype", b.dtype},
                                {"shape", json::Array(b.shape)}});
  for (const Step &s : steps) {
    json::Object bind;
    for (const auto &[tensor, buffer] : s.bind)
      bind[tensor] = buffer;
    json::Object o{{"kernel", s.kernel}, {"bind", std::move(bind)}};
    if (!s.reason.empty())
      o["reason"] = s.reason;
    stepList.push_back(std::move(o));
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", json::Value(json::Object{{"buffers", std::move(bufs)},
                                                         {"steps", std::move(stepList)}}));
  return out;
}

llvm::Error GPUProgram::parseJSON(llvm::StringRef text) {
  auto bad = [](const std::string &what) {
    return llvm::createStringError("GPU program: %s", what.c_str());
  };
  llvm::Expected<json::Value> v = json::parse(text);
  if (!v)
    return bad(llvm::toString(v.takeError()));
  const json::Object *root = v->getAsObject();
  const json::Array *bufs = root ? root->getArray("buffers") : nullptr;
  const json::Array *stepList = root ? root->getArray("steps") : nullptr;
  if (!bufs || !stepList)
    return bad("expected an object with 'buffers' and 'steps'");
  buffers.clear();
  steps.clear();
  for (const json::Value &e : *bufs) {
    const json::Object *o = e.getAsObject();
    std::optional<llvm::StringRef> name = o ? o->getString("name") : std::nullopt;
    std::optional<llvm::StringRef> kind = o ? o->getString("kind") : std::nullopt;
    std::optional<llvm::StringRef> dtype = o ? o->getString("dtype") : std::nullopt;
    std::optional<int64_t> index = o ? o->getInteger("index") : std::nullopt;
    const json::Array *shape = o ? o->getArray("shape") : nullptr;
    if (!name || !kind || !dtype || !index || !shape)
      return bad("buffers[" + std::to_string(buffers.size()) + "]: missing or mistyped field");
    Buffer b;
    b.name = name->str(), b.dtype = dtype->str(), b.index = (int)*index;
    if (*kind == "input") b.kind = Buffer::Kind::Input;
    else if (*kind == "output") b.kind = Buffer::Kind::Output;
    else if (*kind == "temp") b.kind = Buffer::Kind::Temp;
    else if (*kind == "lse") b.kind = Buffer::Kind::Lse;
    else return bad("buffers: unknown kind '" + kind->str() + "'");
    if (rt::dtypeFromName(b.dtype) == ATTNC_DTYPE_INVALID || shape->size() > ATTNC_MAX_RANK)
      return bad("buffer '" + b.name + "': bad dtype or rank");
    for (const json::Value &d : *shape) {
      std::optional<int64_t> n = d.getAsInteger();
      if (!n || *n < -1)
        return bad("buffer '" + b.name + "': bad shape");
      b.shape.push_back(*n);
    }
    buffers.push_back(std::move(b));
  }
  for (const json::Value &e : *stepList) {
    const json::Object *o = e.getAsObject();
    std::optional<llvm::StringRef> kernel = o ? o->getString("kernel") : std::nullopt;
    const json::Object *bind = o ? o->getObject("bind") : nullptr;
    if (!kernel || !bind)
      return bad("steps[" + std::to_string(steps.size()) + "]: missing or mistyped field");
    Step s;
    s.kernel = kernel->str();
    if (std::optional<llvm::StringRef> r = o->getString("reason"))
      s.reason = r->str();
    for (const auto &[tensor, buffer] : *bind) {
      std::optional<int64_t> n = buffer.getAsInteger();
      if (!n || *n < 0 || *n >= (int64_t)buffers.size())
        return bad("step '" + s.kernel + "': tensor '" + tensor.str() + "' binds no buffer");
      s.bind[tensor.str()] = (int)*n;
    }
    steps.push_back(std::move(s));
  }
  return llvm::Error::success();
}

const GPUKernelArtifact *GPUProgram::findKernel(llvm::StringRef name) const {
  for (const GPUKernelArtifact &k : kernels)
    if (k.kernel == name)
      return &k;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// The runner
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<GPUProgramRunner>> GPUProgramRunner::create(const GPUProgram &program) {
  std::unique_ptr<GPUProgramRunner> r(new GPUProgramRunner());
  r->program = program;
  std::map<std::string, attnc_kernel *> byName;
  for (const GPUProgram::Step &s : program.steps) {
    attnc_kernel *&k = byName[s.kernel];
    if (!k) {
      const GPUKernelArtifact *a = program.findKernel(s.kernel);
      if (!a)
        return llvm::createStringError("GPU program: no kernel '%s'", s.kernel.c_str());
      if (attnc_kernel_load_memory(a->manifest.data(), a->manifest.size(), a->cubin.data(), a->cubin.size(),
                                   &k) != ATTNC_OK)
        return llvm::createStringError("kernel %s: %s", s.kernel.c_str(), attnc_last_error());
      r->loaded.push_back(k);
      int out = -1;
      auto o = s.bind.find("o");
      if (!a->attention.empty() && o != s.bind.end() &&
          program.buffers[o->second].kind == GPUProgram::Buffer::Kind::Output)
        out = program.buffers[o->second].index;
      r->outputOf.push_back(out);
    }
    StepPlan p{k, {}};
    for (int t = 0; t < attnc_kernel_num_tensors(k); ++t) {
      auto it = s.bind.find(attnc_kernel_tensor_name(k, t));
      if (it == s.bind.end())
        return llvm::createStringError("GPU program: step '%s' binds no buffer to tensor '%s'", s.kernel.c_str(),
                                       attnc_kernel_tensor_name(k, t));
      p.bufferOf.push_back(it->second);
    }
    r->plan.push_back(std::move(p));
  }
  return r;
}

GPUProgramRunner::~GPUProgramRunner() {
  for (attnc_kernel *k : loaded)
    attnc_kernel_free(k);
  for (auto &[key, arena] : arenas)
    attnc_device_free(arena.first);
  for (void *p : retired)
    attnc_device_free(p);
}

bool GPUProgramRunner::outputHasLse(int n) const {
  for (const GPUProgram::Buffer &b : program.buffers)
    if (b.kind == GPUProgram::Buffer::Kind::Lse && b.index == n)
      return true;
  return false;
}

/// One arena per (device, stream): runs on one stream are ordered, so they
/// may share temporaries; runs on two streams must not. An arena that is
/// outgrown is kept until the runner goes (a run in flight may use it).
attnc_status GPUProgramRunner::arenaFor(int device, void *stream, size_t bytes, char *&base) {
  std::lock_guard<std::mutex> lock(mu);
  std::pair<void *, size_t> &a = arenas[{device, stream}];
  if (a.second < bytes) {
    if (a.first)
      retired.push_back(a.first);
    a = {nullptr, 0};
    if (attnc_device_alloc_for_stream(device, stream, bytes, &a.first) != ATTNC_OK)
      return rt::setLastError(ATTNC_ERR_CUDA, "GPU program: allocating " + std::to_string(bytes) +
                                                  " bytes of temporaries failed: " + attnc_last_error());
    a.second = bytes;
  }
  base = static_cast<char *>(a.first);
  return ATTNC_OK;
}

attnc_status GPUProgramRunner::run(const attnc_tensor *inputs, const attnc_tensor *outputs, const attnc_tensor *lse,
                                   void *stream) {
  using Kind = GPUProgram::Buffer::Kind;
  const std::vector<GPUProgram::Buffer> &bufs = program.buffers;
  int device = 0;
  for (const GPUProgram::Buffer &b : bufs)
    if (b.kind == Kind::Output) {
      device = outputs[b.index].device;
      break;
    }
  // Places of the temporaries and LSEs for this run: a static shape, or an
  // output's LSE beside it ([B, H, Lq] of o [B, H, Lq, Dv]).
  std::vector<std::vector<int64_t>> shapes(bufs.size());
  std::vector<size_t> offsets(bufs.size(), 0);
  size_t total = 0;
  for (size_t i = 0; i < bufs.size(); ++i) {
    const GPUProgram::Buffer &b = bufs[i];
    bool userLse = b.kind == Kind::Lse && lse && b.index >= 0;
    if ((b.kind != Kind::Temp && b.kind != Kind::Lse) || userLse)
      continue;
    shapes[i] = b.shape;
    if (llvm::is_contained(b.shape, -1)) {
      if (b.kind != Kind::Lse || b.index < 0)
        return rt::setLastError(ATTNC_ERR_SHAPE, "GPU program: temporary '" + b.name + "' has no static shape");
      const attnc_tensor &o = outputs[b.index];
      shapes[i].assign(o.shape, o.shape + std::max(o.rank - 1, 0));
    }
    size_t bytes = attnc_dtype_size(rt::dtypeFromName(b.dtype));
    for (int64_t d : shapes[i])
      bytes *= (size_t)d;
    offsets[i] = total;
    total += (bytes + 255) & ~size_t(255);
  }
  char *arena = nullptr;
  if (total)
    if (attnc_status s = arenaFor(device, stream, total, arena))
      return s;
  std::vector<attnc_tensor> args;
  for (size_t i = 0; i < plan.size(); ++i) {
    args.clear();
    for (int bi : plan[i].bufferOf) {
      const GPUProgram::Buffer &b = bufs[bi];
      if (b.kind == Kind::Input)
        args.push_back(inputs[b.index]);
      else if (b.kind == Kind::Output)
        args.push_back(outputs[b.index]);
      else if (b.kind == Kind::Lse && lse && b.index >= 0)
        args.push_back(lse[b.index]);
      else
        args.push_back(attnc_tensor_contiguous(arena + offsets[bi], rt::dtypeFromName(b.dtype),
                                               (int)shapes[bi].size(), shapes[bi].data(), device));
    }
    if (attnc_status s = attnc_kernel_launch(plan[i].kernel, args.data(), (int)args.size(), nullptr, stream))
      return rt::setLastError(s, "step " + std::to_string(i) + " (kernel " + program.steps[i].kernel +
                                     "): " + attnc_last_error());
  }
  return ATTNC_OK;
}
