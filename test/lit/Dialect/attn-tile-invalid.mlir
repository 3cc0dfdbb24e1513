// The attn_tile verifiers.
// RUN: attnc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{shared-memory tile role must be q, k or v, got 'o'}}
func.func private @f(!attn_tile.smem<"o">)

// -----

func.func @g() {
  // expected-error @+1 {{spec must hold exactly one attn.attention, has 0}}
  attn_tile.kernel "k" {plan = #attn.kernel_plan<block_m = 128, block_n = 128, stages = 2, consumers = 2, producer_regs = 24, consumer_regs = 240, schedule = "pingpong", pack_heads = false>} spec {
    %c = arith.constant 0 : index
  } body {
    %c = arith.constant 0 : index
  }
  return
}

// -----

func.func @g() {
  // expected-error @+1 {{async load_q has no result (consumers use wait_q)}}
  %q = attn_tile.load_q {async} : !attn_tile.smem<"q">
  return
}

// -----

func.func @g(%s: !attn_tile.stats) {
  // expected-error @+1 {{body region takes 3 block arguments, has 2}}
  %r = attn_tile.for_tiles iter_args(%s : !attn_tile.stats) {
  ^bb0(%t: index, %n: index):
    attn_tile.yield %s : !attn_tile.stats
  } -> !attn_tile.stats
  return
}

// -----

func.func @g(%s: !attn_tile.stats, %o: !attn_tile.acc<64, 128>) {
  // expected-error @+1 {{body region must yield the loop's value types}}
  %r = attn_tile.for_tiles iter_args(%s : !attn_tile.stats) {
  ^bb0(%t: index, %n: index, %x: !attn_tile.stats):
    attn_tile.yield %o : !attn_tile.acc<64, 128>
  } -> !attn_tile.stats
  return
}

// -----

func.func @g(%s: !attn_tile.stats, %o: !attn_tile.acc<64, 128>) {
  // expected-error @+1 {{drain region must yield the loop's value types}}
  %r = attn_tile.pipelined_for iter_args(%s : !attn_tile.stats) first {
  ^bb0(%t: index, %n: index):
    attn_tile.yield %n : index
  } steady {
  ^bb0(%t: index, %n: index, %m: index):
    attn_tile.yield %n : index
  } drain {
  ^bb0(%m: index):
    attn_tile.yield %o : !attn_tile.acc<64, 128>
  } -> !attn_tile.stats
  return
}

// -----

func.func @g() {
  // expected-error @+1 {{body region must end in attn_tile.yield}}
  attn_tile.for_tiles {
  ^bb0(%t: index, %n: index):
  }
  return
}

// -----

func.func @g(%q: !attn_tile.smem<"q">, %v: !attn_tile.smem<"v">) {
  // expected-error @+1 {{the second operand must be a k tile, got v}}
  %s = attn_tile.qk %q, %v : !attn_tile.smem<"q">, !attn_tile.smem<"v"> -> !attn_tile.acc<64, 128>
  return
}

// -----

func.func @g(%n: index) {
  // expected-error @+1 {{the result must be a k or v tile, got q}}
  %t = attn_tile.ring_get %n : !attn_tile.smem<"q">
  return
}

// -----

func.func @g(%s: !attn_tile.stats) {
  // expected-error @+1 {{first region must yield the types of the steady region's carried values}}
  %r = attn_tile.pipelined_for iter_args(%s : !attn_tile.stats) first {
  ^bb0(%t: index, %n: index):
    attn_tile.yield %n : index
  } steady {
  ^bb0(%t: index, %n: index):
    attn_tile.yield %n : index
  } drain {
  ^bb0(%m: index):
    attn_tile.yield %s : !attn_tile.stats
  } -> !attn_tile.stats
  return
}

// -----

func.func @g() {
  // expected-error @+1 {{runs a warp role's body: its parent must be attn_tile.warp_specialize}}
  attn_tile.for_work {
    attn_tile.yield
  }
  return
}

// -----

func.func @g() {
  // expected-error @+1 {{it must be inside attn_tile.for_work}}
  attn_tile.release_q
  return
}
