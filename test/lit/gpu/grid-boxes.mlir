// Grid boxes (CarrierTiles.h, GridTiles): a neighborhood of 2-3 grid axes (a
// dilation that divides its axis makes it two) is tiled as boxes of its grid. The plan records the box shapes it
// chose (q_patch, k_patch: the fewest key tiles over all query boxes); the
// kernel reads each box with one TMA load of a rank-4 map over the grid, and
// tests a score with one compare per axis.
// RUN: attnc-opt --attn-gpu-plan-kernel -split-input-file %s | FileCheck %s --check-prefix=PLAN
// RUN: attnc-opt --attn-gpu-plan-kernel="grid-tiles=false" -split-input-file %s | FileCheck %s --check-prefix=RUNS
// RUN: attnc-opt --attn-gpu-plan-kernel --attn-gpu-build-kernel -split-input-file %s | FileCheck %s --check-prefix=NVVM
// RUN: not attnc-opt --attn-gpu-build-kernel %S/Inputs/bad-grid-plans.mlir -split-input-file 2>&1 | FileCheck %S/Inputs/bad-grid-plans.mlir

// The issue's 128 x 128 grid, window 17 x 17: 8 x 16 query boxes and 16 x 8
// key boxes visit 7.5 key tiles per query box on average (17-row bands of
// 128-token runs would visit about 17); 8 x 8 key boxes of 64 keys visit
// fewer keys for the tiles' fixed cost, so the plan takes 64-key tiles.
// PLAN-LABEL: func.func @nb2d
// PLAN: block_n = 64,
// PLAN-SAME: persistent = true, q_patch = [8, 16], k_patch = [8, 8], q_slots = 2>
// RUNS-LABEL: func.func @nb2d
// RUNS-NOT: q_patch
// RUNS: return
// NVVM-LABEL: gpu.func @nb2d_kernel(
// NVVM-SAME: constraints = [{{.*}}"Lq == 16384", "Lk == 16384"]
// NVVM-SAME: grid = [128, "H", "B"]
// NVVM-SAME: box = [64, 16, 8, 1]
// NVVM-SAME: global_dims = [128, 128, 128, "B*Hq"]
// NVVM-SAME: shape = ["B", "Hq", "Lq", 128]
// NVVM-SAME: tiles_exact = ["neighborhood (grid boxes)"]
// Q, K and V each as boxes of the 4-D map: four coordinates.
// NVVM-COUNT-6: nvgpu.tma.async.load %{{.*}}[%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^]]*}}]
func.func @nb2d(%q: tensor<?x?x16384x128xbf16>, %k: tensor<?x?x16384x128xbf16>, %v: tensor<?x?x16384x128xbf16>) -> tensor<?x?x16384x128xbf16> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [128, 128], window = [17, 17], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x16384x128xbf16>, tensor<?x?x16384x128xbf16>, tensor<?x?x16384x128xbf16> -> tensor<?x?x16384x128xbf16>
  return %o : tensor<?x?x16384x128xbf16>
}

// -----

// NAT's 56 x 56 grid with dynamic lengths: boxes of 2 x 64 and 1 x 64 (64-key
// tiles) reach past the grid's 56 columns (no 128-token box divides it); the
// launch grid counts the 28 query boxes.
// PLAN-LABEL: func.func @nat
// PLAN: block_n = 64,
// PLAN-SAME: q_patch = [2, 64], k_patch = [1, 64]{{.*}}>
// NVVM-LABEL: gpu.func @nat_kernel(
// NVVM-SAME: constraints = [{{.*}}"Lq == 3136", "Lk == 3136"]
// NVVM-SAME: grid = [28, "H", "B"]
func.func @nat(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x64xbf16>) -> tensor<?x?x?x64xbf16> {
  %o = attn.attention %q, %k, %v {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [56, 56], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %o : tensor<?x?x?x64xbf16>
}

// -----

// Not grid boxes: one axis (runs of tokens are its boxes), a dilation that
// does not divide its axis (groups of 32 and 31 positions), and a
// neighborhood next to another family.
// PLAN-LABEL: func.func @others
// PLAN-NOT: q_patch
// PLAN: return
func.func @others(%q: tensor<?x?x?x64xbf16>) -> (tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>) {
  %a = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [4096], window = [65], dilation = [1], stride = [1], causal = [false]>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  %b = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [63, 64], window = [7, 7], dilation = [2, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  %c = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>, #attn.causal<top_left>]} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16> -> tensor<?x?x?x64xbf16>
  return %a, %b, %c : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>
}

// -----

// A dilation that divides its axis: the axis is two grid axes, positions and
// dilation group (a window of one: a key in the query's group only), so a
// 1-D dilated neighborhood gets boxes too, and a 2-D one with a dilated
// first axis gets boxes over three axes. A dilated last axis makes the
// group axis the innermost: its key boxes end in 2 (two groups) with the
// extent before a multiple of 4, so a thread's 8-key run covers whole rows.
// PLAN-LABEL: func.func @dilated
// PLAN: q_patch = [{{[0-9]+}}, {{[0-9]+}}], k_patch = [{{[0-9]+}}, {{[0-9]+}}]{{.*}}>
// PLAN: q_patch = [{{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}], k_patch = [{{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}]{{.*}}>
// PLAN-LABEL: func.func @dilated_last
// PLAN: k_patch = [{{[0-9]+}}, {{[0-9]*[048]}}, 2]{{.*}}>
// NVVM-LABEL: gpu.func @dilated_kernel0(
// NVVM-SAME: global_dims = [64, 4, 1024, "B*Hq"]
// NVVM-SAME: tiles_exact = ["neighborhood (grid boxes)"]
// NVVM-LABEL: gpu.func @dilated_kernel1(
// NVVM-SAME: global_dims = [64, 48, 2, 16, "B*Hq"]
func.func @dilated(%q: tensor<?x?x4096x64xbf16>, %r: tensor<?x?x1536x64xbf16>) -> (tensor<?x?x4096x64xbf16>, tensor<?x?x1536x64xbf16>) {
  %a = attn.attention %q, %q, %q {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [4096], window = [33], dilation = [4], stride = [1], causal = [true]>]} : tensor<?x?x4096x64xbf16>, tensor<?x?x4096x64xbf16>, tensor<?x?x4096x64xbf16> -> tensor<?x?x4096x64xbf16>
  %b = attn.attention %r, %r, %r {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [32, 48], window = [7, 9], dilation = [2, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x1536x64xbf16>, tensor<?x?x1536x64xbf16>, tensor<?x?x1536x64xbf16> -> tensor<?x?x1536x64xbf16>
  return %a, %b : tensor<?x?x4096x64xbf16>, tensor<?x?x1536x64xbf16>
}

// -----

func.func @dilated_last(%r: tensor<?x?x1536x64xbf16>) -> tensor<?x?x1536x64xbf16> {
  %b = attn.attention %r, %r, %r {link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [32, 48], window = [7, 9], dilation = [1, 2], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x1536x64xbf16>, tensor<?x?x1536x64xbf16>, tensor<?x?x1536x64xbf16> -> tensor<?x?x1536x64xbf16>
  return %b : tensor<?x?x1536x64xbf16>
}
