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

} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_SIGNATURE_H
