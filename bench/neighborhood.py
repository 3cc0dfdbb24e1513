"""2-D neighborhood attention (issue 12 item 3): attnc's program for a static-shape spec
(q, k, v gathered into 16 x 8 patches, the Hopper kernel over patch-major tokens with the
neighborhood as a mask, the result gathered back) next to FlexAttention with NATTEN's mask
as a mask_mod, same inputs, one process. The attnc output is checked against Flex first.
TFLOP/s count useful pairs only (17 x 17 keys per query).
    PYTHONPATH=<attnc package> python3 bench/neighborhood.py
"""
import os

import torch

import attnc
from timing import time_ms
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flex = torch.compile(flex_attention)


def main():
    torch.manual_seed(0)
    B, H, D, G, K = 2, 16, 128, 128, 17
    L = G * G
    r = lambda *s: torch.randn(*s, device="cuda", dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)

    def nat(b, h, qi, kv):
        qy, qx, ky, kx = qi // G, qi % G, kv // G, kv % G
        sy = (qy - K // 2).clamp(0, G - K)
        sx = (qx - K // 2).clamp(0, G - K)
        return (ky >= sy) & (ky < sy + K) & (kx >= sx) & (kx < sx + K)

    bm = create_block_mask(nat, None, None, L, L, device="cuda", _compile=True)
    fl = lambda: flex(q, k, v, block_mask=bm)
    f = attnc.compile(os.path.join(ROOT, "bench", "neighborhood_2d.attn"), target="cuda", B=B, H=H, L=L, D=D)
    want = fl()
    got = f(q, k, v)
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    t_a, t_f = time_ms(lambda: f(q, k, v)), time_ms(fl)
    flops = 4.0 * B * H * L * K * K * D
    print(f"2-D neighborhood {G}x{G}, window {K}x{K}, B{B} H{H} D{D}: attnc {t_a:.3f} ms "
          f"({flops / t_a / 1e9:.0f} TFLOP/s useful), Flex {t_f:.3f} ms ({flops / t_f / 1e9:.0f}); "
          f"attnc vs Flex {t_f / t_a:.2f}x; rel err {err:.1e}")


if __name__ == "__main__":
    main()
