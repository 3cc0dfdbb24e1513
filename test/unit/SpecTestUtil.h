//===- SpecTestUtil.h - Helpers for the spec front end tests -----*- C++ -*-===//
#ifndef ATTNC_TEST_UNIT_SPECTESTUTIL_H
#define ATTNC_TEST_UNIT_SPECTESTUTIL_H

#include "attnc/Spec/Parser.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace attnc::spec::test {

/// The first line of an error message (the `FILE:LINE:COL: error: ...` part).
inline std::string firstLine(const std::string &msg) { return msg.substr(0, msg.find('\n')); }

/// Parses (text form) and checks; the error text, or "" on success.
inline std::string errorOf(llvm::StringRef text, llvm::StringRef file = "t.attn") {
  auto spec = parseSpecText(text, file);
  if (!spec)
    return llvm::toString(spec.takeError());
  if (llvm::Error err = checkSpec(*spec))
    return llvm::toString(std::move(err));
  return "";
}

/// Parses (JSON form) and checks; the error text, or "" on success.
inline std::string jsonErrorOf(llvm::StringRef text, llvm::StringRef file = "t.json") {
  auto spec = parseSpecJson(text, file);
  if (!spec)
    return llvm::toString(spec.takeError());
  if (llvm::Error err = checkSpec(*spec))
    return llvm::toString(std::move(err));
  return "";
}

/// Writes TEXT to a file named NAME in the test's temporary directory and
/// reads it with parseSpecFile (which quotes source lines in its errors);
/// the error text with the directory replaced by "DIR", or "" on success.
inline std::string fileErrorOf(llvm::StringRef text, llvm::StringRef name = "t.attn") {
  std::string dir = ::testing::TempDir();
  if (!llvm::StringRef(dir).ends_with("/"))
    dir += "/";
  std::string path = dir + name.str();
  std::FILE *f = std::fopen(path.c_str(), "w");
  if (!f) {
    ADD_FAILURE() << "cannot write " << path;
    return "";
  }
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  auto spec = parseSpecFile(path);
  std::remove(path.c_str());
  if (spec)
    return "";
  std::string msg = llvm::toString(spec.takeError());
  for (size_t at; (at = msg.find(dir)) != std::string::npos;)
    msg.replace(at, dir.size(), "DIR/");
  return msg;
}

/// Parses and checks a spec that must be valid.
inline Spec mustParse(llvm::StringRef text, llvm::StringRef file = "t.attn") {
  auto spec = parseSpecText(text, file);
  if (!spec) {
    ADD_FAILURE() << llvm::toString(spec.takeError());
    return Spec();
  }
  if (llvm::Error err = checkSpec(*spec))
    ADD_FAILURE() << llvm::toString(std::move(err));
  return std::move(*spec);
}

inline Spec mustParseJson(llvm::StringRef text, llvm::StringRef file = "t.json") {
  auto spec = parseSpecJson(text, file);
  if (!spec) {
    ADD_FAILURE() << llvm::toString(spec.takeError());
    return Spec();
  }
  if (llvm::Error err = checkSpec(*spec))
    ADD_FAILURE() << llvm::toString(std::move(err));
  return std::move(*spec);
}

/// Five lines of declarations; an attention written after them starts on
/// line 6 and its first clause is on line 7.
inline const char *kPreamble = "variant t\n"
                               "dims B, H, L, D\n"
                               "input q : [B, H, L, D]\n"
                               "input k : [B, H, L, D]\n"
                               "input v : [B, H, L, D]\n";

/// A spec with CLAUSES (each ending in '\n') in `attention a(q, k, v)`.
/// EXTRA declarations, if any, come after the preamble (shifting lines).
inline std::string withClauses(const std::string &clauses, const std::string &extra = "") {
  return std::string(kPreamble) + extra + "attention a(q, k, v) {\n" + clauses + "}\n" +
         "output o = a\n";
}

/// A rich spec using every construct; shared by several tests.
inline const char *kEverything =
    "# A rich example touching every construct.\n"
    "variant everything\n"
    "dims B, H, L, D, N\n"
    "input q : [B, H, L, D]\n"
    "input k : [B, H, L, D]\n"
    "input v : [B, H, L, D]\n"
    "input doc : [L]\n"
    "input cu : [N]\n"
    "input slopes : [H]\n"
    "input sinks : [H]\n"
    "input off : [B, H, N]\n"
    "input idx : [B, H, N]\n"
    "input w : [H, 2, 3]\n"
    "let qr = rope(q, theta=10000)\n"
    "let kn = l2norm(k)\n"
    "let kr = rmsnorm(kn, eps=1e-5)\n"
    "let qf = map(qr, elu(x) + 1)\n"
    "attention a(qf, kr, v) {\n"
    "  carrier causal(align=top_left)\n"
    "  carrier window(left=128, sinks=4)\n"
    "  carrier document(seqlens=cu)\n"
    "  carrier prefix(length=64)\n"
    "  carrier block_list(q_block=64, k_block=64, offsets=off, indices=idx)\n"
    "  mask doc[i] == doc[j]\n"
    "  scale 0.125\n"
    "  score s + slopes[h] * (j - i)\n"
    "  score softcap(s, 30)\n"
    "  score_conv(weight=w, queries=2, keys=3)\n"
    "  link relu(power=2)\n"
    "  anchor row(null=sinks)\n"
    "  weights signed\n"
    "  schedule split_kv(256)\n"
    "}\n"
    "attention n(q, k, v) {\n"
    "  carrier neighborhood(grid=[8, 8], window=[3, 5], dilation=[1, 2], stride=[1, 1],\n"
    "                       causal=[false, true])\n"
    "  anchor sinkhorn(iterations=3)\n"
    "}\n"
    "output o = a + 0.5 * n\n";

/// Pool lets, a norm along tokens and an attention along the feature axis.
inline const char *kPoolAndAxes =
    "variant axes\n"
    "dims B, H, L, D\n"
    "input q : [B, H, L, D]\n"
    "input k : [B, H, L, D]\n"
    "input v : [B, H, L, D]\n"
    "let kp = pool(k, size=32, stride=16, op=max)\n"
    "let vp = pool(v, size=32, op=sum)\n"
    "let qt = l2norm(q, axis=tokens)\n"
    "attention c(q, kp, vp) {\n"
    "  mask j * 16 + 31 <= i\n"
    "}\n"
    "attention f(qt, k, v) {\n"
    "  axis features\n"
    "  scale 1\n"
    "  mask i != j\n"
    "}\n"
    "output o = c + f\n";

} // namespace attnc::spec::test

#endif // ATTNC_TEST_UNIT_SPECTESTUTIL_H
