"""Data-dependent block-sparse attention (issue 13 item 4): the estimation stage that
attnc generates from a `block_select` carrier, and the attention over the chosen blocks,
next to FlexAttention with the same block mask, on the same inputs in one process.

For each density (top_k over the causal candidates): the MoBA-style selection (mean-pooled
q and k per 128-token block, top_k blocks per query block, first and diagonal forced) is
recomputed in torch from docs/semantics.md; from it
  - Flex: a BlockMask (128 x 128) of the selection AND causal;
  - attnc list: 12_block_list with q_block = k_block = 128 and causal, on the same CSR;
  - attnc select: the whole block_select program (estimation + attention).
Both attnc outputs are checked against Flex first (the program's estimate must pick the
same blocks). Then a given list of 64 x 64 blocks (smaller than attnc's tiles) at 25% and
10% density, next to Flex reading the same block table. Prints medians and ratios; above 1: attnc is faster.
    PYTHONPATH=<attnc package> python3 bench/block_sparse.py
"""
import os
import re

import torch

import attnc
from timing import time_ms

# Timed as a hot loop would run: without the per-call host check of the index tables
# (attnc_program_set_table_checks; it waits for the stream and copies the tables).
os.environ["ATTNC_CHECK_TABLES"] = "0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
from torch.nn.attention.flex_attention import BlockMask, flex_attention  # noqa: E402

flex = torch.compile(flex_attention)
BLK = 128


def select_topk(q, k, top_k):
    """[B, H, NQB, NKB] bool: the block_select(top_k, force=both) of docs/semantics.md
    under a causal carrier (self-attention, L a multiple of 128)."""
    B, H, L, D = q.shape
    n = L // BLK
    qp = q.float().view(B, H, n, BLK, D).mean(3)
    kp = k.float().view(B, H, n, BLK, D).mean(3)
    s = (qp @ kp.transpose(-1, -2)) / D ** 0.5
    r = torch.arange(n, device=q.device)
    cand = r[None, :] <= r[:, None]
    s = s.masked_fill(~cand, float("-inf"))
    forced = (r[None, :] == 0) | (r[None, :] == r[:, None])
    # Non-forced candidates by score (ties to the lower block), top_k - forced of them.
    rank_key = s.masked_fill(forced, float("-inf"))
    order = torch.argsort(-rank_key, dim=-1, stable=True)
    nforced = forced.sum(-1)  # 1 on row 0, else 2
    take = (top_k - nforced).clamp(min=0)
    pos = torch.empty_like(order)
    pos.scatter_(-1, order, torch.arange(n, device=q.device).expand_as(order).contiguous())
    chosen = (pos < take[None, None, :, None]) & cand
    return (chosen | forced) & cand


def csr(sel):
    B, H, n, _ = sel.shape
    counts = sel.sum(-1)
    off = torch.zeros(B, H, n + 1, dtype=torch.int32, device=sel.device)
    off[..., 1:] = counts.cumsum(-1).to(torch.int32)
    idx = torch.nonzero(sel.reshape(-1, n))[:, 1].to(torch.int32).reshape(B, H, -1)
    return off, idx


def csr_padded(sel):
    """csr() for rows of different lengths per (b, h): indices padded to the longest."""
    B, H, n, _ = sel.shape
    off = torch.zeros(B, H, n + 1, dtype=torch.int32, device=sel.device)
    off[..., 1:] = sel.sum(-1).cumsum(-1).to(torch.int32)
    nnz = int(off[..., -1].max())
    idx = torch.zeros(B, H, nnz, dtype=torch.int32, device=sel.device)
    for b in range(B):
        for h in range(H):
            cols = torch.nonzero(sel[b, h])[:, 1].to(torch.int32)
            idx[b, h, :cols.numel()] = cols
    return off, idx


def counted(sel):
    """FlexAttention's (kv_num_blocks, kv_indices): per row, the chosen blocks first, ascending."""
    n = sel.shape[-1]
    key = (~sel).to(torch.int32) * n + torch.arange(n, device=sel.device, dtype=torch.int32)
    return sel.sum(-1).to(torch.int32), torch.argsort(key, dim=-1).to(torch.int32)


def rel_err(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def spec_with(path, subs):
    text = open(path).read()
    for a, b in subs:
        text, n = re.subn(a, b, text)
        assert n, a
    return text


def main():
    torch.manual_seed(0)
    B, H, L, D = 2, 16, 16384, 128
    r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    # Keys in runs of 128 carry a random multiple of a shared direction (as the
    # numerics' peaked inputs): block scores differ, so selections are not ties.
    u = torch.randn(D, device="cuda")
    u /= u.norm()
    a = torch.randn(B, H, L // BLK, 1, device="cuda").repeat_interleave(BLK, dim=2)
    k = (k.float() + 2 * a * u).to(torch.bfloat16)
    q = (q.float() + 4 * u).to(torch.bfloat16)
    n = L // BLK
    causal_blocks = n * (n + 1) // 2
    rows = []
    for top_k in (16, 6):
        sel = select_topk(q, k, top_k)
        density = sel[0, 0].sum().item() / causal_blocks
        # Flex's best form of the same mask: off-diagonal chosen blocks as full blocks (no
        # mask_mod), the diagonal ones partial with the causal mask_mod.
        r_ = torch.arange(n, device="cuda")
        diag = r_[:, None] == r_[None, :]
        part_n, part_i = counted(sel & diag)
        full_n, full_i = counted(sel & ~diag)
        bm = BlockMask.from_kv_blocks(part_n, part_i, full_n, full_i, BLOCK_SIZE=BLK,
                                      mask_mod=lambda b, h, qi, kv: kv <= qi)
        fl = lambda: flex(q, k, v, block_mask=bm)
        want = fl()
        off, idx = csr(sel)
        lst = attnc.compile(spec_with(os.path.join(EX, "12_block_list.attn"),
                                      [(r"q_block=16, k_block=32", "q_block=128, k_block=128"),
                                       (r"carrier block_list", "carrier causal\n  carrier block_list")]),
                            target="cuda", B=B, H=H, Lq=L, Lk=L, D=D, NQB1=n + 1, NNZ=idx.shape[-1])
        prog = attnc.compile(spec_with(os.path.join(EX, "13_moba_topk.attn"), [(r"top_k=3", f"top_k={top_k}")]),
                             target="cuda", B=B, H=H, Hk=H, L=L, D=D)
        e_list = rel_err(lst(q, k, v, off, idx), want)
        e_prog = rel_err(prog(q, k, v), want)
        t_flex = time_ms(fl)
        t_list = time_ms(lambda: lst(q, k, v, off, idx))
        t_prog = time_ms(lambda: prog(q, k, v))
        rows.append((f"top_k={top_k} (density {density:.2f} of causal)", t_flex, t_list, t_prog, e_list, e_prog))
    print(f"B{B} H{H} L{L} D{D}, bf16, causal, 128 x 128 blocks")
    print("| case | Flex ms | attnc list ms | attnc select (est.+attn) ms | list vs Flex | select vs Flex "
          "| estimation share | rel err list / select |")
    print("|---|---|---|---|---|---|---|---|")
    for name, f, l, p, el, ep in rows:
        print(f"| {name} | {f:.3f} | {l:.3f} | {p:.3f} | {f / l:.2f} | {f / p:.2f} | {(p - l) / p:.2f} "
              f"| {el:.1e} / {ep:.1e} |")

    # Blocks smaller than the kernel's tiles (selection-based sparse attention's 64-token
    # blocks), given as a CSR list: attnc adds a per-tile mask step; Flex reads the same block
    # table in a mask_mod, its block mask built once (128 x 128, partial where 64-blocks split).
    SB = 64
    ns = L // SB
    rows = []
    from torch.nn.attention.flex_attention import create_block_mask  # noqa: E402
    for density in (0.25, 0.10):
        sel = torch.rand(B, H, ns, ns, device="cuda") < density
        sel |= torch.eye(ns, dtype=torch.bool, device="cuda")
        off, idx = csr_padded(sel)
        table = sel
        bm = create_block_mask(lambda b, h, qi, kv: table[b, h, qi // SB, kv // SB], B, H, L, L, device="cuda",
                               _compile=True)
        fl = lambda: flex(q, k, v, block_mask=bm)
        want = fl()
        lst = attnc.compile(spec_with(os.path.join(EX, "12_block_list.attn"),
                                      [(r"q_block=16, k_block=32", f"q_block={SB}, k_block={SB}")]),
                            target="cuda", B=B, H=H, Lq=L, Lk=L, D=D, NQB1=ns + 1, NNZ=idx.shape[-1])
        err = rel_err(lst(q, k, v, off, idx), want)
        t_flex, t_list = time_ms(fl), time_ms(lambda: lst(q, k, v, off, idx))
        rows.append((f"{SB} x {SB} blocks, density {sel[0, 0].float().mean().item():.2f}", t_flex, t_list, err))
    print(f"\nB{B} H{H} L{L} D{D}, bf16, a given block list of {SB} x {SB} blocks (no causal)")
    print("| case | Flex ms | attnc ms | attnc vs Flex | rel err |")
    print("|---|---|---|---|---|")
    for name, f, l, e in rows:
        print(f"| {name} | {f:.3f} | {l:.3f} | {f / l:.2f} | {e:.1e} |")

    # The XAttention estimate (antidiagonal, stride 8) at a smaller size: scalar generic code.
    Ls = 4096
    qs, ks, vs = q[:, :, :Ls].contiguous(), k[:, :, :Ls].contiguous(), v[:, :, :Ls].contiguous()
    xa = attnc.compile(os.path.join(EX, "13_estimated_block_sparse.attn"), target="cuda", B=B, H=H, L=Ls, D=D)
    full = attnc.compile(os.path.join(EX, "02_causal_self.attn"), target="cuda", B=B, H=H, L=Ls, D=D)
    t_x, t_c = time_ms(lambda: xa(qs, ks, vs), n=3), time_ms(lambda: full(qs, ks, vs))
    print(f"\nXAttention estimate + attention, L{Ls}: {t_x:.3f} ms; dense causal attnc {t_c:.3f} ms")


if __name__ == "__main__":
    main()
