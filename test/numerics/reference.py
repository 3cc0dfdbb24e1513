#!/usr/bin/env python3
"""Independent float64 NumPy reference for attnc (docs/semantics.md).

Written from the semantics document only, not from the compiler: dense
[B, H, Lq, Lk] score and keep tensors, plain broadcasting, clarity over speed.

Building blocks:
  prologue:   rope, l2norm, rmsnorm, elu, silu, softcap, ... (elementwise helpers)
  carriers:   causal_keep, window_keep, document_keep, prefix_keep,
              neighborhood_keep, block_list_keep (each returns a bool array
              broadcastable to [B, H, Lq, Lk])
  attention:  attention(q, k, v, keep=..., scale=..., scores=[...], conv=...,
              link=..., anchor=..., null=..., iterations=...)
  split-KV:   attention_split_kv (exp link + row anchor, explicit chunk merge;
              used by the self test to check split_kv == plain)

`python3 reference.py` runs the self tests (sanity checks of these functions
against independent formulations).
"""
import math

import numpy as np

# ---------------------------------------------------------------------------
# Scalar helpers (the spec language's functions), float64.
# ---------------------------------------------------------------------------


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))),
                    np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def elu(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def silu(x):
    x = np.asarray(x, dtype=np.float64)
    return x * sigmoid(x)


def relu(x):
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def softcap(x, c):
    return c * np.tanh(np.asarray(x, dtype=np.float64) / c)


# ---------------------------------------------------------------------------
# Prologue transforms (`let`), applied over the last axis (D) with the L index
# the second to last axis.
# ---------------------------------------------------------------------------


def rope(x, theta=10000.0):
    """Pairs (d, d + D/2): a = i * theta^(-2d/D), i the L index."""
    x = np.asarray(x, dtype=np.float64)
    L, D = x.shape[-2], x.shape[-1]
    assert D % 2 == 0, "rope needs an even head dim"
    half = D // 2
    d = np.arange(half, dtype=np.float64)
    i = np.arange(L, dtype=np.float64)
    a = i[:, None] * theta ** (-2.0 * d[None, :] / D)  # [L, D/2]
    c, s = np.cos(a), np.sin(a)
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def l2norm(x, eps=1e-6, axis=-1):
    x = np.asarray(x, dtype=np.float64)
    return x / np.sqrt(np.sum(x * x, axis=axis, keepdims=True) + eps)


def pool_tokens(x, size, stride=None, op="mean"):
    """[B, H, L, D] -> [B, H, N, D]: group g combines tokens [g*stride, g*stride + size)
    below L, N = ceil(max(L - size, 0) / stride) + 1."""
    x = np.asarray(x, dtype=np.float64)
    stride = stride or size
    L = x.shape[2]
    n = -(-max(L - size, 0) // stride) + 1
    f = {"mean": np.mean, "max": np.max, "sum": np.sum}[op]
    return np.stack([f(x[:, :, g * stride:min(g * stride + size, L)], axis=2) for g in range(n)],
                    axis=2)


def rmsnorm(x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


# ---------------------------------------------------------------------------
# Index grids.
# ---------------------------------------------------------------------------


def grids(B, H, Lq, Lk):
    """Broadcastable integer index arrays b, h, i, j of [B, H, Lq, Lk]."""
    b = np.arange(B).reshape(B, 1, 1, 1)
    h = np.arange(H).reshape(1, H, 1, 1)
    i = np.arange(Lq).reshape(1, 1, Lq, 1)
    j = np.arange(Lk).reshape(1, 1, 1, Lk)
    return b, h, i, j


# ---------------------------------------------------------------------------
# Carriers: boolean keep arrays broadcastable to [B, H, Lq, Lk].
# ---------------------------------------------------------------------------


def causal_keep(Lq, Lk, align="bottom_right"):
    i = np.arange(Lq)[:, None]
    j = np.arange(Lk)[None, :]
    off = (Lk - Lq) if align == "bottom_right" else 0
    return j <= i + off


def paged_gather(pool, table, page, layout="nhd"):
    """[B, Hk, MP * page, D] from a page pool and a page table [B, MP]."""
    B, MP = table.shape
    if layout == "hnd":  # [P, Hk, PS, D] -> [P, PS, Hk, D]
        pool = pool.transpose(0, 2, 1, 3)
    Hk, D = pool.shape[2], pool.shape[3]
    out = np.zeros((B, Hk, MP * page, D))
    for b in range(B):
        for j in range(MP * page):
            p = min(max(int(table[b, j // page]), 0), pool.shape[0] - 1)
            out[b, :, j, :] = pool[p, j % page, :, :]
    return out


def lengths_keep(kv_len, Lq, Lk, base):
    """[B, 1, Lq, Lk]: j < Lk_b and base(Lq, Lk_b) with Lk_b = clamp(kv_len[b], 0, Lk), so
    that bottom-right alignment follows each sequence's own length."""
    keep = np.zeros((len(kv_len), 1, Lq, Lk), dtype=bool)
    for b, n in enumerate(kv_len):
        n = min(max(int(n), 0), Lk)
        keep[b, 0, :, :n] = base(Lq, n)
    return keep


def window_keep(Lq, Lk, left, right=0, sinks=0, align="bottom_right"):
    i = np.arange(Lq)[:, None]
    j = np.arange(Lk)[None, :]
    ip = i + ((Lk - Lq) if align == "bottom_right" else 0)
    in_window = (ip - left <= j) & ((right < 0) | (j <= ip + right))
    return in_window | (j < sinks)


def doc_ids(cu, L):
    """doc(t) for t < L; -1 for positions at or past cu[N] (no document)."""
    cu = [int(c) for c in cu]
    out = np.full(L, -1, dtype=np.int64)
    for n in range(len(cu) - 1):
        for t in range(cu[n], min(cu[n + 1], L)):
            out[t] = n
    return out


def document_keep(cu, Lq, Lk):
    dq = doc_ids(cu, Lq)[:, None]
    dk = doc_ids(cu, Lk)[None, :]
    return (dq == dk) & (dq >= 0)


def prefix_keep(Lq, Lk, length):
    i = np.arange(Lq)[:, None]
    j = np.arange(Lk)[None, :]
    return (j < length) | (j <= i)


def _axis_keep(n, k, d=1, s=1, causal=False):
    """[n, n] keep of one neighborhood axis, straight from the semantics."""
    keep = np.zeros((n, n), dtype=bool)
    for qi in range(n):
        for kj in range(n):
            if qi % d != kj % d:
                continue
            qq, kk = qi // d, kj // d
            m = (n - qi % d + d - 1) // d
            if causal:
                ql = min((qq // s) * s + s - 1, m - 1)
                keep[qi, kj] = ql - k + 1 <= kk <= qq
            else:
                ql = min((qq // s) * s + s // 2, m - 1)
                start = min(max(ql - k // 2, 0), max(m - k, 0))
                keep[qi, kj] = start <= kk < start + k
    return keep


def grid_coords(grid):
    """Row-major coordinates [L, naxes] of the tokens of a grid."""
    L = int(np.prod(grid))
    coords = np.zeros((L, len(grid)), dtype=np.int64)
    rem = np.arange(L)
    for ax in reversed(range(len(grid))):
        coords[:, ax] = rem % grid[ax]
        rem = rem // grid[ax]
    return coords


def neighborhood_keep(grid, window, dilation=None, stride=None, causal=None):
    """[L, L] keep, L = prod(grid): AND over axes of the per-axis rule."""
    na = len(grid)
    dilation = dilation or [1] * na
    stride = stride or [1] * na
    causal = causal or [False] * na
    coords = grid_coords(grid)
    L = coords.shape[0]
    keep = np.ones((L, L), dtype=bool)
    for ax in range(na):
        ak = _axis_keep(grid[ax], window[ax], dilation[ax], stride[ax], causal[ax])
        keep &= ak[coords[:, ax][:, None], coords[:, ax][None, :]]
    return keep


def block_list_keep(off, idx, Lq, Lk, q_block, k_block):
    """off [B, H, ceil(Lq/QB)+1], idx [B, H, NNZ] -> keep [B, H, Lq, Lk]."""
    B, H = off.shape[0], off.shape[1]
    keep = np.zeros((B, H, Lq, Lk), dtype=bool)
    for b in range(B):
        for h in range(H):
            for i in range(Lq):
                qb = i // q_block
                blocks = set(int(x) for x in idx[b, h, off[b, h, qb]:off[b, h, qb + 1]])
                for j in range(Lk):
                    if j // k_block in blocks:
                        keep[b, h, i, j] = True
    return keep


def block_select_keep(q, k, static_keep, q_block, k_block, pool="mean", stride=8, top_k=0,
                      threshold=None, force_first=False, force_last=False, scale=None):
    """The estimation stage of carrier block_select (docs/semantics.md), written from the
    definition: candidate cells and blocks are those holding a pair static_keep
    [B, H, Lq, Lk] keeps; per query block, forced blocks then the best by score (ties to
    the lower block). Returns the selected blocks expanded to keep [B, H, Lq, Lk] (before
    the AND with static_keep)."""
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    qh, kh, _, H = expand_heads(q, k, k)
    B, Lq, D = q.shape[0], q.shape[2], q.shape[3]
    Lk = k.shape[2]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    static_keep = np.broadcast_to(static_keep, (B, H, Lq, Lk))
    gq, gk = (q_block, k_block) if pool == "mean" else (stride, stride)
    na, nc = -(-Lq // gq), -(-Lk // gk)
    nqb, nkb = -(-Lq // q_block), -(-Lk // k_block)

    def any_kept(rb, cb, nr, ncol):
        out = np.zeros((B, H, nr, ncol), dtype=bool)
        for r in range(nr):
            for c in range(ncol):
                out[:, :, r, c] = static_keep[:, :, r * rb:(r + 1) * rb, c * cb:(c + 1) * cb].any(axis=(2, 3))
        return out

    if pool == "mean":
        qp = np.stack([qh[:, :, a * gq:(a + 1) * gq].mean(axis=2) for a in range(na)], axis=2)
        kp = np.stack([kh[:, :, c * gk:(c + 1) * gk].mean(axis=2) for c in range(nc)], axis=2)
        cs = scale * np.einsum("bhad,bhcd->bhac", qp, kp)
    else:
        cs = np.zeros((B, H, na, nc))
        for a in range(na):
            for c in range(nc):
                for t in range(stride):
                    i, j = a * stride + stride - 1 - t, c * stride + t
                    if i < Lq and j < Lk:
                        cs[:, :, a, c] += np.einsum("bhd,bhd->bh", qh[:, :, i], kh[:, :, j])
        cs *= scale / stride
    cell = any_kept(gq, gk, na, nc)
    p = np.zeros_like(cs)
    for bb in range(B):
        for hh in range(H):
            for a in range(na):
                m = cell[bb, hh, a]
                if m.any():
                    e = np.exp(cs[bb, hh, a, m] - cs[bb, hh, a, m].max())
                    p[bb, hh, a, m] = e / e.sum()
    rq, rk = q_block // gq, k_block // gk
    bs = np.zeros((B, H, nqb, nkb))
    for r in range(nqb):
        for c in range(nkb):
            bs[:, :, r, c] = p[:, :, r * rq:(r + 1) * rq, c * rk:(c + 1) * rk].sum(axis=(2, 3))
    cand = any_kept(q_block, k_block, nqb, nkb)
    keep = np.zeros((B, H, Lq, Lk), dtype=bool)
    for bb in range(B):
        for hh in range(H):
            for r in range(nqb):
                cands = [c for c in range(nkb) if cand[bb, hh, r, c]]
                if not cands:
                    continue
                forced = set()
                if force_first:
                    forced.add(cands[0])
                if force_last:
                    forced.add(cands[-1])
                rest = sorted((c for c in cands if c not in forced), key=lambda c: (-bs[bb, hh, r, c], c))
                chosen = set(forced)
                if top_k:
                    chosen.update(rest[:max(top_k - len(forced), 0)])
                else:
                    total = sum(bs[bb, hh, r, c] for c in cands)
                    mass = sum(bs[bb, hh, r, c] for c in forced)
                    for c in rest:
                        if mass >= threshold * total:
                            break
                        chosen.add(c)
                        mass += bs[bb, hh, r, c]
                for c in chosen:
                    keep[bb, hh, r * q_block:(r + 1) * q_block, c * k_block:(c + 1) * k_block] = True
    return keep


def _axis_keep_gna(n, k, d=1, s=1, causal=False):
    """One axis of NATTEN's generalized neighborhood attention mask (GNA),
    for comparison only (the semantics document is the contract)."""
    keep = np.zeros((n, n), dtype=bool)
    left, right = k // 2, k // 2 + (k % 2 - 1)
    for qi in range(n):
        g = qi % d
        m = n // d + 1 - ((g + d - n % d) // d)
        for kj in range(n):
            if kj % d != g:
                continue
            qq, kk = qi // d, kj // d
            if causal:
                leader = min((qq // s) * s + s - 1, m - 1)
                keep[qi, kj] = kk <= qq and leader - kk < k
            else:
                leader = min((qq // s) * s + s // 2, m - 1)
                centre = min(max(leader, left), m - 1 - right)
                keep[qi, kj] = centre - left <= kk <= centre + right
    return keep


def natten_disagreements(n, k, d=1, s=1, causal=False):
    """(query, key) pairs where the semantics and NATTEN's GNA differ."""
    a, b = _axis_keep(n, k, d, s, causal), _axis_keep_gna(n, k, d, s, causal)
    return [(int(x), int(y)) for x, y in zip(*np.nonzero(a != b))]


# ---------------------------------------------------------------------------
# Attention.
# ---------------------------------------------------------------------------


def expand_heads(q, k, v):
    """Per output head h: query head h // (H/Hq), KV head h // (H/Hk)."""
    Hq, Hk = q.shape[1], k.shape[1]
    H = max(Hq, Hk)
    assert H % Hq == 0 and H % Hk == 0, (Hq, Hk)
    qh = q[:, [h // (H // Hq) for h in range(H)]]
    kh = k[:, [h // (H // Hk) for h in range(H)]]
    vh = v[:, [h // (H // Hk) for h in range(H)]]
    return qh, kh, vh, H


def link_fn(name, power=1.0):
    if name == "exp":
        return np.exp
    if name == "sigmoid":
        return sigmoid
    if name == "relu":
        return lambda s: relu(s) ** power
    if name == "softplus":
        return softplus
    if name == "identity":
        return lambda s: np.asarray(s, dtype=np.float64)
    if name == "signed_exp":
        return lambda s: np.sign(s) * np.exp(np.abs(s))
    raise ValueError("unknown link " + name)


def score_conv(s, keep, w):
    """s0 = s on the carrier else 0; s'[i,j] = sum_{a,c} w[h,a,c] s0[i-a, j-c]."""
    s0 = np.where(keep, s, 0.0)
    H, Q, K = w.shape
    out = np.zeros_like(s0)
    Lq, Lk = s0.shape[2], s0.shape[3]
    for a in range(Q):
        for c in range(K):
            if a >= Lq or c >= Lk:
                continue
            shifted = np.zeros_like(s0)
            shifted[:, :, a:, c:] = s0[:, :, :Lq - a, :Lk - c]
            out += w[None, :, a, c, None, None] * shifted
    return out


def decode_e4m3(bits):
    """float64 values of FP8 e4m3 (OCP "fn": bias 7, no infinities) bytes:
    (-1)^s 2^(e-7) (1 + m/8), subnormals 2^-6 m/8, NaN for S.1111.111."""
    b = np.asarray(bits).astype(np.int64)
    s, e, m = (b >> 7) & 1, (b >> 3) & 15, b & 7
    mag = np.where(e == 0, (m / 8.0) * 2.0 ** -6, (1.0 + m / 8.0) * 2.0 ** (e - 7.0))
    mag = np.where((b & 0x7F) == 0x7F, np.nan, mag)
    return np.where(s == 1, -mag, mag)


def attention(q, k, v, keep=None, scale=None, scores=(), conv=None, link="exp",
              power=1.0, anchor="row", null=None, iterations=0):
    """One `attention` block; returns [B, H, Lq, Dv] in float64.

    keep: None (all) or a bool array broadcastable to [B, H, Lq, Lk], or a
          function (b, h, i, j) -> bool array.
    scores: functions (s, b, h, i, j) -> s, applied in order.
    conv: w [H, Q, K] for score_conv.
    null: for anchor row(null=c): a number or an [H] array (indexed by h).
    """
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    qh, kh, vh, H = expand_heads(q, k, v)
    B, Lq, D = q.shape[0], q.shape[2], q.shape[3]
    Lk = k.shape[2]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    b, h, i, j = grids(B, H, Lq, Lk)
    s = scale * np.einsum("bhid,bhjd->bhij", qh, kh)
    for f in scores:
        s = np.broadcast_to(np.asarray(f(s, b, h, i, j), dtype=np.float64), s.shape).copy()
    if keep is None:
        kp = np.ones(s.shape, dtype=bool)
    elif callable(keep):
        kp = np.broadcast_to(keep(b, h, i, j), s.shape)
    else:
        kp = np.broadcast_to(np.asarray(keep, dtype=bool), s.shape)
    if conv is not None:
        s = score_conv(s, kp, np.asarray(conv, dtype=np.float64))
    any_kept = kp.any(axis=-1, keepdims=True)  # [B, H, Lq, 1]
    lf = link_fn(link, power)

    if anchor == "sinkhorn":
        assert link == "exp"
        m = np.max(np.where(kp, s, -np.inf), axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        W = np.where(kp, np.exp(np.where(kp, s - m, 0.0)), 0.0)
        for _ in range(iterations):
            r = W.sum(axis=-1, keepdims=True)
            W = np.where(r > 0, W / np.where(r > 0, r, 1.0), 0.0)
            c = W.sum(axis=-2, keepdims=True)
            W = np.where(c > 0, W / np.where(c > 0, c, 1.0), 0.0)
        return np.einsum("bhij,bhjd->bhid", W, vh)

    if anchor == "row" and link == "exp":
        m = np.max(np.where(kp, s, -np.inf), axis=-1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        if null is not None:
            c = _null_value(null, H)
            m = np.where(any_kept, np.maximum(m, c), c)
        w = np.where(kp, np.exp(np.where(kp, s - m, 0.0)), 0.0)
        den = w.sum(axis=-1, keepdims=True)
        if null is not None:
            den = den + np.exp(c - m)
        num = np.einsum("bhij,bhjd->bhid", w, vh)
        out = num / np.where(den > 0, den, 1.0)
        return np.where(any_kept, out, 0.0)

    w = np.where(kp, lf(np.where(kp, s, 0.0)), 0.0)
    num = np.einsum("bhij,bhjd->bhid", w, vh)
    if anchor == "none":
        return num
    if anchor == "row":
        den = w.sum(axis=-1, keepdims=True)
        if null is not None:
            den = den + lf(_null_value(null, H))
        return _row_divide(num, den, any_kept)
    if anchor == "row_abs":
        den = np.abs(w).sum(axis=-1, keepdims=True)
        return _row_divide(num, den, any_kept)
    raise ValueError("unknown anchor " + anchor)


def _row_divide(num, den, any_kept):
    """num / den per row; 0 for a row with no kept key or whose kept weights sum to 0
    (docs/semantics.md, Anchors); a NaN sum stays NaN."""
    ok = any_kept & (den != 0)
    return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def _null_value(null, H):
    if np.isscalar(null):
        return float(null)
    null = np.asarray(null, dtype=np.float64)
    assert null.shape == (H,)
    return null.reshape(1, H, 1, 1)


def attention_split_kv(q, k, v, chunk, keep=None, scale=None):
    """exp link + row anchor computed chunk by chunk over keys with the
    (max, sum, acc) merge; must equal attention(...)."""
    q = np.asarray(q, dtype=np.float64)
    qh, kh, vh, H = expand_heads(q, np.asarray(k, np.float64), np.asarray(v, np.float64))
    B, Lq, D = q.shape[0], q.shape[2], q.shape[3]
    Lk, Dv = kh.shape[2], vh.shape[3]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    kp_full = np.ones((B, H, Lq, Lk), bool) if keep is None else np.broadcast_to(keep, (B, H, Lq, Lk))
    M = np.full((B, H, Lq, 1), -np.inf)
    S = np.zeros((B, H, Lq, 1))
    A = np.zeros((B, H, Lq, Dv))
    for c0 in range(0, Lk, chunk):
        c1 = min(c0 + chunk, Lk)
        s = scale * np.einsum("bhid,bhjd->bhij", qh, kh[:, :, c0:c1])
        kp = kp_full[..., c0:c1]
        m = np.max(np.where(kp, s, -np.inf), axis=-1, keepdims=True)
        mn = np.maximum(M, m)
        safe = np.where(np.isfinite(mn), mn, 0.0)
        w = np.where(kp, np.exp(np.where(kp, s - safe, 0.0)), 0.0)
        alpha = np.where(np.isfinite(M), np.exp(M - safe), 0.0)
        S = S * alpha + w.sum(axis=-1, keepdims=True)
        A = A * alpha + np.einsum("bhij,bhjd->bhid", w, vh[:, :, c0:c1])
        M = mn
    return np.where(S > 0, A / np.where(S > 0, S, 1.0), 0.0)


# ---------------------------------------------------------------------------
# Self tests: each checks a function against an independent formulation.
# ---------------------------------------------------------------------------


def _close(a, b, tol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    err = np.max(np.abs(a - b)) if a.size else 0.0
    assert a.shape == b.shape, (a.shape, b.shape)
    assert err <= tol * (np.max(np.abs(b)) + 1.0), err
    return err


def _softmax_loops(q, k, v, keep, scale):
    """Textbook softmax with python loops (MHA only)."""
    B, H, Lq, D = q.shape
    Lk, Dv = k.shape[2], v.shape[3]
    out = np.zeros((B, H, Lq, Dv))
    for b in range(B):
        for h in range(H):
            for i in range(Lq):
                js = [j for j in range(Lk) if keep[i, j]]
                if not js:
                    continue
                sc = np.array([scale * float(np.dot(q[b, h, i], k[b, h, j])) for j in js])
                e = np.exp(sc - sc.max())
                p = e / e.sum()
                out[b, h, i] = sum(p[t] * v[b, h, js[t]] for t in range(len(js)))
    return out


def self_test():
    rng = np.random.default_rng(0)
    B, H, Lq, Lk, D, Dv = 2, 3, 7, 11, 5, 4
    q = rng.standard_normal((B, H, Lq, D))
    k = rng.standard_normal((B, H, Lk, D))
    v = rng.standard_normal((B, H, Lk, Dv))
    sc = 1 / math.sqrt(D)

    # Full attention equals the softmax formula.
    s = sc * np.einsum("bhid,bhjd->bhij", q, k)
    p = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    _close(attention(q, k, v), p @ v)
    # Causal (both alignments) equals the loop version; empty rows are 0.
    for align in ("top_left", "bottom_right"):
        for (lq, lk) in ((7, 11), (11, 7)):
            qq = rng.standard_normal((B, H, lq, D))
            kk = rng.standard_normal((B, H, lk, D))
            vv = rng.standard_normal((B, H, lk, Dv))
            keep = causal_keep(lq, lk, align)
            _close(attention(qq, kk, vv, keep=keep), _softmax_loops(qq, kk, vv, keep, sc))
    keep = causal_keep(11, 7, "bottom_right")
    assert not keep[:4].any() and keep[4:].any(axis=1).all()
    o = attention(rng.standard_normal((1, 1, 11, D)), rng.standard_normal((1, 1, 7, D)),
                  rng.standard_normal((1, 1, 7, Dv)), keep=keep)
    assert np.all(o[0, 0, :4] == 0)

    # Pooling: hand-counted groups (L = 7, size 3, stride 2: [0,3) [2,5) [4,7); size 4
    # stride 4: [0,4) [4,7), the last one short).
    x = np.arange(7.0).reshape(1, 1, 7, 1)
    _close(pool_tokens(x, 3, 2, "mean")[0, 0, :, 0], np.array([1.0, 3.0, 5.0]))
    _close(pool_tokens(x, 4, None, "max")[0, 0, :, 0], np.array([3.0, 6.0]))
    _close(pool_tokens(x, 4, None, "sum")[0, 0, :, 0], np.array([6.0, 15.0]))
    _close(pool_tokens(x, 9, 1, "mean")[0, 0, :, 0], np.array([3.0]))

    # Softmax is shift invariant: a large constant score shift changes nothing.
    _close(attention(q, k, v, scores=[lambda s, b, h, i, j: s + 500.0]), attention(q, k, v))

    # GQA: equals MHA with repeated KV heads; SQA: repeated query heads.
    kg, vg = k[:, :1], v[:, :1]
    _close(attention(q, kg, vg), attention(q, np.repeat(kg, H, 1), np.repeat(vg, H, 1)))
    q6 = rng.standard_normal((B, 6, Lq, D))
    k3, v3 = rng.standard_normal((B, 3, Lk, D)), rng.standard_normal((B, 3, Lk, Dv))
    ref = attention(q6, np.repeat(k3, 2, 1), np.repeat(v3, 2, 1))
    _close(attention(q6, k3, v3), ref)
    q2 = rng.standard_normal((B, 2, Lq, D))
    k6, v6 = rng.standard_normal((B, 6, Lk, D)), rng.standard_normal((B, 6, Lk, Dv))
    _close(attention(q2, k6, v6), attention(np.repeat(q2, 3, 1), k6, v6))

    # split_kv equals plain, with chunks that do not divide Lk and a causal keep.
    for chunk in (1, 3, 4, 64):
        _close(attention_split_kv(q, k, v, chunk), attention(q, k, v))
        keep = causal_keep(Lq, Lk, "top_left")
        _close(attention_split_kv(q, k, v, chunk, keep=keep), attention(q, k, v, keep=keep))

    # Sinkhorn: after K iterations the columns sum to 1 (the last step) and
    # the rows are close to 1 for a square, full carrier.
    L = 9
    qs = rng.standard_normal((1, 2, L, D))
    ks = rng.standard_normal((1, 2, L, D))
    eye = np.broadcast_to(np.eye(L), (1, 2, L, L))
    W = attention(qs, ks, eye, anchor="sinkhorn", iterations=50)
    _close(W.sum(axis=-2), np.ones((1, 2, L)), 1e-9)
    _close(W.sum(axis=-1), np.ones((1, 2, L)), 1e-6)
    # One iteration by hand.
    s = np.einsum("bhid,bhjd->bhij", qs, ks) / math.sqrt(D)
    w1 = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    w1 = w1 / w1.sum(-2, keepdims=True)
    _close(attention(qs, ks, eye, anchor="sinkhorn", iterations=1), w1)
    # Zero iterations: the row-shifted exp weights.
    _close(attention(qs, ks, eye, anchor="sinkhorn", iterations=0),
           np.exp(s - s.max(-1, keepdims=True)))
    # Sinkhorn with causal keep: off-carrier weights stay 0.
    Wc = attention(qs, ks, eye, keep=causal_keep(L, L), anchor="sinkhorn", iterations=3)
    assert np.all(Wc[..., ~causal_keep(L, L)] == 0)
    _close(Wc.sum(axis=-2), np.ones((1, 2, L)), 1e-12)

    # Null key: row(null=c) equals softmax over the keys plus one extra key of
    # score c and value 0.
    c = np.array([0.3, -1.0, 2.0])
    ref = np.zeros((B, H, Lq, Dv))
    for hh in range(H):
        kx = np.concatenate([k[:, hh:hh + 1], np.zeros((B, 1, 1, D))], axis=2)
        vx = np.concatenate([v[:, hh:hh + 1], np.zeros((B, 1, 1, Dv))], axis=2)
        cc = c[hh]
        ref[:, hh:hh + 1] = attention(q[:, hh:hh + 1], kx, vx,
                                      scores=[lambda s, b, h, i, j, cc=cc: np.where(j == Lk, cc, s)])
    _close(attention(q, k, v, anchor="row", null=c), ref)
    _close(attention(q, k, v, anchor="row", null=0.0),
           attention(q, k, v, anchor="row", null=np.zeros(H)))
    # Null key with sigmoid link: denominator sum + sigmoid(c).
    s = sc * np.einsum("bhid,bhjd->bhij", q, k)
    w = sigmoid(s)
    _close(attention(q, k, v, link="sigmoid", anchor="row", null=0.5),
           (w @ v) / (w.sum(-1, keepdims=True) + sigmoid(0.5)))

    # Links with anchor none / row_abs.
    _close(attention(q, k, v, link="relu", power=2, anchor="none"), (np.maximum(s, 0) ** 2) @ v)
    _close(attention(q, k, v, link="identity", anchor="row_abs"), (s @ v) / np.abs(s).sum(-1, keepdims=True))
    _close(attention(q, k, v, link="signed_exp", anchor="none"), (np.sign(s) * np.exp(np.abs(s))) @ v)
    _close(attention(q, k, v, link="softplus", anchor="row"),
           (np.log1p(np.exp(s)) @ v) / np.log1p(np.exp(s)).sum(-1, keepdims=True))
    # Linear attention by reassociation (non-causal): phi(Q)(phi(K)^T V) / phi(Q)(phi(K)^T 1).
    qf, kf = elu(q) + 1, elu(k) + 1
    num = np.einsum("bhid,bhde->bhie", qf, np.einsum("bhjd,bhje->bhde", kf, v))
    den = np.einsum("bhid,bhd->bhi", qf, kf.sum(2))[..., None]
    _close(attention(qf, kf, v, scale=1.0, link="identity", anchor="row_abs"), num / den)
    # Causal decayed linear attention by a running state (Lightning-style recurrence).
    lam = np.array([0.9, 0.7, 0.95])
    Lx = 8
    qx, kx, vx = (rng.standard_normal((1, H, Lx, D)), rng.standard_normal((1, H, Lx, D)),
                  rng.standard_normal((1, H, Lx, Dv)))
    ref = np.zeros((1, H, Lx, Dv))
    for hh in range(H):
        state = np.zeros((D, Dv))
        for t in range(Lx):
            state = lam[hh] * state + np.outer(kx[0, hh, t], vx[0, hh, t])
            ref[0, hh, t] = qx[0, hh, t] @ state
    got = attention(qx, kx, vx, keep=causal_keep(Lx, Lx), scale=1.0,
                    scores=[lambda s, b, h, i, j: s * lam[h] ** (i - j)],
                    link="identity", anchor="none")
    _close(got, ref)

    # Score convolution: with Q = K = 1 it is a per-head scale.
    wconv = rng.standard_normal((H, 1, 1))
    keep = causal_keep(Lq, Lk, "top_left")
    _close(attention(q, k, v, keep=keep, conv=wconv),
           attention(q, k, v, keep=keep, scores=[lambda s, b, h, i, j: s * wconv[h, 0, 0]]))
    # And a direct loop for Q=2, K=3.
    wconv = rng.standard_normal((H, 2, 3))
    s = sc * np.einsum("bhid,bhjd->bhij", q, k)
    s0 = np.where(keep, s, 0.0)
    sp = np.zeros_like(s0)
    for hh in range(H):
        for ii in range(Lq):
            for jj in range(Lk):
                acc = 0.0
                for a in range(2):
                    for cc in range(3):
                        if ii - a >= 0 and jj - cc >= 0:
                            acc += wconv[hh, a, cc] * s0[:, hh, ii - a, jj - cc]
                sp[:, hh, ii, jj] = acc
    _close(attention(q, k, v, keep=keep, conv=wconv),
           attention(q, k, v, keep=keep, scale=1.0, scores=[lambda s_, b, h, i, j: sp]))

    # Window: left/right/sinks/align against a loop.
    for (lq, lk, W_, R, S, al) in ((7, 11, 2, 0, 1, "bottom_right"), (11, 7, 3, -1, 0, "top_left"),
                                   (9, 9, 1, 2, 3, "top_left")):
        kw = window_keep(lq, lk, W_, R, S, al)
        for i_ in range(lq):
            ip = i_ + (lk - lq if al == "bottom_right" else 0)
            for j_ in range(lk):
                want = (ip - W_ <= j_ and (R < 0 or j_ <= ip + R)) or j_ < S
                assert kw[i_, j_] == want
    # Document ids.
    assert list(doc_ids([0, 2, 5, 6], 8)) == [0, 0, 1, 1, 1, 2, -1, -1]
    dk = document_keep([0, 2, 5], 6, 6)
    assert dk[0, 1] and not dk[1, 2] and dk[3, 4] and not dk[5, 5]

    # Neighborhood, 1D known windows (NATTEN): n = 8, k = 3.
    ak = _axis_keep(8, 3)
    assert [list(np.nonzero(ak[t])[0]) for t in (0, 3, 7)] == [[0, 1, 2], [2, 3, 4], [5, 6, 7]]
    # Even window k = 4: start = clamp(i - 2, 0, n - 4).
    ak = _axis_keep(8, 4)
    assert list(np.nonzero(ak[3])[0]) == [1, 2, 3, 4]
    # Dilation 2 on n = 9: groups {0,2,4,6,8}, {1,3,5,7}; k = 3.
    ak = _axis_keep(9, 3, d=2)
    assert list(np.nonzero(ak[0])[0]) == [0, 2, 4]
    assert list(np.nonzero(ak[4])[0]) == [2, 4, 6]
    assert list(np.nonzero(ak[7])[0]) == [3, 5, 7]
    # Window larger than the group: everything in the group.
    assert list(np.nonzero(_axis_keep(9, 5, d=2)[1])[0]) == [1, 3, 5, 7]
    # Causal: keys in (q - k, q].
    ak = _axis_keep(6, 3, causal=True)
    assert [list(np.nonzero(ak[t])[0]) for t in (0, 1, 4)] == [[0], [0, 1], [2, 3, 4]]
    # Blocked (stride = window, odd): n = 9, k = s = 3 -> three blocks.
    ak = _axis_keep(9, 3, s=3)
    assert all(list(np.nonzero(ak[t])[0]) == [3 * (t // 3) + r for r in range(3)] for t in range(9))
    # n = 10: the last stride group {9} shares the clamped window {7, 8, 9}.
    assert list(np.nonzero(_axis_keep(10, 3, s=3)[9])[0]) == [7, 8, 9]
    # Strided: every query of a stride group has the same keys.
    ak = _axis_keep(10, 5, s=3)
    for t in range(10):
        assert (ak[t] == ak[min((t // 3) * 3 + 1, 9)]).all()
    # Brute force: the window is the length-k run of the dilation group that
    # sits closest to being centred on the leader.
    for n in (1, 5, 8, 13):
        for kw in (1, 2, 3, 4, 7):
            for d in (1, 2, 3):
                for st in (1, 2, 3):
                    for causal in (False, True):
                        ak = _axis_keep(n, kw, d, st, causal)
                        for qi in range(n):
                            group = [t for t in range(n) if t % d == qi % d]
                            m = len(group)
                            qq = group.index(qi)
                            if causal:
                                leader = min((qq // st) * st + st - 1, m - 1)
                                want = set(group[max(0, leader - kw + 1):qq + 1])
                            else:
                                leader = min((qq // st) * st + st // 2, m - 1)
                                runs = [group[a:a + kw] for a in range(max(m - kw, 0) + 1)]
                                best = min(range(len(runs)), key=lambda a: abs(a - (leader - kw // 2)))
                                want = set(runs[best])
                            got = set(int(x) for x in np.nonzero(ak[qi])[0])
                            assert got == want, (n, kw, d, st, causal, qi, got, want)
    # Against NATTEN's GNA mask (natten/backends/flex.py, written out here
    # independently): identical for odd strides (non-causal) and for stride 1
    # (causal); both take the right of an even stride group's two centre
    # queries (s // 2) as its leader. Causal strides > 1 may differ (NATTEN
    # also requires kk <= qq); see natten_disagreements().
    for n in (1, 5, 8, 13):
        for kw in (1, 2, 3, 4, 7):
            for d in (1, 2, 3):
                for st in (1, 3, 5):
                    assert (_axis_keep(n, kw, d, st) == _axis_keep_gna(n, kw, d, st)).all()
                assert (_axis_keep(n, kw, d, 1, True) == _axis_keep_gna(n, kw, d, 1, True)).all()
    # 2D = AND of the axes over row-major coordinates.
    nk = neighborhood_keep([3, 4], [3, 3])
    for qt in range(12):
        for kt in range(12):
            want = (_axis_keep(3, 3)[qt // 4, kt // 4] and _axis_keep(4, 3)[qt % 4, kt % 4])
            assert nk[qt, kt] == want
    # Block list.
    off = np.array([[[0, 1, 3]]])
    idx = np.array([[[1, 0, 2, 9]]])
    bk = block_list_keep(off, idx, 5, 7, q_block=3, k_block=2)
    assert list(np.nonzero(bk[0, 0, 0])[0]) == [2, 3]
    assert list(np.nonzero(bk[0, 0, 4])[0]) == [0, 1, 4, 5]
    # RoPE: preserves norms of each pair; position 0 is the identity;
    # scores depend only on relative position.
    x = rng.standard_normal((1, 1, 6, 8))
    y = rope(x)
    _close(y[..., 0, :], x[..., 0, :])
    _close(np.linalg.norm(y, axis=-1), np.linalg.norm(x, axis=-1))
    a_ = rng.standard_normal(8)
    b_ = rng.standard_normal(8)
    qa = rope(np.broadcast_to(a_, (1, 1, 6, 8)))
    kb = rope(np.broadcast_to(b_, (1, 1, 6, 8)))
    _close(qa[0, 0, 4] @ kb[0, 0, 2], qa[0, 0, 3] @ kb[0, 0, 1])
    # Norms.
    _close(np.sum(l2norm(x, eps=0.0) ** 2, -1), np.ones((1, 1, 6)))
    _close(np.mean(rmsnorm(x, eps=0.0) ** 2, -1), np.ones((1, 1, 6)))
    # Helpers.
    _close(sigmoid(np.array([-800.0, 0.0, 800.0])), np.array([0.0, 0.5, 1.0]))
    _close(softcap(np.array([1e9, 0.0]), 3.0), np.array([3.0, 0.0]))
    print("reference self tests: OK")


if __name__ == "__main__":
    self_test()
