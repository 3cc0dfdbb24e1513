"""The same variant written for FlexAttention and as an attnc spec: causal
sliding window (1024) with ALiBi, on bf16 CUDA tensors. Checks that both
agree, then times both in this process.
    PYTHONPATH=build/python python3 examples/python/flex_side_by_side.py   # on a GPU machine
"""
import torch
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

import attnc

B, H, L, D, W = 2, 16, 4096, 128, 1024

SPEC = f"""variant window_alibi
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
input slopes : [H]
attention a(q, k, v) {{
  carrier window(left={W - 1}, right=0)
  score s + slopes[h] * (j - i)
}}
output o = a
"""


def main():
    slopes = torch.tensor([2.0 ** (-8 * (h + 1) / H) for h in range(H)], device="cuda")

    # FlexAttention: a mask_mod for the carrier, a score_mod for the bias.
    def window(b, h, q_idx, kv_idx):
        return (kv_idx <= q_idx) & (q_idx - kv_idx < W)

    def alibi(score, b, h, q_idx, kv_idx):
        return score + slopes[h] * (kv_idx - q_idx)

    mask = create_block_mask(window, B=None, H=None, Q_LEN=L, KV_LEN=L)
    flex = torch.compile(flex_attention)
    # attnc: the spec above.
    fn = attnc.compile(SPEC, target="cuda", B=B, H=H, L=L, D=D)

    q, k, v = (torch.randn(B, H, L, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o_flex = flex(q, k, v, score_mod=alibi, block_mask=mask)
    o_attnc = fn(q, k, v, slopes=slopes)
    err = ((o_attnc.float() - o_flex.float()).norm() / o_flex.float().norm()).item()
    print(f"attnc vs FlexAttention: relative error {err:.2e}")
    assert err < 2e-2
    for name, call in (("Flex", lambda: flex(q, k, v, score_mod=alibi, block_mask=mask)),
                       ("attnc", lambda: fn(q, k, v, slopes=slopes))):
        for _ in range(3):
            call()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(20):
            call()
        end.record()
        torch.cuda.synchronize()
        print(f"{name:6s}: {start.elapsed_time(end) / 20:.3f} ms")


if __name__ == "__main__":
    main()
