//===- TestPassCount.cpp - test: report the passes over K/V per attention ===//
#include "test/lib/Analysis/TestPasses.h"
#include "attnc/Dialect/Attn/AttnDialect.h"

namespace attnc {
#define GEN_PASS_DEF_ATTNPRINTPASSCOUNT
#include "test/lib/Analysis/TestPasses.h.inc"
} // namespace attnc

using namespace mlir;
using namespace attnc::attn;

namespace {
struct AttnPrintPassCountPass
    : public attnc::impl::AttnPrintPassCountBase<AttnPrintPassCountPass> {
  void runOnOperation() override {
    getOperation()->walk([](AttentionOp op) {
      int64_t n = op.getKVPassCount();
      op.emitRemark() << n << (n == 1 ? " pass" : " passes") << " over K/V ("
                      << "link " << stringifyLink(op.getLinkKind()) << ", anchor "
                      << stringifyAnchor(op.getAnchorKind()) << ")";
    });
  }
};
} // namespace
