"""PyTorch anchors for the same shapes as bench_attnc, in the same device run:
SDPA (cuDNN and flash backends) and FlexAttention, bf16, forward. TFLOP/s of
useful work (kept pairs only), CUDA events, median of 30 after warm-up."""
import os
import re
import sys
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
from torch.nn.attention.flex_attention import flex_attention, create_block_mask

# Every mask and score_mod is a new compile; the default cache limit (8) would
# make later cases fall back to the unfused eager path.
torch._dynamo.config.cache_size_limit = 256
torch._dynamo.config.accumulated_cache_size_limit = 1024
flex = torch.compile(flex_attention, dynamic=False)


def bench(fn, iters=30, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


# (mask, B, Hq, Hk, S, D): the shapes bench/run.sh times attnc on.
CASES = [("full", 8, 16, 16, 4096, 128), ("causal", 8, 16, 16, 4096, 128),
         ("full", 2, 16, 16, 16384, 128), ("causal", 2, 16, 16, 16384, 128),
         ("full", 4, 16, 16, 8192, 64), ("causal", 4, 16, 16, 8192, 64),
         ("full", 4, 8, 8, 8192, 256), ("causal", 4, 8, 8, 8192, 256),
         ("causal", 4, 32, 8, 8192, 128)]


ONLY = re.compile(os.environ.get("BENCH_ONLY", "."))


def main():
    for (mask, B, H, Hk, S, D) in CASES:
        if not ONLY.search(f"d{D}/{mask}" if Hk == H else f"gqa/{mask}"):
            continue
        causal = mask == "causal"
        q = torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16)
        k, v = (torch.randn(B, Hk, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(2))
        pairs = S * (S + 1) / 2 if causal else S * S
        fl = 4.0 * B * H * pairs * D
        gqa = Hk != H
        for be, label in [(SDPBackend.CUDNN_ATTENTION, "sdpa-cudnn"), (SDPBackend.FLASH_ATTENTION, "sdpa-flash")]:
            try:
                with sdpa_kernel([be]):
                    ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa))
                print(f"anchor {label} {mask} B{B} H{H} Hk{Hk} S{S} D{D} {ms:.4f} ms {fl / ms / 1e9:.1f} TFLOP/s", flush=True)
            except Exception as ex:  # a backend may be unavailable for a shape
                print(f"anchor {label} {mask} B{B} H{H} Hk{Hk} S{S} D{D} failed: {str(ex)[:80]}", flush=True)
        bm = create_block_mask(lambda b, h, i, j: i >= j, None, None, S, S) if causal else None
        ms = bench(lambda: flex(q, k, v, block_mask=bm, enable_gqa=gqa))
        print(f"anchor flex {mask} B{B} H{H} Hk{Hk} S{S} D{D} {ms:.4f} ms {fl / ms / 1e9:.1f} TFLOP/s", flush=True)
        del q, k, v
        torch.cuda.empty_cache()
    variants()
    decode()


# Decode: GQA 32/8, D = 128, 32k cached keys, Lq new queries (bench/run.sh).
# SDPA's is_causal is top-left for Lq != Lk, so the anchors run without a
# mask: for Lq = 1 that is the same attention, for Lq = 4 / 16 it adds at
# most Lq - 1 pairs of 32768 per row.
DECODE = [(8, 32, 8, lq, 32768, 128) for lq in (1, 4, 16)]


def decode():
    if not ONLY.search("decode"):
        return
    for (B, H, Hk, Lq, Lk, D) in DECODE:
        q = torch.randn(B, H, Lq, D, device="cuda", dtype=torch.bfloat16)
        k, v = (torch.randn(B, Hk, Lk, D, device="cuda", dtype=torch.bfloat16) for _ in range(2))
        nbytes = 2.0 * (2 * q.numel() + k.numel() + v.numel())  # q, k, v, o
        runs = []
        for be, label in [(SDPBackend.CUDNN_ATTENTION, "sdpa-cudnn"), (SDPBackend.FLASH_ATTENTION, "sdpa-flash")]:
            def f(be=be):
                with sdpa_kernel([be]):
                    return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
            runs.append((label, f))
        runs.append(("flex", lambda: flex(q, k, v, enable_gqa=True)))
        for label, f in runs:
            try:
                ms = bench(f, iters=100)
                print(f"anchor {label} decode B{B} H{H} Hk{Hk} Lq{Lq} Lk{Lk} D{D} {ms:.4f} ms "
                      f"{nbytes / ms / 1e9:.3f} TB/s", flush=True)
            except Exception as ex:
                print(f"anchor {label} decode B{B} H{H} Hk{Hk} Lq{Lq} Lk{Lk} D{D} failed: {str(ex)[:80]}",
                      flush=True)
        del q, k, v
        torch.cuda.empty_cache()


# Score/mask variants against FlexAttention (the only anchor that runs them),
# D = 128: (attnc variant = bench/<name>.attn, mask as bench_attnc counts it,
# B, H, S). The mask_* variants are written as mask lines in the spec.
VARIANTS = [("swa_causal", "window=1024", 4, 16, 4096), ("swa_causal", "window=1024", 1, 16, 16384),
            ("alibi_causal", "causal", 4, 16, 4096), ("alibi_causal", "causal", 1, 16, 16384),
            ("softcap_causal", "causal", 4, 16, 4096), ("softcap_causal", "causal", 1, 16, 16384)]
MASK_VARIANTS = ["mask_causal", "mask_dilated", "mask_block_causal", "mask_head", "mask_prefix",
                 "mask_band"]
MASKS = {
    "swa_causal": lambda b, h, i, j: (i >= j) & (i - j < 1024),
    "mask_causal": lambda b, h, i, j: j <= i,
    "mask_dilated": lambda b, h, i, j: (j <= i) & ((i - j) % 2 == 0) & (i - j < 2048),
    "mask_block_causal": lambda b, h, i, j: j // 128 <= i // 128,
    "mask_head": lambda b, h, i, j: (h % 2 == 0) | (j <= i),
    "mask_prefix": lambda b, h, i, j: (j <= i) | (j < 1024),
    "mask_band": lambda b, h, i, j: (i - j).abs() <= 256,
    # NATTEN's 2-D neighborhood over a 128 x 128 grid, window 17 x 17 (border-clamped starts).
    "neighborhood_2d": lambda b, h, i, j: (((j // 128 - (i // 128 - 8).clamp(0, 111)) >= 0)
                                          & ((j // 128 - (i // 128 - 8).clamp(0, 111)) < 17)
                                          & ((j % 128 - (i % 128 - 8).clamp(0, 111)) >= 0)
                                          & ((j % 128 - (i % 128 - 8).clamp(0, 111)) < 17)),
}


def kept_pairs(mm, H, S):
    """Kept (h, i, j) triples of a mask_mod, counted on the GPU in row chunks."""
    total = 0
    j = torch.arange(S, device="cuda")[None, :]
    for h in range(H):
        hh = torch.tensor(h, device="cuda")
        for i0 in range(0, S, 2048):
            i = torch.arange(i0, min(S, i0 + 2048), device="cuda")[:, None]
            total += int(mm(0, hh, i, j).sum())
    return total


def variants():
    D = 128
    cases = VARIANTS + [(n, "mask", B, 16, S) for n in MASK_VARIANTS for (B, S) in [(4, 4096), (1, 16384)]]
    cases += [("shifted_chunks", "mask", 4, 16, 4096), ("shifted_chunks", "mask", 1, 16, 16384)]
    cases.append(("neighborhood_2d", "mask", 2, 16, 16384))
    # Document masking + causal, 8 equal documents (the built-in carrier, bench_attnc doc8).
    cases += [("varlen_packed", "doc8", 8, 16, 4096), ("varlen_packed", "doc8", 2, 16, 16384)]
    for (name, mask, B, H, S) in cases:
        if not ONLY.search(name):
            continue
        q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        slopes = torch.exp2(-8.0 * torch.arange(1, H + 1, device="cuda", dtype=torch.float32) / H)
        mm = MASKS.get(name, lambda b, h, i, j: i >= j)
        if name == "shifted_chunks":  # examples/08_shifted_chunks.attn
            mm = lambda b, h, i, j, S=S: (((i + S - (h % 2) * 32) % S) // 64) == (((j + S - (h % 2) * 32) % S) // 64)
        if name == "varlen_packed":
            n = S // 8
            mm = lambda b, h, i, j: (i >= j) & (i // n == j // n)
        sm = None
        if name == "alibi_causal":
            sm = lambda s, b, h, i, j: s + slopes[h] * (j - i)
        elif name == "softcap_causal":
            sm = lambda s, b, h, i, j: 30.0 * torch.tanh(s / 30.0)
        bm = create_block_mask(mm, None, H, S, S)
        fl = 4.0 * B * kept_pairs(mm, H, S) * D
        ms = bench(lambda: flex(q, k, v, score_mod=sm, block_mask=bm))
        print(f"anchor flex {mask} B{B} H{H} Hk{H} S{S} D{D} {ms:.4f} ms {fl / ms / 1e9:.1f} TFLOP/s variant={name}", flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
