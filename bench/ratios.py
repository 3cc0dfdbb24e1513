"""Reads bench/run.sh's log (attnc lines from bench_attnc, anchor lines from
anchors_same_run.py) and prints the table: useful TFLOP/s per implementation
and attnc's ratio to each anchor, measured in the same run."""
import re
import sys

ATTNC = re.compile(r"^attnc (\S+)\s+(\S+)\s+B(\d+) H(\d+)\(kv (\d+)\) Lq(\d+) Lk\d+ D(\d+)\s+[\d.]+ ms\s+([\d.]+) TFLOP/s")
ANCHOR = re.compile(r"^anchor (\S+) (\S+) B(\d+) H(\d+) Hk(\d+) S(\d+) D(\d+) [\d.]+ ms ([\d.]+) TFLOP/s(?: variant=(\w+))?")


# attnc kernel name -> the anchors' variant name (plain attention: none).
VARIANT_OF = {"swa_causal": "swa", "alibi_causal": "alibi", "softcap_causal": "softcap"}


def main(path):
    rows, order = {}, []
    for line in open(path):
        m = ATTNC.match(line)
        if m:
            variant = VARIANT_OF.get(m[2].rsplit("_kernel", 1)[0], "")
            key = (variant, m[1], m[3], m[4], m[5], m[6], m[7])
            rows.setdefault(key, {})["attnc"] = float(m[8])
            if key not in order:
                order.append(key)
            continue
        m = ANCHOR.match(line)
        if m:
            key = (m[9] or "", m[2], m[3], m[4], m[5], m[6], m[7])
            rows.setdefault(key, {})[m[1]] = float(m[8])
    names = ["attnc", "sdpa-cudnn", "sdpa-flash", "flex"]
    print("| case | " + " | ".join(names) + " | attnc/cuDNN | attnc/flash | attnc/Flex |")
    print("|---" * (len(names) + 4) + "|")
    for key in order:
        r = rows[key]
        variant, mask, B, H, Hk, S, D = key
        kv = f"/{Hk}" if Hk != H else ""
        cells = [f"{r[n]:.0f}" if n in r else "-" for n in names]
        ratios = [f"{r['attnc'] / r[n]:.2f}" if n in r and "attnc" in r else "-" for n in names[1:]]
        print(f"| {variant + ' ' if variant else ''}{mask} D{D} B{B} H{H}{kv} S{S} | " + " | ".join(cells + ratios) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
