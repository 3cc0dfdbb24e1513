// RUN: attnc-opt --attn-gpu-fuse-casts %s | FileCheck %s
// A gather of a cast's result (RoPE reads its partner channel) reads the
// cast's 16-bit operand and converts the one element; with the elementwise
// read fused too, no f32 copy of the input is left.

// CHECK-LABEL: func.func @gather(
// CHECK-SAME: %[[X:.*]]: tensor<4x8xbf16>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X]] : tensor<4x8xbf16>)
// CHECK: %[[OWN:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[G:.*]] = tensor.extract %[[X]][%{{.*}}, %{{.*}}] : tensor<4x8xbf16>
// CHECK: %[[PARTNER:.*]] = arith.extf %[[G]] : bf16 to f32
// CHECK: arith.addf %[[OWN]], %[[PARTNER]]
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @gather(%x: tensor<4x8xbf16>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xbf16>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %c = arith.extf %a : bf16 to f32
    linalg.yield %c : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%f : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %c7 = arith.constant 7 : index
    %p = arith.subi %c7, %j : index
    %b = tensor.extract %f[%i, %p] : tensor<4x8xf32>
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// A gather of a producer that computes more than a conversion is left alone
// (recomputing it per gathered element is not free).
// CHECK-LABEL: func.func @not_a_cast(
// CHECK: %[[SQ:.*]] = linalg.generic
// CHECK: tensor.extract %[[SQ]]
func.func @not_a_cast(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %f = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.mulf %a, %a : f32
    linalg.yield %c : f32
  } -> tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<4x8xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %b = tensor.extract %f[%i, %i] : tensor<4x8xf32>
    linalg.yield %b : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
