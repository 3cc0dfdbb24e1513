//===- ContextParallel.h - a spec compiled as one shard of itself -*- C++ -*-===//
//
// Context parallelism splits one attention's queries and keys across ranks
// (docs/context-parallel.md). Each rank runs the same compiled shard at every
// step, told where its rows sit by a launch input `cp_offsets` [2] (i32:
// the global position of its first query row and of the step's first key).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SPEC_CONTEXTPARALLEL_H
#define ATTNC_SPEC_CONTEXTPARALLEL_H

#include "attnc/Spec/SpecAST.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace attnc::spec {

/// How tokens are dealt to ranks: ring (contiguous query and key blocks, the
/// key blocks passed around a ring), striped (token t on rank t mod N, which
/// balances causal work), tree (queries replicated, keys split: decode).
enum class CPLayout { ring, striped, tree };
std::optional<CPLayout> parseCPLayout(llvm::StringRef name);
const char *cpLayoutName(CPLayout layout);

/// A shard's rows in global positions: query row i is i * qStride + off[0],
/// key j is j * kStride + off[1]; global lengths qParts * Lq and kParts * Lk.
/// A length dim the spec uses in an expression means the global length:
/// qLength's value times qParts (kLength's times kParts).
struct ContextShard {
  int64_t qStride = 1, kStride = 1, qParts = 1, kParts = 1;
  std::string qLength, kLength;
};

/// The name of the offsets input the shard takes.
inline constexpr const char *kCPOffsetsInput = "cp_offsets";
/// Most ranks a plan may have.
inline constexpr int64_t kMaxCPWorld = 1024;

/// Checks that `spec` can run in shards (one attention whose result is the
/// output; no RoPE, which reads positions; no table sized by a sharded
/// length; distinct query and key length dims for tree) and declares the
/// `cp_offsets` input. Errors name the spec's place.
llvm::Expected<ContextShard> prepareContextParallel(Spec &spec, CPLayout layout, int64_t world);

} // namespace attnc::spec

#endif // ATTNC_SPEC_CONTEXTPARALLEL_H
