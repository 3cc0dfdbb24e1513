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
#include "GenericManifest.h"
#include "Ptxas.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Passes/GPUPasses.h"
#include "attnc/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
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
  /// `sizes`: per axis, the size over the spec's dims (used where the type
  /// has a dynamic axis; an empty string leaves that axis to the caller).
  int addBuffer(manifest::ProgramBuffer::Kind kind, std::string name, int index, Type type,
                ArrayRef<std::string> sizes = {}) {
    auto t = cast<ShapedType>(type);
    manifest::ProgramBuffer b;
    b.name = std::move(name), b.kind = kind, b.index = index, b.dtype = dtypeName(t.getElementType());
    for (int64_t d : t.getShape())
      b.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    if (!t.hasStaticShape() && sizes.size() == b.shape.size() && llvm::none_of(sizes, [](auto &e) { return e.empty(); }))
      for (auto [d, e] : llvm::zip(b.shape, sizes))
        b.sizes.push_back(d >= 0 ? std::to_string(d) : e);
    prog.program.buffers.push_back(std::move(b));
    return (int)prog.program.buffers.size() - 1;
  }
  /// The size of axis `axis` of `v`, a tensor in the callee of `call`, over
  /// the spec's dims (through the sizes of the call's operands), or nullopt.
  std::optional<std::string> stepSize(func::CallOp call, Value v, int64_t axis) const {
    auto t = cast<ShapedType>(v.getType());
    if (axis >= t.getRank())
      return std::nullopt;
    if (!t.isDynamicDim(axis))
      return std::to_string(t.getDimSize(axis));
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      std::string e = arg.getOwner()->isEntryBlock() && arg.getArgNumber() < call.getNumOperands()
                          ? sizeOfBuffer(bufferOf.lookup(call.getOperand(arg.getArgNumber())), axis)
                          : "";
      return e.empty() ? std::nullopt : std::optional<std::string>(e);
    }
    Operation *op = v.getDefiningOp();
    auto same = [&](Value w) { return stepSize(call, w, axis); };
    if (auto a = dyn_cast<attn::AttentionOp>(op)) {
      // [B, max(Hq, Hk), Lq, Dv] (docs/semantics.md)
      if (axis == 1) {
        auto hq = stepSize(call, a.getQuery(), 1), hk = stepSize(call, a.getKey(), 1);
        return maxOf(hq, hk);
      }
      return stepSize(call, axis == 3 ? a.getValue() : a.getQuery(), axis);
    }
    if (auto pool = dyn_cast<attn::PoolOp>(op)) {
      // [B, H, N, D], N = ceildiv(max(L - size, 0), stride) + 1 groups.
      auto len = stepSize(call, pool.getInput(), axis);
      if (axis != 2 || !len)
        return len;
      return "ceildiv(max((" + *len + ")-" + std::to_string(pool.getSize()) + ",0)," +
             std::to_string(pool.getStride()) + ")+1";
    }
    auto sizeOf = [&](Value index) {
      return sizeExprOf(index, [&](Value w, int64_t a) { return stepSize(call, w, a); });
    };
    if (auto map = dyn_cast<attn::MapOp>(op))
      return sizeOf(map.getSizes()[t.getDynamicDimIndex(axis)]);
    if (auto sel = dyn_cast<attn::SelectBlocksOp>(op)) {
      // counts [B, H, ceil(Lq/q_block)], indices [..., ceil(Lk/k_block)]
      if (axis == 0)
        return stepSize(call, sel.getQuery(), 0);
      if (axis == 1) {
        auto hq = stepSize(call, sel.getQuery(), 1), hk = stepSize(call, sel.getKey(), 1);
        return maxOf(hq, hk);
      }
      bool keys = axis == 3;
      auto len = stepSize(call, keys ? sel.getKey() : sel.getQuery(), 2);
      int64_t block = keys ? sel.getSelect().getKBlock() : sel.getSelect().getQBlock();
      return len ? std::optional<std::string>("ceildiv(" + *len + "," + std::to_string(block) + ")") : std::nullopt;
    }
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
      return same(dps.getTiedOpOperand(cast<OpResult>(v))->get());
    if (auto empty = dyn_cast<tensor::EmptyOp>(op))
      return sizeOf(empty.getDynamicSizes()[t.getDynamicDimIndex(axis)]);
    // Results shaped as the operands.
    if (op->hasTrait<OpTrait::SameOperandsAndResultType>() || op->hasTrait<OpTrait::Elementwise>())
      for (Value w : op->getOperands())
        if (auto wt = dyn_cast<ShapedType>(w.getType()); wt && wt.getRank() == t.getRank())
          return same(w);
    return std::nullopt;
  }
  /// The sizes of buffer `b` (the spec's dims), or "" per axis if unknown.
  std::string sizeOfBuffer(int b, int64_t axis) const {
    const manifest::ProgramBuffer &buf = prog.program.buffers[b];
    if (axis < (int64_t)buf.shape.size() && buf.shape[axis] >= 0)
      return std::to_string(buf.shape[axis]);
    return axis < (int64_t)buf.sizes.size() ? buf.sizes[axis] : "";
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
  // [B, H, Lq] of o [B, H, Lq, Dv]
  const std::vector<std::string> &oSizes = prog.program.buffers[out].sizes;
  SmallVector<std::string> lseSizes(oSizes.begin(), oSizes.end());
  if (!lseSizes.empty())
    lseSizes.pop_back();
  s.bind.push_back({"lse", addBuffer(manifest::ProgramBuffer::Kind::Lse, callee.getSymName().str() + ".lse", outIndex,
                                     lseType, lseSizes)});
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
  ArrayRef<int64_t> shapeOnly;
  if (auto a = callee->getAttrOfType<DenseI64ArrayAttr>(kShapeOnlyAttr))
    shapeOnly = a.asArrayRef();
  unsigned numIn = call.getNumOperands();
  for (Operation &op : host.getBody().getOps()) {
    // Index arithmetic sizes launches and temporaries (read through
    // sizeExprOf where they are used).
    if (isa<func::ReturnOp, memref::DeallocOp>(op) ||
        (op.getNumRegions() == 0 && isMemoryEffectFree(&op) &&
         llvm::all_of(op.getResultTypes(), [](Type t) { return t.isIndex() || t.isIntOrFloat(); })))
      continue;
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (temps.count(&op))
        continue;
      // A dynamic size: the host's arithmetic over the step's buffers.
      SmallVector<std::string> sizes;
      auto axisName = [&](Value memref, int64_t axis) -> std::optional<std::string> {
        auto arg = dyn_cast<BlockArgument>(memref);
        if (!arg || arg.getOwner() != &host.getBody().front() || arg.getArgNumber() >= numIn + outs.size())
          return std::nullopt;
        unsigned n = arg.getArgNumber();
        std::string e = sizeOfBuffer(n < numIn ? bufferOf.lookup(call.getOperand(n)) : outs[n - numIn], axis);
        return e.empty() ? std::nullopt : std::optional<std::string>(e);
      };
      auto type = alloc.getType();
      for (int64_t a = 0; a < type.getRank(); ++a) {
        std::optional<std::string> e =
            type.isDynamicDim(a) ? sizeExprOf(alloc.getDynamicSizes()[type.getDynamicDimIndex(a)], axisName)
                                 : std::optional<std::string>(std::to_string(type.getDimSize(a)));
        if (!e)
          return llvm::createStringError("%s: error: a temporary of this step has a size that is no expression of "
                                         "the spec's dims",
                                         locText(alloc.getLoc()).c_str());
        sizes.push_back(*e);
      }
      temps[&op] = addBuffer(manifest::ProgramBuffer::Kind::Temp,
                             callee.getSymName().str() + ".t" + std::to_string(temps.size()), -1, type, sizes);
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
      if (!isa<MemRefType>(v.getType()))
        continue; // a size (genericManifest)
      int b;
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        // The destination ABI: the step's inputs, then one buffer per result.
        unsigned n = arg.getArgNumber();
        if (n >= numIn + outs.size())
          return llvm::createStringError("generic GPU step %s: launch operand %zu is no buffer of the step",
                                         callee.getSymName().str().c_str(), i);
        b = n < numIn ? bufferOf.lookup(call.getOperand(n)) : outs[n - numIn];
        if (n < numIn && llvm::is_contained(shapeOnly, (int64_t)n))
          s.shapeOnly.push_back("t" + std::to_string(i));
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
    bufferOf[arg] = addBuffer(manifest::ProgramBuffer::Kind::Input, sig.inputs[n].name, (int)n, arg.getType(),
                              sig.inputs[n].shape);
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
        // A result another step reads lives in a temporary, sized from the
        // spec's dims; so is an output whose shape the signature lacks.
        SmallVector<std::string> sizes;
        int64_t rank = cast<ShapedType>(r.getType()).getRank();
        if (!outs.empty() && (int64_t)sig.outputs[outs[rep]].shape.size() == rank)
          sizes.assign(sig.outputs[outs[rep]].shape.begin(), sig.outputs[outs[rep]].shape.end());
        else if (!cast<ShapedType>(r.getType()).hasStaticShape()) {
          Value inner = callee.getBody().front().getTerminator()->getOperand(ri);
          for (int64_t a = 0; a < cast<ShapedType>(r.getType()).getRank(); ++a) {
            std::optional<std::string> e = stepSize(call, inner, a);
            if (!e)
              return llvm::createStringError(
                  "%s: error: the size of this step's result (axis %lld) cannot be derived from the spec's "
                  "dims: bind every dim (--dim NAME=VALUE)",
                  locText(callee.getLoc()).c_str(), (long long)a);
            sizes.push_back(*e);
          }
        }
        int out = outs.empty() ? addBuffer(manifest::ProgramBuffer::Kind::Temp,
                                           callee.getSymName().str() + ".r" + std::to_string(ri), -1,
                                           r.getType(), sizes)
                               : addBuffer(manifest::ProgramBuffer::Kind::Output, sig.outputs[outs[rep]].name,
                                           outs[rep], r.getType(), sizes);
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
                                   "--dim (multiples of 16 from 16 to 256; along the feature "
                                   "axis, an attention's head dim is its token length)");

  OwningOpRef<ModuleOp> prog = module.clone();
  AttnGPUPartitionProgramOptions partition;
  partition.decode = options.decode;
  partition.blockN = options.blockN;
  if (llvm::Error e = runPasses(*prog, options, "partition into steps", [&](PassManager &pm) {
        pm.addPass(createAttnShardPositions());
        pm.addPass(createAttnExpandBlockSelect());
        pm.addPass(createAttnReassociateLinear());
        pm.addPass(createAttnChunkCausalLinear());
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
  kernel.vScanner = options.vScanner;
  auto hopper = compileHopperKernels(*prog, chip, kernel, options);
  if (!hopper)
    return hopper.takeError();
  // Generic steps are built for bound dims; like the Hopper kernels, lowered
  // to PTX once and assembled by ptxas (one cubin per launch's module).
  OwningOpRef<ModuleOp> generic = stepsOfKind(*prog, "generic");
  std::map<std::string, std::string> genericCubins;
  if (hasSteps(*generic)) {
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
