//===- SpecAST.h - The attention spec language, parsed ----------*- C++ -*-===//
//
// A spec describes one attention variant as a small dataflow program:
//
//   variant NAME
//   dims B, H, Hk, Lq, Lk, D            # symbolic sizes, bound at run time
//   input q : [B, H, Lq, D]             # tensors (Q, K, V and extra inputs)
//   let qr = rope(q, theta = 10000)     # prologue transforms on q/k-like tensors
//   attention a(qr, k, v) {             # one score chart with its carrier,
//     carrier causal(align = bottom_right)   # modifications, link and anchor
//     mask doc[i] == doc[j]
//     scale 0.125
//     score s + slopes[h] * (j - i)
//     link exp
//     anchor row
//   }
//   output o = a                        # elementwise over (b, h, i, d)
//
// The text form (.attn) and the JSON form map onto these structures 1:1; every
// node carries the location it came from so that errors point at the source.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_SPEC_SPECAST_H
#define ATTNC_SPEC_SPECAST_H

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnc::spec {

/// Integer parameters, literal shape entries and --dim values are at most
/// this (the GPU kernels take sizes as i32; docs/semantics.md).
constexpr int64_t kMaxIntParam = 2147483647;

/// A place in a source: a file and a 1-based line and column. For the JSON
/// form, `file` is "FILE:/json/pointer" and line/col point into the
/// expression string held at that pointer (line 1) or into the file. LEN is
/// how many columns the token or expression covers on that line (0: a point);
/// diagnostics underline them.
struct SourceLoc {
  std::string file;
  unsigned line = 0;
  unsigned col = 0;
  unsigned len = 0;
  std::string str() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(col);
  }
};

//===----------------------------------------------------------------------===//
// Expressions: scalars over index variables, inputs and other scalars.
//===----------------------------------------------------------------------===//

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

/// Scalar expression. Index variables (b, h, i, j, d) and dims are integers;
/// integer arithmetic (+ - * // % and comparisons) stays integer; anything
/// that meets a float (s, x, a tensor element, a float literal, `/`, a
/// function such as exp) is floating point.
struct Expr {
  enum class Kind {
    Number,  // 1, 2.5, 1e-3, inf
    Ident,   // s, x, b, h, i, j, d, a dim name, a tensor name (output exprs)
    Index,   // name[e1, e2, ...]: element of an input tensor
    Unary,   // -e, !e
    Binary,  // + - * / // % ^ == != < <= > >= && ||
    Call,    // f(e1, ...): exp log tanh sigmoid relu abs sqrt min max pow
             // softcap select floor elu silu sign softplus
  };
  Kind kind;
  SourceLoc loc;     // its token (a binary node's: the operator)
  SourceLoc extent;  // the whole expression, where the parser knows it
  double number = 0;       // Number
  bool isInteger = false;  // Number written without '.', 'e' or 'inf'
  std::string name;        // Ident, Index, Call: the name; Unary/Binary: op
  std::vector<ExprPtr> args;  // Index: subscripts; Unary: 1; Binary: 2; Call
};

/// Visits every node of an expression, parents before their operands.
inline void forEachNode(const ExprPtr &e, const std::function<void(const Expr &)> &fn) {
  if (!e)
    return;
  fn(*e);
  for (const ExprPtr &a : e->args)
    forEachNode(a, fn);
}

//===----------------------------------------------------------------------===//
// Declarations.
//===----------------------------------------------------------------------===//

/// `input NAME : [DIM, ...]` (a dim may also be an integer literal).
struct InputDecl {
  std::string name;
  std::vector<std::string> shape;  // dim names or decimal literals
  /// "i32" (an integer table), "float" (the run's float type), "f8e4m3"
  /// (FP8 bytes, widened to the run's float type where read), or "" when
  /// inferred from use (docs/semantics.md, input types).
  std::string dtype;
  SourceLoc dtypeLoc;
  SourceLoc loc;
  std::vector<SourceLoc> shapeLocs;  // one per shape entry (may be empty)
};

/// Whether a declared input dtype is a float one (the run's, or FP8).
inline bool isFloatDecl(const std::string &dtype) {
  return dtype == "float" || dtype == "f8e4m3";
}

/// A named argument `key = value` of a carrier, transform or clause. Values
/// are numbers, identifiers (enum words, tensor names) or lists of them.
struct Arg {
  std::string key;  // empty for positional arguments
  SourceLoc loc;
  enum class Kind { Number, Word, List } kind = Kind::Number;
  double number = 0;
  std::string word;
  std::vector<Arg> list;  // List: elements (Number or Word)
};

/// The argument KEY of ARGS, or null.
inline const Arg *findArg(const std::vector<Arg> &args, const std::string &key) {
  for (const Arg &a : args)
    if (a.key == key)
      return &a;
  return nullptr;
}
/// The word argument KEY gives, or "".
inline std::string argWord(const std::vector<Arg> &args, const std::string &key) {
  const Arg *a = findArg(args, key);
  return a && a->kind == Arg::Kind::Word ? a->word : "";
}
/// The number argument KEY gives, or DFLT.
inline double argNumber(const std::vector<Arg> &args, const std::string &key, double dflt) {
  const Arg *a = findArg(args, key);
  return a && a->kind == Arg::Kind::Number ? a->number : dflt;
}

/// `let NAME = FN(TENSOR, args...)`: a prologue transform, of the same shape:
/// rope(x, theta=, offset=), l2norm(x, eps=, axis=), rmsnorm(x, eps=, axis=),
/// or map(x, EXPR) with `x` the element and b, h, i, d its indices; or of
/// another length: paged(pool, table=, layout=), pool(x, size=, stride=, op=).
struct LetDecl {
  std::string name;
  std::string fn;
  std::string source;     // the tensor transformed
  std::vector<Arg> args;  // keyword arguments
  ExprPtr expr;           // map's expression
  SourceLoc loc;
  SourceLoc fnLoc, sourceLoc;  // where FN and TENSOR were written
};

/// One carrier family: causal, window, document, prefix, neighborhood,
/// block_list. Several carrier lines (and mask lines) intersect.
struct CarrierDecl {
  std::string kind;
  std::vector<Arg> args;
  SourceLoc loc;
};

/// `attention NAME(Q, K, V) { clauses }`.
struct AttentionDecl {
  std::string name;
  std::string q, k, v;
  std::vector<CarrierDecl> carriers;
  std::vector<ExprPtr> masks;   // boolean predicates over b, h, i, j
  std::optional<ExprPtr> scale; // default 1/sqrt(head dim)
  std::vector<ExprPtr> scores;  // applied in order; `s` is the running score
  struct ScoreConv {            // multi-token score convolution
    std::string weight;         // input [H, QW, KW]
    int64_t queries = 1, keys = 1;
    SourceLoc loc;
  };
  std::optional<ScoreConv> scoreConv;
  std::string link = "exp";     // exp sigmoid relu identity signed_exp softplus
  std::vector<Arg> linkArgs;    // relu: power=
  std::string anchor = "row";   // row none row_abs sinkhorn
  std::vector<Arg> anchorArgs;  // row: null= (logit of a null key, an expr
                                // word naming an [H] input or a number);
                                // sinkhorn: iterations=
  bool signedWeights = false;   // `weights signed`
  int64_t splitKV = 0;          // `schedule split_kv(CHUNK)`; 0: none
  /// `axis features`: rows and columns are channels (q's and k's last axis)
  /// and the scores contract over tokens, as cross-covariance attention does.
  bool featureAxis = false;
  SourceLoc loc, linkLoc, anchorLoc, axisLoc;
  SourceLoc qLoc, kLoc, vLoc;   // where Q, K and V were written
};

/// `output NAME = EXPR`: elementwise over (b, h, i, d) of attention results.
struct OutputDecl {
  std::string name;
  ExprPtr expr;
  SourceLoc loc;
};

struct Spec {
  std::string name;
  SourceLoc loc;
  std::vector<std::string> dims;
  std::vector<SourceLoc> dimLocs;
  std::vector<InputDecl> inputs;
  std::vector<LetDecl> lets;
  std::vector<AttentionDecl> attentions;
  std::vector<OutputDecl> outputs;
  /// Warnings of the semantic checks, rendered like errors (with the quoted
  /// line); empty when there are none. Tools print them.
  std::string warnings;
};

} // namespace attnc::spec

#endif // ATTNC_SPEC_SPECAST_H
