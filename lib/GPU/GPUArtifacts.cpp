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
#include "attnc/Passes/GPUPasses.h"
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
  // Paged K/V (docs/gpu-abi.md, the manifest's page_size and page_layout):
  // k and v are pools [P, PS, Hk, D] (nhd) or [P, Hk, PS, D] (hnd); the
  // length parameter is then the pool's page count P.
  std::string kShape = "B, Hk, Lk", lenParam = "Lk";
  if (a.pageSize > 0) {
    std::string ps = std::to_string(a.pageSize);
    lenParam = "P";
    kShape = a.pageLayout == "hnd" ? "P, Hk, " + ps : "P, " + ps + ", Hk";
  }
  hs << ",\n    int64_t B, int64_t Hq, int64_t Hk, int64_t Lq, int64_t " << lenParam
     << ", int device, void *stream) {\n"
     << "  int64_t H = Hq > Hk ? Hq : Hk;\n"
     << "  int64_t sq[4] = {B, Hq, Lq, " << a.headDim << "}, sk[4] = {" << kShape << ", "
     << a.headDim << "}, sv[4] = {" << kShape << ", " << a.headDimV << "};\n"
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
  bool generic = !m.attention && !m.spec; // a generic step's kernel
  if (!generic && (!m.attention || !m.spec || m.attention->headDim <= 0 || m.attention->headDimV <= 0))
    return llvm::createStringError("kernel manifest: no attention head dims or spec names");
  return m;
}

llvm::Error attnc::writeGPUArtifacts(const GPUProgram &program, StringRef variant, StringRef dir) {
  ArrayRef<GPUKernelArtifact> kernels = program.kernels;
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
    if (llvm::Error e = writeFileAtomic(base + ".cubin", k.cubin))
      return e;
    if (llvm::Error e = writeFileAtomic(base + ".ptx", k.ptx))
      return e;
    if (llvm::Error e = writeFileAtomic(base + ".json", k.manifest))
      return e;
    auto m = readOurManifest(k.manifest);
    if (!m)
      return m.takeError();
    // Launch functions for the attention kernels that read spec inputs only;
    // the steps of the whole program are in <variant>.program.json.
    const manifest::SpecNames *names = m->spec ? &*m->spec : nullptr;
    if (names && !names->q.empty() && !names->k.empty() && !names->v.empty() &&
        llvm::none_of(names->extras, [](const std::string &e) { return e.empty(); }))
      writeLaunchFunctions(hs, *m, variant.str());
  }
  // The whole spec (lets, output expressions, every attention) as the
  // runtime's program.
  hs << "/* The whole variant: every step in order over the spec's tensors (inputs and outputs in\n"
     << "   spec order, checked against the program's dtypes and shapes by attnc_gpu_program_run). */\n"
     << "static inline attnc_status attnc_" << variant << "_program_load(const char *dir, attnc_gpu_program **program) {\n"
     << "  char path[4096];\n"
     << "  snprintf(path, sizeof path, \"%s/" << variant << ".program.json\", dir);\n"
     << "  return attnc_gpu_program_load(path, program);\n}\n\n";
  hs << "#endif\n";
  if (llvm::Error e = writeFileAtomic((dir + "/" + variant + ".program.json").str(), manifest::printProgram(program.program)))
    return e;
  return writeFileAtomic((dir + "/" + variant + ".h").str(), h);
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

llvm::Expected<GPUProgram>
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
               (options.blockN ? "+bn" + std::to_string(options.blockN) : "") +
               (options.replanSpills ? "" : "+first-plan") + (options.gridTiles ? "" : "+token-runs") +
               (options.qSlots ? "+q" + std::to_string(options.qSlots) : "") +
               (options.persistent ? "" : "+not-persistent") + (options.oTmaStore ? "" : "+o-stores") +
               (options.vScanner ? "" : "+no-v-scanner");
  key.compilerVersion = compilerIdentity();
  // A refusal or compile error is the compiler's message (file:line:col of
  // the spec), not the cache's wrapping of it.
  std::string compileFailure;
  std::optional<GPUProgram> compiled;
  GPUKernelOptions inner = options; // its timing is set below, inside the cache's scope
  auto compiler = [&](const rt::CacheKey &, rt::CacheArtifact &out, std::string &err) {
    auto program = compileForGPU(module, chip, inner);
    if (!program) {
      err = compileFailure = llvm::toString(program.takeError());
      return false;
    }
    // One index line per kernel (name, attention), then its files; and the
    // program's buffers and steps.
    std::string index;
    for (const GPUKernelArtifact &k : program->kernels) {
      index += k.kernel + " " + k.attention + "\n";
      out.add(k.kernel + ".cubin", k.cubin);
      out.add(k.kernel + ".ptx", k.ptx);
      out.add(k.kernel + ".json", k.manifest);
    }
    out.add("index", index);
    out.add("program.json", manifest::printProgram(program->program));
    compiled = std::move(*program);
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
  if (st != rt::CacheStatus::Hit && compiled)
    return std::move(*compiled);
  // A hit is used only if every kernel it lists is complete, its manifest is
  // one this compiler writes and its program reads; otherwise the entry is
  // rebuilt.
  GPUProgram hit;
  std::vector<GPUKernelArtifact> &kernels = hit.kernels;
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
  const std::string *programText = artifact.find("program.json");
  if (usable && programText) {
    std::string err;
    usable = manifest::parseProgram(*programText, hit.program, err);
    for (const manifest::ProgramStep &s : hit.program.steps)
      usable = usable && hit.findKernel(s.kernel);
  }
  if (usable && programText && !kernels.empty())
    return std::move(hit);
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
  return std::move(*compiled);
}
