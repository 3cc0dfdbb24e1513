"""attnc: attention variants compiled from a spec, in process.

    import attnc
    fn = attnc.compile(spec_text, B=1, H=8, L=1024, D=64)   # or a path, or the JSON form as a dict
    o = fn(q, k, v)        # NumPy arrays or torch CPU tensors; returns the same kind

Inputs are taken in the spec's declaration order, positionally or by name.
The CPU target runs the float32 (or float64) reference compiled for this host.
"""
import json
import os

from ._attnc import Error, Program

__all__ = ["compile", "Error", "Compiled"]


def _spec_text(spec):
    """(text, name) of a spec given as text, a file path, or a JSON-form dict."""
    if isinstance(spec, dict):
        return json.dumps(spec), "<spec>.json"
    looks_like_path = "\n" not in spec and spec.endswith((".attn", ".json"))
    if isinstance(spec, os.PathLike) or looks_like_path or ("\n" not in spec and os.path.isfile(spec)):
        path = os.fspath(spec)  # a missing file raises FileNotFoundError naming it
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    return spec, "<spec>"


class Compiled:
    """A spec compiled with its dims bound; call it on the inputs."""

    def __init__(self, program):
        self.program = program
        self.inputs = [name for name, _, _ in program.inputs]
        self.outputs = [name for name, _, _ in program.outputs]

    def __call__(self, *args, **named):
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
        torch_in = any(type(v).__module__.startswith("torch") for v in values.values())
        arrays = [_as_numpy(values[n], n) for n in self.inputs]
        outs = self.program.run_cpu(arrays)
        if torch_in:
            import torch
            outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)


def _as_numpy(value, name):
    import numpy as np
    if type(value).__module__.startswith("torch"):
        if value.device.type != "cpu":
            raise Error(f"input '{name}' is on {value.device}; the CPU target takes CPU tensors")
        return value.detach().numpy()  # a view: a non-contiguous tensor is refused by the library
    return np.asarray(value)


def compile(spec, *, target="cpu", dtype="", cache_dir=None, **dims):
    """Compiles SPEC (text, a path, or the JSON form as a dict) with every dim
    bound by keyword (B=..., H=..., ...). target: "cpu" (dtype float32 or
    float64)."""
    text, name = _spec_text(spec)
    if cache_dir is None:
        cache_dir = os.environ.get("ATTNC_CACHE_DIR", "")
    program = Program(text, name, {k: int(v) for k, v in dims.items()}, target, dtype, cache_dir)
    return Compiled(program)
