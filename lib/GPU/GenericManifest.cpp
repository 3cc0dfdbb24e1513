//===- GenericManifest.cpp - generic GPU steps' manifests and sizes ------===//
#include "GenericManifest.h"

#include "attnc/Runtime/KernelManifest.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace attnc {

std::string dtypeName(Type t) {
  if (t.isBF16()) return "bf16";
  if (t.isF16()) return "f16";
  if (t.isF32()) return "f32";
  if (t.isF64()) return "f64";
  if (isa<Float8E4M3FNType>(t)) return "f8e4m3";
  if (t.isInteger(1)) return "i1";
  if (t.isInteger(8)) return "i8";
  if (t.isInteger(32)) return "i32";
  if (t.isInteger(64)) return "i64";
  return "";
}

/// The host's index arithmetic as a size expression of the runtime
/// (lib/Runtime/Expr.h), its buffer sizes named by `axisName`; nullopt for
/// anything else. Sizes are non-negative, so unsigned and signed division
/// agree with the expression's floor division.
std::optional<std::string> sizeExprOf(Value v, const AxisName &axisName) {
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return std::to_string(*c);
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (isa<memref::DimOp, tensor::DimOp>(op)) {
    Value source = op->getOperand(0);
    std::optional<int64_t> axis = getConstantIntValue(op->getOperand(1));
    if (!axis)
      return std::nullopt;
    auto t = cast<ShapedType>(source.getType());
    if (!t.isDynamicDim(*axis))
      return std::to_string(t.getDimSize(*axis));
    // A new buffer's or tensor's size is its operand.
    if (auto alloc = source.getDefiningOp<memref::AllocOp>())
      return sizeExprOf(alloc.getDynamicSizes()[t.getDynamicDimIndex(*axis)], axisName);
    if (auto empty = source.getDefiningOp<tensor::EmptyOp>())
      return sizeExprOf(empty.getDynamicSizes()[t.getDynamicDimIndex(*axis)], axisName);
    return axisName(source, *axis);
  }
  if (isa<arith::IndexCastOp, arith::IndexCastUIOp>(op))
    return sizeExprOf(op->getOperand(0), axisName);
  const char *infix = isa<arith::AddIOp>(op)                       ? "+"
                      : isa<arith::SubIOp>(op)                     ? "-"
                      : isa<arith::MulIOp>(op)                     ? "*"
                      : isa<arith::DivUIOp, arith::DivSIOp, arith::FloorDivSIOp>(op) ? "/"
                      : isa<arith::RemUIOp, arith::RemSIOp>(op)    ? "%"
                                                                   : nullptr;
  const char *call = isa<arith::CeilDivUIOp, arith::CeilDivSIOp>(op) ? "ceildiv"
                     : isa<arith::MaxSIOp, arith::MaxUIOp>(op)       ? "max"
                     : isa<arith::MinSIOp, arith::MinUIOp>(op)       ? "min"
                                                                     : nullptr;
  if ((!infix && !call) || op->getNumOperands() != 2)
    return std::nullopt;
  std::optional<std::string> a = sizeExprOf(op->getOperand(0), axisName),
                             b = sizeExprOf(op->getOperand(1), axisName);
  if (!a || !b)
    return std::nullopt;
  if (call && std::string(call) != "ceildiv" && *a == *b)
    return a; // max(H, H)
  return infix ? "(" + *a + ")" + infix + "(" + *b + ")" : std::string(call) + "(" + *a + "," + *b + ")";
}

/// max(a, b) as a size expression (a when both are one expression).
std::optional<std::string> maxOf(const std::optional<std::string> &a, const std::optional<std::string> &b) {
  if (!a || !b)
    return std::nullopt;
  return *a == *b ? *a : "max(" + *a + "," + *b + ")";
}

/// Whether `a` and `b` are the same size on the host: one value, or
/// memref.dim of one buffer and axis.
static bool sameSize(Value a, Value b) {
  if (a == b)
    return true;
  auto da = a.getDefiningOp<memref::DimOp>(), db = b.getDefiningOp<memref::DimOp>();
  return da && db && da.getSource() == db.getSource() && da.getConstantIndex() &&
         da.getConstantIndex() == db.getConstantIndex();
}

/// The manifest of a generic kernel. Each buffer is its memref descriptor
/// (the allocated and aligned pointers, offset, sizes and strides, as the
/// NVVM lowering unpacks it), its dynamic sizes named "tN_A" (operand N,
/// axis A) and bound from the tensors at launch; an index operand and the
/// grid are the host's arithmetic over those sizes.
llvm::Expected<std::string> genericManifest(gpu::LaunchFuncOp launch, StringRef chip) {
  manifest::Kernel m;
  m.kernel = launch.getKernelName().str();
  m.chip = chip.str();
  m.dims.emplace();
  m.constraints.emplace();
  auto operands = launch.getKernelOperands();
  // A host size -> the operand axis holding it: the axis of an operand
  // itself, or of an operand allocated with that size.
  std::function<std::optional<std::string>(Value, int64_t)> axisName;
  auto named = [&](Value size) -> std::optional<std::string> {
    for (auto [i, v] : llvm::enumerate(operands))
      if (auto alloc = v.getDefiningOp<memref::AllocOp>())
        for (int64_t a = 0, n = 0; a < alloc.getType().getRank(); ++a)
          if (alloc.getType().isDynamicDim(a) && sameSize(alloc.getDynamicSizes()[n++], size))
            return "t" + std::to_string(i) + "_" + std::to_string(a);
    return sizeExprOf(size, axisName);
  };
  axisName = [&](Value memref, int64_t axis) -> std::optional<std::string> {
    for (auto [i, v] : llvm::enumerate(operands))
      if (v == memref)
        return "t" + std::to_string(i) + "_" + std::to_string(axis);
    for (auto [i, v] : llvm::enumerate(operands))
      if (auto alloc = v.getDefiningOp<memref::AllocOp>())
        for (int64_t a = 0, n = 0; a < alloc.getType().getRank(); ++a)
          if (alloc.getType().isDynamicDim(a)) {
            auto d = alloc.getDynamicSizes()[n++].getDefiningOp<memref::DimOp>();
            if (d && d.getSource() == memref && d.getConstantIndex() == axis)
              return "t" + std::to_string(i) + "_" + std::to_string(a);
          }
    return std::nullopt;
  };
  for (auto [index, operand] : llvm::enumerate(operands)) {
    size_t i = index;
    Value v = operand;
    auto error = [&](const char *what) {
      std::string type;
      llvm::raw_string_ostream os(type);
      os << v.getType();
      return llvm::createStringError("generic GPU kernel %s: argument %zu (%s) %s", m.kernel.c_str(), i,
                                     type.c_str(), what);
    };
    if (v.getType().isIndex()) {
      std::optional<std::string> e = named(v);
      if (!e)
        return error(("is not an expression of the kernel's buffer sizes (" +
                      (v.getDefiningOp() ? v.getDefiningOp()->getName().getStringRef().str() : "an argument") + ")")
                         .c_str());
      manifest::Param s;
      s.name = "s" + std::to_string(i), s.kind = manifest::Param::Kind::I64, s.value = *e;
      m.params.push_back(s);
      continue;
    }
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.getLayout().isIdentity() || dtypeName(t.getElementType()).empty())
      return error("is not a contiguous buffer");
    std::string tensor = "t" + std::to_string(i);
    SmallVector<std::string> sizes;
    for (int64_t a = 0; a < t.getRank(); ++a) {
      sizes.push_back(t.isDynamicDim(a) ? tensor + "_" + std::to_string(a) : std::to_string(t.getDimSize(a)));
      if (t.isDynamicDim(a))
        m.dims->push_back(sizes.back());
    }
    manifest::Param p;
    p.kind = manifest::Param::Kind::Ptr;
    p.tensor = tensor;
    p.dtype = dtypeName(t.getElementType());
    p.shape.assign(sizes.begin(), sizes.end());
    for (const char *which : {"_allocated", "_aligned"}) {
      p.name = "p" + std::to_string(i) + which;
      m.params.push_back(p);
    }
    auto scalar = [&](std::string name, std::string value) {
      manifest::Param s;
      s.name = "p" + std::to_string(i) + name, s.kind = manifest::Param::Kind::I64, s.value = std::move(value);
      m.params.push_back(s);
    };
    scalar("_offset", "0");
    for (int64_t a = 0; a < t.getRank(); ++a)
      scalar("_size" + std::to_string(a), sizes[a]);
    // Row-major strides of the contiguous tensor (the runtime checks that
    // every ptr tensor is contiguous).
    for (int64_t a = 0; a < t.getRank(); ++a) {
      std::string stride;
      for (int64_t b = a + 1; b < t.getRank(); ++b)
        stride += (stride.empty() ? "" : "*") + sizes[b];
      if (stride.empty())
        stride = "1";
      scalar("_stride" + std::to_string(a), stride);
    }
  }
  gpu::KernelDim3 g = launch.getGridSizeOperandValues(), b = launch.getBlockSizeOperandValues();
  Value launchSizes[] = {g.x, g.y, g.z, b.x, b.y, b.z};
  std::string *fields[] = {&m.grid[0], &m.grid[1], &m.grid[2], &m.block[0], &m.block[1], &m.block[2]};
  for (auto [v, field] : llvm::zip(launchSizes, fields)) {
    std::optional<std::string> e = named(v);
    if (!e)
      return llvm::createStringError("generic GPU kernel %s: the launch's size is not an expression of its "
                                     "buffers' sizes",
                                     m.kernel.c_str());
    *field = *e;
  }
  m.sharedBytes = "0";
  return manifest::printManifest(m);
}

} // namespace attnc
