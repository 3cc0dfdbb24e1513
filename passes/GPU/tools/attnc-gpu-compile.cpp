//===- attnc-gpu-compile.cpp - .mlir (attn.attention) -> cubin/PTX + manifest
//
// attnc-gpu-compile IN.mlir -o DIR [--chip=sm_90a] [--format=bin|isa] [--schedule=pingpong|ws]
//                   [--dump-kernel-ir=FILE]
// Writes DIR/<kernel>.cubin (bin) or DIR/<kernel>.ptx (isa), and DIR/<kernel>.json.
//===----------------------------------------------------------------------===//
#include "attnc/GPU/Passes.h"
#include "dialects/Attn/AttnDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::init("-"));
static cl::opt<std::string> outDir("o", cl::desc("output directory"), cl::init("."));
static cl::opt<std::string> chip("chip", cl::init("sm_90a"));
static cl::opt<std::string> format("format", cl::desc("bin | isa | fatbin"),
                                   cl::init("bin"));
static cl::opt<std::string> schedule("schedule", cl::desc("consumer schedule: pingpong | ws (default: the pass default)"),
                                     cl::init(""));
static cl::opt<std::string> dumpKernelIR("dump-kernel-ir",
                                         cl::desc("write the kernel IR (before lowering)"),
                                         cl::init(""));

static bool writeFile(StringRef path, StringRef data) {
  std::string err;
  auto f = openOutputFile(path, &err);
  if (!f) {
    llvm::errs() << err << "\n";
    return false;
  }
  f->os() << data;
  f->keep();
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  registerAllPasses();
  attnc::registerGPUPasses();
  cl::ParseCommandLineOptions(argc, argv, "attnc GPU compiler\n");
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<attnc::attn::AttnDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  llvm::SourceMgr sm;
  std::string err;
  auto buf = openInputFile(inputFile, &err);
  if (!buf) {
    llvm::errs() << err << "\n";
    return 1;
  }
  sm.AddNewSourceBuffer(std::move(buf), llvm::SMLoc());
  SourceMgrDiagnosticHandler diag(sm, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sm, &ctx);
  if (!module)
    return 1;

  if (!dumpKernelIR.empty()) {
    OwningOpRef<ModuleOp> copy = module->clone();
    PassManager pm(&ctx);
    attnc::AttnGPUBuildKernelOptions kopts;
    if (!schedule.empty())
      kopts.schedule = schedule;
    pm.addPass(attnc::createAttnGPUBuildKernel(kopts));
    if (failed(pm.run(*copy)))
      return 1;
    std::string s;
    llvm::raw_string_ostream os(s);
    copy->print(os);
    if (!writeFile(dumpKernelIR, s))
      return 1;
  }

  PassManager pm(&ctx);
  attnc::AttnGPUBuildKernelOptions kopts;
  if (!schedule.empty())
    kopts.schedule = schedule;
  if (failed(attnc::buildGPUPipeline(pm, chip, format, kopts)))
    return 1;
  if (failed(pm.run(*module)))
    return 1;

  llvm::sys::fs::create_directories(outDir);
  auto manifests = (*module)->getAttrOfType<DictionaryAttr>("attnc.gpu.manifests");
  if (!manifests) {
    llvm::errs() << "no attn.attention found\n";
    return 1;
  }
  int written = 0;
  module->walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects()) {
      auto obj = cast<gpu::ObjectAttr>(a);
      StringRef ext = format == "isa" ? ".ptx" : format == "fatbin" ? ".fatbin" : ".cubin";
      // One module holds every kernel: name the binary after each kernel so a
      // runtime finds <kernel>.cubin next to <kernel>.json.
      for (NamedAttribute m : manifests) {
        SmallString<128> p(outDir);
        llvm::sys::path::append(p, m.getName().strref() + ext);
        if (!writeFile(p, obj.getObject().getValue()))
          return;
        SmallString<128> j(outDir);
        llvm::sys::path::append(j, m.getName().strref() + ".json");
        if (!writeFile(j, cast<StringAttr>(m.getValue()).getValue()))
          return;
        llvm::outs() << "wrote " << p << " and " << j << "\n";
        ++written;
      }
    }
  });
  return written ? 0 : 1;
}
