//===- Sema.cpp - Semantic checks of a parsed spec ------------------------===//
//
// Everything that the grammar cannot express: names resolve, shapes use
// declared dims, carriers/links/anchors take the keys they know, expressions
// only use the variables of their context, functions get their arity and
// conditions are kept apart from numbers. The checks run on the AST so that
// the text and JSON forms are held to exactly the same rules. Whether a link
// suits an anchor is left to the attn dialect verifier, which owns that rule.
//
//===----------------------------------------------------------------------===//

#include "attnc/Spec/Parser.h"

#include "SpecUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <optional>

using namespace attnc::spec;
using namespace attnc::spec::detail;

namespace {

/// What an expression computes.
enum class Ty { Number, Condition };

/// The names an expression may use.
struct Scope {
  const char *what;                // "a mask", for messages
  std::vector<std::string> vars;   // index variables (and s / x)
  bool dims = true;                // dim names
  bool inputs = true;              // indexed inputs name[...]
  bool attentions = false;         // attention results (bare)
  Ty result = Ty::Number;
};

std::string posStr(const SourceLoc &l) {
  return std::to_string(l.line) + ":" + std::to_string(l.col);
}

/// Leftmost position of an expression (binary nodes sit at their operator).
const SourceLoc &startLoc(const Expr &e) {
  if (e.kind == Expr::Kind::Binary && !e.args.empty() && e.args[0])
    return startLoc(*e.args[0]);
  return e.loc;
}

bool isComparisonOp(llvm::StringRef op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

class Checker {
public:
  Checker(const Spec &spec, SourceLineFn sourceLine) : spec(spec), sourceLine(sourceLine) {}

  bool run();
  llvm::Error takeError() {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), error.value_or(""));
  }

private:
  const Spec &spec;
  SourceLineFn sourceLine;
  std::optional<std::string> error;

  llvm::StringSet<> dims;
  llvm::StringMap<const InputDecl *> inputs;
  llvm::StringMap<const LetDecl *> lets;
  llvm::StringMap<const AttentionDecl *> attentions;
  llvm::StringMap<SourceLoc> names; // every declared name, for uniqueness

  bool fail(const SourceLoc &l, const llvm::Twine &msg) {
    if (!error)
      error = formatError(l, msg, sourceLine(l), l.col);
    return false;
  }

  bool checkName(const std::string &name, const SourceLoc &l, llvm::StringRef what);
  bool declare(const std::string &name, const SourceLoc &l, llvm::StringRef what);
  bool checkInput(const InputDecl &in);
  bool checkLet(const LetDecl &let);
  bool checkAttention(const AttentionDecl &a);
  bool checkOutput(const OutputDecl &o);
  bool checkArgs(const std::vector<Arg> &args, const FamilyInfo &family, llvm::StringRef what,
                 const SourceLoc &where, const AttentionDecl *att);
  bool checkValue(const Arg &a, const KeyInfo &key, llvm::StringRef what,
                  const AttentionDecl *att);
  bool checkNeighborhood(const CarrierDecl &c);
  bool checkTensorArg(const Arg &a, llvm::StringRef what, size_t rank);
  bool checkTopExpr(const ExprPtr &e, const Scope &scope, const SourceLoc &owner);
  std::optional<Ty> checkExpr(const Expr &e, const Scope &scope);
  bool unknownName(const Expr &e, const Scope &scope);

  /// Rank of an input or let (lets keep their source's shape); 0 if unknown.
  size_t rankOf(llvm::StringRef name) const {
    for (int guard = 0; guard < 1000; ++guard) {
      if (auto it = inputs.find(name); it != inputs.end())
        return it->second->shape.size();
      auto lt = lets.find(name);
      if (lt == lets.end())
        return 0;
      name = lt->second->source;
    }
    return 0;
  }
  /// The input a tensor (input or let chain) comes from.
  const InputDecl *rootInput(llvm::StringRef name) const {
    for (int guard = 0; guard < 1000; ++guard) {
      if (auto it = inputs.find(name); it != inputs.end())
        return it->second;
      auto lt = lets.find(name);
      if (lt == lets.end())
        return nullptr;
      name = lt->second->source;
    }
    return nullptr;
  }
  std::vector<std::string> keysOf(const llvm::StringSet<> &set) const {
    std::vector<std::string> out;
    for (const auto &k : set)
      out.push_back(k.getKey().str());
    return out;
  }
  template <typename T> std::vector<std::string> keysOf(const llvm::StringMap<T> &map) const {
    std::vector<std::string> out;
    for (const auto &k : map)
      out.push_back(k.getKey().str());
    return out;
  }
};

bool Checker::run() {
  if (spec.name.empty())
    return fail(spec.loc, "missing 'variant NAME' statement (every spec names its variant)");
  if (!checkName(spec.name, spec.loc, "variant name"))
    return false;

  for (size_t n = 0; n < spec.dims.size(); ++n) {
    SourceLoc l = n < spec.dimLocs.size() ? spec.dimLocs[n] : spec.loc;
    if (!checkName(spec.dims[n], l, "dim name"))
      return false;
    if (!declare(spec.dims[n], l, "dim"))
      return false;
    dims.insert(spec.dims[n]);
  }
  for (const InputDecl &in : spec.inputs)
    if (!checkInput(in))
      return false;
  for (const LetDecl &let : spec.lets)
    if (!checkLet(let))
      return false;
  for (const AttentionDecl &a : spec.attentions)
    if (!checkAttention(a))
      return false;
  if (spec.outputs.empty())
    return fail(spec.loc, "the spec has no output; add one such as 'output o = " +
                              (spec.attentions.empty() ? std::string("a")
                                                       : spec.attentions.front().name) +
                              "'");
  for (const OutputDecl &o : spec.outputs)
    if (!checkOutput(o))
      return false;
  return true;
}

bool Checker::checkName(const std::string &name, const SourceLoc &l, llvm::StringRef what) {
  if (!isIdentifier(name))
    return fail(l, "'" + name + "' is not a valid " + what +
                       "; names are letters, digits and '_', not starting with a digit");
  return true;
}

bool Checker::declare(const std::string &name, const SourceLoc &l, llvm::StringRef what) {
  if (name == "inf")
    return fail(l, "'inf' is the infinity literal; rename this " + what);
  if (isReservedName(name))
    return fail(l, "'" + name + "' is reserved (s, x, b, h, i, j, d are index variables " +
                       "and the score/element); rename this " + what);
  auto [it, inserted] = names.try_emplace(name, l);
  if (!inserted)
    return fail(l, "duplicate name '" + name + "'; it is already declared at " +
                       posStr(it->second));
  return true;
}

bool Checker::checkInput(const InputDecl &in) {
  if (!checkName(in.name, in.loc, "input name") || !declare(in.name, in.loc, "input"))
    return false;
  if (in.shape.empty())
    return fail(in.loc, "input '" + in.name + "' needs a shape with at least one dim");
  for (size_t n = 0; n < in.shape.size(); ++n) {
    const std::string &d = in.shape[n];
    SourceLoc l = n < in.shapeLocs.size() ? in.shapeLocs[n] : in.loc;
    if (!d.empty() && llvm::all_of(d, llvm::isDigit)) {
      unsigned long long v;
      if (llvm::StringRef(d).getAsInteger(10, v) || v == 0)
        return fail(l, "shape entries must be declared dims or positive integers, got " + d);
      if (v > (unsigned long long)kMaxIntParam)
        return fail(l, "shape entry " + d + " is larger than " + std::to_string(kMaxIntParam));
      continue;
    }
    if (!dims.contains(d)) {
      std::vector<std::string> known = keysOf(dims);
      return fail(l, "unknown dim '" + d + "' in the shape of '" + in.name + "'" +
                         (known.empty() ? "; declare it with 'dims " + d + "'"
                                        : didYouMean(d, known) +
                                              (closestMatch(d, known).empty()
                                                   ? "; declare it in the dims statement"
                                                   : "")));
    }
  }
  inputs[in.name] = &in;
  return true;
}

bool Checker::checkLet(const LetDecl &let) {
  if (!checkName(let.name, let.loc, "let name") || !declare(let.name, let.loc, "let"))
    return false;
  SourceLoc fnLoc = let.fnLoc.line ? let.fnLoc : let.loc;
  SourceLoc srcLoc = let.sourceLoc.line ? let.sourceLoc : let.loc;
  const FamilyInfo *fn = findFamily(letFamilies(), let.fn);
  if (!fn) {
    std::vector<std::string> names = familyNames(letFamilies());
    return fail(fnLoc, "unknown transform '" + let.fn + "'; expected one of " + joinNames(names) +
                           didYouMean(let.fn, names));
  }
  if (!inputs.count(let.source) && !lets.count(let.source)) {
    std::vector<std::string> known = keysOf(inputs);
    for (const auto &l : lets)
      known.push_back(l.getKey().str());
    return fail(srcLoc, "unknown tensor '" + let.source + "' in let '" + let.name +
                            "'; a let transforms an input or an earlier let" +
                            didYouMean(let.source, known));
  }
  if (size_t r = rankOf(let.source); r != 4)
    return fail(srcLoc, "let '" + let.name + "' transforms '" + let.source + "' of rank " +
                            std::to_string(r) +
                            "; transforms apply to rank-4 [B, H, L, D] tensors");
  if (let.fn == "map") {
    if (!let.args.empty())
      return fail(let.args.front().loc, "map takes no keyword arguments: map(" + let.source +
                                            ", EXPR)");
    if (!let.expr)
      return fail(fnLoc, "map needs an expression: map(" + let.source + ", EXPR)");
    Scope scope{"a map expression", {"x", "b", "h", "i", "d"}};
    if (!checkTopExpr(let.expr, scope, let.loc))
      return false;
  } else {
    if (let.expr)
      return fail(let.expr->loc, "only map takes an expression; '" + let.fn +
                                     "' takes keyword arguments");
    if (!checkArgs(let.args, *fn, "transform '" + let.fn + "'", fnLoc, nullptr))
      return false;
  }
  lets[let.name] = &let;
  return true;
}

bool Checker::checkArgs(const std::vector<Arg> &args, const FamilyInfo &family,
                        llvm::StringRef what, const SourceLoc &where, const AttentionDecl *att) {
  llvm::StringMap<SourceLoc> seen;
  for (const Arg &a : args) {
    if (a.key.empty()) {
      if (family.keys.empty())
        return fail(a.loc, what + " takes no arguments");
      return fail(a.loc, what + " takes keyword arguments (" + family.keys.front().name +
                             "=...); expected one of " + joinNames(family.keyNames()));
    }
    const KeyInfo *key = family.findKey(a.key);
    if (!key) {
      if (family.keys.empty())
        return fail(a.loc, what + " takes no arguments, got '" + a.key + "'");
      return fail(a.loc, "unknown key '" + a.key + "' for " + what + "; expected one of " +
                             joinNames(family.keyNames()) +
                             didYouMean(a.key, family.keyNames()));
    }
    auto [it, inserted] = seen.try_emplace(a.key, a.loc);
    if (!inserted)
      return fail(a.loc, "duplicate key '" + a.key + "' for " + what + "; the first is at " +
                             posStr(it->second));
    if (!checkValue(a, *key, what, att))
      return false;
  }
  for (const KeyInfo &k : family.keys)
    if (k.required && !seen.count(k.name))
      return fail(where, what + " needs '" + k.name + "='");
  return true;
}

bool Checker::checkTensorArg(const Arg &a, llvm::StringRef what, size_t rank) {
  if (a.kind != Arg::Kind::Word)
    return fail(a.loc, what + " '" + a.key + "' must name an integer input of rank " +
                           std::to_string(rank));
  auto it = inputs.find(a.word);
  if (it == inputs.end())
    return fail(a.loc, "unknown input '" + a.word + "' for " + what + " '" + a.key + "'" +
                           didYouMean(a.word, keysOf(inputs)));
  if (it->second->shape.size() != rank)
    return fail(a.loc, what + " '" + a.key + "' needs a rank-" + std::to_string(rank) +
                           " input, but '" + a.word + "' has rank " +
                           std::to_string(it->second->shape.size()));
  return true;
}

bool Checker::checkValue(const Arg &a, const KeyInfo &key, llvm::StringRef what,
                         const AttentionDecl *att) {
  auto number = [&](double lo, bool integer, const char *desc) {
    if (a.kind != Arg::Kind::Number || std::isnan(a.number) ||
        (integer && !isIntegral(a.number)) || a.number < lo || (lo > 0 && a.number == 0))
      return fail(a.loc, what + " '" + a.key + "' must be " + desc);
    if (integer && std::fabs(a.number) > (double)key.max)
      return fail(a.loc, what + " '" + a.key + "' must be " +
                             (lo >= 0 ? "at most " + std::to_string(key.max)
                                      : "between -" + std::to_string(key.max) + " and " +
                                            std::to_string(key.max)));
    return true;
  };
  switch (key.kind) {
  case ValueKind::Int:
    return number(-INFINITY, true, "an integer");
  case ValueKind::NonNegInt:
    return number(0, true, "a non-negative integer");
  case ValueKind::PosInt:
    return number(1, true, "a positive integer");
  case ValueKind::PosNumber:
    if (a.kind != Arg::Kind::Number || !(a.number > 0))
      return fail(a.loc, what + " '" + a.key + "' must be a positive number");
    return true;
  case ValueKind::Enum:
    if (a.kind != Arg::Kind::Word || !llvm::is_contained(key.words, a.word)) {
      std::string got = a.kind == Arg::Kind::Word ? "'" + a.word + "'" : "a number or list";
      return fail(a.loc, what + " '" + a.key + "' must be one of " + joinNames(key.words) +
                             ", got " + got +
                             (a.kind == Arg::Kind::Word ? didYouMean(a.word, key.words) : ""));
    }
    return true;
  case ValueKind::Tensor1:
    return checkTensorArg(a, what, 1);
  case ValueKind::Tensor3:
    return checkTensorArg(a, what, 3);
  case ValueKind::PosIntList:
  case ValueKind::BoolList: {
    bool bools = key.kind == ValueKind::BoolList;
    const char *elem = bools ? "true, false, 0 or 1" : "positive integers";
    if (a.kind != Arg::Kind::List)
      return fail(a.loc, what + " '" + a.key + "' must be a list of " + elem + " like [" +
                             (bools ? "false, true" : "3, 3") + "]");
    for (const Arg &x : a.list) {
      bool ok = bools ? (x.kind == Arg::Kind::Word && (x.word == "true" || x.word == "false")) ||
                            (x.kind == Arg::Kind::Number && (x.number == 0 || x.number == 1))
                      : x.kind == Arg::Kind::Number && isIntegral(x.number) && x.number >= 1;
      if (!ok)
        return fail(x.loc.line ? x.loc : a.loc,
                    what + " '" + a.key + "' elements must be " + elem);
      if (!bools && x.number > (double)key.max)
        return fail(x.loc.line ? x.loc : a.loc, what + " '" + a.key +
                                                    "' elements must be at most " +
                                                    std::to_string(key.max));
    }
    return true;
  }
  case ValueKind::NullLogit: {
    if (a.kind == Arg::Kind::Number)
      return true;
    if (a.kind != Arg::Kind::Word)
      return fail(a.loc, what + " 'null' must be a number or the name of an [H] input");
    auto it = inputs.find(a.word);
    if (it == inputs.end())
      return fail(a.loc, "unknown input '" + a.word + "' for " + what +
                             " 'null'; expected a number or the name of an [H] input" +
                             didYouMean(a.word, keysOf(inputs)));
    const InputDecl &in = *it->second;
    if (in.shape.size() != 1)
      return fail(a.loc, what + " 'null' needs an [H] input, but '" + a.word + "' has rank " +
                             std::to_string(in.shape.size()));
    // The null logit is per output head: its length must be a head count.
    if (att) {
      std::vector<std::string> heads;
      for (const std::string *t : {&att->q, &att->k})
        if (const InputDecl *root = rootInput(*t); root && root->shape.size() == 4)
          heads.push_back(root->shape[1]);
      if (!heads.empty() && !llvm::is_contained(heads, in.shape[0]))
        return fail(a.loc, what + " 'null' input '" + a.word + "' has shape [" + in.shape[0] +
                               "], but the heads are " + joinNames(heads));
    }
    return true;
  }
  }
  return true;
}

bool Checker::checkNeighborhood(const CarrierDecl &c) {
  const Arg *grid = nullptr;
  for (const Arg &a : c.args)
    if (a.key == "grid")
      grid = &a;
  if (!grid)
    return true; // reported as a missing required key
  size_t n = grid->list.size();
  if (n < 1 || n > 3)
    return fail(grid->loc, "carrier 'neighborhood' supports 1 to 3 axes, 'grid' has " +
                               std::to_string(n));
  for (const Arg &a : c.args)
    if (a.kind == Arg::Kind::List && a.list.size() != n)
      return fail(a.loc, "carrier 'neighborhood' '" + a.key + "' has " +
                             std::to_string(a.list.size()) + " entries, but 'grid' has " +
                             std::to_string(n) + " axes");
  return true;
}

bool Checker::checkAttention(const AttentionDecl &a) {
  if (!checkName(a.name, a.loc, "attention name") || !declare(a.name, a.loc, "attention"))
    return false;
  struct Operand {
    const std::string &name;
    const SourceLoc &loc;
    const char *role;
  } operands[] = {{a.q, a.qLoc, "query"}, {a.k, a.kLoc, "key"}, {a.v, a.vLoc, "value"}};
  for (const Operand &op : operands) {
    SourceLoc l = op.loc.line ? op.loc : a.loc;
    if (!inputs.count(op.name) && !lets.count(op.name)) {
      std::vector<std::string> known = keysOf(inputs);
      for (const auto &x : lets)
        known.push_back(x.getKey().str());
      return fail(l, "unknown tensor '" + op.name + "' as the " + op.role + " of attention '" +
                         a.name + "'; expected an input or a let" +
                         didYouMean(op.name, known));
    }
    if (size_t r = rankOf(op.name); r != 4)
      return fail(l, "the " + std::string(op.role) + " of attention '" + a.name + "', '" +
                         op.name + "', has rank " + std::to_string(r) +
                         "; q, k and v must be rank-4 [B, H, L, D] tensors");
  }

  for (const CarrierDecl &c : a.carriers) {
    const FamilyInfo *fam = findFamily(carrierFamilies(), c.kind);
    if (!fam) {
      std::vector<std::string> kinds = familyNames(carrierFamilies());
      return fail(c.loc, "unknown carrier '" + c.kind + "'; expected one of " +
                             joinNames(kinds) + didYouMean(c.kind, kinds));
    }
    if (!checkArgs(c.args, *fam, "carrier '" + c.kind + "'", c.loc, &a))
      return false;
    if (c.kind == "neighborhood" && !checkNeighborhood(c))
      return false;
  }

  std::vector<std::string> idx = {"b", "h", "i", "j"};
  Scope mask{"a mask", idx};
  mask.result = Ty::Condition;
  for (const ExprPtr &m : a.masks)
    if (!checkTopExpr(m, mask, a.loc))
      return false;
  if (a.scale) {
    Scope scale{"a scale", {}};
    scale.inputs = false;
    if (!checkTopExpr(*a.scale, scale, a.loc))
      return false;
  }
  Scope score{"a score", {"s", "b", "h", "i", "j"}};
  for (const ExprPtr &s : a.scores)
    if (!checkTopExpr(s, score, a.loc))
      return false;

  if (a.scoreConv) {
    const AttentionDecl::ScoreConv &sc = *a.scoreConv;
    SourceLoc l = sc.loc.line ? sc.loc : a.loc;
    auto it = inputs.find(sc.weight);
    if (it == inputs.end())
      return fail(l, "unknown input '" + sc.weight + "' for score_conv 'weight'" +
                         didYouMean(sc.weight, keysOf(inputs)));
    const InputDecl &w = *it->second;
    if (w.shape.size() != 3)
      return fail(l, "score_conv 'weight' needs an input [H, Q, K], but '" + sc.weight +
                         "' has rank " + std::to_string(w.shape.size()));
    if (sc.queries < 1 || sc.keys < 1)
      return fail(l, "score_conv 'queries' and 'keys' must be positive integers");
    // Literal extents must agree with queries/keys; dims are bound at run time.
    int64_t want[2] = {sc.queries, sc.keys};
    for (int n = 0; n < 2; ++n) {
      unsigned long long v;
      if (!llvm::StringRef(w.shape[n + 1]).getAsInteger(10, v) && (int64_t)v != want[n])
        return fail(l, "score_conv weight '" + sc.weight + "' has shape [" +
                           joinNames(w.shape) + "], but queries=" + std::to_string(sc.queries) +
                           " and keys=" + std::to_string(sc.keys) + " need [H, " +
                           std::to_string(sc.queries) + ", " + std::to_string(sc.keys) + "]");
    }
  }

  SourceLoc linkLoc = a.linkLoc.line ? a.linkLoc : a.loc;
  const FamilyInfo *link = findFamily(linkFamilies(), a.link);
  if (!link) {
    std::vector<std::string> links = familyNames(linkFamilies());
    return fail(linkLoc, "unknown link '" + a.link + "'; expected one of " + joinNames(links) +
                             didYouMean(a.link, links));
  }
  if (!checkArgs(a.linkArgs, *link, "link '" + a.link + "'", linkLoc, &a))
    return false;
  SourceLoc anchorLoc = a.anchorLoc.line ? a.anchorLoc : a.loc;
  const FamilyInfo *anchor = findFamily(anchorFamilies(), a.anchor);
  if (!anchor) {
    std::vector<std::string> anchors = familyNames(anchorFamilies());
    return fail(anchorLoc, "unknown anchor '" + a.anchor + "'; expected one of " +
                               joinNames(anchors) + didYouMean(a.anchor, anchors));
  }
  if (!checkArgs(a.anchorArgs, *anchor, "anchor '" + a.anchor + "'", anchorLoc, &a))
    return false;
  if (a.splitKV < 0)
    return fail(a.loc, "schedule split_kv needs a positive chunk size");
  if (a.splitKV > kMaxIntParam)
    return fail(a.loc, "schedule split_kv chunk must be at most " + std::to_string(kMaxIntParam));
  attentions[a.name] = &a;
  return true;
}

bool Checker::checkOutput(const OutputDecl &o) {
  if (!checkName(o.name, o.loc, "output name") || !declare(o.name, o.loc, "output"))
    return false;
  Scope scope{"an output", {"b", "h", "i", "d"}};
  scope.attentions = true;
  return checkTopExpr(o.expr, scope, o.loc);
}

bool Checker::checkTopExpr(const ExprPtr &e, const Scope &scope, const SourceLoc &owner) {
  if (!e)
    return fail(owner, std::string("missing expression for ") + scope.what);
  std::optional<Ty> ty = checkExpr(*e, scope);
  if (!ty)
    return false;
  if (*ty == scope.result)
    return true;
  if (scope.result == Ty::Condition)
    return fail(startLoc(*e), std::string(scope.what) +
                                  " must be a condition (a comparison such as i >= j, "
                                  "combined with &&, || and !), not a number");
  std::string hint = llvm::StringRef(scope.what) == "a score"
                         ? "; use 'mask' for conditions or select(cond, a, b)"
                         : "; use select(cond, a, b) to pick between numbers";
  return fail(startLoc(*e), std::string(scope.what) + " must be a number, not a condition" + hint);
}

bool Checker::unknownName(const Expr &e, const Scope &scope) {
  const std::string &n = e.name;
  auto varList = [&] {
    if (scope.vars.empty() && !scope.inputs)
      return std::string("numbers, dims and functions");
    std::vector<std::string> parts = scope.vars;
    if (scope.dims)
      parts.push_back("dims");
    if (scope.inputs)
      parts.push_back("indexed inputs");
    if (scope.attentions)
      parts.push_back("attention results");
    return joinNames(parts);
  };
  if (isReservedName(n))
    return fail(e.loc, "'" + n + "' is not available in " + scope.what + "; " + scope.what +
                           " may use " + varList());
  if (dims.contains(n))
    return fail(e.loc, "dims are not available in " + std::string(scope.what));
  if (inputs.count(n)) {
    if (!scope.inputs)
      return fail(e.loc, "inputs cannot be used in " + std::string(scope.what) + "; " +
                             scope.what + " may use " + varList());
    size_t r = inputs.lookup(n)->shape.size();
    std::string subs;
    for (size_t k = 0; k < r; ++k)
      subs += k ? ", ..." : "...";
    return fail(e.loc, "input '" + n + "' must be indexed: " + n + "[" + subs + "] (rank " +
                           std::to_string(r) + ")");
  }
  if (lets.count(n))
    return fail(e.loc, "'" + n + "' is a let; lets can only be the q, k or v of an attention");
  if (attentions.count(n) || llvm::any_of(spec.attentions, [&](const AttentionDecl &a) {
        return a.name == n;
      }))
    return fail(e.loc, "attention result '" + n + "' can only be used in an output expression");
  std::vector<std::string> candidates = scope.vars;
  if (scope.dims)
    for (const auto &d : dims)
      candidates.push_back(d.getKey().str());
  if (scope.inputs)
    for (const auto &in : inputs)
      candidates.push_back(in.getKey().str());
  if (scope.attentions)
    for (const auto &a : attentions)
      candidates.push_back(a.getKey().str());
  std::string hint = didYouMean(n, candidates);
  if (hint.empty())
    hint = "; " + std::string(scope.what) + " may use " + varList();
  return fail(e.loc, "unknown identifier '" + n + "'" + hint);
}

std::optional<Ty> Checker::checkExpr(const Expr &e, const Scope &scope) {
  auto sub = [&](const ExprPtr &x) -> std::optional<Ty> {
    if (!x) {
      fail(e.loc, "malformed expression (missing operand)");
      return std::nullopt;
    }
    return checkExpr(*x, scope);
  };
  switch (e.kind) {
  case Expr::Kind::Number:
    return Ty::Number;

  case Expr::Kind::Ident: {
    if (llvm::is_contained(scope.vars, e.name) || (scope.dims && dims.contains(e.name)) ||
        (scope.attentions && attentions.count(e.name)))
      return Ty::Number;
    unknownName(e, scope);
    return std::nullopt;
  }

  case Expr::Kind::Index: {
    auto it = inputs.find(e.name);
    if (it == inputs.end() || !scope.inputs) {
      if (it != inputs.end()) {
        fail(e.loc, "inputs cannot be used in " + std::string(scope.what));
      } else if (lets.count(e.name)) {
        fail(e.loc, "'" + e.name + "' is a let and cannot be indexed; index an input");
      } else if (attentions.count(e.name)) {
        fail(e.loc, "attention result '" + e.name + "' is used bare: write '" + e.name +
                        "', not '" + e.name + "[...]'");
      } else if (llvm::is_contained(scope.vars, e.name) || dims.contains(e.name) ||
                 isReservedName(e.name)) {
        fail(e.loc, "'" + e.name + "' is not a tensor and cannot be indexed");
      } else {
        std::string hint = didYouMean(e.name, keysOf(inputs));
        fail(e.loc, "unknown input '" + e.name + "'" +
                        (hint.empty() ? "; only inputs can be indexed" : hint));
      }
      return std::nullopt;
    }
    size_t rank = it->second->shape.size();
    if (e.args.size() != rank) {
      fail(e.loc, "input '" + e.name + "' has rank " + std::to_string(rank) + " but " +
                      std::to_string(e.args.size()) + " subscript" +
                      (e.args.size() == 1 ? " is" : "s are") + " given");
      return std::nullopt;
    }
    for (const ExprPtr &x : e.args) {
      std::optional<Ty> t = sub(x);
      if (!t)
        return std::nullopt;
      if (*t != Ty::Number) {
        fail(startLoc(*x), "a subscript must be a number, not a condition");
        return std::nullopt;
      }
    }
    return Ty::Number;
  }

  case Expr::Kind::Unary: {
    if (e.args.size() != 1) {
      fail(e.loc, "malformed unary expression");
      return std::nullopt;
    }
    std::optional<Ty> t = sub(e.args[0]);
    if (!t)
      return std::nullopt;
    if (e.name == "!") {
      if (*t != Ty::Condition) {
        fail(e.loc, "'!' needs a condition, but its operand is a number");
        return std::nullopt;
      }
      return Ty::Condition;
    }
    if (e.name != "-") {
      fail(e.loc, "unknown unary operator '" + e.name + "'");
      return std::nullopt;
    }
    if (*t != Ty::Number) {
      fail(e.loc, "'-' needs a number, but its operand is a condition; use '!' to negate "
                  "a condition");
      return std::nullopt;
    }
    return Ty::Number;
  }

  case Expr::Kind::Binary: {
    if (e.args.size() != 2) {
      fail(e.loc, "malformed binary expression");
      return std::nullopt;
    }
    std::optional<Ty> l = sub(e.args[0]);
    if (!l)
      return std::nullopt;
    std::optional<Ty> r = sub(e.args[1]);
    if (!r)
      return std::nullopt;
    const std::string &op = e.name;
    bool logical = op == "&&" || op == "||";
    bool cmp = isComparisonOp(op);
    bool arith = op == "+" || op == "-" || op == "*" || op == "/" || op == "//" ||
                 op == "%" || op == "^";
    if (!logical && !cmp && !arith) {
      fail(e.loc, "unknown operator '" + op + "'");
      return std::nullopt;
    }
    Ty want = logical ? Ty::Condition : Ty::Number;
    for (int side = 0; side < 2; ++side) {
      if ((side == 0 ? *l : *r) == want)
        continue;
      const char *which = side == 0 ? "left" : "right";
      if (logical)
        fail(e.loc, "'" + op + "' needs conditions, but its " + which +
                        " operand is a number; compare it (e.g. x != 0)");
      else if (cmp)
        fail(e.loc, "'" + op + "' compares numbers, but its " + which +
                        " operand is a condition; combine conditions with '&&' and '||'");
      else
        fail(e.loc, "arithmetic '" + op + "' needs numbers, but its " + which +
                        " operand is a condition; use select(cond, a, b)");
      return std::nullopt;
    }
    return logical || cmp ? Ty::Condition : Ty::Number;
  }

  case Expr::Kind::Call: {
    int arity = functionArity(e.name);
    if (arity < 0) {
      std::vector<std::string> fns = functionNames();
      std::string hint = inputs.count(e.name)
                             ? "; '" + e.name + "' is an input: index it with [ ]"
                             : didYouMean(e.name, fns);
      fail(e.loc, "unknown function '" + e.name + "'; expected one of " + joinNames(fns) + hint);
      return std::nullopt;
    }
    if ((int)e.args.size() != arity) {
      fail(e.loc, "function '" + e.name + "' takes " + std::to_string(arity) + " argument" +
                      (arity == 1 ? "" : "s") + ", got " + std::to_string(e.args.size()));
      return std::nullopt;
    }
    std::vector<Ty> tys;
    for (const ExprPtr &x : e.args) {
      std::optional<Ty> t = sub(x);
      if (!t)
        return std::nullopt;
      tys.push_back(*t);
    }
    if (e.name == "select") {
      if (tys[0] != Ty::Condition) {
        fail(startLoc(*e.args[0]), "select's first argument must be a condition");
        return std::nullopt;
      }
      for (size_t k = 1; k < 3; ++k)
        if (tys[k] != Ty::Number) {
          fail(startLoc(*e.args[k]), "select's branches must be numbers; combine conditions "
                                     "with '&&' and '||' instead");
          return std::nullopt;
        }
      return Ty::Number;
    }
    for (size_t k = 0; k < tys.size(); ++k)
      if (tys[k] != Ty::Number) {
        fail(startLoc(*e.args[k]), "function '" + e.name + "' needs numbers, but argument " +
                                       std::to_string(k + 1) + " is a condition");
        return std::nullopt;
      }
    return Ty::Number;
  }
  }
  return std::nullopt;
}

} // namespace

llvm::Error attnc::spec::detail::checkSpecImpl(const Spec &spec, SourceLineFn sourceLine) {
  Checker c(spec, sourceLine);
  if (c.run())
    return llvm::Error::success();
  return c.takeError();
}

llvm::Error attnc::spec::checkSpec(const Spec &spec) {
  return checkSpecImpl(spec, [](const SourceLoc &) { return std::string(); });
}
