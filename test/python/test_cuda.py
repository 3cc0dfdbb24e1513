"""The Python package on the GPU target (torch CUDA tensors): results against
a float64 reference computed with torch, the current stream, the LSE,
torch.compile through the custom op, CUDA-graph capture, and errors. Skipped
where torch has no CUDA device (CI); run on the GPU machine."""
import os

import pytest

import attnc

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")

GQA_CAUSAL = """variant gqa_causal
dims B, H, Hk, L, D
input q : [B, H, L, D]
input k : [B, Hk, L, D]
input v : [B, Hk, L, D]
attention a(q, k, v) {
  carrier causal(align=bottom_right)
}
output o = a
"""


def reference(q, k, v, keep, bias=None):
    """Softmax attention and its LSE in float64 (torch ops, no fused kernels);
    GQA by h // (H // Hk)."""
    q, k, v = (t.double() for t in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
    s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if bias is not None:
        s = s + bias
    s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, dim=-1) @ v, torch.logsumexp(s, dim=-1)


def rand(*shape, dtype=torch.bfloat16, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32).to(dtype)


def poisoned_rel_err(o, want):
    assert torch.isfinite(o).all(), "an output element was not written (or is not finite)"
    return ((o.double() - want).norm() / want.norm()).item()


def causal(Lq, Lk):
    i = torch.arange(Lq, device="cuda")[:, None] + (Lk - Lq)
    return torch.arange(Lk, device="cuda")[None, :] <= i


def test_gqa_causal_matches_reference_with_lse():
    B, H, Hk, L, D = 2, 8, 2, 300, 128
    fn = attnc.compile(GQA_CAUSAL, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    q, k, v = rand(B, H, L, D, seed=1), rand(B, Hk, L, D, seed=2), rand(B, Hk, L, D, seed=3)
    o, lse = fn(q, k, v, return_lse=True)
    assert o.dtype == torch.bfloat16 and o.shape == (B, H, L, D) and lse.shape == (B, H, L)
    want, want_lse = reference(q, k, v, causal(L, L))
    assert poisoned_rel_err(o, want) < 1e-2
    assert (lse.double() - want_lse).abs().max().item() < 2e-2


def test_extras_f16_and_a_side_stream():
    B, H, L, D = 1, 4, 257, 64
    fn = attnc.compile(os.path.join(EXAMPLES, "05_alibi.attn"), target="cuda", dtype="float16", B=B, H=H, L=L, D=D)
    q, k, v = (rand(B, H, L, D, dtype=torch.float16, seed=s) for s in (4, 5, 6))
    slopes = torch.tensor([2.0 ** (-8 * (h + 1) / H) for h in range(H)], device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        o = fn(q, k, v, slopes=slopes)  # launched on `side`, the current stream here
    side.synchronize()
    idx = torch.arange(L, device="cuda")
    bias = slopes.double()[:, None, None] * (idx[None, None, :] - idx[None, :, None])
    want, _ = reference(q, k, v, causal(L, L), bias)
    assert poisoned_rel_err(o, want) < 1e-2


def test_torch_compile_traces_the_custom_op():
    if not hasattr(torch.library, "custom_op"):
        pytest.skip("torch.library.custom_op needs torch >= 2.4")
    B, H, Hk, L, D = 1, 4, 4, 128, 64
    fn = attnc.compile(GQA_CAUSAL, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    q, k, v = (rand(B, H, L, D, seed=s) for s in (7, 8, 9))

    def block(q, k, v):
        return fn(q * 2, k, v) + 1

    compiled = torch.compile(block, fullgraph=True)
    got = compiled(q, k, v)
    want, _ = reference(q * 2, k, v, causal(L, L))
    assert poisoned_rel_err(got - 1, want) < 1e-2


def test_cuda_graph_capture_and_replay():
    B, H, Hk, L, D = 1, 4, 2, 200, 128
    fn = attnc.compile(GQA_CAUSAL, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    q, k, v = rand(B, H, L, D, seed=10), rand(B, Hk, L, D, seed=11), rand(B, Hk, L, D, seed=12)
    fn(q, k, v)  # warm-up outside the capture (module load)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        o = fn(q, k, v)
    for seed in (13, 14):  # new values in the captured buffers, then replay
        q.copy_(rand(B, H, L, D, seed=seed))
        o.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        want, _ = reference(q, k, v, causal(L, L))
        assert poisoned_rel_err(o, want) < 1e-2


def test_errors_name_the_input():
    B, H, Hk, L, D = 1, 2, 1, 64, 64
    fn = attnc.compile(GQA_CAUSAL, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    q, k = rand(B, H, L, D), rand(B, Hk, L, D)
    with pytest.raises(attnc.Error, match=r"input 'q': expected torch.bfloat16, got torch.float32"):
        fn(q.float(), k, k)
    with pytest.raises(attnc.Error, match=r"input 'k' is on cpu"):
        fn(q, k.cpu(), k)
    with pytest.raises(attnc.Error, match=r"input 'v': expected shape \[1, 1, 64, 64\], got \[1, 2, 64, 64\]"):
        fn(q, k, q)
    # A view whose last axis is not contiguous cannot be a TMA source: the
    # runtime refuses it, naming the tensor.
    with pytest.raises(attnc.Error, match="stride"):
        fn(q.transpose(2, 3).contiguous().transpose(2, 3), k, k)
    with pytest.raises(attnc.Error, match="return_lse"):
        attnc.compile(GQA_CAUSAL, B=B, H=H, Hk=Hk, L=L, D=4)(q.cpu().float()[..., :4], k.cpu().float()[..., :4],
                                                              k.cpu().float()[..., :4], return_lse=True)


def test_strided_heads_view():
    # q as a [B, L, H, D] buffer viewed as [B, H, L, D]: rows of one head
    # are H * D apart. Either the kernel reads it through its strides or the
    # runtime refuses it with a message; a silently wrong result fails.
    B, H, Hk, L, D = 1, 4, 4, 128, 64
    fn = attnc.compile(GQA_CAUSAL, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    qb = rand(B, L, H, D, seed=15)
    k, v = rand(B, Hk, L, D, seed=16), rand(B, Hk, L, D, seed=17)
    q = qb.transpose(1, 2)
    try:
        o = fn(q, k, v)
    except attnc.Error as e:
        assert "stride" in str(e) or "contiguous" in str(e), str(e)
        return
    want, _ = reference(q, k, v, causal(L, L))
    assert poisoned_rel_err(o, want) < 1e-2


def test_two_outputs_of_one_attention_are_both_written():
    spec = GQA_CAUSAL.replace("output o = a\n", "output o1 = a\noutput o2 = a\n").replace(
        "variant gqa_causal", "variant two_outputs")
    B, H, Hk, L, D = 1, 4, 2, 96, 64
    fn = attnc.compile(spec, target="cuda", B=B, H=H, Hk=Hk, L=L, D=D)
    q, k, v = rand(B, H, L, D, seed=18), rand(B, Hk, L, D, seed=19), rand(B, Hk, L, D, seed=20)
    o1, o2 = fn(q, k, v)
    want, _ = reference(q, k, v, causal(L, L))
    assert poisoned_rel_err(o1, want) < 1e-2 and poisoned_rel_err(o2, want) < 1e-2


def test_spec_as_a_path_object():
    import pathlib
    fn = attnc.compile(pathlib.Path(EXAMPLES) / "02_causal_self.attn", target="cuda", B=1, H=2, L=64, D=64)
    assert fn.inputs == ["q", "k", "v"]


def cpu_reference(spec, tensors, **dims):
    """The spec's first output on the CPU backend in float64 (the compiler's
    reference path), on the same values as the GPU inputs."""
    fn = attnc.compile(spec, target="cpu", dtype="float64", **dims)
    out = fn(*[(t.double() if t.is_floating_point() else t).cpu().numpy() for t in tensors])
    out = out[0] if isinstance(out, tuple) else out
    return torch.from_numpy(out).cuda()


def test_program_with_lets_and_a_generic_attention():
    # RoPE lets before a Hopper kernel, and a Sinkhorn attention on the
    # generic path, in one program; the LSE exists for neither output.
    spec = """variant rope_two
dims B, H, L, D
input q : [B, H, L, D]
input k : [B, H, L, D]
input v : [B, H, L, D]
let qr = rope(q, theta=10000)
let kr = rope(k, theta=10000)
attention a(qr, kr, v) {
  carrier causal(align=bottom_right)
}
attention sk(qr, kr, v) {
  anchor sinkhorn(iterations=2)
}
output o = a
output p = sk
"""
    B, H, L, D = 2, 2, 90, 64
    fn = attnc.compile(spec, target="cuda", B=B, H=H, L=L, D=D)
    q, k, v = rand(B, H, L, D, seed=21), rand(B, H, L, D, seed=22), rand(B, H, L, D, seed=23)
    o, p = fn(q, k, v)
    want_o = cpu_reference(spec, (q, k, v), B=B, H=H, L=L, D=D)
    want_p = cpu_reference(spec.replace("output o = a\noutput p = sk", "output p = sk\noutput o = a"), (q, k, v),
                           B=B, H=H, L=L, D=D)
    assert poisoned_rel_err(o, want_o) < 1e-2
    assert poisoned_rel_err(p, want_p) < 1e-2
    with pytest.raises(attnc.Error, match="has no LSE"):
        fn(q, k, v, return_lse=True)


def test_program_output_expression_in_a_cuda_graph():
    # Differential attention: two Hopper kernels and a generic combine, run
    # once, then captured (its temporaries allocated inside the capture) and
    # replayed on new inputs.
    path = os.path.join(EXAMPLES, "16_differential.attn")
    B, H, L, D = 1, 2, 80, 64
    fn = attnc.compile(path, target="cuda", B=B, H=H, L=L, D=D, Dv=D)
    ins = [rand(B, H, L, D, seed=30 + n) for n in range(5)] + [torch.rand(H, device="cuda")]
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn(*ins)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn(*ins)
    for n in range(5):
        ins[n].copy_(rand(B, H, L, D, seed=40 + n))
    out.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    want = cpu_reference(open(path).read(), ins, B=B, H=H, L=L, D=D, Dv=D)
    assert poisoned_rel_err(out, want) < 1e-2


def test_block_list_tables_checked_before_launch():
    # A block list with a negative key block is refused with the CPU path's
    # message (the tables are copied to the host and checked);
    # a valid one runs and matches the reference. ATTNC_CHECK_TABLES=0 at
    # compile time skips the check (the kernel still reads only inside the
    # tables: no fault).
    spec = open(os.path.join(EXAMPLES, "12_block_list.attn")).read().replace(
        "q_block=16, k_block=32", "q_block=128, k_block=128")
    B, H, L, D = 1, 2, 256, 64
    dims = dict(B=B, H=H, Lq=L, Lk=L, D=D, NQB1=3, NNZ=3)
    q, k, v = rand(B, H, L, D, seed=31), rand(B, H, L, D, seed=32), rand(B, H, L, D, seed=33)
    off = torch.tensor([0, 1, 3], dtype=torch.int32, device="cuda").expand(B, H, 3).contiguous()
    good = torch.tensor([0, 0, 1], dtype=torch.int32, device="cuda").expand(B, H, 3).contiguous()
    bad = torch.tensor([0, 0, -1], dtype=torch.int32, device="cuda").expand(B, H, 3).contiguous()
    fn = attnc.compile(spec, target="cuda", **dims)
    want = cpu_reference(spec, (q, k, v, off, good), **dims)
    assert poisoned_rel_err(fn(q, k, v, off, good), want) < 1e-2
    with pytest.raises(attnc.Error, match="block_list indices"):
        fn(q, k, v, off, bad)
    os.environ["ATTNC_CHECK_TABLES"] = "0"
    try:
        unchecked = attnc.compile(spec, target="cuda", **dims)
    finally:
        del os.environ["ATTNC_CHECK_TABLES"]
    unchecked(q, k, v, off, bad)
    torch.cuda.synchronize()


def test_paged_decode_reads_pages_through_the_table():
    # The decode kernel reads K/V page by page from the pools; the CPU path
    # (its own gather) is the reference. A bad table is refused by name.
    spec = open(os.path.join(EXAMPLES, "11_paged_decode.attn")).read().replace(
        "anchor row", "anchor row\n  schedule split_kv(64)")
    B, H, Hk, Lq, D, P, MP, PS = 3, 8, 2, 4, 64, 40, 12, 16
    dims = dict(B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=P, MP=MP)
    g = torch.Generator(device="cpu").manual_seed(5)
    perm = torch.randperm(P, generator=g)[:B * MP].view(B, MP).to(torch.int32)
    lens = torch.tensor([MP * PS, 0, 77], dtype=torch.int32)
    table = perm.clone()
    for b in range(B):
        table[b, -(-int(lens[b]) // PS):] = -1
    q = rand(B, H, Lq, D, seed=51)
    kp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16).cuda()
    vp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16).cuda()
    ins = (q, kp, vp, table.cuda(), lens.cuda())
    fn = attnc.compile(spec, target="cuda", **dims)
    want = cpu_reference(spec, ins, **dims)
    assert poisoned_rel_err(fn(*ins), want) < 1e-2
    bad = table.clone()
    bad[0, 3] = P
    with pytest.raises(attnc.Error, match="page table 'page_table'"):
        fn(q, kp, vp, bad.cuda(), lens.cuda())


def test_paged_decode_composes_window_alibi_sinks():
    # Paged K/V under a window, an ALiBi score and per-head sinks (a null key),
    # GQA 8/2, ragged lengths (one of 1 key), 1 and 4 queries.
    spec = """variant paged_mix
dims B, H, Hk, Lq, D, P, MP
input q : [B, H, Lq, D]
input k_pages : [P, 16, Hk, D]
input v_pages : [P, 16, Hk, D]
input page_table : [B, MP] i32
input kv_len : [B] i32
input slopes : [H]
input sinks : [H]
let k = paged(k_pages, table=page_table)
let v = paged(v_pages, table=page_table)
attention a(q, k, v) {
  carrier lengths(kv=kv_len)
  carrier window(left=200, right=0, align=bottom_right)
  score s + slopes[h] * (j - i)
  link exp
  anchor row(null=sinks)
}
output o = a
"""
    B, H, Hk, D, P, MP, PS = 3, 8, 2, 128, 140, 44, 16
    g = torch.Generator(device="cpu").manual_seed(17)
    table = torch.randperm(P, generator=g)[:B * MP].view(B, MP).to(torch.int32)
    lens = torch.tensor([700, 1, 300], dtype=torch.int32)
    slopes = (2.0 ** (-8.0 * (torch.arange(H) + 1) / H)).float()
    sinks = torch.randn(H, generator=g).float()
    kp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16).cuda()
    vp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16).cuda()
    for Lq in (1, 4):
        dims = dict(B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=P, MP=MP)
        q = rand(B, H, Lq, D, seed=70 + Lq)
        ins = (q, kp, vp, table.cuda(), lens.cuda(), slopes.cuda(), sinks.cuda())
        fn = attnc.compile(spec, target="cuda", decode=True, **dims)
        want = cpu_reference(spec, ins, **dims)
        assert poisoned_rel_err(fn(*ins), want) < 1e-2


def test_unchecked_page_past_the_pool_reads_zeros():
    # With the table checks off, a page id outside the pool reads zeros (the
    # copy's bounds), also for ids whose coordinate would wrap 32 bits back
    # into the pool (+-2^28 * 16 = +-2^32): the reference is the CPU path on
    # a table that points at an all-zero page instead.
    spec = open(os.path.join(EXAMPLES, "11_paged_decode.attn")).read()
    B, H, Hk, Lq, D, P, MP, PS = 2, 4, 2, 3, 64, 9, 4, 16
    dims = dict(B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=P, MP=MP)
    g = torch.Generator(device="cpu").manual_seed(9)
    kp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16)
    vp = torch.randn(P, PS, Hk, D, generator=g).to(torch.bfloat16)
    kp[P - 1] = 0
    vp[P - 1] = 0
    table = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7]], dtype=torch.int32)
    lens = torch.tensor([MP * PS, 50], dtype=torch.int32)
    q = rand(B, H, Lq, D, seed=61)
    zero_page = table.clone()
    zero_page[0, 1] = P - 1
    zero_page[1, 2] = P - 1
    zero_page[1, 3] = P - 1
    want = cpu_reference(spec, (q, kp, vp, zero_page, lens), **dims)
    bad = table.clone()
    bad[0, 1] = 2 ** 28
    bad[1, 2] = P
    bad[1, 3] = -(2 ** 28)
    os.environ["ATTNC_CHECK_TABLES"] = "0"
    try:
        fn = attnc.compile(spec, target="cuda", **dims)
    finally:
        del os.environ["ATTNC_CHECK_TABLES"]
    got = fn(q, kp.cuda(), vp.cuda(), bad.cuda(), lens.cuda())
    assert poisoned_rel_err(got, want) < 1e-2


@pytest.mark.parametrize("layout,world", [("ring", 2), ("striped", 4)])
def test_context_parallel_shards_on_one_gpu(layout, world):
    """Every rank of a GQA causal plan simulated on one GPU: the merged rows
    and LSE against the float64 reference of the whole sequence."""
    from attnc import context_parallel as cp
    B, H, Hk, L, D = 1, 4, 2, 1024, 64
    q = torch.randn(B, H, L, D, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(B, Hk, L, D, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    fn = attnc.compile(GQA_CAUSAL, target="cuda", context_parallel=layout, world=world, B=B, H=H, Hk=Hk,
                       L=L // world, D=D)
    o, lse = cp.simulate(fn, q, k, v)
    i = torch.arange(L, device="cuda")
    want, want_lse = reference(q, k, v, i[None, :] <= i[:, None])
    assert (o.double() - want).abs().max().item() < 2e-2
    assert (lse.double() - want_lse).abs().max().item() < 1e-3


FP8_CAUSAL = """variant fp8_causal
dims B, H, L, D
input q : [B, H, L, D] f8e4m3
input k : [B, H, L, D] f8e4m3
input v : [B, H, L, D]
attention a(q, k, v) {
  carrier causal
}
output o = a
"""


def test_fp8_inputs_from_torch_float8():
    B, H, L, D = 2, 4, 300, 64
    fn = attnc.compile(FP8_CAUSAL, target="cuda", B=B, H=H, L=L, D=D)
    q8, k8 = (rand(B, H, L, D, dtype=torch.float32, seed=s).mul(3).to(torch.float8_e4m3fn) for s in (1, 2))
    v = rand(B, H, L, D, seed=3)
    o = fn(q8, k8, v)
    want, _ = reference(q8.float(), k8.float(), v, causal(L, L))
    assert poisoned_rel_err(o, want) < 1e-2
    with pytest.raises(attnc.Error, match="float8_e4m3fn|f8e4m3"):
        fn(q8.to(torch.bfloat16), k8, v)


def test_dense_mask_classified_on_the_gpu_and_kept_across_calls():
    """A dense [L, L] mask table (no interval bounds): the program classifies it per block
    before the kernel; keep_static skips that on later calls with the same table, and a
    changed table after a new keep_static call gives the new result."""
    B, H, L, D = 1, 2, 384, 64
    fn = attnc.compile(os.path.join(ROOT, "test", "conformance", "dense_mask.attn"), target="cuda",
                       B=B, H=H, L=L, D=D)
    q, k, v = (rand(B, H, L, D, seed=s) for s in (1, 2, 3))
    g = torch.Generator(device="cuda").manual_seed(4)
    blocks = (torch.rand(3, 3, generator=g, device="cuda") < 0.5).to(torch.int32)
    blocks.fill_diagonal_(1)
    table = blocks.repeat_interleave(128, 0).repeat_interleave(128, 1)
    table[:128, :128] = (torch.rand(128, 128, generator=g, device="cuda") < 0.5).to(torch.int32)
    table[:128, 0] = 1  # every row keeps a key
    assert fn.keep_static("allowed") == 4  # rows, classes, list counts, list entries
    want, _ = reference(q, k, v, table.bool())
    assert poisoned_rel_err(fn(q, k, v, table), want) < 2e-2
    # The second call launches the attention kernel only.
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        o = fn(q, k, v, table)
        torch.cuda.synchronize()
    names = [e.key for e in prof.key_averages() if e.device_time_total > 0]
    assert not [n for n in names if "_step" in n] and [n for n in names if n.endswith("_kernel")], names
    assert poisoned_rel_err(o, want) < 2e-2
    table2 = table.clone()
    table2[128:, :] = 0
    table2[128:, 128:] = torch.eye(256, device="cuda", dtype=torch.int32)
    table.copy_(table2)  # same tensor, new contents: declared again
    assert fn.keep_static("allowed") == 4
    want, _ = reference(q, k, v, table.bool())
    assert poisoned_rel_err(fn(q, k, v, table), want) < 2e-2
    with pytest.raises(attnc.Error, match="no input named 'nope'"):
        fn.keep_static("nope")


def shifted_chunks_keep(B, H, L):
    """examples/08_shifted_chunks: chunks of 64, odd heads shifted by 32 with wrap-around."""
    i = torch.arange(L, device="cuda")
    sh = (torch.arange(H, device="cuda") % 2 * 32)[:, None]
    chunk = ((i[None, :] + L - sh) % L) // 64  # [H, L]
    return (chunk[:, :, None] == chunk[:, None, :])[None].expand(B, H, L, L)


def test_mask_over_positions_classified_once():
    """A mask that wraps around the sequence (a floor modulus by L) is classified per block
    before the kernel; its steps read no input, so their results are kept without keep_static:
    a second call launches the attention kernel only."""
    B, H, D = 1, 4, 64
    from torch.profiler import ProfilerActivity, profile
    for L, seed in ((384, 31), (256, 34)):
        fn = attnc.compile(os.path.join(ROOT, "examples", "08_shifted_chunks.attn"), target="cuda",
                           B=B, H=H, L=L, D=D)
        q, k, v = (rand(B, H, L, D, seed=seed + s) for s in range(3))
        want, _ = reference(q, k, v, shifted_chunks_keep(B, H, L))
        assert poisoned_rel_err(fn(q, k, v), want) < 2e-2, L
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            o = fn(q, k, v)
            torch.cuda.synchronize()
        names = [e.key for e in prof.key_averages() if e.device_time_total > 0]
        assert not [n for n in names if "_step" in n] and [n for n in names if n.endswith("_kernel")], names
        assert poisoned_rel_err(o, want) < 2e-2, L


def test_kept_positions_classification_and_cuda_graphs():
    """A captured run classifies into its own temporaries: a replay leaves the results that
    eager calls keep untouched, and the eager call after it still launches the kernel only."""
    B, H, L, D = 1, 2, 256, 64
    fn = attnc.compile(os.path.join(ROOT, "examples", "08_shifted_chunks.attn"), target="cuda",
                       B=B, H=H, L=L, D=D)
    q, k, v = (rand(B, H, L, D, seed=s) for s in (41, 42, 43))
    want, _ = reference(q, k, v, shifted_chunks_keep(B, H, L))
    assert poisoned_rel_err(fn(q, k, v), want) < 2e-2  # classifies and keeps
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        o = fn(q, k, v)
    o.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    assert poisoned_rel_err(o, want) < 2e-2
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        o2 = fn(q, k, v)
        torch.cuda.synchronize()
    names = [e.key for e in prof.key_averages() if e.device_time_total > 0]
    assert not [n for n in names if "_step" in n], names
    assert poisoned_rel_err(o2, want) < 2e-2


def test_kept_classification_and_cuda_graphs():
    """A graph captured after keep_static runs the classification itself: replayed after the
    table changed in place, it follows the new table (it reads no kept results)."""
    B, H, L, D = 1, 2, 256, 64
    fn = attnc.compile(os.path.join(ROOT, "test", "conformance", "dense_mask.attn"), target="cuda",
                       B=B, H=H, L=L, D=D)
    q, k, v = (rand(B, H, L, D, seed=s) for s in (21, 22, 23))
    eye = torch.eye(L, device="cuda", dtype=torch.int32)
    table = torch.ones(L, L, device="cuda", dtype=torch.int32).tril()
    fn.keep_static("allowed")
    fn(q, k, v, table)  # computes and keeps the classification of the causal table
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        o = fn(q, k, v, table)
    table.copy_(eye)  # only the diagonal: o = v
    o.fill_(float("nan"))
    graph.replay()
    torch.cuda.synchronize()
    want, _ = reference(q, k, v, eye.bool())
    assert poisoned_rel_err(o, want) < 1e-2
