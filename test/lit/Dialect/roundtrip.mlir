// RUN: attnc-opt %s | attnc-opt | FileCheck %s
// The attn level prints and parses back: carriers, regions, link, anchor.

// CHECK-LABEL: func.func @carriers
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} extras(%{{.*}} : tensor<3xi32>)
// CHECK-SAME: anchor = #attn.anchor<row>
// CHECK-SAME: carrier = [#attn.causal<top_left>, #attn.window<left = 16, right = 0, sinks = 4, align = bottom_right>, #attn.document<seqlens = 0>, #attn.neighborhood<grid = [4, 8], window = [3, 3], dilation = [1, 2], stride = [1, 1], causal = [false, true]>]
// CHECK-SAME: link = #attn.link<exp>
// CHECK: mask {
// CHECK: attn.yield %{{.*}} : i1
// CHECK: score {
// CHECK: math.tanh
func.func @carriers(%q: tensor<1x4x32x16xf32>, %k: tensor<1x4x32x16xf32>, %v: tensor<1x4x32x16xf32>, %cu: tensor<3xi32>) -> tensor<1x4x32x16xf32> {
  %o = attn.attention %q, %k, %v extras(%cu : tensor<3xi32>) {
      carrier = [#attn.causal<top_left>, #attn.window<left = 16, right = 0, sinks = 4, align = bottom_right>,
                 #attn.document<seqlens = 0>,
                 #attn.neighborhood<grid = [4, 8], window = [3, 3], dilation = [1, 2], stride = [1, 1], causal = [false, true]>],
      link = #attn.link<exp>, anchor = #attn.anchor<row>}
      : tensor<1x4x32x16xf32>, tensor<1x4x32x16xf32>, tensor<1x4x32x16xf32> -> tensor<1x4x32x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sle, %j, %i : index
    attn.yield %c : i1
  }
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c30 = arith.constant 30.0 : f32
    %d = arith.divf %s, %c30 : f32
    %t = math.tanh %d : f32
    %r = arith.mulf %t, %c30 : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x4x32x16xf32>
}

// CHECK-LABEL: func.func @sinkhorn_gqa
// CHECK: anchor = #attn.anchor<sinkhorn>
// CHECK-SAME: sinkhorn_iterations = 3
// CHECK-SAME: tensor<2x8x?x64xf64>, tensor<2x2x?x64xf64>, tensor<2x2x?x32xf64> -> tensor<2x8x?x32xf64>
func.func @sinkhorn_gqa(%q: tensor<2x8x?x64xf64>, %k: tensor<2x2x?x64xf64>, %v: tensor<2x2x?x32xf64>) -> tensor<2x8x?x32xf64> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn>, sinkhorn_iterations = 3}
      : tensor<2x8x?x64xf64>, tensor<2x2x?x64xf64>, tensor<2x2x?x32xf64> -> tensor<2x8x?x32xf64>
  return %o : tensor<2x8x?x32xf64>
}
