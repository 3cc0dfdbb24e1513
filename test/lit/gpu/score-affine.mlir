// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel -split-input-file %s | FileCheck %s
// Floats of expressions affine in i and j in a score region (ALiBi's j - i)
// are built once per row and tile (two rows per thread, tile 0 peeled: 4
// conversions per kernel) plus a constant add per score, and such a kernel
// keeps the softmax under the in-flight PV (one wait_group 1). Other index
// work per score (a table read at i - j, a conversion through a narrower
// type, which wraps) keeps the per-score code and waits for the PV first.

// CHECK-LABEL: gpu.func @alibi_kernel
// CHECK-COUNT-2: arith.sitofp %{{.*}} : i64 to f32
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-COUNT-2: arith.sitofp %{{.*}} : i64 to f32
// CHECK-NOT: arith.sitofp
func.func @alibi(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %slopes: tensor<?xf32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%slopes : tensor<?xf32>) {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %m = tensor.extract %slopes[%h] : tensor<?xf32>
    %d = arith.subi %j, %i : index
    %d64 = arith.index_cast %d : index to i64
    %df = arith.sitofp %d64 : i64 to f32
    %bias = arith.mulf %df, %m : f32
    %r = arith.addf %s, %bias : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// CHECK-LABEL: gpu.func @narrow_kernel
// CHECK-COUNT-128: arith.sitofp %{{.*}} : i8 to f32
// CHECK-NOT: nvvm.wgmma.wait.group.sync.aligned 1
func.func @narrow(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %j, %i : index
    %d8 = arith.index_cast %d : index to i8
    %df = arith.sitofp %d8 : i8 to f32
    %r = arith.addf %s, %df : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// CHECK-LABEL: gpu.func @table_kernel
// CHECK-NOT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: gpu.return
func.func @table(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>, %rel: tensor<?xf32>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v extras(%rel : tensor<?xf32>) {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c4096 = arith.constant 4096 : index
    %d = arith.subi %i, %j : index
    %x = arith.addi %d, %c4096 : index
    %t = tensor.extract %rel[%x] : tensor<?xf32>
    %r = arith.addf %s, %t : f32
    attn.yield %r : f32
  }
  return %o : tensor<?x?x?x128xbf16>
}
