// Hand-written plans with grid boxes that the kernel cannot follow (checked
// by test/lit/gpu/grid-boxes.mlir).

// A last extent of 1: the thread's two adjacent keys would sit on another axis.
// CHECK: error: kernel_plan: k_patch's last extent must be a multiple of 8, or 2 or 4 with the extent before it a multiple of 4 or 2
func.func @last_extent(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [8, 16], k_patch = [128, 1]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}

// -----

// CHECK: error: kernel_plan: the patches must hold block_m (128) and block_n (128) tokens, each extent 1 to 256
func.func @product(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [8, 8], k_patch = [16, 8]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}

// -----

// CHECK: error: 'attn.attention' op GPU kernel: grid tiles need a carrier that is one neighborhood (dilations dividing their axes) and no mask region, and boxes of 128 query and 128 key tokens, one extent per axis
func.func @not_a_grid(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [8, 16], k_patch = [16, 8]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.causal<top_left>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}

// -----

// An extent past the TMA box limit (the product would overflow 64 bits).
// CHECK: error: kernel_plan: the patches must hold block_m (128) and block_n (128) tokens, each extent 1 to 256
func.func @huge(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [3, 6148914691236517248], k_patch = [16, 8]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}

// -----

// Both axes dilated: four grid axes, a rank-6 box the TMA cannot load.
// CHECK: error: 'attn.attention' op GPU kernel: grid tiles need at most 3 grid axes (a dilated axis counts two), the carrier has 4
func.func @four_axes(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [4, 2, 4, 4], k_patch = [4, 2, 4, 4]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [2, 2], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}

// -----

// A last extent of 2 needs the extent before it a multiple of 4 (a thread's
// run of 8 keys covers whole rows of the last axis).
// CHECK: error: kernel_plan: k_patch's last extent must be a multiple of 8, or 2 or 4 with the extent before it a multiple of 4 or 2
func.func @last_two(%q: tensor<?x?x4096x128xbf16>) -> tensor<?x?x4096x128xbf16> {
  %o = attn.attention %q, %q, %q {attn.kernel_plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 3, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false, q_patch = [8, 4, 4], k_patch = [32, 2, 2]>, link = #attn.link<exp>, anchor = #attn.anchor<row>, carrier = [#attn.neighborhood<grid = [64, 64], window = [7, 7], dilation = [1, 1], stride = [1, 1], causal = [false, false]>]} : tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16>, tensor<?x?x4096x128xbf16> -> tensor<?x?x4096x128xbf16>
  return %o : tensor<?x?x4096x128xbf16>
}
