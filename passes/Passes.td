//===- Passes.td - attnc transformation passes -------------*- tablegen -*-===//
#ifndef ATTNC_PASSES
#define ATTNC_PASSES

include "mlir/Pass/PassBase.td"

def AttnExpandBlockSelect : Pass<"attn-expand-block-select", "mlir::ModuleOp"> {
  let summary = "Split a block_select carrier into an estimation stage and a block list";
  let description = [{
    An attention with a `block_select` carrier becomes an attn.select_blocks
    op (the estimation stage, over the attention's q, k, scale and its other
    static carrier families) and the same attention with a counted
    `block_list` over the selection's results. Both backends then lower the
    two ops separately: the CPU through the cascade, the GPU as a generic
    step before a Hopper kernel that visits only the listed blocks.
  }];
}

def AttnFoldPageGather : Pass<"attn-fold-page-gather", "mlir::ModuleOp"> {
  let summary = "Let an attention read paged keys and values from their pools";
  let description = [{
    An attention whose key and value are attn.page_gather ops over one page
    table and layout takes the pools as its key and value and the table as
    an extra, with a `kv_pages` attribute; the Hopper kernel then loads each
    tile from its page. attn-decompose unfolds it again for the cascade.
  }];
}

def AttnReassociateLinear : Pass<"attn-reassociate-linear", "mlir::ModuleOp"> {
  let summary = "Compute linear attention as (phi(q) (phi(k)^T [v | 1])): linear in the length";
  let description = [{
    An attention whose weights are the plain products scale * q.k (link
    identity, no score region) under anchor none, or row_abs when q, k and
    the scale are provably nonnegative (a feature map such as elu(x) + 1,
    relu, exp, sigmoid), and whose carrier does not depend on the query row
    (none, `lengths`, or a mask region that reads only b, j and the extras),
    is rewritten as two attentions of the same kind, both of them dense
    products the GPU kernel runs on tensor cores:

      KV = attention(I_D, k, v)   [B, Hk, D, Dv] (the keys' state; split_kv)
      o  = attention(q, I_D, KV)  [B, H, Lq, Dv]

    (I_D an identity of D rows; the carrier moves to the first attention).
    Under row_abs the same pair over ones [B, Hk, Lk, 16] gives each row's
    sum of weights, and o is divided by it (0 where it is 0). Work falls
    from Lq Lk (D + Dv) to about (Lq + Lk) D (D + Dv) multiply-adds (twice
    that with the sums); the rewrite applies when all lengths and head dims
    are static and the quadratic work is more than `min-work-ratio` times
    that. The summation order differs from the quadratic form, and a
    non-finite value of v reaches more rows (docs/semantics.md).
  }];
  let options = [
    Option<"minWorkRatio", "min-work-ratio", "double", /*default=*/"2.0",
           "Rewrite only when the quadratic form does more than this many times "
           "the reassociated form's work (0: whenever the rewrite is legal)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def AttnChunkCausalLinear : Pass<"attn-chunk-causal-linear", "mlir::ModuleOp"> {
  let summary = "Compute causal linear attention in chunks: a band of C keys plus chunk states";
  let description = [{
    A causal attention (the causal carrier alone, Lq <= Lk) with the identity
    link, under anchor none, or row_abs when the weights are provably
    nonnegative, whose score region is absent or s * F(i - j) with F an
    exponential (`pow(x, i - j)`, `exp(c * (i - j))`: a decay) and whose
    mask does not read i, is rewritten in chunks of C keys (whole kernel
    tiles). With a(i) the first key of row i's chunk and n = a(i) / C:

      band  = the attention masked to a(i) <= j          [B, H, Lq, Dv]
      KVc   = attention(I, k, v) masked to j / C == r / D, score F((r / D + 1) C - j)
                                                         [B, Hs, N D, Dv]
      T     = F((n - 1 - m) C) for m < n, else 0         [1|B, 1|Hs, N, N]
      P     = einsum over m: T[n, m] KVc[m D + d]        [B, Hs, N D, Dv]
      rows  = attention(q, I, P) masked to r / D == n, score F(i - nC)
      o     = band + rows

    (I the tiled identity: row r is e_{r mod D}; Hs the KV heads, or the
    query heads when a region reads h under GQA). Under row_abs the same
    over ones [B, Hk, Lk, 16] gives the row sums. Key visits fall from about
    Lq Lk / 2 to Lq (C / 2 + D) + D Lk, plus N^2 D Dv multiply-adds in the
    einsum (a generic step). C is the power-of-two multiple of 128 that a
    cost model of tiles, kernel items and the einsum finds cheapest, and
    the rewrite applies when every length and head dim is static and the
    causal form costs more than `min-work-ratio` times as much. A GPU
    schedule: the CPU visits every masked pair, so its pipeline does not
    run it.
  }];
  let options = [
    Option<"minWorkRatio", "min-work-ratio", "double", /*default=*/"1.25",
           "Rewrite only when the causal form costs more than this many times "
           "the chunked form, in tiles and kernel items (0: whenever legal)">,
    Option<"chunk", "chunk", "int64_t", /*default=*/"0",
           "Keys per chunk (0: the cheapest power-of-two multiple of 128)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def AttnShardPositions : Pass<"attn-shard-positions", "mlir::ModuleOp"> {
  let summary = "Rewrite a context_shard attention into one over its own rows";
  let description = [{
    An attention marked `context_shard` computes the rows and keys of a
    longer attention held by one rank at one ring step. Its score region's
    i and j become global positions (i * stride + offset, the offsets read
    from the shard's offsets extra), and every carrier family joins the mask
    region as the family's keep predicate at the global positions and
    lengths (parts * the shard's). Lengths the regions compute themselves
    are already global (the frontend writes a split length dim so). What
    cannot be computed shard by shard (Sinkhorn, a null key, ...) the op
    verifier has already refused (AttentionOp::contextShardRefusal).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::tensor::TensorDialect"];
}

def AttnGPUTileBlockLists : Pass<"attn-gpu-tile-block-lists", "mlir::ModuleOp"> {
  let summary = "Give block lists with blocks smaller than the GPU kernel's tiles a tile mask";
  let description = [{
    The Hopper kernel schedules a block_list from its CSR rows when the
    blocks are whole kernel tiles (multiples of 128 x 128). For smaller
    blocks (as selection-based sparse attention uses: 16 to 64 tokens), this
    pass adds an attn.map computing, per 128 x 128 tile, an i64 mask of the
    (query block, key block) pairs the CSR lists (at most 64 per tile), and
    names it in the carrier's `tile_mask`: the kernel then visits only the
    tiles with a bit set, runs the tiles whose bits are all set without a
    per-element predicate, and tests a bit per score elsewhere. The map runs
    as a generic step before the kernel, so only static shapes are tiled.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def AttnSummarizeMaskTables : Pass<"attn-summarize-mask-tables", "mlir::ModuleOp"> {
  let summary = "Give the tile schedule the per-block bounds of the tables a mask reads";
  let description = [{
    For each i32 table an attention's mask region reads at a position (its
    last index depends on i or j, as in `seq[j] == seq[i]`), adds an
    attn.map computing the [min, max] of each run of 64 entries as a new
    extra and records the pair in `table_bounds`. The GPU tile schedule
    (MaskBounds) then bounds such a read over a tile by the runs it covers,
    so that tiles the table rules out are skipped and tiles it keeps whole
    run without the per-element mask, as FlexAttention's block mask does;
    the map runs as a generic step before the kernel, so only tables of
    static shape are summarized.
  }];
}

def AttnClassifyMaskBlocks : Pass<"attn-classify-mask-blocks", "mlir::ModuleOp"> {
  let summary = "Classify a mask that defeats interval bounds per 128 x 128 block, on the GPU";
  let description = [{
    For an attention whose mask region MaskBounds cannot bound over a tile
    (maskDefeatsTileBounds: a table read at i and j, float math on
    positions, a loop), bounds only through its tables' block summaries,
    or wraps around (maskWrapsOverTiles: a floor modulus of a position by a
    run-time size or a constant of at least a block), adds generic steps
    that classify the predicate once per launch, as FlexAttention's
    create_block_mask does: per group of 4 query rows and key block the
    kept / dropped bits (interval evaluation of the group's box, then rows,
    then 32-key pieces, then keys where undecided), then per block of 128 x 128 pairs
    (`mask_classes`), then a counted block list of the blocks with a kept
    pair, appended as a block_list carrier. The kernel then visits only
    listed blocks and runs a tile whose block keeps every pair without the
    predicate. Sizes may be run-time values; attentions with a block list,
    paged keys, split keys or a context shard are left alone.
  }];
}

def AttnDecompose : Pass<"attn-decompose", "mlir::ModuleOp"> {
  let summary = "Rewrite attn.attention and the prologue ops into the einsum cascade";
  let description = [{
    Each attn.attention becomes: the score contraction (attn.einsum), the
    score modifications and carrier predicate (attn.map with index
    arguments), the link, and the anchor's reductions and normalisation
    (attn.reduce, attn.row_normalize, attn.sinkhorn); with `split_kv` the
    softmax is computed per KV chunk and merged with attn.merge_partials.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::tensor::TensorDialect"];
}

def AttnLowerCascadeToLinalg : Pass<"attn-lower-cascade-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower the einsum cascade to linalg.generic on tensors";
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect", "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect"];
}

def AttnDestinationABI : Pass<"attn-destination-abi", "mlir::ModuleOp"> {
  let summary = "Turn tensor functions into memref functions writing into output arguments";
  let description = [{
    `func @f(tensor...) -> (tensor...)` becomes `func @f(memref... inputs,
    memref... outputs)` with llvm.emit_c_interface, so hosts pass every
    buffer (the CPU JIT and the AOT object use this ABI).
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect"];
}

def AttnExpandFloat8 : Pass<"attn-expand-float8"> {
  let summary = "Decode FP8 (e4m3) elements into wider floats with integer operations";
  let description = [{
    `arith.extf` from `f8E4M3FN` (an input declared `f8e4m3`, widened where
    the variant reads it) has no lowering to LLVM on the CPU or the NVVM
    target: each scalar one becomes the decode of its byte (bias 7, three
    mantissa bits, subnormals, 0x7f / 0xff NaN, no infinities) into f32,
    exact, then an extension or an exact truncation to the wanted type.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

#endif // ATTNC_PASSES
