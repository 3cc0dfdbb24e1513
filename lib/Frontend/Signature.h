//===- Signature.h - the spec's names for the variant function -*- C++ -*-===//
#ifndef ATTNC_LIB_FRONTEND_SIGNATURE_H
#define ATTNC_LIB_FRONTEND_SIGNATURE_H

#include "attnc/Dialect/Attn/VariantSignature.h"
#include "attnc/Spec/SpecAST.h"

namespace attnc {

/// The names, symbolic shapes and bare attentions of the spec's inputs and
/// outputs. An output's shape is [B, max(Hq, Hk), Lq, Dv] of the first
/// attention it reads (q/k/v through their lets); empty if it reads none.
attn::VariantSignature variantSignature(const spec::Spec &spec);

/// Why the operands of `a` may disagree at run time on a size they must share
/// (batch, heads of k and v, the contracted axis of q and k, the paired axis
/// of k and v), as their symbolic shapes differ; "" if they cannot.
std::string operandSizeMismatch(const spec::Spec &spec, const spec::AttentionDecl &a);

} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_SIGNATURE_H
