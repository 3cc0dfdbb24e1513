"""Neighborhood attention (issue 12 item 3) next to FlexAttention with NATTEN's mask as a
mask_mod, same inputs, one process: the issue's 128 x 128 grid with a 17 x 17 window, NAT's
56 x 56 grid with a 7 x 7 window (boxes that do not divide the grid), a 2-D grid dilated along
its first axis, a causal 1-D dilated window and a 3-D video grid. attnc tiles all of them as
boxes of the grid (the plan's q_patch / k_patch). Every attnc output is checked against Flex
first. TFLOP/s count useful pairs only (kept pairs, counted from the mask).
    PYTHONPATH=<attnc package> python3 bench/neighborhood.py
"""
import os
import sys
import tempfile

import torch

import attnc
from timing import flex_for_many_masks, time_ms
from torch.nn.attention.flex_attention import create_block_mask

SPEC = """variant neighborhood
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
attention a(q, k, v) {{
  carrier neighborhood(grid={grid}, window={window}, dilation={dilation}, causal={causal})
  link exp
  anchor row
}}
output o = a
"""


def natten_mask(grid, window, dilation, causal):
    """NATTEN's neighborhood (stride 1) as a mask_mod: per axis, the same dilation group, and
    the border-clamped window (or the causal one) over the group's positions."""
    def axis_keep(qc, kc, n, k, d, c):
        same = (qc % d) == (kc % d)
        qq, kk = qc // d, kc // d
        m = (n - qc % d + d - 1) // d
        if c:
            return same & (kk <= qq) & (kk >= qq - k + 1)
        start = torch.minimum(torch.clamp(qq - k // 2, min=0), torch.clamp(m - k, min=0))
        return same & (kk >= start) & (kk < start + k)

    def mm(b, h, qi, kv):
        keep = None
        for a in reversed(range(len(grid))):
            n = grid[a]
            t = axis_keep(qi % n, kv % n, n, window[a], dilation[a], causal[a])
            keep = t if keep is None else keep & t
            qi, kv = qi // n, kv // n
        return keep
    return mm


def kept_pairs(mm, L):
    j = torch.arange(L, device="cuda")[None, :]
    return sum(int(mm(0, 0, torch.arange(i0, min(L, i0 + 1024), device="cuda")[:, None], j).sum())
               for i0 in range(0, L, 1024))


CASES = [  # grid, window, dilation, causal, B, H, D
    ([128, 128], [17, 17], [1, 1], [False, False], 2, 16, 128),
    ([56, 56], [7, 7], [1, 1], [False, False], 16, 16, 64),
    ([56, 56], [7, 7], [1, 1], [False, False], 16, 16, 128),
    ([128, 128], [17, 17], [2, 1], [False, False], 2, 16, 128),
    ([128, 128], [17, 17], [1, 2], [False, False], 2, 16, 128),
    ([16384], [257], [4], [True], 1, 16, 128),
    ([16, 32, 32], [5, 9, 9], [1, 1, 1], [False, False, False], 1, 16, 128),
]


def main():
    torch.manual_seed(0)
    flex = flex_for_many_masks()
    print("| grid, window, dilation, causal | shape | attnc ms | Flex ms | attnc TFLOP/s (useful) | Flex / attnc | rel err |")
    print("|---|---|---|---|---|---|---|")
    for grid, window, dilation, causal, B, H, D in CASES:
        L = 1
        for n in grid:
            L *= n
        r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
        q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
        mm = natten_mask(grid, window, dilation, causal)
        bm = create_block_mask(mm, None, None, L, L, device="cuda")
        fl = lambda: flex(q, k, v, block_mask=bm)
        spec = SPEC.format(grid=grid, window=window, dilation=dilation,
                           causal=[str(c).lower() for c in causal]).replace("'", "")
        with tempfile.NamedTemporaryFile("w", suffix=".attn", delete=False) as f:
            f.write(spec)
        fn = attnc.compile(f.name, target="cuda", B=B, H=H, L=L, D=D)
        os.unlink(f.name)
        want = fl()
        got = fn(q, k, v)
        err = ((got.float() - want.float()).norm() / want.float().norm()).item()
        if not err < 1e-2:  # bf16 outputs agree to ~2e-3; a wrong kernel is not timed
            sys.exit(f"neighborhood.py: attnc differs from Flex on {grid} {window}: rel err {err:.2e}")
        t_a, t_f = time_ms(lambda: fn(q, k, v)), time_ms(fl)
        flops = 4.0 * B * H * kept_pairs(mm, L) * D
        name = f"{'x'.join(map(str, grid))}, {'x'.join(map(str, window))}, d {'x'.join(map(str, dilation))}" + \
            (", causal" if any(causal) else "")
        print(f"| {name} | B{B} H{H} D{D} | {t_a:.3f} | {t_f:.3f} | {flops / t_a / 1e9:.0f} | "
              f"{t_f / t_a:.2f} | {err:.1e} |", flush=True)

if __name__ == "__main__":
    main()
