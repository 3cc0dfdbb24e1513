//===- TestCarrierTiles.cpp - brute-force check of the GPU tile schedule --===//
//
// See AttnTestCarrierTiles in Passes.td. The checked IR is the very IR the
// kernel emits (QueryTileCarrier) and the very predicate the CPU path and
// the kernel's partial-tile mask use (buildKeepPredicate), both reading the
// extras through the default tensor access; the loops run on the host
// (lower to LLVM and run with mlir-runner).
//
//===----------------------------------------------------------------------===//
#include "test/lib/Analysis/TestPasses.h"
#include "attnc/Analysis/Carrier.h"
#include "attnc/Analysis/CarrierLowering.h"
#include "attnc/Analysis/CarrierTiles.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNTESTCARRIERTILES
#include "test/lib/Analysis/TestPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc;
using namespace attnc::attn;

namespace {
enum Counter { kTiles, kVisited, kFull, kViolations, kVisitedEmpty, kFullMissed, kNum };

struct AttnTestCarrierTilesPass
    : public attnc::impl::AttnTestCarrierTilesBase<AttnTestCarrierTilesPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerCarrierLoweringExternalModels(registry);
  }

  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      if (failed(check(op)))
        return signalPassFailure();
  }

  LogicalResult check(AttentionOp op) {
    if (!op.getResult().use_empty())
      return op.emitOpError("attn-test-carrier-tiles: the result must be unused");
    SmallVector<int64_t> qp(qPatch.begin(), qPatch.end()), kp(kPatch.begin(), kPatch.end());
    FailureOr<CarrierTilePlan> plan = CarrierTilePlan::get(op, bm, bn, qp, kp);
    if (failed(plan))
      return failure();
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    auto qT = cast<RankedTensorType>(op.getQuery().getType());
    auto oT = cast<RankedTensorType>(op.getResult().getType());
    int64_t B = qT.isDynamicDim(0) ? 1 : qT.getDimSize(0);
    int64_t H = oT.isDynamicDim(1) ? 1 : oT.getDimSize(1);
    int64_t lqMin = minLq, lqMax = maxLq, lkMin = minLk, lkMax = maxLk;
    bool square = false;
    for (Attribute a : op.getCarrier())
      if (auto n = dyn_cast<NeighborhoodAttr>(a)) {
        int64_t g = 1;
        for (int64_t x : n.getGrid())
          g *= x;
        lqMin = lqMax = lkMin = lkMax = g;
        square = true;
      }
    (void)square;
    auto ctrTy = MemRefType::get({kNum}, b.getIndexType());
    Value ctr = memref::AllocaOp::create(b, loc, ctrTy);
    for (int64_t k = 0; k < kNum; ++k)
      memref::StoreOp::create(b, loc, c(0), ctr, ValueRange{c(k)});
    auto bump = [&](OpBuilder &nb, Location nl, Counter k, Value cond) {
      Value idx = arith::ConstantIndexOp::create(nb, nl, k);
      Value old = memref::LoadOp::create(nb, nl, ctr, ValueRange{idx});
      Value inc = arith::IndexCastOp::create(
          nb, nl, nb.getIndexType(),
          arith::ExtUIOp::create(nb, nl, nb.getI64Type(), cond));
      memref::StoreOp::create(nb, nl, arith::AddIOp::create(nb, nl, old, inc), ctr,
                              ValueRange{idx});
    };
    auto forLoop = [&](OpBuilder &ob, Value lo, Value hi,
                       function_ref<void(OpBuilder &, Value)> body) {
      Value one = arith::ConstantIndexOp::create(ob, loc, 1);
      auto f = scf::ForOp::create(ob, loc, lo, hi, one);
      OpBuilder ib = OpBuilder::atBlockBegin(f.getBody());
      body(ib, f.getInductionVar());
    };
    auto cst = [&](OpBuilder &ob, int64_t v) {
      return arith::ConstantIndexOp::create(ob, loc, v).getResult();
    };
    auto icmp = [&](OpBuilder &ob, arith::CmpIPredicate p, Value x, Value y) {
      return arith::CmpIOp::create(ob, loc, p, x, y).getResult();
    };
    using P = arith::CmpIPredicate;

    forLoop(b, c(lqMin), c(lqMax + 1), [&](OpBuilder &b1, Value lq) {
      forLoop(b1, cst(b1, lkMin), cst(b1, lkMax + 1), [&](OpBuilder &b2, Value lk) {
        forLoop(b2, cst(b2, 0), cst(b2, B), [&](OpBuilder &b3, Value bb) {
          forLoop(b3, cst(b3, 0), cst(b3, H), [&](OpBuilder &b4, Value hh) {
            Value nq = plan->grid ? cst(b4, plan->grid->numBoxes(false))
                                  : arith::CeilDivSIOp::create(b4, loc, lq, cst(b4, bm)).getResult();
            forLoop(b4, cst(b4, 0), nq, [&](OpBuilder &b5, Value qt) {
              CarrierAccess access(op.getExtras());
              TileEnv env{bb, hh, lq, lk, &access};
              QueryTileCarrier qtc(b5, loc, *plan, op, env, qt);
              Value nk = plan->grid ? cst(b5, plan->grid->numBoxes(true))
                                    : arith::CeilDivSIOp::create(b5, loc, lk, cst(b5, bn)).getResult();
              Value slots = qtc.numSlots();
              if (injectBug == 1)
                slots = arith::MaxSIOp::create(
                    b5, loc, arith::SubIOp::create(b5, loc, slots, cst(b5, 1)), cst(b5, 0));
              // A tile's tokens: a run of consecutive ones (clipped to the
              // length), or a box of the grid (positions past the grid are
              // not tokens: valid false).
              using TokenOf = std::function<std::pair<Value, Value>(OpBuilder &, Value)>;
              auto tileTokens = [&](OpBuilder &ob, Value t, int64_t size, Value len,
                                    bool key) -> std::pair<Value, TokenOf> {
                IndexMath m{ob, loc};
                if (plan->grid) {
                  const GridTiles &g = *plan->grid;
                  SmallVector<Value, 3> origin = g.origin(m, t, key);
                  return {m.c(size), [origin, key, &g](OpBuilder &ib, Value local) {
                            IndexMath im{ib, ib.getUnknownLoc()};
                            SmallVector<Value, 3> at = g.localCoords(im, local, key);
                            Value valid = im.t();
                            for (size_t a = 0; a < at.size(); ++a) {
                              at[a] = im.add(origin[a], at[a]);
                              valid = im.land(valid, im.lt(at[a], im.c(g.axes[a].n)));
                            }
                            return std::make_pair(g.token(im, at), valid);
                          }};
                }
                Value first = m.mul(t, size);
                return {m.sub(m.min(m.add(first, size), len), first),
                        [first](OpBuilder &ib, Value local) {
                          IndexMath im{ib, ib.getUnknownLoc()};
                          return std::make_pair(im.add(first, local), im.t());
                        }};
              };
              std::pair<Value, TokenOf> rows = tileTokens(b5, qt, bm, lq, /*key=*/false);
              Value nRows = rows.first;
              TokenOf rowOf = rows.second;
              forLoop(b5, cst(b5, 0), nk, [&](OpBuilder &b6, Value n) {
                // How often the schedule visits tile n.
                auto occLoop = scf::ForOp::create(
                    b6, loc, cst(b6, 0), slots, cst(b6, 1), ValueRange{cst(b6, 0)},
                    [&](OpBuilder &ob, Location ol, Value t, ValueRange it) {
                      Value tile = qtc.tileOfSlot(ob, ol, t);
                      Value hit = icmp(ob, P::eq, tile, n);
                      if (Value v = qtc.slotIsValid(ob, ol, tile))
                        hit = arith::AndIOp::create(ob, ol, hit, v);
                      Value inc = arith::SelectOp::create(ob, ol, hit, cst(ob, 1), cst(ob, 0));
                      scf::YieldOp::create(ob, ol, ValueRange{
                          arith::AddIOp::create(ob, ol, it[0], inc).getResult()});
                    });
                Value occ = occLoop.getResult(0);
                // Brute force: any / all kept over the in-bounds part.
                std::pair<Value, TokenOf> cols = tileTokens(b6, n, bn, lk, /*key=*/true);
                Value nCols = cols.first;
                TokenOf colOf = cols.second;
                Value tr = arith::ConstantIntOp::create(b6, loc, 1, 1);
                Value fa = arith::ConstantIntOp::create(b6, loc, 0, 1);
                auto rowLoop = scf::ForOp::create(
                    b6, loc, cst(b6, 0), nRows, cst(b6, 1), ValueRange{fa, tr},
                    [&](OpBuilder &ob, Location ol, Value r, ValueRange it) {
                      std::pair<Value, Value> iv = rowOf(ob, r);
                      Value i = iv.first, iValid = iv.second;
                      auto colLoop = scf::ForOp::create(
                          ob, ol, arith::ConstantIndexOp::create(ob, ol, 0), nCols,
                          arith::ConstantIndexOp::create(ob, ol, 1), ValueRange{it[0], it[1]},
                          [&](OpBuilder &cb, Location cl, Value col, ValueRange it2) {
                            auto [j, jValid] = colOf(cb, col);
                            IndexMath im{cb, cl};
                            Value k = buildKeepPredicate(cb, cl, op, bb, hh, i, j, lq, lk);
                            // A query row past the grid is never stored: its pairs
                            // count neither way. A key past the grid is dropped (a
                            // full tile runs without the mask, so such a key would
                            // be weighed).
                            Value valid = im.land(iValid, jValid);
                            Value kept = im.land(valid, k);
                            Value notJ = arith::XOrIOp::create(cb, cl, jValid, im.t());
                            Value dropped = im.land(iValid, im.lor(notJ, arith::XOrIOp::create(cb, cl, k, im.t())));
                            scf::YieldOp::create(
                                cb, cl,
                                ValueRange{im.lor(it2[0], kept),
                                           im.land(it2[1], arith::XOrIOp::create(cb, cl, dropped,
                                                                                 im.t()))});
                          });
                      scf::YieldOp::create(ob, ol, colLoop.getResults());
                    });
                Value any = rowLoop.getResult(0), all = rowLoop.getResult(1);
                Value full = qtc.isFull(b6, loc, n);
                if (injectBug == 2)
                  full = tr;
                Value visited = icmp(b6, P::sge, occ, cst(b6, 1));
                auto notI = [&](Value x) { return arith::XOrIOp::create(b6, loc, x, tr).getResult(); };
                auto andI = [&](Value x, Value y) { return arith::AndIOp::create(b6, loc, x, y).getResult(); };
                Value twice = icmp(b6, P::sgt, occ, cst(b6, 1));
                Value missed = andI(any, notI(visited));
                Value wrongFull = andI(andI(visited, full), notI(all));
                Value viol = arith::OrIOp::create(
                    b6, loc, twice, arith::OrIOp::create(b6, loc, missed, wrongFull));
                bump(b6, loc, kTiles, tr);
                bump(b6, loc, kVisited, visited);
                bump(b6, loc, kFull, andI(visited, full));
                bump(b6, loc, kViolations, viol);
                bump(b6, loc, kVisitedEmpty, andI(visited, notI(any)));
                bump(b6, loc, kFullMissed, andI(andI(visited, all), notI(full)));
              });
            });
          });
        });
      });
    });
    std::string name = "tilecheck";
    std::string suffix = ": ";
    if (auto f = op->getParentOfType<func::FuncOp>())
      name += " " + f.getSymName().str();
    name += suffix;
    vector::PrintOp::create(b, loc, name);
    for (int64_t k = 0; k < kNum; ++k) {
      Value v = memref::LoadOp::create(b, loc, ctr, ValueRange{c(k)});
      vector::PrintOp::create(b, loc, v,
                              k + 1 < kNum ? vector::PrintPunctuation::Comma
                                           : vector::PrintPunctuation::NewLine);
    }
    op.erase();
    return success();
  }
};
} // namespace
