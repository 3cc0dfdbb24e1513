// RUN: attnc-opt %s --attn-chunk-causal-linear=chunk=128 --split-input-file | FileCheck %s
// RUN: attnc-opt %s --attn-chunk-causal-linear --split-input-file | FileCheck %s --check-prefix=GATE
// A causal identity-link attention becomes its own chunk's band, the chunk
// states P = I . k^T v over earlier keys, and q . I^T P; the decay splits at
// the chunk's start. Numerics: chunk-causal-linear-exec.mlir.

// A per-head decay under GQA (4 query heads, 2 KV heads): the states are
// per query head. Chunks of 128 keys, 4 of them: 4 x 64 state rows.
// The decays do not depend on b: one for every batch.
// CHECK-DAG: #[[MT:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d1, d2 floordiv 64, d3)>
// CHECK-DAG: #[[MS:map[0-9]*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3 * 64 + d2 mod 64, d4)>
// CHECK-LABEL: func.func @decay_gqa
// CHECK: %[[EYEQ:.*]] = attn.map {attnc.gpu.step_reason = "a tiled identity {{.*}} -> tensor<1x4x256x64xf32>
// CHECK:   arith.remsi %{{.*}}, %c64
// CHECK: %[[EYEK:.*]] = attn.map {{.*}} -> tensor<1x4x256x64xf32>
// The band: the carrier stays, the mask adds a(i) <= j, the score as it was.
// CHECK: %[[IN:.*]] = attn.attention %arg0, %arg1, %arg2 extras(%arg3 : tensor<4xf32>) {anchor = #attn.anchor<none>, {{.*}}carrier = [#attn.causal<bottom_right>]
// CHECK-SAME: -> tensor<1x4x512x32xf32> mask {
// CHECK:   arith.floordivsi %{{.*}}, %c128
// CHECK:   arith.cmpi sle
// CHECK: } score {
// CHECK:   arith.subi %arg7, %arg8
// CHECK:   math.powf
// The chunk states: row r sums chunk r / 64's keys, decayed to its end.
// CHECK: %[[KVC:.*]] = attn.attention %[[EYEQ]], %arg1, %arg2 extras(%arg3 : tensor<4xf32>) {anchor = #attn.anchor<none>, attnc.gpu.step_reason = "the chunk states {{.*}}", link = #attn.link<identity>, scale = 1.000000e+00 : f64, weights_signed}
// CHECK-SAME: -> tensor<1x4x256x32xf32> mask {
// CHECK:   %[[JC:.*]] = arith.floordivsi %arg7, %c128
// CHECK:   %[[RC:.*]] = arith.floordivsi %arg6, %c64
// CHECK:   arith.cmpi eq, %[[JC]], %[[RC]]
// CHECK: } score {
// CHECK:   %[[SN:.*]] = arith.floordivsi %arg7, %c64
// CHECK:   %[[SN1:.*]] = arith.addi %[[SN]], %c1
// CHECK:   %[[SA:.*]] = arith.muli %[[SN1]], %c128
// CHECK:   arith.subi %[[SA]], %arg8
// The decays between chunk ends, per head: F(nC - (m + 1) C) where m < n.
// CHECK: %[[T:.*]] = attn.map {attnc.gpu.step_reason = "the decays between chunk ends {{.*}} -> tensor<1x4x4x4xf32>
// CHECK:   math.powf
// CHECK:   arith.cmpi slt, %arg7, %arg6
// The states before each chunk: sum over m of T[n, m] KVc[m 64 + d].
// CHECK: %[[P:.*]] = attn.einsum %[[T]], %[[KVC]] {{{.*}}indexing_maps = [#[[MT]], #[[MS]], #{{.*}}]} : tensor<1x4x4x4xf32>, tensor<1x4x256x32xf32> -> tensor<1x4x256x32xf32>
// The rows read their chunk's 64 state rows, decayed from its start.
// CHECK: %[[OUT:.*]] = attn.attention %arg0, %[[EYEK]], %[[P]] extras(%arg3 : tensor<4xf32>)
// CHECK-SAME: -> tensor<1x4x512x32xf32> mask {
// CHECK:   %[[R:.*]] = arith.floordivsi %arg7, %c64
// CHECK:   %[[C:.*]] = arith.floordivsi %arg6, %c128
// CHECK:   arith.cmpi eq, %[[R]], %[[C]]
// CHECK: } score {
// CHECK:   %[[RC:.*]] = arith.floordivsi %arg7, %c128
// CHECK:   %[[RA:.*]] = arith.muli %[[RC]], %c128
// CHECK:   arith.subi %arg7, %[[RA]]
// CHECK: %[[SUM:.*]] = attn.map ins(%[[IN]], %[[OUT]] :
// CHECK:   arith.addf
// CHECK: return %[[SUM]]
// At 512 keys the causal form is cheaper (the default gate).
// GATE-LABEL: func.func @decay_gqa
// GATE-NOT: chunk
// GATE: return
func.func @decay_gqa(%q: tensor<1x4x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x32xf32>, %decay: tensor<4xf32>) -> tensor<1x4x512x32xf32> {
  %o = attn.attention %q, %k, %v extras(%decay : tensor<4xf32>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x4x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x32xf32> -> tensor<1x4x512x32xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<4xf32>
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %p = math.powf %x, %tf : f32
    %r = arith.mulf %s, %p : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x4x512x32xf32>
}


// -----

// row_abs over relu / exp features with an exp2 decay of j - i, Lq < Lk
// aligned top-left: the same three attentions over ones give the sums.
// CHECK-LABEL: func.func @row_abs_exp2_decay
// CHECK: %[[EYEQ:.*]] = attn.map {{.*}} -> tensor<1x1x256x64xf32>
// CHECK: %[[EYEK:.*]] = attn.map {{.*}} -> tensor<1x2x256x64xf32>
// CHECK: attn.attention {{.*}} -> tensor<1x2x384x64xf32> mask
// CHECK: attn.attention %[[EYEQ]], {{.*}} -> tensor<1x2x256x64xf32> mask
// CHECK: attn.einsum {{.*}} -> tensor<1x2x256x64xf32>
// CHECK: attn.attention {{.*}}, %[[EYEK]], {{.*}} -> tensor<1x2x384x64xf32> mask
// CHECK: %[[NUM:.*]] = attn.map {{.*}}"own chunk plus earlier chunks
// CHECK: %[[ONES:.*]] = attn.map {attnc.gpu.step_reason = "ones {{.*}} -> tensor<1x2x512x16xf32>
// CHECK: attn.attention %{{.*}}, %{{.*}}, %[[ONES]] {{.*}} -> tensor<1x2x384x16xf32> mask
// CHECK: attn.attention %[[EYEQ]], %{{.*}}, %[[ONES]] {{.*}} -> tensor<1x2x256x16xf32> mask
// CHECK: attn.einsum {{.*}} -> tensor<1x2x256x16xf32>
// CHECK: attn.attention {{.*}}, %[[EYEK]], {{.*}} -> tensor<1x2x384x16xf32> mask
// CHECK: %[[DEN:.*]] = attn.map {{.*}}"row sums of own and earlier chunks
// CHECK: %[[O:.*]] = attn.map ins(%[[NUM]], %[[DEN]] : {{.*}}"the row_abs normalisation
// CHECK:   arith.divf
// CHECK: return %[[O]]

func.func @row_abs_exp2_decay(%q: tensor<1x2x384x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x384x64xf32> {
  %qf = attn.map ins(%q : tensor<1x2x384x64xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x384x64xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    attn.yield %r : f32
  }
  %kf = attn.map ins(%k : tensor<1x2x512x64xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x512x64xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %r = math.exp %x : f32
    attn.yield %r : f32
  }
  %o = attn.attention %qf, %kf, %v {carrier = [#attn.causal<top_left>], link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x384x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x384x64xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c = arith.constant -0.05 : f32
    %t = arith.subi %j, %i : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %u = arith.mulf %tf, %c : f32
    %p = math.exp2 %u : f32
    %r = arith.mulf %p, %s : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x384x64xf32>
}

// -----

// row_abs with a decay of a literal base: pow(0.9, i - j) is nonnegative,
// so the weights are (relu features): rewritten, with the sums.
// CHECK-LABEL: func.func @row_abs_literal_pow
// CHECK: "the chunk states
// CHECK: "the row_abs normalisation
func.func @row_abs_literal_pow(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %qf = attn.map ins(%q : tensor<1x2x512x64xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x512x64xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    attn.yield %r : f32
  }
  %o = attn.attention %qf, %qf, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = arith.constant 0.9 : f32
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %p = math.powf %x, %tf : f32
    %r = arith.mulf %s, %p : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x512x64xf32>
}

// -----

// The same with a base of unknown sign (an input): refused, as the sums of
// |w| are then not the sums of w.
// CHECK-LABEL: func.func @row_abs_input_pow
// CHECK-NOT: chunk
// CHECK: return
func.func @row_abs_input_pow(%q: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>, %decay: tensor<2xf32>) -> tensor<1x2x512x64xf32> {
  %qf = attn.map ins(%q : tensor<1x2x512x64xf32>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x512x64xf32> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %x, %z : f32
    attn.yield %r : f32
  }
  %o = attn.attention %qf, %qf, %v extras(%decay : tensor<2xf32>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<2xf32>
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %p = math.powf %x, %tf : f32
    %r = arith.mulf %s, %p : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x512x64xf32>
}

// -----

// A sliding window is not the causal carrier alone.
// CHECK-LABEL: func.func @window
// CHECK-NOT: chunk
// CHECK: return
func.func @window(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.window<left = 256, right = 0, sinks = 0, align = bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32>
  return %o : tensor<1x2x512x64xf32>
}

// -----

// Softmax: the exp link is not bilinear.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: chunk
// CHECK: return
func.func @softmax(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32>
  return %o : tensor<1x2x512x64xf32>
}

// -----

// A factor that reads i beside the decay does not split at the chunk start.
// CHECK-LABEL: func.func @factor_reads_i
// CHECK-NOT: chunk
// CHECK: return
func.func @factor_reads_i(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %ii = arith.index_cast %i : index to i64
    %x = arith.sitofp %ii : i64 to f32
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %c = arith.constant 0.99 : f32
    %p = math.powf %c, %tf : f32
    %xp = arith.mulf %x, %p : f32
    %r = arith.mulf %s, %xp : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x512x64xf32>
}

// -----

// An additive bias is not a factor of the score.
// CHECK-LABEL: func.func @additive_bias
// CHECK-NOT: chunk
// CHECK: return
func.func @additive_bias(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f32
    %c = arith.constant -0.01 : f32
    %u = arith.mulf %c, %tf : f32
    %r = arith.addf %s, %u : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x2x512x64xf32>
}

// -----

// A mask on the query row cannot move to the chunk states.
// CHECK-LABEL: func.func @mask_on_rows
// CHECK-NOT: chunk
// CHECK: return
func.func @mask_on_rows(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c3 = arith.constant 3 : index
    %r = arith.remsi %i, %c3 : index
    %c0 = arith.constant 0 : index
    %m = arith.cmpi eq, %r, %c0 : index
    attn.yield %m : i1
  }
  return %o : tensor<1x2x512x64xf32>
}

// -----

// row_abs over signed features: the sums of |w| are not sums of w.
// CHECK-LABEL: func.func @signed_row_abs
// CHECK-NOT: chunk
// CHECK: return
func.func @signed_row_abs(%q: tensor<1x2x512x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x512x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x512x64xf32>
  return %o : tensor<1x2x512x64xf32>
}

// -----

// Run-time lengths: the chunks are planned at compile time.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: chunk
// CHECK: return
func.func @dynamic(%q: tensor<1x2x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  return %o : tensor<1x2x?x64xf32>
}

// -----

// More queries than keys (top-left rows past the last key).
// CHECK-LABEL: func.func @more_queries
// CHECK-NOT: chunk
// CHECK: return
func.func @more_queries(%q: tensor<1x2x600x64xf32>, %k: tensor<1x2x512x64xf32>, %v: tensor<1x2x512x64xf32>) -> tensor<1x2x600x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<top_left>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x600x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32> -> tensor<1x2x600x64xf32>
  return %o : tensor<1x2x600x64xf32>
}

// -----

// At 4096 keys of 64 the default picks chunks of 512 (8 chunks: 512 state
// rows): 1.6x fewer tiles and kernel items than the causal form.
// GATE-LABEL: func.func @long
// GATE: attn.attention {{.*}}"the chunk states {{.*}} -> tensor<1x2x512x64xf32>
func.func @long(%q: tensor<1x2x4096x64xf32>, %k: tensor<1x2x4096x64xf32>, %v: tensor<1x2x4096x64xf32>) -> tensor<1x2x4096x64xf32> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x4096x64xf32>, tensor<1x2x4096x64xf32>, tensor<1x2x4096x64xf32> -> tensor<1x2x4096x64xf32>
  return %o : tensor<1x2x4096x64xf32>
}
