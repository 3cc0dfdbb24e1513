//===- AttnOps.cpp - attn op verifiers and queries -----------------------===//
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace attnc::attn;

namespace {
/// Two static extents that differ; dynamic extents are checked at run time.
bool staticMismatch(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}
std::string extent(int64_t v) {
  return ShapedType::isDynamic(v) ? std::string("?") : std::to_string(v);
}
/// The query and key lengths (L of [B, H, L, D]) of an attention.
/// The lengths the carrier families speak of: a context shard's are the
/// whole attention's (its parts times its own).
int64_t wholeLength(AttentionOp op, int64_t local, bool query) {
  ContextShardAttr shard = op.getContextShardAttr();
  if (!shard || ShapedType::isDynamic(local))
    return local;
  return local * (query ? shard.getQParts() : shard.getKParts());
}
int64_t queryLength(AttentionOp op) {
  return wholeLength(op, cast<RankedTensorType>(op.getQuery().getType()).getDimSize(2), true);
}
int64_t keyLength(AttentionOp op) {
  return wholeLength(op, op.getLogicalKeyType().getDimSize(2), false);
}
} // namespace

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

RankedTensorType PageGatherOp::inferType(RankedTensorType pool, RankedTensorType table,
                                         PageLayout layout) {
  int64_t ps = pool.getDimSize(pageRowAxis(layout));
  int64_t mp = table.getDimSize(1), lk = ShapedType::kDynamic;
  if (!ShapedType::isDynamic(ps) && !ShapedType::isDynamic(mp))
    lk = ps * mp;
  return RankedTensorType::get({table.getDimSize(0),
                                pool.getDimSize(pageHeadAxis(layout)), lk,
                                pool.getDimSize(3)},
                               pool.getElementType());
}

int64_t PoolOp::groupCount(int64_t length, int64_t size, int64_t stride) {
  if (ShapedType::isDynamic(length))
    return ShapedType::kDynamic;
  return llvm::divideCeil(std::max<int64_t>(length - size, 0), stride) + 1;
}

RankedTensorType PoolOp::inferType(RankedTensorType input, int64_t size, int64_t stride) {
  SmallVector<int64_t> shape(input.getShape());
  shape[2] = groupCount(shape[2], size, stride);
  return RankedTensorType::get(shape, input.getElementType());
}

LogicalResult PoolOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  if (in.getRank() != 4 || !isa<FloatType>(in.getElementType()))
    return emitOpError("input must be a rank-4 float tensor [B, H, L, D]");
  auto want = inferType(in, getSize(), getStride());
  auto got = cast<RankedTensorType>(getResult().getType());
  if (got.getRank() != 4 || got.getElementType() != want.getElementType() ||
      llvm::any_of(llvm::seq(0, 4), [&](int d) {
        return staticMismatch(got.getDimSize(d), want.getDimSize(d));
      }))
    return emitOpError() << "result must be " << want << ", got " << got;
  return success();
}

LogicalResult PageGatherOp::verify() {
  auto pool = cast<RankedTensorType>(getPool().getType());
  auto table = cast<RankedTensorType>(getTable().getType());
  if (pool.getRank() != 4 || !isa<FloatType>(pool.getElementType()))
    return emitOpError("pool must be a rank-4 float tensor [P, PS, Hk, D] or [P, Hk, PS, D]");
  if (table.getRank() != 2 || !table.getElementType().isIntOrIndex())
    return emitOpError("table must be an integer [B, MP] tensor");
  auto want = inferType(pool, table, getLayout());
  auto got = cast<RankedTensorType>(getResult().getType());
  if (got.getRank() != 4 || got.getElementType() != want.getElementType())
    return emitOpError() << "result must be " << want;
  for (int64_t d = 0; d < 4; ++d)
    if (staticMismatch(got.getDimSize(d), want.getDimSize(d)))
      return emitOpError() << "result must be " << want << ", got " << got;
  return success();
}

/// `operand`'s type as the attention sees it: a pool under kv_pages is the
/// tensor its gather would give (left as is when the attribute is malformed:
/// the verifier reports that).
static RankedTensorType logicalKVType(AttentionOp op, Value operand) {
  auto t = cast<RankedTensorType>(operand.getType());
  KVPagesAttr pages = op.getKvPagesAttr();
  if (!pages || t.getRank() != 4 || pages.getTable() < 0 ||
      pages.getTable() >= (int64_t)op.getExtras().size())
    return t;
  auto table = cast<RankedTensorType>(op.getExtras()[pages.getTable()].getType());
  if (table.getRank() != 2)
    return t;
  return PageGatherOp::inferType(t, table, pages.getLayout());
}

RankedTensorType AttentionOp::getLogicalKeyType() { return logicalKVType(*this, getKey()); }
RankedTensorType AttentionOp::getLogicalValueType() { return logicalKVType(*this, getValue()); }

std::optional<unsigned> AttentionOp::getTableBoundsOf(unsigned table) {
  if (auto pairs = getTableBounds())
    for (size_t k = 0; k + 1 < pairs->size(); k += 2)
      if ((*pairs)[k] == (int64_t)table)
        return (unsigned)(*pairs)[k + 1];
  return std::nullopt;
}

/// Each pair (t, s) of table_bounds: s is t's per-block [min, max].
static LogicalResult verifyTableBounds(AttentionOp op) {
  auto pairs = op.getTableBounds();
  if (!pairs)
    return success();
  if (pairs->size() % 2)
    return op.emitOpError("table_bounds must hold (table, bounds) pairs");
  int64_t n = op.getExtras().size();
  llvm::SmallDenseSet<int64_t> tables, bounds;
  for (size_t k = 0; k < pairs->size(); k += 2)
    tables.insert((*pairs)[k]);
  for (size_t k = 0; k < pairs->size(); k += 2) {
    int64_t t = (*pairs)[k], s = (*pairs)[k + 1];
    if (t < 0 || t >= n || s < 0 || s >= n || t == s)
      return op.emitOpError() << "table_bounds: (" << t << ", " << s
                              << ") are not two extras (" << n << " extras)";
    if (tables.contains(s) || !bounds.insert(s).second || tables.size() * 2 != pairs->size())
      return op.emitOpError("table_bounds: each table and each bounds extra appears once");
    auto tt = cast<RankedTensorType>(op.getExtras()[t].getType());
    auto st = cast<RankedTensorType>(op.getExtras()[s].getType());
    // Static: the bounds' level count must be known where they are read.
    if (!tt.getElementType().isInteger(32) || tt.getRank() < 1 || !tt.hasStaticShape())
      return op.emitOpError() << "table_bounds: extra " << t << " must be an i32 table of static shape";
    int64_t blocks = AttentionOp::tableBoundsBlocks(tt.getDimSize(tt.getRank() - 1));
    SmallVector<int64_t> want(tt.getShape().drop_back());
    want.append({AttentionOp::tableBoundsLevels(blocks), blocks, 2});
    if (st.getElementType() != tt.getElementType() || st.getRank() != (int64_t)want.size() ||
        llvm::any_of(llvm::zip(st.getShape(), want),
                     [](auto p) { return staticMismatch(std::get<0>(p), std::get<1>(p)); }))
      return op.emitOpError() << "table_bounds: extra " << s << " must be the sparse table of the [min, max] of extra "
                              << t << " over blocks of " << AttentionOp::kTableBoundsBlock
                              << " entries (levels, blocks, 2)";
  }
  return success();
}

std::string AttentionOp::contextShardRefusal() {
  AttentionOp op = *this;
  if (op.getAnchorKind() == Anchor::sinkhorn)
    return "a Sinkhorn anchor normalises columns over every query, which no shard holds";
  if (op.getAnchor().getNullLogit() || op.getAnchor().getNullExtra())
    return "a null key would be counted once per shard";
  if (op.getAnchorKind() == Anchor::row && isSignedLink(op.getLinkKind()))
    return "signed weights under a row anchor: a shard's sum of weights (which may cancel) "
           "is not what its LSE records (the sum of |w|)";
  if (op.getScoreConv())
    return "a score convolution reads scores of neighbouring rows held by other shards";
  if (op.getSplitKv() > 0)
    return "split_kv already splits the keys; give one schedule";
  if (op.getKvPages())
    return "paged keys and values are addressed per sequence, not per shard";
  for (Attribute a : op.getCarrier())
    if (isa<LengthsAttr, BlockSelectAttr>(a)) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "the carrier family " << a
         << " depends on per-sequence data that a shard does not hold";
      return text;
    }
  return "";
}

/// mask_classes = c: extra c is the per-block class table of the mask.
static LogicalResult verifyMaskClasses(AttentionOp op) {
  std::optional<int64_t> c = op.getMaskClasses();
  if (!c)
    return success();
  if (op.getMask().empty())
    return op.emitOpError("mask_classes without a mask region");
  if (*c < 0 || *c >= (int64_t)op.getExtras().size())
    return op.emitOpError() << "mask_classes: " << *c << " is not an extra ("
                            << op.getExtras().size() << " extras)";
  auto ct = cast<RankedTensorType>(op.getExtras()[*c].getType());
  auto qt = cast<RankedTensorType>(op.getQuery().getType());
  auto ot = cast<RankedTensorType>(op.getResult().getType());
  int64_t lk = op.getLogicalKeyType().getDimSize(2);
  auto blocks = [](int64_t len) {
    return ShapedType::isDynamic(len) ? len : llvm::divideCeil(len, AttentionOp::kMaskClassBlock);
  };
  auto oneOr = [](int64_t got, int64_t full) { return got == 1 || !staticMismatch(got, full); };
  if (!ct.getElementType().isInteger(32) || ct.getRank() != 4 || !oneOr(ct.getDimSize(0), qt.getDimSize(0)) ||
      !oneOr(ct.getDimSize(1), ot.getDimSize(1)) || staticMismatch(ct.getDimSize(2), blocks(qt.getDimSize(2))) ||
      staticMismatch(ct.getDimSize(3), blocks(lk)))
    return op.emitOpError() << "mask_classes: extra " << *c
                            << " must be an i32 [1 or B, 1 or H, ceil(Lq / " << AttentionOp::kMaskClassBlock
                            << "), ceil(Lk / " << AttentionOp::kMaskClassBlock << ")], got " << ct;
  return success();
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyMaskClasses(*this)))
    return failure();
  if (failed(verifyTableBounds(*this)))
    return failure();
  if (KVPagesAttr pages = getKvPagesAttr()) {
    if (failed(verifyExtraInput(pages.getTable(), 2, true, "kv_pages table")))
      return failure();
    auto kp = cast<RankedTensorType>(getKey().getType());
    auto vp = cast<RankedTensorType>(getValue().getType());
    if (kp.getRank() == 4 && vp.getRank() == 4 &&
        (staticMismatch(kp.getDimSize(0), vp.getDimSize(0)) ||
         staticMismatch(kp.getDimSize(pages.rowAxis()), vp.getDimSize(pages.rowAxis()))))
      return emitOpError("kv_pages: the key and value pools must have the same pages");
  }
  if (ContextShardAttr shard = getContextShardAttr()) {
    if (failed(verifyExtraInput(shard.getOffsets(), 1, true, "context_shard offsets")))
      return failure();
    auto off = cast<RankedTensorType>(getExtras()[shard.getOffsets()].getType());
    if (staticMismatch(off.getDimSize(0), 2))
      return emitOpError("context_shard offsets must be [2] (query and key offset)");
    if (shard.getQStride() < 1 || shard.getKStride() < 1 || shard.getQParts() < 1 ||
        shard.getKParts() < 1)
      return emitOpError("context_shard strides and parts must be positive");
    if (std::string why = contextShardRefusal(); !why.empty())
      return emitOpError("cannot be computed in shards (context parallelism): ") << why;
  }
  auto q = cast<RankedTensorType>(getQuery().getType());
  auto k = getLogicalKeyType();
  auto v = getLogicalValueType();
  auto o = cast<RankedTensorType>(getResult().getType());
  if (Value lse = getLse()) {
    auto lt = cast<RankedTensorType>(lse.getType());
    if (lt.getRank() != 3 || !lt.getElementType().isF32() ||
        staticMismatch(lt.getDimSize(0), o.getDimSize(0)) ||
        staticMismatch(lt.getDimSize(1), o.getDimSize(1)) ||
        staticMismatch(lt.getDimSize(2), o.getDimSize(2)))
      return emitOpError("lse must be f32 [B, H, Lq], the result's first three dims");
  }
  for (auto [name, t] : {std::pair<const char *, RankedTensorType>{"query", q},
                         {"key", k}, {"value", v}, {"result", o}}) {
    if (t.getRank() != 4)
      return emitOpError() << name << " must be [B, H, L, D], got rank "
                           << t.getRank();
    if (!isa<FloatType>(t.getElementType()))
      return emitOpError() << name << " must have a float element type";
  }
  if (q.getElementType() != k.getElementType() ||
      q.getElementType() != v.getElementType() ||
      q.getElementType() != o.getElementType())
    return emitOpError("query, key, value and result must share an element type");
  if (staticMismatch(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError() << "query head dim (" << q.getDimSize(3)
                         << ") differs from key head dim (" << k.getDimSize(3)
                         << ")";
  if (staticMismatch(k.getDimSize(2), v.getDimSize(2)))
    return emitOpError() << "key length (" << k.getDimSize(2)
                         << ") differs from value length (" << v.getDimSize(2)
                         << ")";
  if (staticMismatch(k.getDimSize(1), v.getDimSize(1)))
    return emitOpError() << "key heads (" << k.getDimSize(1)
                         << ") differ from value heads (" << v.getDimSize(1)
                         << ")";
  for (auto t : {k, v, o})
    if (staticMismatch(q.getDimSize(0), t.getDimSize(0)))
      return emitOpError() << "batch sizes differ (" << extent(q.getDimSize(0))
                           << " vs " << extent(t.getDimSize(0)) << ")";
  if (staticMismatch(o.getDimSize(2), q.getDimSize(2)) ||
      staticMismatch(o.getDimSize(3), v.getDimSize(3)))
    return emitOpError("result must be [B, H, Lq, Dv]");
  int64_t h = o.getDimSize(1), hq = q.getDimSize(1), hk = k.getDimSize(1);
  if (!ShapedType::isDynamic(h)) {
    for (auto [name, n] : {std::pair<const char *, int64_t>{"query", hq},
                           {"key/value", hk}})
      if (!ShapedType::isDynamic(n) && (n <= 0 || h % n != 0))
        return emitOpError() << name << " heads (" << n
                             << ") must divide the result heads (" << h << ")";
    if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hk) &&
        h != std::max(hq, hk))
      return emitOpError() << "result heads (" << h
                           << ") must be max(query heads, key heads) = "
                           << std::max(hq, hk);
  }

  // The link's and the anchor's own parameters are checked by their
  // attributes; what is left involves both, or other operands.
  Link link = getLinkKind();
  Anchor anchor = getAnchorKind();
  if (isSignedLink(link) && !getWeightsSigned())
    return emitOpError() << "link '" << stringifyLink(link)
                         << "' can give negative weights; declare "
                            "`weights signed` if that is intended";
  if (isSignedLink(link) && (anchor == Anchor::row || anchor == Anchor::sinkhorn))
    return emitOpError() << "signed link '" << stringifyLink(link)
                         << "' under a '" << stringifyAnchor(anchor)
                         << "' anchor: row sums of signed weights can vanish; "
                            "use anchor row_abs or none";
  if (static_cast<int64_t>(getSplitKv()) < 0)
    return emitOpError("split_kv chunk must be positive");
  // Partials over key chunks merge for every link under the anchors none,
  // row and row_abs; Sinkhorn normalises columns across all chunks, and a
  // score convolution reads scores across a chunk's edge.
  if (getSplitKv() > 0 && (anchor == Anchor::sinkhorn || getScoreConv()))
    return emitOpError("split_kv needs an anchor whose partials merge (none, "
                       "row or row_abs; not sinkhorn) and no score convolution");

  if (auto idx = getAnchor().getNullExtra())
    if (failed(verifyExtraInput(*idx, 1, false, "anchor null_extra")))
      return failure();
  if (auto conv = getScoreConvAttr()) {
    if (conv.getQueries() < 1 || conv.getKeys() < 1)
      return emitOpError("score_conv sizes must be positive");
    // Each (query, key) offset is one term of every score: keep it a stencil.
    if (conv.getQueries() * conv.getKeys() > 4096)
      return emitOpError() << "score_conv of " << conv.getQueries() << " x " << conv.getKeys()
                           << " offsets is too large (at most 4096 terms per score)";
    if (failed(verifyExtraInput(conv.getWeight(), 3, false, "score_conv weight")))
      return failure();
  }
  for (Attribute a : getCarrier()) {
    auto family = dyn_cast<CarrierFamilyAttrInterface>(a);
    if (!family)
      return emitOpError() << "carrier entry " << a << " is not a carrier family";
    if (failed(family.verifyCarrier(*this)))
      return failure();
  }
  return success();
}

LogicalResult AttentionOp::verifyExtraInput(int64_t idx, int64_t rank, bool integer,
                                            StringRef what) {
  auto extras = getExtras();
  if (idx < 0 || idx >= (int64_t)extras.size())
    return emitOpError() << what << " names extra input #" << idx
                         << " but there are " << extras.size();
  auto t = cast<RankedTensorType>(extras[idx].getType());
  if (t.getRank() != rank)
    return emitOpError() << what << " (extra #" << idx << ") must have rank "
                         << rank << ", got " << t.getRank();
  if (integer != t.getElementType().isIntOrIndex())
    return emitOpError() << what << " (extra #" << idx << ") must have "
                         << (integer ? "an integer" : "a float")
                         << " element type";
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  // Score arithmetic runs in f64 for f64 tensors and in f32 otherwise (the
  // 16-bit types only store Q, K, V and O).
  Type resultElem = cast<RankedTensorType>(getResult().getType()).getElementType();
  Type elem = resultElem.isF64() ? (Type)Float64Type::get(getContext())
                                 : (Type)Float32Type::get(getContext());
  auto indexTy = IndexType::get(getContext());
  auto checkRegion = [&](Region &r, StringRef name, ArrayRef<Type> args,
                         Type yielded) -> LogicalResult {
    if (r.empty())
      return success();
    if (!r.hasOneBlock())
      return emitOpError() << name << " region must have one block";
    Block &b = r.front();
    if (b.getArgumentTypes() != TypeRange(args))
      return emitOpError() << name << " region must take " << args.size()
                           << " arguments (" << (name == "score" ? "s, " : "")
                           << "b, h, i, j)";
    auto y = dyn_cast<YieldOp>(b.getTerminator());
    if (!y || y.getValues().size() != 1 || y.getValues()[0].getType() != yielded)
      return emitOpError() << name << " region must yield one " << yielded;
    return success();
  };
  if (failed(checkRegion(getMask(), "mask", {indexTy, indexTy, indexTy, indexTy},
                         IntegerType::get(getContext(), 1))) ||
      failed(checkRegion(getScore(), "score",
                         {elem, indexTy, indexTy, indexTy, indexTy}, elem)))
    return failure();
  // Regions read extra inputs from above; they must be declared operands so
  // that backends know every tensor the variant reads.
  llvm::SmallPtrSet<Value, 8> declared(getExtras().begin(), getExtras().end());
  Operation *self = getOperation();
  WalkResult res = self->walk([&](Operation *inner) {
    if (inner == self)
      return WalkResult::advance();
    for (Value operand : inner->getOperands()) {
      if (!isa<RankedTensorType>(operand.getType()))
        continue;
      if (self->isAncestor(operand.getParentRegion()->getParentOp()))
        continue;
      if (!declared.contains(operand)) {
        inner->emitOpError("reads a tensor from outside the attention that is "
                           "not listed in its extras");
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(res.wasInterrupted());
}

int64_t AttentionOp::getKVPassCount() {
  // Softmax: one pass with online rescaling (the (max, sum, acc) merge).
  // Other row anchors and anchor none: one pass, nothing to rescale.
  // Sinkhorn: each iteration needs the completed row sums before the column
  // sums (2 passes), then one pass to apply the plan to V.
  if (getAnchorKind() == Anchor::sinkhorn)
    return 2 * *getAnchor().getIterations() + 1;
  return 1;
}

//===----------------------------------------------------------------------===//
// Carrier families (CarrierFamilyAttrInterface): each checked against the op
//===----------------------------------------------------------------------===//

LogicalResult CausalAttr::verifyCarrier(AttentionOp &) const { return success(); }

LogicalResult WindowAttr::verifyCarrier(AttentionOp &op) const {
  // A window wider than the key axis is fine: it keeps every key it reaches.
  if (getLeft() < 0 || getSinks() < 0)
    return op.emitOpError("window left and sinks must be >= 0");
  return success();
}

LogicalResult DocumentAttr::verifyCarrier(AttentionOp &op) const {
  if (failed(op.verifyExtraInput(getSeqlens(), 1, true, "document seqlens")))
    return failure();
  // One set of cumulative lengths numbers both queries and keys: the
  // documents are packed self-attention.
  int64_t lq = queryLength(op), lk = keyLength(op);
  if (staticMismatch(lq, lk))
    return op.emitOpError() << "document carrier packs queries and keys with one seqlens, so "
                               "the query length ("
                            << lq << ") must equal the key length (" << lk << ")";
  return success();
}

LogicalResult LengthsAttr::verifyCarrier(AttentionOp &op) const {
  if (failed(op.verifyExtraInput(getKv(), 1, true, "lengths kv")))
    return failure();
  int64_t n = cast<RankedTensorType>(op.getExtras()[getKv()].getType()).getDimSize(0);
  int64_t b = cast<RankedTensorType>(op.getQuery().getType()).getDimSize(0);
  if (staticMismatch(n, b))
    return op.emitOpError() << "lengths kv has " << n << " entries but the batch is " << b;
  return success();
}

LogicalResult PrefixAttr::verifyCarrier(AttentionOp &op) const {
  if (getLength() < 0)
    return op.emitOpError("prefix length must be >= 0");
  return success();
}

LogicalResult NeighborhoodAttr::verifyCarrier(AttentionOp &op) const {
  int64_t tokens = 1;
  for (int64_t g : getGrid())
    if (g < 1 || llvm::MulOverflow(tokens, g, tokens))
      return op.emitOpError() << "neighborhood grid extents must be positive and their "
                                 "product must fit in 64 bits";
  for (auto [name, len] : {std::pair<const char *, int64_t>{"query", queryLength(op)},
                           {"key", keyLength(op)}})
    if (!ShapedType::isDynamic(len) && len != tokens)
      return op.emitOpError() << "neighborhood grid has " << tokens << " tokens but the "
                              << name << " length is " << len;
  return success();
}

LogicalResult BlockListAttr::verifyCarrier(AttentionOp &op) const {
  if (getQBlock() < 1 || getKBlock() < 1)
    return op.emitOpError("block_list block sizes must be positive");
  if (getTileMask() >= 0) {
    if (!fitsTileMask())
      return op.emitOpError() << "block_list(q_block = " << getQBlock() << ", k_block = "
                              << getKBlock() << ") does not fit a tile_mask";
    if (failed(op.verifyExtraInput(getTileMask(), 4, true, "block_list tile_mask")))
      return failure();
    auto maskT = cast<RankedTensorType>(op.getExtras()[getTileMask()].getType());
    if (!maskT.getElementType().isInteger(64))
      return op.emitOpError("block_list tile_mask must be i64");
    // [B, H] of the offsets, then the 128-tiles of Lq and Lk.
    auto offT = cast<RankedTensorType>(op.getExtras()[getOffsets()].getType());
    int64_t lq = queryLength(op), lk = keyLength(op);
    auto tiles = [](int64_t n) {
      return ShapedType::isDynamic(n) ? n : (n + BlockListAttr::kMaskTile - 1) / BlockListAttr::kMaskTile;
    };
    int64_t want[4] = {offT.getRank() > 0 ? offT.getDimSize(0) : ShapedType::kDynamic,
                       offT.getRank() > 1 ? offT.getDimSize(1) : ShapedType::kDynamic, tiles(lq),
                       tiles(lk)};
    for (int d = 0; d < 4; ++d)
      if (!ShapedType::isDynamic(want[d]) && !maskT.isDynamicDim(d) &&
          maskT.getDimSize(d) != want[d])
        return op.emitOpError() << "block_list tile_mask dim " << d << " is "
                                << maskT.getDimSize(d) << ", expected " << want[d];
  }
  if (getCounted())
    return failure(failed(op.verifyExtraInput(getOffsets(), 3, true, "block_list counts")) ||
                   failed(op.verifyExtraInput(getIndices(), 4, true, "block_list indices")));
  if (failed(op.verifyExtraInput(getOffsets(), 3, true, "block_list offsets")) ||
      failed(op.verifyExtraInput(getIndices(), 3, true, "block_list indices")))
    return failure();
  return success();
}

/// The parameters of a block selection, wherever it sits; `emit` reports.
static LogicalResult verifyBlockSelect(BlockSelectAttr sel,
                                       llvm::function_ref<InFlightDiagnostic()> emit) {
  if (sel.getQBlock() < 1 || sel.getKBlock() < 1)
    return emit() << "block_select block sizes must be positive";
  if (sel.getStride() < 1)
    return emit() << "block_select stride must be positive";
  if (sel.getPool() == BlockPool::antidiagonal &&
      (sel.getQBlock() % sel.getStride() || sel.getKBlock() % sel.getStride()))
    return emit() << "block_select antidiagonal stride " << sel.getStride()
                  << " must divide q_block (" << sel.getQBlock() << ") and k_block ("
                  << sel.getKBlock() << ")";
  bool topK = sel.getTopK() > 0;
  FloatAttr thr = sel.getThreshold();
  if (topK == (bool)thr)
    return emit() << "block_select needs exactly one of top_k (> 0) and threshold";
  if (thr && !(thr.getValueAsDouble() > 0.0 && thr.getValueAsDouble() <= 1.0))
    return emit() << "block_select threshold must be in (0, 1], got " << thr.getValueAsDouble();
  return success();
}

LogicalResult BlockSelectAttr::verifyCarrier(AttentionOp &op) const {
  if (op.getKvPagesAttr())
    return op.emitOpError("block_select estimates from the keys and cannot read a paged cache");
  if (failed(verifyBlockSelect(*this, [&] { return op.emitOpError(); })))
    return failure();
  // The selection becomes a block list: one list per attention, and scores
  // it could not see would make the estimate meaningless.
  int64_t selects = 0;
  for (Attribute a : op.getCarrier()) {
    selects += isa<BlockSelectAttr>(a);
    if (isa<BlockListAttr>(a))
      return op.emitOpError("block_select cannot be combined with block_list (both choose the "
                            "key blocks)");
  }
  if (selects > 1)
    return op.emitOpError("at most one block_select carrier per attention");
  return success();
}

LogicalResult SelectBlocksOp::verify() {
  if (failed(verifyBlockSelect(getSelect(), [&] { return emitOpError(); })))
    return failure();
  auto qt = cast<RankedTensorType>(getQuery().getType());
  auto kt = cast<RankedTensorType>(getKey().getType());
  auto ct = cast<RankedTensorType>(getCounts().getType());
  auto it = cast<RankedTensorType>(getIndices().getType());
  if (qt.getRank() != 4 || kt.getRank() != 4)
    return emitOpError("query and key must be [B, H, L, D]");
  if (staticMismatch(qt.getDimSize(0), kt.getDimSize(0)) ||
      staticMismatch(qt.getDimSize(3), kt.getDimSize(3)))
    return emitOpError("query and key must share B and the head dim D");
  // Output heads as in attn.attention: H = max(Hq, Hk), both dividing it.
  int64_t hq = qt.getDimSize(1), hk = kt.getDimSize(1), h = cast<RankedTensorType>(
                                                                  getCounts().getType())
                                                                  .getDimSize(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hk) &&
      (staticMismatch(h, std::max(hq, hk)) || std::max(hq, hk) % hq || std::max(hq, hk) % hk))
    return emitOpError() << "results must have max(Hq, Hk) heads, each dividing it (Hq = " << hq
                         << ", Hk = " << hk << ", results " << extent(h) << ")";
  if (ct.getRank() != 3 || it.getRank() != 4 || !ct.getElementType().isInteger(32) ||
      !it.getElementType().isInteger(32))
    return emitOpError("results must be i32 counts [B, H, NQB] and indices [B, H, NQB, NKB]");
  for (Attribute a : getCarrier()) {
    if (!isa<CarrierFamilyAttrInterface>(a) || isa<BlockSelectAttr, BlockListAttr>(a))
      return emitOpError() << "carrier entry " << a << " is not a static carrier family";
    // The one static family that reads an extra.
    if (auto doc = dyn_cast<DocumentAttr>(a)) {
      int64_t n = doc.getSeqlens();
      auto t = n >= 0 && n < (int64_t)getExtras().size()
                   ? dyn_cast<RankedTensorType>(getExtras()[n].getType())
                   : RankedTensorType();
      if (!t || t.getRank() != 1 || !t.getElementType().isInteger())
        return emitOpError() << "document seqlens (extra #" << n
                             << ") must be an integer [N+1] extra";
    }
  }
  auto expect = [](int64_t len, int64_t block) {
    return ShapedType::isDynamic(len) ? ShapedType::kDynamic : llvm::divideCeil(len, block);
  };
  int64_t nqb = expect(qt.getDimSize(2), getSelect().getQBlock());
  int64_t nkb = expect(kt.getDimSize(2), getSelect().getKBlock());
  if (staticMismatch(ct.getDimSize(2), nqb) || staticMismatch(it.getDimSize(2), nqb) ||
      staticMismatch(it.getDimSize(3), nkb))
    return emitOpError() << "result shapes must have ceil(Lq/q_block) = " << nqb
                         << " query blocks and ceil(Lk/k_block) = " << nkb << " key blocks";
  return success();
}

//===----------------------------------------------------------------------===//
// Prologue transforms
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  auto t = cast<RankedTensorType>(getInput().getType());
  if (t.getRank() != 4)
    return emitOpError("rope input must be [B, H, L, D]");
  if (!ShapedType::isDynamic(t.getDimSize(3)) && t.getDimSize(3) % 2 != 0)
    return emitOpError() << "rope needs an even head dim, got "
                         << t.getDimSize(3);
  if (getTheta().convertToDouble() <= 0)
    return emitOpError("rope theta must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// Cascade ops
//===----------------------------------------------------------------------===//

LogicalResult EinsumOp::verify() {
  auto maps = getIndexingMaps().getAsValueRange<AffineMapAttr>();
  SmallVector<AffineMap> m(maps.begin(), maps.end());
  if (m.size() != getInputs().size() + 1)
    return emitOpError() << "expects " << getInputs().size() + 1
                         << " indexing maps (inputs, then output), got "
                         << m.size();
  unsigned dims = m.front().getNumDims();
  for (auto [idx, map] : llvm::enumerate(m)) {
    if (map.getNumDims() != dims || map.getNumSymbols() != 0)
      return emitOpError() << "indexing map #" << idx
                           << " must have " << dims << " dims and no symbols";
    int64_t rank = idx < getInputs().size()
                       ? cast<RankedTensorType>(getInputs()[idx].getType()).getRank()
                       : getResult().getType().getRank();
    if ((int64_t)map.getNumResults() != rank)
      return emitOpError() << "indexing map #" << idx << " has "
                           << map.getNumResults() << " results for rank "
                           << rank;
  }
  if (!m.back().isProjectedPermutation())
    return emitOpError("output map must be a projection of the iteration dims");
  return success();
}

LogicalResult MapOp::verify() {
  auto result = getResult().getType();
  if (getIndexingMaps().size() != getInputs().size())
    return emitOpError("expects one indexing map per input");
  for (auto [idx, attr] : llvm::enumerate(getIndexingMaps())) {
    AffineMap map = cast<AffineMapAttr>(attr).getValue();
    auto in = cast<RankedTensorType>(getInputs()[idx].getType());
    if ((int64_t)map.getNumDims() != result.getRank() ||
        (int64_t)map.getNumResults() != in.getRank())
      return emitOpError() << "indexing map #" << idx
                           << " must map the result's " << result.getRank()
                           << " dims to the input's " << in.getRank();
  }
  if (getSizes().size() != (size_t)result.getNumDynamicDims())
    return emitOpError() << "expects " << result.getNumDynamicDims()
                         << " sizes for the result's dynamic dims";
  return success();
}

LogicalResult MapOp::verifyRegions() {
  Block &b = getBody().front();
  auto result = getResult().getType();
  unsigned want = result.getRank() + getInputs().size();
  if (b.getNumArguments() != want)
    return emitOpError() << "body must take " << want
                         << " arguments (indices, then input elements)";
  for (unsigned d = 0; d < result.getRank(); ++d)
    if (!b.getArgument(d).getType().isIndex())
      return emitOpError() << "body argument #" << d << " must be an index";
  for (auto [idx, in] : llvm::enumerate(getInputs()))
    if (b.getArgument(result.getRank() + idx).getType() !=
        cast<RankedTensorType>(in.getType()).getElementType())
      return emitOpError() << "body argument #" << result.getRank() + idx
                           << " must have input #" << idx << "'s element type";
  auto y = cast<YieldOp>(b.getTerminator());
  if (y.getValues().size() != 1 ||
      y.getValues()[0].getType() != result.getElementType())
    return emitOpError() << "body must yield one " << result.getElementType();
  return success();
}

LogicalResult ReduceOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = getResult().getType();
  int64_t count = static_cast<int64_t>(getCount());
  if (count < 1 || count > in.getRank() ||
      out.getRank() != in.getRank() - count)
    return emitOpError() << "reducing " << getCount() << " trailing axes of rank "
                         << in.getRank() << " must give rank "
                         << in.getRank() - getCount();
  for (int64_t d = 0; d < out.getRank(); ++d)
    if (staticMismatch(in.getDimSize(d), out.getDimSize(d)))
      return emitOpError() << "result dim " << d << " must match the input";
  return success();
}

LogicalResult RowNormalizeOp::verify() {
  auto acc = cast<RankedTensorType>(getAcc().getType());
  auto denom = cast<RankedTensorType>(getDenom().getType());
  if (denom.getRank() + 1 != acc.getRank())
    return emitOpError("denominator must have one axis fewer than the accumulator");
  if (acc != getResult().getType())
    return emitOpError("result must have the accumulator's type");
  return success();
}

LogicalResult MergePartialsOp::verify() {
  auto m = cast<RankedTensorType>(getMax().getType());
  auto l = cast<RankedTensorType>(getSum().getType());
  auto acc = cast<RankedTensorType>(getAcc().getType());
  if (m != l || m.getRank() != 4 || acc.getRank() != 5 ||
      getResult().getType().getRank() != 4)
    return emitOpError("expects max, sum [B, H, Lq, N], acc [B, H, Lq, N, Dv] "
                       "and result [B, H, Lq, Dv]");
  return success();
}

#define GET_OP_CLASSES
#include "attnc/Dialect/Attn/AttnOps.cpp.inc"
