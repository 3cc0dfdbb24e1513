#!/usr/bin/env bash
# Set up, build, and run the whole test suite (lit, GoogleTest, numerics).
# GPU-only tests report themselves as skipped on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j 2
