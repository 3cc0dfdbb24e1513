"""A small decoder block whose attention is an attnc spec instead of
F.scaled_dot_product_attention: RoPE (applied in PyTorch, as models do before
SDPA), GQA 8/2 and causal masking. Checks the block's output against the
same block on SDPA, then times both.
    PYTHONPATH=build/python python3 examples/python/transformer_block.py   # on a GPU machine
"""
import torch
import torch.nn.functional as F

import attnc

SPEC = """variant block_attention
dims B, H, Hk, L, D
input q : [B, H, L, D]
input k : [B, Hk, L, D]
input v : [B, Hk, L, D]
attention a(q, k, v) {
  carrier causal(align=bottom_right)
}
output o = a
"""


def rope(x, theta=10000.0):
    """Rotates channel pairs (d, d + D/2) by position-dependent angles."""
    L, D = x.shape[-2], x.shape[-1]
    inv = theta ** (-torch.arange(0, D // 2, device=x.device, dtype=torch.float32) * 2 / D)
    ang = torch.arange(L, device=x.device, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., : D // 2].float(), x[..., D // 2:].float()
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


class Block(torch.nn.Module):
    def __init__(self, dim=1024, heads=8, kv_heads=2, attention=None):
        super().__init__()
        self.h, self.hk, self.d = heads, kv_heads, dim // heads
        self.qkv = torch.nn.Linear(dim, (heads + 2 * kv_heads) * self.d, bias=False)
        self.out = torch.nn.Linear(dim, dim, bias=False)
        self.norm = torch.nn.RMSNorm(dim)
        self.attention = attention  # None: SDPA

    def forward(self, x):
        B, L, _ = x.shape
        q, k, v = self.qkv(self.norm(x)).split([self.h * self.d, self.hk * self.d, self.hk * self.d], dim=-1)
        q = rope(q.view(B, L, self.h, self.d).transpose(1, 2)).contiguous()
        k = rope(k.view(B, L, self.hk, self.d).transpose(1, 2)).contiguous()
        v = v.view(B, L, self.hk, self.d).transpose(1, 2).contiguous()
        if self.attention is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:
            o = self.attention(q, k, v)
        return x + self.out(o.transpose(1, 2).reshape(B, L, -1))


def main():
    torch.manual_seed(0)
    B, L, dim, H, Hk = 2, 2048, 1024, 8, 2
    fn = attnc.compile(SPEC, target="cuda", B=B, H=H, Hk=Hk, L=L, D=dim // H)
    ref = Block(dim, H, Hk).cuda().to(torch.bfloat16)
    ours = Block(dim, H, Hk, attention=fn).cuda().to(torch.bfloat16)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, L, dim, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        want, got = ref(x), ours(x)
        err = ((got.float() - want.float()).norm() / (want.float() - x.float()).norm()).item()
        print(f"block output vs SDPA: relative error {err:.2e} (of the block's update)")
        assert err < 2e-2, "attnc's block differs from the SDPA block"
        for name, m in (("SDPA", ref), ("attnc", ours)):
            for _ in range(3):
                m(x)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(20):
                m(x)
            end.record()
            torch.cuda.synchronize()
            print(f"{name:6s} block: {start.elapsed_time(end) / 20:.3f} ms")


if __name__ == "__main__":
    main()
