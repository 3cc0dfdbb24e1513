//===- Expr.h - Integer size expressions of kernel manifests ----*- C++ -*-===//
//
// Manifest sizes are JSON integers or strings over the named run-time sizes:
//   expr := cmp ; cmp := sum [('=='|'!='|'<'|'<='|'>'|'>=') sum]
//   sum  := prod {('+'|'-') prod} ; prod := unary {('*'|'/'|'%') unary}
//   unary := '-' unary | INT | NAME | FN '(' expr ',' expr ')' | '(' expr ')'
//   FN   := ceildiv | max | min
// '/' and '%' are floor division and its remainder. Evaluation is in int64
// with overflow and division by zero reported, never undefined.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_RUNTIME_EXPR_H
#define ATTNC_LIB_RUNTIME_EXPR_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace attnc {
namespace rt {

class Expr {
public:
  enum Op { Lit, Dim, Neg, Add, Sub, Mul, Div, Mod, CeilDiv, Max, Min, Eq, Ne, Lt, Le, Gt, Ge };

  Expr() = default;
  static Expr literal(int64_t v);
  /// Parses text; names are turned into dim ids by nameToId (which may add
  /// new names). On failure returns false and sets err ("column C: what").
  static bool parse(const std::string &text, const std::function<int(const std::string &)> &nameToId,
                    Expr &out, std::string &err);

  /// Evaluates with dims[id] as the value of each name. False on overflow or
  /// division by zero (err says which).
  bool eval(const int64_t *dims, int64_t &out, std::string &err) const;

  bool valid() const { return !Nodes.empty(); }
  bool isLiteral() const { return Nodes.size() == 1 && Nodes[0].op == Lit; }
  int64_t literalValue() const { return Nodes[0].val; }
  /// The dim id if this is a bare name, else -1.
  int dimId() const { return Nodes.size() == 1 && Nodes[0].op == Dim ? (int)Nodes[0].val : -1; }
  /// If this is a product of bare names and literals ("B*Hq"), its factors in
  /// order; otherwise just itself.
  std::vector<Expr> productFactors() const;
  /// Every dim id this expression reads.
  void collectDims(std::vector<int> &ids) const;
  /// The source text (or the literal's digits).
  const std::string &text() const { return Text; }
  void setText(std::string t) { Text = std::move(t); }

private:
  struct Node {
    Op op;
    int64_t val; // Lit: value; Dim: id
    int a, b;    // operand node indices
  };
  std::vector<Node> Nodes; // post-order; the root is the last node
  std::string Text;
  friend class ExprParser;
  bool evalNode(int n, const int64_t *dims, int64_t &out, std::string &err) const;
  void factors(int n, std::vector<int> &out, bool &ok) const;
};

} // namespace rt
} // namespace attnc

#endif
