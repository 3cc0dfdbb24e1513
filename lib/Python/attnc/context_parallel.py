"""Context parallelism: one attention across ranks (docs/context-parallel.md).

A shard compiled with ``attnc.compile(spec, context_parallel=LAYOUT, world=N,
...)`` computes one rank's queries against one block of keys, given where
both sit in the whole sequence (its ``cp_offsets`` input), and returns its
LSE; the compiler also plans each rank's steps (``fn.cp_plan``: the key
block, the offsets, and whether the carrier keeps any pair of it). This
module is the host side: which rows each rank holds, the steps run as the
plan says (a step that keeps nothing is skipped), and the anchor's combine
rule that merges the steps' partial results.

- ``ring``: rank r holds the contiguous rows [r L, (r + 1) L) of q, k and v;
  the key blocks travel around the ring, one step each.
- ``striped``: rank r holds the tokens t with t mod N == r (so causal work is
  balanced across ranks); the key stripes travel as in ring.
- ``tree``: queries are replicated (decode) and rank r holds the key block r;
  each rank attends its block and the partial results are merged across
  ranks (recursive doubling: log2 N exchanges of the running merge).

``simulate`` runs every rank in this process (no GPU: the CPU target's
shards, or CUDA tensors on one device); ``ring_attention`` and
``tree_attention`` run one rank under torch.distributed (NCCL), passing K/V
blocks with send/recv overlapped with the previous block's attention.
"""

__all__ = ["shard", "unshard", "plan", "steps_needed", "Merger", "simulate", "ring_attention",
           "tree_attention"]

LAYOUTS = ("ring", "striped", "tree")


def _check(layout, world):
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not '{layout}'")
    if world < 1:
        raise ValueError(f"world must be positive, got {world}")


def shard(x, layout, world, rank, axis=2, keys=True):
    """Rank's rows of x (a torch tensor) along `axis`; under tree, queries
    (keys=False) are not split."""
    _check(layout, world)
    n = x.shape[axis]
    if layout == "tree" and not keys:
        return x
    if n % world:
        raise ValueError(f"context parallelism splits length {n} into {world} equal shards: "
                         f"pad it to a multiple of {world}")
    if layout == "striped":
        return x.unflatten(axis, (n // world, world)).select(axis + 1, rank).contiguous()
    return x.narrow(axis, rank * (n // world), n // world).contiguous()


def unshard(parts, layout, axis=2):
    """The whole tensor from every rank's rows (inverse of shard)."""
    import torch
    if layout == "tree":
        return parts[0]
    if layout == "striped":
        return torch.stack(parts, dim=axis + 1).flatten(axis, axis + 1)
    return torch.cat(parts, dim=axis)


def plan(fn, rank):
    """Rank's steps from the compiler's plan (attnc_program_cp_schedule):
    dicts with the key block, the cp_offsets and "keeps" (none: the carrier
    keeps no pair of the block, and the step is skipped; some; all)."""
    if not getattr(fn, "cp_plan", None):
        raise ValueError(f"{fn.program.name}: compile it with context_parallel= and world=")
    return fn.cp_plan["ranks"][rank]


class Merger:
    """The combine rule of a row-normalised anchor over partial results of
    one set of rows: O = sum_t o_t e^(lse_t - LSE), LSE = log sum_t e^lse_t
    (rows no step keeps stay 0, LSE -inf); under anchor none the partials
    are unnormalised sums and add. Accumulates in float32 (float64 for
    float64 partials; the LSE itself is float32, docs/gpu-abi.md)."""

    def __init__(self, normalised=True):
        self.normalised = normalised
        self.o = self.lse = None

    def add(self, o, lse):
        import torch
        acc = torch.float64 if o.dtype == torch.float64 else torch.float32
        if self.o is None:
            self.o = o.to(acc) if o.dtype != acc else o.clone()
            self.lse = lse.clone()
            return
        new = torch.logaddexp(self.lse, lse)
        if self.normalised:
            # The two weights e^(lse - LSE) sum to 1, so one lerp merges (a
            # single pass over o). A row still empty on both sides (LSE
            # -inf, where exp(-inf - -inf) would be NaN) keeps its 0; a NaN
            # LSE propagates.
            keep = torch.isfinite(new) | torch.isnan(new)
            w = torch.where(keep, torch.exp(lse - new), torch.zeros_like(new))
            self.o.lerp_(o.to(self.o.dtype), w.unsqueeze(-1).to(self.o.dtype))
        else:
            self.o += o
        self.lse = new

    def result(self, dtype, q=None, v=None, heads=None):
        """(o, lse); a rank whose every step was skipped gets o = 0 and
        lse = -inf, shaped by q, v and the output head count."""
        import torch
        if self.o is None:
            B, _, L, _ = q.shape
            o = q.new_zeros((B, heads, L, v.shape[-1]), dtype=dtype)
            return o, torch.full((B, heads, L), float("-inf"), device=q.device)
        return self.o.to(dtype), self.lse


def _normalised(fn):
    rule = fn.program.merge_rule
    if rule not in ("lse", "sum"):
        raise ValueError(f"{fn.program.name}: not compiled with context_parallel=")
    return rule == "lse"


def _layout(fn):
    if not getattr(fn, "cp_plan", None):
        raise ValueError(f"{fn.program.name}: compile it with context_parallel= and world=")
    return fn.cp_plan["layout"], fn.cp_plan["world"]


def steps_needed(fn):
    """How many ring steps any rank needs: after the last step with a block
    that some rank keeps pairs of, nothing is passed on (a sliding window
    narrower than a block needs 2 of N)."""
    ranks = fn.cp_plan["ranks"]
    used = [t for steps in ranks for t, s in enumerate(steps) if s["keeps"] != "none"]
    return max(used) + 1 if used else 0


def _offsets_on(fn, rank, device):
    """Rank's cp_offsets, one row per step, on `device`; made once per
    compiled shard: a host-to-device copy per call would wait for the
    stream and keep the host from queueing the next step's transfers."""
    import torch
    cache = fn.__dict__.setdefault("_cp_offsets", {})
    key = (rank, str(device))
    if key not in cache:
        cache[key] = torch.tensor([s["offsets"] for s in plan(fn, rank)], dtype=torch.int32, device=device)
    return cache[key]


def _heads(q, k):
    return max(q.shape[1], k.shape[1])


def _out_dtype(fn, q):
    """The dtype of the shard program's output (not q's: q may be FP8 bytes)."""
    import torch
    names = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32,
             "float64": torch.float64}
    outs = getattr(getattr(fn, "program", None), "outputs", None)
    return names.get(outs[0][1], q.dtype) if outs else q.dtype


def simulate(fn, q, k, v, **extras):
    """Runs the plan of `fn` (a shard) with every rank in this process on the
    whole q, k, v (torch tensors); returns the whole (o, lse) as one device
    would. Tables in `extras` are whole on every rank."""
    import torch
    layout, world = _layout(fn)
    normalised = _normalised(fn)
    outs, lses = [], []
    for rank in range(world):
        qr = shard(q, layout, world, rank, keys=False)
        merger = Merger(normalised)
        for step in plan(fn, rank):
            if step["keeps"] == "none":
                continue
            kb, vb = shard(k, layout, world, step["block"]), shard(v, layout, world, step["block"])
            off = torch.tensor(step["offsets"], dtype=torch.int32, device=q.device)
            merger.add(*fn(qr, kb, vb, cp_offsets=off, return_lse=True, **extras))
        o, lse = merger.result(_out_dtype(fn, q), qr, v, _heads(q, k))
        outs.append(o)
        lses.append(lse)
    if layout == "tree":
        merger = Merger(normalised)
        for o, lse in zip(outs, lses):
            merger.add(o, lse)
        return merger.result(_out_dtype(fn, q))
    return unshard(outs, layout), unshard(lses, layout)


def ring_attention(fn, q, k, v, group=None, **extras):
    """One rank of a ring or striped plan under torch.distributed: q, k, v
    are this rank's rows (shard()); K/V blocks go to rank + 1 while the
    current block is attended (steps the carrier never keeps only pass
    their block on). Returns this rank's (o, lse)."""
    import torch
    import torch.distributed as dist
    layout, world = _layout(fn)
    if layout == "tree":
        raise ValueError("ring_attention runs ring and striped plans; tree_attention runs tree")
    rank = dist.get_rank(group)
    if dist.get_world_size(group) != world:
        raise ValueError(f"{fn.program.name} was compiled for {world} ranks, the group has "
                         f"{dist.get_world_size(group)}")
    normalised = _normalised(fn)
    steps = plan(fn, rank)
    offs = _offsets_on(fn, rank, q.device)
    nxt, prv = (rank + 1) % world, (rank - 1) % world
    to, frm = (dist.get_global_rank(group, r) if group is not None else r for r in (nxt, prv))
    cur_k, cur_v = k, v
    merger = Merger(normalised)
    needed = steps_needed(fn)
    for t, step in enumerate(steps[:needed]):
        reqs = []
        if t + 1 < needed:
            new_k, new_v = torch.empty_like(cur_k), torch.empty_like(cur_v)
            ops = [dist.P2POp(dist.isend, cur_k, to, group), dist.P2POp(dist.isend, cur_v, to, group),
                   dist.P2POp(dist.irecv, new_k, frm, group), dist.P2POp(dist.irecv, new_v, frm, group)]
            reqs = dist.batch_isend_irecv(ops)
        if step["keeps"] != "none":
            merger.add(*fn(q, cur_k, cur_v, cp_offsets=offs[t], return_lse=True, **extras))
        for r in reqs:
            r.wait()
        if reqs:
            cur_k, cur_v = new_k, new_v
    return merger.result(_out_dtype(fn, q), q, v, _heads(q, k))


def tree_attention(fn, q, k, v, group=None, **extras):
    """One rank of a tree plan (decode): q whole, k and v this rank's key
    block; every rank gets the merged (o, lse)."""
    import torch
    import torch.distributed as dist
    layout, world = _layout(fn)
    if layout != "tree":
        raise ValueError("tree_attention runs tree plans")
    if dist.get_world_size(group) != world:
        raise ValueError(f"{fn.program.name} was compiled for {world} ranks, the group has "
                         f"{dist.get_world_size(group)}")
    rank = dist.get_rank(group)
    merger = Merger(_normalised(fn))
    offs = _offsets_on(fn, rank, q.device)
    for t, step in enumerate(plan(fn, rank)):
        if step["keeps"] != "none":
            merger.add(*fn(q, k, v, cp_offsets=offs[t], return_lse=True, **extras))
    # The partial stays in the merge's precision until the ranks have merged.
    acc = merger.o.dtype if merger.o is not None else torch.float32
    o, lse = merger.result(acc, q, v, _heads(q, k))
    return _tree_merge(fn, o, lse, rank, world, group, _out_dtype(fn, q))


def _tree_merge(fn, o, lse, rank, world, group, dtype):
    """Merges every rank's (o, lse) onto every rank: recursive doubling (log2
    N rounds of exchanging the running merge with rank ^ 2^s) when N is a
    power of two, else one all-gather."""
    import torch
    import torch.distributed as dist
    merger = Merger(_normalised(fn))
    if world & (world - 1):
        os_, lses = [torch.empty_like(o) for _ in range(world)], [torch.empty_like(lse) for _ in range(world)]
        dist.all_gather(os_, o.contiguous(), group=group)
        dist.all_gather(lses, lse.contiguous(), group=group)
        for part, l in zip(os_, lses):
            merger.add(part, l)
        return merger.result(dtype)
    merger.add(o, lse)
    span = 1
    while span < world:
        partner = rank ^ span
        peer = dist.get_global_rank(group, partner) if group is not None else partner
        po, pl = torch.empty_like(merger.o), torch.empty_like(merger.lse)
        ops = [dist.P2POp(dist.isend, merger.o, peer, group), dist.P2POp(dist.isend, merger.lse, peer, group),
               dist.P2POp(dist.irecv, po, peer, group), dist.P2POp(dist.irecv, pl, peer, group)]
        for r in dist.batch_isend_irecv(ops):
            r.wait()
        # Both sides merge the lower rank's result first: every rank ends
        # with the same bits.
        if partner < rank:
            lower = Merger(merger.normalised)
            lower.add(po, pl)
            lower.add(merger.o, merger.lse)
            merger = lower
        else:
            merger.add(po, pl)
        span *= 2
    return merger.result(dtype)
