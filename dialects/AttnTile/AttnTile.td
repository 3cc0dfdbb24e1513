//===- AttnTile.td - the tile-level attention dialect ------*- tablegen -*-===//
//
// The level between `attn.attention` and nvgpu/nvvm: one thread block's
// flash-attention loop over the key tiles of its query tile, as ops on
// tiles (a Q or K/V tile in shared memory, an accumulator fragment, packed
// probabilities, running row statistics). attn-gpu-build-tile-kernel
// writes the loop in its sequential form; attn-tile-warp-specialize splits
// it into a TMA producer and consumers joined by a K/V ring;
// attn-tile-pipeline overlaps the softmax of one tile with the tensor-core
// work of its neighbours; attn-tile-to-nvvm lowers each op family.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TILE_TD
#define ATTN_TILE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def AttnTile_Dialect : Dialect {
  let name = "attn_tile";
  let summary = "One thread block's attention loop over tiles (the GPU's tile level)";
  let cppNamespace = "::attnc::tile";
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = ["::attnc::attn::AttnDialect"];
}

class AttnTile_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<AttnTile_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def AttnTile_SmemTile : AttnTile_Type<"SmemTile", "smem"> {
  let summary = "a tile of q, k or v resident in shared memory (a K/V ring slot)";
  let parameters = (ins StringRefParameter<"q, k or v">:$role);
  let assemblyFormat = "`<` $role `>`";
  let genVerifyDecl = 1;
}

def AttnTile_Acc : AttnTile_Type<"Acc", "acc"> {
  let summary = "an f32 accumulator fragment in registers (S = QK^T or O) of rows x cols";
  let parameters = (ins "int64_t":$rows, "int64_t":$cols);
  let assemblyFormat = "`<` $rows `,` $cols `>`";
}

def AttnTile_Probs : AttnTile_Type<"Probs", "probs"> {
  let summary = "link weights P of a tile, packed 16-bit pairs in registers (the A operand of PV)";
  let parameters = (ins "int64_t":$rows, "int64_t":$cols);
  let assemblyFormat = "`<` $rows `,` $cols `>`";
}

def AttnTile_Stats : AttnTile_Type<"Stats", "stats"> {
  let summary = "running row maximum and row sum of the online softmax";
}

def AttnTile_Rescale : AttnTile_Type<"Rescale", "rescale"> {
  let summary = "per-row factors that carry O over to a new row maximum";
}

class AttnTile_Op<string mnemonic, list<Trait> traits = []>
    : Op<AttnTile_Dialect, mnemonic, traits>;

def AttnTile_KernelOp : AttnTile_Op<"kernel", [NoTerminator, IsolatedFromAbove]> {
  let summary = "a thread block's attention: the spec it computes and the tile program";
  let description = [{
    `spec` holds the attention in the attn dialect over block arguments that
    stand for q, k, v and the extras (never materialized: the lowering reads
    its dims, carrier, regions, link and anchor); `body` is the tile program.
    `plan` is the kernel plan of attn-gpu-plan-kernel; `name` the kernel's.
  }];
  let arguments = (ins AnyAttr:$plan, StrAttr:$name);
  let regions = (region SizedRegion<1>:$spec, SizedRegion<1>:$body);
  let assemblyFormat = "$name attr-dict `spec` $spec `body` $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The attention the kernel computes (the spec region's only attn.attention).
    ::attnc::attn::AttentionOp getAttention();
  }];
}

def AttnTile_YieldOp : AttnTile_Op<"yield", [Pure, ReturnLike, Terminator,
    ParentOneOf<["ForTilesOp", "PipelinedForOp", "ForWorkOp"]>]> {
  let summary = "the next iteration's values of a tile loop (or its results)";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` qualified(type($values)))? attr-dict";
}

def AttnTile_ForTilesOp : AttnTile_Op<"for_tiles", [
    RecursiveMemoryEffects]> {
  let summary = "the key tiles of this block's query tile, in schedule order";
  let description = [{
    Runs its body once per key tile the carrier's tile schedule keeps for
    this query tile (empty tiles never enter), in the order the producer
    loads them. Block arguments: the key tile index, its ordinal n among
    the kept tiles (the K/V ring slot is n mod stages), then the iteration
    values. `alternate`: two consumers take every other tile (the decode
    schedule); the ordinal still counts every tile.
  }];
  let arguments = (ins Variadic<AnyType>:$inits, UnitAttr:$alternate);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "(`iter_args` `(` $inits^ `:` qualified(type($inits)) `)`)? attr-dict-with-keyword $body (`->` qualified(type($results))^)?";
  let hasVerifier = 1;
}

def AttnTile_PipelinedForOp : AttnTile_Op<"pipelined_for", [RecursiveMemoryEffects]> {
  let summary = "a tile loop software-pipelined by one stage: first tile, steady state, drain";
  let description = [{
    The loop of for_tiles with iteration n's second stage run in iteration
    n + 1. `first` runs the first stage of the first kept tile (block
    arguments: tile, ordinal; it reads the inits from above) and yields the
    carried values; `steady` runs on every later tile (tile, ordinal, the
    carried values) and yields them; `drain` (the carried values) runs the
    last tile's second stage and yields the results. Without any kept tile
    the results are the inits. `alternate` as for for_tiles. `turns`: the
    consumers take turns issuing tensor-core work (the regions hold
    turn_begin / turn_end); the loop balances the turn barriers around
    itself. A release_q at the start of `drain` runs once the last kept
    tile's QK^T is done, whether or not any tile was kept.
  }];
  let arguments = (ins Variadic<AnyType>:$inits, UnitAttr:$alternate, UnitAttr:$turns);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$first, SizedRegion<1>:$steady, SizedRegion<1>:$drain);
  let assemblyFormat = "`iter_args` `(` $inits `:` qualified(type($inits)) `)` attr-dict-with-keyword `first` $first `steady` $steady `drain` $drain `->` qualified(type($results))";
  let hasVerifier = 1;
}

def AttnTile_WarpSpecializeOp : AttnTile_Op<"warp_specialize", [NoTerminator,
    RecursiveMemoryEffects]> {
  let summary = "warp roles: a producer warpgroup and the consumer warpgroups";
  let description = [{
    `producer` runs on warpgroup 0 with `producer_regs` registers per
    thread (setmaxnreg), one thread issuing the TMA loads; `consumer` on the
    others with `consumer_regs`. They share only the K/V ring and the Q
    barrier.
  }];
  let arguments = (ins I64Attr:$producer_regs, I64Attr:$consumer_regs);
  let regions = (region SizedRegion<1>:$producer, SizedRegion<1>:$consumer);
  let assemblyFormat = "attr-dict `producer` $producer `consumer` $consumer";
}

def AttnTile_ForWorkOp : AttnTile_Op<"for_work", [RecursiveMemoryEffects]> {
  let summary = "persistent blocks: the body once per work item this block takes";
  let description = [{
    The body of one warp role (inside warp_specialize) run once per work
    item (a query tile of one batch and head) that this thread block takes:
    the producer takes the next item from the launch's counter, announces it
    with the item's Q tile (load_q), and the other roles learn it there.
    Ring ordinals continue from item to item, so the producer loads the
    next item's K/V while the consumers finish the current one. Under the
    plan's `persistent`; attn-tile-persistent writes it.
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def AttnTile_ReleaseQOp : AttnTile_Op<"release_q"> {
  let summary = "consumer: done reading this item's Q tile (the producer may load the next one)";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

//===--- tiles in shared memory ----------------------------------------===//

def AttnTile_LoadQOp : AttnTile_Op<"load_q"> {
  let summary = "the block's Q tile into shared memory (TMA); the result is ready to read";
  let description = [{ Sequential form: loads and waits. After
    warp specialization the producer issues it (`async`, no result) and
    the consumers wait with wait_q. }];
  let arguments = (ins UnitAttr:$async);
  let results = (outs Optional<AttnTile_SmemTile>:$tile);
  let assemblyFormat = "attr-dict (`:` qualified(type($tile))^)?";
  let hasVerifier = 1;
}

def AttnTile_WaitQOp : AttnTile_Op<"wait_q"> {
  let summary = "wait until the producer's Q tile has arrived";
  let results = (outs AttnTile_SmemTile:$tile);
  let assemblyFormat = "attr-dict `:` qualified(type($tile))";
  let hasVerifier = 1;
}

def AttnTile_LoadKVOp : AttnTile_Op<"load_kv"> {
  let summary = "key tile `tile` of K or V into shared memory (sequential form)";
  let arguments = (ins Index:$tile);
  let results = (outs AttnTile_SmemTile:$result);
  let assemblyFormat = "$tile attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
}

def AttnTile_RingPutOp : AttnTile_Op<"ring_put"> {
  let summary = "producer: wait for ring slot n mod stages to be free, then TMA key tile `tile` of K or V into it";
  let arguments = (ins StrAttr:$role, Index:$tile, Index:$ordinal);
  let assemblyFormat = "$role $tile `,` $ordinal attr-dict";
  let hasVerifier = 1;
}

def AttnTile_RingGetOp : AttnTile_Op<"ring_get"> {
  let summary = "consumer: wait until the K or V tile of ordinal n has arrived in its slot";
  let arguments = (ins Index:$ordinal);
  let results = (outs AttnTile_SmemTile:$tile);
  let assemblyFormat = "$ordinal attr-dict `:` qualified(type($tile))";
  let hasVerifier = 1;
}

def AttnTile_RingReleaseOp : AttnTile_Op<"ring_release"> {
  let summary = "consumer: done reading the slot of ordinal n (its warpgroup arrives on the empty barrier)";
  let arguments = (ins AttnTile_SmemTile:$tile, Index:$ordinal);
  let assemblyFormat = "$tile `,` $ordinal attr-dict `:` qualified(type($tile))";
  let hasVerifier = 1;
}

//===--- tensor-core products ------------------------------------------===//

def AttnTile_QKOp : AttnTile_Op<"qk"> {
  let summary = "S = Q K^T of this warpgroup's rows (wgmma from shared memory)";
  let description = [{ `async`: issued and committed; the result may be
    read only after an mma_wait that covers it. Otherwise waited for. }];
  let arguments = (ins AttnTile_SmemTile:$q, AttnTile_SmemTile:$k, UnitAttr:$async);
  let results = (outs AttnTile_Acc:$s);
  let assemblyFormat = "$q `,` $k attr-dict `:` qualified(type($q)) `,` qualified(type($k)) `->` qualified(type($s))";
  let hasVerifier = 1;
}

def AttnTile_PVOp : AttnTile_Op<"pv"> {
  let summary = "O + P V with P in registers (register-A wgmma)";
  let arguments = (ins AttnTile_Probs:$p, AttnTile_SmemTile:$v, AttnTile_Acc:$acc, UnitAttr:$async);
  let results = (outs AttnTile_Acc:$result);
  let assemblyFormat = "$p `,` $v `,` $acc attr-dict `:` qualified(type($p)) `,` qualified(type($v)) `,` qualified(type($acc)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def AttnTile_MmaWaitOp : AttnTile_Op<"mma_wait"> {
  let summary = "wait until at most `pending` committed tensor-core groups are in flight";
  let arguments = (ins I64Attr:$pending);
  let assemblyFormat = "attr-dict";
}

def AttnTile_TurnBeginOp : AttnTile_Op<"turn_begin"> {
  let summary = "ping-pong: wait for this consumer's turn to issue tensor-core work";
  let assemblyFormat = "attr-dict";
}

def AttnTile_TurnEndOp : AttnTile_Op<"turn_end"> {
  let summary = "ping-pong: hand the turn to the other consumer";
  let assemblyFormat = "attr-dict";
}

//===--- softmax and the accumulator -----------------------------------===//

def AttnTile_ZeroAccOp : AttnTile_Op<"zero_acc", [Pure]> {
  let results = (outs AttnTile_Acc:$acc);
  let assemblyFormat = "attr-dict `:` qualified(type($acc))";
}

def AttnTile_InitStatsOp : AttnTile_Op<"init_stats", [Pure]> {
  let summary = "row statistics before any key: maximum -inf, sum 0";
  let results = (outs AttnTile_Stats:$stats);
  let assemblyFormat = "attr-dict `:` qualified(type($stats))";
}

def AttnTile_SoftmaxOp : AttnTile_Op<"softmax"> {
  let summary = "scores, mask and the online softmax update of one key tile";
  let description = [{
    On S of key tile `tile`: the score region and scale, the carrier's mask
    (only where the tile schedule classifies the tile partial, or it crosses
    the key length), the link, and for anchors with a running maximum the
    new maximum, the weights P relative to it, the updated row sums, and the
    factors that carry O over to the new maximum.
  }];
  let arguments = (ins AttnTile_Acc:$s, Index:$tile, AttnTile_Stats:$stats);
  let results = (outs AttnTile_Probs:$p, AttnTile_Stats:$new_stats, AttnTile_Rescale:$rescale);
  let assemblyFormat = "$s `,` $tile `,` $stats attr-dict `:` qualified(type($s)) `,` qualified(type($stats)) `->` qualified(type($p)) `,` qualified(type($new_stats)) `,` qualified(type($rescale))";
}

def AttnTile_RescaleOp : AttnTile_Op<"rescale", [Pure]> {
  let summary = "O times the per-row factors of a softmax update";
  let arguments = (ins AttnTile_Acc:$acc, AttnTile_Rescale:$factors);
  let results = (outs AttnTile_Acc:$result);
  let assemblyFormat = "$acc `,` $factors attr-dict `:` qualified(type($acc)) `,` qualified(type($factors)) `->` qualified(type($result))";
  let hasFolder = 1;
}

def AttnTile_StoreOp : AttnTile_Op<"store"> {
  let summary = "the epilogue: normalise O by the anchor (null key included), store O and the LSE";
  let description = [{ Under the split_kv plan, this block's O and row
    statistics are a partial: it is written to the workspace and the last
    partial of the output tile merges them and stores. }];
  let arguments = (ins AttnTile_Acc:$acc, AttnTile_Stats:$stats);
  let assemblyFormat = "$acc `,` $stats attr-dict `:` qualified(type($acc)) `,` qualified(type($stats))";
}

#endif // ATTN_TILE_TD
