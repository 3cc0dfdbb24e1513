// bench_program: times an AOT GPU program (<variant>.program.json, its
// kernels beside it) through the runtime with CUDA events: warm-up, then the
// median of 5 repeats of ITERS back-to-back runs. The program's dims are
// given as NAME=V (its inputs' sizes must be names or literals); float
// inputs hold random values in [-1, 1), integer inputs zeros unless
// ATTNC_BENCH_FILL names them: INPUT=perm (a random permutation of
// [0, elements), e.g. a page table over a pool of exactly that many pages) or
// INPUT=V (every element V, e.g. full cache lengths), comma-separated. With
// LABEL, it also prints the time as bench_attnc prints a mask kernel's (dims
// B, H, L and D), for bench/ratios.py.
//
//   [ATTNC_BENCH_FILL=INPUT=perm|V,...] bench_program PROGRAM.json NAME=V[,NAME=V...] [ITERS] [LABEL]
#include "attnc/Runtime/KernelManifest.h"
#include "attnc/Runtime/attnc_runtime.h"

#include "CudaCheck.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PROGRAM.json NAME=V[,NAME=V...] [ITERS] [LABEL]\n", argv[0]);
    return 2;
  }
  int iters = argc > 3 ? atoi(argv[3]) : 20;
  // NAME=V,... lists: the dims (argument 2) and ATTNC_BENCH_FILL.
  auto pairs = [](const char *text) {
    std::map<std::string, std::string> r;
    std::stringstream list(text ? text : "");
    for (std::string kv; std::getline(list, kv, ',');)
      if (size_t eq = kv.find('='); eq != std::string::npos)
        r[kv.substr(0, eq)] = kv.substr(eq + 1);
    return r;
  };
  std::map<std::string, int64_t> dims;
  for (const auto &[name, v] : pairs(argv[2]))
    dims[name] = atoll(v.c_str());
  std::map<std::string, std::string> fills = pairs(getenv("ATTNC_BENCH_FILL"));
  for (const auto &[name, v] : fills) {
    char *end = nullptr;
    strtol(v.c_str(), &end, 10);
    if (v != "perm" && (v.empty() || *end)) {
      fprintf(stderr, "ATTNC_BENCH_FILL: %s=%s: expected perm or an integer\n", name.c_str(), v.c_str());
      return 2;
    }
  }
  std::ifstream f(argv[1]);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  attnc::manifest::Program m;
  std::string err;
  if (!attnc::manifest::parseProgram(text, m, err)) {
    fprintf(stderr, "%s: %s\n", argv[1], err.c_str());
    return 1;
  }
  CUDA_CK(cudaSetDevice(0));
  CUDA_CK(cudaFree(nullptr));
  attnc_gpu_program *p = nullptr;
  if (attnc_gpu_program_load(argv[1], &p) != ATTNC_OK) {
    fprintf(stderr, "load: %s\n", attnc_last_error());
    return 1;
  }
  int ni = attnc_gpu_program_num_inputs(p), no = attnc_gpu_program_num_outputs(p);
  std::vector<attnc_tensor> in(ni), out(no);
  std::vector<std::vector<int64_t>> shapes(ni + no);
  for (const auto &b : m.buffers) {
    if (b.kind != attnc::manifest::ProgramBuffer::Kind::Input)
      continue;
    std::vector<int64_t> &s = shapes[b.index];
    for (size_t d = 0; d < b.shape.size(); ++d) {
      int64_t v = b.shape[d];
      if (v < 0) {
        auto it = dims.find(b.sizes.empty() ? "" : b.sizes[d]);
        if (it == dims.end()) {
          fprintf(stderr, "input '%s' axis %zu: give %s\n", b.name.c_str(), d,
                  b.sizes.empty() ? "?" : b.sizes[d].c_str());
          return 2;
        }
        v = it->second;
      }
      s.push_back(v);
    }
    size_t n = 1;
    for (int64_t v : s)
      n *= v;
    attnc_dtype dt = attnc_gpu_program_input_dtype(p, b.index);
    size_t bytes = n * attnc_dtype_size(dt);
    void *ptr;
    CUDA_CK(cudaMalloc(&ptr, std::max<size_t>(bytes, 16)));
    CUDA_CK(cudaMemset(ptr, 0, bytes));
    if (fills.count(b.name) && dt != ATTNC_DTYPE_I32) {
      fprintf(stderr, "ATTNC_BENCH_FILL: input '%s' is not i32\n", b.name.c_str());
      return 2;
    }
    if (dt == ATTNC_DTYPE_BF16 || dt == ATTNC_DTYPE_F16) {
      std::vector<uint16_t> host(n);
      uint32_t r = 12345 + b.index;
      for (auto &x : host) {
        r = r * 1664525u + 1013904223u; // [-1, 1): sign, exponent 126 or less
        x = dt == ATTNC_DTYPE_BF16 ? (uint16_t)(((r >> 16) & 0x8000) | (0x3c00 + ((r >> 8) & 0x1ff)) | ((r >> 3) & 0x7f))
                                   : (uint16_t)(((r >> 16) & 0x8000) | (0x3000 + ((r >> 8) & 0xbff)));
      }
      CUDA_CK(cudaMemcpy(ptr, host.data(), bytes, cudaMemcpyHostToDevice));
    } else if (auto fill = fills.find(b.name); fill != fills.end()) {
      std::vector<int32_t> host(n, atoi(fill->second.c_str()));
      if (fill->second == "perm") {
        std::iota(host.begin(), host.end(), 0);
        std::shuffle(host.begin(), host.end(), std::mt19937(7 + b.index));
      }
      CUDA_CK(cudaMemcpy(ptr, host.data(), bytes, cudaMemcpyHostToDevice));
      fills.erase(fill);
    }
    in[b.index] = attnc_tensor_contiguous(ptr, dt, (int)s.size(), s.data(), 0);
  }
  if (!fills.empty()) { // a misspelt name would leave its input zeros
    fprintf(stderr, "ATTNC_BENCH_FILL: '%s' is not an input of %s\n", fills.begin()->first.c_str(), argv[1]);
    return 2;
  }
  for (int i = 0; i < no; ++i) {
    std::vector<int64_t> &s = shapes[ni + i];
    s.resize(ATTNC_MAX_RANK);
    int rank = attnc_gpu_program_output_shape_for(p, i, in.data(), ni, s.data());
    if (rank < 0) {
      fprintf(stderr, "output %d: %s\n", i, attnc_last_error());
      return 1;
    }
    s.resize(rank);
    size_t n = 1;
    for (int64_t v : s)
      n *= v;
    void *ptr;
    CUDA_CK(cudaMalloc(&ptr, n * 4 + 16));
    out[i] = attnc_tensor_contiguous(ptr, attnc_gpu_program_output_dtype(p, i), rank, s.data(), 0);
  }
  auto run = [&] { return attnc_gpu_program_run(p, in.data(), ni, out.data(), no, nullptr, nullptr); };
  for (int w = 0; w < 3; ++w)
    if (run() != ATTNC_OK) {
      fprintf(stderr, "run: %s\n", attnc_last_error());
      return 1;
    }
  CUDA_CK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CUDA_CK(cudaEventCreate(&e0));
  CUDA_CK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int rep = 0; rep < 5; ++rep) {
    CUDA_CK(cudaEventRecord(e0));
    for (int it = 0; it < iters; ++it)
      run();
    CUDA_CK(cudaEventRecord(e1));
    CUDA_CK(cudaEventSynchronize(e1));
    float t;
    CUDA_CK(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t / iters);
  }
  std::sort(ms.begin(), ms.end());
  printf("%s %s: %.4f ms (median of 5 x %d runs; min %.4f max %.4f)\n", argv[1], argv[2], ms[2], iters, ms[0],
         ms[4]);
  if (argc > 4) {
    auto dim = [&](const char *n) { return (long long)(dims.count(n) ? dims[n] : 0); };
    printf("attnc mask     %-28s B%lld H%lld(kv %lld) Lq%lld Lk%lld D%lld  %8.3f ms %7.1f TFLOP/s\n", argv[4], dim("B"),
           dim("H"), dim("H"), dim("L"), dim("L"), dim("D"), ms[2], 0.0);
  }
  attnc_gpu_program_free(p);
  return 0;
}
