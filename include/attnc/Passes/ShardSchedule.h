//===- ShardSchedule.h - the host plan of a context-parallel attention -*- C++ -*-===//
//
// What each rank does at each step of a ring, striped or tree plan (docs/
// context-parallel.md): the key block it attends, the cp_offsets it passes,
// and whether the carrier keeps none, some or all of that block's pairs,
// decided at compile time by bounding the shard's mask over the whole block
// (MaskBounds) with the offsets as constants. A step that keeps none is
// skipped by the host: no launch, no merge.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_SHARDSCHEDULE_H
#define ATTNC_PASSES_SHARDSCHEDULE_H

#include "attnc/Spec/ContextParallel.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace attnc {

struct ShardStep {
  int64_t block = 0;             ///< the key block (by the rank that holds it first)
  int64_t qOffset = 0, kOffset = 0; ///< cp_offsets
  enum class Keeps { none, some, all } keeps = Keeps::some;
};

struct ShardSchedule {
  spec::CPLayout layout = spec::CPLayout::ring;
  int64_t world = 1;
  std::string merge;                        ///< "lse" or "sum"
  std::vector<std::vector<ShardStep>> ranks; ///< per rank, its steps in order
};

/// The plan of `module`, the spec built with LoweringOptions::contextShard
/// (static shapes; left unchanged). Errors when the shard has dynamic
/// sequence lengths.
llvm::Expected<ShardSchedule> planShardSchedule(mlir::ModuleOp module, spec::CPLayout layout,
                                                int64_t world);

/// The plan as JSON (the program's cp_schedule; written beside the kernels).
std::string shardScheduleJson(const ShardSchedule &schedule);

} // namespace attnc

#endif // ATTNC_PASSES_SHARDSCHEDULE_H
