//===- GPUPasses.h - attnc GPU (Hopper) passes ------------------*- C++ -*-===//
#ifndef ATTNC_GPU_PASSES_H
#define ATTNC_GPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Dialect/AttnTile/AttnTileDialect.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace attnc {

#define GEN_PASS_DECL
#include "attnc/Passes/GPUPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "attnc/Passes/GPUPasses.h.inc"

/// The gpu.func attribute listing the arguments attn-gpu-grid-constant-args
/// turns into __grid_constant__ parameters (the TMA descriptors).
inline constexpr llvm::StringLiteral kGridConstantArgsAttr = "attnc.grid_constant_args";

/// A step function's attribute (attn-gpu-partition-program): the arguments
/// whose sizes alone it reads (the program's `shape_only`).
inline constexpr llvm::StringLiteral kShapeOnlyAttr = "attnc.gpu.shape_only";

/// Registers the GPU passes and the pipelines `attn-gpu-build-kernel` (the
/// kernel stages below) and `attnc-gpu-pipeline{chip=sm_90a format=bin}`.
void registerGPUPasses();

/// The stages from planned attentions to Hopper kernels in nvgpu/nvvm:
/// attn-gpu-build-tile-kernel (the attn_tile program), attn-tile-warp-
/// specialize, attn-tile-pipeline, attn-tile-pingpong, attn-tile-to-nvvm.
void addKernelStages(mlir::OpPassManager &pm, bool keepHost = false);

/// attn.attention (in func.func) -> gpu.module -> gpu.binary holding a cubin
/// (format=bin), PTX (format=isa) or a fatbin (format=fatbin).
/// chip: sm_90a (the kernel uses wgmma, which is sm_90a-only: sm_100a is
/// rejected until the tcgen05 kernel exists). The CUDA toolkit is taken from
/// $CUDA_HOME, else /usr/local/cuda.
/// plan: the options of attn-gpu-plan-kernel (schedule, decode, block-n,
/// stages); then the kernel stages (addKernelStages) and the lowering to
/// NVVM and binary.
mlir::LogicalResult buildGPUPipeline(mlir::OpPassManager &pm, llvm::StringRef chip,
                                     llvm::StringRef format,
                                     const AttnGPUPlanKernelOptions &plan = {});

/// The generic GPU path (passes/LinalgToGPU) for the steps
/// attn-gpu-partition-program marks generic: decompose to the cascade,
/// linalg, buffers, parallel loops, attn-gpu-launch-loops, outlining, NVVM
/// with a bare pointer per buffer, and gpu-module-to-binary (format isa, bin
/// or fatbin). The host functions stay: allocations and gpu.launch_func.
mlir::LogicalResult buildGPUGenericPipeline(mlir::OpPassManager &pm, llvm::StringRef chip,
                                            llvm::StringRef format);

/// The last stages both GPU pipelines share: the NVVM target of `chip`
/// (PTX 8.0, -O3) on every gpu.module, and gpu-module-to-binary (format
/// isa, bin or fatbin) with the CUDA toolkit of $CUDA_HOME, else
/// /usr/local/cuda.
void addNVVMTarget(mlir::OpPassManager &pm, llvm::StringRef chip);
void addGPUModuleToBinary(mlir::OpPassManager &pm, llvm::StringRef format);

/// Reads the manifest a kernel carries (the gpu.func's `attnc.manifest`,
/// collected in the module's `attnc.gpu.manifests`) into the schema.
llvm::Expected<manifest::Kernel> readManifestAttr(mlir::DictionaryAttr attr);

} // namespace attnc

#endif // ATTNC_GPU_PASSES_H
