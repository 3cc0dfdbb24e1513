//===- AttnInterfaces.td - attn attribute interfaces -------*- tablegen -*-===//
#ifndef ATTN_INTERFACES
#define ATTN_INTERFACES

include "mlir/IR/OpBase.td"

// The dialect-level half of a carrier family: what it means for an attribute
// to sit in an attention's `carrier` array. How a family becomes IR (its keep
// predicate, its tile range and classification) needs the analysis types and
// is the CarrierLoweringAttrInterface of passes/Analysis, attached to the
// same attributes as external models (the dialect cannot depend on it).
def Attn_CarrierFamilyAttrInterface : AttrInterface<"CarrierFamilyAttrInterface"> {
  let cppNamespace = "::attnc::attn";
  let description = [{
    A carrier family: a static set of (i, j) pairs an attention may keep.
    The attention's carrier is the intersection of its families and its mask
    region; an attribute that does not implement this interface is not a
    carrier family.
  }];
  let methods = [
    InterfaceMethod<[{
        Checks the family against the attention it sits on (the extra inputs
        it names, the sequence lengths it constrains); emits the error on
        `op`. (`op` by reference: this interface is declared before the op
        classes, and a by-value parameter would need the complete class in
        the generated model templates.)
      }],
      "::mlir::LogicalResult", "verifyCarrier",
      (ins "::attnc::attn::AttentionOp &":$op)>,
  ];
}

#endif // ATTN_INTERFACES
