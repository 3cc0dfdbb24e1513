//===- AttnDialect.cpp - dialect registration and attributes -------------===//
#include "attnc/Dialect/Attn/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <charconv>
#include <cmath>

using namespace mlir;
using namespace attnc::attn;

#include "attnc/Dialect/Attn/AttnDialect.cpp.inc"
#include "attnc/Dialect/Attn/AttnEnums.cpp.inc"
#include "attnc/Dialect/Attn/AttnAttrInterfaces.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "attnc/Dialect/Attn/AttnAttrs.cpp.inc"

void AttnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attnc/Dialect/Attn/AttnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "attnc/Dialect/Attn/AttnOps.cpp.inc"
      >();
  // Regions are built from these; loading them with the dialect lets
  // attnc-opt parse attn IR without extra flags.
  getContext()->loadDialect<arith::ArithDialect, math::MathDialect,
                            tensor::TensorDialect, scf::SCFDialect>();
}

LogicalResult NeighborhoodAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> grid,
    ArrayRef<int64_t> window, ArrayRef<int64_t> dilation,
    ArrayRef<int64_t> stride, ArrayRef<bool> causal) {
  size_t n = grid.size();
  if (n < 1 || n > 3)
    return emitError() << "neighborhood needs 1 to 3 axes, got " << n;
  if (window.size() != n || dilation.size() != n || stride.size() != n ||
      causal.size() != n)
    return emitError() << "neighborhood: grid, window, dilation, stride and "
                          "causal must all have "
                       << n << " entries";
  for (size_t a = 0; a < n; ++a) {
    if (grid[a] < 1 || window[a] < 1 || dilation[a] < 1 || stride[a] < 1)
      return emitError() << "neighborhood axis " << a
                         << ": sizes must be positive";
    if (window[a] * dilation[a] > grid[a])
      return emitError() << "neighborhood axis " << a << ": window "
                         << window[a] << " x dilation " << dilation[a]
                         << " is larger than the axis (" << grid[a] << ")";
    if (stride[a] > window[a])
      return emitError() << "neighborhood axis " << a << ": stride "
                         << stride[a] << " is larger than the window "
                         << window[a];
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Link and anchor: `<kind (, key = value)*>`
//===----------------------------------------------------------------------===//

namespace {
/// Parses `<kind` and then each `, key = value` through `parseValue`, which
/// reports unknown keys; a key given twice is an error.
template <typename KindT>
ParseResult parseKindAndParams(
    AsmParser &p, StringRef what, std::optional<KindT> (*symbolize)(StringRef),
    KindT &kind,
    function_ref<ParseResult(StringRef key, SMLoc loc)> parseValue) {
  StringRef word;
  SMLoc kindLoc = p.getCurrentLocation();
  if (p.parseLess() || p.parseKeyword(&word))
    return failure();
  std::optional<KindT> k = symbolize(word);
  if (!k)
    return p.emitError(kindLoc) << "unknown " << what << " '" << word << "'";
  kind = *k;
  llvm::SmallVector<StringRef> seen;
  while (succeeded(p.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = p.getCurrentLocation();
    if (p.parseKeyword(&key) || p.parseEqual())
      return failure();
    if (llvm::is_contained(seen, key))
      return p.emitError(keyLoc)
             << what << " parameter '" << key << "' given twice";
    seen.push_back(key);
    if (parseValue(key, keyLoc))
      return failure();
  }
  return p.parseGreater();
}

/// A double printed shortest-first but always with a '.', which the MLIR
/// lexer needs to read it back as a float.
void printF64(AsmPrinter &p, double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (!std::isfinite(v) || ec != std::errc()) {
    p.printFloat(llvm::APFloat(v));
    return;
  }
  StringRef s(buf, end - buf);
  if (s.contains('.')) {
    p.getStream() << s;
    return;
  }
  size_t e = s.find('e');
  p.getStream() << s.take_front(e) << ".0"
                << s.drop_front(std::min(e, s.size()));
}
} // namespace

Attribute LinkAttr::parse(AsmParser &p, Type) {
  SMLoc loc = p.getCurrentLocation();
  Link kind;
  std::optional<double> power;
  auto value = [&](StringRef key, SMLoc keyLoc) -> ParseResult {
    if (key != "power")
      return p.emitError(keyLoc)
             << "unknown link parameter '" << key << "' (expected power)";
    return p.parseFloat(power.emplace());
  };
  if (parseKindAndParams<Link>(p, "link", symbolizeLink, kind, value))
    return {};
  return p.getChecked<LinkAttr>(loc, p.getContext(), kind, power);
}

void LinkAttr::print(AsmPrinter &p) const {
  p << '<' << stringifyLink(getKind());
  if (auto power = getPower()) {
    p << ", power = ";
    printF64(p, *power);
  }
  p << '>';
}

LogicalResult KernelPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t blockM, int64_t blockN, int64_t stages,
                                     int64_t consumers, int64_t producerRegs,
                                     int64_t consumerRegs, StringRef schedule, bool packHeads,
                                     bool persistent, DenseI64ArrayAttr qPatchAttr,
                                     DenseI64ArrayAttr kPatchAttr, int64_t qSlots,
                                     bool oTmaStore, bool /*vScanner*/) {
  ArrayRef<int64_t> qPatch, kPatch;
  if (qPatchAttr)
    qPatch = qPatchAttr.asArrayRef();
  if (kPatchAttr)
    kPatch = kPatchAttr.asArrayRef();
  if (blockM < 1 || blockN < 1 || stages < 1 || consumers < 1 || producerRegs < 1 ||
      consumerRegs < 1)
    return emitError() << "kernel_plan: sizes, stages, warpgroups and registers must be positive";
  if (schedule != "pingpong" && schedule != "ws" && schedule != "split_kv")
    return emitError() << "kernel_plan: schedule must be pingpong, ws or split_kv, got '"
                       << schedule << "'";
  if (packHeads && schedule != "split_kv")
    return emitError() << "kernel_plan: pack_heads needs the split_kv schedule";
  if (persistent && schedule == "split_kv")
    return emitError() << "kernel_plan: the split_kv schedule is not persistent";
  if (qSlots != 1 && (qSlots != 2 || !persistent))
    return emitError() << "kernel_plan: q_slots must be 1, or 2 with a persistent plan, got " << qSlots;
  if (qPatch.size() != kPatch.size())
    return emitError() << "kernel_plan: q_patch and k_patch need one extent per grid axis each";
  if (oTmaStore && (schedule == "split_kv" || !qPatch.empty() || (persistent && qSlots != 2)))
    return emitError() << "kernel_plan: o_tma_store needs tiles of rows (not split_kv, no grid "
                          "patches) and, when persistent, two Q slots";
  if (!qPatch.empty()) {
    if (schedule == "split_kv")
      return emitError() << "kernel_plan: grid patches are not for the split_kv schedule";
    // A box's extent is a TMA box dimension: 1 to 256.
    auto product = [](ArrayRef<int64_t> p) -> int64_t {
      int64_t n = 1;
      for (int64_t x : p) {
        if (x < 1 || x > 256)
          return -1;
        n *= x;
      }
      return n;
    };
    if (product(qPatch) != blockM || product(kPatch) != blockN)
      return emitError() << "kernel_plan: the patches must hold block_m (" << blockM
                         << ") and block_n (" << blockN << ") tokens, each extent 1 to 256";
    if (!KernelPlanAttr::keyRunsFit(kPatch))
      return emitError() << "kernel_plan: k_patch's last extent must be a multiple of 8, or 2 "
                            "or 4 with the extent before it a multiple of 4 or 2";
  }
  return success();
}

LogicalResult LinkAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               Link kind, detail::OptionalF64 power) {
  if (!power)
    return success();
  if (kind != Link::relu)
    return emitError() << "link '" << stringifyLink(kind)
                       << "' takes no power (only relu does)";
  if (!std::isfinite(*power) || *power <= 0)
    return emitError() << "relu power must be positive and finite";
  return success();
}

Attribute AnchorAttr::parse(AsmParser &p, Type) {
  SMLoc loc = p.getCurrentLocation();
  Anchor kind;
  std::optional<double> nullLogit;
  std::optional<int64_t> nullExtra, iterations;
  auto value = [&](StringRef key, SMLoc keyLoc) -> ParseResult {
    if (key == "null")
      return p.parseFloat(nullLogit.emplace());
    if (key == "null_extra")
      return p.parseInteger(nullExtra.emplace());
    if (key == "iterations")
      return p.parseInteger(iterations.emplace());
    return p.emitError(keyLoc) << "unknown anchor parameter '" << key
                               << "' (expected null, null_extra or iterations)";
  };
  if (parseKindAndParams<Anchor>(p, "anchor", symbolizeAnchor, kind, value))
    return {};
  return p.getChecked<AnchorAttr>(loc, p.getContext(), kind, nullLogit,
                                  nullExtra, iterations);
}

void AnchorAttr::print(AsmPrinter &p) const {
  p << '<' << stringifyAnchor(getKind());
  if (auto c = getNullLogit()) {
    p << ", null = ";
    printF64(p, *c);
  }
  if (auto idx = getNullExtra())
    p << ", null_extra = " << *idx;
  if (auto n = getIterations())
    p << ", iterations = " << *n;
  p << '>';
}

LogicalResult AnchorAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 Anchor kind, detail::OptionalF64 nullLogit,
                                 std::optional<int64_t> nullExtra,
                                 std::optional<int64_t> iterations) {
  // The null key adds to the row denominator, which only the row anchor has.
  if ((nullLogit || nullExtra) && kind != Anchor::row)
    return emitError() << "a null key (null / null_extra) needs the row "
                          "anchor, not '"
                       << stringifyAnchor(kind) << "'";
  if (nullLogit && nullExtra)
    return emitError() << "the null key takes a constant (null) or an extra "
                          "input (null_extra), not both";
  // -inf is a null key of weight 0 (no null key); +inf would take the row
  // maximum itself (inf - inf = NaN).
  if (nullLogit && (std::isnan(*nullLogit) || *nullLogit == INFINITY))
    return emitError() << "the null logit must be a number below +inf, got " << *nullLogit;
  if (nullExtra && *nullExtra < 0)
    return emitError() << "null_extra must name an extra input (>= 0), got "
                       << *nullExtra;
  if (iterations && kind != Anchor::sinkhorn)
    return emitError() << "iterations given to anchor '"
                       << stringifyAnchor(kind)
                       << "' (only sinkhorn takes them)";
  if (kind == Anchor::sinkhorn &&
      (!iterations || *iterations < 1 || *iterations > kMaxIterations))
    return emitError() << "sinkhorn anchor needs 1 <= iterations <= "
                       << kMaxIterations;
  return success();
}
