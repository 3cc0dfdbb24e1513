//===- KernelManifest.h - the kernel manifest's schema ----------*- C++ -*-===//
//
// The one definition of the manifest that travels beside each GPU kernel
// (docs/gpu-abi.md): the compiler fills it (passes/AttnToTile/KernelManifest.cpp) and writes it
// (lib/GPU) with printManifest; the runtime reads it with parseManifest and
// then checks its meaning (lib/Runtime/Manifest.cpp). Plain C++ so that the
// runtime, which builds without LLVM, owns both directions.
//
// Integer-valued launch fields are expressions over the kernel's dims
// ("ceildiv(Lq,128)", "B*Hq", or a literal such as "64"); parseManifest
// accepts a JSON integer or string for them and printManifest writes
// literals as JSON integers.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_KERNELMANIFEST_H
#define ATTNC_RUNTIME_KERNELMANIFEST_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnc::manifest {

/// An integer-valued field: a literal or an expression over the dims.
using ExprText = std::string;

/// One kernel parameter, in launch order.
struct Param {
  enum class Kind { TensorMap, Ptr, I32, I64, Workspace };
  std::string name;
  Kind kind = Kind::Ptr;
  // TensorMap and Ptr: the tensor the parameter reads or writes.
  std::string tensor, dtype;
  // Ptr (and optionally TensorMap: boxes of a contiguous tensor of another
  // shape): the tensor's shape, outermost first; its alignment in bytes (0: the
  // element size).
  std::vector<ExprText> shape;
  int64_t align = 0;
  // I32, I64: the value.
  ExprText value;
  // Workspace: bytes the runtime provides per launch, of which the first
  // zeroBytes are zeroed.
  ExprText bytes, zeroBytes;
  // TensorMap, innermost dimension first (as cuTensorMapEncodeTiled takes
  // them); the enums by name ("none", "128", "l2_128b", "zero").
  int64_t rank = 0;
  std::vector<ExprText> globalDims, globalStridesBytes, box, elementStrides;
  std::string interleave, swizzle, l2Promotion, oobFill;
  // TensorMap: the 128-byte CUtensorMap itself is the parameter (a
  // __grid_constant__ kernel parameter); false: a pointer to a copy of it in
  // device memory.
  bool byValue = false;
};

/// Split-KV kernels: the dim holding the split count, its cap, and the
/// number of key tiles the runtime divides among the splits.
struct SplitKV {
  std::string dim;
  int64_t maxSplits = 1;
  ExprText keyTiles;
};

/// What an attention kernel computes (informational; the runtime launches
/// without it, tools and tests read it).
struct Attention {
  std::string dtype, causal, link, anchor, schedule;
  int64_t headDim = 0, headDimV = 0, blockM = 0, blockN = 0, stages = 0;
  double scale = 1, linkPower = 1;
  bool hasScoreRegion = false, hasMaskRegion = false, decode = false, packHeads = false;
  /// Paged K/V: tokens per page (0: contiguous K/V) and the pools' layout,
  /// "nhd" [P, PS, Hk, D] or "hnd" [P, Hk, PS, D].
  int64_t pageSize = 0;
  std::string pageLayout;
  std::vector<std::string> carrier, tilesExact, tilesBounding;
  /// The null key's logit: a number, an expression ("extra_0[h]"), or none.
  std::optional<double> nullLogit;
  std::string nullLogitExpr;
};

/// The spec's names of what the kernel reads, so hosts bind by name.
struct SpecNames {
  std::string variant, attention, q, k, v;
  std::vector<std::string> extras;
};

struct Kernel {
  int64_t abiVersion = 1;
  std::string kernel, chip, binary;
  /// The dims, in dims[] order, when given (else inferred from the i32
  /// params, then the names used).
  std::optional<std::vector<std::string>> dims;
  std::vector<Param> params;
  ExprText grid[3], block[3], sharedBytes;
  /// Unset: the runtime's default head constraints of ABI v1.
  std::optional<std::vector<ExprText>> constraints;
  std::optional<SplitKV> splitKV;
  /// Persistent blocks: the grid is the kernel's work items; the runtime
  /// launches min(grid.x * grid.y * grid.z, SMs) blocks on one axis, which
  /// take the items from the workspace's first word (zeroed per launch).
  bool persistent = false;
  std::optional<Attention> attention;
  std::optional<SpecNames> spec;
};

/// A GPU program (<variant>.program.json beside the kernels; docs/gpu-abi.md,
/// "Programs"): the buffers of a spec (its inputs and outputs, temporaries,
/// LSEs) and the steps that launch its kernels in order, each binding a
/// buffer to every tensor its kernel takes.
struct ProgramBuffer {
  enum class Kind { Input, Output, Temp, Lse };
  std::string name;
  Kind kind = Kind::Temp;
  /// Input: the spec input; Output: the spec output; Lse: the output whose
  /// LSE this is (-1: a temporary).
  int64_t index = -1;
  std::string dtype; ///< "bf16", "f32", "i32", "i1", ...
  std::vector<int64_t> shape; ///< -1: dynamic (an output's LSE follows the output)
  /// Per axis, the size as an expression over the program's dims (the spec's
  /// names, e.g. "L" or "B*H"), or empty when no axis is dynamic. An input's
  /// or output's bare name binds that dim from the caller's tensor; a
  /// temporary's dynamic sizes are evaluated from them.
  std::vector<ExprText> sizes;
};
struct ProgramStep {
  std::string kernel; ///< the kernel's file stem (<kernel>.json, .cubin)
  std::vector<std::pair<std::string, int64_t>> bind; ///< kernel tensor -> buffer
  std::string reason; ///< generic steps: why the Hopper kernel does not compute this
  /// Tensors of `bind` whose contents the step never reads, only their sizes
  /// (a mask's classification reads L from q).
  std::vector<std::string> shapeOnly;
};
struct Program {
  std::vector<ProgramBuffer> buffers;
  std::vector<ProgramStep> steps;
};

/// Reads a program's JSON text and checks it: known kinds and dtypes, one
/// buffer per spec input and output (indices 0..n-1), bindings in range,
/// kernel names without path separators. err names the field.
bool parseProgram(const std::string &text, Program &out, std::string &err);
std::string printProgram(const Program &p);

/// Which steps read only the inputs `isStatic` marks (by spec input index)
/// and temporaries written by such steps (a step that reads no input, or
/// only inputs' sizes (ProgramStep::shapeOnly), depends on the dims alone), and write only such temporaries: their
/// results stay valid while those inputs and the dims do
/// (attnc_gpu_program_keep_static). A temporary is written by the first step
/// that binds it (steps are in dependence order).
std::vector<bool> staticSteps(const Program &p, const std::vector<bool> &isStatic);

/// Reads a manifest's JSON text: every known field is type-checked (unknown
/// fields are left to informational queries). On failure returns false and
/// sets ERR to "FIELD: problem", e.g. "params[2].shape[1]: expected ...".
bool parseManifest(const std::string &text, Kernel &out, std::string &err);

/// The spec input a kernel tensor reads ("q", "k", "v", "extra_N" through
/// the manifest's spec names), or "" (o, lse, or no names recorded).
std::string specInputOf(const Kernel &k, const std::string &tensor);

/// The JSON text of a manifest (two-space indented, fields in schema order).
std::string printManifest(const Kernel &k);

} // namespace attnc::manifest

#endif // ATTNC_RUNTIME_KERNELMANIFEST_H
