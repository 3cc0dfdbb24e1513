// RUN: attnc-opt --attn-gpu-plan-kernel -verify-diagnostics -split-input-file %s
// What the Hopper kernel rejects, with the reason (attn-gpu-partition-program
// sends such attentions to the generic GPU path with this reason).

func.func @f32(%q: tensor<1x1x?x128xf32>, %k: tensor<1x1x?x128xf32>, %v: tensor<1x1x?x128xf32>) -> tensor<1x1x?x128xf32> {
  // expected-error @+1 {{GPU kernel: q/k/v must be bf16 or f16}}
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x128xf32>, tensor<1x1x?x128xf32>, tensor<1x1x?x128xf32> -> tensor<1x1x?x128xf32>
  return %o : tensor<1x1x?x128xf32>
}

// -----

func.func @sinkhorn(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+1 {{GPU kernel: anchor sinkhorn needs the whole weight matrix (column normalisation) and cannot run online}}
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<sinkhorn, iterations = 3>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}

// -----

func.func @score_conv(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>, %w: tensor<2x2x2xf32>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+1 {{GPU kernel: score_conv mixes the scores of neighbouring (i, j) across tiles and is not supported}}
  %o = attn.attention %q, %k, %v extras(%w : tensor<2x2x2xf32>) {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, score_conv = #attn.score_conv<queries = 2, keys = 2, weight = 0>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}

// -----

func.func @block_list_small(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>, %off: tensor<1x2x?xi32>, %idx: tensor<1x2x?xi32>) -> tensor<1x2x?x64xbf16> {
  // expected-error @+1 {{GPU kernel: block_list(q_block = 64, k_block = 128) needs BLOCK_M = 128 to divide q_block and BLOCK_N = 128 to divide k_block}}
  %o = attn.attention %q, %k, %v extras(%off, %idx : tensor<1x2x?xi32>, tensor<1x2x?xi32>) {carrier = [#attn.block_list<q_block = 64, k_block = 128, offsets = 0, indices = 1>], scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16> -> tensor<1x2x?x64xbf16>
  return %o : tensor<1x2x?x64xbf16>
}

// -----

func.func @head_dim_40(%q: tensor<1x1x?x40xbf16>, %k: tensor<1x1x?x40xbf16>, %v: tensor<1x1x?x40xbf16>) -> tensor<1x1x?x40xbf16> {
  // expected-error @+1 {{GPU kernel: head dims must be multiples of 16 from 16 to 256, got D = 40, Dv = 40}}
  %o = attn.attention %q, %k, %v {scale = 0.15 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x40xbf16>, tensor<1x1x?x40xbf16>, tensor<1x1x?x40xbf16> -> tensor<1x1x?x40xbf16>
  return %o : tensor<1x1x?x40xbf16>
}

// -----

func.func @head_dim_288(%q: tensor<1x1x?x288xbf16>, %k: tensor<1x1x?x288xbf16>, %v: tensor<1x1x?x64xbf16>) -> tensor<1x1x?x64xbf16> {
  // expected-error @+1 {{GPU kernel: head dims must be multiples of 16 from 16 to 256, got D = 288, Dv = 64}}
  %o = attn.attention %q, %k, %v {scale = 0.05 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x288xbf16>, tensor<1x1x?x288xbf16>, tensor<1x1x?x64xbf16> -> tensor<1x1x?x64xbf16>
  return %o : tensor<1x1x?x64xbf16>
}
