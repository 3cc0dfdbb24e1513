//===- Expr.cpp - Integer size expressions of kernel manifests ------------===//
#include "Expr.h"

#include <cstdio>

namespace attnc {
namespace rt {

class ExprParser {
public:
  ExprParser(const std::string &t, const std::function<int(const std::string &)> &n, Expr &e)
      : T(t), NameToId(n), E(e) {}

  bool run(std::string &err) {
    int root;
    bool ok = cmp(root, 0);
    skipWs();
    if (ok && P != T.size())
      ok = fail("unexpected " + here());
    if (!ok) {
      err = Err;
      return false;
    }
    (void)root;
    return true;
  }

private:
  const std::string &T;
  const std::function<int(const std::string &)> &NameToId;
  Expr &E;
  size_t P = 0;
  std::string Err;

  bool fail(const std::string &what) {
    if (Err.empty()) {
      char buf[48];
      snprintf(buf, sizeof buf, "column %zu: ", P + 1);
      Err = buf + what;
    }
    return false;
  }
  std::string here() const {
    if (P >= T.size())
      return "end of expression";
    char c = T[P];
    if (c >= 0x20 && c < 0x7f)
      return std::string("'") + c + "'";
    char buf[24];
    snprintf(buf, sizeof buf, "byte 0x%02x", (unsigned char)c);
    return buf;
  }
  void skipWs() {
    while (P < T.size() && (T[P] == ' ' || T[P] == '\t'))
      ++P;
  }
  int add(Expr::Op op, int64_t val, int a, int b) {
    E.Nodes.push_back({op, val, a, b});
    return (int)E.Nodes.size() - 1;
  }
  bool cmp(int &out, int depth) {
    if (!sum(out, depth))
      return false;
    skipWs();
    static const struct {
      const char *tok;
      Expr::Op op;
    } ops[] = {{"==", Expr::Eq}, {"!=", Expr::Ne}, {"<=", Expr::Le},
               {">=", Expr::Ge}, {"<", Expr::Lt},  {">", Expr::Gt}};
    for (const auto &o : ops) {
      size_t n = o.tok[1] ? 2 : 1;
      if (T.compare(P, n, o.tok) == 0) {
        P += n;
        int rhs;
        if (!sum(rhs, depth))
          return false;
        out = add(o.op, 0, out, rhs);
        return true;
      }
    }
    return true;
  }
  bool sum(int &out, int depth) {
    if (!prod(out, depth))
      return false;
    for (;;) {
      skipWs();
      if (P < T.size() && (T[P] == '+' || T[P] == '-')) {
        Expr::Op op = T[P] == '+' ? Expr::Add : Expr::Sub;
        ++P;
        int rhs;
        if (!prod(rhs, depth))
          return false;
        out = add(op, 0, out, rhs);
      } else {
        return true;
      }
    }
  }
  bool prod(int &out, int depth) {
    if (!unary(out, depth))
      return false;
    for (;;) {
      skipWs();
      if (P < T.size() && (T[P] == '*' || T[P] == '/' || T[P] == '%')) {
        Expr::Op op = T[P] == '*' ? Expr::Mul : T[P] == '/' ? Expr::Div : Expr::Mod;
        ++P;
        int rhs;
        if (!unary(rhs, depth))
          return false;
        out = add(op, 0, out, rhs);
      } else {
        return true;
      }
    }
  }
  bool unary(int &out, int depth) {
    if (depth > 32)
      return fail("expression nested too deeply");
    skipWs();
    if (P >= T.size())
      return fail("unexpected end of expression");
    char c = T[P];
    if (c == '-') {
      ++P;
      int x;
      if (!unary(x, depth + 1))
        return false;
      out = add(Expr::Neg, 0, x, -1);
      return true;
    }
    if (c == '(') {
      ++P;
      if (!cmp(out, depth + 1))
        return false;
      skipWs();
      if (P >= T.size() || T[P] != ')')
        return fail("expected ')', found " + here());
      ++P;
      return true;
    }
    if (c >= '0' && c <= '9') {
      int64_t v = 0;
      while (P < T.size() && T[P] >= '0' && T[P] <= '9') {
        if (__builtin_mul_overflow(v, (int64_t)10, &v) || __builtin_add_overflow(v, (int64_t)(T[P] - '0'), &v))
          return fail("integer literal too large");
        ++P;
      }
      out = add(Expr::Lit, v, -1, -1);
      return true;
    }
    if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t s = P;
      // Names may be dotted ("extra_0.dim1": a size of an extra input).
      while (P < T.size() && (T[P] == '_' || T[P] == '.' || (T[P] >= 'a' && T[P] <= 'z') ||
                              (T[P] >= 'A' && T[P] <= 'Z') || (T[P] >= '0' && T[P] <= '9')))
        ++P;
      std::string name = T.substr(s, P - s);
      skipWs();
      if (P < T.size() && T[P] == '(') {
        Expr::Op op;
        if (name == "ceildiv")
          op = Expr::CeilDiv;
        else if (name == "max")
          op = Expr::Max;
        else if (name == "min")
          op = Expr::Min;
        else {
          P = s;
          return fail("unknown function '" + name + "' (known: ceildiv, max, min)");
        }
        ++P;
        int a, b;
        if (!cmp(a, depth + 1))
          return false;
        skipWs();
        if (P >= T.size() || T[P] != ',')
          return fail("expected ',' in " + name + "(a, b), found " + here());
        ++P;
        if (!cmp(b, depth + 1))
          return false;
        skipWs();
        if (P >= T.size() || T[P] != ')')
          return fail("expected ')' after " + name + "(a, b, found " + here());
        ++P;
        out = add(op, 0, a, b);
        return true;
      }
      int id = NameToId(name);
      if (id < 0) {
        P = s;
        return fail("unknown name '" + name + "'");
      }
      out = add(Expr::Dim, id, -1, -1);
      return true;
    }
    return fail("expected a number, a name or '(', found " + here());
  }
};

Expr Expr::literal(int64_t v) {
  Expr e;
  e.Nodes.push_back({Lit, v, -1, -1});
  e.Text = std::to_string(v);
  return e;
}

bool Expr::parse(const std::string &text, const std::function<int(const std::string &)> &nameToId, Expr &out,
                 std::string &err) {
  out = Expr();
  out.Text = text;
  ExprParser p(text, nameToId, out);
  if (!p.run(err)) {
    out.Nodes.clear();
    return false;
  }
  return true;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

bool Expr::evalNode(int n, const int64_t *dims, int64_t &out, std::string &err) const {
  const Node &nd = Nodes[n];
  int64_t a = 0, b = 0;
  switch (nd.op) {
  case Lit:
    out = nd.val;
    return true;
  case Dim:
    out = dims[nd.val];
    return true;
  case Neg:
    if (!evalNode(nd.a, dims, a, err))
      return false;
    if (__builtin_sub_overflow((int64_t)0, a, &out)) {
      err = "integer overflow in '" + Text + "'";
      return false;
    }
    return true;
  default:
    break;
  }
  if (!evalNode(nd.a, dims, a, err) || !evalNode(nd.b, dims, b, err))
    return false;
  bool ovf = false;
  switch (nd.op) {
  case Add: ovf = __builtin_add_overflow(a, b, &out); break;
  case Sub: ovf = __builtin_sub_overflow(a, b, &out); break;
  case Mul: ovf = __builtin_mul_overflow(a, b, &out); break;
  case Div:
  case Mod:
  case CeilDiv:
    if (b == 0) {
      err = "division by zero in '" + Text + "'";
      return false;
    }
    if (a == INT64_MIN && (b == -1 || nd.op == CeilDiv)) {
      ovf = true;
      break;
    }
    if (nd.op == Div)
      out = floorDiv(a, b);
    else if (nd.op == Mod)
      out = a - floorDiv(a, b) * b;
    else
      out = -floorDiv(-a, b); // ceil(a / b); a != INT64_MIN here
    break;
  case Max: out = a > b ? a : b; break;
  case Min: out = a < b ? a : b; break;
  case Eq: out = a == b; break;
  case Ne: out = a != b; break;
  case Lt: out = a < b; break;
  case Le: out = a <= b; break;
  case Gt: out = a > b; break;
  case Ge: out = a >= b; break;
  default: break;
  }
  if (ovf) {
    err = "integer overflow in '" + Text + "'";
    return false;
  }
  return true;
}

bool Expr::eval(const int64_t *dims, int64_t &out, std::string &err) const {
  if (Nodes.empty()) {
    err = "empty expression";
    return false;
  }
  return evalNode((int)Nodes.size() - 1, dims, out, err);
}

void Expr::factors(int n, std::vector<int> &out, bool &ok) const {
  const Node &nd = Nodes[n];
  if (nd.op == Mul) {
    factors(nd.a, out, ok);
    factors(nd.b, out, ok);
  } else if (nd.op == Lit || nd.op == Dim) {
    out.push_back(n);
  } else {
    ok = false;
  }
}

std::vector<Expr> Expr::productFactors() const {
  std::vector<Expr> res;
  if (Nodes.empty())
    return res;
  std::vector<int> fs;
  bool ok = true;
  factors((int)Nodes.size() - 1, fs, ok);
  if (!ok || fs.size() < 2) {
    res.push_back(*this);
    return res;
  }
  for (int n : fs) {
    Expr e;
    e.Nodes.push_back({Nodes[n].op, Nodes[n].val, -1, -1});
    e.Text = Nodes[n].op == Lit ? std::to_string(Nodes[n].val) : std::string();
    res.push_back(e);
  }
  return res;
}

void Expr::collectDims(std::vector<int> &ids) const {
  for (const Node &n : Nodes)
    if (n.op == Dim)
      ids.push_back((int)n.val);
}

} // namespace rt
} // namespace attnc
