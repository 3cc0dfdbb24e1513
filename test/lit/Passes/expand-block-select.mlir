// RUN: attnc-opt %s --attn-expand-block-select --split-input-file | FileCheck %s
// A block_select carrier becomes the estimation stage (attn.select_blocks over
// q, k, the attention's scale and its other static families) and a counted
// block_list over the stage's results, appended to the extras.

// CHECK-LABEL: func.func @causal_topk
// CHECK: %[[C:.*]], %[[I:.*]] = attn.select_blocks %arg0, %arg1 {carrier = [#attn.causal<bottom_right>], scale = 2.500000e-01 : f64, select = #attn.block_select<q_block = 64, k_block = 32, pool = mean, stride = 1, top_k = 2, force_first = true, force_last = false>} : tensor<1x4x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x4x2xi32>, tensor<1x4x2x4xi32>
// CHECK: attn.attention %arg0, %arg1, %arg2 extras(%[[C]], %[[I]] : tensor<1x4x2xi32>, tensor<1x4x2x4xi32>)
// CHECK-SAME: carrier = [#attn.causal<bottom_right>, #attn.block_list<q_block = 64, k_block = 32, offsets = 0, indices = 1, counted = true>]
func.func @causal_topk(%q: tensor<1x4x100x16xf32>, %k: tensor<1x2x100x16xf32>, %v: tensor<1x2x100x16xf32>) -> tensor<1x4x100x16xf32> {
  %o = attn.attention %q, %k, %v {scale = 0.25 : f64, carrier = [#attn.causal<bottom_right>, #attn.block_select<q_block = 64, k_block = 32, pool = mean, stride = 1, top_k = 2, force_first = true, force_last = false>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32> -> tensor<1x4x100x16xf32>
  return %o : tensor<1x4x100x16xf32>
}

// -----

// The other families' extras keep their numbers; the list's follow them.
// Dynamic lengths give dynamic block counts.
// CHECK-LABEL: func.func @document_threshold
// CHECK: %[[C:.*]], %[[I:.*]] = attn.select_blocks %arg0, %arg1 extras(%arg3 : tensor<3xi32>) {carrier = [#attn.document<seqlens = 0>], select = #attn.block_select<{{.*}}pool = antidiagonal, stride = 8, top_k = 0, threshold = 9.000000e-01 : f64{{.*}}>} : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?xi32>, tensor<1x1x?x?xi32>
// CHECK: extras(%arg3, %[[C]], %[[I]] :
// CHECK-SAME: #attn.block_list<q_block = 128, k_block = 128, offsets = 1, indices = 2, counted = true>
func.func @document_threshold(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>, %v: tensor<1x1x?x16xf32>, %cu: tensor<3xi32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention %q, %k, %v extras(%cu : tensor<3xi32>) {carrier = [#attn.document<seqlens = 0>, #attn.block_select<q_block = 128, k_block = 128, pool = antidiagonal, stride = 8, top_k = 0, threshold = 0.9 : f64, force_first = false, force_last = true>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32> -> tensor<1x1x?x16xf32>
  return %o : tensor<1x1x?x16xf32>
}
