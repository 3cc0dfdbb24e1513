"""Context parallelism on the CPU target: every rank of a ring, striped or
tree plan simulated in this process (attnc.context_parallel.simulate, the
same schedule and merge as the NCCL path) against the attention compiled
for one device, and against an independent float64 reference for causal
attention; the shard's LSE against the reference's; refusals."""
import os
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import attnc
from attnc import context_parallel as cp

HEAD = """variant {name}
dims B, H, L, D{extra_dims}
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
{inputs}attention a(q, k, v) {{
{body}
}}
output o = a
"""

# (name, extra dims, extra inputs, attention body, extra tensors(B, H, L))
CASES = [
    ("causal", "", "", "  carrier causal", None),
    ("window_sinks", "", "", "  carrier window(left=5, right=0, sinks=2)", None),
    ("window_two_sided", "", "", "  carrier window(left=3, right=4)", None),
    ("alibi_softcap", "", "input slopes : [H]\n",
     "  carrier causal\n  score s + slopes[h] * (j - i)\n  score 5 * tanh(s / 5)",
     lambda B, H, L: {"slopes": torch.rand(H, dtype=torch.float32)}),
    ("mask_lines", "", "", "  mask (i // 4) >= (j // 4)\n  mask abs(i - j) <= 9", None),
    ("length_in_score", "", "", "  carrier causal\n  score s - 2.0 * (i - j) / L", None),
    ("sigmoid_none", "", "", "  carrier causal\n  link sigmoid\n  anchor none", None),
    ("prefix", "", "", "  carrier prefix(length=6)", None),
    ("document", ", N", "input cu : [N]\n", "  carrier document(seqlens=cu)\n  carrier causal",
     lambda B, H, L: {"cu": torch.tensor([0, 5, 13, 22, L], dtype=torch.int32)}),
]


def spec_of(case):
    name, extra_dims, inputs, body, _ = case
    return HEAD.format(name=name, extra_dims=extra_dims, inputs=inputs, body=body)


def run_case(case, layout, world, B=1, H=2, L=48, D=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, H, L, D, generator=gen) for _ in range(3))
    extras = case[4](B, H, L) if case[4] else {}
    dims = dict(B=B, H=H, D=D)
    if case[1]:
        dims["N"] = 5
    whole = attnc.compile(spec_of(case), L=L, **dims)
    want = whole(q, k, v, **extras)
    fn = attnc.compile(spec_of(case), context_parallel=layout, world=world, L=L // world, **dims)
    got, lse = cp.simulate(fn, q, k, v, **extras)
    return q, k, v, want, got, lse


@pytest.mark.parametrize("layout", ["ring", "striped"])
@pytest.mark.parametrize("world", [2, 3, 4])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_plan_matches_one_device(case, layout, world):
    L = 48 if world != 3 else 36
    _, _, _, want, got, _ = run_case(case, layout, world, L=L)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=2e-5)


def test_causal_against_float64_reference_and_lse():
    q, k, v, _, got, lse = run_case(CASES[0], "striped", 4, L=32)
    s = (q.double() @ k.double().transpose(-1, -2)) / np.sqrt(q.shape[-1])
    L = q.shape[2]
    s = s.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), float("-inf"))
    want = torch.softmax(s, -1) @ v.double()
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lse.numpy(), torch.logsumexp(s, -1).numpy(), rtol=1e-5, atol=1e-5)


TREE = """variant decode
dims B, H, Lq, Lk, D
input q : [B, H, Lq, D]
input k : [B, H, Lk, D]
input v : [B, H, Lk, D]
attention a(q, k, v) {
  carrier window(left=20, right=0, align=bottom_right)
}
output o = a
"""


@pytest.mark.parametrize("world", [2, 4])
def test_tree_decode(world):
    gen = torch.Generator().manual_seed(1)
    q = torch.randn(2, 2, 3, 16, generator=gen)
    k, v = (torch.randn(2, 2, 64, 16, generator=gen) for _ in range(2))
    want = attnc.compile(TREE, B=2, H=2, Lq=3, Lk=64, D=16)(q, k, v)
    fn = attnc.compile(TREE, context_parallel="tree", world=world, B=2, H=2, Lq=3, Lk=64 // world, D=16)
    got, _ = cp.simulate(fn, q, k, v)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=2e-5)


CROSS = """variant cross
dims B, H, Lq, Lk, D
input q : [B, H, Lq, D]
input k : [B, H, Lk, D]
input v : [B, H, Lk, D]
attention a(q, k, v) {
  carrier causal(align=bottom_right)
  score s - 0.1 * abs(i - j)
}
output o = a
"""


@pytest.mark.parametrize("layout,world", [("ring", 2), ("striped", 4)])
def test_cross_attention_bottom_right(layout, world):
    """Lq != Lk: the bottom-right diagonal sits at the global lengths."""
    gen = torch.Generator().manual_seed(4)
    q = torch.randn(1, 2, 24, 8, generator=gen)
    k, v = (torch.randn(1, 2, 40, 8, generator=gen) for _ in range(2))
    want = attnc.compile(CROSS, B=1, H=2, Lq=24, Lk=40, D=8)(q, k, v)
    fn = attnc.compile(CROSS, context_parallel=layout, world=world, B=1, H=2, Lq=24 // world,
                       Lk=40 // world, D=8)
    got, _ = cp.simulate(fn, q, k, v)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=2e-5)


def test_empty_rows_stay_zero():
    """A row no key of any step keeps gives 0 and LSE -inf: the mask reads a
    table (100), so the plan cannot skip the steps and the shard runs them;
    every step's rows are empty and merge to 0."""
    spec = spec_of(("never", "", "input far : [1] i32\n", "  mask j > i + far[0]", None))
    q, k, v = (torch.randn(1, 1, 16, 8) for _ in range(3))
    far = torch.tensor([100], dtype=torch.int32)
    fn = attnc.compile(spec, context_parallel="ring", world=2, B=1, H=1, L=8, D=8)
    assert all(s["keeps"] == "some" for r in range(2) for s in cp.plan(fn, r))
    got, lse = cp.simulate(fn, q, k, v, far=far)
    assert torch.all(got == 0) and torch.all(torch.isneginf(lse))
    o, lse0 = fn(q[:, :, :8], k[:, :, :8], v[:, :, :8], far=far,
                 cp_offsets=torch.tensor([0, 0], dtype=torch.int32), return_lse=True)
    assert torch.all(o == 0) and torch.all(torch.isneginf(lse0))


def test_merger_rows_empty_on_both_sides_and_nan():
    m = cp.Merger()
    m.add(torch.zeros(1, 1, 2, 2), torch.tensor([[[float("-inf"), 0.0]]]))
    m.add(torch.ones(1, 1, 2, 2), torch.tensor([[[float("-inf"), float("nan")]]]))
    o, lse = m.result(torch.float32)
    assert torch.all(o[0, 0, 0] == 0) and torch.isneginf(lse[0, 0, 0])
    assert torch.all(torch.isnan(o[0, 0, 1])) and torch.isnan(lse[0, 0, 1])


@pytest.mark.parametrize("body,inputs,message", [
    ("  anchor sinkhorn(iterations=3)", "", "Sinkhorn"),
    ("  anchor row(null=0.5)", "", "null key"),
    ("  score s + bias[i]", "input bias : [L]\n", "sized by the split length L"),
])
def test_refusals(body, inputs, message):
    spec = HEAD.format(name="bad", extra_dims="", inputs=inputs, body=body)
    with pytest.raises(attnc.Error, match=message):
        attnc.compile(spec, context_parallel="ring", world=2, B=1, H=1, L=8, D=8)


def test_refuses_position_reads_a_shard_cannot_answer():
    mapped = HEAD.format(name="bad", extra_dims="", inputs="", body="  carrier causal").replace(
        "attention a(q, k, v)", "let qf = map(q, x * (1 + 0.05 * i))\nattention a(qf, k, v)")
    with pytest.raises(attnc.Error, match="reads the token position i"):
        attnc.compile(mapped, context_parallel="ring", world=2, B=1, H=1, L=8, D=8)
    for line in ("  score s + 0.5 * k[b, h, j, 0]", "  mask v[b, h, j, 0] > -1.0"):
        spec = HEAD.format(name="bad", extra_dims="", inputs="", body=line)
        with pytest.raises(attnc.Error, match="reads '[kv]' by position"):
            attnc.compile(spec, context_parallel="striped", world=2, B=1, H=1, L=8, D=8)
    # A map that does not read i is per token: it shards.
    plain = HEAD.format(name="ok", extra_dims="", inputs="", body="  carrier causal").replace(
        "attention a(q, k, v)", "let qf = map(q, 2 * x)\nattention a(qf, k, v)")
    attnc.compile(plain, context_parallel="ring", world=2, B=1, H=1, L=8, D=8)


def test_neighborhood_shards_at_its_global_grid():
    spec = open(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                             "07_neighborhood_1d.attn")).read()
    gen = torch.Generator().manual_seed(8)
    dims = {"B": 1, "H": 2, "D": 8}
    q, k, v = (torch.randn(1, 2, 45, 8, generator=gen) for _ in range(3))
    want = attnc.compile(spec, L=45, **dims)(q, k, v)
    fn = attnc.compile(spec, context_parallel="ring", world=3, L=15, **dims)
    got, _ = cp.simulate(fn, q, k, v)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2e-5, atol=2e-5)


def test_refuses_output_expressions_and_rope():
    two = HEAD.format(name="bad", extra_dims="", inputs="", body="  carrier causal").replace(
        "output o = a", "output o = 2 * a")
    with pytest.raises(attnc.Error, match="must be the attention 'a' itself"):
        attnc.compile(two, context_parallel="striped", world=2, B=1, H=1, L=8, D=8)
    rope = HEAD.format(name="bad", extra_dims="", inputs="", body="  carrier causal").replace(
        "attention a(q, k, v)", "let qr = rope(q, theta=10000)\nattention a(qr, k, v)")
    with pytest.raises(attnc.Error, match="rope reads token positions"):
        attnc.compile(rope, context_parallel="ring", world=2, B=1, H=1, L=8, D=8)
    with pytest.raises(attnc.Error, match="expected ring, striped or tree"):
        attnc.compile(spec_of(CASES[0]), context_parallel="mesh", world=2, B=1, H=1, L=8, D=8)


def keep_matrix(case, L, B=1, H=2):
    """keep[b, h, i, j] of the whole attention, from the one-device CPU
    program: v = one-hot of each key, so o[i, j] > 0 iff query i keeps key
    j (softmax weights are positive wherever kept)."""
    extras = case[4](B, H, L) if case[4] else {}
    dims = dict(B=B, H=H, D=L)
    if case[1]:
        dims["N"] = 5
    fn = attnc.compile(spec_of(case), L=L, **dims)
    q = torch.zeros(B, H, L, L)
    v = torch.eye(L).expand(B, H, L, L).contiguous()
    return fn(q, q, v, **extras) > 0


@pytest.mark.parametrize("layout,world", [("ring", 4), ("striped", 2), ("ring", 3)])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_plan_keeps_against_brute_force(case, layout, world):
    """The compiler's per-step 'keeps' is sound (none only where no pair of
    the block is kept, all only where every pair is) and exact for causal
    and window carriers on contiguous blocks."""
    L = 12 * world
    keep = keep_matrix(case, L)
    dims = dict(B=1, H=2, D=L)
    if case[1]:
        dims["N"] = 5
    fn = attnc.compile(spec_of(case), context_parallel=layout, world=world, L=L // world, **dims)
    pos = torch.arange(L)
    for rank in range(world):
        rows = cp.shard(pos.view(1, 1, L, 1), layout, world, rank).flatten()
        for step in cp.plan(fn, rank):
            cols = cp.shard(pos.view(1, 1, L, 1), layout, world, step["block"]).flatten()
            block = keep[:, :, rows][:, :, :, cols]
            if step["keeps"] == "none":
                assert not block.any(), (rank, step)
            if step["keeps"] == "all":
                assert block.all(), (rank, step)
            if case[0] in ("causal", "window_sinks") and layout == "ring":
                want = "none" if not block.any() else "all" if block.all() else "some"
                assert step["keeps"] == want, (rank, step)


def test_ring_causal_plan_skips_the_upper_blocks():
    fn = attnc.compile(spec_of(CASES[0]), context_parallel="ring", world=4, B=1, H=1, L=8, D=8)
    keeps = [[s["keeps"] for s in cp.plan(fn, r)] for r in range(4)]
    assert keeps == [["some", "none", "none", "none"], ["some", "all", "none", "none"],
                     ["some", "all", "all", "none"], ["some", "all", "all", "all"]]
    assert [s["block"] for s in cp.plan(fn, 2)] == [2, 1, 0, 3]
    assert [s["offsets"] for s in cp.plan(fn, 2)] == [[16, 16], [16, 8], [16, 0], [16, 24]]


def test_ring_stops_after_the_last_step_any_rank_needs():
    """A causal window narrower than a block needs each rank's own block and
    the one before it: 2 of the 4 ring steps; a two-sided window also needs
    the next block (the last step), causal all 4."""
    spec = spec_of(("window", "", "", "  carrier window(left=5, right=0)", None))
    window = attnc.compile(spec, context_parallel="ring", world=4, B=1, H=1, L=8, D=8)
    assert cp.steps_needed(window) == 2
    assert all(s["keeps"] == "none" for r in range(4) for s in cp.plan(window, r)[2:])
    two_sided = attnc.compile(spec_of(CASES[2]), context_parallel="ring", world=4, B=1, H=1, L=8, D=8)
    assert cp.steps_needed(two_sided) == 4
    causal = attnc.compile(spec_of(CASES[0]), context_parallel="ring", world=4, B=1, H=1, L=8, D=8)
    assert cp.steps_needed(causal) == 4


def test_shard_helpers_round_trip():
    x = torch.arange(2 * 12).reshape(1, 2, 12, 1)
    for layout in ("ring", "striped"):
        parts = [cp.shard(x, layout, 3, r) for r in range(3)]
        assert torch.equal(cp.unshard(parts, layout), x)
    assert cp.shard(x, "striped", 3, 1)[0, 0, :, 0].tolist() == [1, 4, 7, 10]
    with pytest.raises(ValueError, match="pad it to a multiple of 5"):
        cp.shard(x, "ring", 5, 0)


def _rank_main(rank, world, port, layout, spec, dims, seed, queue):
    """One rank of a torch.distributed (gloo) run of the plan on the CPU
    target: the same inputs everywhere (one seed), this rank's rows out."""
    import torch.distributed as dist
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        gen = torch.Generator().manual_seed(seed)
        B, H, D = dims["B"], dims["H"], dims["D"]
        if layout == "tree":
            q = torch.randn(B, H, dims["Lq"], D, generator=gen)
            k, v = (torch.randn(B, H, dims["Lk"], D, generator=gen) for _ in range(2))
            local = dict(dims, Lk=dims["Lk"] // world)
        else:
            q, k, v = (torch.randn(B, H, dims["L"], D, generator=gen) for _ in range(3))
            local = dict(dims, L=dims["L"] // world)
        fn = attnc.compile(spec, context_parallel=layout, world=world, **local)
        kr, vr = (cp.shard(x, layout, world, rank) for x in (k, v))
        if layout == "tree":
            o, lse = cp.tree_attention(fn, q, kr, vr)
        else:
            o, lse = cp.ring_attention(fn, cp.shard(q, layout, world, rank), kr, vr)
        queue.put((rank, (o.numpy(), lse.numpy()), None))
    except Exception as e:  # noqa: BLE001 - reported by the parent
        queue.put((rank, None, repr(e)))
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("layout,world,body", [
    ("striped", 2, "  carrier causal"),
    ("ring", 3, "  carrier window(left=5, right=0)"),
    ("ring", 3, "  carrier causal\n  link sigmoid\n  anchor none"),
])
def test_ring_attention_over_gloo(layout, world, body):
    """ring_attention itself (send/recv of K/V blocks, skipped and truncated
    steps, the merge) in `world` processes over gloo, against one device."""
    import torch.multiprocessing as mp
    spec = spec_of(("ring", "", "", body, None))
    dims = dict(B=1, H=2, L=12 * world, D=8)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank_main, args=(r, world, port, layout, spec, dims, 5, queue))
             for r in range(world)]
    for p in procs:
        p.start()
    results = dict((r, (o, err)) for r, o, err in (queue.get(timeout=120) for _ in procs))
    for p in procs:
        p.join(timeout=60)
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(1, 2, dims["L"], 8, generator=gen) for _ in range(3))
    want = attnc.compile(spec, **dims)(q, k, v)
    for r in range(world):
        o, err = results[r]
        assert err is None, err
        np.testing.assert_allclose(o[0], cp.shard(want, layout, world, r).numpy(), rtol=2e-5, atol=2e-5)


TREE_ALL = TREE.replace("carrier window(left=20, right=0, align=bottom_right)",
                        "carrier causal(align=bottom_right)\n  score s + 0.2 * (j - i) / 8")


@pytest.mark.parametrize("world", [2, 3, 4])
def test_tree_attention_over_gloo(world):
    """Recursive doubling for 2 and 4 ranks, the all-gather for 3; every
    rank's block holds kept keys, so every exchange merges real partials:
    the output and the LSE against float64, the same bits on every rank."""
    import torch.multiprocessing as mp
    dims = dict(B=1, H=2, Lq=3, Lk=48, D=8)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank_main, args=(r, world, port, "tree", TREE_ALL, dims, 6, queue))
             for r in range(world)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    gen = torch.Generator().manual_seed(6)
    q = torch.randn(1, 2, 3, 8, generator=gen)
    k, v = (torch.randn(1, 2, 48, 8, generator=gen) for _ in range(2))
    # The score sees the query's own index i; the carrier aligns it bottom-right.
    i, j = torch.arange(3)[:, None], torch.arange(48)[None, :]
    s = (q.double() @ k.double().transpose(-1, -2)) / 8 ** 0.5 + 0.2 * (j - i) / 8
    s = s.masked_fill(j > i + 45, float("-inf"))
    want, want_lse = torch.softmax(s, -1) @ v.double(), torch.logsumexp(s, -1)
    first = None
    for _, out, err in results:
        assert err is None, err
        o, lse = out
        np.testing.assert_allclose(o, want.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(lse, want_lse.numpy(), rtol=1e-5, atol=1e-5)
        if first is None:
            first = (o, lse)
        assert np.array_equal(o, first[0]) and np.array_equal(lse, first[1])
