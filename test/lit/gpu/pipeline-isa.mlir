// RUN: attnc-opt --attnc-gpu-pipeline="chip=sm_90a format=isa" %s -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=TMA < %t
// RUN: FileCheck %s --check-prefix=MMA < %t
// RUN: FileCheck %s --check-prefix=SOFTMAX < %t
// The whole pipeline down to PTX (gpu.binary with the PTX text inside).
// CHECK: gpu.binary @attnc_gpu [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .entry attn_kernel(
// TMA: cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// TMA-SAME: mbarrier.try_wait.parity.shared.b64
// MMA: wgmma.fence.sync.aligned
// MMA-SAME: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// MMA-SAME: wgmma.commit_group.sync.aligned
// MMA-SAME: wgmma.wait_group.sync.aligned
// SOFTMAX: shfl.sync.bfly.b32
// SOFTMAX-SAME: ex2.approx.ftz.f32
// SOFTMAX-SAME: fence.proxy.async.shared::cta
// SOFTMAX-SAME: lg2.approx.f32
func.func @attn(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
