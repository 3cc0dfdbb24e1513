// RUN: attnc-opt %s --attn-gpu-tile-block-lists | FileCheck %s
// Blocks that neither divide the 128 x 128 tile nor are multiples of it get
// no tile mask (a bit could not stand for one block pair): the CSR stays,
// and the GPU program runs the attention as generic code.
// CHECK-LABEL: func.func @unaligned
// CHECK-NOT: attn.map
// CHECK: #attn.block_list<q_block = 192, k_block = 64, offsets = 0, indices = 1>]

func.func @unaligned(%q: tensor<1x2x300x64xbf16>, %k: tensor<1x2x500x64xbf16>, %v: tensor<1x2x500x64xbf16>, %off: tensor<1x2x3xi32>, %idx: tensor<1x2x6xi32>) -> tensor<1x2x300x64xbf16> {
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<1x2x3xi32>, tensor<1x2x6xi32>) {carrier = [#attn.block_list<q_block = 192, k_block = 64, offsets = 0, indices = 1>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x300x64xbf16>, tensor<1x2x500x64xbf16>, tensor<1x2x500x64xbf16> -> tensor<1x2x300x64xbf16>
  return %o : tensor<1x2x300x64xbf16>
}
