#!/usr/bin/env python3
"""Numerics harness: every example on the CPU backend against reference.py.

For each case of the table below (example file, >= 3 shape settings, an input
builder and a float64 reference), the harness writes the inputs as .npy files
into a temporary directory, runs

  ATTNC --quiet run EXAMPLE --backend=cpu --dtype=f64 --dim NAME=VALUE ...
        --input NAME=FILE.npy ... --output o=FILE.npy

reads the output and compares it with the float64 reference: max abs error and
max relative error (max abs error / (max |ref| + 1e-12)). Every example runs in
f64 at all its shapes (tolerance F64_TOL) and in f32 at its first shape
(tolerance F32_TOL; the reference then uses the float32-rounded inputs).
Float inputs are float64 (f64 runs) or float32 (f32 runs); integer inputs
(carrier arguments, inputs read only by masks) are int32.

It also checks that rejected specs (17_signed_rejected, ...) and bad
invocations (wrong dtype, wrong shape, missing --dim, ...) fail with a
non-zero exit status and a message that names the problem.

Usage: run_numerics.py --attnc PATH/TO/attnc [--filter REGEX] [-v] [-j N]
                       [--keep] [--list]
Prints one line per case and exits non-zero on any failure. Needs only numpy
and the standard library.
"""
import argparse
import concurrent.futures
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance  # noqa: E402
import reference as R  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))

# Tolerances on the relative error max|out - ref| / (max|ref| + 1e-12).
F64_TOL = 1e-9
F32_TOL = 2e-4

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
    ("09_linear.attn",
     [dict(B=2, H=2, Lq=37, Lk=53, D=16, Dv=8), dict(B=1, H=3, Lq=70, Lk=70, D=8, Dv=8),
      dict(B=1, H=2, Lq=5, Lk=129, D=32, Dv=16)], qkv_cross, ref_linear),
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
    ("17_signed_exp_declared.attn", S_SELF, qkv_self,
     att(keep=lambda x, d: R.causal_keep(d["L"], d["L"]), link="signed_exp", anchor="row_abs")),
    ("18_sinkhorn.attn",
     [dict(B=2, H=2, L=37, D=16), dict(B=1, H=3, L=70, D=8), dict(B=1, H=1, L=23, D=32)], qkv_self,
     att(anchor="sinkhorn", iterations=3)),
    ("18_sinkhorn_causal.attn", S_LQLK, qkv_cross,
     att(keep=causal("bottom_right"), anchor="sinkhorn", iterations=5)),
]

# Specs attnc must reject: (example, dims, builder, regex the message must match).
REJECTED = [
    ("17_signed_rejected.attn", dict(B=1, H=2, L=17, D=8), qkv_self, r"signed"),
    ("17_signed_row_rejected.attn", dict(B=1, H=2, L=17, D=8), qkv_self, r"signed"),
]

# ---------------------------------------------------------------------------
# Running.
# ---------------------------------------------------------------------------


class Result:
    def __init__(self, example, shape, dtype, ok, abs_err=float("nan"), rel_err=float("nan"), note=""):
        self.example, self.shape, self.dtype, self.ok = example, shape, dtype, ok
        self.abs_err, self.rel_err, self.note = abs_err, rel_err, note

    def line(self):
        return "%-40s %-52s %-4s abs=%-10.3e rel=%-10.3e %s%s" % (
            self.example, self.shape, self.dtype, self.abs_err, self.rel_err,
            "PASS" if self.ok else "FAIL", ("  " + self.note) if self.note else "")


def shape_str(d):
    return ",".join("%s=%s" % (k, v) for k, v in d.items() if not k.startswith("_"))


def seed_of(example, index, dtype):
    return (sum(ord(c) for c in example) * 1009 + index * 31 + (7 if dtype == "f32" else 0)) % (2 ** 32)


def cast_inputs(x, dtype):
    """Float inputs to the run's dtype; integer inputs to int32."""
    out = {}
    for name, a in x.items():
        a = np.asarray(a)
        if np.issubdtype(a.dtype, np.integer):
            out[name] = a.astype(np.int32)
        else:
            out[name] = a.astype(np.float32 if dtype == "f32" else np.float64)
    return out


def attnc_cmd(attnc, example_path, dims, inputs, outputs, dtype="f64"):
    cmd = [attnc, "--quiet", "run", example_path, "--backend=cpu", "--dtype=" + dtype]
    for k, v in dims.items():
        if not k.startswith("_"):
            cmd += ["--dim", "%s=%d" % (k, v)]
    for name, path in inputs.items():
        cmd += ["--input", "%s=%s" % (name, path)]
    for name, path in outputs.items():
        cmd += ["--output", "%s=%s" % (name, path)]
    return cmd


def run_cmd(cmd, args):
    if args.verbose:
        print("  $ " + " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=args.timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % args.timeout
    except OSError as e:
        return None, "cannot run %s: %s" % (cmd[0], e)


def first_lines(text, n=3):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[:n])


def run_case(args, example, index, dims, build, ref, dtype, workdir):
    tag = "%s-%d-%s" % (os.path.splitext(os.path.basename(example))[0], index, dtype)
    tmp = os.path.join(workdir, tag)
    os.makedirs(tmp, exist_ok=True)
    rng = np.random.default_rng(seed_of(example, index, dtype))
    x = cast_inputs(build(rng, dims), dtype)
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out_path = os.path.join(tmp, "o.npy")
    path = os.path.join(EXAMPLES, example)
    sh = shape_str(dims)
    if not os.path.exists(path):
        return Result(example, sh, dtype, False, note="missing example file " + path)
    rc, text = run_cmd(attnc_cmd(args.attnc, path, dims, files, {"o": out_path}, dtype), args)
    if rc != 0:
        return Result(example, sh, dtype, False,
                      note="attnc exit %s: %s" % (rc, first_lines(text, 6)))
    try:
        out = np.load(out_path)
    except Exception as e:  # noqa: BLE001
        return Result(example, sh, dtype, False, note="cannot read the output: %s" % e)
    # The reference sees exactly the inputs attnc saw, in float64.
    xr = {k: (v.astype(np.float64) if np.issubdtype(v.dtype, np.floating) else v) for k, v in x.items()}
    want = ref(xr, dims)
    want_dtype = np.float32 if dtype == "f32" else np.float64
    if out.dtype != want_dtype:
        return Result(example, sh, dtype, False, note="output dtype %s, expected %s" % (out.dtype, want_dtype.__name__))
    if out.shape != want.shape:
        return Result(example, sh, dtype, False, note="output shape %s, expected %s" % (out.shape, want.shape))
    out64 = out.astype(np.float64)
    if not np.all(np.isfinite(out64)):
        bad = np.argwhere(~np.isfinite(out64))[0]
        return Result(example, sh, dtype, False, note="non-finite output at %s" % list(bad))
    diff = np.abs(out64 - want)
    abs_err = float(diff.max()) if diff.size else 0.0
    ref_max = float(np.abs(want).max()) if want.size else 0.0
    rel_err = abs_err / (ref_max + 1e-12)
    tol = F32_TOL if dtype == "f32" else F64_TOL
    note = ""
    if rel_err > tol:
        at = np.unravel_index(int(np.argmax(diff)), diff.shape)
        note = "tol %.0e; worst at [b,h,i,d]=%s: got %.6g, want %.6g" % (
            tol, list(int(t) for t in at), out64[at], want[at])
    return Result(example, sh, dtype, rel_err <= tol, abs_err, rel_err, note)


def run_rejected(args, example, dims, build, pattern, workdir):
    tmp = os.path.join(workdir, os.path.splitext(example)[0] + "-rejected")
    os.makedirs(tmp, exist_ok=True)
    x = cast_inputs(build(np.random.default_rng(1), dims), "f64")
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    path = os.path.join(EXAMPLES, example)
    cmd = attnc_cmd(args.attnc, path, dims, files, {"o": os.path.join(tmp, "o.npy")})
    return expect_failure(args, example, "rejected spec", cmd, pattern)


def expect_failure(args, label, what, cmd, pattern):
    rc, text = run_cmd(cmd, args)
    if rc is None:
        return Result(label, what, "f64", False, note=text)
    if rc == 0:
        return Result(label, what, "f64", False, note="expected a failure, attnc exited 0")
    if rc < 0 or rc >= 128:
        return Result(label, what, "f64", False,
                      note="attnc crashed (status %d): %s" % (rc, first_lines(text)))
    if not re.search(pattern, text, re.IGNORECASE):
        return Result(label, what, "f64", False,
                      note="message does not match /%s/: %s" % (pattern, first_lines(text)))
    return Result(label, what, "f64", True, 0.0, 0.0,
                  note="(expected failure: %s)" % first_lines(text, 1)[:100] if args.verbose else "")


def nan_semantics(args, workdir):
    """docs/semantics.md: a NaN score propagates to the rows that see its key
    (as PyTorch's SDPA), and rows that mask the key out are unaffected."""
    tmp = os.path.join(workdir, "nan-semantics")
    os.makedirs(tmp, exist_ok=True)
    ex = os.path.join(EXAMPLES, "02_causal_self.attn")
    dims = dict(B=1, H=2, L=9, D=4)
    rng = np.random.default_rng(11)
    x = {n: rng.standard_normal((1, 2, 9, 4)) for n in ("q", "k", "v")}
    x["k"][0, :, 4, 1] = np.nan  # key 4 has a NaN: rows 4.. see it (causal)
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out = os.path.join(tmp, "o.npy")
    rc, text = run_cmd(attnc_cmd(args.attnc, ex, dims, files, {"o": out}, "f64"), args)
    if rc != 0:
        return [Result("nan-semantics", "key 4 NaN", "f64", False, note=first_lines(text, 2))]
    o = np.load(out)
    clean = dict(x, k=x["k"].copy())
    clean["k"][0, :, 4, 1] = 0.0
    ref = R.attention(clean["q"], clean["k"], clean["v"], keep=R.causal_keep(9, 9, "bottom_right"))
    before, after = o[:, :, :4], o[:, :, 4:]
    ok = bool(np.all(np.isnan(after))) and not np.any(np.isnan(before))
    err = float(np.max(np.abs(before - ref[:, :, :4]))) if not np.any(np.isnan(before)) else float("nan")
    ok = ok and err < 1e-9
    return [Result("nan-semantics", "key 4 NaN: rows 4.. NaN, rows 0-3 exact", "f64", ok, err, err,
                   note="" if ok else "rows 4..: %s" % np.isnan(after).all(axis=-1).tolist())]


def bad_invocations(args, workdir):
    """Invocations that must fail with a message naming the problem."""
    tmp = os.path.join(workdir, "bad-invocations")
    os.makedirs(tmp, exist_ok=True)
    ex = os.path.join(EXAMPLES, "01_dense_mha.attn")
    dims = dict(B=1, H=2, Lq=5, Lk=7, D=8, Dv=4)
    rng = np.random.default_rng(3)
    x = cast_inputs(qkv_cross(rng, dims), "f64")
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out = {"o": os.path.join(tmp, "o.npy")}
    f32_q = os.path.join(tmp, "q_f32.npy")
    np.save(f32_q, x["q"].astype(np.float32))
    wrong_shape_q = os.path.join(tmp, "q_wrong_shape.npy")
    np.save(wrong_shape_q, np.ones((1, 2, 6, 8)))
    truncated_q = os.path.join(tmp, "q_truncated.npy")
    with open(files["q"], "rb") as f:
        data = f.read()
    with open(truncated_q, "wb") as f:
        f.write(data[:-5])
    not_npy = os.path.join(tmp, "q_not_npy.npy")
    with open(not_npy, "w") as f:
        f.write("this is not a .npy file\n")
    fortran_q = os.path.join(tmp, "q_fortran.npy")
    np.save(fortran_q, np.asfortranarray(x["q"]))  # same shape, fortran_order True
    missing = os.path.join(tmp, "does_not_exist.npy")

    def with_input(name, path):
        f = dict(files)
        f[name] = path
        return f

    no_d = {k: v for k, v in dims.items() if k != "D"}
    cases = [
        ("wrong dtype (float32 .npy, --dtype=f64)", attnc_cmd(args.attnc, ex, dims, with_input("q", f32_q), out),
         r"float64.*float32|float32.*float64"),
        ("wrong shape", attnc_cmd(args.attnc, ex, dims, with_input("q", wrong_shape_q), out), r"shape"),
        ("missing --dim D", attnc_cmd(args.attnc, ex, no_d, files, out), r"dim\W+D\b|\bD\b.*dim"),
        ("truncated .npy", attnc_cmd(args.attnc, ex, dims, with_input("q", truncated_q), out),
         r"q_truncated\.npy.*truncated"),
        ("not a .npy file", attnc_cmd(args.attnc, ex, dims, with_input("q", not_npy), out),
         r"q_not_npy\.npy.*not a \.npy"),
        ("fortran-order .npy", attnc_cmd(args.attnc, ex, dims, with_input("q", fortran_q), out),
         r"fortran"),
        ("missing input file", attnc_cmd(args.attnc, ex, dims, with_input("q", missing), out),
         r"does_not_exist\.npy"),
        ("no --input for v", attnc_cmd(args.attnc, ex, dims, {k: v for k, v in files.items() if k != "v"}, out),
         r"\bv\b"),
        ("unknown input name", attnc_cmd(args.attnc, ex, dims, dict(files, zz=files["q"]), out), r"zz"),
        ("bad --dim value", attnc_cmd(args.attnc, ex, dims, files, out) + ["--dim", "Lq=abc"], r"Lq"),
        ("unknown dim", attnc_cmd(args.attnc, ex, dict(dims, Q=3), files, out), r"\bQ\b"),
    ]
    # An integer input given as floats.
    vdims = dict(B=1, H=1, L=9, D=4, N1=3)
    vx = cast_inputs(with_(qkv_self, cu=make_cu)(np.random.default_rng(4), vdims), "f64")
    vfiles = {}
    for name, a in vx.items():
        vfiles[name] = os.path.join(tmp, "varlen_" + name + ".npy")
        np.save(vfiles[name], a)
    cu_float = os.path.join(tmp, "cu_float.npy")
    np.save(cu_float, vx["cu"].astype(np.float64))
    vfiles_bad = dict(vfiles, cu=cu_float)
    cases.append(("int input as float64 (cu)",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "02_varlen_packed.attn"), vdims, vfiles_bad, out),
                  r"int32"))
    # A key block listed twice in one query block's row.
    bdims = block_dims(1, 1, 20, 70, 4)
    bx = cast_inputs(block_list_inputs(np.random.default_rng(5), bdims), "f64")
    bdims = dict(bdims, NNZ=int(bx["idx"].shape[2]), NQB1=int(bx["off"].shape[2]))
    row = next(r for r in range(bx["off"].shape[2] - 1) if bx["off"][0, 0, r + 1] > bx["off"][0, 0, r])
    first = int(bx["off"][0, 0, row])
    if bx["off"][0, 0, row + 1] - first < 2:  # make room: the row's only entry, repeated
        bx["idx"] = np.concatenate([bx["idx"], bx["idx"][:, :, first:first + 1]], axis=2)
        bx["off"][0, 0, row + 1:] += 1
        bdims["NNZ"] += 1
    bx["idx"][0, 0, first + 1] = bx["idx"][0, 0, first]
    bfiles = {}
    for name, a in bx.items():
        bfiles[name] = os.path.join(tmp, "blocks_" + name + ".npy")
        np.save(bfiles[name], a)
    cases.append(("block list repeating a key block",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "12_block_list.attn"), bdims, bfiles, out),
                  r"twice"))
    bx["idx"][0, 0, first + 1] = -1
    nfiles = dict(bfiles, idx=os.path.join(tmp, "blocks_negative_idx.npy"))
    np.save(nfiles["idx"], bx["idx"])
    cases.append(("block list with a negative key block",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "12_block_list.attn"), bdims, nfiles, out),
                  r"key block -1 .*numbered from 0"))
    # Paged caches: a page a sequence holds outside the pool, a length past the table's
    # pages, a negative length (the entries past a sequence's pages are never read).
    pdims = dict(B=3, H=4, Hk=2, Lq=2, D=8, P=10, MP=3)
    px = paged_inputs(16)(np.random.default_rng(5), pdims)
    pex = os.path.join(EXAMPLES, "11_paged_decode.attn")
    def paged_case(name, **bad):
        f = {}
        for k, v in dict(px, **bad).items():
            f[k] = os.path.join(tmp, "paged_%s_%s.npy" % (name, k))
            np.save(f[k], v)
        return attnc_cmd(args.attnc, pex, pdims, f, out)
    bad_table = px["page_table"].copy()
    bad_table[0, 1] = 10
    cases.append(("page table naming a page past the pool", paged_case("table", page_table=bad_table),
                  r"page table 'page_table': sequence 0, page 1 names pool page 10, outside \[0, 10\)"))
    long_len = px["kv_len"].copy()
    long_len[1] = 49
    cases.append(("kv length past the table's pages", paged_case("long", kv_len=long_len),
                  r"'kv_len': sequence 1 has length 49, outside \[0, 48\]"))
    neg_len = px["kv_len"].copy()
    neg_len[2] = -1
    cases.append(("negative kv length", paged_case("neg", kv_len=neg_len), r"sequence 2 has length -1"))
    cases.append(("kv lengths for fewer sequences than the batch",  # the shape check
                  paged_case("short", kv_len=px["kv_len"][:2].copy()), r"input 'kv_len' must have shape \[3\]"))
    # Two attentions read one paged cache under different lengths: the table is checked up to
    # the longer of them (a bad page that only the second attention reaches is refused).
    two = os.path.join(tmp, "paged_two_lengths.attn")
    with open(pex) as f:
        text = f.read()
    text = text.replace("input kv_len : [B]", "input kv_len : [B]\ninput kv_len2 : [B]")
    text = text.replace("output o = a", """attention a2(q, k, v) {
  carrier lengths(kv=kv_len2)
  link exp
  anchor row
}
output o = a + a2""")
    with open(two, "w") as f:
        f.write(text)
    short = np.minimum(px["kv_len"], 16).astype(np.int32)
    far = px["page_table"].copy()
    far[0, 2] = 10  # sequence 0 holds 3 pages under kv_len, 1 under the short lengths
    tf = {}
    for k, v in dict(px, kv_len=short, kv_len2=px["kv_len"], page_table=far).items():
        tf[k] = os.path.join(tmp, "paged_two_%s.npy" % k)
        np.save(tf[k], v)
    cases.append(("page table read under two lengths tables",
                  attnc_cmd(args.attnc, two, pdims, tf, out),
                  r"sequence 0, page 2 names pool page 10, outside \[0, 10\)"))
    # A key seen through a let (rope): its length still bounds the lengths table.
    rope = os.path.join(tmp, "lengths_rope.attn")
    with open(rope, "w") as f:
        f.write("""variant lengths_rope
dims B, H, Lq, Lk, D
input q : [B, H, Lq, D]
input k : [B, H, Lk, D]
input v : [B, H, Lk, D]
input kv_len : [B]
let kr = rope(k, theta=10000)
attention a(q, kr, v) {
  carrier lengths(kv=kv_len)
  link exp
  anchor row
}
output o = a
""")
    rdims = dict(B=2, H=1, Lq=3, Lk=5, D=8)
    rng = np.random.default_rng(7)
    rf = {}
    for k, v in dict(q=rng.standard_normal((2, 1, 3, 8)), k=rng.standard_normal((2, 1, 5, 8)),
                     v=rng.standard_normal((2, 1, 5, 8)),
                     kv_len=np.array([5, 6], dtype=np.int32)).items():
        rf[k] = os.path.join(tmp, "lengths_rope_%s.npy" % k)
        np.save(rf[k], v)
    cases.append(("lengths past a let's key length", attnc_cmd(args.attnc, rope, rdims, rf, out),
                  r"'kv_len': sequence 1 has length 6, outside \[0, 5\]"))
    results = []
    for what, cmd, pattern in cases:
        r = expect_failure(args, "bad-invocation", what, cmd, pattern)
        results.append(r)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attnc", required=False, help="path to the attnc binary")
    ap.add_argument("--filter", default="", help="only examples whose file name matches this regex")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the command lines")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel attnc runs (default 1)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per attnc run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--no-bad-invocations", action="store_true", help="skip the bad-invocation checks")
    args = ap.parse_args()

    flt = re.compile(args.filter) if args.filter else None
    jobs = []  # (kind, payload)
    for example, shapes, build, ref in CASES + conformance.CASES:
        if flt and not flt.search(example):
            continue
        for n, dims in enumerate(shapes):
            jobs.append(("run", (example, n, dims, build, ref, "f64")))
        jobs.append(("run", (example, 0, shapes[0], build, ref, "f32")))
    for example, dims, build, pattern in REJECTED:
        if flt and not flt.search(example):
            continue
        jobs.append(("rejected", (example, dims, build, pattern)))
    run_bad = not args.no_bad_invocations and (not flt or flt.search("bad-invocation"))

    if args.list:
        for kind, p in jobs:
            if kind == "run":
                print("%-40s %-52s %s" % (p[0], shape_str(p[2]), p[5]))
            else:
                print("%-40s %-52s must be rejected" % (p[0], shape_str(p[1])))
        if run_bad:
            print("bad-invocation checks")
        return 0

    if not args.attnc:
        ap.error("--attnc is required")
    args.attnc = os.path.abspath(args.attnc)
    if not os.access(args.attnc, os.X_OK):
        print("run_numerics: %s is not an executable" % args.attnc, file=sys.stderr)
        return 2

    # The reference checks itself first.
    R.self_test()

    workdir = tempfile.mkdtemp(prefix="attnc-numerics-")
    results = []

    def do(job):
        kind, p = job
        try:
            if kind == "run":
                return run_case(args, p[0], p[1], p[2], p[3], p[4], p[5], workdir)
            return run_rejected(args, p[0], p[1], p[2], p[3], workdir)
        except Exception as e:  # noqa: BLE001 - a harness bug must show as a FAIL line
            return Result(p[0], "", "", False, note="harness error: %r" % e)

    try:
        if args.jobs > 1:
            with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
                for r in pool.map(do, jobs):
                    print(r.line(), flush=True)
                    results.append(r)
        else:
            for job in jobs:
                r = do(job)
                print(r.line(), flush=True)
                results.append(r)
        if run_bad:
            for r in bad_invocations(args, workdir) + nan_semantics(args, workdir):
                print(r.line(), flush=True)
                results.append(r)
    finally:
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    failed = [r for r in results if not r.ok]
    print("\n%d checks, %d passed, %d failed" % (len(results), len(results) - len(failed), len(failed)))
    for r in failed:
        print("FAILED: %s [%s] %s: %s" % (r.example, r.shape, r.dtype, r.note))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
