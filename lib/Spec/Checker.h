//===- Checker.h - The semantic checker of specs -----------------*- C++ -*-===//
//
// Private to lib/Spec. Sema.cpp checks declarations and clauses, SemaExpr.cpp
// expressions; see Sema.cpp for the rules and for how errors are collected.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_SPEC_CHECKER_H
#define ATTNC_LIB_SPEC_CHECKER_H

#include "SpecUtil.h"

#include "attnc/Spec/SpecAST.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc::spec::detail {
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

class Checker {
public:
  Checker(const Spec &spec, DiagnosticSink &diags) : spec(spec), diags(diags) {}

  /// Whether the spec is valid; every error found is in the sink.
  bool run();

private:
  const Spec &spec;
  DiagnosticSink &diags;

  llvm::StringSet<> dims;
  llvm::StringMap<const InputDecl *> inputs;
  llvm::StringMap<const LetDecl *> lets;
  llvm::StringMap<const AttentionDecl *> attentions;
  llvm::StringMap<SourceLoc> names; // every declared name, for uniqueness
  llvm::StringSet<> poisoned;       // names whose declaration failed

  bool fail(const SourceLoc &l, const llvm::Twine &msg) {
    diags.error(l, msg);
    return false;
  }
  void warn(const SourceLoc &l, const llvm::Twine &msg) { diags.warning(l, msg); }
  /// The name of the sequence dim (axis 2) of tensor NAME, through lets; ""
  /// when it is not a declared dim.
  std::string seqDimOf(std::string name) const;
  void warnAlignment(const AttentionDecl &a);
  std::optional<Ty> checkSum(const Expr &e, const Scope &scope);
  /// Marks NAME's declaration as failed, unless an earlier one of the same
  /// name succeeded (a duplicate does not spoil the original).
  void poison(const std::string &name) {
    if (!dims.contains(name) && !inputs.count(name) && !lets.count(name) &&
        !attentions.count(name))
      poisoned.insert(name);
  }

  bool checkName(const std::string &name, const SourceLoc &l, llvm::StringRef what);
  bool declare(const std::string &name, const SourceLoc &l, llvm::StringRef what);
  bool checkInput(const InputDecl &in);
  bool checkLet(const LetDecl &let);
  bool checkAttention(const AttentionDecl &a);
  bool checkOperands(const AttentionDecl &a);
  bool checkFeatureAxis(const AttentionDecl &a);
  bool checkScoreConv(const AttentionDecl &a);
  bool checkLinkAnchor(const AttentionDecl &a);
  bool checkOutput(const OutputDecl &o);
  bool checkArgs(const std::vector<Arg> &args, const FamilyInfo &family, llvm::StringRef what,
                 const SourceLoc &where, const AttentionDecl *att);
  bool checkValue(const Arg &a, const KeyInfo &key, llvm::StringRef what,
                  const AttentionDecl *att);
  bool checkNeighborhood(const CarrierDecl &c);
  bool checkPaged(const LetDecl &let, const SourceLoc &srcLoc);
  bool checkBlockSelect(const AttentionDecl &a, const CarrierDecl &c);
  bool checkTensorArg(const Arg &a, llvm::StringRef what, size_t rank);
  bool checkTopExpr(const ExprPtr &e, const Scope &scope, const SourceLoc &owner);
  std::optional<Ty> checkExpr(const Expr &e, const Scope &scope);
  bool unknownName(const Expr &e, const Scope &scope);

  /// Rank of an input or let (lets keep their source's shape); 0 if unknown.
  size_t rankOf(llvm::StringRef name) const {
    for (int guard = 0; guard < 1000; ++guard) {
      if (auto it = inputs.find(name); it != inputs.end())
        return it->second->shape.size();
      if (attentions.count(name)) // an attention's result is [B, H, Lq, Dv]
        return 4;
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

} // namespace attnc::spec::detail

#endif // ATTNC_LIB_SPEC_CHECKER_H
