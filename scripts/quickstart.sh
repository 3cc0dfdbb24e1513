#!/usr/bin/env bash
# Set up, build, then compile and run an example spec on the CPU backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
spec=examples/02_causal_self.attn
./build/bin/attnc check "$spec"
./build/bin/attnc run "$spec" --backend=cpu --dim B=2 --dim H=4 --dim L=100 --dim D=64 --random --seed 1
