// RUN: attnc-opt --attn-gpu-plan-kernel -split-input-file %s | FileCheck %s
// RUN: attnc-opt --attn-gpu-plan-kernel="decode=true" -split-input-file %s | FileCheck %s --check-prefix=DECODE
// RUN: attnc-opt --attn-gpu-plan-kernel="schedule=ws block-n=64 stages=2 persistent=false" -split-input-file %s | FileCheck %s --check-prefix=OPTS
// RUN: attnc-opt --attn-gpu-plan-kernel="q-slots=1" -split-input-file %s | FileCheck %s --check-prefix=Q1
// RUN: attnc-opt --attn-gpu-plan-kernel="v-scanner=false" -split-input-file %s | FileCheck %s --check-prefix=NOSCAN
// RUN: not attnc-opt --attn-gpu-plan-kernel="q-slots=3" -split-input-file %s 2>&1 | FileCheck %s --check-prefix=Q3
// Q3: error: 'attn.attention' op GPU kernel: q-slots must be 0 (the planner's choice), 1 or 2, got 3
// RUN: not attnc-opt --attn-gpu-build-kernel -split-input-file %s 2>&1 | FileCheck %s --check-prefix=NOPLAN
// RUN: not attnc-opt --attn-gpu-build-kernel %S/Inputs/bad-plans.mlir -split-input-file 2>&1 | FileCheck %S/Inputs/bad-plans.mlir --check-prefix=BAD
// attn-gpu-plan-kernel records the Hopper kernel's plan on each attention:
// the tile shape, the deepest K/V ring that fits 227 KiB, the warp roles and
// the schedule; attn-gpu-build-kernel follows it (and refuses a plan the
// emitter does not implement).

// D128 causal: 128 x 128 tiles; persistent, with two Q slots and 2 stages
// (2 x Q 32 KiB + 2 x (K 32 + V 32) KiB; one slot would leave room for 3);
// O stored through the Q slot and TMA.
// CHECK-LABEL: func.func @d128
// CHECK-NEXT: attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 2, consumers = 2, producer_regs = 56, consumer_regs = 224, schedule = "pingpong", pack_heads = false, persistent = true, q_slots = 2, o_tma_store = true>
// Q1: #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, {{.*}}persistent = true>
// The V scanner is on by default (not printed); the option turns it off.
// CHECK-NOT: v_scanner
// NOSCAN: #attn.kernel_plan<block_m = 128, block_n = 128, stages = 2, {{.*}}o_tma_store = true, v_scanner = false>
// The decode schedule: 64 x 64 tiles, the deepest even ring (up to 8) that
// fits (D128: 7 stages need 246800 bytes), the query heads of a KV head
// packed into one tile.
// DECODE-LABEL: func.func @d128
// DECODE-NEXT: #attn.kernel_plan<block_m = 64, block_n = 64, stages = 6, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "split_kv", pack_heads = true>
// OPTS-LABEL: func.func @d128
// OPTS: #attn.kernel_plan<block_m = 128, block_n = 64, stages = 2, {{.*}}schedule = "ws", pack_heads = false, o_tma_store = true>
// NOPLAN: error: 'attn.attention' op GPU kernel: no kernel plan (attn.kernel_plan); run attn-gpu-plan-kernel first
func.func @d128(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>]} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// D64 (dense: persistent as well): a 4-stage ring with two Q slots (decode:
// 6, its cap; an 8-deep ring faulted on the H200). D256 (and any padded
// head dim above 128): 64 keys per tile, 2 stages, not persistent (its
// consumers need 240 registers for a 64 x 256 O).
// CHECK-LABEL: func.func @d64
// CHECK-NEXT: #attn.kernel_plan<block_m = 128, block_n = 128, stages = 4, consumers = 2, producer_regs = 56, consumer_regs = 224, schedule = "pingpong", pack_heads = false, persistent = true, q_slots = 2, o_tma_store = true>
// DECODE-LABEL: func.func @d64
// DECODE-NEXT: #attn.kernel_plan<block_m = 64, block_n = 64, stages = 6,
func.func @d64(%q: tensor<?x?x?x64xf16>, %k: tensor<?x?x?x64xf16>, %v: tensor<?x?x?x64xf16>) -> tensor<?x?x?x64xf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16>, tensor<?x?x?x64xf16> -> tensor<?x?x?x64xf16>
  return %o : tensor<?x?x?x64xf16>
}
// CHECK-LABEL: func.func @d256
// CHECK-NEXT: #attn.kernel_plan<block_m = 128, block_n = 64, stages = 2, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, o_tma_store = true>
// DECODE-LABEL: func.func @d256
// DECODE-NEXT: #attn.kernel_plan<block_m = 64, block_n = 64, stages = 2,
func.func @d256(%q: tensor<?x?x?x256xbf16>, %k: tensor<?x?x?x256xbf16>, %v: tensor<?x?x?x256xbf16>) -> tensor<?x?x?x256xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.0625 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x256xbf16>, tensor<?x?x?x256xbf16>, tensor<?x?x?x256xbf16> -> tensor<?x?x?x256xbf16>
  return %o : tensor<?x?x?x256xbf16>
}

// -----

// A mask that reads the head: the tile schedule is per head, so split_kv
// does not pack heads.
// DECODE-LABEL: func.func @head_mask
// DECODE-NEXT: schedule = "split_kv", pack_heads = false>
func.func @head_mask(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c2 = arith.constant 2 : index
    %r = arith.remui %h, %c2 : index
    %c0 = arith.constant 0 : index
    %keep = arith.cmpi eq, %r, %c0 : index
    attn.yield %keep : i1
  }
  return %o : tensor<?x?x?x128xbf16>
}
