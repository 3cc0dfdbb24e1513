"""Masks that interval bounds cannot bound, classified per 128 x 128 block by generic steps
before the kernel (attn-classify-mask-blocks), next to FlexAttention with its block mask built
once from the same predicate. One process, bf16, D128; every attnc output checked against Flex
first. The time of attnc's classification steps and of its attention kernel comes from the
CUDA profiler (kernel names), over the same calls; then the same program with the table
declared static (Compiled.keep_static: the classification runs once, as Flex's block mask).
A mask over positions only (shifted chunks, a floor modulus by the run-time L) reads no table:
its classification is kept by the runtime for the sizes it was computed for, so its first call
(profiled: classification + kernel) and its later calls are printed apart.
    PYTHONPATH=<attnc package> python3 bench/classified_masks.py
"""
import os

import torch
from torch.nn.attention.flex_attention import create_block_mask
from torch.profiler import ProfilerActivity, profile

import attnc
from timing import flex_for_many_masks, time_ms

flex = flex_for_many_masks()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(ROOT, "test", "conformance")


def kernel_ms(fn, calls=10):
    """Device milliseconds per call: (classification steps, attention kernel)."""
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    steps = attn = 0.0
    for e in prof.key_averages():
        t = e.device_time_total / 1000.0 / calls
        if "_step" in e.key:
            steps += t
        elif e.key.endswith("_kernel"):
            attn += t
    return steps, attn


def run(name, B, H, L, D, table, mask_mod, density):
    dev = "cuda"
    r = lambda *s: torch.randn(*s, device=dev, dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    dims = dict(B=B, H=H, L=L, D=D)
    if name == "block_table_mask":
        dims["NB"] = table.shape[0]
    f = attnc.compile(os.path.join(CONF, name + ".attn"), target="cuda", **dims)
    bm = create_block_mask(mask_mod, None, None, L, L, device=dev)
    fl = lambda: flex(q, k, v, block_mask=bm)
    want, got = fl(), f(q, k, v, table)
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    ta, tf = time_ms(lambda: f(q, k, v, table)), time_ms(fl)
    steps, attn = kernel_ms(lambda: f(q, k, v, table))
    # The classification kept across calls (as Flex's block mask is built once).
    f.keep_static("blocks" if name == "block_table_mask" else "allowed")
    kept = f(q, k, v, table)
    err_k = ((kept.float() - want.float()).norm() / want.float().norm()).item()
    tk = time_ms(lambda: f(q, k, v, table))
    print(f"| {name} L{L} ({density:.0%} of pairs) | {ta:.3f} | {steps:.3f} | {attn:.3f} | {tk:.3f} | {tf:.3f} | "
          f"{tf / ta:.2f} | {tf / tk:.2f} | {max(err, err_k):.1e} |", flush=True)


def run_positions(name, path, B, H, L, D, mask_mod):
    dev = "cuda"
    r = lambda *s: torch.randn(*s, device=dev, dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    f = attnc.compile(path, target="cuda", B=B, H=H, L=L, D=D)
    bm = create_block_mask(mask_mod, None, H, L, L, device=dev)
    fl = lambda: flex(q, k, v, block_mask=bm)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        got = f(q, k, v)  # the first call at this L classifies
        torch.cuda.synchronize()
    each = [(e.key, e.device_time_total / 1000.0) for e in prof.key_averages() if "_step" in e.key]
    steps = sum(t for _, t in each)
    print("  classification steps (ms): " + ", ".join(f"{k.split('_step')[-1]} {t:.3f}" for k, t in each),
          flush=True)
    want = fl()
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    _, attn = kernel_ms(lambda: f(q, k, v))
    tk, tf = time_ms(lambda: f(q, k, v)), time_ms(fl)
    print(f"| {name} B{B} L{L} | {steps + attn:.3f} | {steps:.3f} | {attn:.3f} | {tk:.3f} | {tf:.3f} | "
          f"{tf / (steps + attn):.2f} | {tf / tk:.2f} | {err:.1e} |", flush=True)


def main():
    torch.manual_seed(0)
    D = 128
    print("| mask | attnc ms (classified per call) | classification ms | attention kernel ms | "
          "attnc ms (kept, keep_static) | Flex ms | Flex / attnc per call | Flex / attnc kept | rel err |")
    print("|---|---|---|---|---|---|---|---|---|")
    for B, H, L in ((4, 16, 4096), (1, 16, 16384)):
        g = torch.Generator(device="cuda").manual_seed(L)
        nb = L // 64
        # A random pattern of 64 x 64 blocks (about 25% kept), causal inside.
        blocks = (torch.rand(nb, nb, device="cuda", generator=g) < 0.25).to(torch.int32)
        blocks.fill_diagonal_(1)
        mm = lambda b, h, i, j: (blocks[i // 64, j // 64] != 0) & (j <= i)
        dens = ((blocks.bool().repeat_interleave(64, 0).repeat_interleave(64, 1)).tril().float().mean()).item()
        run("block_table_mask", B, H, L, D, blocks, mm, dens)
        # A dense [L, L] table: whole 128-blocks kept (~20%) plus speckled diagonal blocks.
        nb = L // 128
        kind = (torch.rand(nb, nb, device="cuda", generator=g) < 0.2).to(torch.int32)
        allowed = kind.repeat_interleave(128, 0).repeat_interleave(128, 1)
        speckle = (torch.rand(L, L, device="cuda", generator=g) < 0.5).to(torch.int32)
        diag = torch.eye(nb, device="cuda", dtype=torch.int32).repeat_interleave(128, 0).repeat_interleave(128, 1)
        allowed = torch.where(diag.bool(), speckle, allowed).contiguous()
        mm2 = lambda b, h, i, j: allowed[i, j] != 0
        run("dense_mask", B, H, L, D, allowed, mm2, allowed.float().mean().item())
    print()
    print("| mask over positions | attnc ms (first call: classification + kernel) | classification ms | "
          "attention kernel ms | attnc ms (later calls) | Flex ms | Flex / attnc first | Flex / attnc later | "
          "rel err |")
    print("|---|---|---|---|---|---|---|---|---|")
    for B, L in ((4, 4096), (1, 16384)):
        mm = lambda b, h, i, j, L=L: (((i + L - (h % 2) * 32) % L) // 64) == (((j + L - (h % 2) * 32) % L) // 64)
        run_positions("shifted_chunks", os.path.join(ROOT, "examples", "08_shifted_chunks.attn"), B, 16, L, D, mm)


if __name__ == "__main__":
    main()
