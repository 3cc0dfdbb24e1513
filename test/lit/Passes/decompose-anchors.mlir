// RUN: attnc-opt %s --attn-decompose --split-input-file | FileCheck %s
// Each anchor's cascade: none (no denominator), row_abs, sinkhorn, the null
// key of a sub-stochastic row, and split-KV with the softmax combine rule (and
// without it: the one-pass form).

// CHECK-LABEL: func.func @sigmoid_none
// CHECK-NOT: attn.reduce <max>
// CHECK: %[[W:[0-9]+]] = attn.map ins(%{{[0-9]+}}, %{{[0-9]+}} : tensor<1x2x8x8xf32>, tensor<1x2x8x8xi1>)
// CHECK:   math.exp
// CHECK:   arith.divf
// CHECK:   arith.select
// CHECK: %[[O:[0-9]+]] = attn.einsum %[[W]]
// CHECK-NOT: attn.row_normalize
// CHECK: return %[[O]]
func.func @sigmoid_none(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<sigmoid>, anchor = #attn.anchor<none>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A signed link drops a -inf score like a masked pair (NaN stays kept).
// CHECK-LABEL: func.func @identity_row_abs
// CHECK: %[[KEEP:[0-9]+]] = attn.map ins(%{{[0-9]+}}, %{{[0-9]+}} : tensor<1x2x8x8xf32>, tensor<1x2x8x8xi1>) {{.*}} -> tensor<1x2x8x8xi1>
// CHECK:   arith.cmpf une, %{{.*}}, %cst
// CHECK:   arith.andi
// CHECK: %[[W:[0-9]+]] = attn.map ins(%{{[0-9]+}}, %[[KEEP]] : tensor<1x2x8x8xf32>, tensor<1x2x8x8xi1>)
// CHECK: %[[ABS:[0-9]+]] = attn.map ins(%[[W]]
// CHECK:   math.absf
// CHECK: %[[L:.*]] = attn.reduce <sum> %[[ABS]]
// CHECK: %[[PV:.*]] = attn.einsum %[[W]]
// CHECK: attn.row_normalize %[[PV]] by %[[L]]
func.func @identity_row_abs(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// CHECK-LABEL: func.func @sinkhorn
// CHECK: attn.reduce <max>
// CHECK: %[[W:[0-9]+]] = attn.map ins(%{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} :
// CHECK: %[[P:[0-9]+]] = attn.sinkhorn %[[W]] {iterations = 3 : i64}
// CHECK: %[[O:.*]] = attn.einsum %[[P]]
// CHECK: return %[[O]]
func.func @sinkhorn(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 3>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// The null key raises the row max to at least its logit and adds
// exp(c - m) to the denominator.
// CHECK-LABEL: func.func @null_key
// CHECK: %[[M:.*]] = attn.reduce <max>
// CHECK: %[[M2:.*]] = attn.map ins(%[[M]]
// CHECK:   tensor.extract %arg3
// CHECK:   arith.maximumf
// CHECK: %[[L:.*]] = attn.reduce <sum>
// CHECK: %[[D:.*]] = attn.map ins(%[[L]], %[[M2]]
// CHECK:   math.exp
// CHECK:   arith.addf
// CHECK: attn.row_normalize %{{.*}} by %[[D]]
func.func @null_key(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %sinks: tensor<2xf32>) -> tensor<1x2x8x4xf32> {
  %o = attn.attention %q, %k, %v extras(%sinks : tensor<2xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = 0>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// Split-KV: 100 keys in chunks of 32 -> 4 partials per row, merged.
// CHECK-LABEL: func.func @split_kv
// CHECK: %[[SP:.*]] = attn.map {{.*}} -> tensor<1x2x1x4x32xf32>
// CHECK: %[[VP:.*]] = attn.map {{.*}} -> tensor<1x2x4x32x8xf32>
// CHECK: %[[M:.*]] = attn.reduce <max> %[[SP]] : tensor<1x2x1x4x32xf32> -> tensor<1x2x1x4xf32>
// CHECK: %[[L:.*]] = attn.reduce <sum>
// CHECK: %[[ACC:.*]] = attn.einsum {{.*}}, %[[VP]] {{.*}} -> tensor<1x2x1x4x8xf32>
// CHECK: attn.merge_partials %[[M]], %[[L]], %[[ACC]] {{.*}} -> tensor<1x2x1x8xf32>
func.func @split_kv(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x100x8xf32>, %v: tensor<1x2x100x8xf32>) -> tensor<1x2x1x8xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, split_kv = 32} : tensor<1x2x1x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32> -> tensor<1x2x1x8xf32>
  return %o : tensor<1x2x1x8xf32>
}

// -----

// Split-KV of a link without a row maximum: its partials are plain sums, so
// the cascade is the one-pass form (no merge), equal to the merged sums.
// CHECK-LABEL: func.func @split_kv_sigmoid
// CHECK-NOT: attn.merge_partials
// CHECK: attn.einsum
// CHECK-NOT: attn.merge_partials
// CHECK: return
func.func @split_kv_sigmoid(%q: tensor<1x2x1x8xf32>, %k: tensor<1x2x100x8xf32>, %v: tensor<1x2x100x8xf32>) -> tensor<1x2x1x8xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<sigmoid>, anchor = #attn.anchor<none>, split_kv = 32} : tensor<1x2x1x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32> -> tensor<1x2x1x8xf32>
  return %o : tensor<1x2x1x8xf32>
}

// -----

// Score convolution: scores zeroed off the carrier, then a 2x2 stencil.
// CHECK-LABEL: func.func @score_conv
// CHECK: %[[S0:.*]] = attn.map ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<1x2x8x8xi1>)
// CHECK: attn.map {{.*}} -> tensor<1x2x8x8xf32>
// CHECK-COUNT-4: tensor.extract %arg3
func.func @score_conv(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %w: tensor<2x2x2xf32>) -> tensor<1x2x8x4xf32> {
  %o = attn.attention %q, %k, %v extras(%w : tensor<2x2x2xf32>) {carrier = [#attn.causal<top_left>], link = #attn.link<exp>, anchor = #attn.anchor<row>, score_conv = #attn.score_conv<queries = 2, keys = 2, weight = 0>} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}
