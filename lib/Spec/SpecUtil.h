//===- SpecUtil.h - Shared helpers of the spec front end ---------*- C++ -*-===//
//
// Private to lib/Spec: names and suggestions, the tables of known carriers,
// links, anchors, transforms and functions (shared by the checker, both
// parsers and the printers so that they never disagree), and number
// formatting. Diagnostics live in Diagnostics.h.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_LIB_SPEC_SPECUTIL_H
#define ATTNC_LIB_SPEC_SPECUTIL_H

#include "Diagnostics.h"

#include "attnc/Spec/SpecAST.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc::spec::detail {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

/// The candidate closest to WORD if it is close enough to be a plausible typo
/// (edit distance <= 2, and <= 1 for words of one or two letters).
std::string closestMatch(llvm::StringRef word, llvm::ArrayRef<std::string> candidates);

/// "; did you mean 'X'?" or "".
std::string didYouMean(llvm::StringRef word, llvm::ArrayRef<std::string> candidates);

/// "a, b, c".
std::string joinNames(llvm::ArrayRef<std::string> names);

/// Whether NAME is a valid identifier of the text form.
bool isIdentifier(llvm::StringRef name);

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

/// What a keyword argument's value must be.
enum class ValueKind {
  Int,        // any integer (window right: negative means unbounded)
  NonNegInt,  // integer >= 0
  PosInt,     // integer >= 1
  PosNumber,  // number > 0
  Enum,       // one of KeyInfo::words
  Tensor1,    // name of a rank-1 input
  Tensor2,    // name of a rank-2 input
  Tensor3,    // name of a rank-3 input
  PosIntList, // [n, ...] of integers >= 1
  BoolList,   // [true|false|0|1, ...]
  NullLogit,  // a number, or the name of an [H] input
};

struct KeyInfo {
  std::string name;
  ValueKind kind;
  bool required = false;
  std::vector<std::string> words; // Enum only
  /// Integer kinds: the largest accepted value.
  int64_t max = kMaxIntParam;
};

/// A carrier kind, link, anchor or let transform with its keyword arguments.
struct FamilyInfo {
  std::string name;
  std::vector<KeyInfo> keys;
  const KeyInfo *findKey(llvm::StringRef key) const;
  std::vector<std::string> keyNames() const;
};

llvm::ArrayRef<FamilyInfo> carrierFamilies();
llvm::ArrayRef<FamilyInfo> linkFamilies();
llvm::ArrayRef<FamilyInfo> anchorFamilies();
llvm::ArrayRef<FamilyInfo> letFamilies(); // rope l2norm rmsnorm map paged pool
const FamilyInfo *findFamily(llvm::ArrayRef<FamilyInfo> table, llvm::StringRef name);
std::vector<std::string> familyNames(llvm::ArrayRef<FamilyInfo> table);

/// Number of arguments of a scalar function, or -1 if unknown.
int functionArity(llvm::StringRef name);
std::vector<std::string> functionNames();

/// s x b h i j d: index variables and the bound element, never user names.
bool isReservedName(llvm::StringRef name);

/// Canonical clause keywords inside `attention { }`.
llvm::ArrayRef<std::string> clauseKeywords();
/// Top-level statement keywords.
llvm::ArrayRef<std::string> statementKeywords();

//===----------------------------------------------------------------------===//
// Arguments and numbers
//===----------------------------------------------------------------------===//

bool isIntegral(double v);

/// Shortest text that reads back as exactly V ("0.125", "1e-5", "inf").
std::string formatDouble(double v);
/// A number argument: integral values without a fraction.
std::string formatArgNumber(double v);

/// A located message, for helpers whose callers render errors differently.
struct Diag {
  SourceLoc loc;
  std::string message;
};

/// Fills a score_conv from `weight=, queries=, keys=` arguments (shared by the
/// text and JSON parsers since the AST stores them typed).
std::optional<Diag> buildScoreConv(llvm::ArrayRef<Arg> args, const SourceLoc &loc,
                                   AttentionDecl::ScoreConv &out);

/// Arguments in canonical order: the family's known keys in table order, then
/// the rest as written.
std::vector<const Arg *> canonicalArgOrder(const std::vector<Arg> &args,
                                           const FamilyInfo *family);

/// checkSpec, reporting every independent error (and its notes) into DIAGS,
/// which quotes the source where it has it. Returns whether SPEC is valid.
bool checkSpecImpl(const Spec &spec, DiagnosticSink &diags);

} // namespace attnc::spec::detail

#endif // ATTNC_LIB_SPEC_SPECUTIL_H
