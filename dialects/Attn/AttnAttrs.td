//===- AttnAttrs.td - carrier, link and anchor attributes --*- tablegen -*-===//
#ifndef ATTN_ATTRS
#define ATTN_ATTRS

include "dialects/Attn/AttnDialect.td"
include "dialects/Attn/AttnInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Attn_Link : I32EnumAttr<"Link", "evidence kernel turning scores into weights", [
    I32EnumAttrCase<"exp", 0>, I32EnumAttrCase<"sigmoid", 1>,
    I32EnumAttrCase<"relu", 2>, I32EnumAttrCase<"identity", 3>,
    I32EnumAttrCase<"signed_exp", 4>, I32EnumAttrCase<"softplus", 5>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_Anchor : I32EnumAttr<"Anchor", "how weights are normalised", [
    I32EnumAttrCase<"row", 0>, I32EnumAttrCase<"none", 1>,
    I32EnumAttrCase<"row_abs", 2>, I32EnumAttrCase<"sinkhorn", 3>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_Align : I32EnumAttr<"Align", "causal diagonal alignment when Lq != Lk", [
    I32EnumAttrCase<"top_left", 0>, I32EnumAttrCase<"bottom_right", 1>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_AlignAttr : EnumAttr<Attn_Dialect, Attn_Align, "align"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_RowNormKind : I32EnumAttr<"RowNormKind", "row normalisation of q/k", [
    I32EnumAttrCase<"l2", 0>, I32EnumAttrCase<"rms", 1>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_RowNormKindAttr : EnumAttr<Attn_Dialect, Attn_RowNormKind, "row_norm_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_ReduceKind : I32EnumAttr<"ReduceKind", "reduction combiner", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"max", 1>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_ReduceKindAttr : EnumAttr<Attn_Dialect, Attn_ReduceKind, "reduce_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_PoolKind : I32EnumAttr<"PoolKind", "combiner of a group of tokens", [
    I32EnumAttrCase<"mean", 0>, I32EnumAttrCase<"max", 1>, I32EnumAttrCase<"sum", 2>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_PoolKindAttr : EnumAttr<Attn_Dialect, Attn_PoolKind, "pool_kind"> {
  let assemblyFormat = "`<` $value `>`";
}

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// An optional f64 parameter; its accessor gives a plain std::optional<double>.
class Attn_OptionalF64Parameter<string desc>
    : AttrOrTypeParameter<"::attnc::attn::detail::OptionalF64", desc,
                          "std::optional<double>"> {
  let defaultValue = "std::nullopt";
}

// The link and the anchor carry their parameters, so that a parameter can
// only appear with the kind it belongs to (checked by their verifiers).
def Attn_LinkAttr : Attn_Attr<"Link", "link"> {
  let summary = "evidence kernel with its parameter: exp, relu^power, ...";
  let description = [{ `#attn.link<exp>`, `#attn.link<relu, power = 2.0>`.
    Only relu takes a parameter: the power p > 0 of max(s, 0)^p (1 when
    absent). }];
  let parameters = (ins "::attnc::attn::Link":$kind,
                        Attn_OptionalF64Parameter<"relu power">:$power);
  let builders = [
    AttrBuilder<(ins "::attnc::attn::Link":$kind,
                     CArg<"std::optional<double>", "std::nullopt">:$power), [{
      return $_get($_ctxt, kind, power);
    }]>
  ];
  let skipDefaultBuilders = 1;
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The relu power, 1 when absent (and for the other links).
    double getPowerOrOne() const { return getPower().value_or(1.0); }
  }];
}

def Attn_AnchorAttr : Attn_Attr<"Anchor", "anchor"> {
  let summary = "normalisation with its parameters: row (null key), sinkhorn iterations, ...";
  let description = [{ `#attn.anchor<row>`, `#attn.anchor<row, null = -1.5>`
    (a null key with a constant logit), `#attn.anchor<row, null_extra = 3>`
    (a per-head logit from extra input #3, an [H] float tensor),
    `#attn.anchor<sinkhorn, iterations = 3>`, `#attn.anchor<none>`,
    `#attn.anchor<row_abs>`. The null key (score c, value 0) only adds to
    the row denominator. }];
  let parameters = (ins "::attnc::attn::Anchor":$kind,
                        Attn_OptionalF64Parameter<"constant null logit">:$null_logit,
                        OptionalParameter<"std::optional<int64_t>", "extra input holding the per-head null logit">:$null_extra,
                        OptionalParameter<"std::optional<int64_t>", "sinkhorn iterations">:$iterations);
  let builders = [
    AttrBuilder<(ins "::attnc::attn::Anchor":$kind,
                     CArg<"std::optional<double>", "std::nullopt">:$null_logit,
                     CArg<"std::optional<int64_t>", "std::nullopt">:$null_extra,
                     CArg<"std::optional<int64_t>", "std::nullopt">:$iterations), [{
      return $_get($_ctxt, kind, null_logit, null_extra, iterations);
    }]>
  ];
  let skipDefaultBuilders = 1;
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Each sinkhorn iteration is two sweeps over K/V; the front end caps
    /// iterations at this so that a run's passes stay bounded.
    static constexpr int64_t kMaxIterations = 10000;
    /// Whether a null key (constant or per-head logit) joins every row.
    bool hasNullKey() const { return getNullLogit() || getNullExtra(); }
  }];
}

// The Hopper kernel plan of an attention (passes/AttnToTile):
// attn-gpu-plan-kernel chooses it; the tile kernel (attn_tile.kernel) carries it.
def Attn_KernelPlanAttr : Attn_Attr<"KernelPlan", "kernel_plan"> {
  let summary = "tile shape, K/V ring depth, warp roles and schedule of a GPU attention kernel";
  let description = [{ Tiles of block_m query rows by block_n keys; a K/V ring
    of `stages` slots; one producer warpgroup (producer_regs registers per
    thread after setmaxnreg) and `consumers` consumer warpgroups
    (consumer_regs each). schedule: `pingpong` (the consumers own 64 rows
    each and take turns issuing their GEMMs), `ws` (no turns) or `split_kv`
    (decode: both consumers share a 64-row tile and take alternate key
    tiles; the key range is split across the grid and merged in the kernel).
    pack_heads (split_kv only): the query heads of one KV head share a tile.
    persistent (not split_kv): one thread block per SM takes work items (a
    query tile of one head) from a counter until none is left, so that the
    next item's Q and K/V load under the current item's last tiles and
    epilogue (attn-tile-persistent). q_patch / k_patch (a neighborhood's
    grid, one extent per axis): query and key tiles are boxes of the grid
    of those extents (block_m and block_n tokens) instead of runs of
    consecutive tokens (CarrierTiles.h, GridTiles). q_slots (persistent
    only, 1 or 2): shared-memory slots for Q; with two, the producer loads
    the next item's Q while the consumers still run the current one, so a
    short item does not wait for its Q. o_tma_store: each consumer
    warpgroup writes its normalised O rows into its half of the item's Q
    slot (free after its last QK^T) and one thread stores them with TMA
    (rows tiles only, not split_kv; persistent plans need two Q slots, as
    the slot is released only once the store has read it). v_scanner (not
    split_kv, whose consumers scan their own tiles): warps 1-3 of the
    producer warpgroup check each V tile with dropped pairs for NaN and Inf
    and release every V slot as a third reader; off, each consumer scans
    its tiles with dropped pairs itself. }];
  let parameters = (ins "int64_t":$block_m, "int64_t":$block_n, "int64_t":$stages,
                        "int64_t":$consumers, "int64_t":$producer_regs,
                        "int64_t":$consumer_regs, StringRefParameter<>:$schedule,
                        "bool":$pack_heads,
                        DefaultValuedParameter<"bool", "false">:$persistent,
                        OptionalParameter<"::mlir::DenseI64ArrayAttr">:$q_patch,
                        OptionalParameter<"::mlir::DenseI64ArrayAttr">:$k_patch,
                        DefaultValuedParameter<"int64_t", "1">:$q_slots,
                        DefaultValuedParameter<"bool", "false">:$o_tma_store,
                        DefaultValuedParameter<"bool", "true">:$v_scanner);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute name under which an attention carries it.
    static constexpr llvm::StringLiteral kAttrName = "attn.kernel_plan";
    bool isSplitKV() const { return getSchedule() == "split_kv"; }
    /// Whether key boxes of `kPatch` suit the kernel: a thread's
    /// accumulator columns are runs of 8 box positions from a multiple of 8,
    /// to whose constant coordinates it adds its own offset (< 8), so a run
    /// must split into per-axis coordinates without carries: the last
    /// extent a multiple of 8, or 2 or 4 with the next one a multiple of 4
    /// or 2 (a run then covers whole rows of the last axis).
    static bool keyRunsFit(::llvm::ArrayRef<int64_t> kPatch) {
      int64_t p = kPatch.back();
      if (p % 8 == 0)
        return true;
      return (p == 2 || p == 4) && kPatch.size() >= 2 && kPatch[kPatch.size() - 2] % (8 / p) == 0;
    }
  }];
}

// Carrier families. An attention's carrier is the intersection of the
// families listed in its `carrier` array and its mask region. Each checks
// itself against the op (AttnOps.cpp); its lowering to IR is an external
// model (passes/Analysis/CarrierLoweringModels.cpp).
class Attn_CarrierFamilyAttr<string name, string attrMnemonic>
    : Attn_Attr<name, attrMnemonic,
                [DeclareAttrInterfaceMethods<Attn_CarrierFamilyAttrInterface>]>;

def Attn_CausalAttr : Attn_CarrierFamilyAttr<"Causal", "causal"> {
  let summary = "j <= i, with the diagonal aligned top-left or bottom-right";
  let parameters = (ins "::attnc::attn::Align":$align);
  let assemblyFormat = "`<` $align `>`";
}

def Attn_WindowAttr : Attn_CarrierFamilyAttr<"Window", "window"> {
  let summary = "sliding window i - left <= j' <= i + right, plus the first `sinks` keys";
  let description = [{ j' is j shifted by the bottom-right alignment offset
    (Lk - Lq) when `align` is bottom_right. A negative right means unbounded. }];
  let parameters = (ins "int64_t":$left, "int64_t":$right, "int64_t":$sinks,
                        "::attnc::attn::Align":$align);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_DocumentAttr : Attn_CarrierFamilyAttr<"Document", "document"> {
  let summary = "doc(i) == doc(j) from cumulative sequence lengths (an extra input)";
  let parameters = (ins "int64_t":$seqlens);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_PrefixAttr : Attn_CarrierFamilyAttr<"Prefix", "prefix"> {
  let summary = "prefix-LM: j < length or j <= i";
  let parameters = (ins "int64_t":$length);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_NeighborhoodAttr : Attn_CarrierFamilyAttr<"Neighborhood", "neighborhood"> {
  let summary = "multi-dimensional neighborhood (NATTEN / GNA semantics)";
  let description = [{ Tokens lie on a row-major grid. Per axis: window size,
    dilation, stride (queries in groups of `stride` share one window), and
    causality. Windows are clamped to stay inside the grid. }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$grid,
                        ArrayRefParameter<"int64_t">:$window,
                        ArrayRefParameter<"int64_t">:$dilation,
                        ArrayRefParameter<"int64_t">:$stride,
                        ArrayRefParameter<"bool">:$causal);
  let assemblyFormat = [{
    `<` `grid` `=` `[` $grid `]` `,` `window` `=` `[` $window `]` `,`
    `dilation` `=` `[` $dilation `]` `,` `stride` `=` `[` $stride `]` `,`
    `causal` `=` `[` $causal `]` `>`
  }];
  let genVerifyDecl = 1;
}

def Attn_BlockListAttr : Attn_CarrierFamilyAttr<"BlockList", "block_list"> {
  let summary = "block-sparse: (query block, key block) pairs in CSR extra inputs";
  let description = [{ `offsets` [B, H, ceil(Lq/q_block)+1] and `indices`
    [B, H, nnz] (i32 or i64) are extra inputs, named by their position: query
    block r lists indices[offsets[r] : offsets[r+1]]. With `counted`, the
    rows are padded (FlexAttention's BlockMask layout): `offsets` names the
    counts [B, H, ceil(Lq/q_block)] and `indices` is [B, H, ceil(Lq/q_block),
    W]; query block r lists indices[r, 0 : counts[r]].
    With `tile_mask` = t >= 0, extra t holds the same pairs per 128 x 128
    tile (attn-gpu-tile-block-lists, for blocks smaller than the GPU
    kernel's tiles): an i64 [B, H, ceil(Lq/128), ceil(Lk/128)] whose bit
    r * (128 / KB) + c says that rows [r QB, (r + 1) QB) and keys
    [c KB, (c + 1) KB) of the tile are kept, QB = min(q_block, 128),
    KB = min(k_block, 128). The predicate then reads the mask. }];
  let parameters = (ins "int64_t":$q_block, "int64_t":$k_block,
                        "int64_t":$offsets, "int64_t":$indices,
                        DefaultValuedParameter<"bool", "false">:$counted,
                        DefaultValuedParameter<"int64_t", "-1">:$tile_mask);
  let assemblyFormat = "`<` struct(params) `>`";
  let builders = [
    AttrBuilder<(ins "int64_t":$q_block, "int64_t":$k_block, "int64_t":$offsets,
                     "int64_t":$indices, CArg<"bool", "false">:$counted,
                     CArg<"int64_t", "-1">:$tile_mask), [{
      return $_get($_ctxt, q_block, k_block, offsets, indices, counted, tile_mask);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The tile of a `tile_mask` and its rows / keys per bit.
    static constexpr int64_t kMaskTile = 128;
    int64_t maskRowsPerBit() const { return std::min<int64_t>(getQBlock(), kMaskTile); }
    int64_t maskKeysPerBit() const { return std::min<int64_t>(getKBlock(), kMaskTile); }
    /// Whether the pairs fit a tile_mask: blocks that divide the tile or are
    /// multiples of it, at most 64 bits per tile.
    bool fitsTileMask() const {
      int64_t r = maskRowsPerBit(), c = maskKeysPerBit();
      auto aligned = [](int64_t blk) { return blk % kMaskTile == 0 || kMaskTile % blk == 0; };
      return aligned(getQBlock()) && aligned(getKBlock()) &&
             (kMaskTile / r) * (kMaskTile / c) <= 64;
    }
  }];
  let skipDefaultBuilders = 1;
}

def Attn_BlockPool : I32EnumAttr<"BlockPool", "block summaries that block selection scores", [
    I32EnumAttrCase<"mean", 0>, I32EnumAttrCase<"antidiagonal", 1>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}

def Attn_BlockSelectAttr : Attn_CarrierFamilyAttr<"BlockSelect", "block_select"> {
  let summary = "block-sparse with the blocks chosen from the data (an estimation stage)";
  let description = [{ The kept (query block, key block) pairs are selected
    per query block from coarse scores of q and k: `mean` pools each block of
    q_block queries and k_block keys; `antidiagonal` (XAttention) sums
    `stride` products along the antidiagonals of each stride x stride cell and
    takes a softmax over each row of cells. Selection: the `top_k` best
    candidate blocks, or the fewest whose share of the row's probability
    reaches `threshold`; `force_first` / `force_last` always keep the row's
    first / last candidate block. Candidates are the blocks the attention's
    other carrier families may keep. attn-expand-block-select turns it into an
    attn.select_blocks op and a counted block_list (docs/semantics.md). }];
  let parameters = (ins "int64_t":$q_block, "int64_t":$k_block,
                        "::attnc::attn::BlockPool":$pool, "int64_t":$stride,
                        "int64_t":$top_k, OptionalParameter<"::mlir::FloatAttr">:$threshold,
                        "bool":$force_first, "bool":$force_last);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_LengthsAttr : Attn_CarrierFamilyAttr<"Lengths", "lengths"> {
  let summary = "per-sequence key lengths: j < kv[b]; bottom-right alignment at kv[b]";
  let description = [{ `kv` names an integer extra input [B]: sequence b
    holds the keys [0, Lk_b) with Lk_b = clamp(kv[b], 0, Lk) (a decode batch
    of caches of different lengths). Every family that aligns bottom-right
    (causal, window) aligns at Lk_b, so the queries sit at the end of their
    sequence (CarrierLoweringAttrInterface::narrowKeyLength). }];
  let parameters = (ins "int64_t":$kv);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_PageLayout : I32EnumAttr<"PageLayout", "axis order of a page pool", [
    I32EnumAttrCase<"nhd", 0>, I32EnumAttrCase<"hnd", 1>]> {
  let cppNamespace = "::attnc::attn";
  let genSpecializedAttr = 0;
}
def Attn_PageLayoutAttr : EnumAttr<Attn_Dialect, Attn_PageLayout, "page_layout"> {
  let assemblyFormat = "`<` $value `>`";
}

// Paged keys and values on an attention (attn-gpu-fold-page-gather): the key
// and value operands are page pools read through a page table.
def Attn_KVPagesAttr : Attn_Attr<"KVPages", "kv_pages"> {
  let summary = "key and value operands are page pools read through a page table";
  let description = [{ The key and value operands are pools [P, PS, Hk, D]
    (nhd) or [P, Hk, PS, D] (hnd); extra input `table` [B, MP] (integer) maps
    logical page n of sequence b to a pool page. The attention sees
    K[b, h, j, d] = pool[table[b, j / PS], j % PS, h, d] (nhd), Lk = MP * PS,
    as attn.page_gather defines it. }];
  let parameters = (ins "int64_t":$table, "::attnc::attn::PageLayout":$layout);
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    /// The pool axes that hold the page's rows and the heads.
    int64_t rowAxis() const { return pageRowAxis(getLayout()); }
    int64_t headAxis() const { return pageHeadAxis(getLayout()); }
  }];
}

// Context parallelism: the attention computes one shard of a longer one.
def Attn_ContextShardAttr : Attn_Attr<"ContextShard", "context_shard"> {
  let summary = "the attention is one shard of a longer one (context parallelism)";
  let description = [{ Query row i stands for global position
    i * q_stride + off[0] and key j for j * k_stride + off[1], `off` being
    the integer extra `offsets` [2] (a launch input: one rank's shard and ring
    step); the global lengths are q_parts * Lq and k_parts * Lk. The carrier,
    mask and score regions mean what they mean for the global attention
    (a length a region computes is the global one); attn-shard-positions
    rewrites them into the shard's own indices. }];
  let parameters = (ins "int64_t":$q_stride, "int64_t":$k_stride,
                        "int64_t":$q_parts, "int64_t":$k_parts, "int64_t":$offsets);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Attn_ScoreConvAttr : Attn_Attr<"ScoreConv", "score_conv"> {
  let summary = "multi-token convolution of scores over previous queries and keys";
  let description = [{ s'[i, j] = sum_{a<queries, c<keys} w[h, a, c] s0[i-a, j-c],
    with s0 the scores zeroed off the carrier; `weight` names an extra input. }];
  let parameters = (ins "int64_t":$queries, "int64_t":$keys, "int64_t":$weight);
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // ATTN_ATTRS
