"""Python API costs on the GPU (issue 7's targets): the first call of a new
variant (cold kernel cache: compile + load), a cached compile, and the host
time of a cached call against a bare torch.empty_like, with the same inputs
each call and with inputs that change (new tensor maps). Prints a table.
    PYTHONPATH=<attnc package> python3 bench/python_api.py
"""
import statistics
import tempfile
import time

import torch

import attnc

SPEC = """variant bench_causal_{tag}
dims B, H, Hk, L, D
input q : [B, H, L, D]
input k : [B, Hk, L, D]
input v : [B, Hk, L, D]
attention a(q, k, v) {{
  carrier causal(align=bottom_right)
}}
output o = a
"""
DIMS = dict(B=1, H=1, Hk=1, L=128, D=64)


def host_us(fn, n=2000, repeats=5):
    """Median over repeats of the host time per call (no sync in the loop;
    the GPU work is tiny, so the loop is host-bound)."""
    out = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        out.append((t1 - t0) / n * 1e6)
    return statistics.median(out)


def main():
    cache = tempfile.mkdtemp(prefix="attnc-cache-")
    t0 = time.perf_counter()
    fn = attnc.compile(SPEC.format(tag=0), target="cuda", cache_dir=cache, **DIMS)
    t1 = time.perf_counter()
    q = torch.randn(1, 1, 128, 64, device="cuda", dtype=torch.bfloat16)
    fn(q, q, q)
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    fn2 = attnc.compile(SPEC.format(tag=0), target="cuda", cache_dir=cache, **DIMS)
    fn2(q, q, q)
    torch.cuda.synchronize()
    t3 = time.perf_counter()

    qs = [torch.randn(1, 1, 128, 64, device="cuda", dtype=torch.bfloat16) for _ in range(8)]
    it = iter(range(1 << 62))
    empty = host_us(lambda: torch.empty_like(q))
    same = host_us(lambda: fn(q, q, q))
    changing = host_us(lambda: fn(qs[next(it) % 8], q, q))
    lse = host_us(lambda: fn(q, q, q, return_lse=True))

    # Copies per call: the profiler's memcpy events over 20 calls.
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for n in range(20):
            fn(q, q, q)
        torch.cuda.synchronize()
    same_copies = sum(1 for e in prof.events() if "Memcpy" in e.name or "memcpy" in e.name)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for n in range(20):
            fn(qs[n % 8], q, q)
        torch.cuda.synchronize()
    changing_copies = sum(1 for e in prof.events() if "Memcpy" in e.name or "memcpy" in e.name)

    print("| measure | value |")
    print("|---|---|")
    print(f"| first call, cold cache: compile (s) | {t1 - t0:.3f} |")
    print(f"| first call, cold cache: compile + first launch (s) | {t2 - t0:.3f} |")
    print(f"| new Compiled, warm cache: compile + first launch (s) | {t3 - t2:.3f} |")
    print(f"| torch.empty_like host time (us) | {empty:.1f} |")
    print(f"| fn(q, k, v) host time, same inputs (us) | {same:.1f} |")
    print(f"| fn(q, k, v) host time, inputs changing (us) | {changing:.1f} |")
    print(f"| fn(..., return_lse=True) host time (us) | {lse:.1f} |")
    print(f"| overhead over empty_like, same / changing inputs (us) | {same - empty:.1f} / {changing - empty:.1f} |")
    print(f"| memcpy events per 20 calls, same / changing inputs | {same_copies} / {changing_copies} |")


if __name__ == "__main__":
    main()
