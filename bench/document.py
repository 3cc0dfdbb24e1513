"""Document masking + causal (issue 12's row "document (8 equal) + causal") next to FlexAttention, one
process, bf16, D128: the built-in carrier (examples/02_varlen_packed.attn, cumulative lengths), the
same mask written as a mask line over a document-id table (test/conformance/document_mask.attn), per
call and with the table declared static (Compiled.keep_static: the classification runs once, as
Flex's block mask is built once), and the causal kernel on the same shape for scale. TFLOP/s count
the kept pairs only. Every attnc output is checked against Flex first.
    PYTHONPATH=<attnc package> python3 bench/document.py [equal|ragged ...]
"""
import os
import sys

import torch
from torch.nn.attention.flex_attention import create_block_mask

import attnc
from timing import flex_for_many_masks, time_ms

flex = flex_for_many_masks()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rel(a, b):
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def run(B, H, L, bounds, label):
    D, dev = 128, "cuda"
    r = lambda *s: torch.randn(*s, device=dev, dtype=torch.bfloat16)
    q, k, v = r(B, H, L, D), r(B, H, L, D), r(B, H, L, D)
    cu = torch.tensor(bounds, device=dev, dtype=torch.int32)
    doc = (torch.bucketize(torch.arange(L, device=dev), cu[1:-1], right=True)).to(torch.int32)
    sizes = [bounds[n + 1] - bounds[n] for n in range(len(bounds) - 1)]
    flops = 4.0 * B * H * D * sum(n * (n + 1) / 2 for n in sizes)
    tf = lambda ms: flops / ms / 1e9
    bm = create_block_mask(lambda b, h, i, j: (j <= i) & (doc[j] == doc[i]), None, None, L, L, device=dev)
    fl = lambda: flex(q, k, v, block_mask=bm)
    want = fl()
    builtin = attnc.compile(os.path.join(ROOT, "examples", "02_varlen_packed.attn"), target="cuda",
                            B=B, H=H, L=L, D=D, N1=len(bounds))
    line = attnc.compile(os.path.join(ROOT, "test", "conformance", "document_mask.attn"), target="cuda",
                         B=B, H=H, L=L, D=D)
    kept = attnc.compile(os.path.join(ROOT, "test", "conformance", "document_mask.attn"), target="cuda",
                         B=B, H=H, L=L, D=D)
    causal = attnc.compile(os.path.join(ROOT, "examples", "02_causal_self.attn"), target="cuda", B=B, H=H, L=L, D=D)
    errs = [rel(builtin(q, k, v, cu), want), rel(line(q, k, v, doc), want)]
    kept(q, k, v, doc)
    kept.keep_static("doc")
    errs.append(rel(kept(q, k, v, doc), want))
    if not max(errs) < 1e-2:  # bf16 outputs agree to ~2e-3; a wrong kernel is not timed
        sys.exit(f"document.py: attnc differs from Flex ({label}, L{L}): rel err {max(errs):.2e}")
    t_flex = time_ms(fl)
    rows = [("built-in document + causal", time_ms(lambda: builtin(q, k, v, cu)), errs[0]),
            ("mask line, per call", time_ms(lambda: line(q, k, v, doc)), errs[1]),
            ("mask line, table kept", time_ms(lambda: kept(q, k, v, doc)), errs[2])]
    t_causal = time_ms(lambda: causal(q, k, v))
    print(f"\n{label}: B{B} H{H} L{L} D{D}, documents {sizes}; Flex {t_flex:.3f} ms ({tf(t_flex):.0f} TFLOP/s); "
          f"attnc causal on the whole row {t_causal:.3f} ms")
    print("| attnc | ms | TFLOP/s | Flex / attnc | rel err vs Flex |")
    print("|---|---|---|---|---|")
    for name, ms, err in rows:
        print(f"| {name} | {ms:.3f} | {tf(ms):.0f} | {t_flex / ms:.2f} | {err:.1e} |", flush=True)
    del q, k, v
    torch.cuda.empty_cache()


def main():
    torch.manual_seed(0)
    only = sys.argv[1:]
    for B, L in [(8, 4096), (2, 16384)]:
        if not only or "equal" in only:
            run(B, 16, L, [n * L // 8 for n in range(9)], "8 equal documents")
        if not only or "ragged" in only:
            cut = [0, L // 5, L // 2, L // 2 + 300, 4 * L // 5, L - 77, L]
            run(B, 16, L, cut, "6 ragged documents")


if __name__ == "__main__":
    main()
