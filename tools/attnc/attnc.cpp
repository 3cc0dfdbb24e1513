//===- attnc.cpp - the attnc command line compiler -----------------------===//
//
//   attnc check SPEC                      parse, verify, canonical form, pass count
//   attnc compile SPEC --emit=attn|cascade|llvm [--dim N=V ...]
//   attnc run SPEC --backend=cpu --dim N=V ... (--random --seed N | --input NAME=FILE.npy ...)
//             [--output NAME=FILE.npy] [--dtype=f32|f64]
//
//===----------------------------------------------------------------------===//
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/CPU/CPUBackend.h"
#include "attnc/CPU/CPUObject.h"
#ifdef ATTNC_HAVE_GPU
#include "attnc/GPU/GPUArtifacts.h"
#endif
#include "attnc/Frontend/IndexInputs.h"
#include "attnc/Frontend/SpecToMLIR.h"
#include "attnc/Passes/Passes.h"
#include "attnc/Runtime/KernelCache.h"
#include "attnc/Passes/ShardSchedule.h"
#include "attnc/Spec/ContextParallel.h"
#include "attnc/Spec/Parser.h"
#include "attnc/Support/Npy.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <random>
#include <set>

using namespace mlir;
using namespace attnc;
namespace cl = llvm::cl;

static cl::SubCommand checkCmd("check", "Parse and verify a spec; print its canonical form and pass count");
static cl::SubCommand compileCmd("compile", "Compile a spec and print the IR at a level");
static cl::SubCommand runCmd("run", "Run a spec on a backend on .npy or random inputs");

static cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.attn | spec.json>"),
                                     cl::Required, cl::sub(checkCmd), cl::sub(compileCmd),
                                     cl::sub(runCmd));
static cl::list<std::string> dimArgs("dim", cl::desc("Bind a dim: NAME=VALUE (repeatable)"),
                                     cl::sub(checkCmd), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> dtypeArg(
    "dtype", cl::desc("Element type of q, k, v and outputs: f32 or f64 (CPU; default f32), bf16 "
                      "or f16 (GPU targets; default bf16)"),
    cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<bool> quiet("quiet", cl::desc("Print only errors"), cl::sub(cl::SubCommand::getAll()));
static cl::opt<bool> timeStages("time",
                                cl::desc("Print the time of each stage (parse, IR, passes, LLVM and "
                                         "ptxas, kernel cache) to stderr"),
                                cl::sub(compileCmd));

enum class Emit { Attn, Cascade, LLVM };
static cl::opt<Emit> emitLevel(
    "emit", cl::desc("IR level to print"), cl::init(Emit::Attn),
    cl::values(clEnumValN(Emit::Attn, "attn", "the attn.attention level"),
               clEnumValN(Emit::Cascade, "cascade", "the einsum cascade"),
               clEnumValN(Emit::LLVM, "llvm", "the LLVM dialect (CPU pipeline)")),
    cl::sub(compileCmd));
static cl::opt<std::string> outputFile(
    "o", cl::desc("With --emit: write the IR here instead of stdout; with --target: the output directory"),
    cl::value_desc("path"), cl::sub(compileCmd));
static cl::opt<std::string> target(
    "target", cl::desc("Write ahead-of-time artifacts into -o DIR: cpu (object, header, "
                       "manifest) or sm_90a (cubin, PTX, manifest per attention, launch header)"),
    cl::sub(compileCmd));

static cl::opt<bool> decodeKernel(
    "decode",
    cl::desc("GPU: the decode schedule, for few queries over long keys (64-row tiles with the "
             "query heads of a KV head packed together, key tiles split across the grid and "
             "merged in the kernel)"),
    cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<int64_t> blockN(
    "block-n", cl::desc("GPU: rows of a K/V tile, 64 or 128 (default: the kernel's choice)"),
    cl::init(0), cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<bool> replanSpills(
    "gpu-replan-spills",
    cl::desc("GPU: compile a persistent kernel that spills registers again without persistence "
             "and keep the plan that spills less (default on; off for A/B measurements)"),
    cl::init(true), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<bool> gridTiles(
    "gpu-grid-tiles",
    cl::desc("GPU: tile a multi-dimensional neighborhood as boxes of its grid where it admits "
             "them (default on; off for A/B measurements)"),
    cl::init(true), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<int64_t> qSlots(
    "gpu-q-slots",
    cl::desc("GPU: shared-memory slots for Q in a persistent kernel (0: the planner's choice; "
             "1 or 2 for A/B measurements)"),
    cl::init(0), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<bool> persistentBlocks(
    "gpu-persistent",
    cl::desc("GPU: persistent blocks where the planner admits them (default on; off for A/B "
             "measurements)"),
    cl::init(true), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<bool> oTmaStore(
    "gpu-o-tma-store",
    cl::desc("GPU: store O through shared memory and TMA where the plan admits it (default on; "
             "off for A/B measurements)"),
    cl::init(true), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<bool> vScanner(
    "gpu-v-scanner",
    cl::desc("GPU: warps of the producer warpgroup scan V tiles for NaN and Inf (default on; off "
             "for A/B measurements: the consumers scan their own tiles)"),
    cl::init(true), cl::Hidden, cl::sub(compileCmd), cl::sub(runCmd));

static cl::opt<std::string> cacheDir(
    "cache-dir",
    cl::desc("GPU kernel cache directory (default $ATTNC_CACHE_DIR, else $XDG_CACHE_HOME/attnc, else ~/.cache/attnc; "
             "ATTNC_CACHE_DIR= disables it). Entries are "
             "keyed by the spec, dims, dtype, target and compiler version; a filled cache works "
             "without recompiling"),
    cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> contextParallel(
    "context-parallel",
    cl::desc("Compile one shard of the attention for context parallelism: ring, striped or tree "
             "(docs/context-parallel.md); the shard takes the input cp_offsets [2] and writes its "
             "LSE, and attnc.context_parallel runs the plan"),
    cl::sub(checkCmd), cl::sub(compileCmd));
static cl::opt<int64_t> worldSize("world", cl::desc("Ranks of --context-parallel (required with it)"),
                                  cl::init(0), cl::sub(checkCmd), cl::sub(compileCmd));

enum class Backend { CPU, GPU };
static cl::opt<Backend> backend(
    "backend", cl::desc("Backend"), cl::init(Backend::CPU),
    cl::values(clEnumValN(Backend::CPU, "cpu", "the CPU backend (f32/f64)"),
               clEnumValN(Backend::GPU, "gpu", "Hopper (bf16/f16; float32 .npy inputs)")),
    cl::sub(runCmd));
static cl::list<std::string> inputArgs("input", cl::desc("NAME=FILE.npy (repeatable)"),
                                       cl::sub(runCmd));
static cl::list<std::string> outputArgs("output", cl::desc("NAME=FILE.npy (repeatable)"),
                                        cl::sub(runCmd));
static cl::opt<bool> randomInputs("random", cl::desc("Fill float inputs with N(0,1) samples"),
                                  cl::sub(runCmd));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed for --random"), cl::init(0), cl::sub(runCmd));

namespace {
int fail(const llvm::Twine &msg) {
  llvm::errs() << "attnc: error: " << msg << "\n";
  return 1;
}
int fail(llvm::Error err) {
  std::string msg = llvm::toString(std::move(err));
  // Spec errors already carry their place; everything else gets the tool's.
  if (!llvm::StringRef(msg).contains(": error: "))
    msg = "attnc: error: " + msg;
  llvm::errs() << msg << (llvm::StringRef(msg).ends_with("\n") ? "" : "\n");
  return 1;
}

/// --cache-dir, else the default shared with libattnc (rt::defaultCacheDir).
std::string kernelCacheDir() {
  return !cacheDir.empty() ? cacheDir.getValue() : attnc::rt::defaultCacheDir();
}

/// Splits NAME=VALUE.
bool splitBinding(llvm::StringRef arg, llvm::StringRef &name, llvm::StringRef &value) {
  std::tie(name, value) = arg.split('=');
  return !name.empty() && !value.empty() && arg.contains('=');
}

/// --input / --output NAME=FILE.npy bindings, each naming a spec tensor.
llvm::Expected<llvm::StringMap<std::string>>
fileBindings(llvm::StringRef flag, const cl::list<std::string> &args,
             const std::vector<std::string> &names) {
  llvm::StringMap<std::string> files;
  for (const std::string &arg : args) {
    llvm::StringRef name, file;
    if (!splitBinding(arg, name, file))
      return llvm::createStringError("--%s expects NAME=FILE.npy, got '%s'", flag.str().c_str(),
                                     arg.c_str());
    if (!llvm::is_contained(names, name))
      return llvm::createStringError("--%s %s: the spec has no %s '%s'", flag.str().c_str(),
                                     arg.c_str(), flag.str().c_str(), name.str().c_str());
    if (!files.try_emplace(name, file.str()).second)
      return llvm::createStringError("--%s %s: '%s' is bound twice", flag.str().c_str(),
                                     arg.c_str(), name.str().c_str());
  }
  return files;
}

/// --context-parallel's shard, once the spec declares its offsets.
static std::optional<spec::ContextShard> shardLayout;
static std::optional<spec::CPLayout> cpLayout;

/// Parses --dim bindings against the spec's declared dims.
llvm::Expected<LoweringOptions> loweringOptions(const spec::Spec &spec) {
  LoweringOptions opts;
  bool gpuTarget = (compileCmd && (target == "sm_90a" || target == "sm_100a")) ||
                   (runCmd && backend == Backend::GPU);
  std::string dtype = dtypeArg.empty() ? std::string(gpuTarget ? "bf16" : "f32") : std::string(dtypeArg);
  if (dtype == "f32" || dtype == "f64") {
    opts.floatBits = dtype == "f64" ? 64 : 32;
  } else if ((dtype == "bf16" || dtype == "f16") && gpuTarget) {
    opts.floatBits = 16;
    opts.bfloat = dtype == "bf16";
  } else {
    return llvm::createStringError("--dtype must be f32 or f64, got '%s' (bf16 and f16 are for "
                                   "--backend=gpu and GPU --targets)",
                                   dtype.c_str());
  }
  if (shardLayout) {
    opts.contextShard = *shardLayout;
    opts.returnLse = !gpuTarget;
  }
  for (const std::string &arg : dimArgs) {
    llvm::StringRef name, value;
    int64_t v;
    if (!splitBinding(arg, name, value) || value.getAsInteger(10, v) || v <= 0)
      return llvm::createStringError("--dim expects NAME=POSITIVE_INTEGER, got '%s'", arg.c_str());
    if (v > attnc::spec::kMaxIntParam)
      return llvm::createStringError("--dim %s: at most %lld (sizes are 32-bit on the GPU)",
                                     arg.c_str(), (long long)attnc::spec::kMaxIntParam);
    if (!llvm::is_contained(spec.dims, name)) {
      std::string declared;
      for (const std::string &d : spec.dims)
        declared += (declared.empty() ? "" : ", ") + d;
      return llvm::createStringError("--dim %s: the spec declares no dim '%s' (it declares %s)",
                                     arg.c_str(), name.str().c_str(), declared.c_str());
    }
    if (opts.dims.count(name))
      return llvm::createStringError("--dim %s: '%s' is bound twice", arg.c_str(), name.str().c_str());
    opts.dims[name] = v;
  }
  return opts;
}

/// `file:line:col` for spec locations, MLIR's form otherwise.
std::string place(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return place(n.getChildLoc());
  if (auto l = dyn_cast<FileLineColLoc>(loc))
    return (l.getFilename().str() + ":" + std::to_string(l.getLine()) + ":" +
            std::to_string(l.getColumn()));
  std::string s;
  llvm::raw_string_ostream os(s);
  os << loc;
  return s;
}

/// Diagnostics as `file:line:col: error: message`.
struct DiagnosticPrinter {
  ScopedDiagnosticHandler handler;
  explicit DiagnosticPrinter(MLIRContext &ctx)
      : handler(&ctx, [](Diagnostic &d) {
          llvm::errs() << place(d.getLocation()) << ": "
                       << (d.getSeverity() == DiagnosticSeverity::Error     ? "error: "
                           : d.getSeverity() == DiagnosticSeverity::Warning ? "warning: "
                           : d.getSeverity() == DiagnosticSeverity::Remark  ? "remark: "
                                                                            : "note: ")
                       << d << "\n";
          for (Diagnostic &note : d.getNotes())
            llvm::errs() << place(note.getLocation()) << ": note: " << note << "\n";
          return success();
        }) {}
};

std::string shapeStr(llvm::ArrayRef<int64_t> s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int checkMain(MLIRContext &ctx, const spec::Spec &spec) {
  auto opts = loweringOptions(spec);
  if (!opts)
    return fail(opts.takeError());
  OwningOpRef<ModuleOp> module = buildModule(ctx, spec, *opts);
  if (!module)
    return 1;
  if (quiet)
    return 0;
  llvm::outs() << spec::printSpec(spec);
  llvm::outs() << "\n# passes over K/V\n";
  module->walk([&](attn::AttentionOp op) {
    std::string name = "?";
    if (auto l = dyn_cast<NameLoc>(op.getLoc()))
      name = l.getName().str();
    int64_t n = op.getKVPassCount();
    llvm::outs() << "# attention " << name << ": " << n << (n == 1 ? " pass" : " passes")
                 << " over K/V\n";
  });
  // The inputs the compiler takes as i32 (declared, or inferred from their
  // use as indices): tools that make inputs read this line.
  llvm::StringMap<bool> ints = inferIntegerInputs(spec);
  std::vector<std::string> names;
  for (const spec::InputDecl &in : spec.inputs)
    if (ints.lookup(in.name))
      names.push_back(in.name);
  if (!names.empty())
    llvm::outs() << "# integer inputs (i32): " << llvm::join(names, ", ") << "\n";
  return 0;
}

int compileMain(MLIRContext &ctx, const spec::Spec &spec, TimingScope &timing) {
  auto opts = loweringOptions(spec);
  if (!opts)
    return fail(opts.takeError());
  TimingScope buildTiming = timing.nest("build attn IR");
  OwningOpRef<ModuleOp> module = buildModule(ctx, spec, *opts);
  buildTiming.stop();
  if (!module)
    return 1;
  if (!target.empty()) {
    if (outputFile.empty())
      return fail("--target=" + target + " needs -o DIR for the artifacts");
    if (target == "cpu" && (decodeKernel || blockN.getNumOccurrences()))
      return fail("--decode and --block-n choose GPU kernels; --target=cpu has none");
    auto shardFn = cpLayout ? module->lookupSymbol<func::FuncOp>(spec.name) : func::FuncOp();
    bool staticLengths = shardFn && llvm::all_of(shardFn.getArgumentTypes(), [](Type t) {
      return cast<RankedTensorType>(t).hasStaticShape();
    });
    if (cpLayout && !staticLengths)
      llvm::errs() << "note: no context-parallel plan without the shard's sizes (bind them with --dim)\n";
    if (cpLayout && staticLengths) {
      auto plan = planShardSchedule(*module, *cpLayout, worldSize);
      if (!plan)
        return fail(plan.takeError());
      std::string path = outputFile + "/" + spec.name + ".cp.json";
      if (std::error_code ec = llvm::sys::fs::create_directories(outputFile))
        return fail("cannot create " + outputFile + ": " + ec.message());
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (ec)
        return fail("cannot write " + path + ": " + ec.message());
      os << shardScheduleJson(*plan) << "\n";
      if (!quiet)
        llvm::outs() << "wrote " << path << " (the context-parallel plan)\n";
    }
    if (target == "cpu") {
      TimingScope cpuTiming = timing.nest("CPU lowering, LLVM, object file");
      if (llvm::Error err = writeCPUArtifacts(*module, opts->floatBits, outputFile))
        return fail(std::move(err));
      if (!quiet)
        llvm::outs() << "wrote " << outputFile << "/" << spec.name << ".{o,h,json}\n";
      return 0;
    }
#ifdef ATTNC_HAVE_GPU
    if (target == "sm_90a" || target == "sm_100a") {
      std::string status;
      GPUKernelOptions kopts;
      kopts.decode = decodeKernel;
      kopts.blockN = blockN;
      kopts.replanSpills = replanSpills;
      kopts.gridTiles = gridTiles;
      kopts.qSlots = qSlots;
      kopts.persistent = persistentBlocks;
      kopts.oTmaStore = oTmaStore;
      kopts.vScanner = vScanner;
      kopts.timing = &timing;
      size_t attentions = 0;
      module->walk([&](attn::AttentionOp) { ++attentions; });
      if (!quiet && attentions > 1)
        llvm::errs() << "kernels: compiling " << attentions << " attentions for " << target << "\n";
      auto program =
          compileForGPUCached(*module, target, kernelCacheDir(), &status, kopts);
      if (!program)
        return fail(program.takeError());
      if (!quiet)
        llvm::outs() << "kernels: " << status << "\n";
      if (llvm::Error err = writeGPUArtifacts(*program, spec.name, outputFile))
        return fail(std::move(err));
      if (!quiet) {
        // What runs as generic GPU code, and why, once per reason.
        std::set<std::string> reasons;
        for (const manifest::ProgramStep &s : program->program.steps)
          if (!s.reason.empty() && reasons.insert(s.reason).second)
            llvm::errs() << "note: generic GPU code (a thread per element, not the Hopper kernel) for "
                         << s.reason << "\n";
        for (const GPUKernelArtifact &k : program->kernels) {
          manifest::Kernel km;
          std::string err;
          if (manifest::parseManifest(k.manifest, km, err) && km.attention)
            for (const std::string &b : km.attention->tilesBounding)
              if (b.find(kMaskUnboundedNote) != std::string::npos)
                llvm::errs() << "note: " << k.kernel << ": the mask is " << kMaskUnboundedNote << "\n";
        }
        for (const GPUKernelArtifact &k : program->kernels)
          llvm::outs() << "wrote " << outputFile << "/" << k.kernel << ".{cubin,ptx,json} and "
                       << outputFile << "/" << spec.name << ".h\n";
      }
      return 0;
    }
    return fail("unknown --target '" + target + "' (targets: cpu, sm_90a, sm_100a)");
#else
    return fail("unknown --target '" + target + "' (targets: cpu; this build has no GPU code "
                "generation)");
#endif
  }
  if (emitLevel == Emit::Cascade) {
    PassManager pm(&ctx);
    pm.addPass(createAttnShardPositions());
    pm.addPass(createAttnExpandBlockSelect());
    pm.addPass(createAttnReassociateLinear());
    pm.addPass(createAttnDecompose());
    if (failed(pm.run(*module)))
      return 1;
  } else if (emitLevel == Emit::LLVM) {
    if (failed(lowerToLLVMDialect(*module)))
      return 1;
  }
  std::string err;
  auto out = mlir::openOutputFile(outputFile.empty() ? std::string("-") : std::string(outputFile), &err);
  if (!out)
    return fail(err);
  module->print(out->os());
  out->keep();
  return 0;
}

/// The e4m3 byte of x rounded toward zero (bias 7, 3 mantissa bits; the
/// largest finite value 448; subnormals below 2^-6).
uint8_t e4m3Bits(double x) {
  uint8_t sign = x < 0 ? 0x80 : 0;
  double m = std::min(std::fabs(x), 448.0);
  if (m < std::ldexp(1.0, -6))
    return sign | (uint8_t)(m * 512.0); // subnormal: m / 2^-9
  int e;
  double f = std::frexp(m, &e);      // m = f * 2^e, f in [0.5, 1)
  int mant = (int)((f * 2.0 - 1.0) * 8.0);
  return sign | (uint8_t)((e - 1 + 7) << 3) | (uint8_t)mant;
}

/// N(0, 1) samples (Box-Muller) so that runs are reproducible everywhere
/// (f8e4m3 inputs get their bytes).
void fillRandom(NpyArray &a, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> u(1e-12, 1.0);
  size_t n = a.numElements();
  for (size_t k = 0; k < n; ++k) {
    double x = std::sqrt(-2.0 * std::log(u(rng))) * std::cos(2 * M_PI * u(rng));
    if (a.dtype == DType::F32)
      reinterpret_cast<float *>(a.data.data())[k] = (float)x;
    else if (a.dtype == DType::F64)
      reinterpret_cast<double *>(a.data.data())[k] = x;
    else // U8: the e4m3 byte of x, rounded toward zero, within +-448
      reinterpret_cast<uint8_t *>(a.data.data())[k] = e4m3Bits(x);
  }
}


int runMain(MLIRContext &ctx, const spec::Spec &spec) {
#ifndef ATTNC_HAVE_GPU
  if (backend == Backend::GPU)
    return fail("--backend=gpu is not available in this build (backends: cpu)");
#endif
  bool onGPU = backend == Backend::GPU;
  if (!onGPU && (decodeKernel || blockN.getNumOccurrences()))
    return fail("--decode and --block-n choose GPU kernels; --backend=cpu has none");
  auto opts = loweringOptions(spec);
  if (!opts)
    return fail(opts.takeError());
  for (const std::string &d : spec.dims)
    if (!opts->dims.count(d))
      return fail("missing --dim " + d + "=VALUE: running needs every dim bound");
  OwningOpRef<ModuleOp> module = buildModule(ctx, spec, *opts);
  if (!module)
    return 1;
  auto fn = module->lookupSymbol<func::FuncOp>(spec.name);
  // Every buffer of the run is counted before anything is allocated (in
  // double, so that no product wraps): the inputs and outputs as bound, and
  // the [B, H, Lq, Lk] intermediates the CPU reference materialises. A run
  // over the limit is refused here rather than failing inside the
  // JIT-compiled code.
  double ioBytes = 0, refBytes = 0;
  auto tensorBytes = [&](Type t) {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt)
      return 0.0;
    double n = 1;
    for (int64_t d : rt.getShape())
      n *= (double)d;
    return n * std::max<unsigned>(1, rt.getElementTypeBitWidth() / 8);
  };
  for (Type t : fn.getFunctionType().getInputs())
    ioBytes += tensorBytes(t);
  for (Type t : fn.getFunctionType().getResults())
    ioBytes += tensorBytes(t);
  module->walk([&](attn::AttentionOp op) {
    auto r = cast<RankedTensorType>(op.getResult().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    refBytes += 8.0 * r.getDimSize(0) * r.getDimSize(1) * r.getDimSize(2) * k.getDimSize(2) *
                (opts->floatBits / 8);
  });
  double limit = 16.0 * (1ull << 30);
  double bytes = ioBytes + (onGPU ? 0.0 : refBytes);
  if (bytes > limit)
    return fail(llvm::formatv("this run needs about {0:E1} bytes ({1:F1} GiB) for its "
                              "inputs, outputs{2} (limit {3:F0} GiB); use smaller dims",
                              bytes, bytes / (1ull << 30),
                              onGPU ? "" : " and the CPU reference's [B, H, Lq, Lk] buffers",
                              limit / (1ull << 30))
                    .str());

  std::vector<std::string> inputNames, outputNames;
  for (const spec::InputDecl &in : spec.inputs)
    inputNames.push_back(in.name);
  for (const spec::OutputDecl &o : spec.outputs)
    outputNames.push_back(o.name);
  auto inputFiles = fileBindings("input", inputArgs, inputNames);
  if (!inputFiles)
    return fail(inputFiles.takeError());
  std::mt19937_64 rng(seed);
  std::vector<NpyArray> arrays;
  std::vector<std::string> names;
  for (auto [in, ty] : llvm::zip(spec.inputs, fn.getFunctionType().getInputs())) {
    auto tt = cast<RankedTensorType>(ty);
    bool isInt = tt.getElementType().isInteger(32);
    // The GPU backend reads float32 files and rounds q/k/v to its 16-bit
    // type; f8e4m3 inputs are their bytes on every backend.
    bool isFp8 = isa<Float8E4M3FNType>(tt.getElementType());
    DType want = isInt    ? DType::I32
                 : isFp8 ? DType::U8
                         : (opts->floatBits == 64 ? DType::F64 : DType::F32);
    names.push_back(in.name);
    auto it = inputFiles->find(in.name);
    if (it == inputFiles->end()) {
      if (!randomInputs)
        return fail("input '" + in.name + "' has no --input " + in.name + "=FILE.npy (or use --random)");
      if (isInt)
        return fail("integer input '" + in.name + "' cannot be random: give --input " + in.name +
                    "=FILE.npy (int32)");
      NpyArray a;
      a.dtype = want;
      a.shape.assign(tt.getShape().begin(), tt.getShape().end());
      a.data.assign(a.numElements() * a.elementSize(), 0);
      fillRandom(a, rng);
      arrays.push_back(std::move(a));
      continue;
    }
    auto a = readNpy(it->second);
    if (!a)
      return fail(a.takeError());
    if (isInt && a->dtype == DType::I64) {
      // Index inputs may come as int64; narrow them with a range check.
      NpyArray narrow;
      narrow.dtype = DType::I32;
      narrow.shape = a->shape;
      narrow.data.resize(a->numElements() * 4);
      for (size_t k = 0; k < a->numElements(); ++k) {
        int64_t v;
        std::memcpy(&v, a->data.data() + 8 * k, 8);
        if (v < INT32_MIN || v > INT32_MAX)
          return fail(it->second + ": value " + std::to_string(v) + " does not fit int32");
        int32_t w = (int32_t)v;
        std::memcpy(narrow.data.data() + 4 * k, &w, 4);
      }
      *a = std::move(narrow);
    }
    if (a->dtype != want && isFp8)
      return fail(it->second + ": input '" + in.name + "' is declared f8e4m3: give its bytes as "
                  "uint8 (e.g. t.view(torch.uint8).numpy()), but the file holds " +
                  dtypeName(a->dtype));
    if (a->dtype != want)
      return fail(it->second + ": input '" + in.name + "' must be " + dtypeName(want) +
                  " (run --dtype=" + std::string(opts->floatBits == 64 ? "f64" : "f32") + "), but the file holds " + dtypeName(a->dtype));
    if (llvm::ArrayRef<int64_t>(a->shape) != tt.getShape())
      return fail(it->second + ": input '" + in.name + "' must have shape " +
                  shapeStr(tt.getShape()) + " (from the dims bound), but the file has " +
                  shapeStr(a->shape));
    arrays.push_back(std::move(*a));
  }
  auto outputFiles = fileBindings("output", outputArgs, outputNames);
  if (!outputFiles)
    return fail(outputFiles.takeError());
  std::vector<const NpyArray *> arrayPtrs;
  for (const NpyArray &a : arrays)
    arrayPtrs.push_back(&a);
  if (llvm::Error err = validateIndexInputs(spec, names, arrayPtrs, opts->dims))
    return fail(std::move(err));
  std::vector<const NpyArray *> ptrs;
  for (NpyArray &a : arrays)
    ptrs.push_back(&a);
  double compileMs = 0, runMs = 0;
  std::vector<NpyArray> outputs;
  if (onGPU) {
#ifdef ATTNC_HAVE_GPU
    GPUKernelOptions kopts;
    kopts.decode = decodeKernel;
    kopts.blockN = blockN;
    kopts.replanSpills = replanSpills;
    kopts.gridTiles = gridTiles;
    kopts.qSlots = qSlots;
    kopts.persistent = persistentBlocks;
    kopts.oTmaStore = oTmaStore;
    auto result = runOnGPU(*module, "sm_90a", ptrs, kernelCacheDir(), kopts);
    if (!result)
      return fail(result.takeError());
    outputs = std::move(result->outputs);
    compileMs = result->compileMs;
    runMs = result->runMs;
#endif
  } else {
    auto result = runOnCPU(*module, spec.name, names, ptrs);
    if (!result)
      return fail(result.takeError());
    outputs = std::move(result->outputs);
    compileMs = result->compileMs;
    runMs = result->runMs;
  }
  for (auto [o, arr] : llvm::zip(spec.outputs, outputs)) {
    auto it = outputFiles->find(o.name);
    if (it != outputFiles->end()) {
      if (llvm::Error err = writeNpy(it->second, arr))
        return fail(std::move(err));
    } else if (!quiet) {
      double sum = 0;
      for (size_t k = 0; k < arr.numElements(); ++k)
        sum += arr.dtype == DType::F32 ? reinterpret_cast<const float *>(arr.data.data())[k]
                                       : reinterpret_cast<const double *>(arr.data.data())[k];
      llvm::outs() << "output " << o.name << " " << shapeStr(arr.shape) << " sum " << sum << "\n";
    }
  }
  if (!quiet)
    llvm::outs() << llvm::format("ran %s on %s (%s): compile %.1f ms, run %.2f ms\n",
                                 spec.name.c_str(), onGPU ? "gpu" : "cpu",
                                 onGPU ? (opts->bfloat ? "bf16" : "f16")
                                       : (opts->floatBits == 64 ? "f64" : "f32"),
                                 compileMs, runMs);
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Accept global flags before the subcommand (`attnc --quiet run ...`):
  // LLVM only recognises a subcommand in first position.
  std::vector<char *> args(argv, argv + argc);
  for (size_t k = 2; k < args.size(); ++k) {
    llvm::StringRef a = args[k];
    if (a == "check" || a == "compile" || a == "run") {
      bool allFlags = true;
      for (size_t p = 1; p < k; ++p)
        allFlags &= llvm::StringRef(args[p]).starts_with("-");
      if (allFlags)
        std::rotate(args.begin() + 1, args.begin() + k, args.begin() + k + 1);
      break;
    }
  }
  // Every LLVM backend registers its flags at the top level, where they fill
  // --help with hundreds of unrelated lines; attnc's own flags are registered
  // per subcommand (--quiet for all). The others stay usable and are listed
  // by --help-hidden.
  for (auto &entry : cl::getRegisteredOptions(cl::SubCommand::getTopLevel())) {
    cl::Option *o = entry.second;
    bool generic = llvm::any_of(o->Categories, [](cl::OptionCategory *c) {
      return c->getName() == "Generic Options"; // --help, --version (not exported by name)
    });
    if (o != &quiet && !generic)
      o->setHiddenFlag(cl::Hidden);
  }
  cl::ParseCommandLineOptions((int)args.size(), args.data(),
                              "attnc: a compiler for attention variants\n");
  if (!checkCmd && !compileCmd && !runCmd)
    return fail("expected a subcommand: check, compile or run (see --help)");

  // --time: MLIR's timing manager, which prints its report (to stderr) on
  // destruction.
  DefaultTimingManager timingManager;
  timingManager.setEnabled(compileCmd && timeStages);
  TimingScope timing = timingManager.getRootScope();
  TimingScope parseTiming = timing.nest("parse spec");
  auto spec = spec::parseSpecFile(specPath);
  parseTiming.stop();
  if (!spec)
    return fail(spec.takeError());
  if (!spec->warnings.empty())
    llvm::errs() << spec->warnings;
  if (contextParallel.empty() && worldSize.getNumOccurrences())
    return fail("--world is the rank count of --context-parallel, which is not given");
  if (!contextParallel.empty() && !worldSize.getNumOccurrences())
    return fail("--context-parallel needs --world N (the number of ranks)");
  if (!contextParallel.empty()) {
    auto layout = spec::parseCPLayout(contextParallel);
    if (!layout)
      return fail("--context-parallel expects ring, striped or tree, got '" + contextParallel + "'");
    auto shard = spec::prepareContextParallel(*spec, *layout, worldSize);
    if (!shard)
      return fail(shard.takeError());
    shardLayout = *shard;
    cpLayout = *layout;
  }
  DialectRegistry registry;
  registerAttncDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // Users see their spec's lines, not the IR of the failing op.
  ctx.printOpOnDiagnostic(false);
  DiagnosticPrinter diagnostics(ctx);
  if (checkCmd)
    return checkMain(ctx, *spec);
  if (compileCmd)
    return compileMain(ctx, *spec, timing);
  return runMain(ctx, *spec);
}
