// RUN: attnc-opt %s --attn-reassociate-linear=min-work-ratio=0 --split-input-file | FileCheck %s
// RUN: attnc-opt %s --attn-reassociate-linear --split-input-file | FileCheck %s --check-prefix=GATE
// An identity-link attention becomes the keys' state KV = I . k^T v and
// the rows q . I^T KV, both attentions; row_abs divides by the same pair
// over ones. Only where the rewrite is exact up to rounding.

// elu(x) + 1 features (the 1 as the front end writes it) under row_abs, GQA
// (4 query heads, 2 KV heads), key lengths: the carrier and extras move to
// both states; the scale to the rows.
// CHECK: #[[FIRST:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
// CHECK-LABEL: func.func @elu_row_abs_gqa
// CHECK: %[[EYEQ:.*]] = attn.map {attnc.gpu.step_reason = "an identity matrix {{.*}} -> tensor<2x1x8x8xf32>
// CHECK:   arith.cmpi eq
// CHECK: %[[EYEK:.*]] = attn.map {{.*}} -> tensor<2x2x8x8xf32>
// CHECK: %[[ONES:.*]] = attn.map {attnc.gpu.step_reason = "ones {{.*}} -> tensor<2x2x100x16xf32>
// CHECK: %[[KS:.*]] = attn.attention %[[EYEQ]], %[[K:.*]], %[[ONES]] extras(%arg3 : tensor<2xi32>)
// CHECK-SAME: anchor = #attn.anchor<none>, carrier = [#attn.lengths<kv = 0>], link = #attn.link<identity>, scale = 1.000000e+00 : f64, split_kv = 1024 : i64, weights_signed
// CHECK-SAME: -> tensor<2x2x8x16xf32>
// CHECK: %[[S:.*]] = attn.attention %[[Q:.*]], %[[EYEK]], %[[KS]] {anchor = #attn.anchor<none>, link = #attn.link<identity>, scale = 5.000000e-01 : f64, weights_signed}
// CHECK-SAME: -> tensor<2x4x90x16xf32>
// CHECK: %[[KV:.*]] = attn.attention %[[EYEQ]], %[[K]], %arg2 extras(%arg3 : tensor<2xi32>)
// CHECK-SAME: carrier = [#attn.lengths<kv = 0>]
// CHECK-SAME: tensor<2x1x8x8xf32>, tensor<2x2x100x8xf32>, tensor<2x2x100x8xf32> -> tensor<2x2x8x8xf32>
// CHECK: %[[N:.*]] = attn.attention %[[Q]], %[[EYEK]], %[[KV]]
// CHECK-SAME: scale = 5.000000e-01 : f64
// CHECK-SAME: tensor<2x4x90x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32> -> tensor<2x4x90x8xf32>
// CHECK: %[[O:.*]] = attn.map ins(%[[N]], %[[S]] : {{.*}}) {attnc.gpu.step_reason = "the row_abs normalisation {{.*}}", indexing_maps = [#map, #[[FIRST]]]} -> tensor<2x4x90x8xf32>
// CHECK:   arith.cmpf oeq
// CHECK:   arith.divf
// CHECK: return %[[O]]
// By default only where it saves more than half the work: here 2.37x.
// GATE-LABEL: func.func @elu_row_abs_gqa
// GATE-COUNT-4: anchor = #attn.anchor<none>
func.func @elu_row_abs_gqa(%q: tensor<2x4x90x8xf32>, %k: tensor<2x2x100x8xf32>, %v: tensor<2x2x100x8xf32>, %n: tensor<2xi32>) -> tensor<2x4x90x8xf32> {
  %qf = attn.map ins(%q : tensor<2x4x90x8xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<2x4x90x8xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %z = arith.constant 0.0 : f32
    %c1 = arith.constant 1 : index
    %i1 = arith.index_cast %c1 : index to i64
    %one = arith.sitofp %i1 : i64 to f32
    %p = arith.cmpf ogt, %x, %z : f32
    %e = math.expm1 %x : f32
    %s = arith.select %p, %x, %e : f32
    %r = arith.addf %s, %one : f32
    attn.yield %r : f32
  }
  %kf = attn.map ins(%k : tensor<2x2x100x8xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<2x2x100x8xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    attn.yield %r : f32
  }
  %o = attn.attention %qf, %kf, %v extras(%n : tensor<2xi32>) {carrier = [#attn.lengths<kv = 0>], scale = 0.5 : f64, link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<2x4x90x8xf32>, tensor<2x2x100x8xf32>, tensor<2x2x100x8xf32> -> tensor<2x4x90x8xf32>
  return %o : tensor<2x4x90x8xf32>
}

// -----

// Anchor none needs no sign: no ones column and no division; a mask that
// reads only keys moves to the state.
// CHECK-LABEL: func.func @none_key_mask
// CHECK: %[[KV:.*]] = attn.attention %{{.*}}, %arg1, %arg2
// CHECK-SAME: -> tensor<1x2x16x16xf32> mask {
// CHECK: arith.cmpi slt
// CHECK: %[[N:.*]] = attn.attention %arg0, %{{.*}}, %[[KV]]
// CHECK-SAME: -> tensor<1x2x64x16xf32>
// CHECK-NEXT: return %[[N]]
// At 64 x 64 keys and head dims 16 the saving is only 2x: left quadratic.
// GATE-LABEL: func.func @none_key_mask
// GATE: attn.attention %arg0, %arg1, %arg2
// GATE-NOT: attn.attention
func.func @none_key_mask(%q: tensor<1x2x64x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>) -> tensor<1x2x64x16xf32> {
  %o = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.constant 50 : index
    %p = arith.cmpi slt, %j, %c : index
    attn.yield %p : i1
  }
  return %o : tensor<1x2x64x16xf32>
}

// -----

// Left alone: a mask that reads the query row, a score region, a causal
// carrier, row_abs over features of unknown sign, an exp link.
// CHECK-LABEL: func.func @refused
// GATE-LABEL: func.func @refused
// CHECK-COUNT-5: attn.attention
// CHECK-NOT: attn.attention
// CHECK-NOT: attn.map
func.func @refused(%q: tensor<1x2x64x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>) -> tensor<1x2x64x16xf32> {
  %a = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %p = arith.cmpi sle, %j, %i : index
    attn.yield %p : i1
  }
  %s = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  score {
  ^bb0(%x: f32, %b: index, %h: index, %i: index, %j: index):
    %y = arith.mulf %x, %x : f32
    attn.yield %y : f32
  }
  %c = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  %r = attn.attention %q, %k, %v {link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  %e = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<none>} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  %t0 = arith.addf %a, %s : tensor<1x2x64x16xf32>
  %t1 = arith.addf %t0, %c : tensor<1x2x64x16xf32>
  %t2 = arith.addf %t1, %r : tensor<1x2x64x16xf32>
  %t3 = arith.addf %t2, %e : tensor<1x2x64x16xf32>
  return %t3 : tensor<1x2x64x16xf32>
}

// -----

// A negative scale flips the sign that row_abs needs; dynamic lengths leave
// the work unknown.
// CHECK-LABEL: func.func @negative_scale_dynamic
// CHECK-COUNT-2: attn.attention
// CHECK-NOT: attn.attention
func.func @negative_scale_dynamic(%q: tensor<1x2x64x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>,
                                  %qd: tensor<1x2x?x16xf32>, %kd: tensor<1x2x?x16xf32>, %vd: tensor<1x2x?x16xf32>) -> (tensor<1x2x64x16xf32>, tensor<1x2x?x16xf32>) {
  %qe = attn.map ins(%q : tensor<1x2x64x16xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x64x16xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %r = math.exp %x : f32
    attn.yield %r : f32
  }
  %a = attn.attention %qe, %qe, %v {scale = -1.0 : f64, link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<1x2x64x16xf32>
  %d = attn.attention %qd, %kd, %vd {link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32> -> tensor<1x2x?x16xf32>
  return %a, %d : tensor<1x2x64x16xf32>, tensor<1x2x?x16xf32>
}
