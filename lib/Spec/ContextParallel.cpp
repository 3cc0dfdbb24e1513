//===- ContextParallel.cpp - a spec compiled as one shard of itself ------===//
#include "attnc/Spec/ContextParallel.h"
#include "Diagnostics.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>

using namespace attnc::spec;

std::optional<CPLayout> attnc::spec::parseCPLayout(llvm::StringRef name) {
  if (name == "ring") return CPLayout::ring;
  if (name == "striped") return CPLayout::striped;
  if (name == "tree") return CPLayout::tree;
  return std::nullopt;
}

const char *attnc::spec::cpLayoutName(CPLayout layout) {
  switch (layout) {
  case CPLayout::ring: return "ring";
  case CPLayout::striped: return "striped";
  case CPLayout::tree: return "tree";
  }
  return "?";
}

namespace {

/// The input a tensor comes from through lets (which keep shapes).
const InputDecl *rootInput(const Spec &spec, std::string name) {
  llvm::StringMap<std::string> source;
  for (const LetDecl &let : spec.lets)
    source[let.name] = let.source;
  for (size_t guard = 0; source.count(name) && guard <= spec.lets.size(); ++guard)
    name = source[name];
  for (const InputDecl &in : spec.inputs)
    if (in.name == name)
      return &in;
  return nullptr;
}

} // namespace

llvm::Expected<ContextShard> attnc::spec::prepareContextParallel(Spec &spec, CPLayout layout,
                                                                 int64_t world) {
  if (world < 1 || world > kMaxCPWorld)
    return detail::makeError(spec.loc, llvm::Twine("context parallelism: world ") +
                                           llvm::Twine(world) + " is out of range (1.." +
                                           llvm::Twine(kMaxCPWorld) + ")");
  if (spec.attentions.size() != 1)
    return detail::makeError(spec.loc, "context parallelism runs one attention per spec; this one has " +
                                           llvm::Twine(spec.attentions.size()));
  const AttentionDecl &a = spec.attentions.front();
  for (const OutputDecl &o : spec.outputs)
    if (!o.expr || o.expr->kind != Expr::Kind::Ident || o.expr->name != a.name)
      return detail::makeError(o.loc, "context parallelism: output '" + o.name +
                                          "' must be the attention '" + a.name +
                                          "' itself (an expression of it would be applied to "
                                          "partial results before they merge)");
  if (a.featureAxis)
    return detail::makeError(a.axisLoc, "context parallelism splits the tokens, which attention '" +
                                            a.name + "' (axis features) contracts over; run it "
                                            "unsharded");
  for (const LetDecl &let : spec.lets) {
    if (let.fn == "pool")
      return detail::makeError(let.fnLoc, "context parallelism: pool groups tokens across "
                                          "shards' boundaries; pool before sharding");
    if ((let.fn == "l2norm" || let.fn == "rmsnorm") && argWord(let.args, "axis") == "tokens")
      return detail::makeError(let.fnLoc, "context parallelism: " + let.fn +
                                              "(axis=tokens) normalises over every shard's tokens");
    if (let.fn == "rope")
      return detail::makeError(let.fnLoc, "context parallelism: rope reads token positions, "
                                          "which a shard does not know; apply RoPE before sharding");
    if (let.fn == "paged")
      return detail::makeError(let.fnLoc, "context parallelism: a paged cache is addressed per "
                                          "sequence, not per shard; give each rank its keys");
    const Expr *position = nullptr;
    forEachNode(let.expr, [&](const Expr &x) {
      if (!position && x.kind == Expr::Kind::Ident && x.name == "i")
        position = &x;
    });
    if (position)
      return detail::makeError(position->loc, "context parallelism: this map reads the token "
                                              "position i, which a shard does not know");
  }
  for (const InputDecl &in : spec.inputs)
    if (in.name == kCPOffsetsInput)
      return detail::makeError(in.loc, llvm::Twine("context parallelism declares the input '") +
                                           kCPOffsetsInput + "'; rename this one");
  const InputDecl *q = rootInput(spec, a.q), *k = rootInput(spec, a.k), *v = rootInput(spec, a.v);
  if (!q || !k || !v || q->shape.size() != 4 || k->shape.size() != 4 || v->shape.size() != 4)
    return detail::makeError(a.loc, "context parallelism needs q, k and v of shape [B, H, L, D]");
  llvm::StringSet<> sharded;
  if (layout != CPLayout::tree)
    sharded.insert(q->shape[2]);
  sharded.insert(k->shape[2]);
  sharded.insert(v->shape[2]);
  if (layout == CPLayout::tree && q->shape[2] == k->shape[2])
    return detail::makeError(q->loc, "context parallelism (tree) splits the keys but not the "
                                     "queries: their lengths need two dims (Lq, Lk)");
  for (const InputDecl &in : spec.inputs) {
    if (&in == q || &in == k || &in == v)
      continue;
    for (const std::string &d : in.shape)
      if (sharded.contains(d))
        return detail::makeError(in.loc, "context parallelism: input '" + in.name +
                                             "' is sized by the split length " + d +
                                             "; a shard holds its own rows of q, k and v only, "
                                             "and every table whole");
  }
  ContextShard shard;
  shard.qLength = q->shape[2];
  shard.kLength = k->shape[2];
  shard.kParts = world;
  if (layout != CPLayout::tree)
    shard.qParts = world;
  if (layout == CPLayout::striped)
    shard.qStride = shard.kStride = world;
  // (q, k, v point into spec.inputs, which the declaration may move.)
  // Score and mask lines see global positions; q, k and v hold a shard's rows.
  std::vector<std::string> rowTensors = {a.q, a.k, a.v, q->name, k->name, v->name};
  const Expr *rowRead = nullptr;
  auto findRowRead = [&](const ExprPtr &e) {
    forEachNode(e, [&](const Expr &x) {
      if (!rowRead && x.kind == Expr::Kind::Index &&
          std::find(rowTensors.begin(), rowTensors.end(), x.name) != rowTensors.end())
        rowRead = &x;
    });
  };
  for (const ExprPtr &m : a.masks) findRowRead(m);
  for (const ExprPtr &sc : a.scores) findRowRead(sc);
  if (a.scale) findRowRead(*a.scale);
  if (rowRead)
    return detail::makeError(rowRead->loc, "context parallelism: a score or mask line reads '" +
                                               rowRead->name + "' by position, but a shard holds "
                                               "only its own rows of it");
  InputDecl offsets;
  offsets.name = kCPOffsetsInput;
  offsets.shape = {"2"};
  offsets.dtype = "i32";
  offsets.loc = offsets.dtypeLoc = spec.loc;
  spec.inputs.push_back(offsets);
  return shard;
}
