// RUN: attnc-opt --attnc-gpu-pipeline="chip=sm_90a format=isa" %s -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=TMA < %t
// RUN: FileCheck %s --check-prefix=MMA < %t
// RUN: FileCheck %s --check-prefix=SOFTMAX < %t
// RUN: FileCheck %s --check-prefix=PRODUCER < %t
// RUN: FileCheck %s --check-prefix=CONSUMER < %t
// RUN: FileCheck %s --check-prefix=PV < %t
// The whole pipeline down to PTX (gpu.binary with the PTX text inside).
// CHECK: gpu.binary @attnc_gpu [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80">
// CHECK-SAME: .target sm_90a
// CHECK-SAME: .entry attn_kernel(
// The q, k, v tensor maps are __grid_constant__ parameters (passed by value,
// attn-gpu-grid-constant-args); TMA reads them through their param address.
// CHECK-SAME: .param .align 64 .b8 attn_kernel_param_0[128],
// CHECK-SAME: .param .align 64 .b8 attn_kernel_param_2[128],
// CHECK-SAME: .param .u64 .ptr .align 1 attn_kernel_param_3,
// CHECK-SAME: cvta.param.u64
// CHECK-SAME: prefetch.tensormap
// TMA: cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// TMA-SAME: mbarrier.try_wait.parity.shared.b64
// MMA: wgmma.fence.sync.aligned
// MMA-SAME: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// MMA-SAME: wgmma.commit_group.sync.aligned
// MMA-SAME: wgmma.wait_group.sync.aligned
// SOFTMAX: shfl.sync.bfly.b32
// SOFTMAX-SAME: ex2.approx.ftz.f32
// SOFTMAX-SAME: cvt.rn.bf16x2.f32
// SOFTMAX-SAME: lg2.approx.f32
// Warp roles: the producer gives registers to the consumers, which take
// turns (named barriers) issuing their GEMMs; a persistent block keeps 56
// for the producer warpgroup's loops, whose thread takes the work items.
// PRODUCER: setmaxnreg.dec.sync.aligned.u32 \0956;
// PRODUCER-SAME: atom.global.add.u32
// CONSUMER: setmaxnreg.inc.sync.aligned.u32 \09224;
// CONSUMER-SAME: bar.sync \09{{%r[0-9]+}}, 256;
// CONSUMER-SAME: bar.arrive {{%r[0-9]+}}, {{%r[0-9]+}}
// P V with P in registers (register-A wgmma, V MN-major: trans-b 1).
// PV: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{[{]}}{{[^}]*}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
func.func @attn(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {carrier = [#attn.causal<bottom_right>], scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
