"""The conformance set (test/conformance) on the GPU next to FlexAttention: each spec through
attnc's Python API, each variant as FlexAttention's mask_mod / score_mod on the same inputs
(block masks built once, outside the timing), one process. Every attnc output is checked
against Flex first. Prints milliseconds and Flex time / attnc time (above 1: attnc is faster).
    PYTHONPATH=<attnc package> python3 bench/conformance.py [NAME ...]   (only those of the first table)
"""
import os
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask

import attnc
from timing import flex_for_many_masks, time_ms

flex = flex_for_many_masks()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONF = os.path.join(ROOT, "test", "conformance")


def main():
    torch.manual_seed(0)
    B, H, L, D = 4, 16, 4096, 128
    dev = "cuda"
    r = lambda *s: torch.randn(*s, device=dev, dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    lengths = torch.tensor([L // 3, L, L // 2, 3 * L // 4], device=dev, dtype=torch.int32)
    plen = torch.tensor([0, L // 4, L // 2, L], device=dev, dtype=torch.int32)
    seq = torch.bucketize(torch.arange(L, device=dev), torch.tensor([L // 5, L // 2, 4 * L // 5], device=dev),
                          right=True).to(torch.int32)
    cases = [
        ("padding_mask", [lengths], lambda b, h, i, j: j < lengths[b], None),
        ("head_dependent_mask", [], lambda b, h, i, j: ((h % 2 == 0) & (j <= i)) | ((h % 2 == 1) & ((i - j).abs() <= 16)), None),
        ("prefix_lm_per_batch", [plen], lambda b, h, i, j: (j <= i) | ((i < plen[b]) & (j < plen[b])), None),
        ("shared_prefix", [seq], lambda b, h, i, j: (j <= i) & ((seq[j] == seq[i]) | (seq[j] == 0)), None),
        ("dilated_sliding_window", [], lambda b, h, i, j: ((i - j).abs() <= 32) & ((i - j) % 4 == 0), None),
        ("log_distance_bias", [], lambda b, h, i, j: j <= i,
         lambda s, b, h, i, j: s - 0.5 * torch.log1p((i - j).abs().float())),
        # examples/05_periodic_bias: sin, cos, tan, erf and GELU of (i - j) per score
        ("05_periodic_bias", [], lambda b, h, i, j: j <= i,
         lambda s, b, h, i, j: (s + 0.5 * torch.sin((i - j) / 8)
                                + 0.25 * torch.cos(torch.exp2(-(h + 1).float()) * (i - j))
                                - 0.1 * torch.nn.functional.gelu(torch.log2(1 + (i - j).abs().float()) - 2)
                                + 0.05 * torch.tan(0.1 * torch.erf((j - i) / 16)))),
    ]
    # Interleaved documents: each text token sees the patches of its image (Lk = 1024).
    Lk = 1024
    kx, vx = r(B, H, Lk, D), r(B, H, Lk, D)
    tok_image = (torch.arange(L, device=dev) * 8 // L).to(torch.int32)
    patch_image = (torch.arange(Lk, device=dev) * 8 // Lk).to(torch.int32)
    print(f"B{B} H{H} L{L} D{D}, bf16")
    print("| variant | attnc ms | Flex ms | Flex / attnc | rel err |")
    print("|---|---|---|---|---|")
    only = sys.argv[1:]
    for name, extras, mask_mod, score_mod in cases:
        if only and name not in only:
            continue
        path = os.path.join(CONF, name + ".attn")
        if not os.path.exists(path):
            path = os.path.join(ROOT, "examples", name + ".attn")
        f = attnc.compile(path, target="cuda", B=B, H=H, L=L, D=D)
        bm = create_block_mask(mask_mod, B, H, L, L, device=dev)
        fl = lambda: flex(q, k, v, block_mask=bm, score_mod=score_mod)
        want = fl()
        got = f(q, k, v, *extras)
        err = ((got.float() - want.float()).norm() / want.float().norm()).item()
        ta, tf = time_ms(lambda: f(q, k, v, *extras)), time_ms(fl)
        print(f"| {name} | {ta:.3f} | {tf:.3f} | {tf / ta:.2f} | {err:.1e} |", flush=True)
    if only:
        return
    # Document masking written as a mask line, next to the built-in carrier (document + causal).
    cu = torch.tensor([0, L // 5, L // 2, 4 * L // 5, L], device=dev, dtype=torch.int32)
    doc = seq
    f = attnc.compile(os.path.join(CONF, "document_mask.attn"), target="cuda", B=B, H=H, L=L, D=D)
    g = attnc.compile(os.path.join(ROOT, "examples", "02_varlen_packed.attn"), target="cuda",
                      B=B, H=H, L=L, D=D, N1=5)
    bm = create_block_mask(lambda b, h, i, j: (j <= i) & (doc[j] == doc[i]), B, H, L, L, device=dev)
    fl = lambda: flex(q, k, v, block_mask=bm)
    want, got, builtin = fl(), f(q, k, v, doc), g(q, k, v, cu)
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    err_b = ((builtin.float() - want.float()).norm() / want.float().norm()).item()
    ta, tf, tb = time_ms(lambda: f(q, k, v, doc)), time_ms(fl), time_ms(lambda: g(q, k, v, cu))
    print(f"| document_mask | {ta:.3f} | {tf:.3f} | {tf / ta:.2f} | {err:.1e} |", flush=True)
    print(f"| (built-in document + causal carrier) | {tb:.3f} | {tf:.3f} | {tf / tb:.2f} | {err_b:.1e} |",
          flush=True)
    # A 2-D euclidean position score over a 64-wide grid (W bound at compile time).
    W = 64
    slope = torch.rand(H, device=dev, dtype=torch.float32)
    f = attnc.compile(os.path.join(CONF, "euclidean_score.attn"), target="cuda", B=B, H=H, L=L, D=D, W=W)
    dist = lambda i, j: ((i // W - j // W) ** 2 + (i % W - j % W) ** 2).float().sqrt()
    fl = lambda: flex(q, k, v, score_mod=lambda s, b, h, i, j: s - slope[h] * dist(i, j))
    want, got = fl(), f(q, k, v, slope)
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    ta, tf = time_ms(lambda: f(q, k, v, slope)), time_ms(fl)
    print(f"| euclidean_score (W {W}) | {ta:.3f} | {tf:.3f} | {tf / ta:.2f} | {err:.1e} |", flush=True)
    f = attnc.compile(os.path.join(CONF, "image_cross_mask.attn"), target="cuda", B=B, H=H, Lq=L, Lk=Lk, D=D)
    bm = create_block_mask(lambda b, h, i, j: tok_image[i] == patch_image[j], B, H, L, Lk, device=dev)
    fl = lambda: flex(q, kx, vx, block_mask=bm)
    want, got = fl(), f(q, kx, vx, tok_image, patch_image)
    err = ((got.float() - want.float()).norm() / want.float().norm()).item()
    ta, tf = time_ms(lambda: f(q, kx, vx, tok_image, patch_image)), time_ms(fl)
    print(f"| image_cross_mask (Lk {Lk}) | {ta:.3f} | {tf:.3f} | {tf / ta:.2f} | {err:.1e} |", flush=True)


if __name__ == "__main__":
    main()
