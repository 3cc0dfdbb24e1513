// RUN: attnc-opt %s --attn-tile-neighborhood --split-input-file | FileCheck %s
// A static 2-D neighborhood becomes: q, k, v gathered into 16 x 8 patches
// (layout-only maps), the attention over patch-major tokens with the
// neighborhood as a mask of their coordinates and 64-key tiles, and its
// result gathered back into row-major order.

// CHECK-LABEL: func.func @nb2d
// CHECK: %[[QP:.*]] = attn.map {{.*}}attnc.layout_only{{.*}} -> tensor<1x2x512x64xbf16>
// CHECK: tensor.extract %arg0
// CHECK: %[[KP:.*]] = attn.map
// CHECK: %[[VP:.*]] = attn.map
// CHECK: %[[A:.*]] = attn.attention %[[QP]], %[[KP]], %[[VP]] {anchor = #attn.anchor<row>, attnc.block_n = 64 : i64, link = #attn.link<exp>}
// CHECK-SAME: mask {
// CHECK: arith.floordivsi %{{.*}}, %c128
// CHECK: arith.remsi %{{.*}}, %c128
// CHECK: attn.yield %{{.*}} : i1
// CHECK: %[[O:.*]] = attn.map {{.*}}attnc.layout_only
// CHECK: tensor.extract %[[A]]
// CHECK: return %[[O]]
func.func @nb2d(%q: tensor<1x2x512x64xbf16>, %k: tensor<1x2x512x64xbf16>, %v: tensor<1x2x512x64xbf16>) -> tensor<1x2x512x64xbf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.neighborhood<grid = [32, 16], window = [7, 5], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x2x512x64xbf16>
  return %o : tensor<1x2x512x64xbf16>
}

// -----

// Left alone: dynamic lengths (the gathers would need static shapes),
// dilation, a grid the patch does not divide, and a score convolution
// (it reads neighbouring positions).
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: attn.map
// CHECK-COUNT-4: attn.attention
func.func @untouched(%q: tensor<1x2x?x64xbf16>, %s: tensor<1x2x512x64xbf16>, %t: tensor<1x2x520x64xbf16>, %w: tensor<2x2x2xbf16>) -> (tensor<1x2x?x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x520x64xbf16>) {
  %a = attn.attention %q, %q, %q {carrier = [#attn.neighborhood<grid = [32, 16], window = [7, 5], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  %b = attn.attention %s, %s, %s {carrier = [#attn.neighborhood<grid = [32, 16], window = [7, 5], dilation = [2, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x2x512x64xbf16>
  %c = attn.attention %t, %t, %t {carrier = [#attn.neighborhood<grid = [40, 13], window = [7, 5], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x520x64xbf16>, tensor<1x2x520x64xbf16>, tensor<1x2x520x64xbf16> -> tensor<1x2x520x64xbf16>
  %d = attn.attention %s, %s, %s extras(%w : tensor<2x2x2xbf16>) {carrier = [#attn.neighborhood<grid = [32, 16], window = [7, 5], dilation = [1, 1], stride = [1, 1], causal = [false, false]>], score_conv = #attn.score_conv<queries = 2, keys = 2, weight = 0>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x2x512x64xbf16>
  return %a, %b, %c : tensor<1x2x?x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x520x64xbf16>
}
