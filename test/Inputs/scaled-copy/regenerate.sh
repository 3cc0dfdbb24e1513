#!/usr/bin/env bash
# Regenerates scaled_copy.cubin, the runtime's fixture kernel (NOT an
# attention kernel; see scaled_copy.cu), with the CUDA toolkit's nvcc.
# The cubin is committed so that the runtime's unit tests and the device
# test driver need no nvcc.
set -euo pipefail
cd "$(dirname "$0")"
nvcc -arch=sm_90a -cubin -o scaled_copy.cubin scaled_copy.cu
