// REQUIRES: cuda-toolkit
// RUN: attnc-opt --attnc-gpu-generic-pipeline="chip=sm_90a format=isa" %s | FileCheck %s
// A generic step (RMS norm in f32 on bf16 buffers) through the generic
// pipeline: the host function is allocations and launches only, each kernel
// takes a bare pointer per buffer, and the PTX reads bf16 and writes bf16.
// The f32 extension is fused into both of its readers (no f32 copy of the
// input) and the result is written into the output buffer (no copy): three
// launches (zero the sums, sum the squares per row, scale).

// CHECK-LABEL: func.func private @norm_step0(
// CHECK-SAME: %arg0: memref<2x4x64xbf16>, %arg1: memref<2x4x64xbf16>)
// CHECK-NOT: memref<2x4x64xf32>
// CHECK: %[[SUM:.*]] = memref.alloc() {{.*}} : memref<2x4xf32>
// CHECK: gpu.launch_func @norm_step0_kernel::@norm_step0_kernel {{.*}} args(%[[SUM]] : memref<2x4xf32>)
// CHECK: gpu.launch_func @norm_step0_kernel_0::@norm_step0_kernel {{.*}} args(%arg0 : memref<2x4x64xbf16>, %[[SUM]] : memref<2x4xf32>)
// CHECK: gpu.launch_func @norm_step0_kernel_1::@norm_step0_kernel {{.*}} args(%arg0 : memref<2x4x64xbf16>, %[[SUM]] : memref<2x4xf32>, %arg1 : memref<2x4x64xbf16>)
// CHECK-NOT: memref.copy
// CHECK: return
// CHECK: gpu.binary @norm_step0_kernel
// CHECK-SAME: .param .u64 .ptr .align 1 norm_step0_kernel_param_0
// CHECK: ld.global.b16
// CHECK: cvt.f32.bf16
// CHECK: cvt.rn.bf16.f32
// CHECK: st.global.b16
func.func private @norm_step0(%arg0: tensor<2x4x64xbf16>) -> tensor<2x4x64xbf16> attributes {attnc.gpu.step = "generic"} {
  %0 = arith.extf %arg0 : tensor<2x4x64xbf16> to tensor<2x4x64xf32>
  %1 = attn.row_norm %0 {eps = 1.000000e-05 : f64, kind = #attn.row_norm_kind<rms>} : tensor<2x4x64xf32>
  %2 = arith.truncf %1 : tensor<2x4x64xf32> to tensor<2x4x64xbf16>
  return %2 : tensor<2x4x64xbf16>
}
