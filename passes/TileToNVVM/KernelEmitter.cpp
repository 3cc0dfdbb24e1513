//===- KernelEmitter.cpp - small IR builders of the Hopper kernel emitter -===//
#include "KernelEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace attnc::gpu;

std::string KernelConfig::causalName() const {
  return plan.causalAlign ? attnc::attn::stringifyAlign(*plan.causalAlign).str() : "none";
}

KernelEmitter::KernelEmitter(OpBuilder &b, Location loc, const KernelConfig &c)
    : b(b), loc(loc), c(c), ctx(b.getContext()) {
  f32 = b.getF32Type();
  i32 = b.getI32Type();
  i64 = b.getI64Type();
  i16 = b.getI16Type();
  i8 = b.getI8Type();
  idx = b.getIndexType();
  ptrTy = LLVM::LLVMPointerType::get(ctx);
  wgAS = mlir::gpu::AddressSpaceAttr::get(ctx, mlir::gpu::AddressSpace::Workgroup);
}

KernelEmitter::~KernelEmitter() = default;

Value KernelEmitter::ci32(int64_t v) { return arith::ConstantIntOp::create(b, loc, i32, v); }
Value KernelEmitter::ci64(int64_t v) { return arith::ConstantIntOp::create(b, loc, i64, v); }
Value KernelEmitter::cidx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value KernelEmitter::cf32(double v) {
  return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32), APFloat((float)v));
}
Value KernelEmitter::negInf() {
  return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                        APFloat::getInf(APFloat::IEEEsingle(), true));
}
Value KernelEmitter::add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
Value KernelEmitter::sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
Value KernelEmitter::mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
Value KernelEmitter::toIdx(Value v) { return arith::IndexCastOp::create(b, loc, idx, v); }
Value KernelEmitter::toI32(Value v) { return arith::IndexCastOp::create(b, loc, i32, v); }
Value KernelEmitter::cmp(arith::CmpIPredicate p, Value x, Value y) {
  return arith::CmpIOp::create(b, loc, p, x, y);
}
Value KernelEmitter::andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
Value KernelEmitter::orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
Value KernelEmitter::fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
Value KernelEmitter::fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
Value KernelEmitter::fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
Value KernelEmitter::fmax(Value x, Value y) { return arith::MaxNumFOp::create(b, loc, x, y); }
Value KernelEmitter::select(Value c0, Value x, Value y) {
  return arith::SelectOp::create(b, loc, c0, x, y);
}
Value KernelEmitter::ex2(Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, f32,
                                       b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
                                       ValueRange{x})
      .getResult(0);
}
/// x / y for scores and link weights: by a literal, a multiply by its
/// reciprocal; else the hardware's full-range division (2 ulp). The IEEE
/// div.rn.f32 that arith.divf becomes is a dozen instructions with a slow
/// path, per score.
Value KernelEmitter::fdiv(Value x, Value y, std::optional<double> literalY) {
  if (literalY && *literalY != 0.0) {
    double r = 1.0 / *literalY;
    if (std::isnormal(float(r)))
      return fmul(x, cf32(r));
  }
  return LLVM::CallIntrinsicOp::create(b, loc, f32, b.getStringAttr("llvm.nvvm.div.full"),
                                       ValueRange{x, y})
      .getResult(0);
}
Value KernelEmitter::lg2(Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, f32, b.getStringAttr("llvm.nvvm.lg2.approx.f"),
                                       ValueRange{x})
      .getResult(0);
}
Value KernelEmitter::quadReduce(Value v, llvm::function_ref<Value(Value, Value)> combine) {
  for (int64_t off : {1, 2})
    v = combine(v, mlir::gpu::ShuffleOp::create(b, loc, v, ci32(off), ci32(32),
                                                mlir::gpu::ShuffleMode::XOR)
                       .getShuffleResult());
  return v;
}
Value KernelEmitter::quadMax(Value v) {
  return quadReduce(v, [&](Value x, Value y) { return fmax(x, y); });
}
Value KernelEmitter::quadSum(Value v) {
  return quadReduce(v, [&](Value x, Value y) { return fadd(x, y); });
}
void KernelEmitter::ifThen(Value cond, llvm::function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, cond, /*withElse=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}
MemRefType KernelEmitter::tileType(int64_t rows, bool flat) {
  if (flat)
    return MemRefType::get({rows, 64}, c.elemTy, MemRefLayoutAttrInterface{}, wgAS);
  return MemRefType::get({1, rows, 64}, c.elemTy, MemRefLayoutAttrInterface{}, wgAS);
}
Value KernelEmitter::smemView(Value byteOff, MemRefType t) {
  Value off = arith::AddIOp::create(b, loc, pad, byteOff);
  return memref::ViewOp::create(b, loc, t, dyn, off, ValueRange{});
}
LLVM::LLVMStructType KernelEmitter::accType(int64_t n) {
  return LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n / 2, f32));
}
SmallVector<Value> KernelEmitter::unpack(Value st, int64_t n) {
  SmallVector<Value> out;
  for (int64_t r = 0; r < n; ++r)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, st, ArrayRef<int64_t>{r}));
  return out;
}
Value KernelEmitter::pack(Type st, ArrayRef<Value> vals) {
  Value s = LLVM::PoisonOp::create(b, loc, st);
  for (auto [r, v] : llvm::enumerate(vals))
    s = LLVM::InsertValueOp::create(b, loc, s, v, ArrayRef<int64_t>{(int64_t)r});
  return s;
}
/// Two f32 -> packed 2 x (bf16|f16) in an i32 (lo = first): one
/// fptrunc of a 2-vector, which NVPTX emits as a single cvt.rn.bf16x2.f32
/// (f16x2) instead of two conversions, two zero-extensions, a shift and an or.
Value KernelEmitter::inlinePtx(Type resTy, ValueRange args, StringRef text,
                               StringRef constraints, bool sideEffects) {
  auto op = LLVM::InlineAsmOp::create(b, loc, resTy, args, text, constraints, sideEffects, /*is_align_stack=*/false,
                                      LLVM::tailcallkind::TailCallKind::None,
                                      LLVM::AsmDialectAttr(), ArrayAttr());
  return resTy ? op.getResult(0) : Value();
}

Value KernelEmitter::packHalf2(Value lo, Value hi) {
  auto v2f32 = VectorType::get({2}, f32);
  Value v = LLVM::PoisonOp::create(b, loc, v2f32);
  v = LLVM::InsertElementOp::create(b, loc, v, lo, ci32(0));
  v = LLVM::InsertElementOp::create(b, loc, v, hi, ci32(1));
  Value h = LLVM::FPTruncOp::create(b, loc, VectorType::get({2}, c.elemTy), v);
  return LLVM::BitcastOp::create(b, loc, i32, h);
}
