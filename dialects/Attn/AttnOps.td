//===- AttnOps.td - attn dialect operations ----------------*- tablegen -*-===//
#ifndef ATTN_OPS
#define ATTN_OPS

include "dialects/Attn/AttnDialect.td"
include "dialects/Attn/AttnAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Attn_YieldOp : Attn_Op<"yield", [Pure, Terminator, ReturnLike]> {
  let summary = "yields the value of an attn region";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// High level: one op per variant, and the prologue transforms.
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_Op<"attention", [RecursiveMemoryEffects]> {
  let summary = "attention variant: carrier, score modifications, link, anchor";
  let description = [{
    Q [B, Hq, Lq, D], K [B, Hk, Lk, D], V [B, Hk, Lk, Dv] -> O [B, H, Lq, Dv]
    with H = max(Hq, Hk) and both head counts dividing H: query head
    h * Hq / H and KV head h * Hk / H meet in output head h (MHA, MQA, GQA,
    and SQA when Hq < Hk).

    S = scale * Q K^T, then the `score` region (args: s, b, h, i, j) is
    applied; keys off the carrier (the `carrier` families, the `mask` region
    (args: b, h, i, j) and the bounds) get weight 0; the link maps scores to
    weights and the anchor normalises them. A row with no key gives 0.
    Values the regions read from above must be listed in `extras`.

    `table_bounds` (pairs t, s; attn-summarize-mask-tables) says that extra s
    holds a sparse table of the [min, max] of the i32 extra t along its last
    axis: s[..., k, n, :] bounds the entries of blocks n to n + 2^k - 1 (each
    of `kTableBoundsBlock` entries), s = t's shape with the last extent L
    replaced by K, N, 2 (N = max(1, ceil(L / kTableBoundsBlock)) blocks,
    K = floor(log2 N) + 1 levels). The GPU tile schedule bounds a mask's
    table reads at a range of positions with it.
    `mask_classes` = c (attn-classify-mask-blocks) says that extra c, an i32
    [1 or B, 1 or H, ceil(Lq / kMaskClassBlock), ceil(Lk / kMaskClassBlock)],
    holds for each block of kMaskClassBlock x kMaskClassBlock (query, key)
    pairs bit 0 = the mask keeps some pair, bit 1 = it drops some pair; the
    GPU tile schedule reads it for a tile inside one block.
    The optional `lse` result [B, H, Lq] (f32) is each row's log-sum-exp as
    docs/gpu-abi.md defines it: what partial results of one row merge by
    (context parallelism). `context_shard` marks a shard of a longer
    attention (attn-shard-positions).
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value, Variadic<AnyRankedTensor>:$extras,
                       DefaultValuedAttr<ArrayAttr, "{}">:$carrier,
                       OptionalAttr<F64Attr>:$scale,
                       Attn_LinkAttr:$link,
                       Attn_AnchorAttr:$anchor,
                       OptionalAttr<Attn_ScoreConvAttr>:$score_conv,
                       UnitAttr:$weights_signed,
                       DefaultValuedAttr<I64Attr, "0">:$split_kv,
                       OptionalAttr<Attn_KVPagesAttr>:$kv_pages,
                       OptionalAttr<DenseI64ArrayAttr>:$table_bounds,
                       OptionalAttr<I64Attr>:$mask_classes,
                       OptionalAttr<Attn_ContextShardAttr>:$context_shard);
  let results = (outs AnyRankedTensor:$result, Optional<AnyRankedTensor>:$lse);
  let regions = (region AnyRegion:$mask, AnyRegion:$score);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`extras` `(` $extras^ `:` type($extras) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)
    (`,` type($lse)^)? (`mask` $mask^)? (`score` $score^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// How many passes over K/V the cheapest schedule of this variant needs.
    int64_t getKVPassCount();
    /// Why this attention cannot be computed shard by shard (context
    /// parallelism), or empty.
    std::string contextShardRefusal();
    /// The link's and the anchor's kinds, without their parameters.
    Link getLinkKind() { return getLink().getKind(); }
    Anchor getAnchorKind() { return getAnchor().getKind(); }
    /// Checks that extra input `idx` exists with rank `rank` and an integer
    /// (else float) element type; `what` names it in the error.
    ::mlir::LogicalResult verifyExtraInput(int64_t idx, int64_t rank, bool integer,
                                           ::llvm::StringRef what);
    /// The [B, Hk, Lk, D] tensor the key (value) operand stands for: its
    /// type, or with `kv_pages` the gathered type (Lk = MP * PS).
    /// Entries per summary of a `table_bounds` table.
    static constexpr int64_t kTableBoundsBlock = 64;
    /// Blocks of the bounds of a table of `len` entries along its last axis.
    static int64_t tableBoundsBlocks(int64_t len) {
      return ::mlir::ShapedType::isDynamic(len)
                 ? len
                 : std::max<int64_t>(1, (len + kTableBoundsBlock - 1) / kTableBoundsBlock);
    }
    /// Levels of the sparse table over `blocks` blocks: floor(log2) + 1.
    static int64_t tableBoundsLevels(int64_t blocks) {
      return ::mlir::ShapedType::isDynamic(blocks) ? blocks : ::llvm::Log2_64(blocks) + 1;
    }
    /// Queries and keys per side of a `mask_classes` block.
    static constexpr int64_t kMaskClassBlock = 128;
    /// The extra holding the bounds of extra `table`, if it has one.
    std::optional<unsigned> getTableBoundsOf(unsigned table);
    ::mlir::RankedTensorType getLogicalKeyType();
    ::mlir::RankedTensorType getLogicalValueType();
  }];
}

def Attn_RopeOp : Attn_Op<"rope", [Pure, SameOperandsAndResultType]> {
  let summary = "rotary position embedding on [B, H, L, D] (pairs d, d + D/2)";
  let description = [{ Rotates channel pairs (d, d + D/2) by angle
    pos * theta^(-2d/D), with pos = i + offset. }];
  let arguments = (ins AnyRankedTensor:$input, F64Attr:$theta,
                       DefaultValuedAttr<I64Attr, "0">:$offset);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Attn_RowNormOp : Attn_Op<"row_norm", [Pure, SameOperandsAndResultType]> {
  let summary = "normalise the last axis: x / ||x||_2 (l2) or x / rms(x) (rms)";
  let arguments = (ins AnyRankedTensor:$input, Attn_RowNormKindAttr:$kind,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$eps);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Attn_PoolOp : Attn_Op<"pool", [Pure]> {
  let summary = "groups of tokens of [B, H, L, D] combined: [B, H, N, D]";
  let description = [{ Group g holds the tokens of [g * stride, g * stride +
    size) that lie below L; N = ceildiv(max(L - size, 0), stride) + 1 groups
    (with stride <= size, which the spec language checks, they cover every
    token). result[b, h, g, d] is the mean, max or sum of input[b, h, t, d]
    over the group's tokens (0 for a group with none). }];
  let arguments = (ins AnyRankedTensor:$input, Attn_PoolKindAttr:$kind,
                       ConfinedAttr<I64Attr, [IntPositive]>:$size,
                       ConfinedAttr<I64Attr, [IntPositive]>:$stride);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of groups over `length` tokens (dynamic stays dynamic).
    static int64_t groupCount(int64_t length, int64_t size, int64_t stride);
    static ::mlir::RankedTensorType inferType(::mlir::RankedTensorType input,
                                              int64_t size, int64_t stride);
  }];
}

def Attn_PageGatherOp : Attn_Op<"page_gather", [Pure]> {
  let summary = "keys or values of a paged cache as a [B, Hk, MP * PS, D] tensor";
  let description = [{ `pool` is [P, PS, Hk, D] (nhd) or [P, Hk, PS, D]
    (hnd), `table` [B, MP] (integer). result[b, h, j, d] =
    pool[clamp(table[b, j / PS], 0, P - 1), j % PS, h, d] (nhd). The GPU
    kernel reads the pool through the table in its tile loads
    (attn-gpu-fold-page-gather); elsewhere it decomposes to a gather. }];
  let arguments = (ins AnyRankedTensor:$pool, AnyRankedTensor:$table,
                       Attn_PageLayoutAttr:$layout);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $pool `,` $table attr-dict `:` type($pool) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The type of gathering `pool` through `table`.
    static ::mlir::RankedTensorType inferType(::mlir::RankedTensorType pool,
                                              ::mlir::RankedTensorType table,
                                              PageLayout layout);
  }];
}

def Attn_SelectBlocksOp : Attn_Op<"select_blocks", [Pure]> {
  let summary = "the estimation stage of a block_select carrier: a counted block list";
  let description = [{ Scores coarse summaries of `query` [B, Hq, Lq, D] and
    `key` [B, Hk, Lk, D] (heads as in attn.attention), restricted to the
    blocks the `carrier` families (over `extras`, numbered as in the
    attention) may keep, and selects key blocks per query block as `select`
    says. Results: counts [B, H, NQB] and indices [B, H, NQB, NKB] (i32,
    ascending within a row, rows padded with 0), with NQB = ceil(Lq/q_block)
    and NKB = ceil(Lk/k_block): the operands of a counted block_list. }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       Variadic<AnyRankedTensor>:$extras,
                       DefaultValuedAttr<ArrayAttr, "{}">:$carrier,
                       Attn_BlockSelectAttr:$select, OptionalAttr<F64Attr>:$scale);
  let results = (outs AnyRankedTensor:$counts, AnyRankedTensor:$indices);
  let assemblyFormat = [{
    $query `,` $key (`extras` `(` $extras^ `:` type($extras) `)`)?
    attr-dict `:` type($query) `,` type($key) `->` type($counts) `,` type($indices)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The einsum cascade.
//===----------------------------------------------------------------------===//

def Attn_EinsumOp : Attn_Op<"einsum", [Pure]> {
  let summary = "sum of products over the iteration dims absent from the output map";
  let description = [{ out[o] = sum over the other dims of prod_k in_k[map_k(d)].
    The last map is the output's; it must be a projection. With `zero_weights`
    a term whose first factor is exactly 0 adds nothing, even against a NaN or
    an infinity in the others (the weights of P V: a masked key never
    contributes, docs/semantics.md). }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, AffineMapArrayAttr:$indexing_maps,
                       UnitAttr:$zero_weights);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_MapOp : Attn_Op<"map", [RecursiveMemoryEffects, AttrSizedOperandSegments]> {
  let summary = "elementwise map with index arguments";
  let description = [{ Iterates over the result's index space. The region gets
    one index per result dim, then one element per input (read at the input's
    indexing map); it yields the result element. It may read tensors defined
    above with tensor.extract (gathers, tables). }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, AffineMapArrayAttr:$indexing_maps,
                       Variadic<Index>:$sizes);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    ( `ins` `(` $inputs^ `:` type($inputs) `)` )? (`sizes` `(` $sizes^ `)`)?
    attr-dict `->` type($result) $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Attn_ReduceOp : Attn_Op<"reduce", [Pure]> {
  let summary = "sum or max over the trailing `count` axes";
  let arguments = (ins AnyRankedTensor:$input, Attn_ReduceKindAttr:$kind,
                       DefaultValuedAttr<I64Attr, "1">:$count);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_RowNormalizeOp : Attn_Op<"row_normalize", [Pure]> {
  let summary = "row anchor: acc[..., i, e] / denom[..., i], 0 where denom is 0";
  let description = [{ The zero guard is the anchor's rule for empty rows: a
    query with no key on its carrier yields 0, never NaN. }];
  let arguments = (ins AnyRankedTensor:$acc, AnyRankedTensor:$denom);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$acc `by` $denom attr-dict `:` type($acc) `,` type($denom) `->` type($result)";
  let hasVerifier = 1;
}

def Attn_SinkhornOp : Attn_Op<"sinkhorn", [Pure, SameOperandsAndResultType]> {
  let summary = "entropic-OT anchor: alternate row and column normalisation";
  let description = [{ On nonnegative weights [..., Lq, Lk]: `iterations` times,
    divide each row by its sum, then each column by its sum (zero sums
    leave zeros). Needs the whole plan: it cannot be computed online. }];
  let arguments = (ins AnyRankedTensor:$weights, I64Attr:$iterations);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$weights attr-dict `:` type($weights)";
}

def Attn_MergePartialsOp : Attn_Op<"merge_partials", [Pure]> {
  let summary = "softmax combine rule: merge (max, sum, acc) partials over KV splits";
  let description = [{ m, l: [B, H, Lq, N]; acc: [B, H, Lq, N, Dv] ->
    [B, H, Lq, Dv]. M = max_n m_n, L = sum_n l_n e^(m_n - M),
    O = sum_n acc_n e^(m_n - M) / L, 0 where L is 0. Associative: it is
    what split-KV decode and ring attention merge with. }];
  let arguments = (ins AnyRankedTensor:$max, AnyRankedTensor:$sum, AnyRankedTensor:$acc);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$max `,` $sum `,` $acc attr-dict `:` type($max) `,` type($sum) `,` type($acc) `->` type($result)";
  let hasVerifier = 1;
}

#endif // ATTN_OPS
