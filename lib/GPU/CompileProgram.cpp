//===- CompileProgram.cpp - a spec to a GPU program ----------------------===//
//
// attn-gpu-partition-program splits the variant function into steps; the
// Hopper pipeline builds the kernel steps and the generic pipeline the rest
// (each to PTX, which ptxas assembles: Ptxas.h); this file reads the result
// into a GPUProgram: the kernels with their manifests and the buffers and
// steps that run them.
//
//===----------------------------------------------------------------------===//
#include "attnc/GPU/GPUArtifacts.h"
#include "Ptxas.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Passes/GPUPasses.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <functional>
#include <map>

using namespace mlir;
using namespace attnc;

namespace {
/// "FILE:LINE:COL" of a spec location, or "".
std::string locText(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    loc = n.getChildLoc();
  auto l = dyn_cast<FileLineColLoc>(loc);
  return l ? (l.getFilename().getValue() + ":" + Twine(l.getLine()) + ":" + Twine(l.getColumn())).str() : "";
}

/// Runs `build`'s passes on `module` in place; the error text is the
/// diagnostics with their spec locations.
llvm::Error runPasses(ModuleOp module, const GPUKernelOptions &opts, StringRef what,
                      const std::function<LogicalResult(PassManager &)> &build) {
  std::string diagText;
  llvm::raw_string_ostream os(diagText);
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    os << locText(d.getLocation()) << ": error: " << d << "\n";
    return success();
  });
  PassManager pm(module.getContext());
  // With --time, per pass; gpu-module-to-binary holds LLVM and ptxas.
  std::optional<TimingScope> timing;
  if (opts.timing) {
    timing = opts.timing->nest(what);
    pm.enableTiming(*timing);
  }
  if (failed(build(pm)))
    return llvm::createStringError("the GPU pipeline cannot be built (%s)", what.str().c_str());
  if (failed(pm.run(module)))
    return llvm::createStringError("%s", diagText.empty() ? "GPU compilation failed\n" : diagText.c_str());
  return llvm::Error::success();
}

/// A copy of `prog` holding only the step functions of `kind`.
OwningOpRef<ModuleOp> stepsOfKind(ModuleOp prog, StringRef kind) {
  OwningOpRef<ModuleOp> copy = prog.clone();
  for (func::FuncOp f : llvm::make_early_inc_range(copy->getOps<func::FuncOp>())) {
    auto k = f->getAttrOfType<StringAttr>("attnc.gpu.step");
    if (!k || k.getValue() != kind)
      f.erase();
  }
  return copy;
}

bool hasSteps(ModuleOp m) { return !m.getOps<func::FuncOp>().empty(); }

/// gpu.binary symbol -> its object (cubin or PTX).
std::map<std::string, std::string> binaries(ModuleOp m) {
  std::map<std::string, std::string> out;
  m.walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects())
      out[bin.getSymName().str()] = cast<gpu::ObjectAttr>(a).getObject().getValue().str();
  });
  return out;
}

std::string dtypeName(Type t) {
  if (t.isBF16()) return "bf16";
  if (t.isF16()) return "f16";
  if (t.isF32()) return "f32";
  if (t.isF64()) return "f64";
  if (isa<Float8E4M3FNType>(t)) return "f8e4m3";
  if (t.isInteger(1)) return "i1";
  if (t.isInteger(8)) return "i8";
  if (t.isInteger(32)) return "i32";
  if (t.isInteger(64)) return "i64";
  return "";
}

/// The manifest of a generic kernel: a pointer per buffer (static shapes),
/// the launch's grid and block, no dims.
llvm::Expected<std::string> genericManifest(gpu::LaunchFuncOp launch, StringRef chip) {
  manifest::Kernel m;
  m.kernel = launch.getKernelName().str();
  m.chip = chip.str();
  m.dims.emplace();
  m.constraints.emplace();
  for (auto [i, v] : llvm::enumerate(launch.getKernelOperands())) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape() || !t.getLayout().isIdentity() || dtypeName(t.getElementType()).empty())
      return llvm::createStringError("generic GPU kernel %s: argument %zu is not a static buffer",
                                     m.kernel.c_str(), i);
    manifest::Param p;
    p.name = "p" + std::to_string(i);
    p.kind = manifest::Param::Kind::Ptr;
    p.tensor = "t" + std::to_string(i);
    p.dtype = dtypeName(t.getElementType());
    for (int64_t d : t.getShape())
      p.shape.push_back(std::to_string(d));
    m.params.push_back(p);
  }
  auto lit = [&](Value v) -> std::string {
    std::optional<int64_t> c = getConstantIntValue(v);
    return c ? std::to_string(*c) : "";
  };
  gpu::KernelDim3 g = launch.getGridSizeOperandValues(), b = launch.getBlockSizeOperandValues();
  m.grid[0] = lit(g.x), m.grid[1] = lit(g.y), m.grid[2] = lit(g.z);
  m.block[0] = lit(b.x), m.block[1] = lit(b.y), m.block[2] = lit(b.z);
  m.sharedBytes = "0";
  for (const std::string &e : {m.grid[0], m.grid[1], m.grid[2], m.block[0], m.block[1], m.block[2]})
    if (e.empty())
      return llvm::createStringError("generic GPU kernel %s: the launch is not static", m.kernel.c_str());
  return manifest::printManifest(m);
}

/// Reads the partitioned variant function into buffers and steps, and the
/// compiled modules into kernels.
class ProgramReader {
public:
  ProgramReader(func::FuncOp fn, const attn::VariantSignature &sig, StringRef chip)
      : fn(fn), sig(sig), chip(chip) {}

  /// `hopperCubin`: the Hopper kernels' PTX module (`hopperPtx`) assembled.
  llvm::Expected<GPUProgram> read(const std::string &hopperCubin, ModuleOp hopperPtx,
                                  const std::map<std::string, std::string> &genericCubins, ModuleOp genericPtx);

private:
  int addBuffer(manifest::ProgramBuffer::Kind kind, std::string name, int index, Type type) {
    auto t = cast<ShapedType>(type);
    manifest::ProgramBuffer b;
    b.name = std::move(name), b.kind = kind, b.index = index, b.dtype = dtypeName(t.getElementType());
    for (int64_t d : t.getShape())
      b.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    prog.program.buffers.push_back(std::move(b));
    return (int)prog.program.buffers.size() - 1;
  }
  llvm::Error kernelStep(func::CallOp call, func::FuncOp callee, int out, int outIndex);
  llvm::Error genericStep(func::CallOp call, func::FuncOp callee, func::FuncOp host, ArrayRef<int> outs);

  func::FuncOp fn;
  const attn::VariantSignature &sig;
  std::string chip;
  GPUProgram prog;
  llvm::DenseMap<Value, int> bufferOf;
  std::map<std::string, std::pair<std::string, manifest::Kernel>> hopperBins, hopperPtx;
  std::map<std::string, std::string> genericBins, genericPtx;
  std::map<Operation *, int> temps; // generic steps' allocations
};
} // namespace

llvm::Error ProgramReader::kernelStep(func::CallOp call, func::FuncOp callee, int out, int outIndex) {
  attn::AttentionOp op;
  callee.walk([&](attn::AttentionOp a) { op = a; });
  auto name = op ? op->getAttrOfType<StringAttr>("attnc.kernel_name") : StringAttr();
  if (!name)
    return llvm::createStringError("GPU program: kernel step %s has no named attention",
                                   callee.getSymName().str().c_str());
  // A tensor of the attention -> the buffer of the call operand it is.
  auto bufferOfArg = [&](Value v) { return bufferOf.lookup(call.getOperand(cast<BlockArgument>(v).getArgNumber())); };
  manifest::ProgramStep s;
  s.kernel = name.str();
  s.bind.push_back({"q", bufferOfArg(op.getQuery())});
  s.bind.push_back({"k", bufferOfArg(op.getKey())});
  s.bind.push_back({"v", bufferOfArg(op.getValue())});
  for (auto [n, e] : llvm::enumerate(op.getExtras()))
    s.bind.push_back({"extra_" + std::to_string(n), bufferOfArg(e)});
  s.bind.push_back({"o", out});
  auto o = cast<RankedTensorType>(op.getResult().getType());
  auto lseType = RankedTensorType::get(o.getShape().drop_back(), Float32Type::get(op.getContext()));
  s.bind.push_back({"lse", addBuffer(manifest::ProgramBuffer::Kind::Lse, callee.getSymName().str() + ".lse", outIndex, lseType)});
  if (!prog.findKernel(s.kernel)) {
    auto b = hopperBins.find(s.kernel), p = hopperPtx.find(s.kernel);
    if (b == hopperBins.end() || p == hopperPtx.end())
      return llvm::createStringError("no kernel '%s' in the GPU module", s.kernel.c_str());
    // The spec's names, so hosts and tools can bind tensors by name ("" for
    // a tensor another step computes).
    auto nameOf = [&](const std::string &tensor) {
      for (const auto &[t, buf] : s.bind)
        if (t == tensor && prog.program.buffers[buf].kind == manifest::ProgramBuffer::Kind::Input)
          return prog.program.buffers[buf].name;
      return std::string();
    };
    manifest::Kernel m = b->second.second;
    manifest::SpecNames &names = m.spec.emplace();
    names.variant = sig.name;
    names.attention = "?";
    if (auto n = dyn_cast<NameLoc>(op.getLoc()))
      names.attention = n.getName().str();
    names.q = nameOf("q"), names.k = nameOf("k"), names.v = nameOf("v");
    for (size_t n = 0; n < op.getExtras().size(); ++n)
      names.extras.push_back(nameOf("extra_" + std::to_string(n)));
    prog.kernels.push_back({s.kernel, names.attention, b->second.first, p->second.first,
                            manifest::printManifest(m)});
  }
  prog.program.steps.push_back(std::move(s));
  return llvm::Error::success();
}

llvm::Error ProgramReader::genericStep(func::CallOp call, func::FuncOp callee, func::FuncOp host,
                                       ArrayRef<int> outs) {
  if (!host)
    return llvm::createStringError("GPU program: no host function for step %s", callee.getSymName().str().c_str());
  std::string reason = callee->getAttrOfType<StringAttr>("attnc.gpu.reason").str();
  unsigned numIn = call.getNumOperands();
  for (Operation &op : host.getBody().getOps()) {
    if (isa<arith::ConstantOp, func::ReturnOp, memref::DeallocOp>(op))
      continue;
    if (isa<memref::AllocOp>(op)) {
      if (!temps.count(&op))
        temps[&op] = addBuffer(manifest::ProgramBuffer::Kind::Temp,
                               callee.getSymName().str() + ".t" + std::to_string(temps.size()), -1,
                               op.getResult(0).getType());
      continue;
    }
    auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
    if (!launch)
      return llvm::createStringError("generic GPU step %s: unexpected host operation '%s'",
                                     callee.getSymName().str().c_str(), op.getName().getStringRef().str().c_str());
    std::string artifact = launch.getKernelModuleName().str();
    if (!prog.findKernel(artifact)) {
      auto manifest = genericManifest(launch, chip);
      if (!manifest)
        return manifest.takeError();
      if (!genericBins.count(artifact) || !genericPtx.count(artifact))
        return llvm::createStringError("no binary '%s' in the generic GPU module", artifact.c_str());
      prog.kernels.push_back({artifact, "", genericBins[artifact], genericPtx[artifact], *manifest});
    }
    manifest::ProgramStep s;
    s.kernel = artifact;
    s.reason = reason;
    for (auto [i, v] : llvm::enumerate(launch.getKernelOperands())) {
      int b;
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        // The destination ABI: the step's inputs, then one buffer per result.
        unsigned n = arg.getArgNumber();
        if (n >= numIn + outs.size())
          return llvm::createStringError("generic GPU step %s: launch operand %zu is no buffer of the step",
                                         callee.getSymName().str().c_str(), i);
        b = n < numIn ? bufferOf.lookup(call.getOperand(n)) : outs[n - numIn];
      } else
        b = temps.at(v.getDefiningOp());
      s.bind.push_back({"t" + std::to_string(i), b});
    }
    prog.program.steps.push_back(std::move(s));
  }
  return llvm::Error::success();
}

llvm::Expected<GPUProgram> ProgramReader::read(const std::string &hopperCubin, ModuleOp hopperPtxMod,
                                               const std::map<std::string, std::string> &genericCubins,
                                               ModuleOp genericPtxMod) {
  auto manifestsOf = [&](ModuleOp m, std::map<std::string, std::pair<std::string, manifest::Kernel>> &out)
      -> llvm::Error {
    auto dict = m->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests");
    std::map<std::string, std::string> bins = binaries(m);
    if (!dict || bins.size() != 1)
      return llvm::createStringError("the GPU pipeline produced no kernel");
    for (NamedAttribute a : dict) {
      auto k = readManifestAttr(cast<DictionaryAttr>(a.getValue()));
      if (!k)
        return k.takeError();
      out[a.getName().str()] = {bins.begin()->second, std::move(*k)};
    }
    return llvm::Error::success();
  };
  if (hopperPtxMod) {
    if (llvm::Error e = manifestsOf(hopperPtxMod, hopperPtx))
      return std::move(e);
    hopperBins = hopperPtx;
    for (auto &[name, entry] : hopperBins)
      entry.first = hopperCubin;
  }
  if (genericPtxMod)
    genericBins = genericCubins, genericPtx = binaries(genericPtxMod);

  for (auto [n, arg] : llvm::enumerate(fn.getArguments()))
    bufferOf[arg] = addBuffer(manifest::ProgramBuffer::Kind::Input, sig.inputs[n].name, (int)n, arg.getType());
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  llvm::DenseMap<Value, SmallVector<int>> returnedAs;
  for (auto [n, v] : llvm::enumerate(ret.getOperands())) {
    if (isa<BlockArgument>(v))
      return llvm::createStringError("output '%s' is an input of the spec; the GPU target computes outputs",
                                     sig.outputs[n].name.c_str());
    returnedAs[v].push_back((int)n);
  }
  SymbolTable symbols(fn->getParentOfType<ModuleOp>());
  for (Operation &op : fn.getBody().getOps()) {
    auto call = dyn_cast<func::CallOp>(op);
    if (!call)
      continue;
    auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
    unsigned numResults = call.getNumResults();
    bool isKernel = callee->getAttrOfType<StringAttr>("attnc.gpu.step").getValue() == "kernel";
    if (numResults == 0 || (isKernel && numResults != 1))
      return llvm::createStringError("GPU program: step %s has %u results", call.getCallee().str().c_str(),
                                     numResults);
    // Every tensor a step reads is a spec input or an earlier step's result
    // (the partition moved every tensor-valued op into a step).
    for (Value v : call.getOperands())
      if (!bufferOf.count(v))
        return llvm::createStringError("GPU program: step %s reads a tensor no step computes (%s)",
                                       call.getCallee().str().c_str(),
                                       v.getDefiningOp() ? v.getDefiningOp()->getName().getStringRef().str().c_str()
                                                         : "an argument");
    func::FuncOp host = genericPtxMod ? genericPtxMod.lookupSymbol<func::FuncOp>(callee.getSymName()) : nullptr;
    size_t reps = 1;
    for (Value r : call.getResults()) {
      SmallVector<int> outs = returnedAs.lookup(r);
      // A result another step reads lives in a temporary, sized at compile time.
      if (outs.empty() && !cast<ShapedType>(r.getType()).hasStaticShape())
        return llvm::createStringError(
            "%s: error: another step reads this result (a temporary of the GPU program), which needs every "
            "dim bound (--dim NAME=VALUE)",
            locText(callee.getLoc()).c_str());
      if (numResults > 1 && outs.size() > 1)
        return llvm::createStringError("GPU program: step %s returns a result as several outputs",
                                       call.getCallee().str().c_str());
      reps = std::max(reps, outs.size());
    }
    // A value returned as several outputs is computed into each.
    for (size_t rep = 0; rep < reps; ++rep) {
      SmallVector<int> outBufs;
      for (auto [ri, r] : llvm::enumerate(call.getResults())) {
        SmallVector<int> outs = returnedAs.lookup(r);
        int out = outs.empty() ? addBuffer(manifest::ProgramBuffer::Kind::Temp,
                                           callee.getSymName().str() + ".r" + std::to_string(ri), -1,
                                           r.getType())
                               : addBuffer(manifest::ProgramBuffer::Kind::Output, sig.outputs[outs[rep]].name,
                                           outs[rep], r.getType());
        if (rep == 0)
          bufferOf[r] = out;
        outBufs.push_back(out);
      }
      SmallVector<int> outs0 = returnedAs.lookup(call.getResult(0));
      llvm::Error e = isKernel ? kernelStep(call, callee, outBufs[0], outs0.empty() ? -1 : outs0[rep])
                               : genericStep(call, callee, host, outBufs);
      if (e)
        return std::move(e);
    }
  }
  // Every output is computed by a step.
  for (size_t n = 0; n < sig.outputs.size(); ++n)
    if (llvm::none_of(prog.program.buffers, [&](const manifest::ProgramBuffer &b) {
          return b.kind == manifest::ProgramBuffer::Kind::Output && b.index == (int64_t)n;
        }))
      return llvm::createStringError("GPU program: no step computes output '%s'", sig.outputs[n].name.c_str());
  return std::move(prog);
}

namespace {
struct HopperKernels {
  OwningOpRef<ModuleOp> ptx; // null without kernel steps
  std::string cubin;
};

/// A persistent kernel is planned again when ptxas reports more spill stores
/// than this, and keeps the second plan when it spills at most
/// kReplanKeepRatio of the first. Measured on an H200 (bench/NOTES.md, spill
/// re-plan): 3-D neighborhood 192 -> 0 bytes ran 46% faster, shifted chunks
/// 2572 -> 1376 28%, MaxViT grid 172 -> 88 7%; MaxViT block 104 -> 80 ran 4%
/// slower and sliding window + sinks 20 -> 0 2% slower (persistence gains
/// more than those spills cost). A kernel with a score region is planned
/// again at any spill: its spills sit in the consumers' per-score work
/// (softcap 28 bytes persistent ran 4.5% slower than 0 bytes not).
constexpr int64_t kReplanSpillBytes = 64;
constexpr int64_t kReplanSpillBytesScoreRegion = 0;
constexpr double kReplanKeepRatio = 0.6;

/// The names of the (persistent) kernels that ptxas reported spilling more
/// than kReplanSpillBytes.
std::vector<std::string> spilling(ModuleOp ptxModule, const std::map<std::string, int64_t> &spills,
                                  bool persistentOnly) {
  std::vector<std::string> out;
  auto dict = ptxModule->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests");
  for (NamedAttribute a : dict ? dict : DictionaryAttr()) {
    auto k = readManifestAttr(cast<DictionaryAttr>(a.getValue()));
    auto it = spills.find(a.getName().str());
    if (k && (k->persistent || !persistentOnly) && it != spills.end() &&
        it->second > (k->attention && k->attention->hasScoreRegion ? kReplanSpillBytesScoreRegion
                                                                    : kReplanSpillBytes))
      out.push_back(a.getName().str());
    else if (!k)
      llvm::consumeError(k.takeError());
  }
  return out;
}

/// The names of the kernels in `ptxModule` whose O goes through shared
/// memory and TMA (the o_map parameter of plan o_tma_store).
std::vector<std::string> storingOByTMA(ModuleOp ptxModule, const std::vector<std::string> &names) {
  std::vector<std::string> out;
  auto dict = ptxModule->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests");
  for (NamedAttribute a : dict ? dict : DictionaryAttr()) {
    if (!llvm::is_contained(names, a.getName().str()))
      continue;
    auto k = readManifestAttr(cast<DictionaryAttr>(a.getValue()));
    if (!k) {
      llvm::consumeError(k.takeError());
      continue;
    }
    if (llvm::any_of(k->params, [](const manifest::Param &p) { return p.name == "o_map"; }))
      out.push_back(a.getName().str());
  }
  return out;
}

/// The Hopper kernel steps of `prog` lowered to PTX and assembled by ptxas.
/// A persistent kernel that spills is compiled again with per-thread O
/// stores (kOStoresSpilledAttr: the staged store's registers), then, if it
/// still spills, without persistence (kPersistentSpilledAttr: 240 consumer
/// registers instead of 224, but 24 for the producer, whose tile schedule
/// may spill then), then, if it stages O and still spills, with per-thread
/// stores; each step is kept where it spills much less.
llvm::Expected<HopperKernels> compileHopperKernels(ModuleOp prog, StringRef chip,
                                                   const AttnGPUPlanKernelOptions &kernel,
                                                   const GPUKernelOptions &options) {
  struct Attempt {
    HopperKernels k;
    std::map<std::string, int64_t> spills;
  };
  auto compile = [&]() -> llvm::Expected<Attempt> {
    Attempt a;
    OwningOpRef<ModuleOp> h = stepsOfKind(prog, "kernel");
    if (!hasSteps(*h))
      return a;
    if (llvm::Error e = runPasses(*h, options, "Hopper kernels to PTX",
                                  [&](PassManager &pm) { return buildGPUPipeline(pm, chip, "isa", kernel); }))
      return std::move(e);
    std::map<std::string, std::string> bins = binaries(*h);
    if (bins.size() != 1)
      return llvm::createStringError("the GPU pipeline produced no kernel");
    std::optional<TimingScope> t;
    if (options.timing)
      t = options.timing->nest("ptxas (Hopper kernels)");
    auto r = assembleWithPtxas(bins.begin()->second, chip);
    if (!r)
      return r.takeError();
    a.k.ptx = std::move(h);
    a.k.cubin = std::move(r->cubin);
    a.spills = std::move(r->spillStores);
    return a;
  };
  auto mark = [&](const std::vector<std::string> &names, StringRef attr, bool on) {
    prog.walk([&](attn::AttentionOp op) {
      auto name = op->getAttrOfType<StringAttr>("attnc.kernel_name");
      if (!name || !llvm::is_contained(names, name.str()))
        return;
      if (on)
        op->setAttr(attr, UnitAttr::get(op.getContext()));
      else
        op->removeAttr(attr);
    });
  };
  // One relief step: `attr` on the attentions of `names`, kept for those
  // whose kernel then spills at most kReplanKeepRatio of what it did.
  auto relieve = [&](Attempt first, const std::vector<std::string> &names,
                     StringRef attr) -> llvm::Expected<Attempt> {
    if (names.empty())
      return std::move(first);
    mark(names, attr, true);
    auto second = compile();
    if (!second)
      return second.takeError();
    std::vector<std::string> worse;
    for (const std::string &k : names) {
      auto it = second->spills.find(k); // not in the report: keep the first plan
      if (it == second->spills.end() || (double)it->second > kReplanKeepRatio * (double)first.spills[k])
        worse.push_back(k);
    }
    if (worse.empty())
      return std::move(*second);
    mark(worse, attr, false);
    if (worse.size() == names.size())
      return std::move(first);
    return compile();
  };
  auto first = compile();
  if (!first)
    return first.takeError();
  if (!first->k.ptx || !options.replanSpills)
    return std::move(first->k);
  std::vector<std::string> spilled = spilling(*first->k.ptx, first->spills, /*persistentOnly=*/true);
  if (spilled.empty())
    return std::move(first->k);
  std::vector<std::string> staged = storingOByTMA(*first->k.ptx, spilled);
  auto direct = relieve(std::move(*first), staged, kOStoresSpilledAttr);
  if (!direct)
    return direct.takeError();
  spilled = spilling(*direct->k.ptx, direct->spills, /*persistentOnly=*/true);
  auto single = relieve(std::move(*direct), spilled, kPersistentSpilledAttr);
  if (!single)
    return single.takeError();
  // A kernel that left persistence may still spill through its staged O.
  std::vector<std::string> left;
  for (const std::string &k : spilling(*single->k.ptx, single->spills, /*persistentOnly=*/false))
    if (llvm::is_contained(spilled, k))
      left.push_back(k);
  staged = storingOByTMA(*single->k.ptx, left);
  auto last = relieve(std::move(*single), staged, kOStoresSpilledAttr);
  if (!last)
    return last.takeError();
  return std::move(last->k);
}
} // namespace

llvm::Expected<GPUProgram> attnc::compileForGPU(ModuleOp module, StringRef chip, const GPUKernelOptions &options) {
  auto variant = attn::readVariantSignature(module);
  if (!variant)
    return variant.takeError();
  const attn::VariantSignature &sig = variant->second;
  if (chip != "sm_90a")
    return llvm::createStringError("the GPU pipeline does not support chip '%s' yet (sm_90a)", chip.str().c_str());
  // The head dims are the last dims of each attention's q, k and v (a rank-4 extra such as a
  // [B, H, Lq, Lk] bias keeps its lengths free).
  WalkResult headDims = module.walk([](attn::AttentionOp op) {
    for (Value x : {op.getQuery(), op.getKey(), op.getValue()})
      if (auto s = dyn_cast<ShapedType>(x.getType()); s && s.hasRank() && s.getRank() > 0 &&
                                                     s.isDynamicDim(s.getRank() - 1))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (headDims.wasInterrupted())
    return llvm::createStringError("the GPU target needs static head dims: bind them with "
                                   "--dim (multiples of 16 from 16 to 256)");

  OwningOpRef<ModuleOp> prog = module.clone();
  AttnGPUPartitionProgramOptions partition;
  partition.decode = options.decode;
  partition.blockN = options.blockN;
  if (llvm::Error e = runPasses(*prog, options, "partition into steps", [&](PassManager &pm) {
        pm.addPass(createAttnShardPositions());
        pm.addPass(createAttnExpandBlockSelect());
        pm.addPass(createAttnFoldPageGather());
        pm.addPass(createAttnSummarizeMaskTables());
        pm.addPass(createAttnClassifyMaskBlocks());
        pm.addPass(createAttnGPUTileBlockLists());
        pm.addPass(createAttnGPUPartitionProgram(partition));
        return success();
      }))
    return std::move(e);
  func::FuncOp fn;
  for (func::FuncOp f : prog->getOps<func::FuncOp>())
    if (f->hasAttr("attnc.gpu.program"))
      fn = f;

  AttnGPUPlanKernelOptions kernel;
  kernel.decode = options.decode;
  kernel.blockN = options.blockN;
  kernel.gridTiles = options.gridTiles;
  kernel.qSlots = options.qSlots;
  kernel.persistent = options.persistent;
  kernel.oTmaStore = options.oTmaStore;
  auto hopper = compileHopperKernels(*prog, chip, kernel, options);
  if (!hopper)
    return hopper.takeError();
  // Generic steps are built for bound dims; like the Hopper kernels, lowered
  // to PTX once and assembled by ptxas (one cubin per launch's module).
  OwningOpRef<ModuleOp> generic = stepsOfKind(*prog, "generic");
  std::map<std::string, std::string> genericCubins;
  if (hasSteps(*generic)) {
    for (func::FuncOp f : generic->getOps<func::FuncOp>())
      if (llvm::any_of(f.getArgumentTypes(), [](Type t) { return !cast<ShapedType>(t).hasStaticShape(); }))
        return llvm::createStringError(
            "%s: error: this runs as generic GPU code (%s), which needs every dim bound (--dim NAME=VALUE)",
            locText(f.getLoc()).c_str(), f->getAttrOfType<StringAttr>("attnc.gpu.reason").str().c_str());
    if (llvm::Error e = runPasses(*generic, options, "generic steps to PTX",
                                  [&](PassManager &pm) { return buildGPUGenericPipeline(pm, chip, "isa"); }))
      return std::move(e);
    std::optional<TimingScope> t;
    if (options.timing)
      t = options.timing->nest("ptxas (generic steps)");
    for (const auto &[name, ptx] : binaries(*generic)) {
      auto r = assembleWithPtxas(ptx, chip);
      if (!r)
        return r.takeError();
      genericCubins[name] = std::move(r->cubin);
    }
  } else {
    generic = nullptr;
  }
  ProgramReader reader(fn, sig, chip);
  return reader.read(hopper->cubin, hopper->ptx ? *hopper->ptx : ModuleOp(), genericCubins,
                     generic ? *generic : ModuleOp());
}
