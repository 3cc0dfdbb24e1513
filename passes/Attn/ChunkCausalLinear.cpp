//===- ChunkCausalLinear.cpp - causal linear attention in chunks ---------===//
//
// Causal linear attention (identity link) sums (q_i . k_j) F(i - j) v_j over
// j <= i. Split the keys at the start a(i) of row i's chunk of C keys:
//
//   keys a(i) <= j <= i   the original attention, masked to its chunk (the
//                          band: C / 2 keys per row on average);
//   keys j < a(i)          F(i - a(i)) q_i . P_n with n = a(i) / C and
//                          P_n = sum_{j < nC} F(nC - j) k_j v_j^T [D, Dv],
//
// because F(i - j) = F(i - a) F(a - j) for an exponential decay F (or
// F = 1). P comes in two steps: each chunk's own state KVc_m (an attention
// of a tiled identity, row m D + d being e_d, against k and v, masked to
// chunk m and decayed to its end), then P_n = sum_{m < n} F((n - 1 - m) C)
// KVc_m (an einsum over chunk pairs). The rows are an attention of q
// against the tiled identity and P, masked to the row's chunk. So the GPU
// runs the contractions on the Hopper kernel with their tiles skipped by
// the masks: about Lq (C / 2 + D) + D Lk key visits instead of Lq Lk / 2,
// plus N^2 D Dv multiply-adds of the einsum (N = Lk / C). The chunk comes
// from a cost model of tiles, kernel items and that einsum. Only the GPU
// gains: the CPU visits every masked pair.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"
#include "LinearForms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/Support/Debug.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCHUNKCAUSALLINEAR
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

#define DEBUG_TYPE "attn-chunk-causal-linear"

namespace {

/// Rows and keys per tile of the Hopper kernel: chunks are whole tiles.
constexpr int64_t kTile = 128;

/// Whether `v` (in a score block) depends on the positions i and j only as a
/// homogeneous linear function of i - j, so that an exponential of it is
/// multiplicative: F(x + y) = F(x) F(y). `diffs` collects the subtractions.
bool linearInDiff(Value v, BlockArgument i, BlockArgument j, SmallVectorImpl<Operation *> &diffs);

/// Whether `v` reads neither i nor j.
bool invariant(Value v, BlockArgument i, BlockArgument j) {
  if (v == i || v == j)
    return false;
  Operation *op = v.getDefiningOp();
  if (!op || op->getBlock() != i.getOwner())
    return true;
  // A loop's body may read i or j without an operand saying so.
  if (op->getNumRegions())
    return false;
  return llvm::all_of(op->getOperands(), [&](Value x) { return invariant(x, i, j); });
}

bool linearInDiff(Value v, BlockArgument i, BlockArgument j, SmallVectorImpl<Operation *> &diffs) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (auto sub = dyn_cast<arith::SubIOp>(op)) {
    bool ij = (sub.getLhs() == i && sub.getRhs() == j) || (sub.getLhs() == j && sub.getRhs() == i);
    if (ij)
      diffs.push_back(op);
    return ij;
  }
  if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::SIToFPOp, arith::NegFOp, arith::ExtFOp>(op))
    return linearInDiff(op->getOperand(0), i, j, diffs);
  if (isa<arith::MulFOp, arith::MulIOp>(op)) {
    Value a = op->getOperand(0), b = op->getOperand(1);
    if (invariant(a, i, j))
      return linearInDiff(b, i, j, diffs);
    return invariant(b, i, j) && linearInDiff(a, i, j, diffs);
  }
  if (auto d = dyn_cast<arith::DivFOp>(op))
    return invariant(d.getRhs(), i, j) && linearInDiff(d.getLhs(), i, j, diffs);
  return false;
}

/// Why the score region is not s * F(i - j) with F exponential, or "".
std::string decayRefusal(Block &score) {
  BlockArgument s = score.getArgument(0), i = score.getArgument(3), j = score.getArgument(4);
  auto yield = cast<YieldOp>(score.getTerminator());
  auto mul = yield.getValues()[0].getDefiningOp<arith::MulFOp>();
  Value factor = !mul ? Value() : mul.getLhs() == s ? mul.getRhs() : mul.getRhs() == s ? mul.getLhs() : Value();
  if (!factor || !s.hasOneUse())
    return "the score is not s times a factor";
  SmallVector<Operation *> diffs;
  Operation *f = factor.getDefiningOp();
  bool exponential = false;
  if (auto p = dyn_cast_or_null<math::PowFOp>(f))
    exponential = invariant(p.getLhs(), i, j) && linearInDiff(p.getRhs(), i, j, diffs);
  else if (isa_and_nonnull<math::ExpOp, math::Exp2Op>(f))
    exponential = linearInDiff(f->getOperand(0), i, j, diffs);
  if (!exponential)
    return "the score's factor is not an exponential of i - j (a decay)";
  // i and j reach the score only through those differences.
  for (BlockArgument x : {i, j})
    for (Operation *user : x.getUsers())
      if (!llvm::is_contained(diffs, user))
        return "the score reads i or j outside the decay";
  return "";
}

struct Shape {
  int64_t lq, lk, d, dv, off;
};

/// A kernel item's fixed cost (its Q load, pipeline fill and drain,
/// epilogue) in tiles: short items cost about 7 us beside 2.5 us per tile
/// (bench/NOTES.md).
constexpr double kItemTiles = 3;

/// The states before each chunk are a generic step (an einsum over chunk
/// pairs, N^2 D Dv multiply-adds) that ran about 100 times slower per
/// multiply-add than the kernel's tiles (bench/NOTES.md).
constexpr double kGenericSlowdown = 100;

int64_t tilesOf(int64_t n) { return (n + kTile - 1) / kTile; }

/// Tiles (with their items' fixed cost) that the chunked form visits with
/// chunks of `c` keys: the band, the chunk states, the rows through them,
/// and the prefix over chunks in tile equivalents.
double chunkedTiles(const Shape &s, int64_t c) {
  int64_t n = (s.lk + c - 1) / c;
  double band = tilesOf(s.lq) * ((c / kTile + 1) / 2.0 + kItemTiles);
  double states = tilesOf(n * s.d) * (c / kTile + kItemTiles);
  double rows = tilesOf(s.lq) * (tilesOf(s.d) + kItemTiles);
  double prefix = kGenericSlowdown * double(n) * n * s.d * s.dv / (double(kTile) * kTile * (s.d + s.dv));
  return band + states + rows + prefix;
}

/// The chunk (whole tiles) with the fewest tiles, 0 when none beats the
/// causal form by `minWorkRatio`.
int64_t chooseChunk(const Shape &s, int64_t forced, double minWorkRatio) {
  if (forced > 0)
    return forced;
  double causal = tilesOf(s.lq) * ((s.off + s.lq / 2.0) / kTile + kItemTiles);
  int64_t best = 0;
  double bestTiles = 0;
  for (int64_t c = kTile; c < s.lk; c *= 2)
    if (double t = chunkedTiles(s, c); !best || t < bestTiles)
      best = c, bestTiles = t;
  return best && causal > minWorkRatio * bestTiles ? best : 0;
}

/// Why `op` is not rewritten, or "" when it is; fills `shape`.
std::string refusal(AttentionOp op, Shape &shape) {
  if (std::string why = linearAttentionRefusal(op); !why.empty())
    return why;
  Anchor anchor = op.getAnchorKind();
  if (op.getScoreConv() || op.getLse() || op.getSplitKv() != 0 || op.getKvPagesAttr() ||
      op.getContextShardAttr() || op.getTableBounds() || op.getMaskClasses())
    return "the op is already scheduled, or convolves its scores";
  if (op.getCarrier().size() != 1 || !isa<CausalAttr>(op.getCarrier()[0]))
    return "the carrier is not causal alone";
  if (!op.getScore().empty())
    if (std::string why = decayRefusal(op.getScore().front()); !why.empty())
      return why;
  if (!op.getMask().empty() && !op.getMask().front().getArgument(2).use_empty())
    return "the mask depends on the query row";
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  shape = {q.getDimSize(2), k.getDimSize(2), q.getDimSize(3), v.getDimSize(3), 0};
  if (ShapedType::isDynamic(shape.lq) || ShapedType::isDynamic(shape.lk) || ShapedType::isDynamic(shape.d) ||
      ShapedType::isDynamic(shape.dv))
    return "a length or head dim is dynamic";
  if (shape.lq > shape.lk)
    return "there are more queries than keys";
  if (cast<CausalAttr>(op.getCarrier()[0]).getAlign() == Align::bottom_right)
    shape.off = shape.lk - shape.lq;
  if (anchor == Anchor::row_abs)
    if (std::string why = nonnegativeWeightsRefusal(op); !why.empty())
      return why;
  return "";
}

/// Whether a region of `op` reads the head index.
bool readsHead(AttentionOp op) {
  auto reads = [](Region &r, unsigned arg) { return !r.empty() && !r.front().getArgument(arg).use_empty(); };
  return reads(op.getMask(), 1) || reads(op.getScore(), 2);
}

/// Fills `dst` (empty) with `keep(b, h, i, j) && src(b, h, i, j)`; src may
/// be empty.
void buildMask(Region &dst, Region &src, Location loc,
               llvm::function_ref<Value(IndexMath &, ValueRange)> keep) {
  Block *blk = new Block();
  dst.push_back(blk);
  for (int n = 0; n < 4; ++n)
    blk->addArgument(IndexType::get(loc.getContext()), loc);
  OpBuilder b = OpBuilder::atBlockBegin(blk);
  IndexMath m{b, loc};
  Value kept = keep(m, blk->getArguments());
  if (!src.empty()) {
    IRMapping map;
    map.map(src.front().getArguments(), blk->getArguments());
    for (Operation &o : src.front().without_terminator())
      b.clone(o, map);
    Value old = map.lookup(cast<YieldOp>(src.front().getTerminator()).getValues()[0]);
    kept = m.land(kept, old);
  }
  YieldOp::create(b, loc, kept);
}

/// Fills `dst` (empty) with the score region `src` whose position `which`
/// (3: i, 4: j) is replaced by `at(i of the new block)`.
void buildScore(Region &dst, Region &src, unsigned which, llvm::function_ref<Value(IndexMath &, Value)> at) {
  if (src.empty())
    return;
  Block &old = src.front();
  Block *blk = new Block();
  dst.push_back(blk);
  for (BlockArgument a : old.getArguments())
    blk->addArgument(a.getType(), a.getLoc());
  OpBuilder b = OpBuilder::atBlockBegin(blk);
  IndexMath m{b, old.getTerminator()->getLoc()};
  IRMapping map;
  map.map(old.getArguments(), blk->getArguments());
  map.map(old.getArgument(which), at(m, blk->getArgument(3)));
  for (Operation &o : old)
    b.clone(o, map);
}

class Chunker {
public:
  Chunker(AttentionOp op, const Shape &shape, int64_t chunk)
      : op(op), b(op), loc(op.getLoc()), cb(b, loc), s(shape), c(chunk), n((shape.lk + chunk - 1) / chunk) {}

  void run();

private:
  /// Keys before the chunk of a row: a(i) = ((i + off) / C) C.
  Value chunkStart(IndexMath &m, Value i) { return m.mul(m.fdiv(m.add(i, s.off), c), c); }
  /// [B, heads, N D, D] with row n D + d equal to e_d.
  Value tiledIdentity(OpFoldResult heads);
  /// The original attention restricted to a(i) <= j, of `values`.
  Value band(Value values);
  /// [1 or B, 1 or Hs, N, N]: F((n - 1 - m) C) where m < n, else 0.
  Value chunkDecays();
  /// sum over j < a(i) of the weights times `values`, through the chunk states.
  Value earlierChunks(Value values, Value eyeQ, Value eyeK);

  AttentionOp op;
  OpBuilder b;
  Location loc;
  CascadeBuilder cb;
  Shape s;
  int64_t c, n;
  OpFoldResult statesHeads;
};

Value Chunker::tiledIdentity(OpFoldResult heads) {
  Type elem = cast<RankedTensorType>(op.getResult().getType()).getElementType();
  int64_t d = s.d;
  Value x = cb.map({cb.dim(op.getKey(), 0), heads, b.getIndexAttr(n * d), b.getIndexAttr(d)}, elem, {}, {},
                   [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) -> Value {
    IndexMath m{nb, nl};
    CascadeBuilder nc(nb, nl);
    return m.sel(m.eq(idx[3], m.rem(idx[2], d)), nc.f(elem, 1.0), nc.f(elem, 0.0));
  });
  nameLinearStep(x, "a tiled identity (causal linear attention in chunks)");
  return x;
}

Value Chunker::band(Value values) {
  auto resultTy = cast<RankedTensorType>(op.getResult().getType());
  auto ty = RankedTensorType::get({resultTy.getDimSize(0), resultTy.getDimSize(1), resultTy.getDimSize(2),
                                   cast<RankedTensorType>(values.getType()).getDimSize(3)},
                                  resultTy.getElementType());
  AttentionOp x = buildLinearProducts(b, loc, ty, op.getQuery(), op.getKey(), values, op.getExtras(),
                                      op.getCarrier(), op.getScaleAttr(), 0);
  buildMask(x.getMask(), op.getMask(), loc,
            [&](IndexMath &m, ValueRange a) { return m.le(chunkStart(m, a[2]), a[3]); });
  IRMapping none;
  op.getScore().cloneInto(&x.getScore(), none);
  nameLinearStep(x.getResult(), "the keys of a row's own chunk (causal linear attention in chunks)");
  return x.getResult();
}

Value Chunker::chunkDecays() {
  Type elem = cast<RankedTensorType>(op.getResult().getType()).getElementType();
  Region &score = op.getScore();
  auto reads = [&](unsigned arg) { return !score.empty() && !score.front().getArgument(arg).use_empty(); };
  bool perBatch = reads(1), perHead = reads(2);
  OpFoldResult one = b.getIndexAttr(1);
  Value t = cb.map({perBatch ? cb.dim(op.getKey(), 0) : one, perHead ? statesHeads : one, b.getIndexAttr(n),
                    b.getIndexAttr(n)}, elem, {}, {},
                   [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) -> Value {
    IndexMath m{nb, nl};
    CascadeBuilder nc(nb, nl);
    Value decay;
    if (score.empty()) {
      decay = nc.f(elem, 1.0);
    } else {
      // The score region at s = 1, i = nC, j = (m + 1) C: F((n - 1 - m) C).
      Block &blk = score.front();
      IRMapping map;
      map.map(blk.getArgument(0), nc.f(blk.getArgument(0).getType(), 1.0));
      map.map(blk.getArgument(1), idx[0]);
      map.map(blk.getArgument(2), idx[1]);
      map.map(blk.getArgument(3), m.mul(idx[2], c));
      map.map(blk.getArgument(4), m.mul(m.add(idx[3], 1), c));
      for (Operation &o : blk.without_terminator())
        nb.clone(o, map);
      decay = map.lookup(cast<YieldOp>(blk.getTerminator()).getValues()[0]);
      if (decay.getType() != elem)
        decay = elem.getIntOrFloatBitWidth() < decay.getType().getIntOrFloatBitWidth()
                    ? arith::TruncFOp::create(nb, nl, elem, decay).getResult()
                    : arith::ExtFOp::create(nb, nl, elem, decay).getResult();
    }
    return m.sel(m.lt(idx[3], idx[2]), decay, nc.f(elem, 0.0));
  });
  nameLinearStep(t, "the decays between chunk ends (causal linear attention in chunks)");
  return t;
}

Value Chunker::earlierChunks(Value values, Value eyeQ, Value eyeK) {
  Type elem = cast<RankedTensorType>(op.getResult().getType()).getElementType();
  MLIRContext *ctx = b.getContext();
  OpFoldResult dv = cb.dim(values, 3), batch = cb.dim(op.getKey(), 0), rowsOfStates = b.getIndexAttr(n * s.d);
  int64_t d = s.d;
  // KVc: row m D + d sums k_j[d] v_j F((m + 1) C - j) over chunk m's keys.
  AttentionOp chunkStates = buildLinearProducts(b, loc, cb.tensorType({batch, statesHeads, rowsOfStates, dv}, elem),
                                                eyeQ, op.getKey(), values, op.getExtras(), b.getArrayAttr({}),
                                                b.getF64FloatAttr(1.0), 0);
  buildMask(chunkStates.getMask(), op.getMask(), loc,
            [&](IndexMath &m, ValueRange a) { return m.eq(m.fdiv(a[3], c), m.fdiv(a[2], d)); });
  buildScore(chunkStates.getScore(), op.getScore(), 3,
             [&](IndexMath &m, Value r) { return m.mul(m.add(m.fdiv(r, d), 1), c); });
  nameLinearStep(chunkStates.getResult(), "the chunk states (causal linear attention in chunks)");
  // P_n = sum_{m < n} F((n - 1 - m) C) KVc_m over iteration dims (b, h, r, m, e), r = n D + d.
  Value decays = chunkDecays();
  auto decaysTy = cast<RankedTensorType>(decays.getType());
  AffineExpr db = getAffineDimExpr(0, ctx), dh = getAffineDimExpr(1, ctx), dr = getAffineDimExpr(2, ctx),
             dm = getAffineDimExpr(3, ctx), de = getAffineDimExpr(4, ctx), zero = getAffineConstantExpr(0, ctx);
  AffineMap onDecays = AffineMap::get(5, 0, {decaysTy.getDimSize(0) == 1 ? zero : db,
                                             decaysTy.getDimSize(1) == 1 ? zero : dh, dr.floorDiv(d), dm}, ctx);
  AffineMap onStates = AffineMap::get(5, 0, {db, dh, dm * d + dr % d, de}, ctx);
  AffineMap out = AffineMap::get(5, 0, {db, dh, dr, de}, ctx);
  Value prefix = cb.einsum({decays, chunkStates.getResult()}, {onDecays, onStates, out},
                           {batch, statesHeads, rowsOfStates, dv}, elem);
  nameLinearStep(prefix, "the states before each chunk (causal linear attention in chunks)");
  // q_i . P_{a(i) / C} F(i - a(i)).
  auto resultTy = cast<RankedTensorType>(op.getResult().getType());
  auto ty = RankedTensorType::get({resultTy.getDimSize(0), resultTy.getDimSize(1), resultTy.getDimSize(2),
                                   cast<RankedTensorType>(values.getType()).getDimSize(3)}, elem);
  AttentionOp rows = buildLinearProducts(b, loc, ty, op.getQuery(), eyeK, prefix, op.getExtras(),
                                         b.getArrayAttr({}), op.getScaleAttr(), 0);
  Region none;
  buildMask(rows.getMask(), none, loc, [&](IndexMath &m, ValueRange a) {
    return m.eq(m.fdiv(a[3], d), m.fdiv(m.add(a[2], s.off), c));
  });
  buildScore(rows.getScore(), op.getScore(), 4, [&](IndexMath &m, Value i) { return chunkStart(m, i); });
  nameLinearStep(rows.getResult(), "the earlier chunks through their states (causal linear attention in chunks)");
  return rows.getResult();
}

void Chunker::run() {
  Type elem = cast<RankedTensorType>(op.getResult().getType()).getElementType();
  auto kTy = cast<RankedTensorType>(op.getKey().getType());
  auto oTy = cast<RankedTensorType>(op.getResult().getType());
  // One state per KV head, unless a region tells the query heads of a KV
  // head apart (a per-head decay under GQA).
  bool perQueryHead = readsHead(op) && kTy.getDimSize(1) != oTy.getDimSize(1);
  statesHeads = perQueryHead ? cb.dim(op.getResult(), 1) : cb.dim(op.getKey(), 1);
  Value eyeQ = tiledIdentity(perQueryHead ? statesHeads : OpFoldResult(b.getIndexAttr(1)));
  Value eyeK = tiledIdentity(statesHeads);
  auto sum = [&](Value x, Value y, StringRef why) {
    Value r = cb.mapSame({x, y}, elem, [](OpBuilder &nb, Location nl, ValueRange, ValueRange e) -> Value {
      return arith::AddFOp::create(nb, nl, e[0], e[1]);
    });
    nameLinearStep(r, why);
    return r;
  };
  Value num = sum(band(op.getValue()), earlierChunks(op.getValue(), eyeQ, eyeK),
                  "own chunk plus earlier chunks (causal linear attention in chunks)");
  Value result = num;
  if (op.getAnchorKind() == Anchor::row_abs) {
    Value ones = cb.map({cb.dim(op.getKey(), 0), cb.dim(op.getKey(), 1), cb.dim(op.getKey(), 2),
                         b.getIndexAttr(kSumColumns)}, elem, {}, {},
                        [&](OpBuilder &nb, Location nl, ValueRange, ValueRange) -> Value {
      return CascadeBuilder(nb, nl).f(elem, 1.0);
    });
    nameLinearStep(ones, "ones (linear attention's row sums)");
    Value den = sum(band(ones), earlierChunks(ones, eyeQ, eyeK), "row sums of own and earlier chunks");
    result = divideByRowSums(b, loc, num, den, "the row_abs normalisation of causal linear attention in chunks");
  }
  op.getResult().replaceAllUsesWith(result);
  op.erase();
}

struct AttnChunkCausalLinearPass : public attnc::impl::AttnChunkCausalLinearBase<AttnChunkCausalLinearPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<std::tuple<AttentionOp, Shape, int64_t>> ops;
    getOperation().walk([&](AttentionOp op) {
      Shape shape{};
      std::string why = refusal(op, shape);
      int64_t c = why.empty() ? chooseChunk(shape, chunk, minWorkRatio) : 0;
      if (why.empty() && !c)
        why = "the causal form is cheaper at these sizes";
      LLVM_DEBUG(llvm::dbgs() << "attn-chunk-causal-linear: " << op.getLoc() << ": "
                              << (why.empty() ? "chunks of " + std::to_string(c) : why) << "\n");
      if (why.empty())
        ops.emplace_back(op, shape, c);
    });
    for (auto [op, shape, c] : ops)
      Chunker(op, shape, c).run();
  }
};

} // namespace
