"""attnc: attention variants compiled from a spec, in process.

    import attnc
    fn = attnc.compile(spec_text, B=1, H=8, L=1024, D=64)   # or a path, or the JSON form as a dict
    o = fn(q, k, v)        # NumPy arrays or torch CPU tensors; returns the same kind

    fn = attnc.compile(spec_text, target="cuda", B=1, H=8, L=1024, D=64)   # Hopper (sm_90a)
    o = fn(q, k, v)                     # torch CUDA tensors (bf16 or f16), on the current stream
    o, lse = fn(q, k, v, return_lse=True)

Inputs are taken in the spec's declaration order, positionally or by name.
The CPU target runs the float32 (or float64) reference compiled for this host;
the GPU target launches the compiled kernels on the caller's current CUDA
stream with no host copies and no allocation but the outputs. GPU calls go
through a torch.library custom op (with a fake implementation) while
torch.compile traces, and may be captured into CUDA graphs.
"""
import itertools
import json
import os
import re

from ._attnc import Error, Program

__all__ = ["compile", "Error", "Compiled"]

_TARGETS = {"cpu": "cpu", "cuda": "sm_90a", "gpu": "sm_90a", "sm_90a": "sm_90a"}
_op_ids = itertools.count()


def _spec_text(spec):
    """(text, name) of a spec given as text, a file path, or a JSON-form dict."""
    if isinstance(spec, dict):
        return json.dumps(spec), "<spec>.json"
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    looks_like_path = "\n" not in spec and spec.endswith((".attn", ".json"))
    if looks_like_path or ("\n" not in spec and os.path.isfile(spec)):
        with open(spec, encoding="utf-8") as f:  # a missing file raises FileNotFoundError naming it
            return f.read(), spec
    return spec, "<spec>"


class Compiled:
    """A spec compiled with its dims bound; call it on the inputs."""

    def __init__(self, program, target):
        self.program = program
        self.target = target
        self.inputs = [name for name, _, _ in program.inputs]
        self.outputs = [name for name, _, _ in program.outputs]
        # Built here, not on the first call: that call may be inside a
        # torch.compile trace, which must not see the op being registered.
        self._gpu = _GPUPlan(self) if target == "sm_90a" else None

    def keep_static(self, *names):
        """Declares inputs whose contents stay the same across calls (a mask's tables, as a
        FlexAttention BlockMask is built once): the steps that read only them (a mask's block
        classification) run on the first call and are skipped later while the same tensors are
        passed (steps that read no input, such as the classification of a mask over positions
        only, are kept per size without this). Call again after changing such a tensor in
        place; no names keeps only those. Returns the number of steps later calls skip."""
        if self.target != "sm_90a":
            raise Error("keep_static: only GPU programs have steps to keep")
        return self.program.keep_static(list(names))

    def _bind(self, args, named):
        if len(args) > len(self.inputs):
            raise TypeError(f"{self.program.name}: {len(self.inputs)} inputs, got {len(args)}")
        values = dict(zip(self.inputs, args))
        for key, value in named.items():
            if key not in self.inputs:
                raise TypeError(f"{self.program.name}: no input '{key}' (inputs: {', '.join(self.inputs)})")
            if key in values:
                raise TypeError(f"{self.program.name}: input '{key}' given twice")
            values[key] = value
        missing = [n for n in self.inputs if n not in values]
        if missing:
            raise TypeError(f"{self.program.name}: missing inputs {', '.join(missing)}")
        return [values[n] for n in self.inputs]

    def __call__(self, *args, return_lse=False, **named):
        tensors = list(args) if not named and len(args) == len(self.inputs) else self._bind(args, named)
        if self.target == "sm_90a":
            return _run_cuda(self, tensors, return_lse)
        if return_lse and not self.program.has_lse:
            raise Error("return_lse: this CPU program computes no LSE (CPU programs do when "
                        "compiled with context_parallel=)")
        torch_in = any(type(v).__module__.startswith("torch") for v in tensors)
        arrays = [_as_numpy(value, name) for value, name in zip(tensors, self.inputs)]
        outs = self.program.run_cpu(arrays, return_lse)
        if torch_in:
            import torch
            outs = [torch.from_numpy(o) for o in outs]
        if return_lse:
            n = len(self.outputs)
            return (outs[0], outs[1]) if n == 1 else (tuple(outs[:n]), tuple(outs[n:]))
        return outs[0] if len(outs) == 1 else tuple(outs)


def _as_numpy(value, name):
    import numpy as np
    if type(value).__module__.startswith("torch"):
        if value.device.type != "cpu":
            raise Error(f"input '{name}' is on {value.device}; the CPU target takes CPU tensors")
        if str(value.dtype).startswith("torch.float8"):  # NumPy has no FP8: its bytes
            value = value.view(__import__("torch").uint8)
        return value.detach().numpy()  # a view: a non-contiguous tensor is refused by the library
    return np.asarray(value)


# ---- the GPU target (torch CUDA tensors) ------------------------------------

class _GPUPlan:
    """What a GPU call needs, computed once: the torch dtypes and shapes of
    the signature, and the custom op that torch.compile traces."""

    def __init__(self, compiled):
        import torch
        dtypes = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32,
                  "float64": torch.float64, "int32": torch.int32, "int64": torch.int64,
                  "float8_e4m3fn": getattr(torch, "float8_e4m3fn", None)}
        prog = compiled.program
        self.ins = [(name, dtypes[dt], tuple(shape)) for name, dt, shape in prog.inputs]
        self.outs = [(name, dtypes[dt], tuple(shape)) for name, dt, shape in prog.outputs]
        # Whether a Hopper attention kernel writes every output's LSE (not so
        # for lets, output expressions and attentions on the generic path).
        self.has_lse = prog.has_lse
        self.op = _custom_op(compiled, self)
        self.f32 = torch.float32
        compiler = getattr(torch, "compiler", None)
        self.compiling = getattr(compiler, "is_compiling", lambda: False)
        # The current stream as a raw CUstream, without building a Stream
        # object per call where this torch has the fast accessor.
        raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
        self.stream = raw if raw is not None else lambda i: torch.cuda.current_stream(i).cuda_stream
        self.capturing = torch.cuda.is_current_stream_capturing
        self.current_device = torch.cuda.current_device
        self.device = torch.cuda.device


def _refuse(plan_entry, t, what):
    """Raises attnc.Error saying why T cannot be input PLAN_ENTRY."""
    name, dtype, shape = plan_entry
    if not hasattr(t, "is_cuda"):
        raise Error(f"{what} '{name}': a {type(t).__name__}; the GPU target takes torch CUDA tensors")
    if not t.is_cuda:
        raise Error(f"{what} '{name}' is on {t.device}; the GPU target takes CUDA tensors")
    if t.dtype != dtype:
        raise Error(f"{what} '{name}': expected {dtype}, got {t.dtype}")
    raise Error(f"{what} '{name}': expected shape {list(shape)}, got {list(t.shape)}")


def _launch(compiled, plan, tensors, with_lse=True):
    """Allocates the outputs (and their LSE) on the inputs' device and
    launches on its current stream; returns outputs + LSEs. Without LSEs the
    program writes them to a scratch buffer of its own."""
    first = tensors[0]
    outs = [first.new_empty(shape, dtype=dtype) for _, dtype, shape in plan.outs]
    lses = [first.new_empty(shape[:-1], dtype=plan.f32) for _, _, shape in plan.outs] if with_lse else []
    every = tensors + outs + lses
    index = first.get_device()
    compiled.program.run_gpu([t.data_ptr() for t in every], [t.stride() for t in every], index, with_lse,
                             plan.stream(index))
    return outs + lses


def _run_cuda(compiled, tensors, return_lse):
    plan = compiled._gpu
    index = None
    for entry, t in zip(plan.ins, tensors):
        if not getattr(t, "is_cuda", False) or t.dtype != entry[1] or t.shape != entry[2]:
            _refuse(entry, t, "input")
        if index is None:
            index = t.get_device()
        elif t.get_device() != index:
            raise Error(f"{compiled.program.name}: input '{entry[0]}' is on cuda:{t.get_device()}, "
                        f"the first input on cuda:{index}")
    if plan.op is not None and plan.compiling():
        results = plan.op(*tensors)
    else:
        if return_lse and not plan.has_lse:
            raise Error(f"{compiled.program.name}: return_lse: an output of this program has no LSE "
                        "(it is not an attention computed by a Hopper kernel)")
        # The program's own LSE scratch is allocated on first use, which a
        # CUDA-graph capture forbids: under capture the LSE is an output.
        with_lse = return_lse or (plan.capturing() and plan.has_lse)
        if index != plan.current_device():
            with plan.device(index):  # the runtime launches in the current context
                results = _launch(compiled, plan, tensors, with_lse=with_lse)
        else:
            results = _launch(compiled, plan, tensors, with_lse=with_lse)
    n = len(plan.outs)
    outs, lses = list(results[:n]), list(results[n:])
    if return_lse:
        return (outs[0], lses[0]) if n == 1 else (tuple(outs), tuple(lses))
    return outs[0] if n == 1 else tuple(outs)


def _custom_op(compiled, plan):
    """attnc::<variant>_<n>: the program as a torch.library custom op with a
    fake (meta) implementation, so that torch.compile traces through it.
    None where the installed torch has no torch.library.custom_op (< 2.4)."""
    import torch
    if not hasattr(torch.library, "custom_op"):
        return None
    name = re.sub(r"\W", "_", compiled.program.name) + f"_{next(_op_ids)}"
    args = ", ".join(f"Tensor {re.sub(r'[^A-Za-z0-9_]', '_', n)}" for n, _, _ in plan.ins)
    rets = ", ".join("Tensor" for _ in range(2 * len(plan.outs)))
    schema = f"({args}) -> ({rets})"

    def impl(*tensors):
        res = _launch(compiled, plan, list(tensors), with_lse=plan.has_lse)
        if not plan.has_lse:  # the schema's LSEs, never returned to the caller
            res += [t.new_empty(t.shape[:-1], dtype=plan.f32) for t in res]
        return tuple(res)

    op = torch.library.custom_op(f"attnc::{name}", impl, mutates_args=(), device_types="cuda", schema=schema)

    def fake(*tensors):
        dev = tensors[0].device
        outs = [torch.empty(shape, dtype=dtype, device=dev) for _, dtype, shape in plan.outs]
        return tuple(outs + [torch.empty(shape[:-1], dtype=torch.float32, device=dev)
                             for _, _, shape in plan.outs])

    op.register_fake(fake)
    return op


def compile(spec, *, target="cpu", dtype="", cache_dir=None, context_parallel=None, world=1, decode=False,
            **dims):
    """Compiles SPEC (text, a path, or the JSON form as a dict) with every dim
    bound by keyword (B=..., H=..., ...). target: "cpu" (dtype float32 or
    float64) or "cuda" (also "sm_90a"; dtype bfloat16 or float16). The GPU
    kernel cache is cache_dir, else the attnc CLI's: $ATTNC_CACHE_DIR (set
    but empty: none), else $XDG_CACHE_HOME/attnc, else ~/.cache/attnc.
    A Compiled must outlive the CUDA graphs that captured its calls.
    context_parallel ("ring", "striped" or "tree", over `world` ranks)
    compiles one shard of the attention (attnc.context_parallel runs the
    shards): it takes an extra input cp_offsets and returns its LSE.
    decode=True (GPU): the decode schedule, for a few queries against many
    keys (the key range split across thread blocks, merged in the kernel)."""
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {', '.join(_TARGETS)}, not '{target}'")
    text, name = _spec_text(spec)
    if cache_dir is None:
        cache_dir = ""  # the library's default: $ATTNC_CACHE_DIR, else ~/.cache/attnc
    program = Program(text, name, {k: int(v) for k, v in dims.items()}, _TARGETS[target], dtype, cache_dir,
                      context_parallel or "", int(world), bool(decode))
    compiled = Compiled(program, _TARGETS[target])
    # The compiler's plan: per rank, its steps (key block, cp_offsets, and
    # whether the carrier keeps none, some or all of the block's pairs).
    compiled.cp_plan = json.loads(program.cp_schedule) if context_parallel else None
    return compiled
