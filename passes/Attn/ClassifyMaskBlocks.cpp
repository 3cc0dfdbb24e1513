//===- ClassifyMaskBlocks.cpp - a mask's block classes computed on the GPU ===//
//
// A mask that interval evaluation cannot bound over a tile (a table indexed
// by i and j, float math on positions, a loop) would run on every tile with
// the per-element predicate. As FlexAttention's create_block_mask does, the
// predicate itself is evaluated once per launch over blocks of 128 x 128
// pairs (generic steps before the kernel); the result drives the kernel two
// ways: as a counted block list of the blocks with a kept pair (the kernel
// visits only those), and as mask_classes, so that a tile inside a block
// whose pairs are all kept runs without the predicate. A mask that interval
// evaluation bounds only through its tables' block summaries (document or
// segment ids compared at i and j) is classified too: the kernel would
// otherwise bound every key tile of a row's range through table reads to
// find the few it keeps. So is one that wraps around the sequence
// (maskWrapsOverTiles). The classification itself bounds each group of
// rows of a block by interval evaluation first, then each row, and scans
// keys only where that leaves a row undecided.
//
//===----------------------------------------------------------------------===//
#include "attnc/Passes/Passes.h"
#include "attnc/Analysis/MaskBounds.h"
#include "attnc/Dialect/Attn/AttnDialect.h"
#include "attnc/Dialect/Attn/CascadeBuilder.h"
#include "attnc/Dialect/Attn/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNCLASSIFYMASKBLOCKS
#include "attnc/Passes/Passes.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {

constexpr int64_t T = AttentionOp::kMaskClassBlock;

/// Attentions whose tiles already come from a list, or whose positions the
/// kernel remaps (paged keys, shards, split keys), are left to their own
/// schedules. Sizes may be run-time values (the steps are sized from them).
bool eligible(AttentionOp op) {
  if (op.getMask().empty() || op.getMaskClasses() || op.getKvPages() || op.getContextShard() ||
      op.getSplitKv() != 0)
    return false;
  for (Attribute a : op.getCarrier())
    if (isa<BlockListAttr, BlockSelectAttr>(a))
      return false;
  return maskDefeatsTileBounds(op) || op.getTableBounds().has_value() || maskWrapsOverTiles(op);
}

Value valueOf(OpBuilder &b, Location loc, OpFoldResult v) { return getValueOrCreateConstantIndexOp(b, loc, v); }

/// An i32 constant (the classes' bit words).
Value c32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v).getResult();
}

Value named(Value v, StringRef why) {
  v.getDefiningOp()->setAttr(kStepReasonAttr, StringAttr::get(v.getContext(), why));
  return v;
}

/// Folds kept / dropped bits (1 = some pair kept, 2 = some dropped) over
/// positions from `start` while below `end` and until both are seen; `step`
/// gives the bits from a position and the next position.
using BitsStep = function_ref<std::pair<Value, Value>(OpBuilder &, Location, Value)>;
Value untilBothSeen(OpBuilder &b, Location loc, Value start, Value end, BitsStep step) {
  Type i32 = b.getI32Type();
  auto w = scf::WhileOp::create(
      b, loc, TypeRange{b.getIndexType(), i32}, ValueRange{start, c32(b, loc, 0)},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        IndexMath m{nb, nl};
        Value go = m.land(m.lt(a[0], end), arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne, a[1], c32(nb, nl, 3)));
        scf::ConditionOp::create(nb, nl, go, a);
      },
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        auto [bits, next] = step(nb, nl, a[0]);
        scf::YieldOp::create(nb, nl, ValueRange{next, arith::OrIOp::create(nb, nl, a[1], bits)});
      });
  return w.getResult(1);
}

/// Keys a row scan evaluates per step: independent predicates (table reads
/// among them) issued together.
constexpr int64_t kKeyUnroll = 4;

/// The keys [j0, j1) of row i themselves, kKeyUnroll keys per step.
Value scanRowBits(OpBuilder &b, Location loc, AttentionOp op, ValueRange bh, Value i, Value j0, Value j1) {
  return untilBothSeen(b, loc, j0, j1, [&](OpBuilder &nb, Location nl, Value j) {
    IndexMath m{nb, nl};
    Value bits = c32(nb, nl, 0);
    for (int64_t u = 0; u < kKeyUnroll; ++u) {
      // A key past the range repeats its last key (same bits).
      Value ju = m.min(m.add(j, u), m.sub(j1, m.c(1)));
      Value keep = inlineRegion(nb, op.getMask(), {bh[0], bh[1], i, ju});
      bits = arith::OrIOp::create(nb, nl, bits, m.sel(keep, c32(nb, nl, 1), c32(nb, nl, 2)));
    }
    return std::make_pair(bits, m.add(j, kKeyUnroll));
  });
}

/// Bits over rows [i0, i1] x keys [j0, j1) from interval evaluation (the
/// tables' summaries where the op has them), or from `undecided` where it
/// leaves them undecided.
Value boxBits(OpBuilder &b, Location loc, AttentionOp op, ValueRange bh, Value i0, Value i1, Value j0, Value j1,
              function_ref<Value(OpBuilder &, Location)> undecided) {
  Type i32 = b.getI32Type();
  IndexMath m{b, loc};
  CarrierAccess access(op.getExtras());
  MaskBox box = boundMaskOverBox(b, loc, op, access, bh[0], bh[1], i0, i1, j0, m.sub(j1, m.c(1)));
  Value decided = m.lor(box.must, arith::XOrIOp::create(b, loc, box.may, m.t()));
  auto ifDecided = scf::IfOp::create(b, loc, TypeRange{i32}, decided, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(ifDecided.thenBlock());
  scf::YieldOp::create(b, loc, ValueRange{m.sel(box.must, c32(b, loc, 1), c32(b, loc, 2))});
  b.setInsertionPointToStart(ifDecided.elseBlock());
  scf::YieldOp::create(b, loc, ValueRange{undecided(b, loc)});
  return ifDecided.getResult(0);
}

/// Keys per sub-box where a row's box over a block is undecided: a chunk or
/// window edge inside the block leaves the pieces on either side decided.
constexpr int64_t kSubKeys = 32;

/// Bits over the keys [j0, j1) of row i: the row's box; where undecided,
/// boxes of kSubKeys keys (when `refine`: a mask that bounds over boxes)
/// and the keys of those still undecided, stopping once both bits are seen.
Value rowBits(OpBuilder &b, Location loc, AttentionOp op, ValueRange bh, Value i, Value j0, Value j1,
              bool refine) {
  auto scan = [&](Value s0, Value s1) {
    return [&, s0, s1](OpBuilder &nb, Location nl) { return scanRowBits(nb, nl, op, bh, i, s0, s1); };
  };
  if (!refine)
    return boxBits(b, loc, op, bh, i, i, j0, j1, scan(j0, j1));
  return boxBits(b, loc, op, bh, i, i, j0, j1, [&](OpBuilder &nb, Location nl) {
    return untilBothSeen(nb, nl, j0, j1, [&](OpBuilder &wb, Location wl, Value s0) {
      IndexMath m{wb, wl};
      Value s1 = m.min(m.add(s0, kSubKeys), j1);
      return std::make_pair(boxBits(wb, wl, op, bh, i, i, s0, s1, scan(s0, s1)), s1);
    });
  });
}

/// Rows of a query block per thread of the first classification step: a
/// block decided over its rows' box costs one interval evaluation, and an
/// undecided one (a boundary, a diagonal) is finished row by row by
/// T / kRowsPerGroup threads in parallel rather than one. A mask that
/// defeats interval bounds gets no decision from a box: one row per thread.
constexpr int64_t kRowsPerGroup = 4;
int64_t rowsPerGroup(AttentionOp op) { return maskDefeatsTileBounds(op) ? 1 : kRowsPerGroup; }

/// Key blocks a list scan reads per step (buildList).
constexpr int64_t kScanUnroll = 8;
/// Row groups the class step reads per step (buildClasses).
constexpr int64_t kGroupUnroll = 8;
static_assert(T % (kRowsPerGroup * kGroupUnroll) == 0 && T % kGroupUnroll == 0,
              "whole steps of row groups per block");

/// Bits over rows [i0, i1) x keys [j0, j1) (both non-empty): the box first;
/// where it leaves them undecided, row by row (rowBits) until both bits
/// are seen.
Value groupBits(OpBuilder &b, Location loc, AttentionOp op, ValueRange bh, Value i0, Value i1, Value j0,
                Value j1) {
  IndexMath m{b, loc};
  return boxBits(b, loc, op, bh, i0, m.sub(i1, m.c(1)), j0, j1, [&](OpBuilder &nb, Location nl) {
    return untilBothSeen(nb, nl, i0, i1, [&](OpBuilder &rb, Location rl, Value r) {
      IndexMath rm{rb, rl};
      return std::make_pair(rowBits(rb, rl, op, bh, r, j0, j1, /*refine=*/true), rm.add(r, 1));
    });
  });
}

/// The class table [Bc, Hc, nQB, nKB] (mask_classes), through a step over
/// groups of rowsPerGroup rows of each block, then their union per block.
Value buildClasses(OpBuilder &b, AttentionOp op, OpFoldResult bc, OpFoldResult hc, OpFoldResult lq,
                   OpFoldResult lk) {
  Location loc = op.getLoc();
  CascadeBuilder cb(b, loc);
  Type i32 = b.getI32Type();
  const int64_t R = rowsPerGroup(op), G = T / R;
  OpFoldResult nqb = ceilDivSize(b, loc, lq, T), nkb = ceilDivSize(b, loc, lk, T);
  Value lkv = valueOf(b, loc, lk), lqv = valueOf(b, loc, lq);
  Value groups = named(
      cb.map({bc, hc, nqb, nkb, b.getIndexAttr(G)}, i32, {}, {},
             [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
        IndexMath m{nb, nl};
        // A group past the last row (a ragged last block) repeats that row,
        // which lies in the same block.
        Value i0 = m.min(m.add(m.mul(idx[2], T), m.mul(idx[4], R)), m.sub(lqv, m.c(1)));
        Value j0 = m.mul(idx[3], T), j1 = m.min(m.add(j0, T), lkv);
        if (R == 1)
          return rowBits(nb, nl, op, idx.take_front(2), i0, j0, j1, /*refine=*/false);
        return groupBits(nb, nl, op, idx.take_front(2), i0, m.min(m.add(i0, R), lqv), j0, j1);
      }),
      "the kept / dropped bits of a mask per group of query rows and key block");
  return named(cb.map({bc, hc, nqb, nkb}, i32, {}, {}, [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    // kGroupUnroll groups per step: independent loads issued together.
    auto loop = scf::ForOp::create(
        nb, nl, m.c(0), m.c(G), m.c(kGroupUnroll), ValueRange{c32(nb, nl, 0)},
        [&](OpBuilder &lb, Location ll, Value g0, ValueRange acc) {
          IndexMath lm{lb, ll};
          Value bits = acc[0];
          for (int64_t g = 0; g < kGroupUnroll; ++g) {
            Value x = tensor::ExtractOp::create(lb, ll, groups, ValueRange{idx[0], idx[1], idx[2], idx[3], lm.add(g0, g)});
            bits = arith::OrIOp::create(lb, ll, bits, x);
          }
          scf::YieldOp::create(lb, ll, ValueRange{bits});
        });
    return loop.getResult(0);
  }), "the block classes of a mask (kept / dropped bits per block)");
}

/// The counted block list of the blocks with a kept pair: counts [B, H, nQB]
/// and indices [B, H, nQB, nKB] (slot s: the s-th such key block).
std::pair<Value, Value> buildList(OpBuilder &b, AttentionOp op, Value classes, OpFoldResult B, OpFoldResult H) {
  Location loc = op.getLoc();
  CascadeBuilder cb(b, loc);
  Type i32 = b.getI32Type();
  auto ct = cast<RankedTensorType>(classes.getType());
  OpFoldResult nqb = tensor::getMixedSize(b, loc, classes, 2), nkb = tensor::getMixedSize(b, loc, classes, 3);
  Value nkbv = valueOf(b, loc, nkb);
  // Block kb of the row has a kept pair (false past the row's end). The
  // scans below read kScanUnroll blocks per step: independent loads issued
  // together, so that a thread waits once per step rather than per block.
  auto isKept = [&](OpBuilder &nb, Location nl, ValueRange idx, Value kb) {
    IndexMath m{nb, nl};
    Value bb = ct.getDimSize(0) == 1 ? m.c(0) : idx[0], hh = ct.getDimSize(1) == 1 ? m.c(0) : idx[1];
    Value at = m.min(kb, m.sub(nkbv, m.c(1)));
    Value cls = tensor::ExtractOp::create(nb, nl, classes, ValueRange{bb, hh, idx[2], at});
    Value kept = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                       arith::AndIOp::create(nb, nl, cls, c32(nb, nl, 1)), c32(nb, nl, 1));
    return m.land(kept, m.lt(kb, nkbv));
  };
  auto stepBits = [&](OpBuilder &nb, Location nl, ValueRange idx, Value kb0) {
    IndexMath m{nb, nl};
    SmallVector<Value, kScanUnroll> bits;
    for (int64_t u = 0; u < kScanUnroll; ++u)
      bits.push_back(isKept(nb, nl, idx, m.add(kb0, u)));
    return bits;
  };
  Value counts = named(cb.map({B, H, nqb}, i32, {}, {},
                              [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
    IndexMath m{nb, nl};
    auto loop = scf::ForOp::create(nb, nl, m.c(0), nkbv, m.c(kScanUnroll), ValueRange{m.c(0)},
                                   [&](OpBuilder &lb, Location ll, Value kb0, ValueRange acc) {
      IndexMath lm{lb, ll};
      Value n = acc[0];
      for (Value bit : stepBits(lb, ll, idx, kb0))
        n = lm.sel(bit, lm.add(n, 1), n);
      scf::YieldOp::create(lb, ll, ValueRange{n});
    });
    return arith::IndexCastOp::create(nb, nl, i32, loop.getResult(0)).getResult();
  }), "the key blocks with a kept pair per query block (count)");
  // Slot s: the s-th kept block, found by a scan that stops there (0 past
  // the count, which the kernel never reads).
  Value indices = named(
      cb.map({B, H, nqb, nkb}, i32, {}, {},
             [&](OpBuilder &nb, Location nl, ValueRange idx, ValueRange) {
        IndexMath m{nb, nl};
        Value n = arith::IndexCastOp::create(nb, nl, nb.getIndexType(),
                                             tensor::ExtractOp::create(nb, nl, counts, idx.take_front(3)));
        auto inList = scf::IfOp::create(nb, nl, TypeRange{i32}, m.lt(idx[3], n), /*withElseRegion=*/true);
        OpBuilder::InsertionGuard g(nb);
        nb.setInsertionPointToStart(inList.thenBlock());
        Type it = nb.getIndexType();
        // (first block of the step, kept blocks before it, the slot's block
        // or -1): stops at the step holding the (s + 1)-th.
        auto w = scf::WhileOp::create(
            nb, nl, TypeRange{it, it, it}, ValueRange{m.c(0), m.c(0), m.c(-1)},
            [&](OpBuilder &wb, Location wl, ValueRange a) {
              IndexMath wm{wb, wl};
              scf::ConditionOp::create(wb, wl, wm.lt(a[2], wm.c(0)), a);
            },
            [&](OpBuilder &wb, Location wl, ValueRange a) {
              IndexMath wm{wb, wl};
              Value seen = a[1], found = a[2];
              for (auto [u, bit] : llvm::enumerate(stepBits(wb, wl, idx, a[0]))) {
                found = wm.sel(wm.land(bit, wm.eq(seen, idx[3])), wm.add(a[0], (int64_t)u), found);
                seen = wm.sel(bit, wm.add(seen, 1), seen);
              }
              scf::YieldOp::create(wb, wl, ValueRange{wm.add(a[0], kScanUnroll), seen, found});
            });
        scf::YieldOp::create(nb, nl, ValueRange{arith::IndexCastOp::create(nb, nl, i32, w.getResult(2)).getResult()});
        nb.setInsertionPointToStart(inList.elseBlock());
        scf::YieldOp::create(nb, nl, ValueRange{c32(nb, nl, 0)});
        return inList.getResult(0);
      }),
      "the key blocks with a kept pair per query block (list)");
  return {counts, indices};
}

void classify(AttentionOp op) {
  if (!eligible(op))
    return;
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto size = [&](Value t, int64_t d) { return tensor::getMixedSize(b, loc, t, d); };
  // Output heads: max(Hq, Hk).
  OpFoldResult B = size(op.getQuery(), 0), lq = size(op.getQuery(), 2), lk = size(op.getKey(), 2);
  auto ot = cast<RankedTensorType>(op.getResult().getType());
  OpFoldResult H = b.getIndexAttr(ot.getDimSize(1));
  if (ot.isDynamicDim(1))
    H = arith::MaxSIOp::create(b, loc, valueOf(b, loc, size(op.getQuery(), 1)), valueOf(b, loc, size(op.getKey(), 1)))
            .getResult();
  Block &mask = op.getMask().front();
  // Classes per batch or head only where the predicate reads b or h.
  OpFoldResult bc = mask.getArgument(0).use_empty() ? b.getIndexAttr(1) : B,
               hc = mask.getArgument(1).use_empty() ? b.getIndexAttr(1) : H;
  Value classes = buildClasses(b, op, bc, hc, lq, lk);
  auto [counts, indices] = buildList(b, op, classes, B, H);
  int64_t n = op.getExtras().size();
  op.getExtrasMutable().append({classes, counts, indices});
  SmallVector<Attribute> carrier(op.getCarrier().begin(), op.getCarrier().end());
  carrier.push_back(BlockListAttr::get(op.getContext(), T, T, n + 1, n + 2, /*counted=*/true));
  op.setCarrierAttr(b.getArrayAttr(carrier));
  op.setMaskClasses(n);
}

struct AttnClassifyMaskBlocksPass
    : public attnc::impl::AttnClassifyMaskBlocksBase<AttnClassifyMaskBlocksPass> {
  void runOnOperation() override { getOperation()->walk(classify); }
};

} // namespace
