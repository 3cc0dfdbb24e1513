// RUN: attnc-opt --attn-gpu-grid-constant-args -split-input-file -verify-diagnostics %s | FileCheck %s
// The marked kernel arguments (attn-gpu-build-kernel marks the tensor maps)
// become 128-byte byval __grid_constant__ parameters; the mark is dropped.

// CHECK-LABEL: llvm.func @maps
// CHECK-SAME: %arg0: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}
// CHECK-SAME: %arg1: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}
// CHECK-SAME: %arg2: !llvm.ptr, %arg3: i32)
// CHECK-NOT: attnc.grid_constant_args
gpu.module @m {
  llvm.func @maps(%q: !llvm.ptr, %k: !llvm.ptr, %o: !llvm.ptr, %n: i32) attributes {attnc.grid_constant_args = array<i64: 0, 1>, nvvm.kernel} {
    llvm.return
  }
}

// -----

gpu.module @m {
  // expected-error @+1 {{grid-constant argument 1 is not a pointer argument}}
  llvm.func @bad(%q: !llvm.ptr, %n: i32) attributes {attnc.grid_constant_args = array<i64: 1>, nvvm.kernel} {
    llvm.return
  }
}
