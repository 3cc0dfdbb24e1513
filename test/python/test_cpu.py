"""The Python package on the CPU target: results against independent
references (NumPy, and torch where it is installed), input binding, and
errors raised with the library's message."""
import os

import numpy as np
import pytest

import attnc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")

GQA_WINDOW = """variant gqa_window
dims B, H, Hk, L, D
input q : [B, H, L, D]
input k : [B, Hk, L, D]
input v : [B, Hk, L, D]
attention a(q, k, v) {
  carrier window(left=3, right=0)
}
output o = a
"""


def reference(q, k, v, keep):
    """Softmax attention in float64; keep[i, j] says which keys query i sees;
    GQA by h // (H // Hk)."""
    B, H, L, D = q.shape
    group = H // k.shape[1]
    o = np.zeros((B, H, L, v.shape[3]))
    for b in range(B):
        for h in range(H):
            s = q[b, h].astype(np.float64) @ k[b, h // group].astype(np.float64).T / np.sqrt(D)
            s = np.where(keep, s, -np.inf)
            w = np.exp(s - s.max(axis=1, keepdims=True))
            o[b, h] = (w / w.sum(axis=1, keepdims=True)) @ v[b, h // group]
    return o


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_window_gqa_matches_numpy_reference():
    B, H, Hk, L, D = 2, 4, 2, 9, 8
    fn = attnc.compile(GQA_WINDOW, B=B, H=H, Hk=Hk, L=L, D=D)
    q, k, v = random(B, H, L, D, seed=1), random(B, Hk, L, D, seed=2), random(B, Hk, L, D, seed=3)
    i, j = np.arange(L)[:, None], np.arange(L)[None, :]
    o = fn(q, k, v)
    assert o.shape == (B, H, L, D) and o.dtype == np.float32
    np.testing.assert_allclose(o, reference(q, k, v, (j <= i) & (j >= i - 3)), atol=1e-5)
    # By name, in any order, and a second call on new values.
    q2 = random(B, H, L, D, seed=4)
    np.testing.assert_allclose(fn(v=v, k=k, q=q2), reference(q2, k, v, (j <= i) & (j >= i - 3)), atol=1e-5)


def test_spec_from_a_path_and_float64():
    import pathlib  # a path object as well as a string
    fn = attnc.compile(pathlib.Path(EXAMPLES) / "02_causal_self.attn", dtype="float64", B=1, H=2, L=5, D=4)
    assert fn.inputs == ["q", "k", "v"] and fn.outputs == ["o"]
    q, k, v = (random(1, 2, 5, 4, seed=s).astype(np.float64) for s in (5, 6, 7))
    i, j = np.arange(5)[:, None], np.arange(5)[None, :]
    np.testing.assert_allclose(fn(q, k, v), reference(q, k, v, j <= i), atol=1e-12)


def test_torch_cpu_tensors_match_torch():
    torch = pytest.importorskip("torch")
    B, H, L, D = 2, 3, 17, 16
    fn = attnc.compile(os.path.join(EXAMPLES, "02_causal_self.attn"), B=B, H=H, L=L, D=D)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, L, D, generator=g) for _ in range(3))
    o = fn(q, k, v)
    assert isinstance(o, torch.Tensor) and o.shape == (B, H, L, D)
    # torch's own attention (SDPA where this torch has it, else its ops).
    sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
    if sdpa is not None:
        want = sdpa(q, k, v, is_causal=True)
    else:
        s = (q @ k.transpose(-1, -2)) / D**0.5
        s = s.masked_fill(~torch.ones(L, L, dtype=torch.bool).tril(), float("-inf"))
        want = torch.softmax(s, dim=-1) @ v
    assert torch.allclose(o, want, atol=1e-5)


def test_errors_name_their_place():
    with pytest.raises(attnc.Error, match=r"<spec>:3:\d+: error"):
        attnc.compile("variant v\ndims B\ninput q : [B, Q]\n", B=1)
    with pytest.raises(attnc.Error, match="dim 'D' is not bound"):
        attnc.compile(GQA_WINDOW, B=1, H=2, Hk=1, L=4)
    fn = attnc.compile(GQA_WINDOW, B=1, H=2, Hk=1, L=4, D=4)
    q, k = random(1, 2, 4, 4), random(1, 1, 4, 4)
    with pytest.raises(attnc.Error, match=r"input 1 \(k\): the shape differs"):
        fn(q, q, k)
    with pytest.raises(attnc.Error, match=r"input 0 \(q\): not contiguous"):
        fn(np.swapaxes(random(1, 2, 4, 4), 2, 3), k, k)
    with pytest.raises(attnc.Error, match=r"input 0 \(q\): expected f32, got f64"):
        fn(q.astype(np.float64), k, k)
    with pytest.raises(TypeError, match="missing inputs v"):
        fn(q, k)
    with pytest.raises(ValueError, match="target must be"):
        attnc.compile(GQA_WINDOW, target="tpu", B=1, H=2, Hk=1, L=4, D=4)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(FileNotFoundError, match="no_such.attn"):
        attnc.compile("no_such.attn", B=1)
    fn = attnc.compile(GQA_WINDOW, B=1, H=2, Hk=1, L=4, D=4)
    packed = np.zeros(1 * 2 * 4 * 4, dtype=[("x", np.float32), ("tag", np.uint8)])["x"].reshape(1, 2, 4, 4)
    k = random(1, 1, 4, 4)
    with pytest.raises(ValueError, match="not a multiple of its 4-byte elements"):
        fn(packed, k, k)
    with pytest.raises(attnc.Error, match="'t' has rank 9"):
        attnc.compile("variant r\ndims B\ninput q : [B, B, B, B]\ninput t : [B, B, B, B, B, B, B, B, B]\n"
                      "attention a(q, q, q) {\n}\noutput o = a\n", B=1)


def test_paged_decode_with_lengths_matches_numpy_reference():
    # Pages scattered over the pool, unused table entries -1, one empty cache;
    # the reference gathers the cache itself and aligns causal at each end.
    B, H, Hk, Lq, D, P, MP, PS = 3, 4, 2, 2, 8, 9, 3, 16
    rng = np.random.default_rng(7)
    kp = rng.standard_normal((P, PS, Hk, D)).astype(np.float32)
    vp = rng.standard_normal((P, PS, Hk, D)).astype(np.float32)
    lens = np.array([48, 0, 20], dtype=np.int32)
    table = np.full((B, MP), -1, dtype=np.int32)
    table[0] = [4, 0, 7]
    table[2, :2] = [2, 8]
    q = rng.standard_normal((B, H, Lq, D)).astype(np.float32)
    fn = attnc.compile(os.path.join(EXAMPLES, "11_paged_decode.attn"), B=B, H=H, Hk=Hk, Lq=Lq, D=D, P=P, MP=MP)
    o = fn(q, kp, vp, table, lens)
    for b in range(B):
        n = int(lens[b])
        k = np.stack([kp[table[b, j // PS], j % PS] for j in range(n)], 1) if n else np.zeros((Hk, 0, D))
        v = np.stack([vp[table[b, j // PS], j % PS] for j in range(n)], 1) if n else np.zeros((Hk, 0, D))
        if n == 0:
            np.testing.assert_array_equal(o[b], 0)
            continue
        i, j = np.arange(Lq)[:, None], np.arange(n)[None, :]
        want = reference(q[b:b + 1], k[None], v[None], j <= i + n - Lq)
        np.testing.assert_allclose(o[b:b + 1], want, atol=1e-5)
    # A page a sequence holds outside the pool is an error naming the table.
    bad = table.copy()
    bad[2, 1] = P
    with pytest.raises(attnc.Error, match="page table 'page_table': sequence 2, page 1"):
        fn(q, kp, vp, bad, lens)


FP8 = """variant fp8
dims B, H, L, D
input q : [B, H, L, D] f8e4m3
input k : [B, H, L, D] f8e4m3
input v : [B, H, L, D]
attention a(q, k, v) {
  carrier causal
}
output o = a
"""


def e4m3_value(byte):
    """The value of one FP8 e4m3 byte, written out from the format (bias 7)."""
    s, e, m = byte >> 7, (byte >> 3) & 15, byte & 7
    mag = m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
    return -mag if s else mag


def test_fp8_inputs_are_their_bytes():
    rng = np.random.default_rng(7)
    B, H, L, D = 1, 2, 40, 8
    # every finite code but the NaN ones; values up to 448 scaled down by the spec's 1/sqrt(D) only
    codes = np.array([c for c in range(256) if c & 0x7F != 0x7F], np.uint8)
    q = rng.choice(codes, size=(B, H, L, D)).astype(np.uint8)
    k = rng.choice(codes[(codes & 0x78) < 0x48], size=(B, H, L, D)).astype(np.uint8)  # |k| < 4
    v = rng.standard_normal((B, H, L, D))
    fn = attnc.compile(FP8, target="cpu", dtype="float64", B=B, H=H, L=L, D=D)
    assert [dt for _, dt, _ in fn.program.inputs] == ["float8_e4m3fn", "float8_e4m3fn", "float64"]
    o = fn(q, k, v)
    dec = np.vectorize(e4m3_value)
    want = reference(dec(q), dec(k), v, np.tril(np.ones((L, L), bool)))
    np.testing.assert_allclose(o, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(attnc.Error, match="f8e4m3|u8|uint8"):
        fn(q.astype(np.float64), k, v)


def test_fp8_torch_tensors_on_the_cpu_target():
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "float8_e4m3fn"):
        pytest.skip("this torch has no float8_e4m3fn")
    B, H, L, D = 1, 1, 16, 8
    g = torch.Generator().manual_seed(3)
    q, k = (torch.randn(B, H, L, D, generator=g).to(torch.float8_e4m3fn) for _ in range(2))
    v = torch.randn(B, H, L, D, generator=g, dtype=torch.float64)
    fn = attnc.compile(FP8, target="cpu", dtype="float64", B=B, H=H, L=L, D=D)
    want = reference(q.double().numpy(), k.double().numpy(), v.numpy(), np.tril(np.ones((L, L), bool)))
    np.testing.assert_allclose(fn(q, k, v), want, rtol=1e-12, atol=1e-12)
