"""The timing rule of the benchmark scripts (bench/NOTES.md, METHOD): warm-up, many launches
back to back between two CUDA events, the median of several repeats; milliseconds per call."""
import statistics

import torch


def time_ms(fn, warmup=3, n=10, repeats=5):
    for _ in range(warmup):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    meds = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start.record()
        for _ in range(n):
            fn()
        end.record()
        torch.cuda.synchronize()
        meds.append(start.elapsed_time(end) / n)
    return statistics.median(meds)
