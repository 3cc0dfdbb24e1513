"""The conformance set (test/conformance): mask_mod / score_mod variants users bring from
FlexAttention and attention-gym, written as specs, with float64 references written from their
PyTorch definitions (not from attnc's lowering). run_numerics.py runs them with the examples."""
import math

import numpy as np

import reference as R

CONF = "../test/conformance/"


def _qkv(rng, d, lq="L", lk="L"):
    B, H, D = d["B"], d["H"], d["D"]
    Lq, Lk = d[lq], d[lk]
    return {"q": rng.standard_normal((B, H, Lq, D)), "k": rng.standard_normal((B, H, Lk, D)),
            "v": rng.standard_normal((B, H, Lk, D))}


def _mask_ref(fn):
    """fn(x, d, b, h, i, j) -> bool array broadcastable to [B, H, Lq, Lk]."""
    def ref(x, d):
        B, H, Lq, Lk = x["q"].shape[0], x["q"].shape[1], x["q"].shape[2], x["k"].shape[2]
        b, h, i, j = R.grids(B, H, Lq, Lk)
        return R.attention(x["q"], x["k"], x["v"], keep=np.broadcast_to(fn(x, d, b, h, i, j), (B, H, Lq, Lk)))
    return ref


def _lengths(rng, d):
    x = _qkv(rng, d)
    x["lengths"] = rng.integers(1, d["L"] + 1, size=d["B"]).astype(np.int32)
    x["lengths"][0] = d["L"] // 3  # a short one for sure
    return x


def _plen(rng, d):
    x = _qkv(rng, d)
    x["plen"] = rng.integers(0, d["L"] + 1, size=d["B"]).astype(np.int32)
    return x


def _seq(rng, d):
    x = _qkv(rng, d)
    L = d["L"]
    cut = [L // 5, L // 2, (4 * L) // 5]  # the shared prefix (0), then three sequences
    x["seq"] = np.searchsorted(cut, np.arange(L), side="right").astype(np.int32)
    return x


def _docs(rng, d):
    x = _qkv(rng, d)
    L = d["L"]
    cut = np.sort(rng.choice(np.arange(1, L), size=min(3, L - 1), replace=False))
    x["doc"] = np.searchsorted(cut, np.arange(L), side="right").astype(np.int32)
    return x


def _slope(rng, d):
    x = _qkv(rng, d)
    x["slope"] = rng.uniform(0.05, 0.5, size=d["H"])
    return x


def _images(rng, d):
    x = _qkv(rng, d, lq="Lq", lk="Lk")
    x["tok_image"] = rng.integers(0, 3, size=d["Lq"]).astype(np.int32)
    x["patch_image"] = np.repeat(np.arange(4), -(-d["Lk"] // 4))[: d["Lk"]].astype(np.int32)
    return x


def _euclid(x, d):
    W = d["W"]
    L = d["L"]
    t = np.arange(L)
    dy = (t[:, None] // W) - (t[None, :] // W)
    dx = (t[:, None] % W) - (t[None, :] % W)
    dist = np.sqrt(dy * dy + dx * dx)
    return R.attention(x["q"], x["k"], x["v"],
                       scores=[lambda s, b, h, i, j: s - x["slope"][h] * dist[i, j]])


def _log_dist(x, d):
    L = d["L"]
    return R.attention(x["q"], x["k"], x["v"], keep=R.causal_keep(L, L),
                       scores=[lambda s, b, h, i, j: s - 0.5 * np.log(1 + np.abs(i - j))])


SELF = [dict(B=2, H=2, L=70, D=16), dict(B=1, H=3, L=129, D=8)]

CASES = [
    (CONF + "padding_mask.attn", SELF, _lengths,
     _mask_ref(lambda x, d, b, h, i, j: j < x["lengths"][b])),
    (CONF + "head_dependent_mask.attn", [dict(B=1, H=4, L=90, D=16), dict(B=2, H=2, L=40, D=8)],
     lambda rng, d: _qkv(rng, d),
     _mask_ref(lambda x, d, b, h, i, j: ((h % 2 == 0) & (j <= i)) | ((h % 2 == 1) & (np.abs(i - j) <= 16)))),
    (CONF + "prefix_lm_per_batch.attn", [dict(B=3, H=2, L=50, D=16), dict(B=2, H=1, L=129, D=8)], _plen,
     _mask_ref(lambda x, d, b, h, i, j: (j <= i) | ((i < x["plen"][b]) & (j < x["plen"][b])))),
    (CONF + "shared_prefix.attn", SELF, _seq,
     _mask_ref(lambda x, d, b, h, i, j: (j <= i) & ((x["seq"][j] == x["seq"][i]) | (x["seq"][j] == 0)))),
    (CONF + "document_mask.attn", SELF, _docs,
     _mask_ref(lambda x, d, b, h, i, j: (j <= i) & (x["doc"][j] == x["doc"][i]))),
    (CONF + "dilated_sliding_window.attn", [dict(B=1, H=2, L=150, D=16), dict(B=2, H=1, L=33, D=8)],
     lambda rng, d: _qkv(rng, d),
     _mask_ref(lambda x, d, b, h, i, j: (np.abs(i - j) <= 32) & ((i - j) % 4 == 0))),
    (CONF + "euclidean_score.attn", [dict(B=1, H=2, L=96, D=16, W=12), dict(B=2, H=3, L=35, D=8, W=7)],
     _slope, _euclid),
    (CONF + "log_distance_bias.attn", SELF, lambda rng, d: _qkv(rng, d), _log_dist),
    (CONF + "image_cross_mask.attn", [dict(B=1, H=2, Lq=40, Lk=90, D=16), dict(B=2, H=1, Lq=17, Lk=33, D=8)],
     _images, _mask_ref(lambda x, d, b, h, i, j: x["tok_image"][i] == x["patch_image"][j])),
]
