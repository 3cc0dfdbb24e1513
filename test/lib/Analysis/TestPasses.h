//===- TestPasses.h - attnc test passes ----------------------------*- C++ -*-===//
//
// Passes that exist for the lit tests (brute-force checks of analyses);
// linked into attnc-opt only, never into the compiler libraries.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TEST_LIB_ANALYSIS_TESTPASSES_H
#define ATTNC_TEST_LIB_ANALYSIS_TESTPASSES_H

#include "attnc/Passes/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace attnc {

#define GEN_PASS_DECL
#include "test/lib/Analysis/TestPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "test/lib/Analysis/TestPasses.h.inc"

} // namespace attnc

#endif // ATTNC_TEST_LIB_ANALYSIS_TESTPASSES_H
