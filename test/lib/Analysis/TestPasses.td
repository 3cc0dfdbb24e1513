//===- TestPasses.td - attnc test passes (linked into attnc-opt only) -----===//
#ifndef ATTNC_TEST_ANALYSIS_PASSES
#define ATTNC_TEST_ANALYSIS_PASSES

include "mlir/Pass/PassBase.td"

def AttnTestCarrierTiles : Pass<"attn-test-carrier-tiles", "mlir::func::FuncOp"> {
  let summary = "Test: check the GPU tile schedule/classification against the carrier predicate";
  let description = [{
    Replaces each attn.attention (whose result must be unused; extras must be
    defined in the function, e.g. by arith.constant) with loops that, for every
    Lq in [min-lq, max-lq] and Lk in [min-lk, max-lk] (Lq = Lk = prod(grid) only for
    neighborhood carriers), every batch and head, every BLOCK_M x BLOCK_N tile,
    evaluate the tile schedule and classification of passes/Analysis/CarrierTiles
    and the brute-force AND/OR of buildKeepPredicate over the tile, and print
    `tiles visited full violations visited_empty full_missed` with
    vector.print. A violation is a non-empty tile not visited, a tile visited
    twice, or a tile called full that has a dropped pair. `inject-bug`
    (1: drop the last slot, 2: call every tile full) shows the check fails.
  }];
  let options = [
    Option<"bm", "bm", "int64_t", /*default=*/"8", "BLOCK_M">,
    Option<"bn", "bn", "int64_t", /*default=*/"4", "BLOCK_N">,
    Option<"minLq", "min-lq", "int64_t", /*default=*/"1", "smallest Lq">,
    Option<"maxLq", "max-lq", "int64_t", /*default=*/"40", "largest Lq">,
    Option<"minLk", "min-lk", "int64_t", /*default=*/"1", "smallest Lk">,
    Option<"maxLk", "max-lk", "int64_t", /*default=*/"40", "largest Lk">,
    Option<"injectBug", "inject-bug", "int64_t", /*default=*/"0",
           "1: drop the last slot, 2: call every tile full">,
    ListOption<"qPatch", "q-patch", "int64_t",
               "Grid boxes: the query box's extent per axis (with k-patch)">,
    ListOption<"kPatch", "k-patch", "int64_t",
               "Grid boxes: the key box's extent per axis (with q-patch)">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
    "mlir::memref::MemRefDialect", "mlir::vector::VectorDialect",
    "mlir::tensor::TensorDialect"];
}

def AttnPrintPassCount : Pass<"attn-print-pass-count", "mlir::ModuleOp"> {
  let summary = "Report, per attention, how many passes over K/V it needs";
  let description = [{ Emits a remark per attn.attention: the FuseMax-style
    lower bound of passes over K/V given its anchor and link. }];
}

#endif // ATTNC_TEST_ANALYSIS_PASSES
