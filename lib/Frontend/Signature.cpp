//===- Signature.cpp - the spec's names for the variant function ----------===//
#include "Signature.h"

#include <algorithm>

using namespace attnc;
using namespace attnc::spec;

namespace {
/// The first attention an output expression reads.
const AttentionDecl *firstAttention(const Spec &spec, const Expr &e) {
  if (e.kind == Expr::Kind::Ident)
    for (const AttentionDecl &a : spec.attentions)
      if (a.name == e.name)
        return &a;
  for (const ExprPtr &arg : e.args)
    if (const AttentionDecl *a = firstAttention(spec, *arg))
      return a;
  return nullptr;
}

const InputDecl *findInput(const Spec &spec, llvm::StringRef name) {
  for (const InputDecl &in : spec.inputs)
    if (in.name == name)
      return &in;
  return nullptr;
}

/// The number of groups a pool let makes of `length` tokens, as a runtime
/// size expression (lib/Runtime/Expr.h; attn.pool's count).
std::string poolLength(const LetDecl &let, const std::string &length) {
  double size = argNumber(let.args, "size", 1);
  std::string sz = std::to_string((int64_t)size);
  std::string st = std::to_string((int64_t)argNumber(let.args, "stride", size));
  return "ceildiv(max((" + length + ") - " + sz + ", 0), " + st + ") + 1";
}

std::vector<std::string> attentionShape(const Spec &spec, const AttentionDecl &a, int depth);

/// The shape of an input, of the input a let transforms (a paged let:
/// [B, Hk, MP*PS, D] from its pool and table; a pool let: fewer tokens), or
/// of an earlier attention's result.
std::vector<std::string> shapeOf(const Spec &spec, std::string tensor, int depth = 0) {
  if (depth <= (int)(spec.lets.size() + spec.attentions.size())) {
    if (const InputDecl *in = findInput(spec, tensor))
      return in->shape;
    auto let = std::find_if(spec.lets.begin(), spec.lets.end(),
                            [&](const LetDecl &l) { return l.name == tensor; });
    if (let == spec.lets.end()) {
      for (const AttentionDecl &a : spec.attentions)
        if (a.name == tensor)
          return attentionShape(spec, a, depth + 1);
      return {};
    }
    if (let->fn == "pool") {
      std::vector<std::string> s = shapeOf(spec, let->source, depth + 1);
      if (s.size() == 4)
        s[2] = poolLength(*let, s[2]);
      return s;
    }
    if (let->fn == "paged") {
      const InputDecl *pool = findInput(spec, let->source);
      const InputDecl *table = nullptr;
      bool hnd = false;
      for (const Arg &a : let->args) {
        if (a.key == "table")
          table = findInput(spec, a.word);
        if (a.key == "layout")
          hnd = a.word == "hnd";
      }
      if (!pool || !table || pool->shape.size() != 4 || table->shape.size() != 2)
        return {};
      const std::string &ps = pool->shape[hnd ? 2 : 1];
      return {table->shape[0], pool->shape[hnd ? 1 : 2], table->shape[1] + "*" + ps,
              pool->shape[3]};
    }
    return shapeOf(spec, let->source, depth + 1);
  }
  return {};
}

/// [B, max(Hq, Hk), Lq, Dv] (docs/semantics.md).
std::vector<std::string> attentionShape(const Spec &spec, const AttentionDecl &a, int depth) {
  auto qs = shapeOf(spec, a.q, depth), ks = shapeOf(spec, a.k, depth),
       vs = shapeOf(spec, a.v, depth);
  if (qs.size() != 4 || ks.size() != 4 || vs.size() != 4)
    return {};
  std::string heads = qs[1] == ks[1] ? qs[1] : "max(" + qs[1] + ", " + ks[1] + ")";
  // Along the feature axis, the rows are q's channels and the columns v's
  // tokens, swapped back: [B, H, v's tokens, q's channels].
  if (a.featureAxis)
    return {qs[0], heads, vs[2], qs[3]};
  return {qs[0], heads, qs[2], vs[3]};
}

std::vector<std::string> outputShape(const Spec &spec, const OutputDecl &o) {
  const AttentionDecl *a = firstAttention(spec, *o.expr);
  return a ? attentionShape(spec, *a, 0) : std::vector<std::string>{};
}

bool isLiteral(llvm::StringRef size) {
  return !size.empty() && llvm::all_of(size, [](char c) { return c >= '0' && c <= '9'; });
}
} // namespace

std::string attnc::operandSizeMismatch(const Spec &spec, const AttentionDecl &a) {
  auto qs = shapeOf(spec, a.q), ks = shapeOf(spec, a.k), vs = shapeOf(spec, a.v);
  if (qs.size() != 4 || ks.size() != 4 || vs.size() != 4)
    return "";
  struct Pair {
    const std::vector<std::string> &xs, &ys;
    const std::string &x, &y; // the operands' names
    int axis;
    const char *what;
  };
  // The axes each pair of operands must share: the contraction of q with
  // k (their channels, or their tokens along the feature axis) and the keys'
  // pairing with the values (tokens, or channels), beside batch and heads.
  bool f = a.featureAxis;
  const Pair pairs[] = {{qs, ks, a.q, a.k, 0, "batch"},
                        {ks, vs, a.k, a.v, 0, "batch"},
                        {ks, vs, a.k, a.v, 1, "heads"},
                        {qs, ks, a.q, a.k, f ? 2 : 3, f ? "tokens" : "channels"},
                        {ks, vs, a.k, a.v, f ? 3 : 2, f ? "channels" : "tokens"}};
  for (const Pair &p : pairs) {
    const std::string &x = p.xs[p.axis], &y = p.ys[p.axis];
    if (x != y && !(isLiteral(x) && isLiteral(y))) // literals: compared on the IR
      return "attention '" + a.name + "' pairs the " + p.what + " of '" + p.x + "' (" + x +
             ") with those of '" + p.y + "' (" + y +
             "), which the spec does not make equal; declare both with one dim";
  }
  return "";
}

attn::VariantSignature attnc::variantSignature(const Spec &spec) {
  attn::VariantSignature sig;
  sig.name = spec.name;
  sig.dims = spec.dims;
  for (const InputDecl &in : spec.inputs)
    sig.inputs.push_back({in.name, in.shape, ""});
  for (const OutputDecl &o : spec.outputs) {
    bool bare = o.expr->kind == Expr::Kind::Ident &&
                llvm::any_of(spec.attentions, [&](const AttentionDecl &a) { return a.name == o.expr->name; });
    sig.outputs.push_back({o.name, outputShape(spec, o), bare ? o.expr->name : ""});
  }
  return sig;
}
