// RUN: attnc-opt %s --attn-fold-page-gather | FileCheck %s --check-prefix=FOLD
// RUN: attnc-opt %s --attn-decompose | FileCheck %s --check-prefix=GATHER
// RUN: attnc-opt %s --attn-fold-page-gather --attn-decompose | FileCheck %s --check-prefix=UNFOLD
// Paged keys and values: attn.page_gather reads a pool through a page table;
// attn-fold-page-gather lets the attention read the pools itself (kv_pages,
// the table appended to its extras); attn-decompose gathers again.

// FOLD-LABEL: func.func @paged
// FOLD-NOT: attn.page_gather
// FOLD: attn.attention %arg0, %arg1, %arg2 extras(%arg4, %arg3 : tensor<1xi32>, tensor<1x3xi32>)
// FOLD-SAME: carrier = [#attn.lengths<kv = 0>, #attn.causal<bottom_right>]
// FOLD-SAME: kv_pages = #attn.kv_pages<table = 1, layout = nhd>
// FOLD-SAME: tensor<1x4x1x8xf32>, tensor<5x16x2x8xf32>, tensor<5x16x2x8xf32> -> tensor<1x4x1x8xf32>

// GATHER-LABEL: func.func @paged
// The gather: page = clamp(table[b, j floordiv 16], 0, 4), row j mod 16.
// GATHER: attn.map sizes(
// GATHER: arith.floordivsi %{{.*}}, %c16
// GATHER: tensor.extract %arg3
// GATHER: arith.minsi
// GATHER: arith.maxsi
// GATHER: arith.remsi %{{.*}}, %c16
// GATHER: tensor.extract %arg1
// GATHER-NOT: attn.page_gather
// GATHER-NOT: attn.attention
// The lengths family: the key length is min(Lk, max(kv[b], 0)).
// GATHER: tensor.extract %arg4
// GATHER: arith.maxsi
// GATHER: arith.minsi

// UNFOLD-LABEL: func.func @paged
// UNFOLD-NOT: kv_pages
// UNFOLD: tensor.extract %arg3
// UNFOLD: tensor.extract %arg1
// UNFOLD: tensor.extract %arg2
func.func @paged(%q: tensor<1x4x1x8xf32>, %kp: tensor<5x16x2x8xf32>, %vp: tensor<5x16x2x8xf32>,
                 %table: tensor<1x3xi32>, %len: tensor<1xi32>) -> tensor<1x4x1x8xf32> {
  %k = attn.page_gather %kp, %table {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<1x3xi32> -> tensor<1x2x48x8xf32>
  %v = attn.page_gather %vp, %table {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<1x3xi32> -> tensor<1x2x48x8xf32>
  %o = attn.attention %q, %k, %v extras(%len : tensor<1xi32>) {carrier = [#attn.lengths<kv = 0>, #attn.causal<bottom_right>], link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x4x1x8xf32>, tensor<1x2x48x8xf32>, tensor<1x2x48x8xf32> -> tensor<1x4x1x8xf32>
  return %o : tensor<1x4x1x8xf32>
}

// Different tables (or layouts) for keys and values: nothing to fold.
// FOLD-LABEL: func.func @two_tables
// FOLD-COUNT-2: attn.page_gather
// FOLD-NOT: kv_pages
func.func @two_tables(%q: tensor<1x2x4x8xf32>, %kp: tensor<5x2x16x8xf32>, %vp: tensor<5x2x16x8xf32>,
                      %t1: tensor<1x2xi32>, %t2: tensor<1x2xi32>) -> tensor<1x2x4x8xf32> {
  %k = attn.page_gather %kp, %t1 {layout = #attn.page_layout<hnd>} : tensor<5x2x16x8xf32>, tensor<1x2xi32> -> tensor<1x2x32x8xf32>
  %v = attn.page_gather %vp, %t2 {layout = #attn.page_layout<hnd>} : tensor<5x2x16x8xf32>, tensor<1x2xi32> -> tensor<1x2x32x8xf32>
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x4x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// k and v one gather (`attention a(q, kv, kv)`): folded, the gather erased once.
// FOLD-LABEL: func.func @same_gather
// FOLD-NOT: attn.page_gather
// FOLD: attn.attention %arg0, %arg1, %arg1 extras(%arg2 : tensor<1x2xi32>)
// FOLD-SAME: kv_pages = #attn.kv_pages<table = 0, layout = nhd>
func.func @same_gather(%q: tensor<1x2x4x8xf32>, %p: tensor<5x16x2x8xf32>, %t: tensor<1x2xi32>) -> tensor<1x2x4x8xf32> {
  %kv = attn.page_gather %p, %t {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<1x2xi32> -> tensor<1x2x32x8xf32>
  %o = attn.attention %q, %kv, %kv {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x4x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// Pools of different page counts through one table: the kernel could not
// read both with one table, so the gathers stay.
// FOLD-LABEL: func.func @different_pools
// FOLD-COUNT-2: attn.page_gather
// FOLD-NOT: kv_pages
func.func @different_pools(%q: tensor<1x2x4x8xf32>, %kp: tensor<5x16x2x8xf32>, %vp: tensor<7x16x2x8xf32>, %t: tensor<1x2xi32>) -> tensor<1x2x4x8xf32> {
  %k = attn.page_gather %kp, %t {layout = #attn.page_layout<nhd>} : tensor<5x16x2x8xf32>, tensor<1x2xi32> -> tensor<1x2x32x8xf32>
  %v = attn.page_gather %vp, %t {layout = #attn.page_layout<nhd>} : tensor<7x16x2x8xf32>, tensor<1x2xi32> -> tensor<1x2x32x8xf32>
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<1x2x4x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
