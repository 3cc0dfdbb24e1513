//===- AttnDialect.td - the attn dialect -------------------*- tablegen -*-===//
#ifndef ATTN_DIALECT
#define ATTN_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let summary = "Attention variants: one high-level op and the einsum cascade it decomposes into";
  let description = [{
    Two levels. `attn.attention` describes a whole variant the Geometric
    Attention way: a carrier (which keys a query may address), score
    modifications, a link (evidence kernel) and an anchor (normalisation).
    `attn-decompose` rewrites it into the einsum cascade: contractions
    (`attn.einsum`), elementwise maps with index arguments (`attn.map`),
    reductions (`attn.reduce`) and the anchors' normalisation and combine
    rules (`attn.row_normalize`, `attn.sinkhorn`, `attn.merge_partials`).
  }];
  let cppNamespace = "::attnc::attn";
  let useDefaultAttributePrinterParser = 1;
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT
