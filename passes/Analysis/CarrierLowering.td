//===- CarrierLowering.td - a carrier family as IR ---------*- tablegen -*-===//
#ifndef ATTNC_CARRIER_LOWERING
#define ATTNC_CARRIER_LOWERING

include "mlir/IR/OpBase.td"

// Declared here rather than in the attn dialect because its methods take the
// analysis types (CarrierAccess, the tile plan); the dialect's attributes get
// it as external models (passes/Analysis/CarrierLoweringModels.cpp), so the
// dialect does not depend on this library. Verification against the op needs
// no analysis type and is the dialect's CarrierFamilyAttrInterface.
def Attnc_CarrierLoweringAttrInterface : AttrInterface<"CarrierLoweringAttrInterface"> {
  let cppNamespace = "::attnc";
  let description = [{
    A carrier family as IR: its term of the element predicate keep(b, h, i,
    j) (include/attnc/Analysis/Carrier.h) and its behaviour at tile
    granularity (include/attnc/Analysis/CarrierTiles.h): whether it is tiled
    exactly or by a bounding range, the key range a query tile may keep, and
    whether a key tile is kept whole. Callers loop over the attention's
    `carrier` array in order and combine the families' answers (AND of the
    terms, intersection of the ranges).
  }];
  let methods = [
    InterfaceMethod<[{
        The family's term of keep(b, h, i, j), an i1: query `i`, key `j`,
        output head `head` in batch `batch`; `lq`, `lk` are the sequence
        lengths. Extras are read through `access`.
      }],
      "::mlir::Value", "buildKeep",
      (ins "::attnc::IndexMath &":$m, "::attnc::CarrierAccess &":$access,
           "::mlir::Value":$batch, "::mlir::Value":$head, "::mlir::Value":$i,
           "::mlir::Value":$j, "::mlir::Value":$lq, "::mlir::Value":$lk)>,
    InterfaceMethod<[{
        The key length every family sees in batch `batch`, given `lk`: a
        family that gives each sequence its own length (lengths) narrows it;
        the others return `lk`. Callers apply it before buildKeep and the
        tile range, so that bottom-right alignment follows it.
      }],
      "::mlir::Value", "narrowKeyLength",
      (ins "::attnc::IndexMath &":$m, "::attnc::CarrierAccess &":$access,
           "::mlir::Value":$batch, "::mlir::Value":$lk),
      /*methodBody=*/"", /*defaultImplementation=*/[{ return lk; }]>,
    InterfaceMethod<[{
        Enters the family in `plan`: its name under `exact` or `bounding`
        (CarrierTiles.h says what each means), and the schedule role it
        takes, if any (the first window with sinks, the block list). Fails,
        with the error on `op`, when BM x BN tiles cannot schedule it.
      }],
      "::mlir::LogicalResult", "planTiles",
      (ins "::attnc::attn::AttentionOp":$op, "::attnc::CarrierTilePlan &":$plan)>,
    InterfaceMethod<[{
        Lets `access` precompute, once per query tile, what the family's
        buildKeep reads per row for the rows `rows` (the kernel's rows of a
        thread: a document's span). Default: nothing.
      }],
      "void", "prepareRows",
      (ins "::mlir::OpBuilder &":$b, "::attnc::CarrierAccess &":$access,
           "::mlir::ValueRange":$rows),
      /*methodBody=*/"", /*defaultImplementation=*/[{ return; }]>,
    InterfaceMethod<[{
        Narrows `keys` to the keys the family may keep for some row of
        `tile` (a bounding family may keep it wider; the plan's sink window
        gives its band instead). Emitted once per query tile: values that
        buildTileIsFull needs again go to `rowState`.
      }],
      "void", "boundTileKeys",
      (ins "::attnc::IndexMath &":$m, "const ::attnc::QueryTileRows &":$tile,
           "::attnc::TileKeyRange &":$keys,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$rowState)>,
    InterfaceMethod<[{
        i1: the family keeps every (i, j) with i a row of `tile` and j in
        [j0, j1]; a null Value when the schedule already guarantees it.
        `rowState` is what boundTileKeys recorded for this tile.
      }],
      "::mlir::Value", "buildTileIsFull",
      (ins "::attnc::IndexMath &":$m, "const ::attnc::QueryTileRows &":$tile,
           "::mlir::Value":$j0, "::mlir::Value":$j1,
           "::llvm::ArrayRef<::mlir::Value>":$rowState)>,
    InterfaceMethod<[{
        The family as a window per axis of a row-major grid (GridAxis, outer
        axis first), when its keep(i, j) is exactly the AND of the axes'
        windows over the tokens' coordinates (the grid's axes need not be the
        family's own: a dilated axis may be two); then tiles may be boxes of
        the grid (CarrierTiles.h, GridTiles). Empty: not a grid family.
      }],
      "::llvm::SmallVector<::attnc::GridAxis, 3>", "gridAxes", (ins),
      /*methodBody=*/"", /*defaultImplementation=*/[{ return {}; }]>,
  ];
}

#endif // ATTNC_CARRIER_LOWERING
