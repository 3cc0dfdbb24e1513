// RUN: attnc-opt %s --split-input-file --verify-diagnostics
// Every attn.attention verifier diagnostic, one per case.

func.func @f(%q: tensor<4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{query must be [B, H, L, D], got rank 3}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf64>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{query, key, value and result must share an element type}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf64>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x32xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{query head dim (16) differs from key head dim (32)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x9x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{key length (8) differs from value length (9)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x9x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{key heads (4) differ from value heads (2)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{batch sizes differ (1 vs 2)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x32xf32> {
  // expected-error @+1 {{result must be [B, H, Lq, Dv]}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x32xf32>
  return %o : tensor<1x4x8x32xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x3x8x16xf32>, %v: tensor<1x3x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{key/value heads (3) must divide the result heads (4)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x3x8x16xf32>, tensor<1x3x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x8x8x16xf32> {
  // expected-error @+1 {{result heads (8) must be max(query heads, key heads) = 4}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32> -> tensor<1x8x8x16xf32>
  return %o : tensor<1x8x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{link 'identity' can give negative weights; declare `weights signed` if that is intended}}
  %o = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<none>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{signed link 'identity' under a 'row' anchor: row sums of signed weights can vanish; use anchor row_abs or none}}
  %o = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<row>, weights_signed} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{signed link 'signed_exp' under a 'sinkhorn' anchor}}
  %o = attn.attention %q, %k, %v {link = #attn.link<signed_exp>, anchor = #attn.anchor<sinkhorn, iterations = 2>, weights_signed} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{relu power must be positive and finite}}
  %o = attn.attention %q, %k, %v {link = #attn.link<relu, power = 0.0>, anchor = #attn.anchor<none>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{relu power must be positive and finite}}
  %o = attn.attention %q, %k, %v {link = #attn.link<relu, power = -2.0>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{link 'exp' takes no power (only relu does)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp, power = 2.0>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{link 'sigmoid' takes no power (only relu does)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<sigmoid, power = 1.0>, anchor = #attn.anchor<none>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{a null key (null / null_extra) needs the row anchor, not 'none'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<none, null = 0.0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{a null key (null / null_extra) needs the row anchor, not 'sinkhorn'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, null = 0.5, iterations = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{a null key (null / null_extra) needs the row anchor, not 'row_abs'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row_abs, null_extra = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{the null key takes a constant (null) or an extra input (null_extra), not both}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, null = 1.0, null_extra = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{null_extra must name an extra input (>= 0), got -1}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = -1>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{sinkhorn anchor needs 1 <= iterations <= 10000}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{sinkhorn anchor needs 1 <= iterations <= 10000}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{sinkhorn anchor needs 1 <= iterations <= 10000}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 10001>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{iterations given to anchor 'row' (only sinkhorn takes them)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, iterations = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{unknown link 'gelu'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<gelu>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{unknown anchor 'column'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<column>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{unknown link parameter 'exponent' (expected power)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<relu, exponent = 2.0>, anchor = #attn.anchor<none>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{unknown anchor parameter 'sinks' (expected null, null_extra or iterations)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row, sinks = 2>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{anchor parameter 'iterations' given twice}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 2, iterations = 3>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %n: tensor<4xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{anchor null_extra names extra input #3 but there are 1}}
  %o = attn.attention %q, %k, %v extras(%n : tensor<4xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = 3>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %n: tensor<4x2xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{anchor null_extra (extra #0) must have rank 1, got 2}}
  %o = attn.attention %q, %k, %v extras(%n : tensor<4x2xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %n: tensor<4xi32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{anchor null_extra (extra #0) must have a float element type}}
  %o = attn.attention %q, %k, %v extras(%n : tensor<4xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row, null_extra = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{split_kv needs an anchor whose partials merge (none, row or row_abs; not sinkhorn)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 3>, split_kv = 64} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{document seqlens names extra input #0 but there are 0}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.document<seqlens = 0>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %cu: tensor<3xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{document seqlens (extra #0) must have an integer element type}}
  %o = attn.attention %q, %k, %v extras(%cu : tensor<3xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.document<seqlens = 0>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{neighborhood grid has 9 tokens but the query length is 8}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [3, 3], window = [3, 3], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{block_list block sizes must be positive}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.block_list<q_block = 0, k_block = 4, offsets = 0, indices = 1>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{window left and sinks must be >= 0}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.window<left = 2, right = 0, sinks = -1, align = top_left>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{prefix length must be >= 0}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<top_left>, #attn.prefix<length = -1>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{neighborhood grid extents must be positive and their product must fit in 64 bits}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [4294967296, 4294967296], window = [3, 3], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %off: tensor<3xi32>, %idx: tensor<1x4x2xi32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{block_list offsets (extra #0) must have rank 3, got 1}}
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<3xi32>, tensor<1x4x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.block_list<q_block = 4, k_block = 4, offsets = 0, indices = 1>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{carrier entry #attn.link<exp> is not a carrier family}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.link<exp>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %w: tensor<4x2xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{score_conv weight (extra #0) must have rank 3, got 2}}
  %o = attn.attention %q, %k, %v extras(%w : tensor<4x2xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, score_conv = #attn.score_conv<queries = 2, keys = 2, weight = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{mask region must yield one 'i1'}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 1.0 : f32
    attn.yield %c : f32
  }
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{score region must take 5 arguments (s, b, h, i, j)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  score {
  ^bb0(%s: f32):
    attn.yield %s : f32
  }
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @capture(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %t: tensor<4xf32>) -> tensor<1x4x8x16xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    // expected-error @+1 {{reads a tensor from outside the attention that is not listed in its extras}}
    %x = tensor.extract %t[%h] : tensor<4xf32>
    %r = arith.addf %s, %x : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x4x8x16xf32>
}

// -----

// expected-error @+1 {{neighborhood axis 0: window 5 x dilation 2 is larger than the axis (8)}}
func.func private @nbr() attributes {c = #attn.neighborhood<grid = [8], window = [5], dilation = [2], stride = [1], causal = [false]>}

// -----

// expected-error @+1 {{neighborhood axis 0: stride 4 is larger than the window 3}}
func.func private @nbr2() attributes {c = #attn.neighborhood<grid = [8], window = [3], dilation = [1], stride = [4], causal = [false]>}

// -----

// expected-error @+1 {{neighborhood: grid, window, dilation, stride and causal must all have 2 entries}}
func.func private @nbr3() attributes {c = #attn.neighborhood<grid = [8, 8], window = [3], dilation = [1, 1], stride = [1, 1], causal = [false, false]>}

// -----

func.func @einsum(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{expects 3 indexing maps (inputs, then output), got 2}}
  %r = attn.einsum %a, %b {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>]} : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @einsum_out(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{output map must be a projection of the iteration dims}}
  %r = attn.einsum %a, %b {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i + j, j)>]} : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

func.func @reduce(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{reducing 1 trailing axes of rank 2 must give rank 1}}
  %r = attn.reduce <sum> %a : tensor<4x8xf32> -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

func.func @map(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{body must yield one 'f32'}}
  %r = attn.map ins(%a : tensor<4x8xf32>) {indexing_maps = [affine_map<(i, j) -> (i, j)>]} -> tensor<4x8xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    attn.yield %i : index
  }
  return %r : tensor<4x8xf32>
}

// -----

func.func @map_dyn(%a: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{expects 1 sizes for the result's dynamic dims}}
  %r = attn.map ins(%a : tensor<?x8xf32>) {indexing_maps = [affine_map<(i, j) -> (i, j)>]} -> tensor<?x8xf32> {
  ^bb0(%i: index, %j: index, %x: f32):
    attn.yield %x : f32
  }
  return %r : tensor<?x8xf32>
}

// -----

func.func @rownorm(%a: tensor<4x8x2xf32>, %d: tensor<4xf32>) -> tensor<4x8x2xf32> {
  // expected-error @+1 {{denominator must have one axis fewer than the accumulator}}
  %r = attn.row_normalize %a by %d : tensor<4x8x2xf32>, tensor<4xf32> -> tensor<4x8x2xf32>
  return %r : tensor<4x8x2xf32>
}

// -----

func.func @rope(%a: tensor<1x2x8x15xf32>) -> tensor<1x2x8x15xf32> {
  // expected-error @+1 {{rope needs an even head dim, got 15}}
  %r = attn.rope %a {theta = 10000.0 : f64} : tensor<1x2x8x15xf32>
  return %r : tensor<1x2x8x15xf32>
}

// -----

func.func @conv_too_large(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %w: tensor<4x100x100xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{score_conv of 100 x 100 offsets is too large (at most 4096 terms per score)}}
  %o = attn.attention %q, %k, %v extras(%w : tensor<4x100x100xf32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, score_conv = #attn.score_conv<queries = 100, keys = 100, weight = 0>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @document_cross(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x9x16xf32>, %v: tensor<1x4x9x16xf32>, %cu: tensor<3xi32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{document carrier packs queries and keys with one seqlens, so the query length (8) must equal the key length (9)}}
  %o = attn.attention %q, %k, %v extras(%cu : tensor<3xi32>) {carrier = [#attn.document<seqlens = 0>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x8x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{block_select needs exactly one of top_k (> 0) and threshold}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.block_select<q_block = 4, k_block = 4, pool = mean, stride = 1, top_k = 2, threshold = 0.5 : f64, force_first = false, force_last = false>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{block_select antidiagonal stride 3 must divide q_block (4) and k_block (4)}}
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.block_select<q_block = 4, k_block = 4, pool = antidiagonal, stride = 3, top_k = 2, force_first = false, force_last = false>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>, %v: tensor<1x4x8x16xf32>, %c: tensor<1x4x2xi32>, %i: tensor<1x4x2xi32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{block_list indices (extra #1) must have rank 4, got 3}}
  %o = attn.attention %q, %k, %v extras(%c, %i : tensor<1x4x2xi32>, tensor<1x4x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.block_list<q_block = 4, k_block = 4, offsets = 0, indices = 1, counted = true>]} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>) -> tensor<1x4x3x2xi32> {
  // expected-error @+1 {{result shapes must have ceil(Lq/q_block) = 2 query blocks and ceil(Lk/k_block) = 2 key blocks}}
  %c, %i = attn.select_blocks %q, %k {select = #attn.block_select<q_block = 4, k_block = 4, pool = mean, stride = 1, top_k = 1, force_first = false, force_last = false>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x3xi32>, tensor<1x4x3x2xi32>
  return %i : tensor<1x4x3x2xi32>
}

// -----

func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x4x8x16xf32>) -> tensor<1x4x2x2xi32> {
  // expected-error @+1 {{document seqlens (extra #0) must be an integer [N+1] extra}}
  %c, %i = attn.select_blocks %q, %k {carrier = [#attn.document<seqlens = 0>], select = #attn.block_select<q_block = 4, k_block = 4, pool = mean, stride = 1, top_k = 1, force_first = false, force_last = false>} : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x2xi32>, tensor<1x4x2x2xi32>
  return %i : tensor<1x4x2x2xi32>
}

// -----

func.func @f(%q: tensor<1x2x8x16xf32>, %k: tensor<1x3x8x16xf32>) -> tensor<1x5x2x2xi32> {
  // expected-error @+1 {{results must have max(Hq, Hk) heads, each dividing it (Hq = 2, Hk = 3, results 5)}}
  %c, %i = attn.select_blocks %q, %k {select = #attn.block_select<q_block = 4, k_block = 4, pool = mean, stride = 1, top_k = 1, force_first = false, force_last = false>} : tensor<1x2x8x16xf32>, tensor<1x3x8x16xf32> -> tensor<1x5x2xi32>, tensor<1x5x2x2xi32>
  return %i : tensor<1x5x2x2xi32>
}

// -----

func.func @f(%p: tensor<5x16x2x8xf32>, %t: tensor<2xi32>) -> tensor<2x2x48x8xf32> {
  // expected-error @+1 {{table must be an integer [B, MP] tensor}}
  %k = attn.page_gather %p, %t {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<2xi32> -> tensor<2x2x48x8xf32>
  return %k : tensor<2x2x48x8xf32>
}

// -----

func.func @f(%p: tensor<5x16x2x8xf32>, %t: tensor<2x3xi32>) -> tensor<2x2x32x8xf32> {
  // expected-error @+1 {{result must be 'tensor<2x2x48x8xf32>', got 'tensor<2x2x32x8xf32>'}}
  %k = attn.page_gather %p, %t {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<2x3xi32> -> tensor<2x2x32x8xf32>
  return %k : tensor<2x2x32x8xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x8xf32>, %kp: tensor<5x16x2x8xf32>, %vp: tensor<5x16x2x8xf32>, %t: tensor<2x3xf32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{kv_pages table (extra #0) must have an integer element type}}
  %o = attn.attention %q, %kp, %vp extras(%t : tensor<2x3xf32>) {kv_pages = #attn.kv_pages<table = 0, layout = nhd>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x1x8xf32>, tensor<5x16x2x8xf32>, tensor<5x16x2x8xf32> -> tensor<2x4x1x8xf32>
  return %o : tensor<2x4x1x8xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x8xf32>, %kp: tensor<5x16x2x8xf32>, %vp: tensor<5x32x2x8xf32>, %t: tensor<2x3xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{kv_pages: the key and value pools must have the same pages}}
  %o = attn.attention %q, %kp, %vp extras(%t : tensor<2x3xi32>) {kv_pages = #attn.kv_pages<table = 0, layout = nhd>, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x1x8xf32>, tensor<5x16x2x8xf32>, tensor<5x32x2x8xf32> -> tensor<2x4x1x8xf32>
  return %o : tensor<2x4x1x8xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x8xf32>, %k: tensor<2x2x9x8xf32>, %v: tensor<2x2x9x8xf32>, %n: tensor<2x1xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{lengths kv (extra #0) must have rank 1, got 2}}
  %o = attn.attention %q, %k, %v extras(%n : tensor<2x1xi32>) {carrier = [#attn.lengths<kv = 0>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x1x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x8xf32> -> tensor<2x4x1x8xf32>
  return %o : tensor<2x4x1x8xf32>
}

// -----

func.func @f(%q: tensor<2x4x1x8xf32>, %k: tensor<2x2x9x8xf32>, %v: tensor<2x2x9x8xf32>, %n: tensor<3xi32>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{lengths kv has 3 entries but the batch is 2}}
  %o = attn.attention %q, %k, %v extras(%n : tensor<3xi32>) {carrier = [#attn.lengths<kv = 0>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<2x4x1x8xf32>, tensor<2x2x9x8xf32>, tensor<2x2x9x8xf32> -> tensor<2x4x1x8xf32>
  return %o : tensor<2x4x1x8xf32>
}

// -----

func.func @table_bounds_odd(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xi32>, %bd: tensor<3x4x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds must hold (table, bounds) pairs}}
  %o = attn.attention %q, %q, %q extras(%seq, %bd : tensor<200xi32>, tensor<3x4x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @table_bounds_shape(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xi32>, %bd: tensor<3x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds: extra 1 must be the sparse table of the [min, max] of extra 0 over blocks of 64 entries (levels, blocks, 2)}}
  %o = attn.attention %q, %q, %q extras(%seq, %bd : tensor<200xi32>, tensor<3x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0, 1>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @table_bounds_float(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xf32>, %bd: tensor<3x4x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds: extra 0 must be an i32 table of static shape}}
  %o = attn.attention %q, %q, %q extras(%seq, %bd : tensor<200xf32>, tensor<3x4x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0, 1>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @table_bounds_index(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds: (0, 1) are not two extras (1 extras)}}
  %o = attn.attention %q, %q, %q extras(%seq : tensor<200xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0, 1>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @table_bounds_twice(%q: tensor<1x2x200x64xf32>, %seq: tensor<200xi32>, %bd: tensor<3x4x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds: each table and each bounds extra appears once}}
  %o = attn.attention %q, %q, %q extras(%seq, %bd : tensor<200xi32>, tensor<3x4x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0, 1, 0, 1>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @table_bounds_dynamic(%q: tensor<1x2x200x64xf32>, %seq: tensor<?xi32>, %bd: tensor<?x?x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{table_bounds: extra 0 must be an i32 table of static shape}}
  %o = attn.attention %q, %q, %q extras(%seq, %bd : tensor<?xi32>, tensor<?x?x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, table_bounds = array<i64: 0, 1>} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @mask_classes_no_mask(%q: tensor<1x2x200x64xf32>, %c: tensor<1x1x2x2xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{mask_classes without a mask region}}
  %o = attn.attention %q, %q, %q extras(%c : tensor<1x1x2x2xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, mask_classes = 0 : i64} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @mask_classes_shape(%q: tensor<1x2x200x64xf32>, %c: tensor<1x1x2x3xi32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{mask_classes: extra 0 must be an i32 [1 or B, 1 or H, ceil(Lq / 128), ceil(Lk / 128)], got 'tensor<1x1x2x3xi32>'}}
  %o = attn.attention %q, %q, %q extras(%c : tensor<1x1x2x3xi32>) {link = #attn.link<exp>, anchor = #attn.anchor<row>, mask_classes = 0 : i64} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @mask_classes_index(%q: tensor<1x2x200x64xf32>) -> tensor<1x2x200x64xf32> {
  // expected-error @+1 {{mask_classes: 0 is not an extra (0 extras)}}
  %o = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>, mask_classes = 0 : i64} : tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32>, tensor<1x2x200x64xf32> -> tensor<1x2x200x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %t = arith.constant true
    attn.yield %t : i1
  }
  return %o : tensor<1x2x200x64xf32>
}

// -----

func.func @pool_length(%x: tensor<1x2x100x8xf32>) -> tensor<1x2x5x8xf32> {
  // expected-error @+1 {{'attn.pool' op result must be 'tensor<1x2x6x8xf32>', got 'tensor<1x2x5x8xf32>'}}
  %a = attn.pool <sum> %x {size = 32 : i64, stride = 16 : i64} : tensor<1x2x100x8xf32> -> tensor<1x2x5x8xf32>
  return %a : tensor<1x2x5x8xf32>
}

// -----

func.func @pool_stride(%x: tensor<1x2x100x8xf32>) -> tensor<1x2x5x8xf32> {
  // expected-error @+1 {{'attn.pool' op attribute 'stride' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %a = attn.pool <sum> %x {size = 32 : i64, stride = 0 : i64} : tensor<1x2x100x8xf32> -> tensor<1x2x5x8xf32>
  return %a : tensor<1x2x5x8xf32>
}

// -----

func.func @pool_rank(%x: tensor<2x100x8xf32>) -> tensor<2x100x8xf32> {
  // expected-error @+1 {{'attn.pool' op input must be a rank-4 float tensor [B, H, L, D]}}
  %a = attn.pool <mean> %x {size = 1 : i64, stride = 1 : i64} : tensor<2x100x8xf32> -> tensor<2x100x8xf32>
  return %a : tensor<2x100x8xf32>
}
