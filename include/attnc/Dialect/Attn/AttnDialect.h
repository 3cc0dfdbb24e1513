//===- AttnDialect.h - the attn dialect ---------------------------*- C++ -*-===//
#ifndef ATTNC_DIALECTS_ATTN_ATTNDIALECT_H
#define ATTNC_DIALECTS_ATTN_ATTNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "attnc/Dialect/Attn/AttnDialect.h.inc"
#include "attnc/Dialect/Attn/AttnEnums.h.inc"

#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/bit.h"

#include <optional>

namespace attnc::attn::detail {
/// An optional double that can key a uniqued attribute parameter: doubles
/// have no llvm::hash_value, and the comparison is bitwise so that -0.0 and
/// 0.0 stay apart and a NaN equals itself.
struct OptionalF64 : std::optional<double> {
  OptionalF64() = default;
  OptionalF64(std::optional<double> v) : std::optional<double>(v) {}

  friend bool operator==(const OptionalF64 &a, const OptionalF64 &b) {
    return a.has_value() == b.has_value() &&
           (!a || llvm::bit_cast<uint64_t>(*a) == llvm::bit_cast<uint64_t>(*b));
  }
  friend llvm::hash_code hash_value(const OptionalF64 &v) {
    return v ? llvm::hash_combine(true, llvm::bit_cast<uint64_t>(*v))
             : llvm::hash_value(false);
  }
};
} // namespace attnc::attn::detail

namespace attnc::attn {
class AttentionOp;
/// The axes of a page pool that hold a page's rows and the heads: nhd
/// [P, PS, Hk, D], hnd [P, Hk, PS, D].
inline int64_t pageRowAxis(PageLayout l) { return l == PageLayout::nhd ? 1 : 2; }
inline int64_t pageHeadAxis(PageLayout l) { return l == PageLayout::nhd ? 2 : 1; }
/// Links whose weights may be negative (they need `weights signed`).
inline bool isSignedLink(Link link) { return link == Link::identity || link == Link::signed_exp; }
} // namespace attnc::attn

namespace attnc {
/// A string attribute on an op that the frontend or a pass adds before
/// attn-gpu-partition-program: why the op runs as a generic GPU step (the
/// program's step reason).
inline constexpr llvm::StringLiteral kStepReasonAttr = "attnc.gpu.step_reason";
/// A unit attribute on an attention whose persistent kernel spilled
/// registers (ptxas's report, read back by the GPU compile): the kernel plan
/// then gives it a grid of one block per query tile, whose consumers have
/// more registers.
inline constexpr llvm::StringLiteral kPersistentSpilledAttr = "attnc.gpu.persistent_spilled";
/// A unit attribute on an attention whose persistent kernel spilled with O
/// stored through shared memory and TMA: the plan then stores O per thread.
inline constexpr llvm::StringLiteral kOStoresSpilledAttr = "attnc.gpu.o_stores_spilled";
} // namespace attnc
#include "attnc/Dialect/Attn/AttnAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/AttnAttrs.h.inc"

#define GET_OP_CLASSES
#include "attnc/Dialect/Attn/AttnOps.h.inc"

#endif // ATTNC_DIALECTS_ATTN_ATTNDIALECT_H
