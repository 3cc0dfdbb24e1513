//===- SpecSemaTest.cpp - Semantic checks of specs ------------------------===//

#include "SpecTestUtil.h"

using namespace attnc::spec;
using namespace attnc::spec::test;

namespace {

/// The first line of the error for a spec whose attention has CLAUSES.
std::string clauseError(const std::string &clauses, const std::string &extra = "") {
  return firstLine(errorOf(withClauses(clauses, extra)));
}

TEST(SpecSema, ValidSpecsPass) {
  EXPECT_EQ(errorOf(kEverything), "");
  EXPECT_EQ(errorOf(withClauses("")), "");
  // Signed links under the row anchor are the dialect verifier's business.
  EXPECT_EQ(errorOf(withClauses("  link identity\n  weights signed\n")), "");
  // Scale may use dims and functions; masks dims and indexed inputs.
  EXPECT_EQ(errorOf(withClauses("  scale 1 / sqrt(D) * exp(0.5)\n"
                                "  mask doc[i] >= 0 && i < L && !(j > i + 4) || b == 0\n",
                                "input doc : [L]\n")),
            "");
  EXPECT_EQ(errorOf(withClauses("  score select(i >= j, s, -inf)\n"
                                "  score s + min(abs(i - j), 8) ^ 2 // 3 % 2\n")),
            "");
  EXPECT_EQ(errorOf(std::string(kPreamble) +
                    "attention a(q, k, v) {\n}\nattention a2(q, k, v) {\n}\n"
                    "output o = a * 0.5 + a2 * g[h, d]\n"
                    "input g : [H, D]\n"),
            "");
}

TEST(SpecSema, Variant) {
  EXPECT_EQ(firstLine(errorOf("dims B\n")),
            "t.attn:1:1: error: missing 'variant NAME' statement (every spec names its variant)");
  EXPECT_EQ(firstLine(errorOf("variant t\n")),
            "t.attn:1:9: error: the spec has no output; add one such as 'output o = a'");
}

TEST(SpecSema, Names) {
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B, H, B\n")),
            "t.attn:2:12: error: duplicate name 'B'");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B, i\n")),
            "t.attn:2:9: error: 'i' is reserved (s, x, b, h, i, j, d are index variables and "
            "the score/element); rename this dim");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "input s : [B]\n")),
            "t.attn:6:7: error: 's' is reserved (s, x, b, h, i, j, d are index variables and "
            "the score/element); rename this input");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "input inf : [B]\n")),
            "t.attn:6:7: error: 'inf' is the infinity literal; rename this input");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "input q : [B]\n")),
            "t.attn:6:7: error: duplicate name 'q'");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let k = l2norm(q)\n")),
            "t.attn:6:5: error: duplicate name 'k'");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output a = a\n")),
            "t.attn:9:8: error: duplicate name 'a'");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output o = a\n")),
            "t.attn:9:8: error: duplicate name 'o'");
}

TEST(SpecSema, Shapes) {
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B, H\ninput q : [B, Hh]\n")),
            "t.attn:3:15: error: unknown dim 'Hh' in the shape of 'q'; did you mean 'H'?");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : [B, Zed]\n")),
            "t.attn:3:15: error: unknown dim 'Zed' in the shape of 'q'; declare it in the dims "
            "statement");
  EXPECT_EQ(firstLine(errorOf("variant t\ninput q : [B]\n")),
            "t.attn:2:12: error: unknown dim 'B' in the shape of 'q'; declare it with 'dims B'");
  EXPECT_EQ(firstLine(errorOf("variant t\ndims B\ninput q : [B, 0]\n")),
            "t.attn:3:15: error: shape entries must be declared dims or positive integers, got 0");
  EXPECT_EQ(errorOf("variant t\ndims B\ninput q : [B, 16]\noutput o = q[b, 0] + 1\n"), "");
}

TEST(SpecSema, Lets) {
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rope(qq)\n")),
            "t.attn:6:14: error: unknown tensor 'qq' in let 'y'; a let transforms an input or an "
            "earlier let; did you mean 'q'?");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "input g : [H, D]\nlet y = l2norm(g)\n")),
            "t.attn:7:16: error: let 'y' transforms 'g' of rank 2; transforms apply to rank-4 "
            "[B, H, L, D] tensors");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rope(q, thta=2)\n")),
            "t.attn:6:17: error: unknown key 'thta' for transform 'rope'; expected one of theta, "
            "offset; did you mean 'theta'?");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rope(q, 10000)\n")),
            "t.attn:6:17: error: transform 'rope' takes keyword arguments (theta=...); expected "
            "one of theta, offset");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = rmsnorm(q, eps=0)\n")),
            "t.attn:6:20: error: transform 'rmsnorm' 'eps' must be a positive number");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = map(q, x * s)\n")),
            "t.attn:6:20: error: 's' is not available in a map expression; a map expression may "
            "use x, b, h, i, d, dims, indexed inputs");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "let y = map(q, x > 0)\n")),
            "t.attn:6:16: error: a map expression must be a number, not a condition; use "
            "select(cond, a, b) to pick between numbers");
  // Lets chain, in order.
  EXPECT_EQ(errorOf(std::string(kPreamble) +
                    "let y = map(q, x * d + D)\nlet z = rope(y, theta=500, offset=-3)\n"
                    "attention a(z, k, v) {\n}\noutput o = a\n"),
            "");
}

TEST(SpecSema, AttentionOperands) {
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) + "attention a(q, kk, v) {\n}\n")),
            "t.attn:6:16: error: unknown tensor 'kk' as the key of attention 'a'; expected an "
            "input, a let or an earlier attention; did you mean 'k'?");
  // An earlier attention's result is an operand; a later one (or itself) is not.
  EXPECT_EQ(errorOf(std::string(kPreamble) +
                    "attention a(q, k, v) {\n}\nattention a2(a, k, v) {\n}\noutput o = a2\n"),
            "");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) +
                              "attention a(q, k, a2) {\n}\nattention a2(q, k, v) {\n}\noutput o = a\n")),
            "t.attn:6:19: error: unknown tensor 'a2' as the value of attention 'a'; expected an input, a "
            "let or an earlier attention");
  EXPECT_EQ(firstLine(errorOf(std::string(kPreamble) +
                              "input g : [B, H, L]\nattention a(q, k, g) {\n}\n")),
            "t.attn:7:19: error: the value of attention 'a', 'g', has rank 3; q, k and v must "
            "be rank-4 [B, H, L, D] tensors");
}

TEST(SpecSema, Carriers) {
  EXPECT_EQ(clauseError("  carrier casual\n"),
            "t.attn:7:11: error: unknown carrier 'casual'; expected one of causal, window, "
            "document, prefix, lengths, neighborhood, block_list, block_select; did you mean 'causal'?");
  EXPECT_EQ(clauseError("  carrier window(lft=3)\n"),
            "t.attn:7:18: error: unknown key 'lft' for carrier 'window'; expected one of left, "
            "right, sinks, align; did you mean 'left'?");
  EXPECT_EQ(clauseError("  carrier window(right=3)\n"),
            "t.attn:7:11: error: carrier 'window' needs 'left='");
  EXPECT_EQ(clauseError("  carrier window(128)\n"),
            "t.attn:7:18: error: carrier 'window' takes keyword arguments (left=...); expected "
            "one of left, right, sinks, align");
  EXPECT_EQ(clauseError("  carrier window(left=2, left=3)\n"),
            "t.attn:7:26: error: duplicate key 'left' for carrier 'window'");
  EXPECT_EQ(clauseError("  carrier window(left=1.5)\n"),
            "t.attn:7:18: error: carrier 'window' 'left' must be a non-negative integer");
  EXPECT_EQ(clauseError("  carrier window(left=-1)\n"),
            "t.attn:7:18: error: carrier 'window' 'left' must be a non-negative integer");
  EXPECT_EQ(clauseError("  carrier window(left=4, right=-1)\n"), "");
  EXPECT_EQ(clauseError("  carrier causal(align=top)\n"),
            "t.attn:7:18: error: carrier 'causal' 'align' must be one of top_left, bottom_right, "
            "got 'top'");
  EXPECT_EQ(clauseError("  carrier causal(align=botom_right)\n"),
            "t.attn:7:18: error: carrier 'causal' 'align' must be one of top_left, bottom_right, "
            "got 'botom_right'; did you mean 'bottom_right'?");
  EXPECT_EQ(clauseError("  carrier prefix(length=x)\n"),
            "t.attn:7:18: error: carrier 'prefix' 'length' must be a non-negative integer");
  EXPECT_EQ(clauseError("  carrier document(seqlens=cu)\n", "input cu : [B, L]\n"),
            "t.attn:8:20: error: carrier 'document' 'seqlens' needs a rank-1 input, but 'cu' has "
            "rank 2");
  EXPECT_EQ(clauseError("  carrier document(seqlens=cv)\n", "input cu : [L]\n"),
            "t.attn:8:20: error: unknown input 'cv' for carrier 'document' 'seqlens'; did you "
            "mean 'cu'?");
  EXPECT_EQ(clauseError("  carrier document(seqlens=3)\n"),
            "t.attn:7:20: error: carrier 'document' 'seqlens' must name an integer input of "
            "rank 1");
  EXPECT_EQ(clauseError("  carrier block_list(offsets=off, indices=idx)\n",
                        "input off : [B, H, L]\ninput idx : [B, L]\n"),
            "t.attn:9:35: error: carrier 'block_list' 'indices' needs a rank-3 input, but 'idx' "
            "has rank 2");
  EXPECT_EQ(clauseError("  carrier block_list(q_block=0, offsets=off, indices=off)\n",
                        "input off : [B, H, L]\n"),
            "t.attn:8:22: error: carrier 'block_list' 'q_block' must be a positive integer");
}

TEST(SpecSema, Neighborhood) {
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[8, 8], window=[3])\n"),
            "t.attn:7:37: error: carrier 'neighborhood' 'window' has 1 entries, but 'grid' has "
            "2 axes");
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[2, 2, 2, 2], window=[1, 1, 1, 1])\n"),
            "t.attn:7:24: error: carrier 'neighborhood' supports 1 to 3 axes, 'grid' has 4");
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[8], window=[3], causal=[2])\n"),
            "t.attn:7:54: error: carrier 'neighborhood' 'causal' elements must be true, false, 0 "
            "or 1");
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[8], window=3)\n"),
            "t.attn:7:34: error: carrier 'neighborhood' 'window' must be a list of positive "
            "integers like [3, 3]");
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[8, 0], window=[3, 3])\n"),
            "t.attn:7:33: error: carrier 'neighborhood' 'grid' elements must be positive integers");
  EXPECT_EQ(clauseError("  carrier neighborhood(window=[3])\n"),
            "t.attn:7:11: error: carrier 'neighborhood' needs 'grid='");
  EXPECT_EQ(clauseError("  carrier neighborhood(grid=[4, 4, 4], window=[3, 3, 3], causal=[1, 0, "
                        "true], stride=[2, 2, 2], dilation=[1, 1, 2])\n"),
            "");
}

TEST(SpecSema, LinksAndAnchors) {
  EXPECT_EQ(clauseError("  link expo\n"),
            "t.attn:7:8: error: unknown link 'expo'; expected one of exp, sigmoid, relu, "
            "identity, signed_exp, softplus; did you mean 'exp'?");
  EXPECT_EQ(clauseError("  link softmax\n"),
            "t.attn:7:8: error: unknown link 'softmax'; expected one of exp, sigmoid, relu, "
            "identity, signed_exp, softplus");
  EXPECT_EQ(clauseError("  link relu(power=0)\n"),
            "t.attn:7:13: error: link 'relu' 'power' must be a positive number");
  EXPECT_EQ(clauseError("  link relu(pow=2)\n"),
            "t.attn:7:13: error: unknown key 'pow' for link 'relu'; expected one of power; did "
            "you mean 'power'?");
  EXPECT_EQ(clauseError("  link exp(power=2)\n"),
            "t.attn:7:12: error: link 'exp' takes no arguments, got 'power'");
  EXPECT_EQ(clauseError("  anchor rows\n"),
            "t.attn:7:10: error: unknown anchor 'rows'; expected one of row, none, row_abs, "
            "sinkhorn; did you mean 'row'?");
  EXPECT_EQ(clauseError("  anchor sinkhorn\n"),
            "t.attn:7:10: error: anchor 'sinkhorn' needs 'iterations='");
  EXPECT_EQ(clauseError("  anchor sinkhorn(iterations=0)\n"),
            "t.attn:7:19: error: anchor 'sinkhorn' 'iterations' must be a positive integer");
  EXPECT_EQ(clauseError("  anchor sinkhorn(iterations=2.5)\n"),
            "t.attn:7:19: error: anchor 'sinkhorn' 'iterations' must be a positive integer");
  EXPECT_EQ(clauseError("  anchor row(null=0.0)\n"), "");
  EXPECT_EQ(clauseError("  anchor row(null=-inf)\n"), "");
  EXPECT_EQ(clauseError("  anchor row(null=sinks)\n", "input sinks : [H]\n"), "");
  EXPECT_EQ(clauseError("  anchor row(null=sink)\n", "input sinks : [H]\n"),
            "t.attn:8:14: error: unknown input 'sink' for anchor 'row' 'null'; expected a number "
            "or the name of an [H] input; did you mean 'sinks'?");
  EXPECT_EQ(clauseError("  anchor row(null=sinks)\n", "input sinks : [L]\n"),
            "t.attn:8:14: error: anchor 'row' 'null' input 'sinks' has shape [L], but the heads "
            "are H, H");
  EXPECT_EQ(clauseError("  anchor row(null=sinks)\n", "input sinks : [H, H]\n"),
            "t.attn:8:14: error: anchor 'row' 'null' needs an [H] input, but 'sinks' has rank 2");
  EXPECT_EQ(clauseError("  anchor none(x=1)\n"),
            "t.attn:7:15: error: anchor 'none' takes no arguments, got 'x'");
}

TEST(SpecSema, ScoreConv) {
  EXPECT_EQ(clauseError("  score_conv(weight=w, queries=2, keys=3)\n", "input w : [H, 2, 3]\n"), "");
  EXPECT_EQ(clauseError("  score_conv(weight=w, queries=2, keys=3)\n", "input w : [H, 2, 2]\n"),
            "t.attn:8:3: error: score_conv weight 'w' has shape [H, 2, 2], but queries=2 and "
            "keys=3 need [H, 2, 3]");
  EXPECT_EQ(clauseError("  score_conv(weight=w)\n", "input w : [H, 2]\n"),
            "t.attn:8:3: error: score_conv 'weight' needs an input [H, Q, K], but 'w' has rank 2");
  EXPECT_EQ(clauseError("  score_conv(weight=ww)\n", "input w : [H, 1, 1]\n"),
            "t.attn:8:3: error: unknown input 'ww' for score_conv 'weight'; did you mean 'w'?");
}

TEST(SpecSema, ExpressionScoping) {
  // Unknown identifiers, with suggestions when close.
  EXPECT_EQ(clauseError("  mask i >= jj\n"),
            "t.attn:7:13: error: unknown identifier 'jj'; did you mean 'j'?");
  EXPECT_EQ(clauseError("  mask i < LL\n"),
            "t.attn:7:12: error: unknown identifier 'LL'; did you mean 'L'?");
  EXPECT_EQ(clauseError("  mask i < foo\n"),
            "t.attn:7:12: error: unknown identifier 'foo'; a mask may use b, h, i, j, dims, "
            "indexed inputs");
  EXPECT_EQ(clauseError("  score s + slope[h]\n", "input slopes : [H]\n"),
            "t.attn:8:13: error: unknown input 'slope'; did you mean 'slopes'?");
  // Variables of other contexts.
  EXPECT_EQ(clauseError("  mask s > 0\n"),
            "t.attn:7:8: error: 's' is not available in a mask; a mask may use b, h, i, j, dims, "
            "indexed inputs");
  EXPECT_EQ(clauseError("  score s * d\n"),
            "t.attn:7:13: error: 'd' is not available in a score; a score may use s, b, h, i, j, "
            "dims, indexed inputs");
  EXPECT_EQ(clauseError("  scale 1 / sqrt(i)\n"),
            "t.attn:7:18: error: 'i' is not available in a scale; a scale may use numbers, dims "
            "and functions");
  EXPECT_EQ(clauseError("  scale t[0]\n", "input t : [H]\n"),
            "t.attn:8:9: error: inputs cannot be used in a scale");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output o2 = a + j\n")),
            "t.attn:9:17: error: 'j' is not available in an output; an output may use b, h, i, d, "
            "dims, indexed inputs, attention results");
  EXPECT_EQ(clauseError("  mask a > 0\n"),
            "t.attn:7:8: error: attention result 'a' can only be used in an output expression");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output o2 = aa\n")),
            "t.attn:9:13: error: unknown identifier 'aa'; did you mean 'a'?");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output o2 = a[b, h, i, d]\n")),
            "t.attn:9:13: error: attention result 'a' is used bare: write 'a', not 'a[...]'");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "output o2 = q\n")),
            "t.attn:9:13: error: input 'q' must be indexed: q[..., ..., ..., ...] (rank 4)");
  EXPECT_EQ(firstLine(errorOf(withClauses("") + "let y = l2norm(q)\noutput o2 = y[b, h, i, d]\n")),
            "t.attn:10:13: error: 'y' is a let and cannot be indexed; index an input");
  EXPECT_EQ(clauseError("  mask i[0] > 0\n"),
            "t.attn:7:8: error: 'i' is not a tensor and cannot be indexed");
  // Subscript counts.
  EXPECT_EQ(clauseError("  mask doc[i, j] > 0\n", "input doc : [L]\n"),
            "t.attn:8:8: error: input 'doc' has rank 1 but 2 subscripts are given");
  EXPECT_EQ(clauseError("  score s + q[b, h, i]\n"),
            "t.attn:7:13: error: input 'q' has rank 4 but 3 subscripts are given");
  EXPECT_EQ(clauseError("  mask doc[i < j] > 0\n", "input doc : [L]\n"),
            "t.attn:8:12: error: a subscript must be a number, not a condition");
}

TEST(SpecSema, FunctionsAndArity) {
  EXPECT_EQ(clauseError("  score min(s)\n"),
            "t.attn:7:9: error: function 'min' takes 2 arguments, got 1");
  EXPECT_EQ(clauseError("  score exp(s, 2)\n"),
            "t.attn:7:9: error: function 'exp' takes 1 argument, got 2");
  EXPECT_EQ(clauseError("  score select(i < j, s)\n"),
            "t.attn:7:9: error: function 'select' takes 3 arguments, got 2");
  EXPECT_EQ(clauseError("  score expp(s)\n"),
            "t.attn:7:9: error: unknown function 'expp'; expected one of exp, log, tanh, "
            "sigmoid, relu, abs, sqrt, floor, elu, silu, sign, softplus, sin, cos, tan, erf, gelu, "
            "log2, exp2, min, max, pow, softcap, "
            "select, xor; did you mean 'exp'?");
  EXPECT_EQ(clauseError("  score s + doc(i)\n", "input doc : [L]\n"),
            "t.attn:8:13: error: unknown function 'doc'; expected one of exp, log, tanh, "
            "sigmoid, relu, abs, sqrt, floor, elu, silu, sign, softplus, sin, cos, tan, erf, gelu, "
            "log2, exp2, min, max, pow, softcap, "
            "select, xor; 'doc' is an input: index it with [ ]");
  // The transcendental functions take one argument.
  for (const char *fn : {"sin", "cos", "tan", "erf", "gelu", "log2", "exp2"})
    EXPECT_EQ(clauseError(std::string("  score ") + fn + "(s, s)\n"),
              std::string("t.attn:7:9: error: function '") + fn + "' takes 1 argument, got 2");
}

TEST(SpecSema, ConditionsAndNumbers) {
  EXPECT_EQ(clauseError("  mask i + j\n"),
            "t.attn:7:8: error: a mask must be a condition (a comparison such as i >= j, "
            "combined with &&, || and !), not a number");
  EXPECT_EQ(clauseError("  score i < j\n"),
            "t.attn:7:9: error: a score must be a number, not a condition; use 'mask' for "
            "conditions or select(cond, a, b)");
  EXPECT_EQ(clauseError("  scale 1 > 0\n"),
            "t.attn:7:9: error: a scale must be a number, not a condition; use select(cond, a, "
            "b) to pick between numbers");
  EXPECT_EQ(clauseError("  mask i && j > 0\n"),
            "t.attn:7:10: error: '&&' needs conditions, but its left operand is a number; "
            "compare it (e.g. x != 0)");
  EXPECT_EQ(clauseError("  mask !i\n"),
            "t.attn:7:8: error: '!' needs a condition, but its operand is a number");
  EXPECT_EQ(clauseError("  score s * (i < j)\n"),
            "t.attn:7:11: error: arithmetic '*' needs numbers, but its right operand is a "
            "condition; use select(cond, a, b)");
  EXPECT_EQ(clauseError("  mask (i < j) & 1 == 0\n"),
            "t.attn:7:16: error: bitwise '&' works on integers, but its left operand is a "
            "condition; combine conditions with '&&'");
  EXPECT_EQ(clauseError("  score s + sum(r, w[r] * u[r])\n", "input w : [L]\ninput u : [D]\n"),
            "t.attn:9:27: error: sum's variable 'r' runs over 'L' in 'w' but over 'D' in 'u'; the "
            "axes it subscripts must have one extent");
  EXPECT_EQ(clauseError("  score s + sum(L, q[b, h, i, L])\n"),
            "t.attn:7:17: error: sum's variable 'L' is already a name here; pick a new one");
  EXPECT_EQ(clauseError("  mask -(i < j)\n"),
            "t.attn:7:8: error: '-' needs a number, but its operand is a condition; use '!' to "
            "negate a condition");
  EXPECT_EQ(clauseError("  mask (i < j) == (j < i)\n"),
            "t.attn:7:16: error: '==' compares numbers, but its left operand is a condition; "
            "combine conditions with '&&' and '||'");
  EXPECT_EQ(clauseError("  score select(i, s, 0)\n"),
            "t.attn:7:16: error: select's first argument must be a condition");
  EXPECT_EQ(clauseError("  score select(i < j, s, j > 0)\n"),
            "t.attn:7:26: error: select's branches must be numbers; combine conditions with '&&' "
            "and '||' instead");
  EXPECT_EQ(clauseError("  score exp(i < j)\n"),
            "t.attn:7:13: error: function 'exp' needs numbers, but argument 1 is a condition");
}

TEST(SpecSema, HandBuiltSpecsAreChecked) {
  // The checker does not rely on the parser: AST built by hand (e.g. the
  // JSON form, or tools) gets the same checks, and missing pieces do not
  // crash it.
  Spec s;
  s.name = "bad name";
  s.loc = SourceLoc{"h", 1, 9};
  llvm::Error err = checkSpec(s);
  EXPECT_EQ(firstLine(llvm::toString(std::move(err))),
            "h:1:9: error: 'bad name' is not a valid variant name; names are letters, digits and "
            "'_', not starting with a digit");
  s.name = "ok";
  OutputDecl o;
  o.name = "o";
  s.outputs.push_back(o); // no expression
  err = checkSpec(s);
  EXPECT_EQ(firstLine(llvm::toString(std::move(err))),
            ":0:0: error: missing expression for an output");
}

//===----------------------------------------------------------------------===//
// Several errors, notes and ranges
//===----------------------------------------------------------------------===//

TEST(SpecSemaDiagnostics, IndependentErrorsAreReportedTogether) {
  // Unrelated errors in three statements: all of them, in source order.
  EXPECT_EQ(errorOf(std::string(kPreamble) +
                    "input bias : [H, Lq]\n"     // 6: unknown dim
                    "attention a(q, k, v) {\n"  // 7
                    "  mask i >= jj\n"          // 8: unknown identifier
                    "  link expo\n"             // 9: unknown link (same attention)
                    "}\n"
                    "output o = a * 2 + bb\n"), // 11: unknown identifier
            "t.attn:6:18: error: unknown dim 'Lq' in the shape of 'bias'; did you mean 'L'?\n"
            "t.attn:8:13: error: unknown identifier 'jj'; did you mean 'j'?\n"
            "t.attn:9:8: error: unknown link 'expo'; expected one of exp, sigmoid, relu, "
            "identity, signed_exp, softplus; did you mean 'exp'?\n"
            "t.attn:11:20: error: unknown identifier 'bb'; did you mean 'b'?");
  // Both operands of one expression are checked.
  EXPECT_EQ(errorOf(withClauses("  mask foo[i] == bar[j]\n")),
            "t.attn:7:8: error: unknown input 'foo'; only inputs can be indexed\n"
            "t.attn:7:18: error: unknown input 'bar'; only inputs can be indexed");
}

TEST(SpecSemaDiagnostics, FailedDeclarationsDoNotCascade) {
  // 'w' has a bad shape: its uses (a let, an attention, an index) add no
  // errors of their own, while an unrelated error later still shows.
  EXPECT_EQ(errorOf(std::string(kPreamble) +
                    "input w : [B, H, Q, D]\n"
                    "let y = rope(w)\n"
                    "attention a(y, k, v) {\n"
                    "  score s + w[b, h, i, 0]\n"
                    "}\n"
                    "output o = a + zz\n"),
            "t.attn:6:18: error: unknown dim 'Q' in the shape of 'w'; declare it in the dims "
            "statement\n"
            "t.attn:11:16: error: unknown identifier 'zz'; an output may use b, h, i, d, dims, "
            "indexed inputs, attention results");
}

TEST(SpecSemaDiagnostics, DuplicatesNoteTheFirstDeclaration) {
  EXPECT_EQ(errorOf("variant t\ndims B, H, B\n"),
            "t.attn:2:12: error: duplicate name 'B'\n"
            "t.attn:2:6: note: 'B' is first declared here\n"
            "t.attn:1:9: error: the spec has no output; add one such as 'output o = a'");
  // Lets, attentions and outputs against inputs ('a' is never declared; an
  // output named twice is not checked further).
  EXPECT_EQ(errorOf(std::string(kPreamble) + "let v = l2norm(q)\n" +
                    "attention q(q, k, v) {\n}\noutput o = a\noutput k = a\n"),
            "t.attn:6:5: error: duplicate name 'v'\n"
            "t.attn:5:7: note: 'v' is first declared here\n"
            "t.attn:7:11: error: duplicate name 'q'\n"
            "t.attn:3:7: note: 'q' is first declared here\n"
            "t.attn:9:12: error: unknown identifier 'a'; an output may use b, h, i, d, dims, "
            "indexed inputs, attention results\n"
            "t.attn:10:8: error: duplicate name 'k'\n"
            "t.attn:4:7: note: 'k' is first declared here");
  // Duplicate keyword arguments note the first one too.
  EXPECT_EQ(errorOf(withClauses("  carrier window(left=4, left=8)\n")),
            "t.attn:7:26: error: duplicate key 'left' for carrier 'window'\n"
            "t.attn:7:18: note: the first 'left' is here");
}

TEST(SpecSemaDiagnostics, FilesQuoteLinesWithCaretsAndRanges) {
  // parseSpecFile quotes the source: a caret at the location and a range
  // under the token or expression, for errors and notes alike.
  EXPECT_EQ(fileErrorOf(std::string(kPreamble) +
                        "input q : [B]\n"
                        "attention a(q, k, v) {\n"
                        "  mask i + j * 2\n"
                        "  link expo\n"
                        "}\n"
                        "output o = a\n"),
            "DIR/t.attn:6:7: error: duplicate name 'q'\n"
            "input q : [B]\n"
            "      ^\n"
            "DIR/t.attn:3:7: note: 'q' is first declared here\n"
            "input q : [B, H, L, D]\n"
            "      ^\n"
            "DIR/t.attn:8:8: error: a mask must be a condition (a comparison such as i >= j, "
            "combined with &&, || and !), not a number\n"
            "  mask i + j * 2\n"
            "       ^~~~~~~~~\n"
            "DIR/t.attn:9:8: error: unknown link 'expo'; expected one of exp, sigmoid, relu, "
            "identity, signed_exp, softplus; did you mean 'exp'?\n"
            "  link expo\n"
            "       ^~~~");
}

TEST(SpecSemaDiagnostics, JsonFormErrorsKeepTheirPointers) {
  // Several semantic errors of the JSON form, each at its JSON pointer.
  std::string msg = jsonErrorOf(R"({"variant": "t", "dims": ["B", "H", "L", "D"],
  "inputs": [{"name": "q", "shape": ["B", "H", "L", "D"]},
             {"name": "k", "shape": ["B", "H", "L", "E"]}],
  "attentions": [{"name": "a", "q": "q", "k": "k", "v": "vv", "link": "expo"}],
  "outputs": [{"name": "o", "expr": "a"}]})");
  EXPECT_EQ(msg,
            "t.json:/inputs/1/shape/3:3:53: error: unknown dim 'E' in the shape of 'k'; declare it "
            "in the dims statement\n"
            "t.json:/attentions/0/v:4:57: error: unknown tensor 'vv' as the value of attention "
            "'a'; expected an input, a let or an earlier attention\n"
            "t.json:/attentions/0/link:4:71: error: unknown link 'expo'; expected one of exp, "
            "sigmoid, relu, identity, signed_exp, softplus; did you mean 'exp'?");
}

} // namespace

// +inf as the null logit would take the row maximum itself (inf - inf):
// refused; -inf (no null key) stays accepted (LinksAndAnchors).
TEST(SpecSema, NullLogitPlusInfinityIsRefused) {
  EXPECT_NE(clauseError("  anchor row(null=inf)\n").find("'null' must be a number below +inf"),
            std::string::npos);
}
TEST(SpecSema, PoolLetsAndAxes) {
  EXPECT_EQ(errorOf(kPoolAndAxes), "");
  std::string pre = kPreamble;
  EXPECT_EQ(firstLine(errorOf(pre + "let y = pool(k, stride=2)\n")), "t.attn:6:9: error: transform 'pool' needs 'size='");
  EXPECT_EQ(firstLine(errorOf(pre + "let y = pool(k, size=0)\n")), "t.attn:6:17: error: transform 'pool' 'size' must be a positive integer");
  EXPECT_EQ(firstLine(errorOf(pre + "let y = pool(k, size=4, op=median)\n")), "t.attn:6:25: error: transform 'pool' 'op' must be one of mean, max, sum, got "
            "'median'; did you mean 'mean'?");
  EXPECT_EQ(firstLine(errorOf(pre + "let y = pool(k, size=4, stride=5)\n")),
            "t.attn:6:25: error: pool stride 5 exceeds its size 4: the groups would skip tokens; "
            "pool every token (stride <= size) and mask the groups instead");
  EXPECT_EQ(errorOf(pre + "let y = pool(k, size=4, stride=4)\nattention a(q, y, y) {\n}\n"
                          "output o = a\n"),
            "");
  EXPECT_EQ(firstLine(errorOf(pre + "let y = l2norm(k, axis=heads)\n")), "t.attn:6:19: error: transform 'l2norm' 'axis' must be one of features, tokens, "
            "got 'heads'");
  EXPECT_EQ(clauseError("  axis sideways\n"), "t.attn:7:8: error: expected 'tokens' or 'features' after 'axis', got 'sideways'");
  EXPECT_EQ(clauseError("  axis tokens\n  axis features\n"), "t.attn:8:3: error: duplicate 'axis' clause in attention 'a'; the first is at 7:3");
  // Token positions have no meaning along the feature axis; a mask over channels does.
  EXPECT_EQ(clauseError("  axis features\n  carrier causal\n"), "t.attn:8:11: error: carrier 'causal' selects keys by token position, but attention 'a' "
            "runs along the feature axis (axis features, at t.attn:7:3): its rows and columns are "
            "channels, not tokens; write a mask over the channel indices i and j instead");
  EXPECT_EQ(clauseError("  axis features\n  schedule split_kv(64)\n"), "t.attn:6:11: error: schedule split_kv splits the keys' tokens, but attention 'a' runs "
            "along the feature axis (axis features, at t.attn:7:3): its rows and columns are "
            "channels, not tokens");
  EXPECT_EQ(clauseError("  axis features\n  mask i >= j\n"), "");
  EXPECT_EQ(clauseError("  axis tokens\n  carrier causal\n"), "");
}
