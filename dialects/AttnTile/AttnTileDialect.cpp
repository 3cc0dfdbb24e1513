//===- AttnTileDialect.cpp - the attn_tile dialect ------------------------===//
#include "attnc/Dialect/AttnTile/AttnTileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace attnc::tile;

#include "attnc/Dialect/AttnTile/AttnTileDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "attnc/Dialect/AttnTile/AttnTileTypes.cpp.inc"

#define GET_OP_CLASSES
#include "attnc/Dialect/AttnTile/AttnTileOps.cpp.inc"

void AttnTileDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "attnc/Dialect/AttnTile/AttnTileTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "attnc/Dialect/AttnTile/AttnTileOps.cpp.inc"
      >();
}

LogicalResult SmemTileType::verify(function_ref<InFlightDiagnostic()> emitError,
                                   StringRef role) {
  if (role != "q" && role != "k" && role != "v")
    return emitError() << "shared-memory tile role must be q, k or v, got '" << role << "'";
  return success();
}

attnc::attn::AttentionOp KernelOp::getAttention() {
  for (Operation &op : getSpec().front())
    if (auto a = dyn_cast<attnc::attn::AttentionOp>(op))
      return a;
  return nullptr;
}

LogicalResult KernelOp::verify() {
  int n = 0;
  for (Operation &op : getSpec().front())
    n += isa<attnc::attn::AttentionOp>(op);
  if (n != 1)
    return emitOpError("spec must hold exactly one attn.attention, has ") << n;
  if (!isa<attnc::attn::KernelPlanAttr>(getPlan()))
    return emitOpError("plan must be an #attn.kernel_plan");
  return success();
}

/// Block arguments of a tile loop region: (tile, ordinal) when `withTile`,
/// then one per iteration value, of the iteration values' types.
static LogicalResult verifyTileRegion(Operation *op, Region &r, StringRef name, bool withTile,
                                      TypeRange values, TypeRange yields,
                                      StringRef yieldsWhat = "the loop's value types") {
  Block &blk = r.front();
  if (blk.empty() || !isa<YieldOp>(blk.back()))
    return op->emitOpError() << name << " region must end in attn_tile.yield";
  unsigned lead = withTile ? 2 : 0;
  if (blk.getNumArguments() != lead + values.size())
    return op->emitOpError() << name << " region takes " << lead + values.size()
                             << " block arguments, has " << blk.getNumArguments();
  for (unsigned i = 0; i < lead; ++i)
    if (!blk.getArgument(i).getType().isIndex())
      return op->emitOpError() << name << " region: the tile and its ordinal are index values";
  if (TypeRange(blk.getArguments().drop_front(lead)) != values)
    return op->emitOpError() << name << " region: block argument types differ from the values'";
  auto y = dyn_cast<YieldOp>(blk.getTerminator());
  if (!y || TypeRange(y.getValues()) != yields)
    return op->emitOpError() << name << " region must yield " << yieldsWhat;
  return success();
}

LogicalResult ForTilesOp::verify() {
  if (TypeRange(getInits()) != getResultTypes())
    return emitOpError("results must have the types of the iteration values");
  return verifyTileRegion(*this, getBody(), "body", true, getInits().getTypes(),
                          getResultTypes());
}

LogicalResult PipelinedForOp::verify() {
  TypeRange vals = getInits().getTypes();
  if (vals != getResultTypes())
    return emitOpError("results must have the types of the iteration values");
  Block &steady = getSteady().front();
  if (steady.getNumArguments() < 2)
    return emitOpError("steady region takes the tile, its ordinal and the carried values");
  SmallVector<Type> carried(TypeRange(steady.getArguments().drop_front(2)));
  StringRef what = "the types of the steady region's carried values";
  if (failed(verifyTileRegion(*this, getFirst(), "first", true, {}, carried, what)) ||
      failed(verifyTileRegion(*this, getSteady(), "steady", true, carried, carried, what)) ||
      failed(verifyTileRegion(*this, getDrain(), "drain", false, carried, vals)))
    return failure();
  return success();
}

LogicalResult ForWorkOp::verify() {
  if (!isa_and_nonnull<WarpSpecializeOp>((*this)->getParentOp()))
    return emitOpError("runs a warp role's body: its parent must be attn_tile.warp_specialize");
  return verifyTileRegion(*this, getBody(), "body", false, {}, {}, "no values");
}

LogicalResult ReleaseQOp::verify() {
  // Only a persistent block loads another Q into the same tile.
  if (!(*this)->getParentOfType<ForWorkOp>())
    return emitOpError("releases the Q tile of a work item: it must be inside attn_tile.for_work");
  return success();
}

LogicalResult LoadQOp::verify() {
  if (getAsync() == (bool)getTile())
    return emitOpError(getAsync() ? "async load_q has no result (consumers use wait_q)"
                                  : "load_q without async returns the Q tile");
  if (getTile() && getTile().getType().getRole() != "q")
    return emitOpError("returns a q tile");
  return success();
}

/// A shared-memory tile of one of `roles` ("q", "k" or "v").
static LogicalResult expectRole(Operation *op, Value v, StringRef what, StringRef roles) {
  StringRef role = cast<SmemTileType>(v.getType()).getRole();
  if (!roles.contains(role))
    return op->emitOpError() << what << " must be a " << (roles.size() > 1 ? "k or v" : roles)
                             << " tile, got " << role;
  return success();
}

LogicalResult WaitQOp::verify() { return expectRole(*this, getTile(), "the result", "q"); }
LogicalResult LoadKVOp::verify() { return expectRole(*this, getResult(), "the result", "kv"); }
LogicalResult RingGetOp::verify() { return expectRole(*this, getTile(), "the result", "kv"); }
LogicalResult RingReleaseOp::verify() { return expectRole(*this, getTile(), "the slot", "kv"); }
LogicalResult RingPutOp::verify() {
  if (getRole() != "k" && getRole() != "v")
    return emitOpError("role must be k or v, got ") << getRole();
  return success();
}
LogicalResult QKOp::verify() {
  if (failed(expectRole(*this, getQ(), "the first operand", "q")) ||
      failed(expectRole(*this, getK(), "the second operand", "k")))
    return failure();
  return success();
}
LogicalResult PVOp::verify() {
  if (failed(expectRole(*this, getV(), "the V operand", "v")))
    return failure();
  if (getAcc().getType() != getResult().getType())
    return emitOpError("the accumulator and the result must have one type");
  return success();
}

OpFoldResult RescaleOp::fold(FoldAdaptor) {
  // O is zero before the first tile: any factor leaves it zero.
  if (getAcc().getDefiningOp<ZeroAccOp>())
    return getAcc();
  return {};
}
