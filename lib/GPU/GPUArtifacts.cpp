//===- GPUArtifacts.cpp - ahead-of-time GPU artifacts --------------------===//
//
// Runs the GPU pipeline twice (cubin, then PTX) on copies of the attn-level
// module and writes, per attention, the binary, the PTX and the manifest the
// runtime loads; plus a C header whose launch functions take the spec's
// tensors by name.
//
//===----------------------------------------------------------------------===//
#include "attnc/GPU/GPUArtifacts.h"
#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Passes/AttnToNVVM.h"
#include "attnc/Runtime/KernelCache.h"
#include "attnc/Support/Files.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <optional>
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include "BuildId.h"

#include <map>

using namespace mlir;
using namespace attnc;

namespace {
/// Runs the GPU pipeline on a copy; returns kernel name -> (binary, manifest).
llvm::Expected<std::map<std::string, std::pair<std::string, manifest::Kernel>>>
runPipeline(ModuleOp module, StringRef chip, StringRef format, const GPUKernelOptions &opts) {
  OwningOpRef<ModuleOp> copy = module.clone();
  std::string diagText;
  llvm::raw_string_ostream os(diagText);
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    if (auto l = dyn_cast<FileLineColLoc>(d.getLocation()))
      os << l.getFilename().getValue() << ":" << l.getLine() << ":" << l.getColumn();
    else if (auto n = dyn_cast<NameLoc>(d.getLocation()))
      if (auto c = dyn_cast<FileLineColLoc>(n.getChildLoc()))
        os << c.getFilename().getValue() << ":" << c.getLine() << ":" << c.getColumn();
    os << ": error: " << d << "\n";
    return success();
  });
  PassManager pm(module.getContext());
  // With --time, per pass; gpu-module-to-binary holds LLVM and ptxas.
  std::optional<TimingScope> timing;
  if (opts.timing) {
    timing = opts.timing->nest(format == "bin" ? "GPU pipeline to cubin" : "GPU pipeline to PTX");
    pm.enableTiming(*timing);
  }
  AttnGPUPlanKernelOptions kernel;
  kernel.decode = opts.decode;
  kernel.blockN = opts.blockN;
  if (failed(buildGPUPipeline(pm, chip, format, kernel)))
    return llvm::createStringError("the GPU pipeline does not support chip '%s' yet (sm_90a)",
                                   chip.str().c_str());
  if (failed(pm.run(*copy)))
    return llvm::createStringError("%s", diagText.empty() ? "GPU compilation failed\n"
                                                          : diagText.c_str());
  auto manifests = (*copy)->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests");
  std::string binary;
  copy->walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects())
      binary = cast<gpu::ObjectAttr>(a).getObject().getValue().str();
  });
  if (!manifests || binary.empty())
    return llvm::createStringError("the GPU pipeline produced no kernel");
  std::map<std::string, std::pair<std::string, manifest::Kernel>> out;
  for (NamedAttribute m : manifests) {
    auto k = readManifestAttr(cast<DictionaryAttr>(m.getValue()));
    if (!k)
      return k.takeError();
    out[m.getName().str()] = {binary, std::move(*k)};
  }
  return out;
}

llvm::Error writeFile(const std::string &path, StringRef data) {
  return writeFileAtomic(path, data);
}
} // namespace

llvm::Expected<std::vector<GPUKernelArtifact>>
attnc::compileForGPU(ModuleOp module, StringRef chip, const GPUKernelOptions &options) {
  // Which spec names each attention reads (q, k, v, extras), in kernel order.
  auto variant = attn::readVariantSignature(module);
  if (!variant)
    return variant.takeError();
  func::FuncOp fn = variant->first;
  const attn::VariantSignature &sig = variant->second;
  auto argName = [&](Value v) -> std::string {
    if (auto arg = dyn_cast<BlockArgument>(v))
      if (arg.getOwner()->getParentOp() == fn.getOperation())
        return sig.inputs[arg.getArgNumber()].name;
    return "";
  };
  SmallVector<attn::AttentionOp> ops;
  fn.walk([&](attn::AttentionOp op) { ops.push_back(op); });
  for (Operation &op : fn.getBody().front().without_terminator())
    if (isa<attn::AttnDialect>(op.getDialect()) && !isa<attn::AttentionOp>(op))
      return llvm::createStringError(
          "the GPU target compiles attention ops only: '%s' (a let or an output expression "
          "that is not a bare attention result) runs on the CPU backend",
          op.getName().getStringRef().str().c_str());
  for (attn::AttentionOp op : ops) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto v = cast<RankedTensorType>(op.getValue().getType());
    if (q.isDynamicDim(3) || v.isDynamicDim(3))
      return llvm::createStringError("the GPU target needs static head dims: bind them with "
                                     "--dim (multiples of 16 from 16 to 256)");
  }

  auto bins = runPipeline(module, chip, "bin", options);
  if (!bins)
    return bins.takeError();
  auto ptxs = runPipeline(module, chip, "isa", options);
  if (!ptxs)
    return ptxs.takeError();
  std::vector<GPUKernelArtifact> result;
  for (auto [k, op] : llvm::enumerate(ops)) {
    std::string kernel = sig.name + "_kernel" + (ops.size() > 1 ? std::to_string(k) : "");
    auto b = bins->find(kernel), p = ptxs->find(kernel);
    if (b == bins->end() || p == ptxs->end())
      return llvm::createStringError("no kernel '%s' in the GPU module", kernel.c_str());
    // Add the spec's names so hosts and tools can bind tensors by name.
    manifest::Kernel &m = b->second.second;
    manifest::SpecNames &names = m.spec.emplace();
    names.variant = sig.name;
    names.q = argName(op.getQuery()), names.k = argName(op.getKey()), names.v = argName(op.getValue());
    for (Value e : op.getExtras())
      names.extras.push_back(argName(e));
    std::string attention = "?";
    if (auto n = dyn_cast<NameLoc>(op.getLoc()))
      attention = n.getName().str();
    names.attention = attention;
    std::string manifest = manifest::printManifest(m);
    result.push_back({kernel, attention, b->second.first, p->second.first, manifest});
  }
  return result;
}

/// The extras' arguments of a launch function: each extra's shape from its
/// parameter (literals and dims over B, H, Hq, Hk, Lq, Lk); an extent no
/// other tensor fixes ("extra_0.dim1") becomes a parameter of the function,
/// named after the spec's input.
static void writeExtraArgs(raw_ostream &es, const manifest::Kernel &m,
                           std::vector<std::string> &extraDimParams) {
  const std::vector<std::string> kernelDims = {"B", "H", "Hq", "Hk", "Lq", "Lk"};
  const std::vector<std::string> &extraNames = m.spec->extras;
  size_t e = 0;
  for (const manifest::Param &p : m.params) {
    if (p.kind != manifest::Param::Kind::Ptr || p.tensor == "o" || p.tensor == "lse" ||
        e >= extraNames.size())
      continue;
    std::string code = p.dtype == "i32" ? "ATTNC_DTYPE_I32" : p.dtype == "i64" ? "ATTNC_DTYPE_I64"
                                                                             : "ATTNC_DTYPE_F32";
    size_t rank = std::max<size_t>(p.shape.size(), 1);
    es << "  {\n    int64_t s[" << rank << "] = {";
    for (size_t n = 0; n < p.shape.size(); ++n) {
      std::string dim = p.shape[n];
      if (!llvm::all_of(dim, llvm::isDigit) && !llvm::is_contained(kernelDims, dim)) {
        std::string param = extraNames[e] + "_dim" + std::to_string(n);
        if (!llvm::is_contained(extraDimParams, param))
          extraDimParams.push_back(param);
        dim = param;
      }
      es << (n ? ", " : "") << dim;
    }
    if (p.shape.empty())
      es << "1";
    es << "};\n    args[" << 5 + e << "] = attnc_tensor_contiguous((void *)" << extraNames[e] << ", "
       << code << ", " << rank << ", s, device);\n  }\n";
    ++e;
  }
}

/// A load and a typed launch function for one kernel: q [B,Hq,Lq,D],
/// k [B,Hk,Lk,D], v [B,Hk,Lk,Dv], o [B,H,Lq,Dv], lse [B,H,Lq] f32, then the
/// extras in manifest order.
static void writeLaunchFunctions(raw_ostream &hs, const manifest::Kernel &m,
                                 const std::string &variant) {
  const manifest::Attention &a = *m.attention;
  const manifest::SpecNames &names = *m.spec;
  std::string dt = a.dtype == "f16" ? "ATTNC_DTYPE_F16" : "ATTNC_DTYPE_BF16";
  std::string fnBase = "attnc_" + variant + "_" + names.attention;
  hs << "/* attention '" << names.attention << "': kernel " << m.kernel << ", head dims "
     << a.headDim << "/" << a.headDimV << ", " << a.dtype << " */\n"
     << "static inline attnc_status " << fnBase << "_load(const char *dir, attnc_kernel **kernel) {\n"
     << "  char path[4096];\n"
     << "  snprintf(path, sizeof path, \"%s/" << m.kernel << ".json\", dir);\n"
     << "  return attnc_kernel_load(path, kernel);\n}\n";
  std::vector<std::string> extraDimParams;
  std::string extrasBody;
  llvm::raw_string_ostream es(extrasBody);
  writeExtraArgs(es, m, extraDimParams);
  hs << "static inline attnc_status " << fnBase << "_launch(attnc_kernel *kernel, const void *"
     << names.q << ", const void *" << names.k << ", const void *" << names.v
     << ", void *o, float *lse";
  for (const std::string &e : names.extras)
    hs << ", const void *" << e;
  for (const std::string &p : extraDimParams)
    hs << ", int64_t " << p;
  hs << ",\n    int64_t B, int64_t Hq, int64_t Hk, int64_t Lq, int64_t Lk, int device, void *stream) {\n"
     << "  int64_t H = Hq > Hk ? Hq : Hk;\n"
     << "  int64_t sq[4] = {B, Hq, Lq, " << a.headDim << "}, sk[4] = {B, Hk, Lk, " << a.headDim
     << "}, sv[4] = {B, Hk, Lk, " << a.headDimV << "};\n"
     << "  int64_t so[4] = {B, H, Lq, " << a.headDimV << "}, sl[3] = {B, H, Lq};\n"
     << "  attnc_tensor args[" << 5 + names.extras.size() << "];\n"
     << "  args[0] = attnc_tensor_contiguous((void *)" << names.q << ", " << dt << ", 4, sq, device);\n"
     << "  args[1] = attnc_tensor_contiguous((void *)" << names.k << ", " << dt << ", 4, sk, device);\n"
     << "  args[2] = attnc_tensor_contiguous((void *)" << names.v << ", " << dt << ", 4, sv, device);\n"
     << "  args[3] = attnc_tensor_contiguous(o, " << dt << ", 4, so, device);\n"
     << "  args[4] = attnc_tensor_contiguous(lse, ATTNC_DTYPE_F32, 3, sl, device);\n"
     << extrasBody << "  return attnc_kernel_launch(kernel, args, " << 5 + names.extras.size()
     << ", NULL, stream);\n}\n\n";
}

/// The manifest of a compiled or cached kernel, with what the launch header
/// reads (a planted or foreign cache entry fails here and is rebuilt, never
/// trusted into a crash).
static llvm::Expected<manifest::Kernel> readOurManifest(StringRef text) {
  manifest::Kernel m;
  std::string err;
  if (!manifest::parseManifest(text.str(), m, err))
    return llvm::createStringError("kernel manifest: %s", err.c_str());
  if (!m.attention || !m.spec || m.attention->headDim <= 0 || m.attention->headDimV <= 0)
    return llvm::createStringError("kernel manifest: no attention head dims or spec names");
  return m;
}

llvm::Error attnc::writeGPUArtifacts(ArrayRef<GPUKernelArtifact> kernels,
                                     StringRef variant, StringRef dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec, "cannot create %s", dir.str().c_str());
  std::string h;
  llvm::raw_string_ostream hs(h);
  std::string guard = "ATTNC_" + variant.upper() + "_GPU_H";
  hs << "/* Generated by attnc for variant '" << variant << "' (GPU). Link with the attnc\n"
     << "   runtime (lib/Runtime, libattnc_runtime.a) and -ldl. Load a kernel once, then launch it\n"
     << "   on device buffers (contiguous, row-major); every argument is validated first. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n#include <stdio.h>\n"
     << "#include \"attnc/Runtime/attnc_runtime.h\"\n\n";
  for (const GPUKernelArtifact &k : kernels) {
    std::string base = (dir + "/" + k.kernel).str();
    if (llvm::Error e = writeFile(base + ".cubin", k.cubin))
      return e;
    if (llvm::Error e = writeFile(base + ".ptx", k.ptx))
      return e;
    if (llvm::Error e = writeFile(base + ".json", k.manifest))
      return e;
    auto m = readOurManifest(k.manifest);
    if (!m)
      return m.takeError();
    writeLaunchFunctions(hs, *m, variant.str());
  }
  hs << "#endif\n";
  return writeFile((dir + "/" + variant + ".h").str(), h);
}

/// What the cached kernels depend on besides the module: this compiler's
/// build (a hash of its sources, cmake/BuildId.cmake) and the ptxas that
/// assembles them. Computed once per process.
static const std::string &compilerIdentity() {
  static const std::string id = [] {
    std::string out = std::string("attnc ") + ATTNC_BUILD_ID + " (gpu abi 1)";
    const char *cuda = std::getenv("CUDA_HOME");
    std::string ptxas = std::string(cuda && *cuda ? cuda : "/usr/local/cuda") + "/bin/ptxas";
    llvm::SmallString<128> tmp;
    if (llvm::sys::fs::createTemporaryFile("attnc-ptxas", "txt", tmp))
      return out;
    std::optional<StringRef> redirects[] = {std::nullopt, StringRef(tmp), StringRef(tmp)};
    int rc = llvm::sys::ExecuteAndWait(ptxas, {ptxas, "--version"}, std::nullopt, redirects);
    auto buf = llvm::MemoryBuffer::getFile(tmp);
    llvm::sys::fs::remove(tmp);
    if (rc == 0 && buf)
      out += "; " + (*buf)->getBuffer().trim().str();
    return out;
  }();
  return id;
}

llvm::Expected<std::vector<GPUKernelArtifact>>
attnc::compileForGPUCached(ModuleOp module, StringRef chip,
                           StringRef cacheDir, std::string *status,
                           const GPUKernelOptions &options) {
  if (cacheDir.empty()) {
    if (status)
      *status = "compiled (no cache)";
    return compileForGPU(module, chip, options);
  }
  rt::CacheKey key;
  llvm::raw_string_ostream ks(key.specText);
  module.print(ks, OpPrintingFlags().elideLargeElementsAttrs());
  key.target = chip.str() + (options.decode ? "+decode" : "") +
               (options.blockN ? "+bn" + std::to_string(options.blockN) : "");
  key.compilerVersion = compilerIdentity();
  // A refusal or compile error is the compiler's message (file:line:col of
  // the spec), not the cache's wrapping of it.
  std::string compileFailure;
  std::vector<GPUKernelArtifact> compiled;
  GPUKernelOptions inner = options; // its timing is set below, inside the cache's scope
  auto compiler = [&](const rt::CacheKey &, rt::CacheArtifact &out, std::string &err) {
    auto kernels = compileForGPU(module, chip, inner);
    if (!kernels) {
      err = compileFailure = llvm::toString(kernels.takeError());
      return false;
    }
    // One index line per kernel (name, attention), then its files.
    std::string index;
    for (const GPUKernelArtifact &k : *kernels) {
      index += k.kernel + " " + k.attention + "\n";
      out.add(k.kernel + ".cubin", k.cubin);
      out.add(k.kernel + ".ptx", k.ptx);
      out.add(k.kernel + ".json", k.manifest);
    }
    out.add("index", index);
    compiled = std::move(*kernels);
    return true;
  };
  rt::KernelCache cache(cacheDir.str());
  rt::CacheArtifact artifact;
  std::string diag;
  // The cache's own time is this scope less the pipelines nested in it.
  std::optional<TimingScope> cacheTiming;
  if (options.timing) {
    cacheTiming = options.timing->nest("kernel cache (lookup, compile on a miss, store)");
    inner.timing = &*cacheTiming;
  }
  rt::CacheStatus st = cache.getOrCompile(key, compiler, artifact, diag);
  cacheTiming.reset();
  inner.timing = options.timing; // a rebuild below is timed at the top level
  if (st == rt::CacheStatus::Error)
    return llvm::createStringError("%s", (compileFailure.empty() ? diag : compileFailure).c_str());
  if (status)
    *status = st == rt::CacheStatus::Hit ? "cache hit" : "compiled";
  // What the cache repaired or could not write reaches the user.
  if (!diag.empty())
    llvm::errs() << "attnc: warning: kernel cache: " << StringRef(diag).trim() << "\n";
  if (st != rt::CacheStatus::Hit && !compiled.empty())
    return compiled;
  // A hit is used only if every kernel it lists is complete and its manifest
  // is one this compiler writes; otherwise the entry is rebuilt.
  std::vector<GPUKernelArtifact> kernels;
  const std::string *index = artifact.find("index");
  bool usable = index != nullptr;
  for (StringRef line : llvm::split(index ? StringRef(*index).trim() : StringRef(), '\n')) {
    if (!usable || line.empty())
      break;
    auto [name, attention] = line.split(' ');
    const std::string *cubin = artifact.find((name + ".cubin").str());
    const std::string *ptx = artifact.find((name + ".ptx").str());
    const std::string *manifest = artifact.find((name + ".json").str());
    usable = cubin && ptx && manifest;
    if (usable) {
      auto m = readOurManifest(*manifest);
      usable = static_cast<bool>(m);
      if (!m)
        llvm::consumeError(m.takeError());
    }
    if (usable)
      kernels.push_back({name.str(), attention.str(), *cubin, *ptx, *manifest});
  }
  if (usable && !kernels.empty())
    return kernels;
  llvm::errs() << "attnc: warning: kernel cache: entry " << cache.entryPath(key.hex())
               << " was not written by this compiler; rebuilding it\n";
  rt::CacheArtifact fresh;
  std::string err;
  if (!compiler(key, fresh, err))
    return llvm::createStringError("%s", err.c_str());
  if (!cache.store(key.hex(), fresh, err))
    llvm::errs() << "attnc: warning: kernel cache: " << err << "\n";
  if (status)
    *status = "compiled (cache entry rebuilt)";
  return compiled;
}
