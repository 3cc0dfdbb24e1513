//===- CudaCheck.h - the benchmarks' CUDA runtime error check --*- C++ -*-===//
#ifndef ATTNC_BENCH_CUDACHECK_H
#define ATTNC_BENCH_CUDACHECK_H

#include <cuda_runtime.h>

#include <cstdio>

/// Returns 2 from main with the failing call and CUDA's message.
#define CUDA_CK(x)                                                                        \
  do {                                                                                    \
    cudaError_t e_ = (x);                                                                 \
    if (e_ != cudaSuccess) {                                                              \
      fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      return 2;                                                                           \
    }                                                                                     \
  } while (0)

#endif
