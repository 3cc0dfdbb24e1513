// RUN: attnc-opt %s --attn-print-pass-count --split-input-file --verify-diagnostics
// Passes over K/V: softmax and other single-pass anchors need 1; Sinkhorn
// with K iterations needs 2K + 1.

func.func @softmax(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32> {
  // expected-remark @+1 {{1 pass over K/V (link exp, anchor row)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  return %o : tensor<1x1x8x4xf32>
}

// -----

func.func @sigmoid(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32> {
  // expected-remark @+1 {{1 pass over K/V (link sigmoid, anchor none)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<sigmoid>, anchor = #attn.anchor<none>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  return %o : tensor<1x1x8x4xf32>
}

// -----

func.func @sinkhorn(%q: tensor<1x1x8x4xf32>, %k: tensor<1x1x8x4xf32>, %v: tensor<1x1x8x4xf32>) -> tensor<1x1x8x4xf32> {
  // expected-remark @+1 {{7 passes over K/V (link exp, anchor sinkhorn)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 3>} : tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32>, tensor<1x1x8x4xf32> -> tensor<1x1x8x4xf32>
  return %o : tensor<1x1x8x4xf32>
}
