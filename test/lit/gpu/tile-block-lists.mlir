// RUN: attnc-opt %s --attn-gpu-tile-block-lists | FileCheck %s
// RUN: attnc-opt %s --attn-gpu-tile-block-lists --attn-gpu-plan-kernel --attn-gpu-build-kernel | FileCheck %s --check-prefix=KERNEL
// Blocks smaller than the kernel's 128 x 128 tiles get a per-tile mask step
// (tile-block-lists-exec.mlir checks its values against the CSR); whole-tile
// blocks keep the CSR schedule.

// CHECK-LABEL: func.func @small
// CHECK: %[[M:.*]] = attn.map {attnc.gpu.step_reason = "the per-tile mask of a block list"{{.*}}-> tensor<1x2x3x4xi64>
// CHECK: attn.attention %arg0, %arg1, %arg2 extras(%arg3, %arg4, %[[M]] : {{.*}}) {{{.*}}#attn.block_list<q_block = 16, k_block = 32, offsets = 0, indices = 1, tile_mask = 2>
// CHECK-LABEL: func.func @whole_tiles
// CHECK-NOT: attn.map
// CHECK: #attn.block_list<q_block = 128, k_block = 256, offsets = 0, indices = 1>]

// The kernel visits the tiles with a bit set and tests each score's bit in
// the tiles it does not call full (64 scores per consumer thread).
// KERNEL-LABEL: gpu.func @small_kernel
// KERNEL-COUNT-64: arith.shrui %{{.*}}, %{{.*}} : i64
// KERNEL-LABEL: gpu.func @whole_tiles_kernel

func.func @small(%q: tensor<1x2x300x64xbf16>, %k: tensor<1x2x500x64xbf16>, %v: tensor<1x2x500x64xbf16>, %off: tensor<1x2x20xi32>, %idx: tensor<1x2x60xi32>) -> tensor<1x2x300x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<1x2x20xi32>, tensor<1x2x60xi32>) {carrier = [#attn.block_list<q_block = 16, k_block = 32, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xbf16>, tensor<1x2x500x64xbf16>, tensor<1x2x500x64xbf16> -> tensor<1x2x300x64xbf16>
  return %o : tensor<1x2x300x64xbf16>
}

func.func @whole_tiles(%q: tensor<1x2x300x64xbf16>, %k: tensor<1x2x500x64xbf16>, %v: tensor<1x2x500x64xbf16>, %off: tensor<1x2x4xi32>, %idx: tensor<1x2x6xi32>) -> tensor<1x2x300x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<1x2x4xi32>, tensor<1x2x6xi32>) {carrier = [#attn.block_list<q_block = 128, k_block = 256, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xbf16>, tensor<1x2x500x64xbf16>, tensor<1x2x500x64xbf16> -> tensor<1x2x300x64xbf16>
  return %o : tensor<1x2x300x64xbf16>
}

