//===- SpecJsonTest.cpp - The JSON form: reading, writing, errors ---------===//

#include "SpecTestUtil.h"

#include <cstdio>

using namespace attnc::spec;
using namespace attnc::spec::test;

namespace {

const char *kJson = R"J({"variant": "alibi", "dims": ["B","H","L","D"],
 "inputs": [{"name": "q", "shape": ["B","H","L","D"]},
            {"name": "k", "shape": ["B","H","L","D"]},
            {"name": "v", "shape": ["B","H","L","D"]},
            {"name": "doc", "shape": ["L"]},
            {"name": "slopes", "shape": ["H"]},
            {"name": "w", "shape": ["H", 2, 3]}],
 "lets": [{"name": "qr", "fn": "rope", "source": "q", "args": {"theta": 10000}},
          {"name": "qf", "fn": "map", "source": "q", "expr": "elu(x) + 1"}],
 "attentions": [{"name": "a", "q": "qr", "k": "k", "v": "v",
    "carrier": [{"kind": "causal", "align": "bottom_right"},
                {"kind": "neighborhood", "grid": [8,8], "window": [3,3], "causal": [false, true]}],
    "mask": ["doc[i] == doc[j]", "i - j < 100"], "scale": "0.125",
    "score": ["s + slopes[h] * (j - i)"],
    "score_conv": {"weight": "w", "queries": 2, "keys": 3},
    "link": {"kind": "relu", "power": 2}, "anchor": {"kind": "row", "null": 0.0},
    "weights": "signed", "schedule": {"split_kv": 256}}],
 "outputs": [{"name": "o", "expr": "a"}]}
)J";

/// A minimal valid JSON spec with ATTENTION_EXTRA spliced into the attention
/// object (each entry starting with ", ").
std::string jsonWith(const std::string &attentionExtra, const std::string &topExtra = "") {
  return R"({"variant": "t", "dims": ["B", "H", "L", "D"],
"inputs": [{"name": "q", "shape": ["B", "H", "L", "D"]},
  {"name": "k", "shape": ["B", "H", "L", "D"]},
  {"name": "v", "shape": ["B", "H", "L", "D"]}],
"attentions": [{"name": "a", "q": "q", "k": "k", "v": "v")" +
         attentionExtra + R"(}],
"outputs": [{"name": "o", "expr": "a"}])" +
         topExtra + "}\n";
}

std::string jsonError(const std::string &text) { return firstLine(jsonErrorOf(text)); }

TEST(SpecJson, ReadsEveryField) {
  Spec s = mustParseJson(kJson);
  EXPECT_EQ(s.name, "alibi");
  EXPECT_EQ(s.loc.str(), "t.json:/variant:1:13");
  EXPECT_EQ(s.dims, (std::vector<std::string>{"B", "H", "L", "D"}));
  ASSERT_EQ(s.inputs.size(), 6u);
  EXPECT_EQ(s.inputs[5].shape, (std::vector<std::string>{"H", "2", "3"}));
  EXPECT_EQ(s.inputs[5].shapeLocs[1].str(), "t.json:/inputs/5/shape/1:7:42");
  ASSERT_EQ(s.lets.size(), 2u);
  EXPECT_EQ(s.lets[0].args[0].key, "theta");
  EXPECT_EQ(s.lets[0].args[0].number, 10000);
  EXPECT_EQ(printExpr(*s.lets[1].expr), "elu(x) + 1");
  const AttentionDecl &a = s.attentions[0];
  EXPECT_EQ(a.q, "qr");
  EXPECT_EQ(a.qLoc.str(), "t.json:/attentions/0/q:10:36");
  ASSERT_EQ(a.carriers.size(), 2u);
  EXPECT_EQ(a.carriers[0].kind, "causal");
  EXPECT_EQ(a.carriers[0].args[0].word, "bottom_right");
  EXPECT_EQ(a.carriers[1].args[2].list[1].word, "true");
  ASSERT_EQ(a.masks.size(), 2u);
  // Expression locations are relative to the string.
  EXPECT_EQ(a.masks[1]->loc.str(), "t.json:/attentions/0/mask/1:1:7");
  EXPECT_EQ((*a.scale)->number, 0.125);
  EXPECT_EQ(a.scoreConv->keys, 3);
  EXPECT_EQ(a.link, "relu");
  EXPECT_EQ(a.linkArgs[0].number, 2);
  EXPECT_EQ(a.anchor, "row");
  EXPECT_EQ(a.anchorArgs[0].kind, Arg::Kind::Number);
  EXPECT_TRUE(a.signedWeights);
  EXPECT_EQ(a.splitKV, 256);
  EXPECT_EQ(s.outputs[0].name, "o");
}

TEST(SpecJson, DefaultsAndShortForms) {
  Spec s = mustParseJson(jsonWith(R"(, "carrier": {"kind": "causal"}, "mask": "i >= j",
      "scale": 0.5, "link": "sigmoid")"));
  const AttentionDecl &a = s.attentions[0];
  EXPECT_EQ(a.carriers.size(), 1u);
  EXPECT_EQ(a.masks.size(), 1u);
  EXPECT_EQ((*a.scale)->number, 0.5);
  EXPECT_EQ(a.link, "sigmoid");
  EXPECT_EQ(a.anchor, "row");
  Spec c = mustParseJson(jsonWith(R"(, "carrier": "causal")"));
  EXPECT_EQ(c.attentions[0].carriers[0].kind, "causal");
  Spec d = mustParseJson(jsonWith(""));
  EXPECT_EQ(d.attentions[0].link, "exp");
  EXPECT_TRUE(d.lets.empty());
}

TEST(SpecJson, TextToJsonToTextRoundTrips) {
  for (const std::string &text :
       {std::string(kEverything), std::string(kPoolAndAxes), withClauses(""),
        withClauses("  anchor row(null=-inf)\n  link relu(power=1.5)\n  mask !(i < j) || j == 0\n"),
        withClauses("  carrier window(left=2, right=-1)\n  score s + 1e-7 * 2.0\n"),
        // This session's constructs: block_select, bitwise operators, sum(), a declared
        // integer table read by a score line.
        withClauses("  carrier block_select(q_block=128, k_block=64, top_k=4, force=both)\n"
                    "  mask (i & 7) == (j >> 1 | 2) && xor(i, j) != 3\n"
                    "  score s + sum(r, q[b, h, i, r] * k[b, h, j, r]) + w[pos[i]]\n",
                    "input pos : [L] i32\ninput w : [L] float\n")}) {
    Spec s = mustParse(text);
    std::string canonical = printSpec(s);
    std::string json = printSpecJson(s);
    auto back = parseSpecJson(json, "rt.json");
    ASSERT_TRUE(!!back) << llvm::toString(back.takeError()) << "\n" << json;
    EXPECT_FALSE(checkSpec(*back)) << json;
    EXPECT_EQ(printSpec(*back), canonical) << json;
    EXPECT_EQ(printSpecJson(*back), json);
  }
}

TEST(SpecJson, JsonToTextToJsonRoundTrips) {
  Spec s = mustParseJson(kJson);
  std::string json = printSpecJson(s);
  auto text = parseSpecText(printSpec(s), "rt.attn");
  ASSERT_TRUE(!!text) << llvm::toString(text.takeError());
  EXPECT_EQ(printSpecJson(*text), json);
}

TEST(SpecJson, CanonicalJson) {
  Spec s = mustParse(withClauses("  carrier causal\n  anchor row(null=-inf)\n"
                                 "  carrier neighborhood(grid=[4], window=[3], causal=[true])\n"
                                 "  score s * 2\n"
                                 "  link relu(power=2)\n"
                                 "  schedule split_kv(128)\n",
                                 "input sinks : [H]\nlet qr = rope(q, theta=500)\n"));
  EXPECT_EQ(printSpecJson(s), R"({
  "variant": "t",
  "dims": [
    "B",
    "H",
    "L",
    "D"
  ],
  "inputs": [
    {
      "name": "q",
      "shape": [
        "B",
        "H",
        "L",
        "D"
      ]
    },
    {
      "name": "k",
      "shape": [
        "B",
        "H",
        "L",
        "D"
      ]
    },
    {
      "name": "v",
      "shape": [
        "B",
        "H",
        "L",
        "D"
      ]
    },
    {
      "name": "sinks",
      "shape": [
        "H"
      ]
    }
  ],
  "lets": [
    {
      "name": "qr",
      "fn": "rope",
      "source": "q",
      "args": {
        "theta": 500
      }
    }
  ],
  "attentions": [
    {
      "name": "a",
      "q": "q",
      "k": "k",
      "v": "v",
      "carrier": [
        {
          "kind": "causal"
        },
        {
          "kind": "neighborhood",
          "grid": [
            4
          ],
          "window": [
            3
          ],
          "causal": [
            true
          ]
        }
      ],
      "score": [
        "s * 2"
      ],
      "link": {
        "kind": "relu",
        "power": 2
      },
      "anchor": {
        "kind": "row",
        "null": "-inf"
      },
      "schedule": {
        "split_kv": 128
      }
    }
  ],
  "outputs": [
    {
      "name": "o",
      "expr": "a"
    }
  ]
}
)");
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(SpecJsonErrors, SyntaxErrorPosition) {
  std::string msg = jsonErrorOf("{\"variant\": \"t\",\n  \"dims\": [\"B\" \"H\"]\n}\n");
  EXPECT_EQ(firstLine(msg), "t.json:2:16: error: invalid JSON: syntax error while parsing array "
                            "- unexpected string literal; expected ']'");
  // The source line and a caret follow.
  EXPECT_NE(msg.find("\n  \"dims\": [\"B\" \"H\"]\n               ^"), std::string::npos) << msg;
  EXPECT_EQ(jsonError("{\"variant\": \"t\",}"),
            "t.json:1:17: error: invalid JSON: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(jsonError(""), "t.json:1:1: error: invalid JSON: syntax error while parsing value - "
                           "unexpected end of input; expected '[', '{', or a literal");
  EXPECT_EQ(jsonError("{\"variant\": tru}"),
            "t.json:1:13: error: invalid JSON: syntax error while parsing value - invalid "
            "literal; last read: '\"variant\": tru}'");
}

TEST(SpecJsonErrors, UnknownKeys) {
  EXPECT_EQ(jsonError(jsonWith(", \"maks\": [\"i >= j\"]")),
            "t.json:/attentions/0/maks:5:60: error: unknown key 'maks' in an attention; expected "
            "one of name, q, k, v, carrier, mask, scale, score, score_conv, link, anchor, "
            "weights, schedule, axis; did you mean 'mask'?");
  EXPECT_EQ(jsonError(jsonWith("", ", \"output\": []")),
            "t.json:/output:6:42: error: unknown key 'output' in the spec; expected one of "
            "variant, dims, inputs, lets, attentions, outputs; did you mean 'outputs'?");
  EXPECT_EQ(jsonError(jsonWith(", \"schedule\": {\"split\": 4}")),
            "t.json:/attentions/0/schedule/split:5:73: error: unknown key 'split' in a schedule; "
            "expected one of split_kv");
  EXPECT_EQ(jsonError(R"({"variant": "t", "inputs": [{"name": "q", "shape": ["B"], "dtype": "f32"}]})"),
            "t.json:/inputs/0/dtype:1:68: error: an input's dtype must be \"i32\" (an integer "
            "table), \"float\" or \"f8e4m3\", got \"f32\"");
  EXPECT_EQ(jsonError(R"({"variant": "t", "inputs": [{"name": "q", "shape": ["B"], "type": "i32"}]})"),
            "t.json:/inputs/0/type:1:59: error: unknown key 'type' in an input; expected one "
            "of name, shape, dtype; did you mean 'dtype'?");
  // Keys of carriers, links and anchors go through the same checks as text.
  EXPECT_EQ(jsonError(jsonWith(", \"carrier\": [{\"kind\": \"window\", \"lft\": 3}]")),
            "t.json:/attentions/0/carrier/0/lft:5:91: error: unknown key 'lft' for carrier "
            "'window'; expected one of left, right, sinks, align; did you mean 'left'?");
  EXPECT_EQ(jsonError(jsonWith(", \"link\": \"expo\"")),
            "t.json:/attentions/0/link:5:68: error: unknown link 'expo'; expected one of exp, "
            "sigmoid, relu, identity, signed_exp, softplus; did you mean 'exp'?");
}

TEST(SpecJsonErrors, BadTypes) {
  EXPECT_EQ(jsonError(R"({"variant": 3})"),
            "t.json:/variant:1:13: error: 'variant' must be a string, got a number");
  EXPECT_EQ(jsonError(R"([1, 2])"),
            "t.json:1:1: error: expected a spec (a JSON object), got an array");
  EXPECT_EQ(jsonError(R"({"variant": "t", "inputs": {"q": 1}})"),
            "t.json:/inputs:1:28: error: expected a list of inputs (a JSON array), got an object");
  EXPECT_EQ(jsonError(R"({"variant": "t", "inputs": [{"name": "q", "shape": ["B", -1]}]})"),
            "t.json:/inputs/0/shape/1:1:58: error: a shape entry must be a dim name or a "
            "positive integer, got -1");
  EXPECT_EQ(jsonError(R"({"variant": "t", "inputs": [{"name": "q"}]})"),
            "t.json:/inputs/0:1:29: error: missing key 'shape'");
  EXPECT_EQ(jsonError(R"({"variant": "t", "attentions": [{"name": "a", "q": 1, "k": "k"}]})"),
            "t.json:/attentions/0/q:1:52: error: 'q' must be a string, got a number");
  EXPECT_EQ(jsonError(jsonWith(", \"mask\": [1]")),
            "t.json:/attentions/0/mask/0:5:69: error: a mask must be a condition (a comparison "
            "such as i >= j, combined with &&, || and !), not a number");
  EXPECT_EQ(jsonError(jsonWith(", \"mask\": [true]")),
            "t.json:/attentions/0/mask/0:5:69: error: expected an expression string, got a "
            "boolean");
  EXPECT_EQ(jsonError(jsonWith(", \"weights\": \"unsigned\"")),
            "t.json:/attentions/0/weights:5:71: error: 'weights' must be \"signed\" (omit it for "
            "the default)");
  EXPECT_EQ(jsonError(jsonWith(", \"schedule\": {\"split_kv\": 0}")),
            "t.json:/attentions/0/schedule/split_kv:5:85: error: the split_kv chunk must be a "
            "positive integer");
  EXPECT_EQ(jsonError(jsonWith(", \"link\": {\"power\": 2}")),
            "t.json:/attentions/0/link:5:68: error: missing key 'kind'");
  EXPECT_EQ(jsonError(jsonWith(", \"link\": 3")),
            "t.json:/attentions/0/link:5:68: error: expected a link: a name or an object "
            "{\"kind\": ...}, got a number");
  EXPECT_EQ(jsonError(jsonWith(", \"anchor\": {\"kind\": \"row\", \"null\": null}")),
            "t.json:/attentions/0/anchor/null:5:94: error: expected a number, a name or a list, "
            "got null");
  EXPECT_EQ(jsonError(jsonWith(", \"score_conv\": {\"weight\": \"w\", \"queries\": \"2\"}")),
            "t.json:/attentions/0/score_conv/queries:5:90: error: score_conv 'queries' must be "
            "a positive integer");
  EXPECT_EQ(jsonError(jsonWith(", \"carrier\": [{\"kind\": \"neighborhood\", \"grid\": [[8]]}]")),
            "t.json:/attentions/0/carrier/0/grid/0:5:106: error: expected a number or a name, "
            "got an array");
  EXPECT_EQ(jsonError(R"({"variant": "t", "variant": "u"})"),
            "t.json:/variant:1:18: error: duplicate key 'variant'");
}

TEST(SpecJsonErrors, ExpressionStrings) {
  // Columns inside expression strings count from the string's first character.
  EXPECT_EQ(jsonError(jsonWith(", \"mask\": [\"i >= j\", \"i <= (j\"]")),
            "t.json:/attentions/0/mask/1:1:8: error: unterminated '(': expected ')' to close the "
            "'(' at 1:6");
  EXPECT_EQ(jsonError(jsonWith(", \"mask\": [\"i >= j\", \"i <= jj\"]")),
            "t.json:/attentions/0/mask/1:1:6: error: unknown identifier 'jj'; did you mean 'j'?");
  EXPECT_EQ(jsonError(jsonWith(", \"score\": [\"min(s)\"]")),
            "t.json:/attentions/0/score/0:1:1: error: function 'min' takes 2 arguments, got 1");
  EXPECT_EQ(jsonError(jsonWith(", \"score\": [\"s + q[b, h]\"]")),
            "t.json:/attentions/0/score/0:1:5: error: input 'q' has rank 4 but 2 subscripts are "
            "given");
  std::string full = jsonErrorOf(jsonWith(", \"mask\": [\"i >= j\", \"i <= (j\"]"));
  EXPECT_NE(full.find("\ni <= (j\n       ^"), std::string::npos) << full;
}

TEST(SpecJsonErrors, SemanticErrorsPointIntoTheFile) {
  EXPECT_EQ(jsonError(R"({"variant": "t", "dims": ["B"],
  "inputs": [{"name": "q", "shape": ["B", "X"]}]})"),
            "t.json:/inputs/0/shape/1:2:43: error: unknown dim 'X' in the shape of 'q'; declare "
            "it in the dims statement");
  EXPECT_EQ(jsonError(R"({"variant": "t", "dims": ["B"], "outputs": []})"),
            "t.json:/variant:1:13: error: the spec has no output; add one such as 'output o = a'");
  EXPECT_EQ(jsonError(R"({"dims": ["B"]})"),
            "t.json:1:1: error: missing 'variant NAME' statement (every spec names its variant)");
  EXPECT_EQ(jsonError(R"({"variant": "my spec"})"),
            "t.json:/variant:1:13: error: 'my spec' is not a valid variant name; names are "
            "letters, digits and '_', not starting with a digit");
}

TEST(SpecJson, FilesByExtension) {
  std::string path = ::testing::TempDir() + "/attnc_spec_test.json";
  std::FILE *f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fwrite(kJson, 1, std::strlen(kJson), f);
  std::fclose(f);
  auto spec = parseSpecFile(path);
  ASSERT_TRUE(!!spec) << llvm::toString(spec.takeError());
  EXPECT_EQ(spec->name, "alibi");
  std::remove(path.c_str());
}

} // namespace
