"""2-D neighborhood attention (issue 12 item 3) next to FlexAttention with NATTEN's mask as a
mask_mod, same inputs, one process: the issue's 128 x 128 grid with a 17 x 17 window, and
NAT's 56 x 56 grid with a 7 x 7 window (boxes that do not divide the grid). attnc tiles both
as boxes of the grid (the plan's q_patch / k_patch). Every attnc output is checked against
Flex first. TFLOP/s count useful pairs only (window keys per query).
    PYTHONPATH=<attnc package> python3 bench/neighborhood.py
"""
import os
import tempfile

import torch

import attnc
from timing import flex_for_many_masks, time_ms
from torch.nn.attention.flex_attention import create_block_mask

SPEC = """variant neighborhood_2d
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
attention a(q, k, v) {{
  carrier neighborhood(grid=[{g}, {g}], window=[{k}, {k}])
  link exp
  anchor row
}}
output o = a
"""


def natten_mask(G, K):
    def nat(b, h, qi, kv):
        qy, qx, ky, kx = qi // G, qi % G, kv // G, kv % G
        sy = (qy - K // 2).clamp(0, G - K)
        sx = (qx - K // 2).clamp(0, G - K)
        return (ky >= sy) & (ky < sy + K) & (kx >= sx) & (kx < sx + K)
    return nat


def main():
    torch.manual_seed(0)
    flex = flex_for_many_masks()
    print("| grid, window | shape | attnc ms | Flex ms | attnc TFLOP/s (useful) | Flex / attnc | rel err |")
    print("|---|---|---|---|---|---|---|")
    for G, K, B, H, D in [(128, 17, 2, 16, 128), (56, 7, 16, 16, 64), (56, 7, 16, 16, 128)]:
        L = G * G
        r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
        q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
        bm = create_block_mask(natten_mask(G, K), None, None, L, L, device="cuda")
        fl = lambda: flex(q, k, v, block_mask=bm)
        with tempfile.NamedTemporaryFile("w", suffix=".attn", delete=False) as f:
            f.write(SPEC.format(g=G, k=K))
        fn = attnc.compile(f.name, target="cuda", B=B, H=H, L=L, D=D)
        os.unlink(f.name)
        want = fl()
        got = fn(q, k, v)
        err = ((got.float() - want.float()).norm() / want.float().norm()).item()
        t_a, t_f = time_ms(lambda: fn(q, k, v)), time_ms(fl)
        flops = 4.0 * B * H * L * K * K * D
        print(f"| {G}x{G}, {K}x{K} | B{B} H{H} D{D} | {t_a:.3f} | {t_f:.3f} | {flops / t_a / 1e9:.0f} | "
              f"{t_f / t_a:.2f} | {err:.1e} |", flush=True)


if __name__ == "__main__":
    main()
