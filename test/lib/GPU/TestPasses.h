//===- TestPasses.h - attnc test passes ----------------------------*- C++ -*-===//
//
// Passes that exist for the lit tests (brute-force checks of analyses);
// linked into attnc-opt only, never into the compiler libraries.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TEST_LIB_GPU_TESTPASSES_H
#define ATTNC_TEST_LIB_GPU_TESTPASSES_H

#include "attnc/GPU/Passes.h"

namespace attnc {

#define GEN_PASS_DECL
#include "test/lib/GPU/TestPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "test/lib/GPU/TestPasses.h.inc"

} // namespace attnc

#endif // ATTNC_TEST_LIB_GPU_TESTPASSES_H
