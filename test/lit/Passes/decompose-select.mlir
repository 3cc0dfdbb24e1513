// RUN: attnc-opt %s --attn-decompose | FileCheck %s
// The estimation stage as cascade ops: the candidate blocks of the causal
// family, mean-pooled q and k (a loop over each block's rows), their scaled
// products, a softmax over the candidates of each row (reduce max, reduce
// sum), the selection (two loops over the row's blocks per block) and the
// counted list: counts [B, H, NQB] and ascending indices [B, H, NQB, NKB].

// CHECK-LABEL: func.func @mean_topk
// CHECK: attn.map {{.*}} -> tensor<1x2x3x3xi1>
// CHECK: attn.map {{.*}} -> tensor<1x2x3x8xf32>
// CHECK:   scf.for
// CHECK: attn.map {{.*}} -> tensor<1x1x3x8xf32>
// CHECK: attn.map {{.*}} -> tensor<1x2x3x3xf32>
// CHECK: attn.reduce <max>
// CHECK: attn.reduce <sum>
// CHECK: attn.map {{.*}} -> tensor<1x2x3x3xi1>
// CHECK: attn.map {{.*}} -> tensor<1x2x3xi32>
// CHECK: attn.map {{.*}} -> tensor<1x2x3x3xi32>
// CHECK-NOT: attn.select_blocks
func.func @mean_topk(%q: tensor<1x2x40x8xf32>, %k: tensor<1x1x40x8xf32>) -> (tensor<1x2x3xi32>, tensor<1x2x3x3xi32>) {
  %c, %i = attn.select_blocks %q, %k {carrier = [#attn.causal<bottom_right>], select = #attn.block_select<q_block = 16, k_block = 16, pool = mean, stride = 1, top_k = 2, force_first = false, force_last = true>} : tensor<1x2x40x8xf32>, tensor<1x1x40x8xf32> -> tensor<1x2x3xi32>, tensor<1x2x3x3xi32>
  return %c, %i : tensor<1x2x3xi32>, tensor<1x2x3x3xi32>
}
