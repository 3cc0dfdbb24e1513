"""Context parallelism on the GPU (issue 11): the ring, striped and tree plans
against one device, and the scaling from 1 to N GPUs over NCCL.

  one GPU:  PYTHONPATH=<attnc package> python3 bench/context_parallel.py check
  N GPUs:   PYTHONPATH=... torchrun --nproc-per-node=N bench/context_parallel.py scale [--L 65536]

check: every rank of each plan simulated on one GPU (bf16), against the same
spec compiled for one device and against float32 PyTorch; the time of a step
whose keys the carrier never keeps. scale: the single-GPU attnc kernel over
the whole sequence (rank 0) and each plan on N GPUs (the slowest rank), with
the steps' compute alone and the K/V passing alone, so that the share of the
communication hidden under compute is 1 - (ring - compute) / communication.
"""
import argparse
import os
import sys

import torch

import attnc
from attnc import context_parallel as cp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_ms  # noqa: E402

SPECS = {
    "causal": "  carrier causal",
    "swa1024": "  carrier window(left=1024, right=0)",
    "alibi": "  carrier causal\n  score s + slopes[h] * (j - i)",
    "mask_causal": "  mask j <= i",
}
TEMPLATE = """variant cp_{name}
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
{inputs}attention a(q, k, v) {{
{body}
}}
output o = a
"""


def spec(name):
    inputs = "input slopes : [H]\n" if "slopes" in SPECS[name] else ""
    return TEMPLATE.format(name=name, inputs=inputs, body=SPECS[name])


def extras(name, H, dev):
    if "slopes" not in SPECS[name]:
        return {}
    return {"slopes": torch.tensor([2.0 ** (-8 * (h + 1) / H) for h in range(H)], device=dev)}


def reference(name, q, k, v, ex):
    """float32 PyTorch over the whole sequence."""
    L = q.shape[2]
    i = torch.arange(L, device=q.device)
    keep = i[None, :] <= i[:, None]
    if name == "swa1024":
        keep = keep & (i[None, :] >= i[:, None] - 1024)
    s = (q.float() @ k.float().transpose(-1, -2)) / q.shape[-1] ** 0.5
    if name == "alibi":
        s = s + ex["slopes"][None, :, None, None] * (i[None, :] - i[:, None]).float()
    s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, -1) @ v.float()


def check(args):
    dev = "cuda"
    B, H, L, D = 1, 4, args.L, 128
    torch.manual_seed(0)
    rows = []
    for name in SPECS:
        q, k, v = (torch.randn(B, H, L, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
        ex = extras(name, H, dev)
        ref = reference(name, q, k, v, ex)
        one = attnc.compile(spec(name), target="cuda", B=B, H=H, L=L, D=D)(q, k, v, **ex).float()
        for layout in ("ring", "striped"):
            for world in (2, 4):
                fn = attnc.compile(spec(name), target="cuda", context_parallel=layout, world=world,
                                   B=B, H=H, L=L // world, D=D)
                got, _ = cp.simulate(fn, q, k, v, **ex)
                e_ref = (got.float() - ref).abs().max().item()
                e_one = (got.float() - one).abs().max().item()
                ok = e_ref < 2e-2 and e_one < 2e-2
                rows.append((name, layout, world, e_ref, e_one, ok))
    # tree: decode, 4 queries against 32k keys split 2 and 4 ways
    Lk = 32768
    tspec = TEMPLATE.replace("dims B, H, L, D", "dims B, H, Lq, Lk, D").replace(
        "input q : [B, H, L, D]", "input q : [B, H, Lq, D]").replace(
        "input k : [B, H, L, D]", "input k : [B, H, Lk, D]").replace(
        "input v : [B, H, L, D]", "input v : [B, H, Lk, D]").format(
        name="decode", inputs="", body="  carrier causal(align=bottom_right)")
    q = torch.randn(8, H, 4, D, device=dev, dtype=torch.bfloat16)
    k, v = (torch.randn(8, H, Lk, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
    one = attnc.compile(tspec, target="cuda", B=8, H=H, Lq=4, Lk=Lk, D=D)(q, k, v).float()
    for world in (2, 4):
        fn = attnc.compile(tspec, target="cuda", context_parallel="tree", world=world, B=8, H=H, Lq=4,
                           Lk=Lk // world, D=D)
        got, _ = cp.simulate(fn, q, k, v)
        e = (got.float() - one).abs().max().item()
        rows.append(("decode", "tree", world, float("nan"), e, e < 2e-2))
    print("| spec | layout | ranks | max err vs fp32 | max err vs one device | ok |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2e} | {r[4]:.2e} | {'ok' if r[5] else 'FAIL'} |")
    print(f"passed {sum(r[5] for r in rows)}/{len(rows)}")

    # A step whose keys the carrier never keeps: ring causal, rank 0 against block 1.
    q, k, v = (torch.randn(1, 16, 16384, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
    fn = attnc.compile(spec("causal"), target="cuda", context_parallel="ring", world=2, B=1, H=16,
                       L=16384, D=D)
    empty = torch.tensor([0, 16384], dtype=torch.int32, device=dev)
    full = torch.tensor([16384, 0], dtype=torch.int32, device=dev)
    diag = torch.tensor([0, 0], dtype=torch.int32, device=dev)
    t = {n: time_ms(lambda o=o: fn(q, k, v, cp_offsets=o, return_lse=True)) for n, o in
         (("empty", empty), ("full", full), ("diagonal", diag))}
    print(f"step times (B1 H16 16k x 16k, D128): empty {t['empty']:.3f} ms, diagonal {t['diagonal']:.3f} ms, "
          f"full {t['full']:.3f} ms")
    return all(r[5] for r in rows)


def timed_max(f):
    """time_ms on every rank, the slowest rank's."""
    import torch.distributed as dist
    dist.barrier()
    t = torch.tensor(time_ms(f, warmup=2, n=3, repeats=3), device="cuda")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def torch_ring(q, k, v, world, rank, timed_fn):
    """PyTorch's own ring attention over SDPA (torch.distributed.tensor.
    experimental.context_parallel, round-robin load balancing for causal),
    on copies of the same inputs; the time, or why it did not run."""
    try:
        import torch.nn.functional as F
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor.experimental import context_parallel
        from torch.nn.attention import SDPBackend, sdpa_kernel
        mesh = init_device_mesh("cuda", (world,))
        out = {}
        for label, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cuDNN", SDPBackend.CUDNN_ATTENTION)):
            qc, kc, vc = q.clone(), k.clone(), v.clone()
            try:
                with sdpa_kernel(backend), context_parallel(mesh, buffers=[qc, kc, vc], buffer_seq_dims=[2, 2, 2]):
                    out[f"PyTorch context_parallel ({label} SDPA ring)"] = timed_fn(
                        lambda: F.scaled_dot_product_attention(qc, kc, vc, is_causal=True))
            except Exception as e:  # noqa: BLE001 - report and go on
                if rank == 0:
                    print(f"PyTorch context_parallel ({label}): {type(e).__name__}: {str(e)[:200]}")
        return out
    except Exception as e:  # noqa: BLE001
        if rank == 0:
            print(f"PyTorch context_parallel: {type(e).__name__}: {str(e)[:200]}")
        return {}


def scale(args):
    import torch.distributed as dist
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank)
    dev = f"cuda:{rank}"
    B, H, L, D = 1, args.H, args.L, 128
    g = torch.Generator(device=dev).manual_seed(1)
    q, k, v = (torch.randn(B, H, L, D, device=dev, dtype=torch.bfloat16, generator=g) for _ in range(3))
    dist.broadcast(q, 0), dist.broadcast(k, 0), dist.broadcast(v, 0)
    name = args.spec
    w = 1024 if name == "swa1024" else L
    pairs = sum(min(i + 1, w + 1) for i in range(0, L, 64)) * 64  # kept (i, j) pairs, to 64 rows
    flops = 4 * B * H * D * pairs  # useful work only
    results = {}
    one = None
    if rank == 0:
        f1 = attnc.compile(spec(name), target="cuda", B=B, H=H, L=L, D=D)
        one = f1(q, k, v)
        results["one GPU (attnc)"] = time_ms(lambda: f1(q, k, v), warmup=2, n=3, repeats=3)
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            if name == "causal":
                results["one GPU (cuDNN SDPA)"] = time_ms(
                    lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
                    warmup=2, n=3, repeats=3)
    dist.barrier()
    for layout in args.layouts.split(","):
        fn = attnc.compile(spec(name), target="cuda", context_parallel=layout, world=world, B=B, H=H,
                           L=L // world, D=D)
        qr, kr, vr = (cp.shard(x, layout, world, rank) for x in (q, k, v))
        o, _ = cp.ring_attention(fn, qr, kr, vr)
        parts = [torch.empty_like(o) for _ in range(world)]
        dist.all_gather(parts, o)
        if rank == 0:
            err = (cp.unshard(parts, layout).float() - one.float()).abs().max().item()
            results[f"{layout}: max err vs one GPU"] = err

        timed = timed_max
        offs = [torch.tensor(s["offsets"], dtype=torch.int32, device=dev) for s in cp.plan(fn, rank)
                if s["keeps"] != "none"]

        def compute_only():
            m = cp.Merger()
            for off in offs:
                m.add(*fn(qr, kr, vr, cp_offsets=off, return_lse=True))
            return m.result(qr.dtype)

        def comm_only():
            nk, nv = torch.empty_like(kr), torch.empty_like(vr)
            for _ in range(world - 1):
                ops = [dist.P2POp(dist.isend, kr, (rank + 1) % world), dist.P2POp(dist.isend, vr, (rank + 1) % world),
                       dist.P2POp(dist.irecv, nk, (rank - 1) % world), dist.P2POp(dist.irecv, nv, (rank - 1) % world)]
                for r in dist.batch_isend_irecv(ops):
                    r.wait()
        t_ring = timed(lambda: cp.ring_attention(fn, qr, kr, vr))
        t_comp = timed(compute_only)
        t_comm = timed(comm_only)
        results[f"{layout}: ring (slowest rank)"] = t_ring
        results[f"{layout}: compute only"] = t_comp
        results[f"{layout}: K/V passing only"] = t_comm
        results[f"{layout}: exposed (ring - compute) ms"] = t_ring - t_comp
        results[f"{layout}: hidden share"] = 1 - max(0.0, t_ring - t_comp) / t_comm if t_comm > 0 else 1.0
    if name == "causal" and args.torch_ring:
        results.update(torch_ring(q, k, v, world, rank, timed_fn=timed_max))
    if rank == 0:
        t1 = results["one GPU (attnc)"]
        print(f"{name}, B{B} H{H} L{L} D{D}, {world} GPUs (ms; TFLOP/s of useful work)")
        for key, val in results.items():
            if "err" in key or "share" in key or "exposed" in key:
                print(f"  {key}: {val:.3g}")
            else:
                print(f"  {key}: {val:.2f} ms, {flops / val / 1e9:.0f} TFLOP/s, "
                      f"{t1 / val:.2f}x one GPU (attnc)")
    dist.destroy_process_group()


DECODE = """variant cp_decode
dims B, H, Lq, Lk, D
input q : [B, H, Lq, D]
input k : [B, H, Lk, D]
input v : [B, H, Lk, D]
attention a(q, k, v) {
  carrier causal(align=bottom_right)
}
output o = a
"""


def tree(args):
    """Decode with the keys split across ranks (tree plan), against the
    single-GPU decode kernel over all keys; TB/s of q, k, v and o moved once."""
    import torch.distributed as dist
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank)
    dev = f"cuda:{rank}"
    B, H, Lq, Lk, D = 8, 8, args.Lq, args.L, 128
    g = torch.Generator(device=dev).manual_seed(2)
    q = torch.randn(B, H, Lq, D, device=dev, dtype=torch.bfloat16, generator=g)
    dist.broadcast(q, 0)
    kr, vr = (torch.randn(B, H, Lk // world, D, device=dev, dtype=torch.bfloat16, generator=g) for _ in range(2))
    nbytes = 2 * (2 * B * H * Lq * D + 2 * B * H * Lk * D)
    fn = attnc.compile(DECODE, target="cuda", decode=True, context_parallel="tree", world=world, B=B, H=H,
                       Lq=Lq, Lk=Lk // world, D=D)
    o, _ = cp.tree_attention(fn, q, kr, vr)
    ks, vs = [torch.empty_like(kr) for _ in range(world)], [torch.empty_like(vr) for _ in range(world)]
    dist.all_gather(ks, kr), dist.all_gather(vs, vr)
    if rank == 0:
        k, v = torch.cat(ks, 2), torch.cat(vs, 2)
        f1 = attnc.compile(DECODE, target="cuda", decode=True, B=B, H=H, Lq=Lq, Lk=Lk, D=D)
        one = f1(q, k, v)
        err = (o.float() - one.float()).abs().max().item()
        t1 = time_ms(lambda: f1(q, k, v))
        del k, v
    dist.barrier()
    t = torch.tensor(time_ms(lambda: cp.tree_attention(fn, q, kr, vr)), device=dev)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    tl = torch.tensor(time_ms(lambda: fn(q, kr, vr, cp_offsets=torch.tensor(
        [0, rank * (Lk // world)], dtype=torch.int32, device=dev), return_lse=True)), device=dev)
    dist.all_reduce(tl, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(f"decode tree, B{B} H{H} Lq{Lq} Lk{Lk} D{D}, {world} GPUs: max err vs one GPU {err:.3g}")
        print(f"  one GPU: {t1:.3f} ms, {nbytes / t1 / 1e9:.2f} TB/s")
        print(f"  tree ({world} GPUs, merged): {t.item():.3f} ms, {nbytes / t.item() / 1e9:.2f} TB/s, "
              f"{t1 / t.item():.2f}x one GPU")
        print(f"  a rank's shard alone: {tl.item():.3f} ms")
    dist.destroy_process_group()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["check", "scale", "tree"])
    ap.add_argument("--L", type=int, default=None)
    ap.add_argument("--H", type=int, default=16)
    ap.add_argument("--layouts", default="striped,ring")
    ap.add_argument("--spec", default="causal", choices=["causal", "swa1024"])
    ap.add_argument("--Lq", type=int, default=4)
    ap.add_argument("--torch-ring", action="store_true", help="also time PyTorch's context_parallel")
    a = ap.parse_args()
    if a.mode == "check":
        a.L = a.L or 8192
        sys.exit(0 if check(a) else 1)
    if a.mode == "tree":
        a.L = a.L or 262144
        tree(a)
        sys.exit(0)
    a.L = a.L or 65536
    scale(a)
