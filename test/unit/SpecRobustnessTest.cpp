//===- SpecRobustnessTest.cpp - Malformed input never crashes -------------===//
//
// Every prefix of valid specs and many byte-mutated specs go through both
// parsers (and, when they parse, the checker and both printers). The only
// requirement is that each call returns: an error or a spec. Run under
// ASan/UBSan (ATTNC_ENABLE_SANITIZERS) this also catches memory errors.
//
//===----------------------------------------------------------------------===//

#include "SpecTestUtil.h"

#include <cstdint>

using namespace attnc::spec;
using namespace attnc::spec::test;

namespace {

/// Parses TEXT with one parser and exercises everything downstream.
/// Returns true if it parsed.
bool exercise(llvm::StringRef text, bool json) {
  auto spec = json ? parseSpecJson(text, "f.json") : parseSpecText(text, "f.attn");
  if (!spec) {
    std::string msg = llvm::toString(spec.takeError());
    // Every error has the FILE:LINE:COL: error: shape.
    EXPECT_NE(msg.find(": error: "), std::string::npos) << msg;
    return false;
  }
  llvm::Error err = checkSpec(*spec);
  bool ok = !err;
  llvm::consumeError(std::move(err));
  std::string text2 = printSpec(*spec);
  std::string json2 = printSpecJson(*spec);
  if (ok) {
    // A checked spec always prints to something that reads back.
    auto again = parseSpecText(text2, "p.attn");
    EXPECT_TRUE(!!again) << text2;
    if (again)
      EXPECT_EQ(printSpec(*again), text2);
    else
      llvm::consumeError(again.takeError());
    auto againJson = parseSpecJson(json2, "p.json");
    EXPECT_TRUE(!!againJson) << json2;
    if (!againJson)
      llvm::consumeError(againJson.takeError());
  }
  return true;
}

/// A small deterministic generator (the test must be reproducible).
struct Lcg {
  uint64_t state;
  uint32_t next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(state >> 33);
  }
  uint32_t below(uint32_t n) { return n ? next() % n : 0; }
};

std::string mutate(const std::string &in, Lcg &rng) {
  static const char alphabet[] = "()[]{},:=+-*/%^!<>&|#\n \t\"\\0123456789.eE_abijsxyz\x01\xff";
  std::string s = in;
  unsigned edits = 1 + rng.below(4);
  for (unsigned e = 0; e < edits && !s.empty(); ++e) {
    size_t at = rng.below((uint32_t)s.size());
    char c = alphabet[rng.below(sizeof(alphabet) - 1)];
    switch (rng.below(4)) {
    case 0:
      s[at] = c;
      break;
    case 1:
      s.insert(s.begin() + at, c);
      break;
    case 2:
      s.erase(at, 1 + rng.below(3));
      break;
    default: {
      // Duplicate a slice: repeats clauses, keys and brackets.
      size_t len = std::min<size_t>(1 + rng.below(20), s.size() - at);
      s.insert(at, s.substr(at, len));
    }
    }
  }
  return s;
}

TEST(SpecRobustness, EveryPrefixOfTheTextForm) {
  std::string text = kEverything;
  unsigned parsed = 0;
  for (size_t n = 0; n <= text.size(); ++n)
    parsed += exercise(llvm::StringRef(text).take_front(n), /*json=*/false);
  EXPECT_GT(parsed, 0u);
  // The prefix ending at a statement boundary parses.
  EXPECT_TRUE(exercise(text, false));
}

TEST(SpecRobustness, EveryPrefixOfTheJsonForm) {
  Spec s = mustParse(kEverything);
  std::string json = printSpecJson(s);
  for (size_t n = 0; n <= json.size(); ++n)
    exercise(llvm::StringRef(json).take_front(n), /*json=*/true);
  EXPECT_TRUE(exercise(json, true));
}

TEST(SpecRobustness, MutatedTextSpecs) {
  Lcg rng{12345};
  std::string text = kEverything;
  for (int n = 0; n < 3000; ++n)
    exercise(mutate(text, rng), /*json=*/false);
}

TEST(SpecRobustness, MutatedJsonSpecs) {
  Lcg rng{777};
  Spec s = mustParse(kEverything);
  std::string json = printSpecJson(s);
  for (int n = 0; n < 3000; ++n)
    exercise(mutate(json, rng), /*json=*/true);
}

TEST(SpecRobustness, TextAsJsonAndJsonAsText) {
  Spec s = mustParse(kEverything);
  EXPECT_FALSE(exercise(kEverything, /*json=*/true));
  EXPECT_FALSE(exercise(printSpecJson(s), /*json=*/false));
}

TEST(SpecRobustness, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '(') + "1" + std::string(100000, ')');
  auto e = parseExpr(deep, SourceLoc{"e", 1, 1});
  ASSERT_FALSE(e);
  EXPECT_NE(llvm::toString(e.takeError()).find("too deeply nested"), std::string::npos);

  std::string unary(100000, '-');
  e = parseExpr(unary + "1", SourceLoc{"e", 1, 1});
  ASSERT_FALSE(e);
  llvm::consumeError(e.takeError());

  // Long flat chains build deep trees too.
  std::string chain = "1";
  for (int n = 0; n < 20000; ++n)
    chain += " + 1";
  e = parseExpr(chain, SourceLoc{"e", 1, 1});
  ASSERT_FALSE(e);
  EXPECT_NE(llvm::toString(e.takeError()).find("too deeply nested"), std::string::npos);

  // Moderately long expressions are fine.
  std::string ok = "s";
  for (int n = 0; n < 200; ++n)
    ok += " + 1";
  e = parseExpr(ok, SourceLoc{"e", 1, 1});
  EXPECT_TRUE(!!e);
  if (!e)
    llvm::consumeError(e.takeError());

  std::string deepJson = std::string(50000, '[') + std::string(50000, ']');
  exercise(deepJson, /*json=*/true);
  std::string deepObj;
  for (int n = 0; n < 5000; ++n)
    deepObj += "{\"a\":";
  deepObj += "1" + std::string(5000, '}');
  exercise(deepObj, /*json=*/true);
}

TEST(SpecRobustness, OddBytes) {
  std::string nul("variant t\0\ndims B\n", 18);
  exercise(nul, false);
  exercise(nul, true);
  exercise("variant \xff\xfe\n", false);
  exercise("{\"variant\": \"\xff\xfe\"}", true);
  exercise("{\"variant\": \"a\\ud800\"}", true);
  exercise(std::string(10000, '\n'), false);
  exercise(std::string(10000, '#'), false);
}

} // namespace
