"""Reads bench/run.sh's log (attnc lines from bench_attnc, anchor lines from
anchors_same_run.py) and prints one table: useful TFLOP/s per implementation
and attnc's speed relative to each anchor (anchor time / attnc time), all
measured in the same run on the same shapes. For variants written as mask
lines bench_attnc cannot count the kept pairs (its mask argument is `mask`):
their attnc TFLOP/s is derived from FlexAttention's exact count and the time
ratio."""
import re
import sys

ATTNC = re.compile(r"^attnc (\S+)\s+(\S+)\s+B(\d+) H(\d+)\(kv (\d+)\) Lq(\d+) Lk\d+ D(\d+)\s+([\d.]+) ms\s+([\d.]+) TFLOP/s")
ANCHOR = re.compile(r"^anchor (\S+) (\S+) B(\d+) H(\d+) Hk(\d+) S(\d+) D(\d+) ([\d.]+) ms ([\d.]+) TFLOP/s(?: variant=(\w+))?")
NAMES = ["attnc", "sdpa-cudnn", "sdpa-flash", "flex"]
DEC_ATTNC = re.compile(r"^attnc decode\s+\S+\s+B(\d+) H(\d+)\(kv (\d+)\) Lq(\d+) Lk(\d+) D(\d+)\s+([\d.]+) ms\s+([\d.]+) TB/s")
DEC_ANCHOR = re.compile(r"^anchor (\S+) decode B(\d+) H(\d+) Hk(\d+) Lq(\d+) Lk(\d+) D(\d+) ([\d.]+) ms ([\d.]+) TB/s")


def decode_table(path):
    """Decode: TB/s (q, k, v, o moved once) and attnc's speed vs each anchor."""
    rows, order = {}, []
    for line in open(path):
        m = DEC_ATTNC.match(line)
        if m:
            key = tuple(m.groups()[:6])
            rows.setdefault(key, {})["attnc"] = (float(m[7]), float(m[8]))
            order.append(key)
            continue
        m = DEC_ANCHOR.match(line)
        if m:
            rows.setdefault(tuple(m.groups()[1:7]), {})[m[1]] = (float(m[8]), float(m[9]))
    if not order:
        return
    print()
    print("| decode case | " + " | ".join(n + " TB/s" for n in NAMES) + " | vs cuDNN | vs flash | vs Flex |")
    print("|---" * (len(NAMES) + 4) + "|")
    for key in order:
        r = rows[key]
        B, H, Hk, Lq, Lk, D = key
        ms = r["attnc"][0]
        cells = [f"{r[n][1]:.2f}" if n in r else "-" for n in NAMES]
        ratios = [f"{r[n][0] / ms:.2f}" if n in r else "-" for n in NAMES[1:]]
        print(f"| D{D} B{B} H{H}/{Hk} Lq{Lq} Lk{Lk} | " + " | ".join(cells + ratios) + " |")


def variant_of(kernel):
    """bench/<variant>.attn compiles to <variant>_kernel; plain full/causal
    attention has no variant name."""
    v = kernel.rsplit("_kernel", 1)[0]
    return "" if v in ("dense_full", "causal_self", "gqa_causal") else v


def main(path):
    rows, order = {}, []
    for line in open(path):
        m = ATTNC.match(line)
        if m:
            mask = m[1]
            key = (variant_of(m[2]), mask, m[3], m[4], m[5], m[6], m[7])
            rows.setdefault(key, {})["attnc"] = (float(m[8]), None if mask == "mask" else float(m[9]))
            if key not in order:
                order.append(key)
            continue
        m = ANCHOR.match(line)
        if m:
            key = (m[10] or "", m[2], m[3], m[4], m[5], m[6], m[7])
            rows.setdefault(key, {})[m[1]] = (float(m[8]), float(m[9]))
    print("| case | " + " | ".join(NAMES) + " | vs cuDNN | vs flash | vs Flex |")
    print("|---" * (len(NAMES) + 4) + "|")
    for key in order:
        r = rows[key]
        variant, mask, B, H, Hk, S, D = key
        ms, tf = r["attnc"]
        if tf is None and "flex" in r:
            tf = r["flex"][1] * r["flex"][0] / ms
        cells = [f"{tf:.0f}" if tf else "-"] + [f"{r[n][1]:.0f}" if n in r else "-" for n in NAMES[1:]]
        ratios = [f"{r[n][0] / ms:.2f}" if n in r else "-" for n in NAMES[1:]]
        kv = f"/{Hk}" if Hk != H else ""
        label = f"{variant} " if variant else ""
        shown = "" if mask == "mask" else mask + " "
        print(f"| {label}{shown}D{D} B{B} H{H}{kv} S{S} | " + " | ".join(cells + ratios) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
    decode_table(sys.argv[1])
