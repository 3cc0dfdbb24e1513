#!/usr/bin/env python3
"""PyTorch float32 reference for the cases gpu-check-run dumped (--dump DIR).

Each case folder holds q, k, v, o (raw bf16/f16 bits as uint16), lse (f32) and
meta.json (dtype, causal, scale). Prints max abs / relative error of o and lse
against torch (float32 math on the GPU if there is one); exit 1 on a failure.
"""
import json, math, os, sys

import numpy as np
import torch


def bits_to(t, dtype):
    return torch.from_numpy(t.view(np.int16)).view(torch.bfloat16 if dtype == "bf16" else torch.float16)


def main(root):
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    fails = n = 0
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        meta = json.load(open(os.path.join(d, "meta.json")))
        q, k, v, o = (bits_to(np.load(os.path.join(d, f + ".npy")), meta["dtype"]).to(dev).float()
                      for f in ("q", "k", "v", "o"))
        lse = torch.from_numpy(np.load(os.path.join(d, "lse.npy"))).to(dev)
        B, Hq, Lq, D = q.shape
        Hk, Lk = k.shape[1], k.shape[2]
        H = o.shape[1]
        q = q.repeat_interleave(H // Hq, dim=1)
        k = k.repeat_interleave(H // Hk, dim=1)
        v = v.repeat_interleave(H // Hk, dim=1)
        s = torch.einsum("bhid,bhjd->bhij", q, k) * meta["scale"]
        i = torch.arange(Lq, device=dev)[:, None]
        j = torch.arange(Lk, device=dev)[None, :]
        if meta["causal"] == "bottom_right":
            s = s.masked_fill(~(j <= i + (Lk - Lq)), -math.inf)
        elif meta["causal"] == "top_left":
            s = s.masked_fill(~(j <= i), -math.inf)
        ref_lse = torch.logsumexp(s, dim=-1)
        p = torch.softmax(s, dim=-1).nan_to_num(0.0)  # rows with no kept key: o = 0
        ref_o = torch.einsum("bhij,bhjd->bhid", p, v)
        err = (o - ref_o).abs()
        rel = (torch.linalg.vector_norm(o - ref_o) / torch.linalg.vector_norm(ref_o).clamp_min(1e-30)).item()
        finite = torch.isfinite(ref_lse)
        lse_err = (lse[finite] - ref_lse[finite]).abs().max().item() if finite.any() else 0.0
        empty_ok = bool(torch.all(lse[~finite] == -math.inf)) if (~finite).any() else True
        nan = int(torch.isnan(o).sum() + torch.isnan(lse).sum())
        ok = nan == 0 and empty_ok and rel < 1e-2 and err.max().item() < 5e-2 and lse_err < 1e-3
        n += 1
        fails += not ok
        print(f"torch-ref {case:60s} max_abs={err.max().item():.2e} rel_l2={rel:.2e} "
              f"lse_max_abs={lse_err:.2e} nan={nan}  {'PASS' if ok else 'FAIL'}", flush=True)
    print(f"torch-ref: {n - fails}/{n} cases passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
