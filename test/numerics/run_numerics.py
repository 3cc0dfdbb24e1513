#!/usr/bin/env python3
"""Numerics harness: every example on the CPU backend against reference.py.

For each case of the table in example_cases.py (example file, >= 3 shape settings, an input
builder and a float64 reference), the harness writes the inputs as .npy files
into a temporary directory, runs

  ATTNC --quiet run EXAMPLE --backend=cpu --dtype=f64 --dim NAME=VALUE ...
        --input NAME=FILE.npy ... --output o=FILE.npy

reads the output and compares it with the float64 reference: max abs error and
max relative error (max abs error / (max |ref| + 1e-12)). Every example runs in
f64 at all its shapes (tolerance F64_TOL) and in f32 at its first shape
(tolerance F32_TOL; the reference then uses the float32-rounded inputs).
Float inputs are float64 (f64 runs) or float32 (f32 runs); integer inputs
(carrier arguments, inputs read only by masks) are int32.

It also checks that rejected specs (17_signed_rejected, ...) and bad
invocations (wrong dtype, wrong shape, missing --dim, ...) fail with a
non-zero exit status and a message that names the problem.

Usage: run_numerics.py --attnc PATH/TO/attnc [--filter REGEX] [-v] [-j N]
                       [--keep] [--list]
Prints one line per case and exits non-zero on any failure. Needs only numpy
and the standard library.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conformance  # noqa: E402
import reference as R  # noqa: E402
from example_cases import (CASES, EXAMPLES, REJECTED, block_dims, block_list_inputs,  # noqa: E402
                           causal, make_cu, paged_inputs, qkv_cross, qkv_self, with_)

# Tolerances on the relative error max|out - ref| / (max|ref| + 1e-12).
F64_TOL = 1e-9
F32_TOL = 2e-4


# ---------------------------------------------------------------------------
# Running.
# ---------------------------------------------------------------------------


class Result:
    def __init__(self, example, shape, dtype, ok, abs_err=float("nan"), rel_err=float("nan"), note=""):
        self.example, self.shape, self.dtype, self.ok = example, shape, dtype, ok
        self.abs_err, self.rel_err, self.note = abs_err, rel_err, note

    def line(self):
        return "%-40s %-52s %-4s abs=%-10.3e rel=%-10.3e %s%s" % (
            self.example, self.shape, self.dtype, self.abs_err, self.rel_err,
            "PASS" if self.ok else "FAIL", ("  " + self.note) if self.note else "")


def shape_str(d):
    return ",".join("%s=%s" % (k, v) for k, v in d.items() if not k.startswith("_"))


def seed_of(example, index, dtype):
    return (sum(ord(c) for c in example) * 1009 + index * 31 + (7 if dtype == "f32" else 0)) % (2 ** 32)


def cast_inputs(x, dtype):
    """Float inputs to the run's dtype; integer inputs to int32; uint8 arrays
    (the bytes of f8e4m3 inputs) as they are."""
    out = {}
    for name, a in x.items():
        a = np.asarray(a)
        if a.dtype == np.uint8:
            out[name] = a
        elif np.issubdtype(a.dtype, np.integer):
            out[name] = a.astype(np.int32)
        else:
            out[name] = a.astype(np.float32 if dtype == "f32" else np.float64)
    return out


def attnc_cmd(attnc, example_path, dims, inputs, outputs, dtype="f64"):
    cmd = [attnc, "--quiet", "run", example_path, "--backend=cpu", "--dtype=" + dtype]
    for k, v in dims.items():
        if not k.startswith("_"):
            cmd += ["--dim", "%s=%d" % (k, v)]
    for name, path in inputs.items():
        cmd += ["--input", "%s=%s" % (name, path)]
    for name, path in outputs.items():
        cmd += ["--output", "%s=%s" % (name, path)]
    return cmd


def run_cmd(cmd, args):
    if args.verbose:
        print("  $ " + " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=args.timeout)
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % args.timeout
    except OSError as e:
        return None, "cannot run %s: %s" % (cmd[0], e)


def first_lines(text, n=3):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[:n])


def run_case(args, example, index, dims, build, ref, dtype, workdir):
    tag = "%s-%d-%s" % (os.path.splitext(os.path.basename(example))[0], index, dtype)
    tmp = os.path.join(workdir, tag)
    os.makedirs(tmp, exist_ok=True)
    rng = np.random.default_rng(seed_of(example, index, dtype))
    x = cast_inputs(build(rng, dims), dtype)
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out_path = os.path.join(tmp, "o.npy")
    path = os.path.join(EXAMPLES, example)
    sh = shape_str(dims)
    if not os.path.exists(path):
        return Result(example, sh, dtype, False, note="missing example file " + path)
    rc, text = run_cmd(attnc_cmd(args.attnc, path, dims, files, {"o": out_path}, dtype), args)
    if rc != 0:
        return Result(example, sh, dtype, False,
                      note="attnc exit %s: %s" % (rc, first_lines(text, 6)))
    try:
        out = np.load(out_path)
    except Exception as e:  # noqa: BLE001
        return Result(example, sh, dtype, False, note="cannot read the output: %s" % e)
    # The reference sees exactly the inputs attnc saw, in float64.
    xr = {k: (v.astype(np.float64) if np.issubdtype(v.dtype, np.floating) else v) for k, v in x.items()}
    want = ref(xr, dims)
    want_dtype = np.float32 if dtype == "f32" else np.float64
    if out.dtype != want_dtype:
        return Result(example, sh, dtype, False, note="output dtype %s, expected %s" % (out.dtype, want_dtype.__name__))
    if out.shape != want.shape:
        return Result(example, sh, dtype, False, note="output shape %s, expected %s" % (out.shape, want.shape))
    out64 = out.astype(np.float64)
    if not np.all(np.isfinite(out64)):
        bad = np.argwhere(~np.isfinite(out64))[0]
        return Result(example, sh, dtype, False, note="non-finite output at %s" % list(bad))
    diff = np.abs(out64 - want)
    abs_err = float(diff.max()) if diff.size else 0.0
    ref_max = float(np.abs(want).max()) if want.size else 0.0
    rel_err = abs_err / (ref_max + 1e-12)
    tol = F32_TOL if dtype == "f32" else F64_TOL
    note = ""
    if rel_err > tol:
        at = np.unravel_index(int(np.argmax(diff)), diff.shape)
        note = "tol %.0e; worst at [b,h,i,d]=%s: got %.6g, want %.6g" % (
            tol, list(int(t) for t in at), out64[at], want[at])
    return Result(example, sh, dtype, rel_err <= tol, abs_err, rel_err, note)


def run_rejected(args, example, dims, build, pattern, workdir):
    tmp = os.path.join(workdir, os.path.splitext(example)[0] + "-rejected")
    os.makedirs(tmp, exist_ok=True)
    x = cast_inputs(build(np.random.default_rng(1), dims), "f64")
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    path = os.path.join(EXAMPLES, example)
    cmd = attnc_cmd(args.attnc, path, dims, files, {"o": os.path.join(tmp, "o.npy")})
    return expect_failure(args, example, "rejected spec", cmd, pattern)


def expect_failure(args, label, what, cmd, pattern):
    rc, text = run_cmd(cmd, args)
    if rc is None:
        return Result(label, what, "f64", False, note=text)
    if rc == 0:
        return Result(label, what, "f64", False, note="expected a failure, attnc exited 0")
    if rc < 0 or rc >= 128:
        return Result(label, what, "f64", False,
                      note="attnc crashed (status %d): %s" % (rc, first_lines(text)))
    if not re.search(pattern, text, re.IGNORECASE):
        return Result(label, what, "f64", False,
                      note="message does not match /%s/: %s" % (pattern, first_lines(text)))
    return Result(label, what, "f64", True, 0.0, 0.0,
                  note="(expected failure: %s)" % first_lines(text, 1)[:100] if args.verbose else "")


def nan_semantics(args, workdir):
    """docs/semantics.md: a NaN score propagates to the rows that see its key
    (as PyTorch's SDPA), and rows that mask the key out are unaffected; a NaN in
    v reaches the rows that weigh its key, never those that mask it (0 x NaN
    adds nothing)."""
    return [nan_case(args, workdir, "k", 4, "key 4 NaN in k: rows 4.. NaN, rows 0-3 exact", whole_row=True),
            nan_case(args, workdir, "v", 6, "key 6 NaN in v: rows 6.. NaN in that column, rows 0-5 exact",
                     whole_row=False)]


def nan_case(args, workdir, tensor, key, what, whole_row):
    """Causal L 9: `tensor`[.., key, 1] is NaN; rows before `key` mask it out."""
    tmp = os.path.join(workdir, "nan-semantics-" + tensor)
    os.makedirs(tmp, exist_ok=True)
    ex = os.path.join(EXAMPLES, "02_causal_self.attn")
    dims = dict(B=1, H=2, L=9, D=4)
    rng = np.random.default_rng(11)
    x = {n: rng.standard_normal((1, 2, 9, 4)) for n in ("q", "k", "v")}
    x[tensor][0, :, key, 1] = np.nan
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out = os.path.join(tmp, "o.npy")
    rc, text = run_cmd(attnc_cmd(args.attnc, ex, dims, files, {"o": out}, "f64"), args)
    if rc != 0:
        return Result("nan-semantics", what, "f64", False, note=first_lines(text, 2))
    o = np.load(out)
    clean = dict(x)
    clean[tensor] = x[tensor].copy()
    clean[tensor][0, :, key, 1] = 0.0
    ref = R.attention(clean["q"], clean["k"], clean["v"], keep=R.causal_keep(9, 9, "bottom_right"))
    before, after = o[:, :, :key], o[:, :, key:]
    poisoned = after if whole_row else after[..., 1]
    ok = bool(np.all(np.isnan(poisoned))) and not np.any(np.isnan(before))
    if not whole_row:  # the other columns of the rows that see the key stay exact
        others = np.delete(after, 1, axis=-1)
        ok = ok and not np.any(np.isnan(others)) and \
            float(np.max(np.abs(others - np.delete(ref[:, :, key:], 1, axis=-1)))) < 1e-9
    err = float(np.max(np.abs(before - ref[:, :, :key]))) if not np.any(np.isnan(before)) else float("nan")
    ok = ok and err < 1e-9
    return Result("nan-semantics", what, "f64", ok, err, err,
                  note="" if ok else "NaN rows before the key: %s" % np.isnan(before).any(axis=-1).tolist())


def bad_invocations(args, workdir):
    """Invocations that must fail with a message naming the problem."""
    tmp = os.path.join(workdir, "bad-invocations")
    os.makedirs(tmp, exist_ok=True)
    ex = os.path.join(EXAMPLES, "01_dense_mha.attn")
    dims = dict(B=1, H=2, Lq=5, Lk=7, D=8, Dv=4)
    rng = np.random.default_rng(3)
    x = cast_inputs(qkv_cross(rng, dims), "f64")
    files = {}
    for name, a in x.items():
        files[name] = os.path.join(tmp, name + ".npy")
        np.save(files[name], a)
    out = {"o": os.path.join(tmp, "o.npy")}
    f32_q = os.path.join(tmp, "q_f32.npy")
    np.save(f32_q, x["q"].astype(np.float32))
    wrong_shape_q = os.path.join(tmp, "q_wrong_shape.npy")
    np.save(wrong_shape_q, np.ones((1, 2, 6, 8)))
    truncated_q = os.path.join(tmp, "q_truncated.npy")
    with open(files["q"], "rb") as f:
        data = f.read()
    with open(truncated_q, "wb") as f:
        f.write(data[:-5])
    not_npy = os.path.join(tmp, "q_not_npy.npy")
    with open(not_npy, "w") as f:
        f.write("this is not a .npy file\n")
    fortran_q = os.path.join(tmp, "q_fortran.npy")
    np.save(fortran_q, np.asfortranarray(x["q"]))  # same shape, fortran_order True
    missing = os.path.join(tmp, "does_not_exist.npy")

    def with_input(name, path):
        f = dict(files)
        f[name] = path
        return f

    no_d = {k: v for k, v in dims.items() if k != "D"}
    cases = [
        ("wrong dtype (float32 .npy, --dtype=f64)", attnc_cmd(args.attnc, ex, dims, with_input("q", f32_q), out),
         r"float64.*float32|float32.*float64"),
        ("wrong shape", attnc_cmd(args.attnc, ex, dims, with_input("q", wrong_shape_q), out), r"shape"),
        ("missing --dim D", attnc_cmd(args.attnc, ex, no_d, files, out), r"dim\W+D\b|\bD\b.*dim"),
        ("truncated .npy", attnc_cmd(args.attnc, ex, dims, with_input("q", truncated_q), out),
         r"q_truncated\.npy.*truncated"),
        ("not a .npy file", attnc_cmd(args.attnc, ex, dims, with_input("q", not_npy), out),
         r"q_not_npy\.npy.*not a \.npy"),
        ("fortran-order .npy", attnc_cmd(args.attnc, ex, dims, with_input("q", fortran_q), out),
         r"fortran"),
        ("missing input file", attnc_cmd(args.attnc, ex, dims, with_input("q", missing), out),
         r"does_not_exist\.npy"),
        ("no --input for v", attnc_cmd(args.attnc, ex, dims, {k: v for k, v in files.items() if k != "v"}, out),
         r"\bv\b"),
        ("unknown input name", attnc_cmd(args.attnc, ex, dims, dict(files, zz=files["q"]), out), r"zz"),
        ("bad --dim value", attnc_cmd(args.attnc, ex, dims, files, out) + ["--dim", "Lq=abc"], r"Lq"),
        ("unknown dim", attnc_cmd(args.attnc, ex, dict(dims, Q=3), files, out), r"\bQ\b"),
    ]
    # An integer input given as floats.
    vdims = dict(B=1, H=1, L=9, D=4, N1=3)
    vx = cast_inputs(with_(qkv_self, cu=make_cu)(np.random.default_rng(4), vdims), "f64")
    vfiles = {}
    for name, a in vx.items():
        vfiles[name] = os.path.join(tmp, "varlen_" + name + ".npy")
        np.save(vfiles[name], a)
    cu_float = os.path.join(tmp, "cu_float.npy")
    np.save(cu_float, vx["cu"].astype(np.float64))
    vfiles_bad = dict(vfiles, cu=cu_float)
    cases.append(("int input as float64 (cu)",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "02_varlen_packed.attn"), vdims, vfiles_bad, out),
                  r"int32"))
    # A key block listed twice in one query block's row.
    bdims = block_dims(1, 1, 20, 70, 4)
    bx = cast_inputs(block_list_inputs(np.random.default_rng(5), bdims), "f64")
    bdims = dict(bdims, NNZ=int(bx["idx"].shape[2]), NQB1=int(bx["off"].shape[2]))
    row = next(r for r in range(bx["off"].shape[2] - 1) if bx["off"][0, 0, r + 1] > bx["off"][0, 0, r])
    first = int(bx["off"][0, 0, row])
    if bx["off"][0, 0, row + 1] - first < 2:  # make room: the row's only entry, repeated
        bx["idx"] = np.concatenate([bx["idx"], bx["idx"][:, :, first:first + 1]], axis=2)
        bx["off"][0, 0, row + 1:] += 1
        bdims["NNZ"] += 1
    bx["idx"][0, 0, first + 1] = bx["idx"][0, 0, first]
    bfiles = {}
    for name, a in bx.items():
        bfiles[name] = os.path.join(tmp, "blocks_" + name + ".npy")
        np.save(bfiles[name], a)
    cases.append(("block list repeating a key block",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "12_block_list.attn"), bdims, bfiles, out),
                  r"twice"))
    bx["idx"][0, 0, first + 1] = -1
    nfiles = dict(bfiles, idx=os.path.join(tmp, "blocks_negative_idx.npy"))
    np.save(nfiles["idx"], bx["idx"])
    cases.append(("block list with a negative key block",
                  attnc_cmd(args.attnc, os.path.join(EXAMPLES, "12_block_list.attn"), bdims, nfiles, out),
                  r"key block -1 .*numbered from 0"))
    # Paged caches: a page a sequence holds outside the pool, a length past the table's
    # pages, a negative length (the entries past a sequence's pages are never read).
    pdims = dict(B=3, H=4, Hk=2, Lq=2, D=8, P=10, MP=3)
    px = paged_inputs(16)(np.random.default_rng(5), pdims)
    pex = os.path.join(EXAMPLES, "11_paged_decode.attn")
    def paged_case(name, **bad):
        f = {}
        for k, v in dict(px, **bad).items():
            f[k] = os.path.join(tmp, "paged_%s_%s.npy" % (name, k))
            np.save(f[k], v)
        return attnc_cmd(args.attnc, pex, pdims, f, out)
    bad_table = px["page_table"].copy()
    bad_table[0, 1] = 10
    cases.append(("page table naming a page past the pool", paged_case("table", page_table=bad_table),
                  r"page table 'page_table': sequence 0, page 1 names pool page 10, outside \[0, 10\)"))
    long_len = px["kv_len"].copy()
    long_len[1] = 49
    cases.append(("kv length past the table's pages", paged_case("long", kv_len=long_len),
                  r"'kv_len': sequence 1 has length 49, outside \[0, 48\]"))
    neg_len = px["kv_len"].copy()
    neg_len[2] = -1
    cases.append(("negative kv length", paged_case("neg", kv_len=neg_len), r"sequence 2 has length -1"))
    cases.append(("kv lengths for fewer sequences than the batch",  # the shape check
                  paged_case("short", kv_len=px["kv_len"][:2].copy()), r"input 'kv_len' must have shape \[3\]"))
    # Two attentions read one paged cache under different lengths: the table is checked up to
    # the longer of them (a bad page that only the second attention reaches is refused).
    two = os.path.join(tmp, "paged_two_lengths.attn")
    with open(pex) as f:
        text = f.read()
    text = text.replace("input kv_len : [B]", "input kv_len : [B]\ninput kv_len2 : [B]")
    text = text.replace("output o = a", """attention a2(q, k, v) {
  carrier lengths(kv=kv_len2)
  link exp
  anchor row
}
output o = a + a2""")
    with open(two, "w") as f:
        f.write(text)
    short = np.minimum(px["kv_len"], 16).astype(np.int32)
    far = px["page_table"].copy()
    far[0, 2] = 10  # sequence 0 holds 3 pages under kv_len, 1 under the short lengths
    tf = {}
    for k, v in dict(px, kv_len=short, kv_len2=px["kv_len"], page_table=far).items():
        tf[k] = os.path.join(tmp, "paged_two_%s.npy" % k)
        np.save(tf[k], v)
    cases.append(("page table read under two lengths tables",
                  attnc_cmd(args.attnc, two, pdims, tf, out),
                  r"sequence 0, page 2 names pool page 10, outside \[0, 10\)"))
    # A key seen through a let (rope): its length still bounds the lengths table.
    rope = os.path.join(tmp, "lengths_rope.attn")
    with open(rope, "w") as f:
        f.write("""variant lengths_rope
dims B, H, Lq, Lk, D
input q : [B, H, Lq, D]
input k : [B, H, Lk, D]
input v : [B, H, Lk, D]
input kv_len : [B]
let kr = rope(k, theta=10000)
attention a(q, kr, v) {
  carrier lengths(kv=kv_len)
  link exp
  anchor row
}
output o = a
""")
    rdims = dict(B=2, H=1, Lq=3, Lk=5, D=8)
    rng = np.random.default_rng(7)
    rf = {}
    for k, v in dict(q=rng.standard_normal((2, 1, 3, 8)), k=rng.standard_normal((2, 1, 5, 8)),
                     v=rng.standard_normal((2, 1, 5, 8)),
                     kv_len=np.array([5, 6], dtype=np.int32)).items():
        rf[k] = os.path.join(tmp, "lengths_rope_%s.npy" % k)
        np.save(rf[k], v)
    cases.append(("lengths past a let's key length", attnc_cmd(args.attnc, rope, rdims, rf, out),
                  r"'kv_len': sequence 1 has length 6, outside \[0, 5\]"))
    results = []
    for what, cmd, pattern in cases:
        r = expect_failure(args, "bad-invocation", what, cmd, pattern)
        results.append(r)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attnc", required=False, help="path to the attnc binary")
    ap.add_argument("--filter", default="", help="only examples whose file name matches this regex")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the command lines")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel attnc runs (default 1)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per attnc run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--no-bad-invocations", action="store_true", help="skip the bad-invocation checks")
    args = ap.parse_args()

    flt = re.compile(args.filter) if args.filter else None
    jobs = []  # (kind, payload)
    for example, shapes, build, ref in CASES + conformance.CASES:
        if flt and not flt.search(example):
            continue
        for n, dims in enumerate(shapes):
            jobs.append(("run", (example, n, dims, build, ref, "f64")))
        jobs.append(("run", (example, 0, shapes[0], build, ref, "f32")))
    for example, dims, build, pattern in REJECTED:
        if flt and not flt.search(example):
            continue
        jobs.append(("rejected", (example, dims, build, pattern)))
    run_bad = not args.no_bad_invocations and (not flt or flt.search("bad-invocation"))

    if args.list:
        for kind, p in jobs:
            if kind == "run":
                print("%-40s %-52s %s" % (p[0], shape_str(p[2]), p[5]))
            else:
                print("%-40s %-52s must be rejected" % (p[0], shape_str(p[1])))
        if run_bad:
            print("bad-invocation checks")
        return 0

    if not args.attnc:
        ap.error("--attnc is required")
    args.attnc = os.path.abspath(args.attnc)
    if not os.access(args.attnc, os.X_OK):
        print("run_numerics: %s is not an executable" % args.attnc, file=sys.stderr)
        return 2

    # The reference checks itself first.
    R.self_test()

    workdir = tempfile.mkdtemp(prefix="attnc-numerics-")
    results = []

    def do(job):
        kind, p = job
        try:
            if kind == "run":
                return run_case(args, p[0], p[1], p[2], p[3], p[4], p[5], workdir)
            return run_rejected(args, p[0], p[1], p[2], p[3], workdir)
        except Exception as e:  # noqa: BLE001 - a harness bug must show as a FAIL line
            return Result(p[0], "", "", False, note="harness error: %r" % e)

    try:
        if args.jobs > 1:
            with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
                for r in pool.map(do, jobs):
                    print(r.line(), flush=True)
                    results.append(r)
        else:
            for job in jobs:
                r = do(job)
                print(r.line(), flush=True)
                results.append(r)
        if run_bad:
            for r in bad_invocations(args, workdir) + nan_semantics(args, workdir):
                print(r.line(), flush=True)
                results.append(r)
    finally:
        if args.keep:
            print("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    failed = [r for r in results if not r.ok]
    print("\n%d checks, %d passed, %d failed" % (len(results), len(results) - len(failed), len(failed)))
    for r in failed:
        print("FAILED: %s [%s] %s: %s" % (r.example, r.shape, r.dtype, r.note))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
