// REQUIRES: mlir-runner
// attn-chunk-causal-linear computes the same attention as the causal form,
// both through the CPU lowering, in f64: each pair below is one attention
// written twice, the second with a score the pass does not match (+ 0.0),
// so that it stays causal. Printed: the largest difference is below 1e-9,
// and the results are not all zero.
// DEFINE: %{lower} = --attn-decompose --attn-lower-cascade-to-linalg --canonicalize --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --lower-affine --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --finalize-memref-to-llvm --convert-math-to-llvm --convert-math-to-libm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// RUN: attnc-opt %s --attn-chunk-causal-linear=chunk=8 | FileCheck %s --check-prefix=IR
// RUN: attnc-opt %s --attn-chunk-causal-linear=chunk=8 | attnc-opt %{lower} \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_c_runner_utils | FileCheck %s

// One chunk state under anchor none, two under row_abs (the sums); the
// twins stay causal.
// IR-COUNT-3: the chunk states
// IR-NOT: the chunk states
// CHECK: decay, GQA, bottom-right, 37 x 45
// CHECK-NEXT: close 1
// CHECK-NEXT: nonzero 1
// CHECK: row_abs, top-left, 30 x 41, a key mask
// CHECK-NEXT: close 1
// CHECK-NEXT: nonzero 1

func.func @compare(%a: tensor<1x2x?x3xf64>, %b: tensor<1x2x?x3xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %n = tensor.dim %a, %c2 : tensor<1x2x?x3xf64>
  %z = arith.constant 0.0 : f64
  %r:2 = scf.for %h = %c0 to %c2 step %c1 iter_args(%m0 = %z, %s0 = %z) -> (f64, f64) {
    %r1:2 = scf.for %i = %c0 to %n step %c1 iter_args(%m1 = %m0, %s1 = %s0) -> (f64, f64) {
      %r2:2 = scf.for %d = %c0 to %c3 step %c1 iter_args(%m2 = %m1, %s2 = %s1) -> (f64, f64) {
        %x = tensor.extract %a[%c0, %h, %i, %d] : tensor<1x2x?x3xf64>
        %y = tensor.extract %b[%c0, %h, %i, %d] : tensor<1x2x?x3xf64>
        %df = arith.subf %x, %y : f64
        %ad = math.absf %df : f64
        %ay = math.absf %y : f64
        %m3 = arith.maximumf %m2, %ad : f64
        %s3 = arith.addf %s2, %ay : f64
        scf.yield %m3, %s3 : f64, f64
      }
      scf.yield %r2#0, %r2#1 : f64, f64
    }
    scf.yield %r1#0, %r1#1 : f64, f64
  }
  %tol = arith.constant 1.0e-9 : f64
  %close = arith.cmpf olt, %r#0, %tol : f64
  %one = arith.constant 1.0 : f64
  %nonzero = arith.cmpf ogt, %r#1, %one : f64
  vector.print str "close "
  vector.print %close : i1
  vector.print str "nonzero "
  vector.print %nonzero : i1
  return
}

func.func @main() {
  // q [1, 2, 37, 4], k / v [1, 1, 45, 4 / 3]: smooth signed values.
  %q = tensor.generate {
  ^bb0(%b: index, %h: index, %i: index, %d: index):
    %x = arith.muli %i, %d : index
    %y = arith.addi %x, %h : index
    %yi = arith.index_cast %y : index to i64
    %f = arith.sitofp %yi : i64 to f64
    %c = arith.constant 0.37 : f64
    %a = arith.mulf %f, %c : f64
    %s = math.sin %a : f64
    tensor.yield %s : f64
  } : tensor<1x2x37x4xf64>
  %k = tensor.generate {
  ^bb0(%b: index, %h: index, %j: index, %d: index):
    %x = arith.addi %j, %d : index
    %xi = arith.index_cast %x : index to i64
    %f = arith.sitofp %xi : i64 to f64
    %c = arith.constant 0.71 : f64
    %a = arith.mulf %f, %c : f64
    %s = math.cos %a : f64
    tensor.yield %s : f64
  } : tensor<1x1x45x4xf64>
  %v = tensor.generate {
  ^bb0(%b: index, %h: index, %j: index, %d: index):
    %x = arith.muli %j, %d : index
    %xi = arith.index_cast %x : index to i64
    %f = arith.sitofp %xi : i64 to f64
    %c = arith.constant 0.23 : f64
    %a = arith.mulf %f, %c : f64
    %s = math.sin %a : f64
    tensor.yield %s : f64
  } : tensor<1x1x45x3xf64>
  %decay = arith.constant dense<[0.93, 0.6]> : tensor<2xf64>
  // Per-head decay under GQA: the chunk states are per query head.
  %o1 = attn.attention %q, %k, %v extras(%decay : tensor<2xf64>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x37x4xf64>, tensor<1x1x45x4xf64>, tensor<1x1x45x3xf64> -> tensor<1x2x37x3xf64> score {
  ^bb0(%s: f64, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<2xf64>
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f64
    %p = math.powf %x, %tf : f64
    %r = arith.mulf %s, %p : f64
    attn.yield %r : f64
  }
  %r1 = attn.attention %q, %k, %v extras(%decay : tensor<2xf64>) {carrier = [#attn.causal<bottom_right>], link = #attn.link<identity>, anchor = #attn.anchor<none>, weights_signed} : tensor<1x2x37x4xf64>, tensor<1x1x45x4xf64>, tensor<1x1x45x3xf64> -> tensor<1x2x37x3xf64> score {
  ^bb0(%s: f64, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %decay[%h] : tensor<2xf64>
    %t = arith.subi %i, %j : index
    %ti = arith.index_cast %t : index to i64
    %tf = arith.sitofp %ti : i64 to f64
    %p = math.powf %x, %tf : f64
    %r = arith.mulf %s, %p : f64
    %z = arith.constant 0.0 : f64
    %r2 = arith.addf %r, %z : f64
    attn.yield %r2 : f64
  }
  vector.print str "decay, GQA, bottom-right, 37 x 45\n"
  %o1d = tensor.cast %o1 : tensor<1x2x37x3xf64> to tensor<1x2x?x3xf64>
  %r1d = tensor.cast %r1 : tensor<1x2x37x3xf64> to tensor<1x2x?x3xf64>
  func.call @compare(%o1d, %r1d) : (tensor<1x2x?x3xf64>, tensor<1x2x?x3xf64>) -> ()

  // row_abs over exp features (nonnegative weights), keys from 38 on masked,
  // Lq < Lk aligned top-left.
  %q30 = tensor.extract_slice %q[0, 0, 0, 0] [1, 2, 30, 4] [1, 1, 1, 1] : tensor<1x2x37x4xf64> to tensor<1x2x30x4xf64>
  %qe = attn.map ins(%q30 : tensor<1x2x30x4xf64>) {indexing_maps = [affine_map<(b, h, i, d) -> (b, h, i, d)>]} -> tensor<1x2x30x4xf64> {
  ^bb0(%b: index, %h: index, %i: index, %d: index, %x: f64):
    %e = math.exp %x : f64
    attn.yield %e : f64
  }
  %k41 = tensor.extract_slice %k[0, 0, 0, 0] [1, 1, 41, 4] [1, 1, 1, 1] : tensor<1x1x45x4xf64> to tensor<1x1x41x4xf64>
  %ke = attn.map ins(%k41 : tensor<1x1x41x4xf64>) {indexing_maps = [affine_map<(b, h, j, d) -> (b, 0, j, d)>]} -> tensor<1x2x41x4xf64> {
  ^bb0(%b: index, %h: index, %j: index, %d: index, %x: f64):
    %e = math.exp %x : f64
    attn.yield %e : f64
  }
  %v41 = tensor.extract_slice %v[0, 0, 0, 0] [1, 1, 41, 3] [1, 1, 1, 1] : tensor<1x1x45x3xf64> to tensor<1x1x41x3xf64>
  %v2 = attn.map ins(%v41 : tensor<1x1x41x3xf64>) {indexing_maps = [affine_map<(b, h, j, d) -> (b, 0, j, d)>]} -> tensor<1x2x41x3xf64> {
  ^bb0(%b: index, %h: index, %j: index, %d: index, %x: f64):
    attn.yield %x : f64
  }
  %o2 = attn.attention %qe, %ke, %v2 {carrier = [#attn.causal<top_left>], scale = 0.5 : f64, link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x30x4xf64>, tensor<1x2x41x4xf64>, tensor<1x2x41x3xf64> -> tensor<1x2x30x3xf64> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c38 = arith.constant 38 : index
    %m = arith.cmpi slt, %j, %c38 : index
    attn.yield %m : i1
  }
  %r2 = attn.attention %qe, %ke, %v2 {carrier = [#attn.causal<top_left>], scale = 0.5 : f64, link = #attn.link<identity>, anchor = #attn.anchor<row_abs>, weights_signed} : tensor<1x2x30x4xf64>, tensor<1x2x41x4xf64>, tensor<1x2x41x3xf64> -> tensor<1x2x30x3xf64> mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c38 = arith.constant 38 : index
    %m = arith.cmpi slt, %j, %c38 : index
    attn.yield %m : i1
  } score {
  ^bb0(%s: f64, %b: index, %h: index, %i: index, %j: index):
    %z = arith.constant 0.0 : f64
    %r = arith.addf %s, %z : f64
    attn.yield %r : f64
  }
  vector.print str "row_abs, top-left, 30 x 41, a key mask\n"
  %o2d = tensor.cast %o2 : tensor<1x2x30x3xf64> to tensor<1x2x?x3xf64>
  %r2d = tensor.cast %r2 : tensor<1x2x30x3xf64> to tensor<1x2x?x3xf64>
  func.call @compare(%o2d, %r2d) : (tensor<1x2x?x3xf64>, tensor<1x2x?x3xf64>) -> ()
  return
}
