//===- SpecUtil.cpp - Shared helpers of the spec front end ----------------===//

#include "SpecUtil.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace attnc::spec;
using namespace attnc::spec::detail;

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

std::string detail::closestMatch(llvm::StringRef word,
                                 llvm::ArrayRef<std::string> candidates) {
  // A different case is the likeliest slip of all.
  for (const std::string &c : candidates)
    if (c != word && llvm::StringRef(c).equals_insensitive(word))
      return c;
  // Short words are within distance 2 of almost everything short, so demand
  // more similarity there (one letter: only the case above).
  if (word.size() <= 1)
    return "";
  unsigned limit = word.size() <= 2 ? 1 : 2;
  std::string best;
  unsigned bestDist = limit + 1;
  for (const std::string &c : candidates) {
    if (c == word)
      continue;
    unsigned d = word.edit_distance(c, /*AllowReplacements=*/true, limit + 1);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

std::string detail::didYouMean(llvm::StringRef word, llvm::ArrayRef<std::string> candidates) {
  std::string m = closestMatch(word, candidates);
  return m.empty() ? "" : "; did you mean '" + m + "'?";
}

std::string detail::joinNames(llvm::ArrayRef<std::string> names) {
  std::string out;
  for (const std::string &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool detail::isIdentifier(llvm::StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

const KeyInfo *FamilyInfo::findKey(llvm::StringRef key) const {
  for (const KeyInfo &k : keys)
    if (k.name == key)
      return &k;
  return nullptr;
}

std::vector<std::string> FamilyInfo::keyNames() const {
  std::vector<std::string> out;
  for (const KeyInfo &k : keys)
    out.push_back(k.name);
  return out;
}

llvm::ArrayRef<FamilyInfo> detail::carrierFamilies() {
  static const std::vector<std::string> aligns = {"top_left", "bottom_right"};
  static const std::vector<FamilyInfo> table = {
      {"causal", {{"align", ValueKind::Enum, false, aligns}}},
      {"window",
       {{"left", ValueKind::NonNegInt, true, {}},
        {"right", ValueKind::Int, false, {}},
        {"sinks", ValueKind::NonNegInt, false, {}},
        {"align", ValueKind::Enum, false, aligns}}},
      {"document", {{"seqlens", ValueKind::Tensor1, true, {}}}},
      {"prefix", {{"length", ValueKind::NonNegInt, true, {}}}},
      {"lengths", {{"kv", ValueKind::Tensor1, true, {}}}},
      {"neighborhood",
       {{"grid", ValueKind::PosIntList, true, {}},
        {"window", ValueKind::PosIntList, true, {}},
        {"dilation", ValueKind::PosIntList, false, {}},
        {"stride", ValueKind::PosIntList, false, {}},
        {"causal", ValueKind::BoolList, false, {}}}},
      {"block_list",
       {{"q_block", ValueKind::PosInt, false, {}},
        {"k_block", ValueKind::PosInt, false, {}},
        {"offsets", ValueKind::Tensor3, true, {}},
        {"indices", ValueKind::Tensor3, true, {}}}},
      {"block_select",
       {{"q_block", ValueKind::PosInt, false, {}},
        {"k_block", ValueKind::PosInt, false, {}},
        {"pool", ValueKind::Enum, false, {"mean", "antidiagonal"}},
        {"stride", ValueKind::PosInt, false, {}},
        {"top_k", ValueKind::PosInt, false, {}},
        {"threshold", ValueKind::PosNumber, false, {}},
        {"force", ValueKind::Enum, false, {"none", "first", "last", "both"}}}},
  };
  return table;
}

llvm::ArrayRef<FamilyInfo> detail::linkFamilies() {
  static const std::vector<FamilyInfo> table = {
      {"exp", {}},
      {"sigmoid", {}},
      {"relu", {{"power", ValueKind::PosNumber, false, {}}}},
      {"identity", {}},
      {"signed_exp", {}},
      {"softplus", {}},
  };
  return table;
}

llvm::ArrayRef<FamilyInfo> detail::anchorFamilies() {
  static const std::vector<FamilyInfo> table = {
      {"row", {{"null", ValueKind::NullLogit, false, {}}}},
      {"none", {}},
      {"row_abs", {}},
      // Each iteration is two sweeps over K/V: 10000 bounds a run's passes
      // (the same cap as attn::AnchorAttr::kMaxIterations).
      {"sinkhorn", {{"iterations", ValueKind::PosInt, true, {}, 10000}}},
  };
  return table;
}

llvm::ArrayRef<FamilyInfo> detail::letFamilies() {
  static const std::vector<FamilyInfo> table = {
      {"rope", {{"theta", ValueKind::PosNumber, false, {}}, {"offset", ValueKind::Int, false, {}}}},
      {"l2norm",
       {{"eps", ValueKind::PosNumber, false, {}},
        {"axis", ValueKind::Enum, false, {"features", "tokens"}}}},
      {"rmsnorm",
       {{"eps", ValueKind::PosNumber, false, {}},
        {"axis", ValueKind::Enum, false, {"features", "tokens"}}}},
      {"map", {}},
      {"paged",
       {{"table", ValueKind::Tensor2, true, {}},
        {"layout", ValueKind::Enum, false, {"nhd", "hnd"}}}},
      // Groups of `size` tokens every `stride` (default: size) along L.
      {"pool",
       {{"size", ValueKind::PosInt, true, {}, 1 << 20},
        {"stride", ValueKind::PosInt, false, {}, 1 << 20},
        {"op", ValueKind::Enum, false, {"mean", "max", "sum"}}}},
  };
  return table;
}

const FamilyInfo *detail::findFamily(llvm::ArrayRef<FamilyInfo> table, llvm::StringRef name) {
  for (const FamilyInfo &f : table)
    if (f.name == name)
      return &f;
  return nullptr;
}

std::vector<std::string> detail::familyNames(llvm::ArrayRef<FamilyInfo> table) {
  std::vector<std::string> out;
  for (const FamilyInfo &f : table)
    out.push_back(f.name);
  return out;
}

namespace {
struct FunctionInfo {
  const char *name;
  int arity;
};
const FunctionInfo functions[] = {
    {"exp", 1},  {"log", 1},  {"tanh", 1},  {"sigmoid", 1}, {"relu", 1},    {"abs", 1},
    {"sqrt", 1}, {"floor", 1}, {"elu", 1},  {"silu", 1},    {"sign", 1},    {"softplus", 1},
    {"sin", 1},  {"cos", 1},  {"tan", 1},   {"erf", 1},     {"gelu", 1},    {"log2", 1},
    {"exp2", 1},
    {"min", 2},  {"max", 2},  {"pow", 2},   {"softcap", 2}, {"select", 3}, {"xor", 2},
};
} // namespace

int detail::functionArity(llvm::StringRef name) {
  for (const FunctionInfo &f : functions)
    if (name == f.name)
      return f.arity;
  return -1;
}

std::vector<std::string> detail::functionNames() {
  std::vector<std::string> out;
  for (const FunctionInfo &f : functions)
    out.push_back(f.name);
  return out;
}

bool detail::isReservedName(llvm::StringRef name) {
  return name.size() == 1 && llvm::StringRef("sxbhijd").contains(name[0]);
}

llvm::ArrayRef<std::string> detail::clauseKeywords() {
  static const std::vector<std::string> words = {"carrier", "mask",   "scale",   "score",
                                                 "score_conv", "link", "anchor", "weights",
                                                 "schedule", "axis"};
  return words;
}

llvm::ArrayRef<std::string> detail::statementKeywords() {
  static const std::vector<std::string> words = {"variant", "dims",      "input",
                                                 "let",     "attention", "output"};
  return words;
}

//===----------------------------------------------------------------------===//
// Arguments and numbers
//===----------------------------------------------------------------------===//

bool detail::isIntegral(double v) { return std::isfinite(v) && std::floor(v) == v; }

std::string detail::formatDouble(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v < 0 ? "-inf" : "inf";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  // Normalise the exponent: 1e-05 -> 1e-5, 1e+20 -> 1e20.
  std::string s = buf;
  size_t e = s.find('e');
  if (e != std::string::npos) {
    std::string mant = s.substr(0, e), exp = s.substr(e + 1);
    bool neg = !exp.empty() && exp[0] == '-';
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+'))
      exp = exp.substr(1);
    size_t nz = exp.find_first_not_of('0');
    exp = nz == std::string::npos ? "0" : exp.substr(nz);
    s = mant + "e" + (neg ? "-" : "") + exp;
  }
  return s;
}

std::string detail::formatArgNumber(double v) {
  if (isIntegral(v) && std::fabs(v) < 1e15)
    return std::to_string((long long)v);
  return formatDouble(v);
}

std::optional<Diag> detail::buildScoreConv(llvm::ArrayRef<Arg> args, const SourceLoc &loc,
                                           AttentionDecl::ScoreConv &out) {
  static const std::vector<std::string> keys = {"weight", "queries", "keys"};
  out = AttentionDecl::ScoreConv();
  out.loc = loc;
  bool seen[3] = {false, false, false};
  for (const Arg &a : args) {
    if (a.key.empty())
      return Diag{a.loc, "score_conv takes keyword arguments: weight=W, queries=Q, keys=K"};
    auto it = llvm::find(keys, a.key);
    if (it == keys.end())
      return Diag{a.loc, "unknown key '" + a.key + "' for score_conv; expected one of " +
                                  joinNames(keys) + didYouMean(a.key, keys)};
    size_t k = it - keys.begin();
    if (seen[k])
      return Diag{a.loc, "duplicate key '" + a.key + "' in score_conv"};
    seen[k] = true;
    if (k == 0) {
      if (a.kind != Arg::Kind::Word)
        return Diag{a.loc, "score_conv 'weight' must name an input [H, Q, K]"};
      out.weight = a.word;
      continue;
    }
    if (a.kind != Arg::Kind::Number || !isIntegral(a.number) || a.number < 1 ||
        a.number > 1e9)
      return Diag{a.loc, "score_conv '" + a.key + "' must be a positive integer"};
    (k == 1 ? out.queries : out.keys) = (int64_t)a.number;
  }
  if (!seen[0])
    return Diag{loc, "score_conv needs 'weight=' naming an input [H, Q, K]"};
  return std::nullopt;
}

std::vector<const Arg *> detail::canonicalArgOrder(const std::vector<Arg> &args,
                                                   const FamilyInfo *family) {
  std::vector<const Arg *> out;
  std::vector<bool> used(args.size(), false);
  // Positional arguments keep their place in front.
  for (size_t n = 0; n < args.size(); ++n)
    if (args[n].key.empty()) {
      out.push_back(&args[n]);
      used[n] = true;
    }
  if (family)
    for (const KeyInfo &k : family->keys)
      for (size_t n = 0; n < args.size(); ++n)
        if (!used[n] && args[n].key == k.name) {
          out.push_back(&args[n]);
          used[n] = true;
        }
  for (size_t n = 0; n < args.size(); ++n)
    if (!used[n])
      out.push_back(&args[n]);
  return out;
}
