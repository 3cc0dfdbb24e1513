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


def flex_for_many_masks():
    """FlexAttention compiled for a process that tries many shapes and masks: more room than the
    default 8 recompiles (past it Flex falls back to its slow eager path, which would void the
    ratios). Also times attnc as a hot loop would run: without the per-call host check of the
    index tables (attnc_program_set_table_checks; it waits for the stream and copies them)."""
    import os
    from torch.nn.attention.flex_attention import flex_attention
    os.environ["ATTNC_CHECK_TABLES"] = "0"
    torch._dynamo.config.cache_size_limit = 64
    torch._dynamo.config.accumulated_cache_size_limit = 1024
    return torch.compile(flex_attention)
