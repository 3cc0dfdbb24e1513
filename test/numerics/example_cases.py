"""The examples' table for run_numerics.py: per example, its shapes, an input builder and a
float64 reference written from the variant's definition (reference.py), not from attnc's
lowering; and the specs attnc must reject. conformance.py holds the FlexAttention ports."""
import math
import os

import numpy as np

import reference as R

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))

# ---------------------------------------------------------------------------
# Input builders. Each returns {name: array}: float arrays as float64 (cast to
# float32 for f32 runs), integer arrays as int32. Floats are fresh standard
# normal samples unless the input needs a range (decays, slopes).
# ---------------------------------------------------------------------------


def normal(rng, *shape):
    return rng.standard_normal(shape)


def qkv(rng, d, hq="H", hk="H", lq="Lq", lk="Lk", dv=None):
    """q [B, hq, lq, D], k [B, hk, lk, D], v [B, hk, lk, dv]; a size is a dim
    name or an int; dv defaults to Dv when the example has it, else D."""
    def g(n):
        return n if isinstance(n, int) else d[n]
    if dv is None:
        dv = "Dv" if "Dv" in d else "D"
    B, D = d["B"], d["D"]
    return {
        "q": normal(rng, B, g(hq), g(lq), D),
        "k": normal(rng, B, g(hk), g(lk), D),
        "v": normal(rng, B, g(hk), g(lk), g(dv)),
    }


def qkv_self(rng, d):
    return qkv(rng, d, lq="L", lk="L")


def qkv_cross(rng, d):
    return qkv(rng, d)


def with_(base, **extra):
    """A builder: base(rng, d) plus extra inputs, each fn(rng, d) -> array."""
    def make(rng, d):
        x = base(rng, d)
        for name, fn in extra.items():
            x[name] = fn(rng, d)
        return x
    return make


def make_cu(rng, d):
    """Cumulative lengths [N1]: N1-1 documents of random lengths >= 1 covering
    L, or L - d['_pad'] when some trailing positions belong to no document."""
    L, n_docs = d["L"], d["N1"] - 1
    end = L - d.get("_pad", 0)
    cuts = sorted(rng.choice(np.arange(1, end), size=n_docs - 1, replace=False)) if n_docs > 1 else []
    return np.array([0] + [int(c) for c in cuts] + [end], dtype=np.int32)


def make_block_list(rng, d):
    """off [B, H, NQB1], idx [B, H, NNZ]: per query block a random subset
    (random order, possibly empty) of key blocks; the tail of idx past
    off[-1] is filled with valid but unused block ids."""
    B, H, Lq, Lk = d["B"], d["H"], d["Lq"], d["Lk"]
    nqb = -(-Lq // 16)
    nkb = -(-Lk // 32)
    assert d["NQB1"] == nqb + 1 and d["NNZ"] >= nqb * nkb
    off = np.zeros((B, H, nqb + 1), dtype=np.int32)
    idx = np.zeros((B, H, d["NNZ"]), dtype=np.int32)
    for b in range(B):
        for h in range(H):
            lst = []
            for qb in range(nqb):
                if (b + h + qb) % 4 == 1:
                    chosen = []  # an empty query block: its rows give 0
                else:
                    n = int(rng.integers(1, nkb + 1))
                    chosen = list(rng.permutation(nkb)[:n])
                lst += chosen
                off[b, h, qb + 1] = len(lst)
            idx[b, h, :len(lst)] = lst
            idx[b, h, len(lst):] = rng.integers(0, nkb, size=d["NNZ"] - len(lst))
    return off, idx


def block_list_inputs(rng, d):
    x = qkv_cross(rng, d)
    x["off"], x["idx"] = make_block_list(rng, d)
    return x


def block_dims(B, H, Lq, Lk, D):
    nqb, nkb = -(-Lq // 16), -(-Lk // 32)
    return dict(B=B, H=H, Lq=Lq, Lk=Lk, D=D, NQB1=nqb + 1, NNZ=nqb * nkb + 3)


# ---------------------------------------------------------------------------
# References: fn(inputs, dims) -> o [B, H, Lq, Dv], float64.
# ---------------------------------------------------------------------------


def att(**kw):
    """Reference for a single attention over q, k, v with fixed options;
    `keep` may be a function of the dims returning the keep array."""
    def ref(x, d):
        opts = dict(kw)
        if callable(opts.get("keep")):
            opts["keep"] = opts["keep"](x, d)
        return R.attention(x["q"], x["k"], x["v"], **opts)
    return ref


def lq_lk(x):
    return x["q"].shape[2], x["k"].shape[2]


def causal(align):
    return lambda x, d: R.causal_keep(*lq_lk(x), align)


def ref_varlen(x, d):
    L = d["L"]
    keep = R.document_keep(x["cu"], L, L) & R.causal_keep(L, L, "top_left")
    return R.attention(x["q"], x["k"], x["v"], keep=keep)


def ref_relative_bias(x, d):
    rel, Lk = x["rel"], d["Lk"]
    return R.attention(x["q"], x["k"], x["v"],
                       scores=[lambda s, b, h, i, j: s + rel[h, i - j + Lk - 1]])


_erf = np.vectorize(math.erf)


def _gelu(t):
    return 0.5 * t * (1.0 + _erf(t / math.sqrt(2.0)))


PERIODIC_SCORES = [
    lambda s, b, h, i, j: s + 0.5 * np.sin((i - j) / 8.0) + 0.25 * np.cos(2.0 ** (-(h + 1.0)) * (i - j)),
    lambda s, b, h, i, j: (s - 0.1 * _gelu(np.log2(1.0 + np.abs(i - j)) - 2.0)
                           + 0.05 * np.tan(0.1 * _erf((j - i) / 16.0))),
]


def ref_alibi(x, d):
    sl = x["slopes"]
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]),
                       scores=[lambda s, b, h, i, j: s + sl[h] * (j - i)])


def ref_per_head_windows(x, d):
    win = x["win"].astype(np.int64)
    return R.attention(x["q"], x["k"], x["v"],
                       keep=lambda b, h, i, j: (i - j < win[h]) & (j <= i))


def neighborhood(**kw):
    return att(keep=lambda x, d: R.neighborhood_keep(**kw))


def ref_maxvit_block(x, d):
    GW, P = d["GW"], d["P"]
    return R.attention(x["q"], x["k"], x["v"],
                       keep=lambda b, h, i, j: ((i // GW) // P == (j // GW) // P)
                       & ((i % GW) // P == (j % GW) // P))


def ref_maxvit_grid(x, d):
    GW, G = d["GW"], d["G"]
    return R.attention(x["q"], x["k"], x["v"],
                       keep=lambda b, h, i, j: ((i // GW) % G == (j // GW) % G)
                       & ((i % GW) % G == (j % GW) % G))


def phi(t):
    return R.elu(t) + 1.0


def ref_linear(x, d):
    return R.attention(phi(x["q"]), phi(x["k"]), x["v"], scale=1.0, link="identity",
                       anchor="row_abs")


def kv_lengths(rng, d):
    """[B] i32: a full sequence, an empty one (its rows give 0), the rest random."""
    return np.array([d["Lk"], 0] + list(rng.integers(0, d["Lk"] + 1, d["B"] - 2)), dtype=np.int32)


def all_keep(lq, lk):
    return np.ones((lq, lk), dtype=bool)


def ref_lightning(x, d):
    dec = x["decay"]
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]),
                       scores=[lambda s, b, h, i, j: s * np.power(dec[h], (i - j).astype(np.float64))],
                       link="identity", anchor="none")


def ref_hybrid(x, d):
    L = d["L"]
    lin = R.attention(phi(x["q"]), phi(x["k"]), x["v"], keep=R.causal_keep(L, L), scale=1.0,
                      link="identity", anchor="row_abs")
    swa = R.attention(x["q"], x["k"], x["v"], keep=R.window_keep(L, L, left=8, right=0))
    return lin + swa


def ref_block_list(x, d):
    keep = R.block_list_keep(x["off"], x["idx"], d["Lq"], d["Lk"], 16, 32)
    return R.attention(x["q"], x["k"], x["v"], keep=keep)


def peaked_qkv(rng, d, hk="H", amp=2.0, span=64):
    """q, k with a shared direction u: keys in each run of `span` carry a random multiple
    of u, so that their blocks' scores differ and a block selection has something to choose."""
    x = qkv(rng, d, hk=hk, lq="L", lk="L", dv="D")
    D = d["D"]
    u = rng.standard_normal(D)
    u /= np.linalg.norm(u)
    k = x["k"]
    a = amp * rng.standard_normal((k.shape[0], k.shape[1], -(-k.shape[2] // span)))
    x["q"] = x["q"] + 2 * amp * u
    x["k"] = k + np.repeat(a, span, axis=2)[:, :, :k.shape[2], None] * u
    return x


def position_ids_inputs(rng, d):
    x = qkv_self(rng, d)
    L = d["L"]
    # Two packed sequences with restarting positions, one shifted: offsets exceed R // 2.
    cut = L // 3
    x["pos"] = np.concatenate([np.arange(cut), 5 + np.arange(L - cut)]).astype(np.int32)
    x["rel"] = rng.standard_normal((d["H"], d["R"]))
    return x


def ref_position_ids(x, d):
    pos, rel, nr = x["pos"].astype(np.int64), x["rel"], d["R"]
    off = np.clip(pos[:, None] - pos[None, :] + nr // 2, 0, nr - 1)
    bias = rel[:, off]  # [H, L, L]
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]),
                       scores=[lambda s, b, h, i, j: s + bias[h, i, j]])


def ref_qk_norm_rope(x, d):
    q, k = R.rope(R.rmsnorm(x["q"])), R.rope(R.rmsnorm(x["k"]))
    return R.attention(q, k, x["v"], keep=R.causal_keep(d["L"], d["L"]))


def ref_mla_rope(x, d):
    c = 1.0 / math.sqrt(d["D"] + d["R"])
    rope_s = np.einsum("bhir,bjr->bhij", x["qr"], x["kr"])
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]), scale=c,
                       scores=[lambda s, b, h, i, j: s + c * rope_s])


def ref_morton(x, d):
    t = np.arange(d["L"])
    col = sum(((t >> (2 * b)) & 1) << b for b in range(4))  # even bits
    row = sum(((t >> (2 * b + 1)) & 1) << b for b in range(4))  # odd bits
    keep = (np.abs(col[:, None] - col[None, :]) <= 2) & (np.abs(row[:, None] - row[None, :]) <= 2)
    return R.attention(x["q"], x["k"], x["v"], keep=keep)


def ref_estimated_block_sparse(x, d):
    L = d["L"]
    causal_k = R.causal_keep(L, L)
    sel = R.block_select_keep(x["q"], x["k"], causal_k, 128, 128, pool="antidiagonal", stride=8,
                              threshold=0.9, force_last=True)
    return R.attention(x["q"], x["k"], x["v"], keep=causal_k & sel)


def ref_moba_topk(x, d):
    L = d["L"]
    causal_k = R.causal_keep(L, L)
    sel = R.block_select_keep(x["q"], x["k"], causal_k, 128, 128, top_k=3, force_first=True,
                              force_last=True)
    return R.attention(x["q"], x["k"], x["v"], keep=causal_k & sel)


def ref_score_conv(x, d):
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]), conv=x["w"])


def ref_sigmoid(x, d):
    Lk = d["Lk"]
    return R.attention(x["q"], x["k"], x["v"], scores=[lambda s, b, h, i, j: s - math.log(Lk)],
                       link="sigmoid", anchor="none")


def ref_sigmoid_head_bias(x, d):
    sb = x["sb"]
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(d["L"], d["L"]),
                       scores=[lambda s, b, h, i, j: s + sb[h]], link="sigmoid", anchor="none")


def ref_relu2(x, d):
    return R.attention(x["q"], x["k"], x["v"], link="relu", power=2.0, anchor="none") / d["Lk"]


def ref_sinks(x, d):
    L = d["L"]
    return R.attention(x["q"], x["k"], x["v"], keep=R.window_keep(L, L, left=8),
                       anchor="row", null=x["sinks"])


def ref_gated_mix(x, d):
    g, ps = x["g"], x["pslope"]
    content = R.attention(x["q"], x["k"], x["v"])
    pos = R.attention(x["q"], x["k"], x["v"],
                      scores=[lambda s, b, h, i, j: 0.0 - ps[h] * ((i - j) * (i - j))])
    gate = R.sigmoid(g).reshape(1, -1, 1, 1)
    return (1 - gate) * content + gate * pos


def ref_induced(x, d):
    pool = R.attention(x["ind"], x["k"], x["v"])
    return R.attention(x["q"], pool, pool)


def ref_nsa_compressed(x, d):
    L = d["L"]
    kc = R.pool_tokens(x["k"], 32, 16, "mean")
    vc = R.pool_tokens(x["v"], 32, 16, "mean")
    n = kc.shape[2]
    cmp = R.attention(x["q"], kc, vc,
                      keep=(np.arange(n)[None, :] * 16 + 31 <= np.arange(L)[:, None]))
    win = R.attention(x["q"], x["k"], x["v"], keep=R.window_keep(L, L, left=63))
    gate = R.sigmoid(x["g"]).reshape(1, -1, 1, 1)
    return gate * cmp + (1 - gate) * win


def ref_xca(x, d):
    """Written from XCiT's definition (channel-by-channel scores), not from token swaps."""
    qn, kn = R.l2norm(x["q"], axis=2), R.l2norm(x["k"], axis=2)
    s = np.einsum("bhtc,bhte->bhce", qn, kn) * x["temperature"].reshape(1, -1, 1, 1)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p = p / p.sum(axis=-1, keepdims=True)
    return np.einsum("bhce,bhte->bhtc", p, x["v"])


def ref_pooled_landmarks(x, d):
    gather = R.attention(R.pool_tokens(x["q"], 64, op="mean"), x["k"], x["v"])
    return R.attention(x["q"], R.pool_tokens(x["k"], 64, op="max"), gather)


def ref_differential(x, d):
    L = d["L"]
    keep = R.causal_keep(L, L)
    a1 = R.attention(x["q1"], x["k1"], x["v"], keep=keep)
    a2 = R.attention(x["q2"], x["k2"], x["v"], keep=keep)
    return a1 - x["lam"].reshape(1, -1, 1, 1) * a2


# ---------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------

S_LQLK = [dict(B=2, H=2, Lq=23, Lk=41, D=16), dict(B=1, H=2, Lq=45, Lk=17, D=8),
          dict(B=1, H=1, Lq=33, Lk=33, D=16)]
S_SELF = [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=70, D=8), dict(B=1, H=1, L=129, D=32)]


def uniform(lo, hi, shape_dims):
    return lambda rng, d: rng.uniform(lo, hi, size=[d[n] for n in shape_dims])


def normal_of(*shape_dims, scale=1.0):
    return lambda rng, d: scale * rng.standard_normal([d[n] if isinstance(n, str) else n for n in shape_dims])


DENSE_SHAPES = [dict(B=2, H=3, Lq=37, Lk=53, D=16, Dv=24), dict(B=1, H=2, Lq=70, Lk=70, D=32, Dv=32),
                dict(B=2, H=1, Lq=5, Lk=129, D=8, Dv=8)]

def paged_inputs(page, layout="nhd"):
    """q, pools, page table and lengths: the used pages of every sequence are distinct
    random pool pages; table entries past a sequence's pages are -1 (never read)."""
    def make(rng, d):
        B, H, Hk, Lq, D, P, MP = (d[n] for n in ("B", "H", "Hk", "Lq", "D", "P", "MP"))
        kv_len = rng.integers(0, MP * page + 1, size=B).astype(np.int32)
        kv_len[0] = MP * page  # one full sequence
        if B > 2:
            kv_len[2] = 0  # an empty cache: every row gives 0
        table = np.full((B, MP), -1, dtype=np.int32)
        perm = rng.permutation(P)
        used = 0
        for b in range(B):
            n = -(-int(kv_len[b]) // page)
            table[b, :n] = perm[used:used + n]
            used += n
        shape = (P, page, Hk, D) if layout == "nhd" else (P, Hk, page, D)
        return {"q": normal(rng, B, H, Lq, D), "k_pages": normal(rng, *shape),
                "v_pages": normal(rng, *shape), "page_table": table, "kv_len": kv_len}
    return make


def ref_paged(page, layout, base):
    def ref(x, d):
        k = R.paged_gather(x["k_pages"], x["page_table"], page, layout)
        v = R.paged_gather(x["v_pages"], x["page_table"], page, layout)
        keep = R.lengths_keep(x["kv_len"], d["Lq"], d["MP"] * page, base)
        return R.attention(x["q"], k, v, keep=keep)
    return ref


CASES = [
    # (example, shapes, builder, reference)
    ("01_dense_mha.attn", DENSE_SHAPES, qkv_cross, att()),
    ("01_dense_mha.json", DENSE_SHAPES, qkv_cross, att()),
    ("02_causal_self.attn", S_SELF, qkv_self, att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]))),
    ("02_causal_cross_top_left.attn", S_LQLK, qkv_cross, att(keep=causal("top_left"))),
    ("02_causal_cross_bottom_right.attn", S_LQLK, qkv_cross, att(keep=causal("bottom_right"))),
    ("02_varlen_packed.attn",
     [dict(B=1, H=2, L=50, D=16, N1=4, _pad=3), dict(B=2, H=3, L=77, D=8, N1=6),
      dict(B=1, H=1, L=100, D=32, N1=2), dict(B=1, H=2, L=41, D=8, N1=9, _pad=1)],
     with_(qkv_self, cu=make_cu), ref_varlen),
    ("02_prefix_lm.attn", [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=5, D=8), dict(B=1, H=2, L=70, D=16)],
     qkv_self, att(keep=lambda x, d: R.prefix_keep(d["L"], d["L"], 7))),
    ("03_cross_short_q.attn",
     [dict(B=2, H=3, Lq=1, Lk=100, D=16, Dv=8), dict(B=1, H=2, Lq=3, Lk=257, D=32, Dv=32),
      dict(B=2, H=2, Lq=7, Lk=64, D=8, Dv=16)], qkv_cross, att()),
    ("03_chunked_prefill.attn",
     [dict(B=2, H=2, Lq=1, Lk=100, D=16), dict(B=1, H=3, Lq=5, Lk=131, D=8), dict(B=1, H=2, Lq=16, Lk=200, D=32)],
     qkv_cross, att(keep=causal("bottom_right"))),
    ("04_mqa.attn",
     [dict(B=2, H=4, Lq=19, Lk=37, D=16), dict(B=1, H=3, Lq=40, Lk=40, D=8), dict(B=1, H=2, Lq=1, Lk=77, D=32)],
     lambda rng, d: qkv(rng, d, hk=1, dv="D"), att(keep=causal("bottom_right"))),
    ("04_gqa.attn",
     [dict(B=2, H=6, Hk=2, Lq=19, Lk=37, D=16), dict(B=1, H=8, Hk=4, Lq=40, Lk=40, D=8),
      dict(B=1, H=4, Hk=1, Lq=1, Lk=77, D=32)],
     lambda rng, d: qkv(rng, d, hk="Hk", dv="D"), att(keep=causal("bottom_right"))),
    ("04_sqa.attn",
     [dict(B=2, Hq=2, H=4, Lq=19, Lk=37, D=16), dict(B=1, Hq=1, H=3, Lq=40, Lk=40, D=8),
      dict(B=1, Hq=3, H=6, Lq=9, Lk=77, D=32)],
     lambda rng, d: qkv(rng, d, hq="Hq", dv="D"), att()),
    ("05_rope.attn", S_SELF, qkv_self,
     lambda x, d: R.attention(R.rope(x["q"]), R.rope(x["k"]), x["v"], keep=R.causal_keep(d["L"], d["L"]))),
    ("05_qk_norm.attn",
     [dict(B=2, H=2, Lq=37, Lk=53, D=16), dict(B=1, H=3, Lq=70, Lk=70, D=8), dict(B=1, H=2, Lq=5, Lk=100, D=32)],
     qkv_cross, lambda x, d: R.attention(R.rmsnorm(x["q"], 1e-5), R.rmsnorm(x["k"], 1e-5), x["v"])),
    ("05_qk_l2norm.attn", S_SELF, qkv_self,
     lambda x, d: R.attention(R.l2norm(x["q"]), R.l2norm(x["k"]), x["v"], scale=8.0,
                              keep=R.causal_keep(d["L"], d["L"]))),
    ("05_relative_bias.attn", [dict(s, R=s["Lq"] + s["Lk"] - 1) for s in S_LQLK],
     with_(qkv_cross, rel=normal_of("H", "R")), ref_relative_bias),
    ("05_alibi.attn", S_SELF,
     with_(qkv_self, slopes=lambda rng, d: 2.0 ** (-8.0 * (np.arange(d["H"]) + 1) / d["H"])
           * rng.uniform(0.5, 1.5, d["H"])), ref_alibi),
    ("05_periodic_bias.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), scores=PERIODIC_SCORES)),
    ("05_softcap.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), scale=0.5,
         scores=[lambda s, b, h, i, j: R.softcap(s, 2.0)])),
    ("06_sliding_window_sinks.attn",
     [dict(B=2, H=2, L=50, D=16), dict(B=1, H=3, L=77, D=8), dict(B=1, H=2, L=130, D=32)], qkv_self,
     att(keep=lambda x, d: R.window_keep(d["L"], d["L"], left=16, right=0, sinks=4))),
    ("06_window_bidirectional.attn", S_LQLK, qkv_cross,
     att(keep=lambda x, d: R.window_keep(*lq_lk(x), left=5, right=3, align="top_left"))),
    ("06_per_head_windows.attn",
     [dict(B=2, H=4, L=37, D=16), dict(B=1, H=3, L=70, D=8), dict(B=1, H=5, L=129, D=32)],
     with_(qkv_self, win=lambda rng, d: np.array(
         ([1, 1000] + [int(x) for x in rng.integers(2, d["L"], d["H"])])[:d["H"]], dtype=np.int32)),
     ref_per_head_windows),
    ("07_neighborhood_1d.attn",
     [dict(B=2, H=2, L=45, D=16), dict(B=1, H=3, L=45, D=8), dict(B=1, H=1, L=45, D=32)], qkv_self,
     neighborhood(grid=[45], window=[7])),
    ("07_neighborhood_1d_dilated_causal.attn",
     [dict(B=2, H=2, L=50, D=16), dict(B=1, H=3, L=50, D=8), dict(B=1, H=1, L=50, D=32)], qkv_self,
     neighborhood(grid=[50], window=[4], dilation=[3], causal=[True])),
    ("07_neighborhood_2d_dilated.attn",
     [dict(B=2, H=2, L=77, D=16), dict(B=1, H=3, L=77, D=8), dict(B=1, H=1, L=77, D=32)], qkv_self,
     neighborhood(grid=[7, 11], window=[3, 5], dilation=[1, 2])),
    ("07_neighborhood_3d_causal.attn",
     [dict(B=2, H=2, L=120, D=16), dict(B=1, H=3, L=120, D=8), dict(B=1, H=1, L=120, D=32)], qkv_self,
     neighborhood(grid=[4, 5, 6], window=[2, 3, 3], causal=[True, False, False])),
    ("08_strided_neighborhood.attn",
     [dict(B=2, H=2, L=120, D=16), dict(B=1, H=3, L=120, D=8), dict(B=1, H=1, L=120, D=32)], qkv_self,
     neighborhood(grid=[10, 12], window=[5, 5], stride=[3, 3])),
    ("08_blocked_neighborhood.attn",
     [dict(B=2, H=2, L=90, D=16), dict(B=1, H=3, L=90, D=8), dict(B=1, H=1, L=90, D=32)], qkv_self,
     neighborhood(grid=[9, 10], window=[3, 5], stride=[3, 5])),
    ("08_maxvit_block.attn",
     [dict(B=2, H=2, L=144, D=16, GW=12, P=4), dict(B=1, H=3, L=54, D=8, GW=9, P=3),
      dict(B=1, H=2, L=70, D=16, GW=10, P=4)], qkv_self, ref_maxvit_block),
    ("08_maxvit_grid.attn",
     [dict(B=2, H=2, L=144, D=16, GW=12, G=4), dict(B=1, H=3, L=54, D=8, GW=9, G=3),
      dict(B=1, H=2, L=70, D=16, GW=10, G=4)], qkv_self, ref_maxvit_grid),
    # Shapes on both sides of attn-reassociate-linear's work gate (2x): 300 x 400 is
    # reassociated, the others stay quadratic.
    ("09_linear.attn",
     [dict(B=2, H=2, Lq=37, Lk=53, D=16, Dv=8), dict(B=1, H=3, Lq=70, Lk=70, D=8, Dv=8),
      dict(B=1, H=2, Lq=5, Lk=129, D=32, Dv=16), dict(B=1, H=2, Lq=300, Lk=400, D=8, Dv=8)],
     qkv_cross, ref_linear),
    ("09_linear_gqa_varlen.attn",
     [dict(B=3, H=4, Hk=2, Lq=200, Lk=300, D=8, Dv=16), dict(B=3, H=2, Hk=2, Lq=9, Lk=40, D=16, Dv=16)],
     with_(lambda rng, d: qkv(rng, d, hk="Hk"), kv_len=kv_lengths),
     lambda x, d: R.attention(np.maximum(x["q"], 0.0), phi(x["k"]), x["v"], link="identity",
                              anchor="row_abs", keep=R.lengths_keep(x["kv_len"], d["Lq"], d["Lk"], all_keep))),
    ("09_linear_padded_unnormalized.attn",
     [dict(B=3, H=2, Lq=150, Lk=260, D=8), dict(B=3, H=2, Lq=12, Lk=30, D=16)],
     with_(qkv_cross, kv_len=kv_lengths),
     lambda x, d: R.attention(x["q"], x["k"], x["v"], link="identity", anchor="none",
                              keep=R.lengths_keep(x["kv_len"], d["Lq"], d["Lk"], all_keep))),
    ("10_lightning_causal_linear.attn", S_SELF,
     with_(qkv_self, decay=uniform(0.8, 0.99, ["H"])), ref_lightning),
    ("10_linear_swa_hybrid.attn", S_SELF, qkv_self, ref_hybrid),
    ("11_gqa_decode_splitkv.attn",
     [dict(B=2, H=8, Hk=2, Lq=1, Lk=1000, D=16), dict(B=1, H=4, Hk=1, Lq=4, Lk=333, D=32),
      dict(B=2, H=6, Hk=3, Lq=16, Lk=197, D=8), dict(B=1, H=2, Hk=2, Lq=3, Lk=64, D=16)],
     lambda rng, d: qkv(rng, d, hk="Hk", dv="D"), att(keep=causal("bottom_right"))),
    ("11_paged_decode.attn",
     [dict(B=3, H=8, Hk=2, Lq=1, D=16, P=40, MP=12), dict(B=2, H=4, Hk=4, Lq=4, D=8, P=9, MP=4),
      dict(B=4, H=6, Hk=3, Lq=16, D=16, P=64, MP=10)],
     paged_inputs(16), ref_paged(16, "nhd", R.causal_keep)),
    ("11_varlen_decode.attn",
     [dict(B=3, H=8, Hk=2, Lq=1, Lk=300, D=16), dict(B=4, H=4, Hk=4, Lq=5, Lk=70, D=8)],
     with_(lambda rng, d: qkv(rng, d, hk="Hk", dv="D"),
           kv_len=lambda rng, d: np.array([d["Lk"], 0] + list(rng.integers(0, d["Lk"] + 1, d["B"] - 2)),
                                          dtype=np.int32)),
     lambda x, d: R.attention(x["q"], x["k"], x["v"],
                              keep=R.lengths_keep(x["kv_len"], d["Lq"], d["Lk"], R.causal_keep))),
    ("11_paged_prefill_hnd.attn",
     [dict(B=2, H=2, Hk=1, Lq=70, D=16, P=16, MP=6), dict(B=3, H=4, Hk=2, Lq=5, D=8, P=20, MP=5)],
     paged_inputs(64, "hnd"), ref_paged(64, "hnd", lambda lq, lk: R.window_keep(lq, lk, 256))),
    ("12_block_list.attn",
     [block_dims(2, 2, 37, 70, 16), block_dims(1, 3, 50, 33, 8), block_dims(1, 1, 16, 129, 32)],
     block_list_inputs, ref_block_list),
    ("05_position_ids_bias.attn",
     [dict(B=1, H=2, L=60, D=16, R=9), dict(B=2, H=3, L=33, D=8, R=15)],
     position_ids_inputs, ref_position_ids),
    ("05_qk_norm_rope.attn", S_SELF, qkv_self, ref_qk_norm_rope),
    ("05_mla_decoupled_rope.attn",
     [dict(B=1, H=2, L=40, D=16, R=8), dict(B=2, H=3, L=33, D=8, R=4)],
     with_(qkv_self, qr=normal_of("B", "H", "L", "R"), kr=normal_of("B", "L", "R")), ref_mla_rope),
    ("07_neighborhood_2d_morton.attn",
     [dict(B=1, H=2, L=256, D=16), dict(B=2, H=1, L=256, D=8)], qkv_self, ref_morton),
    ("13_estimated_block_sparse.attn",
     [dict(B=1, H=2, L=600, D=16), dict(B=2, H=1, L=385, D=32), dict(B=1, H=1, L=130, D=8)],
     peaked_qkv, ref_estimated_block_sparse),
    ("13_moba_topk.attn",
     [dict(B=1, H=4, Hk=2, L=700, D=16), dict(B=2, H=2, Hk=2, L=515, D=32),
      dict(B=1, H=3, Hk=1, L=100, D=8)],
     lambda rng, d: peaked_qkv(rng, d, hk="Hk"), ref_moba_topk),
    ("14_score_conv.attn",
     [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=70, D=8), dict(B=1, H=1, L=19, D=32)],
     with_(qkv_self, w=normal_of("H", 2, 3, scale=0.5)), ref_score_conv),
    ("15_sigmoid.attn",
     [dict(B=2, H=2, Lq=37, Lk=53, D=16), dict(B=1, H=3, Lq=70, Lk=70, D=8), dict(B=1, H=2, Lq=5, Lk=100, D=32)],
     qkv_cross, ref_sigmoid),
    ("15_sigmoid_head_bias.attn", S_SELF, with_(qkv_self, sb=normal_of("H")), ref_sigmoid_head_bias),
    ("15_relu2.attn",
     [dict(B=2, H=2, Lq=37, Lk=53, D=16), dict(B=1, H=3, Lq=70, Lk=70, D=8), dict(B=1, H=2, Lq=5, Lk=100, D=32)],
     qkv_cross, ref_relu2),
    ("15_softplus_row.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), link="softplus", anchor="row")),
    ("16_substochastic.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), anchor="row", null=0.0)),
    ("16_substochastic_sinks.attn", S_SELF, with_(qkv_self, sinks=normal_of("H")), ref_sinks),
    ("16_gated_mix.attn", S_SELF,
     with_(qkv_self, g=normal_of("H"), pslope=uniform(0.05, 1.0, ["H"])), ref_gated_mix),
    ("16_differential.attn",
     [dict(B=2, H=2, L=37, D=16, Dv=8), dict(B=1, H=3, L=70, D=8, Dv=8), dict(B=1, H=1, L=129, D=32, Dv=16)],
     lambda rng, d: {"q1": normal(rng, d["B"], d["H"], d["L"], d["D"]),
                     "k1": normal(rng, d["B"], d["H"], d["L"], d["D"]),
                     "q2": normal(rng, d["B"], d["H"], d["L"], d["D"]),
                     "k2": normal(rng, d["B"], d["H"], d["L"], d["D"]),
                     "v": normal(rng, d["B"], d["H"], d["L"], d["Dv"]),
                     "lam": rng.uniform(0.1, 0.9, d["H"])},
     ref_differential),
    ("16_induced.attn",
     [dict(B=2, H=2, L=37, M=4, D=16), dict(B=1, H=3, L=70, M=1, D=8), dict(B=1, H=1, L=129, M=9, D=32)],
     with_(qkv_self, ind=lambda rng, d: normal(rng, d["B"], d["H"], d["M"], d["D"])),
     ref_induced),
    ("20_nsa_compressed.attn",
     [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=100, D=8), dict(B=1, H=1, L=129, D=32),
      dict(B=1, H=2, L=20, D=16)],
     with_(qkv_self, g=normal_of("H")), ref_nsa_compressed),
    ("20_xca.attn", S_SELF, with_(qkv_self, temperature=uniform(0.5, 2.0, ["H"])), ref_xca),
    ("20_pooled_landmarks.attn",
     [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=130, D=8), dict(B=1, H=1, L=64, D=32),
      dict(B=1, H=2, L=200, D=16)], qkv_self, ref_pooled_landmarks),
    ("17_signed_exp_declared.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), link="signed_exp", anchor="row_abs")),
    ("18_sinkhorn.attn",
     [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=70, D=8), dict(B=1, H=1, L=23, D=32)], qkv_self,
     att(anchor="sinkhorn", iterations=3)),
    ("18_sinkhorn_causal.attn", S_LQLK, qkv_cross,
     att(keep=causal("bottom_right"), anchor="sinkhorn", iterations=5)),
]



def e4m3_bytes(rng, *shape):
    """Random finite FP8 e4m3 bytes: every sign, exponent field and mantissa,
    subnormals included; never the NaN codes 0x7f / 0xff."""
    b = rng.integers(0, 256, size=shape).astype(np.uint8)
    return np.where((b & 0x7F) == 0x7F, b ^ 0x01, b).astype(np.uint8)


def fp8_inputs(rng, d):
    B, H, L, D, NB = d["B"], d["H"], d["L"], d["D"], d["NB"]
    x = {n: e4m3_bytes(rng, B, H, L, D) for n in "qkv"}
    # q and k bytes span +-448: the scales bring the scores back to O(1).
    x["q_scale"] = rng.uniform(0.5, 1.5, (B, H, NB)) / 64.0
    x["k_scale"] = rng.uniform(0.5, 1.5, (B, H, NB)) / 64.0
    x["v_scale"] = rng.uniform(0.5, 1.5, (B, H))
    return x


def ref_fp8_block_scales(x, d):
    L = d["L"]
    qs, ks, vs = x["q_scale"], x["k_scale"], x["v_scale"]
    blk = np.arange(L) // 128
    o = R.attention(R.decode_e4m3(x["q"]), R.decode_e4m3(x["k"]), R.decode_e4m3(x["v"]),
                    keep=R.causal_keep(L, L),
                    scores=[lambda s, b, h, i, j: s * qs[b, h, blk[i]] * ks[b, h, blk[j]]])
    return o * vs[:, :, None, None]


def routing_inputs(rng, d):
    x = qkv_self(rng, d)
    B, H, L = d["B"], d["H"], d["L"]
    x["cq"] = rng.integers(0, 4, size=(B, H, L)).astype(np.int32)
    x["ck"] = rng.integers(0, 4, size=(B, H, L)).astype(np.int32)
    return x


def ref_routing(x, d):
    L = d["L"]
    same = x["cq"][:, :, :, None] == x["ck"][:, :, None, :]  # [B, H, L, L]
    return R.attention(x["q"], x["k"], x["v"], keep=same & R.causal_keep(L, L))


def ref_shifted_chunks(x, d):
    L = d["L"]
    pos = np.arange(L)

    def chunk(h):  # LongLoRA's roll by G/2 = 32 on odd heads, chunks of 64
        return ((pos + L - 32 * (h % 2)) % L) // 64
    H = d["H"]
    keep = np.stack([chunk(h)[:, None] == chunk(h)[None, :] for h in range(H)])[None]  # [1, H, L, L]
    return R.attention(x["q"], x["k"], x["v"], keep=keep)


CASES += [
    ("08_routing.attn", [dict(B=2, H=2, L=50, D=16), dict(B=1, H=3, L=200, D=8), dict(B=1, H=2, L=300, D=32)],
     routing_inputs, ref_routing),
    ("08_shifted_chunks.attn", [dict(B=2, H=2, L=50, D=16), dict(B=1, H=3, L=200, D=8),
                                dict(B=1, H=2, L=300, D=32)], qkv_self, ref_shifted_chunks),
]

CASES.append(
    ("19_fp8_block_scales.attn",
     [dict(B=2, H=2, L=50, D=16, NB=1), dict(B=1, H=3, L=200, D=8, NB=2),
      dict(B=1, H=2, L=300, D=32, NB=3)],
     fp8_inputs, ref_fp8_block_scales))

# Specs attnc must reject: (example, dims, builder, regex the message must match).
REJECTED = [
    ("17_signed_rejected.attn", dict(B=1, H=2, L=17, D=8), qkv_self, r"signed"),
    ("17_signed_row_rejected.attn", dict(B=1, H=2, L=17, D=8), qkv_self, r"signed"),
]
