//===- Carrier.h - the carrier predicate of an attention ---------*- C++ -*-===//
//
// keep(b, h, i, j) as scalar IR: the AND of the static carrier families, the
// user mask region and nothing else (bounds come from the iteration space).
// Shared by the CPU cascade and the GPU partial-tile mask (and the GPU tile
// classification, include/attnc/Analysis/CarrierTiles.h, which reads the same extras).
// Each family's term is its CarrierLoweringAttrInterface model (CarrierLowering.h).
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_PASSES_CARRIER_H
#define ATTNC_PASSES_CARRIER_H

#include "attnc/Dialect/Attn/AttnDialect.h"
#include "mlir/IR/Builders.h"

namespace attnc {

/// How the predicate reads the attention's extra inputs and inlines its mask
/// region. The default reads the `extras` tensors with tensor.extract /
/// tensor.dim and clones the mask region as is; a backend that passes extras
/// differently (the GPU kernel: raw device pointers) overrides the hooks.
class CarrierAccess {
public:
  /// `extras`: the values standing for the attention's extras operands (by
  /// default the operands themselves).
  explicit CarrierAccess(mlir::ValueRange extras)
      : extras(extras.begin(), extras.end()) {}
  virtual ~CarrierAccess();

  /// Integer element of extra `n` at `indices` (index values), as an index.
  virtual mlir::Value loadIndex(mlir::OpBuilder &b, mlir::Location loc,
                                unsigned n, mlir::ValueRange indices);
  /// Extent `d` of extra `n`, as an index.
  virtual mlir::Value dim(mlir::OpBuilder &b, mlir::Location loc, unsigned n,
                          unsigned d);
  /// The user mask region evaluated at (b, h, i, j); returns the i1.
  virtual mlir::Value inlineMask(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Region &mask, mlir::ValueRange args);
  /// The packed document holding position `t` under document(seqlens = n):
  /// returns {start, end} with start <= t < end, or {0, 0} when t is at or
  /// past cu[N] (no document). Default: a scan over cu counting the
  /// boundaries cu[1..N] at or below t.
  virtual std::pair<mlir::Value, mlir::Value>
  documentSpan(mlir::OpBuilder &b, mlir::Location loc, unsigned n, mlir::Value t);
  /// Precomputes documentSpan(n, t) for a later call with the same `t`
  /// (CarrierLoweringAttrInterface::prepareRows). Default: nothing.
  virtual void prepareDocumentSpan(mlir::OpBuilder &b, unsigned n, mlir::Value t) {}
  /// The document spans of a query tile's first and last rows under
  /// document(seqlens = n), as the tile schedule computed them: a later
  /// prepareDocumentSpan of a row of that tile may take them instead of a
  /// search when they are one document. Default: nothing.
  virtual void noteTileDocument(unsigned n, mlir::Value start0, mlir::Value end0,
                                mlir::Value start1, mlir::Value end1) {}
  /// i1: block list `bl`'s tile_mask keeps (i, j). Default: the pair's bit
  /// of its tile's word.
  virtual mlir::Value tileMaskBit(mlir::OpBuilder &b, mlir::Location loc,
                                  attn::BlockListAttr bl, mlir::Value batch,
                                  mlir::Value head, mlir::Value i, mlir::Value j);
  /// Families the caller already guarantees (e.g. a GPU tile schedule that
  /// only visits listed blocks): their term is left out.
  virtual bool skipFamily(mlir::Attribute family) { return false; }
  /// A value the mask region reads from above (a constant, a dim), usable at
  /// b's insertion point; null when it cannot be had there. Default: the
  /// value itself (the region is inlined where its op was).
  virtual mlir::Value outerValue(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v) {
    return v;
  }

protected:
  mlir::SmallVector<mlir::Value> extras;
};

/// Emits the i1 `keep` for query i and key j of output head h in batch b.
/// `lq` and `lk` are the sequence lengths (index values). `mask` stands for
/// the op's mask region when given (a pass rebuilding that region).
mlir::Value buildKeepPredicate(mlir::OpBuilder &b, mlir::Location loc,
                               attn::AttentionOp op, mlir::Value batch,
                               mlir::Value head, mlir::Value i, mlir::Value j,
                               mlir::Value lq, mlir::Value lk,
                               CarrierAccess *access = nullptr, mlir::Region *mask = nullptr);

/// The key length of batch `batch` as the families see it (`lk`, or the
/// sequence's own under a lengths family); buildKeepPredicate applies it.
mlir::Value narrowKeyLength(mlir::OpBuilder &b, mlir::Location loc, attn::AttentionOp op,
                            CarrierAccess &access, mlir::Value batch, mlir::Value lk);
/// The same over a list of carrier families (an estimation stage's).
mlir::Value narrowKeyLength(mlir::OpBuilder &b, mlir::Location loc,
                            llvm::ArrayRef<mlir::Attribute> families, CarrierAccess &access,
                            mlir::Value batch, mlir::Value lk);
/// True when the carrier keeps every (i, j) in bounds (no family, no mask).
bool isFullCarrier(attn::AttentionOp op);

} // namespace attnc

#endif // ATTNC_PASSES_CARRIER_H
