"""GPU programs with generic steps (issue 6): RoPE + causal, QK-norm + causal,
differential attention, linear attention, NSA's pooled branch and cross-covariance attention, through the Python API,
next to PyTorch on the same inputs in the same process (eager torch for the
lets and combines, SDPA and FlexAttention for the attentions; the linear-time
chunked and reassociated forms for linear attention). Each attnc result is checked against
the PyTorch one first. Prints a table of medians and ratios (above 1: attnc
is faster).
    PYTHONPATH=<attnc package> python3 bench/programs.py
"""
import os

import torch
import torch.nn.functional as F

import attnc
from timing import time_ms


def time_ms_p(fn, n=20):
    return time_ms(fn, warmup=5, n=n)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
try:
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    flex = torch.compile(flex_attention)
except Exception:  # pragma: no cover - older torch
    flex = None


def rope(x, theta=10000.0):
    """NeoX pairs (d, d + D/2), angle i * theta^(-2d/D) (docs/semantics.md)."""
    L, D = x.shape[-2], x.shape[-1]
    h = D // 2
    inv = theta ** (-2.0 * torch.arange(h, device=x.device, dtype=torch.float32) / D)
    a = torch.arange(L, device=x.device, dtype=torch.float32)[:, None] * inv[None, :]
    c, s = torch.cos(a), torch.sin(a)
    xf = x.float()
    x1, x2 = xf[..., :h], xf[..., h:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], -1).to(x.dtype)


def rms(x, eps):
    xf = x.float()
    return (xf / torch.sqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def causal_flex(q, k, v):
    L = q.shape[-2]
    bm = create_block_mask(lambda b, h, qi, kv: kv <= qi, None, None, L, L, device="cuda")
    return lambda qq, kk, vv: flex(qq, kk, vv, block_mask=bm)


def lightning_chunked(q, k, v, decay, C=64):
    """o_i = sum_{j <= i} decay[h]^(i - j) (q_i . k_j / sqrt(D)) v_j in Lightning Attention-2's
    chunked form, vectorised over chunks: intra-chunk masked QK^T V with the decay, plus the
    states K^T V of earlier chunks carried with decay^C (i - j = (t + 1) + (C - 1 - u) + C (n - 1 - m)
    for query t of chunk n and key u of chunk m < n)."""
    B, H, L, D = q.shape
    N, sc = L // C, D ** -0.5
    qf, kf, vf = (x.float().view(B, H, N, C, -1) for x in (q, k, v))
    lam = decay.float().view(1, H, 1, 1, 1)
    t = torch.arange(C, device=q.device, dtype=torch.float32)
    dist = t[:, None] - t[None, :]
    w = torch.where(dist >= 0, lam ** dist.clamp(min=0), torch.zeros((), device=q.device))
    o = ((qf @ kf.transpose(-1, -2)) * sc * w) @ vf
    kv = (kf * lam ** (C - 1 - t).view(1, 1, 1, C, 1)).transpose(-1, -2) @ vf  # [B, H, N, D, Dv]
    c = torch.arange(N, device=q.device, dtype=torch.float32)
    cd = c[:, None] - c[None, :] - 1
    m = torch.where(cd >= 0, decay.float().view(H, 1, 1) ** (C * cd.clamp(min=0)), torch.zeros((), device=q.device))
    st = torch.einsum("hnm,bhmde->bhnde", m, kv)  # the state before chunk n
    o = o + ((qf * lam ** (t + 1).view(1, 1, 1, C, 1)) @ st) * sc
    return o.reshape(B, H, L, -1).to(q.dtype)


def linear_reassociated(q, k, v):
    """examples/09_linear.attn as phi(Q) (phi(K)^T V) / phi(Q) (phi(K)^T 1), phi = elu + 1 (the
    weights are positive, so row_abs's sum |w| is the plain sum)."""
    qf, kf = F.elu(q.float()) + 1, F.elu(k.float()) + 1
    num = qf @ (kf.transpose(-1, -2) @ v.float())
    den = qf @ kf.sum(-2, keepdim=True).transpose(-1, -2)
    return (num / den).to(q.dtype)


def linear_causal_chunked(q, k, v, C=64):
    """The linear half of examples/10_linear_swa_hybrid.attn (elu + 1 features, scale 1, causal,
    row_abs: the weights are positive, so sum |w| is the plain sum) in the chunked form: intra-chunk
    masked products plus the states of earlier chunks (exclusive prefix sums of K^T V and K)."""
    B, H, L, D = q.shape
    N = L // C
    qf = (F.elu(q.float()) + 1).view(B, H, N, C, D)
    kf = (F.elu(k.float()) + 1).view(B, H, N, C, D)
    vf = v.float().view(B, H, N, C, -1)
    w = (qf @ kf.transpose(-1, -2)).tril()
    kv, ks = kf.transpose(-1, -2) @ vf, kf.sum(-2)
    kv, ks = kv.cumsum(2) - kv, ks.cumsum(2) - ks
    num = w @ vf + qf @ kv
    den = (w.sum(-1) + (qf * ks.unsqueeze(-2)).sum(-1)).unsqueeze(-1)
    return torch.where(den == 0, torch.zeros_like(num), num / den).reshape(B, H, L, -1)


def window_flex(L, left):
    bm = create_block_mask(lambda b, h, qi, kv: (kv <= qi) & (qi - kv <= left), None, None, L, L, device="cuda")
    return lambda qq, kk, vv: flex(qq, kk, vv, block_mask=bm)


def rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def main():
    torch.manual_seed(0)
    B, H, L, D = 2, 16, 4096, 128
    r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    rows = []
    sdpa_causal = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True)
    fl = causal_flex(q, k, v) if flex else None

    # RoPE + causal
    f = attnc.compile(os.path.join(EX, "05_rope.attn"), target="cuda", B=B, H=H, L=L, D=D)
    ref = lambda: sdpa_causal(rope(q), rope(k), v)
    err = rel_err(f(q, k, v), ref())
    rows.append(("RoPE + causal", time_ms_p(lambda: f(q, k, v)), time_ms_p(ref),
                 time_ms_p(lambda: fl(rope(q), rope(k), v)) if fl else float("nan"), err))

    # QK-norm (rmsnorm) + full attention
    f = attnc.compile(os.path.join(EX, "05_qk_norm.attn"), target="cuda", B=B, H=H, Lq=L, Lk=L, D=D)
    ref = lambda: F.scaled_dot_product_attention(rms(q, 1e-5), rms(k, 1e-5), v)
    err = rel_err(f(q, k, v), ref())
    rows.append(("QK-norm + full", time_ms_p(lambda: f(q, k, v)), time_ms_p(ref),
                 time_ms_p(lambda: flex(rms(q, 1e-5), rms(k, 1e-5), v)) if flex else float("nan"), err))

    # Differential: a1 - lam[h] * a2
    q2, k2 = r(B, H, L, D), r(B, H, L, D)
    lam = torch.rand(H, device="cuda")
    f = attnc.compile(os.path.join(EX, "16_differential.attn"), target="cuda", B=B, H=H, L=L, D=D, Dv=D)
    ref = lambda: (sdpa_causal(q, k, v).float() - lam[None, :, None, None] * sdpa_causal(q2, k2, v).float()).to(
        torch.bfloat16)
    err = rel_err(f(q, k, q2, k2, v, lam), ref())
    fdiff = (lambda: (fl(q, k, v).float() - lam[None, :, None, None] * fl(q2, k2, v).float()).to(torch.bfloat16))
    rows.append(("differential (causal)", time_ms_p(lambda: f(q, k, q2, k2, v, lam)), time_ms_p(ref),
                 time_ms_p(fdiff) if fl else float("nan"), err))

    # Linear attention next to PyTorch's linear-time forms: the causal one in chunks
    # (attn-chunk-causal-linear: a band of C keys, chunk states and their decayed prefix) vs
    # Lightning-2's chunked scan; the non-causal one reassociated by attn-reassociate-linear (two
    # kernels through a [D, Dv] state) vs phi(Q) (phi(K)^T V).
    for Bl, Hl, Ll, Dl in [(2, 16, 4096, 128), (1, 16, 16384, 128)]:
        ql, kl, vl = r(Bl, Hl, Ll, Dl), r(Bl, Hl, Ll, Dl), r(Bl, Hl, Ll, Dl)
        decay = 0.9 + 0.1 * torch.rand(Hl, device="cuda")
        f = attnc.compile(os.path.join(EX, "10_lightning_causal_linear.attn"), target="cuda",
                          B=Bl, H=Hl, L=Ll, D=Dl)
        ref = lambda: lightning_chunked(ql, kl, vl, decay)
        err = rel_err(f(ql, kl, vl, decay), ref())
        rows.append((f"causal linear + decay, B{Bl} H{Hl} L{Ll} (vs chunked)", time_ms_p(lambda: f(ql, kl, vl, decay)),
                     time_ms_p(ref), float("nan"), err))
        if flex:
            # The hybrid: causal linear attention plus an 8-key sliding-window softmax, summed.
            f = attnc.compile(os.path.join(EX, "10_linear_swa_hybrid.attn"), target="cuda", B=Bl, H=Hl, L=Ll, D=Dl)
            win = window_flex(Ll, 8)
            ref = lambda: (linear_causal_chunked(ql, kl, vl) + win(ql, kl, vl).float()).to(torch.bfloat16)
            err = rel_err(f(ql, kl, vl), ref())
            rows.append((f"linear + SWA-8 hybrid, B{Bl} H{Hl} L{Ll} (vs chunked + Flex)",
                         time_ms_p(lambda: f(ql, kl, vl)), time_ms_p(ref), float("nan"), err))
        f = attnc.compile(os.path.join(EX, "09_linear.attn"), target="cuda", B=Bl, H=Hl, Lq=Ll, Lk=Ll, D=Dl, Dv=Dl)
        ref = lambda: linear_reassociated(ql, kl, vl)
        err = rel_err(f(ql, kl, vl), ref())
        rows.append((f"linear (elu+1, row_abs), B{Bl} H{Hl} L{Ll} (vs reassociated)", time_ms_p(lambda: f(ql, kl, vl)),
                     time_ms_p(ref), float("nan"), err))

    # FP8 e4m3 q/k/v with per-128-token q/k scales and a per-head v scale (examples/19): attnc
    # widens the bytes in generic steps before its bf16 kernel; PyTorch dequantizes, then SDPA.
    f8 = torch.float8_e4m3fn
    q8, k8, v8 = ((4 * r(B, H, L, D)).to(f8) for _ in range(3))
    NB = L // 128
    qs, ks = 0.25 * torch.rand(B, H, NB, device="cuda") + 0.1, 0.25 * torch.rand(B, H, NB, device="cuda") + 0.1
    vs = 0.25 * torch.rand(B, H, device="cuda") + 0.1
    f = attnc.compile(os.path.join(EX, "19_fp8_block_scales.attn"), target="cuda", B=B, H=H, L=L, D=D, NB=NB)
    blk = torch.arange(L, device="cuda") // 128

    def fp8_ref():
        qd = (q8.float() * qs[:, :, blk, None]).to(torch.bfloat16)
        kd = (k8.float() * ks[:, :, blk, None]).to(torch.bfloat16)
        return (sdpa_causal(qd, kd, v8.to(torch.bfloat16)).float() * vs[:, :, None, None]).to(torch.bfloat16)
    err = rel_err(f(q8, k8, v8, qs, ks, vs), fp8_ref())
    rows.append(("FP8 e4m3 + block scales, causal (vs dequantize + SDPA)", time_ms_p(lambda: f(q8, k8, v8, qs, ks, vs)),
                 time_ms_p(fp8_ref), float("nan"), err))

    # NSA's compressed + sliding branches (examples/20_nsa_compressed.attn): mean pools of 32 keys
    # and values every 16 (pool lets, generic steps), attended where the whole block is past, gated
    # per head with a 64-key window. PyTorch pools with unfold (L - 32 a multiple of 16: every group
    # full, as attnc's count); rows with no whole past block are 0 on both sides.
    g = torch.randn(H, device="cuda")
    f = attnc.compile(os.path.join(EX, "20_nsa_compressed.attn"), target="cuda", B=B, H=H, L=L, D=D)
    N = (L - 32) // 16 + 1
    ii, jl = torch.arange(L, device="cuda")[:, None], torch.arange(L, device="cuda")[None, :]
    cmask = torch.arange(N, device="cuda")[None, :] * 16 + 31 <= ii
    wmask = (jl <= ii) & (ii - jl <= 63)
    gate = torch.sigmoid(g)[None, :, None, None]
    pool32 = lambda x: x.float().unfold(2, 32, 16).mean(-1).to(x.dtype)
    mix = lambda c, w: (gate * c.float() + (1 - gate) * w.float()).to(torch.bfloat16)

    def nsa_ref():
        kc, vc = pool32(k), pool32(v)
        cmp = F.scaled_dot_product_attention(q, kc, vc, attn_mask=cmask).nan_to_num(0.0)
        return mix(cmp, F.scaled_dot_product_attention(q, k, v, attn_mask=wmask))
    err = rel_err(f(q, k, v, g), nsa_ref())
    nsa_flex = None
    if flex:
        cbm = create_block_mask(lambda b, h, qi, kv: kv * 16 + 31 <= qi, None, None, L, N, device="cuda")
        win63 = window_flex(L, 63)
        nsa_flex = lambda: mix(flex(q, pool32(k), pool32(v), block_mask=cbm), win63(q, k, v))
    rows.append(("NSA compressed (pool 32/16) + window 64, gated", time_ms_p(lambda: f(q, k, v, g)),
                 time_ms_p(nsa_ref), time_ms_p(nsa_flex) if nsa_flex else float("nan"), err))

    # Cross-covariance attention (examples/20_xca.attn) at an XCiT-S-like shape (28 x 28 tokens,
    # 8 heads of 48 channels) vs eager PyTorch as XCiT writes it.
    Bx, Hx, Lx, Dx = 64, 8, 784, 48
    qx, kx, vx = r(Bx, Hx, Lx, Dx), r(Bx, Hx, Lx, Dx), r(Bx, Hx, Lx, Dx)
    temp = 0.5 + torch.rand(Hx, device="cuda")
    f = attnc.compile(os.path.join(EX, "20_xca.attn"), target="cuda", B=Bx, H=Hx, L=Lx, D=Dx)

    def xca_ref():
        qn, kn = F.normalize(qx.float(), dim=-2), F.normalize(kx.float(), dim=-2)
        a = ((qn.transpose(-2, -1) @ kn) * temp[None, :, None, None]).softmax(-1)
        return (vx.float() @ a.transpose(-2, -1)).to(torch.bfloat16)
    err = rel_err(f(qx, kx, vx, temp), xca_ref())
    rows.append((f"XCA B{Bx} H{Hx} L{Lx} D{Dx} (vs eager)", time_ms_p(lambda: f(qx, kx, vx, temp)),
                 time_ms_p(xca_ref), float("nan"), err))

    print("| program | attnc ms | PyTorch eager + SDPA ms | + Flex ms | attnc vs SDPA | attnc vs Flex | rel err |")
    print("|---|---|---|---|---|---|---|")
    for name, a, s, fx, e in rows:
        print(f"| {name} | {a:.3f} | {s:.3f} | {fx:.3f} | {s / a:.2f} | {fx / a:.2f} | {e:.1e} |")


if __name__ == "__main__":
    main()
