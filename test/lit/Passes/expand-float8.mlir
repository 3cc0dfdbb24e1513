// RUN: attnc-opt --attn-expand-float8 %s | FileCheck %s
// RUN: attnc-opt --attn-expand-float8 %s | attnc-opt --convert-arith-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | FileCheck %s --check-prefix=LLVM
// RUN: not attnc-opt --attn-expand-float8 %S/Inputs/expand-float8-tensor.mlir 2>&1 | FileCheck %S/Inputs/expand-float8-tensor.mlir --check-prefix=TENSOR

// An e4m3 byte decoded with integer operations: exponent (bits 3-6) and
// mantissa (bits 0-2); the significand m (subnormal, e = 0) or 8 + m times
// 2^(max(e, 1) - 10) built as f32 bits ((max(e, 1) + 117) << 23); NaN for
// the codes 0x7f / 0xff; the sign (bit 7) applied last.
// CHECK-LABEL: func.func @to_f32
// CHECK: %[[BYTE:.*]] = arith.bitcast %{{.*}} : f8E4M3FN to i8
// CHECK: %[[BITS:.*]] = arith.extui %[[BYTE]] : i8 to i32
// CHECK: %[[E:.*]] = arith.andi %{{.*}}, %c15_i32 : i32
// CHECK: %[[M:.*]] = arith.andi %[[BITS]], %c7_i32 : i32
// CHECK: %[[SUB:.*]] = arith.cmpi eq, %[[E]], %c0_i32 : i32
// CHECK: %[[SIG:.*]] = arith.select %[[SUB]], %[[M]], %{{.*}} : i32
// CHECK: %[[EU:.*]] = arith.maxui %[[E]], %c1_i32 : i32
// CHECK: arith.addi %[[EU]], %c117_i32 : i32
// CHECK: arith.shli %{{.*}}, %c23_i32 : i32
// CHECK: %[[SCALE:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK: %[[MAG:.*]] = arith.mulf %{{.*}}, %[[SCALE]] : f32
// CHECK: arith.andi %[[BITS]], %c127_i32 : i32
// CHECK: arith.select %{{.*}}, %cst{{.*}}, %[[MAG]] : f32
// CHECK: arith.andi %[[BITS]], %c128_i32 : i32
// CHECK: arith.negf
// CHECK: %[[R:.*]] = arith.select
// CHECK-NOT: arith.extf
// CHECK: return %[[R]] : f32
func.func @to_f32(%x: f8E4M3FN) -> f32 {
  %y = arith.extf %x : f8E4M3FN to f32
  return %y : f32
}

// Wider: the f32 extended; narrower 16-bit types hold every e4m3 value, so
// the truncation is exact.
// CHECK-LABEL: func.func @to_f64
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK-LABEL: func.func @to_bf16
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @to_f64(%x: f8E4M3FN) -> f64 {
  %y = arith.extf %x : f8E4M3FN to f64
  return %y : f64
}
func.func @to_bf16(%x: f8E4M3FN) -> bf16 {
  %y = arith.extf %x : f8E4M3FN to bf16
  return %y : bf16
}

// Other extensions are left alone, and the result lowers to LLVM (the byte
// is an i8 there).
// CHECK-LABEL: func.func @other
// CHECK: arith.extf %{{.*}} : bf16 to f32
// LLVM-LABEL: llvm.func @to_f32(%{{.*}}: i8) -> f32
// LLVM-NOT: f8E4M3FN
func.func @other(%x: bf16) -> f32 {
  %y = arith.extf %x : bf16 to f32
  return %y : f32
}
