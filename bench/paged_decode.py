"""Decode over a paged KV cache (issue 13 items 2, 3 and 6), generated from
examples/11_paged_decode.attn, next to the same decode over a contiguous cache
(attnc, bench/decode_gqa.attn), PyTorch SDPA (cuDNN, flash) and FlexAttention on
the contiguous copy of the same cache, in one process on the same inputs.

First the checks: for each page size and layout, sequences of random lengths (one
empty, one full) whose pages are scattered over the pool and whose unused table
entries are -1, against a float32 reference on the gathered cache (causal at each
sequence's end); then the chunked-prefill example (hnd pages, sliding window).
Then the timing at GQA 32/8, D128, B8, 32768 cached keys per sequence: TB/s of the
bytes of q, k, v and o moved once, and ratios (above 1: attnc is faster).
    PYTHONPATH=<attnc package> python3 bench/paged_decode.py
"""
import math
import os
import re

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

import attnc
from timing import time_ms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")


def spec(path, subs=()):
    text = open(path).read()
    for a, b in subs:
        text, n = re.subn(a, b, text)
        assert n, a
    return text


def paged_cache(B, Hk, L, D, page, lens, layout, spare=5):
    """Pools, page table and the contiguous [B, Hk, MP*page, D] k and v they hold."""
    MP = -(-L // page)
    P = B * MP + spare
    perm = torch.randperm(P, device="cuda")[:B * MP].view(B, MP).to(torch.int32)
    table = perm.clone()
    for b in range(B):  # entries past a sequence's pages are never read
        table[b, -(-int(lens[b]) // page):] = -1
    shape = (P, page, Hk, D) if layout == "nhd" else (P, Hk, page, D)
    kp = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    vp = torch.randn(shape, device="cuda", dtype=torch.bfloat16)

    def gather(pool):
        nhd = pool if layout == "nhd" else pool.transpose(1, 2)
        return nhd[perm.long()].reshape(B, MP * page, Hk, D).transpose(1, 2).contiguous()
    return kp, vp, table, gather(kp), gather(vp)


def reference(q, k, v, lens, window=None):
    """float32 attention, causal at each sequence's end (and a window), 0 for empty rows."""
    B, H, Lq, D = q.shape
    Hk, Lk = k.shape[1], k.shape[2]
    k = k.float().repeat_interleave(H // Hk, 1)
    v = v.float().repeat_interleave(H // Hk, 1)
    i = torch.arange(Lq, device="cuda")[:, None]
    j = torch.arange(Lk, device="cuda")[None, :]
    out = torch.zeros(B, H, Lq, D, device="cuda")
    for b in range(B):
        n = int(lens[b])
        pos = i + n - Lq
        keep = (j < n) & (j <= pos)
        if window is not None:
            keep &= j >= pos - window
        s = (q[b].float() @ k[b].transpose(-1, -2)) / math.sqrt(D)
        s = s.masked_fill(~keep, float("-inf"))
        w = torch.softmax(s, -1).nan_to_num(0.0)
        out[b] = w @ v[b]
    return out


def rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm().clamp(min=1e-30)).item()


def checks():
    rows = []
    for page, layout, decode in [(16, "nhd", True), (64, "nhd", True), (128, "hnd", True), (32, "nhd", False)]:
        B, H, Hk, Lq, D, L = 5, 8, 2, 4, 128, 1000
        lens = torch.tensor([1000, 0, 517, 64, 3], dtype=torch.int32)
        kp, vp, table, k, v = paged_cache(B, Hk, L, D, page, lens, layout)
        q = torch.randn(B, H, Lq, D, device="cuda", dtype=torch.bfloat16)
        subs = [(r"\[P, 16, Hk, D\]", f"[P, Hk, {page}, D]" if layout == "hnd" else f"[P, {page}, Hk, D]")]
        text = spec(os.path.join(EX, "11_paged_decode.attn"), subs)
        text = text.replace("table=page_table)", f"table=page_table, layout={layout})")
        if decode:
            text = text.replace("anchor row", "anchor row\n  schedule split_kv(64)")
        fn = attnc.compile(text, target="cuda", B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=kp.shape[0], MP=table.shape[1])
        got = fn(q, kp, vp, table, lens.cuda())
        err = rel_err(got, reference(q, k, v, lens))
        rows.append((f"11_paged_decode page {page} {layout} {'decode' if decode else 'prefill'} kernel", err))
    # Chunked prefill over hnd pages with a window.
    B, H, Hk, Lq, D, L = 3, 4, 2, 200, 128, 900
    lens = torch.tensor([900, 200, 450], dtype=torch.int32)
    kp, vp, table, k, v = paged_cache(B, Hk, L, D, 64, lens, "hnd")
    q = torch.randn(B, H, Lq, D, device="cuda", dtype=torch.bfloat16)
    fn = attnc.compile(os.path.join(EX, "11_paged_prefill_hnd.attn"), target="cuda", B=B, H=H, Hk=Hk,
                       Lq=Lq, D=D, P=kp.shape[0], MP=table.shape[1])
    rows.append(("11_paged_prefill_hnd (window 256)",
                 rel_err(fn(q, kp, vp, table, lens.cuda()), reference(q, k, v, lens, window=256))))
    # A bad table is an error naming it (the checked mode, on by default).
    bad = table.clone()
    bad[0, 0] = kp.shape[0]
    try:
        fn(q, kp, vp, bad, lens.cuda())
        rows.append(("bad page table refused", float("nan")))
    except attnc.Error as e:
        rows.append(("bad page table refused: " + str(e)[:90], 0.0))
    print("| check | rel err vs float32 reference |\n|---|---|")
    for name, err in rows:
        print(f"| {name} | {err:.1e} |")
    return all(e < 2e-2 for _, e in rows)


def bench():
    os.environ["ATTNC_CHECK_TABLES"] = "0"  # timed as a hot loop runs (no per-call host copy)
    from torch.nn.attention.flex_attention import flex_attention
    flex = torch.compile(flex_attention)
    B, H, Hk, D, L = 8, 32, 8, 128, 32768
    lens = torch.full((B,), L, dtype=torch.int32)
    print(f"\nB{B} H{H}/{Hk} D{D}, {L} cached keys, bf16; TB/s of q, k, v and o moved once")
    print("| Lq | cache | attnc ms | attnc TB/s | contiguous attnc | cuDNN | flash | Flex | "
          "vs cuDNN | vs best anchor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for Lq in (1, 4, 16):
        q = torch.randn(B, H, Lq, D, device="cuda", dtype=torch.bfloat16)
        nbytes = 2 * (2 * B * H * Lq * D + 2 * B * Hk * L * D)
        contig = attnc.compile(spec(os.path.join(ROOT, "bench/decode_gqa.attn"),
                                    [(r"anchor row", "anchor row\n  schedule split_kv(64)")]),
                               target="cuda", B=B, H=H, Hk=Hk, Lq=Lq, Lk=L, D=D)
        for page, layout in ((16, "nhd"), (64, "nhd"), (16, "hnd")):
            kp, vp, table, k, v = paged_cache(B, Hk, L, D, page, lens, layout, spare=0)
            pool = f"[P, {page}, Hk, D]" if layout == "nhd" else f"[P, Hk, {page}, D]"
            text = spec(os.path.join(EX, "11_paged_decode.attn"), [(r"\[P, 16, Hk, D\]", pool),
                                                                    (r"anchor row", "anchor row\n  schedule split_kv(64)")])
            text = text.replace("table=page_table)", f"table=page_table, layout={layout})")
            fn = attnc.compile(text, target="cuda", B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=kp.shape[0], MP=table.shape[1])
            lc = lens.cuda()
            want = reference(q[:1], k[:1], v[:1], lens[:1])
            assert rel_err(fn(q, kp, vp, table, lc)[:1], want) < 2e-2
            t = time_ms(lambda: fn(q, kp, vp, table, lc), n=20)
            tc = time_ms(lambda: contig(q, k, v), n=20)
            # Anchors on the contiguous copy; no mask (Lq <= 16 queries see all but the last
            # Lq - 1 keys of the last rows: the same bytes).
            anchors = {}
            for name, be in (("cuDNN", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION)):
                try:
                    with sdpa_kernel(be):
                        f = lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                        f()
                        anchors[name] = time_ms(f, n=20)
                except RuntimeError:
                    anchors[name] = float("nan")
            anchors["Flex"] = time_ms(lambda: flex(q, k, v, enable_gqa=True), n=20)
            best = min(x for x in anchors.values() if x == x)
            tbs = lambda ms: nbytes / ms / 1e9
            print(f"| {Lq} | paged {page} {layout} | {t:.3f} | {tbs(t):.2f} | {tbs(tc):.2f} | {tbs(anchors['cuDNN']):.2f} "
                  f"| {tbs(anchors['flash']):.2f} | {tbs(anchors['Flex']):.2f} | {anchors['cuDNN'] / t:.2f} "
                  f"| {best / t:.2f} |")


if __name__ == "__main__":
    torch.manual_seed(0)
    ok = checks()
    bench()
    raise SystemExit(0 if ok else 1)
