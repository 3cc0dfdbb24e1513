//===- Sema.cpp - Semantic checks of a parsed spec ------------------------===//
//
// Everything that the grammar cannot express: names resolve, shapes use
// declared dims, carriers/links/anchors take the keys they know, expressions
// only use the variables of their context, functions get their arity and
// conditions are kept apart from numbers. The checks run on the AST so that
// the text and JSON forms are held to exactly the same rules. Whether a link
// suits an anchor is left to the attn dialect verifier, which owns that rule.
//
// Every statement (and every clause of an attention) is checked even after an
// error, so that independent errors are reported together. A declaration that
// fails is "poisoned": its uses fail silently instead of adding errors that
// only repeat the first. Expressions are checked in SemaExpr.cpp.
//
//===----------------------------------------------------------------------===//

#include "attnc/Spec/Parser.h"

#include "Checker.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <optional>

using namespace attnc::spec;
using namespace attnc::spec::detail;

bool Checker::run() {
  unsigned before = diags.errorCount();
  if (spec.name.empty())
    fail(spec.loc, "missing 'variant NAME' statement (every spec names its variant)");
  else
    checkName(spec.name, spec.loc, "variant name");

  for (size_t n = 0; n < spec.dims.size(); ++n) {
    SourceLoc l = n < spec.dimLocs.size() ? spec.dimLocs[n] : spec.loc;
    if (checkName(spec.dims[n], l, "dim name") && declare(spec.dims[n], l, "dim"))
      dims.insert(spec.dims[n]);
    else
      poison(spec.dims[n]);
  }
  for (const InputDecl &in : spec.inputs)
    if (!checkInput(in))
      poison(in.name);
  for (const LetDecl &let : spec.lets)
    if (!checkLet(let))
      poison(let.name);
  for (const AttentionDecl &a : spec.attentions)
    if (!checkAttention(a))
      poison(a.name);
  if (spec.outputs.empty())
    fail(spec.loc, "the spec has no output; add one such as 'output o = " +
                       (spec.attentions.empty() ? std::string("a")
                                                : spec.attentions.front().name) +
                       "'");
  for (const OutputDecl &o : spec.outputs)
    checkOutput(o);
  return diags.errorCount() == before;
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
  if (!inserted) {
    fail(l, "duplicate name '" + name + "'");
    diags.note(it->second, "'" + name + "' is first declared here");
    return false;
  }
  return true;
}

bool Checker::checkInput(const InputDecl &in) {
  if (!checkName(in.name, in.loc, "input name") || !declare(in.name, in.loc, "input"))
    return false;
  if (in.shape.empty())
    return fail(in.loc, "input '" + in.name + "' needs a shape with at least one dim");
  bool ok = true; // each shape entry is checked on its own
  for (size_t n = 0; n < in.shape.size(); ++n) {
    const std::string &d = in.shape[n];
    SourceLoc l = n < in.shapeLocs.size() ? in.shapeLocs[n] : in.loc;
    if (!d.empty() && llvm::all_of(d, llvm::isDigit)) {
      unsigned long long v;
      if (llvm::StringRef(d).getAsInteger(10, v) || v == 0)
        ok = fail(l, "shape entries must be declared dims or positive integers, got " + d);
      else if (v > (unsigned long long)kMaxIntParam)
        ok = fail(l, "shape entry " + d + " is larger than " + std::to_string(kMaxIntParam));
      continue;
    }
    if (poisoned.contains(d)) {
      ok = false;
    } else if (!dims.contains(d)) {
      std::vector<std::string> known = keysOf(dims);
      ok = fail(l, "unknown dim '" + d + "' in the shape of '" + in.name + "'" +
                       (known.empty() ? "; declare it with 'dims " + d + "'"
                                      : didYouMean(d, known) +
                                            (closestMatch(d, known).empty()
                                                 ? "; declare it in the dims statement"
                                                 : "")));
    }
  }
  if (ok)
    inputs[in.name] = &in;
  return ok;
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
  if (poisoned.contains(let.source))
    return false;
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
    if (let.fn == "paged" && !checkPaged(let, srcLoc))
      return false;
    // Groups that overlap or touch cover every token, and the count
    // ceildiv(L - size, stride) + 1 leaves no empty group at the end.
    const Arg *size = findArg(let.args, "size"), *stride = findArg(let.args, "stride");
    if (let.fn == "pool" && size && stride && stride->number > size->number)
      return fail(stride->loc, "pool stride " + std::to_string((int64_t)stride->number) +
                                   " exceeds its size " + std::to_string((int64_t)size->number) +
                                   ": the groups would skip tokens; pool every token (stride <= "
                                   "size) and mask the groups instead");
  }
  lets[let.name] = &let;
  return true;
}

/// paged(pool, table=T, layout=L): the pool is an input (pages of a cache,
/// not a transformed tensor) and T an integer table.
bool Checker::checkPaged(const LetDecl &let, const SourceLoc &srcLoc) {
  if (!inputs.count(let.source))
    return fail(srcLoc, "paged reads a page pool input [P, PS, Hk, D] (layout=nhd) or "
                        "[P, Hk, PS, D] (layout=hnd); '" + let.source + "' is a let");
  if (const InputDecl *pool = inputs.lookup(let.source); pool && pool->dtype == "f8e4m3")
    return fail(srcLoc, "paged reads its pool in the run's float type; '" + let.source +
                            "' is declared f8e4m3 (at " + pool->dtypeLoc.str() +
                            "), which paged caches do not take yet");
  for (const Arg &a : let.args)
    if (a.key == "table" && a.kind == Arg::Kind::Word)
      if (auto it = inputs.find(a.word); it != inputs.end() && isFloatDecl(it->second->dtype))
        return fail(a.loc, "paged reads '" + a.word + "' as an integer page table, but it is "
                           "declared " + it->second->dtype + " (at " + it->second->dtypeLoc.str() +
                           ")");
  return true;
}

bool Checker::checkArgs(const std::vector<Arg> &args, const FamilyInfo &family,
                        llvm::StringRef what, const SourceLoc &where, const AttentionDecl *att) {
  llvm::StringMap<SourceLoc> seen;
  bool ok = true, unknownKey = false; // each argument is checked on its own
  for (const Arg &a : args) {
    unknownKey |= a.key.empty() || !family.findKey(a.key);
    if (a.key.empty()) {
      if (family.keys.empty())
        ok = fail(a.loc, what + " takes no arguments");
      else
        ok = fail(a.loc, what + " takes keyword arguments (" + family.keys.front().name +
                             "=...); expected one of " + joinNames(family.keyNames()));
      continue;
    }
    const KeyInfo *key = family.findKey(a.key);
    if (!key) {
      if (family.keys.empty())
        ok = fail(a.loc, what + " takes no arguments, got '" + a.key + "'");
      else
        ok = fail(a.loc, "unknown key '" + a.key + "' for " + what + "; expected one of " +
                             joinNames(family.keyNames()) +
                             didYouMean(a.key, family.keyNames()));
      continue;
    }
    auto [it, inserted] = seen.try_emplace(a.key, a.loc);
    if (!inserted) {
      ok = fail(a.loc, "duplicate key '" + a.key + "' for " + what);
      diags.note(it->second, "the first '" + a.key + "' is here");
      continue;
    }
    if (!checkValue(a, *key, what, att))
      ok = false;
  }
  // A misspelt key was reported above; saying it is missing would repeat it.
  for (const KeyInfo &k : family.keys)
    if (!unknownKey && k.required && !seen.count(k.name))
      ok = fail(where, what + " needs '" + k.name + "='");
  return ok;
}

bool Checker::checkTensorArg(const Arg &a, llvm::StringRef what, size_t rank) {
  if (a.kind != Arg::Kind::Word)
    return fail(a.loc, what + " '" + a.key + "' must name an integer input of rank " +
                           std::to_string(rank));
  auto it = inputs.find(a.word);
  if (it == inputs.end() && poisoned.contains(a.word))
    return false;
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
  case ValueKind::Tensor2:
    return checkTensorArg(a, what, 2);
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
    if (a.kind == Arg::Kind::Number && (std::isnan(a.number) || a.number == INFINITY))
      return fail(a.loc, what + " 'null' must be a number below +inf (-inf means no null key)");
    if (a.kind == Arg::Kind::Number)
      return true;
    if (a.kind != Arg::Kind::Word)
      return fail(a.loc, what + " 'null' must be a number or the name of an [H] input");
    auto it = inputs.find(a.word);
    if (it == inputs.end() && poisoned.contains(a.word))
      return false;
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

std::string Checker::seqDimOf(std::string name) const {
  const InputDecl *in = rootInput(name);
  if (!in || in->shape.size() != 4)
    return "";
  const std::string &d = in->shape[2];
  return dims.contains(d) ? d : "";
}

// Which diagonal a causal mask means when Lq != Lk differs between the
// libraries users come from (FlashAttention and cuDNN: bottom-right;
// PyTorch's is_causal and FlexAttention's q_idx >= kv_idx: top-left).
void Checker::warnAlignment(const AttentionDecl &a) {
  std::string lq = seqDimOf(a.q), lk = seqDimOf(a.k);
  if (lq.empty() || lk.empty() || lq == lk)
    return;
  for (const CarrierDecl &c : a.carriers) {
    if ((c.kind != "causal" && c.kind != "window") ||
        llvm::any_of(c.args, [](const Arg &x) { return x.key == "align"; }))
      continue;
    warn(c.loc, "carrier '" + c.kind + "' without 'align' on queries of length " + lq +
                    " and keys of length " + lk + ": attnc aligns the diagonal bottom-right "
                    "(query i is at key i + " + lk + " - " + lq + ", as FlashAttention and "
                    "cuDNN do), while PyTorch's is_causal and FlexAttention's q_idx >= kv_idx "
                    "are top-left; write align=bottom_right or align=top_left to say which");
  }
}

bool Checker::checkBlockSelect(const AttentionDecl &a, const CarrierDecl &c) {
  const Arg *topK = nullptr, *threshold = nullptr, *stride = nullptr, *pool = nullptr;
  int64_t qBlock = 128, kBlock = 128;
  for (const Arg &x : c.args) {
    if (x.key == "top_k") topK = &x;
    if (x.key == "threshold") threshold = &x;
    if (x.key == "stride") stride = &x;
    if (x.key == "pool") pool = &x;
    if (x.key == "q_block") qBlock = (int64_t)x.number;
    if (x.key == "k_block") kBlock = (int64_t)x.number;
  }
  if (!topK == !threshold)
    return fail(c.loc, "carrier 'block_select' needs exactly one of 'top_k' (keep the k best "
                       "blocks per query block) and 'threshold' (keep the fewest blocks whose "
                       "share of the row's estimated mass reaches it)");
  if (threshold && threshold->number > 1.0)
    return fail(threshold->loc, "carrier 'block_select' 'threshold' is a share of the row's "
                                "mass and must be at most 1");
  bool anti = pool && pool->word == "antidiagonal";
  if (stride && !anti)
    return fail(stride->loc, "carrier 'block_select' 'stride' applies to pool=antidiagonal only");
  int64_t s = stride ? (int64_t)stride->number : 8;
  if (anti && (qBlock % s || kBlock % s))
    return fail(stride ? stride->loc : c.loc,
                "carrier 'block_select' antidiagonal stride " + std::to_string(s) +
                    " must divide q_block (" + std::to_string(qBlock) + ") and k_block (" +
                    std::to_string(kBlock) + ")");
  const CarrierDecl *first = nullptr;
  for (const CarrierDecl &o : a.carriers) {
    if (o.kind == "block_list")
      return fail(c.loc, "carrier 'block_select' cannot be combined with 'block_list' (both "
                         "choose the key blocks)");
    if (o.kind == "block_select" && !first)
      first = &o;
  }
  if (first != &c)
    return fail(c.loc, "at most one 'block_select' carrier per attention");
  return true;
}

bool Checker::checkAttention(const AttentionDecl &a) {
  if (!checkName(a.name, a.loc, "attention name") || !declare(a.name, a.loc, "attention"))
    return false;
  // The operands, each carrier and each clause are independent checks.
  bool ok = checkOperands(a);
  for (const CarrierDecl &c : a.carriers) {
    const FamilyInfo *fam = findFamily(carrierFamilies(), c.kind);
    if (!fam) {
      std::vector<std::string> kinds = familyNames(carrierFamilies());
      ok = fail(c.loc, "unknown carrier '" + c.kind + "'; expected one of " + joinNames(kinds) +
                           didYouMean(c.kind, kinds));
    } else if (!checkArgs(c.args, *fam, "carrier '" + c.kind + "'", c.loc, &a) ||
               (c.kind == "neighborhood" && !checkNeighborhood(c)) ||
               (c.kind == "block_select" && !checkBlockSelect(a, c))) {
      ok = false;
    }
  }

  if (ok)
    warnAlignment(a);
  std::vector<std::string> idx = {"b", "h", "i", "j"};
  Scope mask{"a mask", idx};
  mask.result = Ty::Condition;
  for (const ExprPtr &m : a.masks)
    ok &= checkTopExpr(m, mask, a.loc);
  if (a.scale) {
    Scope scale{"a scale", {}};
    scale.inputs = false;
    ok &= checkTopExpr(*a.scale, scale, a.loc);
  }
  Scope score{"a score", {"s", "b", "h", "i", "j"}};
  for (const ExprPtr &s : a.scores)
    ok &= checkTopExpr(s, score, a.loc);
  ok &= checkScoreConv(a);
  ok &= checkLinkAnchor(a);
  ok &= checkFeatureAxis(a);
  if (a.splitKV < 0)
    ok = fail(a.loc, "schedule split_kv needs a positive chunk size");
  else if (a.splitKV > kMaxIntParam)
    ok = fail(a.loc, "schedule split_kv chunk must be at most " + std::to_string(kMaxIntParam));
  if (ok)
    attentions[a.name] = &a;
  return ok;
}

/// Under `axis features` the rows and columns are channels: carriers, score
/// convolutions and split-KV schedules describe token positions, so they have
/// no meaning there (a mask over the channel indices i, j does).
bool Checker::checkFeatureAxis(const AttentionDecl &a) {
  if (!a.featureAxis)
    return true;
  std::string why = "attention '" + a.name + "' runs along the feature axis (axis features, at " +
                    a.axisLoc.str() + "): its rows and columns are channels, not tokens";
  bool ok = true;
  for (const CarrierDecl &c : a.carriers)
    ok = fail(c.loc, "carrier '" + c.kind + "' selects keys by token position, but " + why +
                         "; write a mask over the channel indices i and j instead");
  if (a.scoreConv)
    ok = fail(a.scoreConv->loc, "score_conv convolves over token positions, but " + why);
  if (a.splitKV)
    ok = fail(a.loc, "schedule split_kv splits the keys' tokens, but " + why);
  return ok;
}

bool Checker::checkOperands(const AttentionDecl &a) {
  struct Operand {
    const std::string &name;
    const SourceLoc &loc;
    const char *role;
  } operands[] = {{a.q, a.qLoc, "query"}, {a.k, a.kLoc, "key"}, {a.v, a.vLoc, "value"}};
  bool ok = true;
  for (const Operand &op : operands) {
    SourceLoc l = op.loc.line ? op.loc : a.loc;
    if (poisoned.contains(op.name)) {
      ok = false;
    } else if (!inputs.count(op.name) && !lets.count(op.name) && !attentions.count(op.name)) {
      // An earlier attention's result is a tensor too (chained attentions,
      // e.g. attention through a few pooled tokens).
      std::vector<std::string> known = keysOf(inputs);
      for (const auto &x : lets)
        known.push_back(x.getKey().str());
      for (const auto &x : attentions)
        known.push_back(x.getKey().str());
      ok = fail(l, "unknown tensor '" + op.name + "' as the " + op.role + " of attention '" +
                       a.name + "'; expected an input, a let or an earlier attention" +
                       didYouMean(op.name, known));
    } else if (size_t r = rankOf(op.name); r != 4) {
      ok = fail(l, "the " + std::string(op.role) + " of attention '" + a.name + "', '" +
                       op.name + "', has rank " + std::to_string(r) +
                       "; q, k and v must be rank-4 [B, H, L, D] tensors");
    } else if (const InputDecl *root = rootInput(op.name); root && root->dtype == "i32") {
      ok = fail(l, "the " + std::string(op.role) + " of attention '" + a.name + "', '" + op.name +
                       "', comes from '" + root->name + "', declared i32 (at " +
                       root->dtypeLoc.str() + "); q, k and v are float tensors");
    }
  }
  // Carrier tables (seqlens, offsets, indices) are integers; other words
  // (align=top_left) name no tensor.
  for (const CarrierDecl &c : a.carriers)
    for (const Arg &arg : c.args) {
      const FamilyInfo *fam = findFamily(carrierFamilies(), c.kind);
      const KeyInfo *key = fam ? fam->findKey(arg.key) : nullptr;
      bool table = key && (key->kind == ValueKind::Tensor1 || key->kind == ValueKind::Tensor2 ||
                           key->kind == ValueKind::Tensor3);
      if (table && arg.kind == Arg::Kind::Word)
        if (auto it = inputs.find(arg.word); it != inputs.end() && isFloatDecl(it->second->dtype))
          ok = fail(arg.loc, "carrier '" + c.kind + "' reads '" + arg.word + "' as an integer "
                             "table, but it is declared " + it->second->dtype + " (at " +
                             it->second->dtypeLoc.str() + ")");
    }
  return ok;
}

bool Checker::checkScoreConv(const AttentionDecl &a) {
  if (!a.scoreConv)
    return true;
  const AttentionDecl::ScoreConv &sc = *a.scoreConv;
  SourceLoc l = sc.loc.line ? sc.loc : a.loc;
  auto it = inputs.find(sc.weight);
  if (it == inputs.end() && poisoned.contains(sc.weight))
    return false;
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
      return fail(l, "score_conv weight '" + sc.weight + "' has shape [" + joinNames(w.shape) +
                         "], but queries=" + std::to_string(sc.queries) +
                         " and keys=" + std::to_string(sc.keys) + " need [H, " +
                         std::to_string(sc.queries) + ", " + std::to_string(sc.keys) + "]");
  }
  return true;
}

bool Checker::checkLinkAnchor(const AttentionDecl &a) {
  bool ok = true;
  SourceLoc linkLoc = a.linkLoc.line ? a.linkLoc : a.loc;
  if (const FamilyInfo *link = findFamily(linkFamilies(), a.link)) {
    ok &= checkArgs(a.linkArgs, *link, "link '" + a.link + "'", linkLoc, &a);
  } else {
    std::vector<std::string> links = familyNames(linkFamilies());
    ok = fail(linkLoc, "unknown link '" + a.link + "'; expected one of " + joinNames(links) +
                           didYouMean(a.link, links));
  }
  SourceLoc anchorLoc = a.anchorLoc.line ? a.anchorLoc : a.loc;
  if (const FamilyInfo *anchor = findFamily(anchorFamilies(), a.anchor)) {
    ok &= checkArgs(a.anchorArgs, *anchor, "anchor '" + a.anchor + "'", anchorLoc, &a);
  } else {
    std::vector<std::string> anchors = familyNames(anchorFamilies());
    ok = fail(anchorLoc, "unknown anchor '" + a.anchor + "'; expected one of " +
                             joinNames(anchors) + didYouMean(a.anchor, anchors));
  }
  return ok;
}

bool Checker::checkOutput(const OutputDecl &o) {
  if (!checkName(o.name, o.loc, "output name") || !declare(o.name, o.loc, "output"))
    return false;
  Scope scope{"an output", {"b", "h", "i", "d"}};
  scope.attentions = true;
  return checkTopExpr(o.expr, scope, o.loc);
}
bool attnc::spec::detail::checkSpecImpl(const Spec &spec, DiagnosticSink &diags) {
  return Checker(spec, diags).run();
}

llvm::Error attnc::spec::checkSpec(const Spec &spec) {
  DiagnosticSink diags;
  checkSpecImpl(spec, diags);
  return diags.takeError();
}
