// Plans written by hand that the emitter does not implement (plan-kernel.mlir).

// BAD: error: 'attn.attention' op GPU kernel: the emitter implements 2 consumer warpgroups, with registers per thread multiples of 8 in [24, 256] (producer at most 168, consumers at least 168) that fit the block's 64512, not the plan's #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 3
func.func @three_consumers(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 3, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: 'attn.attention' op GPU kernel: 4 stages need 296976 bytes of shared memory (max 232448)
func.func @too_deep(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 4, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: kernel_plan: pack_heads needs the split_kv schedule
func.func @pack_without_split(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = true>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: kernel_plan: the split_kv schedule is not persistent
func.func @persistent_split(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 64, block_n = 64, stages = 4, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "split_kv", pack_heads = false, persistent = true>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: 'attn.attention' op GPU kernel: the emitter implements 2 consumer warpgroups, with registers per thread multiples of 8 in [24, 256] (producer at most 168, consumers at least 168) that fit the block's 64512, not the plan's #attn.kernel_plan<{{.*}}producer_regs = 64, consumer_regs = 224
func.func @registers_overcommitted(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 64, consumer_regs = 224, schedule = "pingpong", pack_heads = false, persistent = true>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: 'attn.attention' op GPU kernel: the emitter implements 2 consumer warpgroups, {{.*}}(producer at most 168, consumers at least 168){{.*}}producer_regs = 200, consumer_regs = 128
func.func @registers_upside_down(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 200, consumer_regs = 128, schedule = "pingpong", pack_heads = false>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: kernel_plan: q_slots must be 1, or 2 with a persistent plan, got 2
func.func @q_slots_without_persistence(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 2, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_slots = 2>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: 'attn.attention' op GPU kernel: 3 stages need 264728 bytes of shared memory (max 232448)
func.func @q_slots_too_deep(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>], attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 56, consumer_regs = 224, schedule = "pingpong", pack_heads = false, persistent = true, q_slots = 2>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// O staged in the Q slot: a persistent plan with one slot would hold the
// next item's Q back until the store has read it.
// BAD: error: kernel_plan: o_tma_store needs tiles of rows (not split_kv, no grid patches) and, when persistent, two Q slots
func.func @o_tma_store_one_slot(%q: tensor<?x?x?x128xbf16>, %k: tensor<?x?x?x128xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.08838834764831845 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<bottom_right>], attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 56, consumer_regs = 224, schedule = "pingpong", pack_heads = false, persistent = true, o_tma_store = true>} : tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}

// -----

// BAD: error: 'attn.attention' op GPU kernel: o_tma_store stages O in the Q slot, which holds 64 columns, not Dv's 128
func.func @o_tma_store_wide_v(%q: tensor<?x?x?x64xbf16>, %k: tensor<?x?x?x64xbf16>, %v: tensor<?x?x?x128xbf16>) -> tensor<?x?x?x128xbf16> {
  %o = attn.attention %q, %k, %v {scale = 0.125 : f64, link = #attn.link<exp>, anchor = #attn.anchor<row>, attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, o_tma_store = true>} : tensor<?x?x?x64xbf16>, tensor<?x?x?x64xbf16>, tensor<?x?x?x128xbf16> -> tensor<?x?x?x128xbf16>
  return %o : tensor<?x?x?x128xbf16>
}
