//===- SpecParserTest.cpp - The text form: parsing, printing, syntax errors ===//

#include "SpecTestUtil.h"

#include <cmath>

using namespace attnc::spec;
using namespace attnc::spec::test;

namespace {

/// The structure of an expression as an s-expression: (+ a (* b c)).
std::string sexpr(const Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Number:
    if (std::isinf(e.number))
      return "inf";
    return e.isInteger ? std::to_string((long long)e.number) : "#" + std::to_string(e.number);
  case Expr::Kind::Ident:
    return e.name;
  default:
    break;
  }
  std::string out = "(";
  out += e.kind == Expr::Kind::Index  ? "[] " + e.name
         : e.kind == Expr::Kind::Call ? "call " + e.name
                                      : e.name;
  for (const ExprPtr &a : e.args)
    out += " " + sexpr(*a);
  return out + ")";
}

std::string parseToSexpr(llvm::StringRef text) {
  auto e = parseExpr(text, SourceLoc{"e", 1, 1});
  if (!e)
    return "ERROR: " + llvm::toString(e.takeError());
  return sexpr(**e);
}

std::string exprError(llvm::StringRef text) {
  auto e = parseExpr(text, SourceLoc{"e", 1, 1});
  if (e)
    return "";
  return firstLine(llvm::toString(e.takeError()));
}

//===----------------------------------------------------------------------===//
// Constructs map onto the AST
//===----------------------------------------------------------------------===//

TEST(SpecParser, ParsesEveryConstruct) {
  Spec s = mustParse(kEverything);
  EXPECT_EQ(s.name, "everything");
  EXPECT_EQ(s.loc.str(), "t.attn:2:9");
  ASSERT_EQ(s.dims.size(), 5u);
  EXPECT_EQ(s.dims[4], "N");
  EXPECT_EQ(s.dimLocs[1].str(), "t.attn:3:9");

  ASSERT_EQ(s.inputs.size(), 10u);
  EXPECT_EQ(s.inputs[0].name, "q");
  EXPECT_EQ(s.inputs[0].shape, (std::vector<std::string>{"B", "H", "L", "D"}));
  EXPECT_EQ(s.inputs[9].shape, (std::vector<std::string>{"H", "2", "3"}));
  ASSERT_EQ(s.inputs[9].shapeLocs.size(), 3u);
  EXPECT_EQ(s.inputs[9].shapeLocs[1].str(), "t.attn:13:15");

  ASSERT_EQ(s.lets.size(), 4u);
  EXPECT_EQ(s.lets[0].fn, "rope");
  EXPECT_EQ(s.lets[0].source, "q");
  ASSERT_EQ(s.lets[0].args.size(), 1u);
  EXPECT_EQ(s.lets[0].args[0].key, "theta");
  EXPECT_EQ(s.lets[0].args[0].kind, Arg::Kind::Number);
  EXPECT_EQ(s.lets[0].args[0].number, 10000);
  EXPECT_EQ(s.lets[1].fn, "l2norm");
  EXPECT_TRUE(s.lets[1].args.empty());
  EXPECT_DOUBLE_EQ(s.lets[2].args[0].number, 1e-5);
  EXPECT_EQ(s.lets[3].fn, "map");
  EXPECT_EQ(s.lets[3].source, "qr");
  ASSERT_TRUE(s.lets[3].expr);
  EXPECT_EQ(sexpr(*s.lets[3].expr), "(+ (call elu x) 1)");
  EXPECT_TRUE(s.lets[3].args.empty());
  EXPECT_EQ(s.lets[3].fnLoc.str(), "t.attn:17:10");
  EXPECT_EQ(s.lets[3].sourceLoc.str(), "t.attn:17:14");

  ASSERT_EQ(s.attentions.size(), 2u);
  const AttentionDecl &a = s.attentions[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.q, "qf");
  EXPECT_EQ(a.k, "kr");
  EXPECT_EQ(a.v, "v");
  EXPECT_EQ(a.vLoc.str(), "t.attn:18:21");
  ASSERT_EQ(a.carriers.size(), 5u);
  EXPECT_EQ(a.carriers[0].kind, "causal");
  EXPECT_EQ(a.carriers[0].args[0].key, "align");
  EXPECT_EQ(a.carriers[0].args[0].kind, Arg::Kind::Word);
  EXPECT_EQ(a.carriers[0].args[0].word, "top_left");
  EXPECT_EQ(a.carriers[1].kind, "window");
  EXPECT_EQ(a.carriers[1].args[1].key, "sinks");
  EXPECT_EQ(a.carriers[1].args[1].number, 4);
  EXPECT_EQ(a.carriers[2].args[0].word, "cu");
  EXPECT_EQ(a.carriers[4].kind, "block_list");
  EXPECT_EQ(a.carriers[4].args.size(), 4u);
  EXPECT_EQ(a.carriers[4].loc.str(), "t.attn:23:11");
  ASSERT_EQ(a.masks.size(), 1u);
  EXPECT_EQ(sexpr(*a.masks[0]), "(== ([] doc i) ([] doc j))");
  ASSERT_TRUE(a.scale.has_value());
  EXPECT_EQ((*a.scale)->number, 0.125);
  EXPECT_FALSE((*a.scale)->isInteger);
  ASSERT_EQ(a.scores.size(), 2u);
  EXPECT_EQ(sexpr(*a.scores[0]), "(+ s (* ([] slopes h) (- j i)))");
  EXPECT_EQ(sexpr(*a.scores[1]), "(call softcap s 30)");
  ASSERT_TRUE(a.scoreConv.has_value());
  EXPECT_EQ(a.scoreConv->weight, "w");
  EXPECT_EQ(a.scoreConv->queries, 2);
  EXPECT_EQ(a.scoreConv->keys, 3);
  EXPECT_EQ(a.link, "relu");
  ASSERT_EQ(a.linkArgs.size(), 1u);
  EXPECT_EQ(a.linkArgs[0].key, "power");
  EXPECT_EQ(a.linkArgs[0].number, 2);
  EXPECT_EQ(a.linkLoc.str(), "t.attn:29:8");
  EXPECT_EQ(a.anchor, "row");
  EXPECT_EQ(a.anchorArgs[0].word, "sinks");
  EXPECT_EQ(a.anchorLoc.str(), "t.attn:30:10");
  EXPECT_TRUE(a.signedWeights);
  EXPECT_EQ(a.splitKV, 256);

  const AttentionDecl &n = s.attentions[1];
  ASSERT_EQ(n.carriers.size(), 1u);
  const CarrierDecl &nb = n.carriers[0];
  EXPECT_EQ(nb.kind, "neighborhood");
  ASSERT_EQ(nb.args.size(), 5u);
  EXPECT_EQ(nb.args[0].kind, Arg::Kind::List);
  ASSERT_EQ(nb.args[1].list.size(), 2u);
  EXPECT_EQ(nb.args[1].list[1].number, 5);
  EXPECT_EQ(nb.args[4].key, "causal");
  EXPECT_EQ(nb.args[4].list[1].kind, Arg::Kind::Word);
  EXPECT_EQ(nb.args[4].list[1].word, "true");
  EXPECT_EQ(nb.args[4].loc.str(), "t.attn:36:24"); // continued on the next line
  EXPECT_EQ(n.anchor, "sinkhorn");
  EXPECT_EQ(n.anchorArgs[0].number, 3);

  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].name, "o");
  EXPECT_EQ(sexpr(*s.outputs[0].expr), "(+ a (* #0.500000 n))");
}

TEST(SpecParser, DefaultsWhenClausesAreAbsent) {
  Spec s = mustParse(withClauses(""));
  const AttentionDecl &a = s.attentions[0];
  EXPECT_EQ(a.link, "exp");
  EXPECT_EQ(a.anchor, "row");
  EXPECT_TRUE(a.linkArgs.empty());
  EXPECT_FALSE(a.scale.has_value());
  EXPECT_FALSE(a.scoreConv.has_value());
  EXPECT_FALSE(a.signedWeights);
  EXPECT_EQ(a.splitKV, 0);
  EXPECT_TRUE(a.carriers.empty());
}

TEST(SpecParser, CommentsBlankLinesAndWrapping) {
  Spec s = mustParse("# header\n\n"
                     "variant t   # trailing comment\n"
                     "dims B, H, L, D\n"
                     "input q : [B, H,\n"
                     "           L, D]\n"
                     "input k : [B, H, L, D]\n"
                     "\n"
                     "input v : [B, H, L, D]\r\n"
                     "attention a(q, k, v) {\n"
                     "\n"
                     "  # a comment inside the block\n"
                     "  mask (i >=\n"
                     "        j)\n"
                     "  score max(s,\n"
                     "            0)}\n"
                     "output o = a");
  ASSERT_EQ(s.inputs.size(), 3u);
  EXPECT_EQ(s.inputs[0].shape.size(), 4u);
  ASSERT_EQ(s.attentions.size(), 1u);
  EXPECT_EQ(sexpr(*s.attentions[0].masks[0]), "(>= i j)");
  EXPECT_EQ(s.attentions[0].masks[0]->loc.str(), "t.attn:13:11");
  EXPECT_EQ(sexpr(*s.attentions[0].scores[0]), "(call max s 0)");
}

TEST(SpecParser, OneLineAttentionBlocks) {
  Spec s = mustParse(std::string(kPreamble) + "attention a(q, k, v) { mask i >= j }\n"
                                              "attention e(q, k, v) {}\n"
                                              "output o = a + e\n");
  ASSERT_EQ(s.attentions.size(), 2u);
  EXPECT_EQ(s.attentions[0].masks.size(), 1u);
}

TEST(SpecParser, EmptyArgumentListsAndBareCarriers) {
  Spec s = mustParse(withClauses("  carrier causal\n  carrier causal()\n  link exp()\n"));
  EXPECT_EQ(s.attentions[0].carriers.size(), 2u);
  EXPECT_TRUE(s.attentions[0].carriers[1].args.empty());
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

TEST(SpecParser, Precedence) {
  EXPECT_EQ(parseToSexpr("a + b * c"), "(+ a (* b c))");
  EXPECT_EQ(parseToSexpr("a * b + c"), "(+ (* a b) c)");
  EXPECT_EQ(parseToSexpr("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(parseToSexpr("a / b // c % d"), "(% (// (/ a b) c) d)");
  EXPECT_EQ(parseToSexpr("2 ^ 3 ^ 2"), "(^ 2 (^ 3 2))");
  EXPECT_EQ(parseToSexpr("-2 ^ 2"), "(- (^ 2 2))");
  EXPECT_EQ(parseToSexpr("2 ^ -1"), "(^ 2 (- 1))");
  EXPECT_EQ(parseToSexpr("-a * b"), "(* (- a) b)");
  EXPECT_EQ(parseToSexpr("a * b ^ c"), "(* a (^ b c))");
  EXPECT_EQ(parseToSexpr("i - j < k + 1"), "(< (- i j) (+ k 1))");
  EXPECT_EQ(parseToSexpr("i < j && j < k || !(i == k)"),
            "(|| (&& (< i j) (< j k)) (! (== i k)))");
  EXPECT_EQ(parseToSexpr("a || b && c"), "(|| a (&& b c))");
  EXPECT_EQ(parseToSexpr("!a && b"), "(&& (! a) b)");
  EXPECT_EQ(parseToSexpr("(a + b) * c"), "(* (+ a b) c)");
  EXPECT_EQ(parseToSexpr("--a"), "(- (- a))");
  EXPECT_EQ(parseToSexpr("f(a, b + 1)[0]"), "ERROR: e:1:12: error: unexpected '[' after "
                                            "the expression\nf(a, b + 1)[0]\n           ^");
  EXPECT_EQ(parseToSexpr("x[i, j + 1] * select(i < j, 1, 0)"),
            "(* ([] x i (+ j 1)) (call select (< i j) 1 0))");
  EXPECT_EQ(parseToSexpr("min(max(s, 0), 1)"), "(call min (call max s 0) 1)");
  EXPECT_EQ(parseToSexpr("f()"), "(call f)");
  // Bitwise operators as in Python: below comparisons' operands, | < & < shifts < +.
  EXPECT_EQ(parseToSexpr("i & 7 == j & 7"), "(== (& i 7) (& j 7))");
  EXPECT_EQ(parseToSexpr("a | b & c"), "(| a (& b c))");
  EXPECT_EQ(parseToSexpr("a & b >> 1 + c"), "(& a (>> b (+ 1 c)))");
  EXPECT_EQ(parseToSexpr("a << 1 << 2"), "(<< (<< a 1) 2)");
  EXPECT_EQ(parseToSexpr("i & 1 == 0 && j | 2 > 3"), "(&& (== (& i 1) 0) (> (| j 2) 3))");
}

TEST(SpecParser, Numbers) {
  auto num = [](llvm::StringRef t) {
    auto e = parseExpr(t, SourceLoc{"e", 1, 1});
    EXPECT_TRUE(!!e) << t.str();
    if (!e) {
      llvm::consumeError(e.takeError());
      return Expr();
    }
    return **e;
  };
  Expr one = num("1");
  EXPECT_EQ(one.kind, Expr::Kind::Number);
  EXPECT_EQ(one.number, 1);
  EXPECT_TRUE(one.isInteger);
  EXPECT_FALSE(num("2.5").isInteger);
  EXPECT_EQ(num("2.5").number, 2.5);
  EXPECT_EQ(num("1e-3").number, 1e-3);
  EXPECT_FALSE(num("1e3").isInteger);
  EXPECT_EQ(num("1E+3").number, 1000);
  EXPECT_TRUE(std::isinf(num("inf").number));
  EXPECT_FALSE(num("inf").isInteger);
  EXPECT_EQ(num("007").number, 7);
  EXPECT_EQ(exprError("1e"), "e:1:1: error: malformed number '1e'; expected digits with an "
                             "optional fraction and exponent (2, 0.5, 1e-3)");
  EXPECT_EQ(exprError("2x"), "e:1:1: error: malformed number '2x'; expected digits with an "
                             "optional fraction and exponent (2, 0.5, 1e-3)");
  EXPECT_EQ(exprError("1.5.2"), "e:1:1: error: malformed number '1.5.2'; expected digits with "
                                "an optional fraction and exponent (2, 0.5, 1e-3)");
  EXPECT_EQ(exprError(".5"),
            "e:1:1: error: unexpected character '.'; numbers start with a digit (0.5, not .5)");
  EXPECT_EQ(exprError("1e999"), "e:1:1: error: number '1e999' is out of range");
  EXPECT_EQ(exprError("99999999999999999999"),
            "e:1:1: error: integer '99999999999999999999' is too large (at most 2^53)");
}

TEST(SpecParser, ExpressionSyntaxErrors) {
  EXPECT_EQ(exprError("i < j < k"),
            "e:1:7: error: comparisons cannot be chained; combine them with '&&' (a < b && b < c)");
  EXPECT_EQ(exprError("i & "), "e:1:5: error: expected an expression, got end of file");
  EXPECT_EQ(exprError("i <<< j"), "e:1:5: error: expected an expression, got '<'");
  EXPECT_EQ(exprError("i = j"), "e:1:3: error: unexpected '=' after the expression; did you "
                                "mean '=='?");
  EXPECT_EQ(exprError("s @ 2"), "e:1:3: error: unexpected character '@'");
  EXPECT_EQ(exprError("(s + 1"),
            "e:1:7: error: unterminated '(': expected ')' to close the '(' at 1:1");
  EXPECT_EQ(exprError("max(s, 1"),
            "e:1:9: error: unterminated '(': expected ')' to close the '(' at 1:4");
  EXPECT_EQ(exprError("x[i, j"),
            "e:1:7: error: unterminated '[': expected ']' to close the '[' at 1:2");
  EXPECT_EQ(exprError("max(s 1)"),
            "e:1:7: error: expected ',' or ')' in the arguments of 'max', got '1'");
  EXPECT_EQ(exprError("x[]"), "e:1:3: error: expected an expression, got ']'");
  EXPECT_EQ(exprError(""), "e:1:1: error: expected an expression, got end of file");
  EXPECT_EQ(exprError("s +"), "e:1:4: error: expected an expression, got end of file");
  EXPECT_EQ(exprError("s + * 2"), "e:1:5: error: expected an expression, got '*'");
  EXPECT_EQ(exprError("s\x01"), "e:1:2: error: unexpected character '\\x01'");
}

TEST(SpecParser, NestedLetsAreBounded) {
  std::string call = "q";
  for (int n = 0; n < 150; ++n)
    call = "l2norm(" + call + ")";
  auto spec = parseSpecText("variant n\ndims B, H, L, D\ninput q : [B, H, L, D]\nlet qn = " + call + "\n",
                            "n.attn");
  ASSERT_FALSE(!!spec);
  EXPECT_NE(llvm::toString(spec.takeError()).find("transforms are nested too deeply"), std::string::npos);
}

TEST(SpecParser, NestedLetsBecomeImplicitLets) {
  auto spec = parseSpecText("variant n\ndims B, H, L, D\ninput q : [B, H, L, D]\n"
                        "let qr = rope(rmsnorm(map(q, x * 2), eps=1e-5), theta=500)\n",
                        "n.attn");
  ASSERT_TRUE(!!spec) << llvm::toString(spec.takeError());
  ASSERT_EQ(spec->lets.size(), 3u);
  EXPECT_EQ(spec->lets[0].name, "qr__rmsnorm__map");
  EXPECT_EQ(spec->lets[0].fn, "map");
  EXPECT_EQ(spec->lets[0].source, "q");
  EXPECT_EQ(spec->lets[1].name, "qr__rmsnorm");
  EXPECT_EQ(spec->lets[1].source, "qr__rmsnorm__map");
  ASSERT_EQ(spec->lets[1].args.size(), 1u);
  EXPECT_EQ(spec->lets[1].args[0].key, "eps");
  EXPECT_EQ(spec->lets[2].name, "qr");
  EXPECT_EQ(spec->lets[2].source, "qr__rmsnorm");
  EXPECT_EQ(spec->lets[2].args[0].key, "theta");
}

TEST(SpecParser, LocalBindingsAreSubstituted) {
  const char *head = "variant n\ndims B, H, L, D\ninput q : [B, H, L, D]\nattention a(q, q, q) {\n";
  auto spec = parseSpecText(std::string(head) + "  let d0 = i - j\n  let near = d0 <= 4 * 2\n"
                                               "  mask near && d0 >= 0\n  score s - d0\n}\n",
                            "n.attn");
  ASSERT_TRUE(!!spec) << llvm::toString(spec.takeError());
  const AttentionDecl &a = spec->attentions[0];
  ASSERT_EQ(a.masks.size(), 1u);
  EXPECT_EQ(sexpr(*a.masks[0]), "(&& (<= (- i j) (* 4 2)) (>= (- i j) 0))");
  EXPECT_EQ(sexpr(*a.scores[0]), "(- s (- i j))");
  // Index variables and declared names cannot be rebound; a local is bound once.
  auto err = [&](const std::string &body) {
    auto sp = parseSpecText(std::string(head) + body + "}\n", "n.attn");
    return sp ? std::string() : firstLine(llvm::toString(sp.takeError()));
  };
  EXPECT_EQ(err("  let j = 1\n"), "n.attn:5:7: error: local name 'j' is already a name (index "
                                  "variables b, h, i, j, s, x, d, dims, inputs, lets and attentions are taken)");
  EXPECT_EQ(err("  let L = 1\n"), "n.attn:5:7: error: local name 'L' is already a name (index "
                                  "variables b, h, i, j, s, x, d, dims, inputs, lets and attentions are taken)");
  EXPECT_EQ(err("  let t = 1\n  let t = 2\n"),
            "n.attn:6:7: error: local name 't' is already bound in this attention");
  // Locals that double at every line describe a tree too large to check.
  std::string doubling = "  let a0 = i - j\n";
  for (int n = 1; n <= 20; ++n)
    doubling += "  let a" + std::to_string(n) + " = a" + std::to_string(n - 1) + " + a" +
                std::to_string(n - 1) + "\n";
  EXPECT_EQ(err(doubling), "n.attn:20:7: error: expression is too large with its local bindings "
                           "substituted (more than 500 levels or 100000 nodes)");
  // sum binds its variable: a local of that name is not substituted inside.
  auto sp = parseSpecText(std::string(head) + "  let r = i\n  score s + sum(r, q[b, h, j, r]) + r\n}\n",
                          "n.attn");
  ASSERT_TRUE(!!sp) << llvm::toString(sp.takeError());
  EXPECT_EQ(sexpr(*sp->attentions[0].scores[0]), "(+ (+ s (call sum r ([] q b h j r))) i)");
  // A transform is a top-level let: the block was not closed.
  EXPECT_EQ(err("  let qr = rope(q, theta=10)\n"),
            "n.attn:5:3: error: expected '}' to close attention 'a' (opened at 4:22) before 'let'");
}

TEST(SpecParser, ExprLocationsAreOffsetByStart) {
  auto e = parseExpr("s + bad(", SourceLoc{"f.json:/x", 1, 1});
  ASSERT_FALSE(e);
  EXPECT_EQ(llvm::toString(e.takeError()),
            "f.json:/x:1:9: error: unterminated '(': expected ')' to close the '(' at 1:8\n"
            "s + bad(\n"
            "        ^");
  auto f = parseExpr("a +\n  b", SourceLoc{"g", 3, 10});
  ASSERT_TRUE(!!f);
  EXPECT_EQ((*f)->loc.str(), "g:3:12");
  EXPECT_EQ((*f)->args[1]->loc.str(), "g:4:3");
}

TEST(SpecParser, PrintExprUsesMinimalParentheses) {
  struct Case {
    const char *in, *out;
  } cases[] = {
      {"a + b * c", "a + b * c"},
      {"(a + b) * c", "(a + b) * c"},
      {"a - (b - c)", "a - (b - c)"},
      {"(a - b) - c", "a - b - c"},
      {"a / (b * c)", "a / (b * c)"},
      {"2 ^ (3 ^ 2)", "2 ^ 3 ^ 2"},
      {"(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2"},
      {"(-2) ^ 2", "(-2) ^ 2"},
      {"-(2 ^ 2)", "-2 ^ 2"},
      {"2 ^ -x", "2 ^ -x"},
      {"-(a + b)", "-(a + b)"},
      {"- -a", "-(-a)"},
      {"a * -b", "a * -b"},
      {"!(i < j) || (i == j && j != 0)", "!(i < j) || i == j && j != 0"},
      {"(a || b) && c", "(a || b) && c"},
      {"(i < j) == (j < k)", "(i < j) == (j < k)"},
      {"x[i, (j)] + f(((1)))", "x[i, j] + f(1)"},
      {"2.0 * 1e-5 + 1e20 + inf", "2.0 * 1e-5 + 1e20 + inf"},
      {"0.1 + 1.5e-7", "0.1 + 1.5e-7"},
      {"select(i <= j, s, -inf)", "select(i <= j, s, -inf)"},
      {"i & 7 == j & 7", "(i & 7) == (j & 7)"},
      {"(a | b) & c", "(a | b) & c"},
      {"a | (b << 2)", "a | b << 2"},
      {"(a + 1) >> 2", "a + 1 >> 2"},
      {"a << (b | c)", "a << (b | c)"},
  };
  for (const Case &c : cases) {
    auto e = parseExpr(c.in, SourceLoc{"e", 1, 1});
    ASSERT_TRUE(!!e) << c.in;
    std::string printed = printExpr(**e);
    EXPECT_EQ(printed, c.out) << c.in;
    // The printed form reads back as the same tree.
    auto again = parseExpr(printed, SourceLoc{"e", 1, 1});
    ASSERT_TRUE(!!again) << printed;
    EXPECT_EQ(sexpr(**again), sexpr(**e)) << c.in;
  }
}

TEST(SpecParser, PrintExprKeepsFloatsFloats) {
  auto e = parseExpr("2.0", SourceLoc{"e", 1, 1});
  ASSERT_TRUE(!!e);
  EXPECT_EQ(printExpr(**e), "2.0");
  auto again = parseExpr(printExpr(**e), SourceLoc{"e", 1, 1});
  ASSERT_TRUE(!!again);
  EXPECT_FALSE((*again)->isInteger);
  // Exact round trip of awkward doubles.
  Expr x;
  x.kind = Expr::Kind::Number;
  x.number = 0.1 + 0.2;
  auto y = parseExpr(printExpr(x), SourceLoc{"e", 1, 1});
  ASSERT_TRUE(!!y);
  EXPECT_EQ((*y)->number, x.number);
}

//===----------------------------------------------------------------------===//
// Canonical printing
//===----------------------------------------------------------------------===//

TEST(SpecParser, CanonicalForm) {
  Spec s = mustParse(kEverything);
  const char *expected =
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
      "  carrier neighborhood(grid=[8, 8], window=[3, 5], dilation=[1, 2], stride=[1, 1], "
      "causal=[false, true])\n"
      "  link exp\n"
      "  anchor sinkhorn(iterations=3)\n"
      "}\n"
      "output o = a + 0.5 * n\n";
  EXPECT_EQ(printSpec(s), expected);
}

TEST(SpecParser, CanonicalFormNormalisesOrderAndDefaults) {
  // Clauses out of order, arguments out of order, redundant parentheses.
  Spec s = mustParse(withClauses("  anchor row\n"
                                 "  score (s) * 2\n"
                                 "  schedule split_kv(64)\n"
                                 "  link exp\n"
                                 "  mask ((i >= j))\n"
                                 "  carrier window(sinks=4, align=top_left, left=16)\n"
                                 "  scale 1 / sqrt(D)\n"));
  EXPECT_EQ(printSpec(s), std::string(kPreamble) +
                              "attention a(q, k, v) {\n"
                              "  carrier window(left=16, sinks=4, align=top_left)\n"
                              "  mask i >= j\n"
                              "  scale 1 / sqrt(D)\n"
                              "  score s * 2\n"
                              "  link exp\n"
                              "  anchor row\n"
                              "  schedule split_kv(64)\n"
                              "}\n"
                              "output o = a\n");
}

TEST(SpecParser, PrintIsIdempotent) {
  for (const std::string &text :
       {std::string(kEverything), std::string(kPoolAndAxes), withClauses(""),
        withClauses("  mask -(i - j) <= 3 && !(j > i)\n  score -s ^ 2 / (1 + 2 ^ -s)\n"),
        withClauses("  anchor row(null=-inf)\n  link sigmoid\n"),
        withClauses("  anchor row(null=-2.5)\n  link softplus\n")}) {
    Spec s = mustParse(text);
    std::string once = printSpec(s);
    auto again = parseSpecText(once, "p.attn");
    ASSERT_TRUE(!!again) << llvm::toString(again.takeError());
    EXPECT_EQ(printSpec(*again), once);
  }
}

//===----------------------------------------------------------------------===//
// Syntax errors
//===----------------------------------------------------------------------===//

TEST(SpecParserErrors, QuotesTheSourceLineWithACaretAndRange) {
  // The caret marks the column, the range the whole offending token.
  EXPECT_EQ(errorOf(withClauses("  link exp\n  link sigmoid\n")),
            "t.attn:8:3: error: duplicate 'link' clause in attention 'a'; the first is at 7:3\n"
            "  link sigmoid\n"
            "  ^~~~");
}

TEST(SpecParserErrors, DuplicateClauses) {
  for (const char *clause : {"scale 1", "link exp", "anchor row", "weights signed",
                             "schedule split_kv(8)", "score_conv(weight=w)"}) {
    std::string c = std::string("  ") + clause + "\n";
    std::string msg = firstLine(errorOf(withClauses(c + c, "input w : [H, 1, 1]\n")));
    std::string kw = llvm::StringRef(clause).take_until([](char x) {
                                              return x == ' ' || x == '(';
                                            }).str();
    EXPECT_EQ(msg, "t.attn:9:3: error: duplicate '" + kw +
                       "' clause in attention 'a'; the first is at 8:3")
        << clause;
  }
  // Repeatable clauses are fine.
  EXPECT_EQ(errorOf(withClauses("  mask i >= j\n  mask j >= 0\n  score s\n  score s * 2\n"
                                "  carrier causal\n  carrier causal\n")),
            "");
}

TEST(SpecParserErrors, DuplicateVariant) {
  EXPECT_EQ(firstLine(errorOf("variant a\nvariant b\n")),
            "t.attn:2:1: error: duplicate 'variant' statement; the first is at 1:1");
}

TEST(SpecParserErrors, MissingClosingBrace) {
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) +
                              "attention a(q, k, v) {\n  mask i >= j\noutput o = a\n")),
            "t.attn:8:1: error: expected '}' to close attention 'a' (opened at 6:22) before "
            "'output'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "attention a(q, k, v) {\n  mask i >= j\n")),
            "t.attn:8:1: error: expected '}' to close attention 'a' (opened at 6:22) before end "
            "of file");
}

TEST(SpecParserErrors, UnterminatedLists) {
  // The forgotten ']' is reported at the end of its line, naming the '['.
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : [B, B\ninput k : [B]\n")),
            "t.attn:3:16: error: unterminated '[': expected ']' to close the '[' at 3:11");
  EXPECT_EQ(firstLine(errorOf(withClauses("  carrier neighborhood(grid=[8, 8, window=[3, 3])\n"))),
            "t.attn:7:42: error: expected ',' or ']' in the list, got '='");
  EXPECT_EQ(firstLine(errorOf(withClauses("  carrier window(left=3\n  link exp\n"))),
            "t.attn:7:24: error: unterminated '(': expected ')' to close the '(' at 7:17");
  EXPECT_EQ(firstLine(errorOf(withClauses("  carrier neighborhood(grid=[8, 8)\n"))),
            "t.attn:7:34: error: expected ',' or ']' in the list, got ')'");
  EXPECT_EQ(firstLine(errorOf(withClauses("  score (s + 1\n  link exp\n"))),
            "t.attn:7:15: error: unterminated '(': expected ')' to close the '(' at 7:9");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : [B,")),
            "t.attn:3:14: error: unterminated '[': expected ']' to close the '[' at 3:11");
}

TEST(SpecParserErrors, Statements) {
  EXPECT_EQ(firstLine(errorOf("variant t\natention a(q, k, v) {\n}\n")),
            "t.attn:2:1: error: unknown statement 'atention'; expected one of variant, dims, "
            "input, let, attention, output; did you mean 'attention'?");
  EXPECT_EQ(firstLine(errorOf("variant t\nmask i >= j\n")),
            "t.attn:2:1: error: unknown statement 'mask'; expected one of variant, dims, input, "
            "let, attention, output; 'mask' is a clause and belongs inside an attention { } "
            "block");
  EXPECT_EQ(firstLine(errorOf("variant t u\n")),
            "t.attn:1:11: error: unexpected 'u' after the variant name; expected end of line");
  EXPECT_EQ(firstLine(errorOf("variant\n")),
            "t.attn:1:8: error: expected a variant name after 'variant', got end of line");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B H\n")),
            "t.attn:2:8: error: unexpected 'H' after the dims list (separate dims with ','); "
            "expected end of line");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q [B]\n")),
            "t.attn:3:9: error: expected ':' after the input name (input NAME : [DIM, ...]), got "
            "'['");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : []\n")),
            "t.attn:3:12: error: a shape needs at least one dim");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : [B, 2.5]\n")),
            "t.attn:3:15: error: expected a dim name or a positive integer in the shape, got "
            "'2.5'");
  EXPECT_EQ(firstLine(errorOf("variant t\n{\n")),
            "t.attn:2:1: error: expected a statement (variant, dims, input, let, attention, "
            "output), got '{'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "output o = a b\n")),
            "t.attn:6:14: error: unexpected 'b' after the output expression; expected end of "
            "line");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "attention a(q, k) {\n}\n")),
            "t.attn:6:17: error: expected ',' after the key tensor, got ')'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "attention a(q, k, v)\n{\n}\n")),
            "t.attn:6:21: error: expected '{' to open the attention block, got end of line");
}

TEST(SpecParserErrors, Lets) {
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rpoe(q)\n")),
            "t.attn:6:9: error: unknown transform 'rpoe'; expected one of rope, l2norm, rmsnorm, "
            "map, paged, pool; did you mean 'rope'?");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = map(q)\n")),
            "t.attn:6:14: error: map needs an expression: map(q, EXPR)");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = map(q, x, 2)\n")),
            "t.attn:6:17: error: map takes one expression: map(q, EXPR)");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rope(q, theta=2*3)\n")),
            "t.attn:6:24: error: expected ',' or ')' in the arguments of 'rope', got '*'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rope(q, theta=)\n")),
            "t.attn:6:23: error: expected a value (a number, a name or a [list]), got ')'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = map(q, x +\n")),
            "t.attn:6:19: error: unterminated '(': expected ')' to close the '(' at 6:12");
}

TEST(SpecParserErrors, Clauses) {
  EXPECT_EQ(firstLine(errorOf(withClauses("  maks i >= j\n"))),
            "t.attn:7:3: error: unknown clause 'maks' in attention 'a'; expected one of carrier, "
            "mask, scale, score, score_conv, link, anchor, weights, schedule, axis; did you mean "
            "'mask'?");
  EXPECT_EQ(firstLine(errorOf(withClauses("  weights unsigned\n"))),
            "t.attn:7:11: error: expected 'signed' after 'weights', got 'unsigned'");
  EXPECT_EQ(firstLine(errorOf(withClauses("  schedule split_q(8)\n"))),
            "t.attn:7:12: error: unknown schedule 'split_q'; expected split_kv");
  EXPECT_EQ(firstLine(errorOf(withClauses("  schedule split_kv(0)\n"))),
            "t.attn:7:21: error: the split_kv chunk must be a positive integer, got '0'");
  EXPECT_EQ(firstLine(errorOf(withClauses("  schedule split_kv(2.5)\n"))),
            "t.attn:7:21: error: the split_kv chunk must be a positive integer, got '2.5'");
  EXPECT_EQ(firstLine(errorOf(withClauses("  score_conv(weight=w, rows=2)\n"))),
            "t.attn:7:24: error: unknown key 'rows' for score_conv; expected one of weight, "
            "queries, keys");
  EXPECT_EQ(firstLine(errorOf(withClauses("  score_conv(queries=2)\n"))),
            "t.attn:7:3: error: score_conv needs 'weight=' naming an input [H, Q, K]");
  EXPECT_EQ(firstLine(errorOf(withClauses("  score_conv(weight=w, keys=0)\n"))),
            "t.attn:7:24: error: score_conv 'keys' must be a positive integer");
  EXPECT_EQ(firstLine(errorOf(withClauses("  carrier neighborhood(grid=[[8], 8])\n"))),
            "t.attn:7:30: error: lists cannot be nested");
  EXPECT_EQ(firstLine(errorOf(withClauses("  carrier window(left=-)\n"))),
            "t.attn:7:24: error: expected a number after '-', got ')'");
  EXPECT_EQ(firstLine(errorOf(withClauses("  mask i = j\n"))),
            "t.attn:7:10: error: unexpected '=' after the clause; expected end of line; did you "
            "mean '=='?");
  EXPECT_EQ(firstLine(errorOf(withClauses("  score\n"))),
            "t.attn:7:8: error: expected an expression, got end of line");
  EXPECT_EQ(firstLine(errorOf(withClauses("  link\n"))),
            "t.attn:7:7: error: expected a link (exp, sigmoid, relu, identity, signed_exp, "
            "softplus), got end of line");
  EXPECT_EQ(firstLine(errorOf(withClauses("  123\n"))),
            "t.attn:7:3: error: expected a clause (carrier, mask, scale, score, score_conv, link, "
            "anchor, weights, schedule, axis) or '}', got '123'");
}

TEST(SpecParserErrors, FilesAreReadAndChecked) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/attnc_spec_test.attn";
  {
    std::FILE *f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string text = withClauses("  link expo\n");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  auto spec = parseSpecFile(path);
  ASSERT_FALSE(spec);
  // Semantic errors of files quote the line too.
  EXPECT_EQ(llvm::toString(spec.takeError()),
            path + ":7:8: error: unknown link 'expo'; expected one of exp, sigmoid, relu, "
                   "identity, signed_exp, softplus; did you mean 'exp'?\n"
                   "  link expo\n"
                   "       ^~~~");
  std::remove(path.c_str());
  auto missing = parseSpecFile(dir + "/no_such_spec.attn");
  ASSERT_FALSE(missing);
  std::string msg = llvm::toString(missing.takeError());
  EXPECT_EQ(msg.rfind(dir + "/no_such_spec.attn:1:1: error: cannot read the spec file: ", 0), 0u)
      << msg;
}

} // namespace
