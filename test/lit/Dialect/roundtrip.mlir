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
// CHECK: anchor = #attn.anchor<sinkhorn, iterations = 3>
// CHECK-SAME: tensor<2x8x?x64xf64>, tensor<2x2x?x64xf64>, tensor<2x2x?x32xf64> -> tensor<2x8x?x32xf64>
func.func @sinkhorn_gqa(%q: tensor<2x8x?x64xf64>, %k: tensor<2x2x?x64xf64>, %v: tensor<2x2x?x32xf64>) -> tensor<2x8x?x32xf64> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 3>}
      : tensor<2x8x?x64xf64>, tensor<2x2x?x64xf64>, tensor<2x2x?x32xf64> -> tensor<2x8x?x32xf64>
  return %o : tensor<2x8x?x32xf64>
}

// Links and anchors with their parameters. Floats print shortest-first with
// a '.', and a parameter equal to its absence's meaning (power 1) is kept.
// CHECK-LABEL: func.func @link_anchor_params
// CHECK: anchor = #attn.anchor<none>, link = #attn.link<relu, power = 2.0>
// CHECK: anchor = #attn.anchor<row>, link = #attn.link<relu, power = 1.0>
// CHECK: anchor = #attn.anchor<row>, link = #attn.link<relu>
// CHECK: anchor = #attn.anchor<row, null = -1.5>, link = #attn.link<exp>
// CHECK: anchor = #attn.anchor<row, null = 0.1>, link = #attn.link<sigmoid>
// CHECK: anchor = #attn.anchor<row, null = 1.0e+20>, link = #attn.link<relu, power = 0.5>
// CHECK: anchor = #attn.anchor<row, null = 0xFFF0000000000000>, link = #attn.link<exp>
// CHECK: anchor = #attn.anchor<row, null_extra = 0>, link = #attn.link<exp>
// CHECK: anchor = #attn.anchor<sinkhorn, iterations = 10000>, link = #attn.link<exp>
// CHECK: anchor = #attn.anchor<row_abs>, link = #attn.link<signed_exp>, weights_signed
func.func @link_anchor_params(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %n: tensor<4xf32>) -> tensor<1x4x8x16xf32> {
  %0 = attn.attention %q, %k, %v {link = #attn.link<relu, power = 2.0>, anchor = #attn.anchor<none>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %1 = attn.attention %q, %k, %v {link = #attn.link<relu, power = 1.0>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %2 = attn.attention %q, %k, %v {link = #attn.link<relu>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %3 = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, null = -1.5>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %4 = attn.attention %q, %k, %v {link = #attn.link<sigmoid>, anchor = #attn.anchor<row, null = 0.1>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %5 = attn.attention %q, %k, %v {link = #attn.link<relu, power = 0.5>, anchor = #attn.anchor<row, null = 1.0e20>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %6 = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, null = 0xFFF0000000000000>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %7 = attn.attention %q, %k, %v extras(%n : tensor<4xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %8 = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 10000>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  %9 = attn.attention %q, %k, %v {link = #attn.link<signed_exp>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %9 : tensor<1x4x8x16xf32>
}

// A window wider than the key axis keeps every key it reaches (decode over a
// cache shorter than the window); it is not an error.
// CHECK-LABEL: func.func @wide_window
// CHECK: #attn.window<left = 37, right = 0, sinks = 0, align = bottom_right>
func.func @wide_window(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.window<left = 37, right = 0, sinks = 0, align = bottom_right>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// A pool changes the length: 100 tokens in groups of 32 every 16 make 6 (the last
// one holds tokens 80 to 99).
// CHECK-LABEL: func.func @pool
// CHECK: attn.pool <max> %{{.*}} {size = 32 : i64, stride = 16 : i64} : tensor<1x2x100x8xf32> -> tensor<1x2x6x8xf32>
// CHECK: attn.pool <mean> %{{.*}} {size = 64 : i64, stride = 64 : i64} : tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
func.func @pool(%x: tensor<1x2x100x8xf32>, %y: tensor<?x?x?x8xf32>) -> (tensor<1x2x6x8xf32>, tensor<?x?x?x8xf32>) {
  %a = attn.pool <max> %x {size = 32 : i64, stride = 16 : i64} : tensor<1x2x100x8xf32> -> tensor<1x2x6x8xf32>
  %b = attn.pool <mean> %y {size = 64 : i64, stride = 64 : i64} : tensor<?x?x?x8xf32> -> tensor<?x?x?x8xf32>
  return %a, %b : tensor<1x2x6x8xf32>, tensor<?x?x?x8xf32>
}
